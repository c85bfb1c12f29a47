//! The simulator's test cards (documented in sdk-docs/src/simulator.md).

/// A test card account.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TestCard {
    /// Card number.
    pub pan: String,
    /// Expiry YYMM.
    pub expiry: String,
    /// PIN the issuer checks.
    pub pin: String,
    /// Balance in minor units.
    pub balance: u64,
    /// Held by open pre-authorizations (available = balance - held).
    #[serde(default)]
    pub held: u64,
    /// Description for people.
    pub note: String,
}

/// Test card whose issuer answers a chip transaction with a wrong ARPC: the card declines
/// after the approval, and the terminal reverses it.
pub const WRONG_ARPC_PAN: &str = "6222020000000000075";
/// Test card whose issuer's answer carries an issuer script (tag 72) for the card.
pub const SCRIPT_PAN: &str = "6222020000000000083";

/// The standard test cards.
pub fn standard_cards() -> Vec<TestCard> {
    let card = |pan: &str, expiry: &str, balance: u64, note: &str| TestCard {
        pan: pan.into(),
        expiry: expiry.into(),
        pin: "123456".into(),
        balance,
        held: 0,
        note: note.into(),
    };
    vec![
        card(
            "6222021234567890123",
            "3012",
            10_000_000,
            "approves; balance 100000.00",
        ),
        card(
            "6228480000000000018",
            "3012",
            10_000_000,
            "approves; balance 100000.00",
        ),
        card(
            "6222020000000000055",
            "3012",
            100,
            "insufficient funds above 1.00 (51)",
        ),
        card(
            "6222020000000000063",
            "2001",
            10_000_000,
            "expired card (54)",
        ),
        card(
            WRONG_ARPC_PAN,
            "3012",
            10_000_000,
            "chip: the issuer's ARPC is wrong, the card declines after approval (reversed)",
        ),
        card(
            SCRIPT_PAN,
            "3012",
            10_000_000,
            "chip: the issuer sends a script (72); the card reports its result (DF31)",
        ),
    ]
}

/// Track 2 equivalent data of a test card (`PAN=YYMM` + service code 101).
pub fn track2(card: &TestCard) -> String {
    format!("{}={}101", card.pan, card.expiry)
}
