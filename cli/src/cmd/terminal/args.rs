//! The arguments of `smartpos terminal` subcommands.

use clap::Subcommand;
use std::path::PathBuf;

/// What every transaction command takes: the order, the calling app, the customer, output form.
#[derive(clap::Args, Clone)]
pub struct OrderArgs {
    /// Merchant order id.
    #[arg(long)]
    pub order: String,
    /// Calling app package recorded with the order.
    #[arg(long, default_value = "com.example.merchant")]
    pub caller: String,
    #[command(flatten)]
    pub customer: CustomerArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Clone)]
pub struct CustomerArgs {
    /// Test card number presented (see sdk-docs: test cards).
    #[arg(long, default_value = "6222021234567890123")]
    pub card: String,
    /// PIN typed on the PIN pad.
    #[arg(long, default_value = "123456")]
    pub pin: String,
    /// The customer cancels at the card prompt.
    #[arg(long)]
    pub cancel: bool,
    /// How the card is read: swipe (magnetic stripe), contact (chip) or contactless.
    #[arg(long, value_enum, default_value = "swipe")]
    pub entry: Entry,
    /// The chip card declines after the bank approved (its second cryptogram is an AAC): the
    /// terminal reverses the approval and answers declined. With --entry contact|contactless.
    #[arg(long)]
    pub card_declines: bool,
}

/// How the simulated card is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Entry {
    /// Magnetic stripe (F22 02x).
    Swipe,
    /// Contact chip (F22 05x).
    Contact,
    /// Contactless chip (F22 07x).
    Contactless,
}

/// How the customer pays at the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PayMethod {
    /// Bank card (ISO 8583 host).
    Card,
    /// The terminal scans the customer's payment code (give it with --code).
    QrScan,
    /// The terminal shows one code for every wallet and waits until it is paid.
    QrDisplay,
}

impl CustomerArgs {
    /// The simulated customer these arguments describe.
    pub fn customer(&self) -> crate::terminal_cmd::Customer {
        crate::terminal_cmd::Customer {
            card: self.card.clone(),
            pin: self.pin.clone(),
            cancel: self.cancel,
            qr_code: None,
            entry: match self.entry {
                Entry::Swipe => smartpos_core::card::EntryMode::MagStripe,
                Entry::Contact => smartpos_core::card::EntryMode::Chip,
                Entry::Contactless => smartpos_core::card::EntryMode::Contactless,
            },
            card_declines: self.card_declines,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Print the terminal's result-signing public key (hex).
    PublicKey,
    /// Sign in (0800/0810).
    SignIn {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Sign out (0820/002).
    SignOut,
    /// Echo test (0820/301).
    Echo,
    /// Restart recovery: settle interrupted transactions, sign in, send pending reversals.
    Recover {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Rebuild a refused journal from the bank: the refused files are kept as
        /// `*.refused-<unix>` and a new journal holds every transaction of the settlement file.
        #[arg(long, requires = "settlement")]
        from_host: bool,
        /// The acquirer's settlement file for this terminal (with `--from-host`).
        #[arg(long)]
        settlement: Option<PathBuf>,
        /// Rebuild even though the journal opens and verifies (its order ids are then lost).
        #[arg(long, requires = "from_host")]
        force: bool,
    },
    /// A card sale.
    Sale {
        /// Amount in CNY, e.g. 12.34.
        #[arg(long)]
        amount: String,
        /// Merchant order id.
        #[arg(long)]
        order: String,
        /// Calling app package recorded with the order.
        #[arg(long, default_value = "com.example.merchant")]
        caller: String,
        #[command(flatten)]
        customer: CustomerArgs,
        /// Card, or a QR flow.
        #[arg(long, value_enum, default_value = "card")]
        method: PayMethod,
        /// qr-scan: the customer's payment code, as the scanner reads it.
        #[arg(long, required_if_eq("method", "qr-scan"))]
        code: Option<String>,
        /// qr-display: also write the shown code as PNG here.
        #[arg(long)]
        qr_png: Option<PathBuf>,
        /// qr-display: print the code on the simulated receipt printer and save the slip as PNG.
        #[arg(long)]
        slip_png: Option<PathBuf>,
        /// Print the receipt on the simulated printer and write it here as PNG.
        #[arg(long)]
        receipt_png: Option<PathBuf>,
        /// The simulated printer is out of paper (the sale stands; the receipt fails).
        #[arg(long)]
        paper_out: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Create a customer-scans-merchant code for an order without waiting; print its payload.
    /// The order stays open at the gateway; `query` or `recover` settles it later.
    QrCode {
        /// Amount in CNY.
        #[arg(long)]
        amount: String,
        /// Merchant order id.
        #[arg(long)]
        order: String,
        /// Calling app package recorded with the order.
        #[arg(long, default_value = "com.example.merchant")]
        caller: String,
        /// Write the code as PNG here.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Void an approved sale of the current batch.
    Void {
        /// Retrieval reference of the sale.
        #[arg(long)]
        orig_ref: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Refund (part of) an approved sale.
    Refund {
        /// Retrieval reference of the sale.
        #[arg(long)]
        orig_ref: String,
        /// Amount in CNY, e.g. 5.00.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Balance inquiry: card and PIN, the balance comes back (no money moves).
    Balance {
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Pre-authorization: a hold on the card.
    Preauth {
        /// Amount in CNY.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Release a pre-authorization's hold.
    PreauthVoid {
        /// Retrieval reference of the pre-authorization.
        #[arg(long)]
        orig_ref: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Complete a pre-authorization (at most 115 % of the hold).
    PreauthComplete {
        /// Retrieval reference of the pre-authorization.
        #[arg(long)]
        orig_ref: String,
        /// Amount in CNY.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// Void a completion of the current batch.
    CompleteVoid {
        /// Retrieval reference of the completion.
        #[arg(long)]
        orig_ref: String,
        #[command(flatten)]
        o: OrderArgs,
    },
    /// The journal record of an order.
    Query {
        /// Merchant order id.
        #[arg(long)]
        order: String,
        /// Calling app package.
        #[arg(long, default_value = "com.example.merchant")]
        caller: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Settle the current batch (0500; batch upload when the host disagrees).
    Settle {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Batch totals by type and channel, and what is still unknown.
    Totals {
        /// Batch (default: the current one).
        #[arg(long)]
        batch: Option<u32>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One calling app's statement (masked PANs).
    Statement {
        /// The calling app's package.
        #[arg(long)]
        caller: String,
        /// `json` or `csv`.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Compare the journal with the acquirer's settlement file (exit 1 when they differ).
    Reconcile {
        /// The settlement file (from `smartpos settlement-file`).
        #[arg(long)]
        settlement: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Every journal record; with `--verify`, check the journal's record chain and anchor
    /// (exit 1 and the first bad record when it fails).
    Journal {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Only verify the journal's integrity (record chain, rows, anchor).
        #[arg(long)]
        verify: bool,
    },
    /// Process one handoff request (deep link) and print the signed return deep link.
    HandleRequest {
        /// The smartpos://pay/v1?... deep link.
        #[arg(long)]
        uri: String,
        /// Caller package as the OS reports it.
        #[arg(long)]
        caller_package: String,
        /// Caller signing-certificate SHA-256 (hex), as the OS reports it; repeatable.
        #[arg(long, required = true)]
        caller_cert_sha256: Vec<String>,
        #[command(flatten)]
        customer: CustomerArgs,
        /// The payment code the customer shows the scanner (method=qr_scan).
        #[arg(long)]
        qr_code: Option<String>,
    },
}
