//! Receipts: a payment result becomes printer commands (bilingual, one job per copy), and the
//! same commands give the text shown on a console. Only the masked PAN ever appears.

use crate::engine::TerminalIdentity;
use crate::hal::{PrintCommand, TextSize};
use crate::payment::{Declined, Outcome, PaymentResult};

/// Which copy of the slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// Kept by the merchant, signed by the cardholder (商户存根).
    Merchant,
    /// Sent to the acquirer (银行存根).
    Acquirer,
    /// Handed to the cardholder (持卡人存根).
    Cardholder,
}

impl Copy {
    fn title(self) -> &'static str {
        match self {
            Copy::Merchant => "商户存根 MERCHANT COPY",
            Copy::Acquirer => "银行存根 ACQUIRER COPY",
            Copy::Cardholder => "持卡人存根 CARDHOLDER COPY",
        }
    }
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Approved => "交易成功 APPROVED".into(),
        Outcome::Declined(Declined::Host { code, message }) => {
            format!("交易失败 DECLINED {code} {message}")
        }
        Outcome::Declined(_) => "未扣款 NOT CHARGED".into(),
        Outcome::Unknown { .. } => "处理中 PENDING, being resolved".into(),
    }
}

/// One copy of the slip as printer commands; `qr` adds a QR code (e.g. an e-receipt link).
///
/// ```
/// # use smartpos_core::{receipt::*, payment::*, money::*, time::LocalTime, engine::EngineConfig};
/// let r = PaymentResult { order_id: "A1".into(), kind: TransactionType::Sale,
///     amount: Money::from_minor(1234, Currency::CNY).unwrap(), outcome: Outcome::Approved,
///     masked_pan: Some("622202*********0123".into()), auth_code: Some("123456".into()),
///     reference: Some("000000000001".into()), trace: 1, batch: 1, terminal_id: "10000001".into(),
///     merchant_id: "898310048990001".into(), time: LocalTime::from_unix(0, 0), balance: None, method: Default::default(), wallet: None, chip: None };
/// let job = receipt_job(&r, &EngineConfig::demo().identity, Copy::Merchant, None);
/// assert!(job_text(&job).iter().any(|l| l.contains("622202*********0123")));
/// ```
pub fn receipt_job(
    r: &PaymentResult,
    who: &TerminalIdentity,
    copy: Copy,
    qr: Option<&str>,
) -> Vec<PrintCommand> {
    use PrintCommand as P;
    let mut j = vec![
        P::center("POS 签购单", TextSize::Large),
        P::center("SALES SLIP", TextSize::Normal),
        P::center(copy.title(), TextSize::Normal),
        P::Rule,
        P::line(format!("商户名称 MERCHANT: {}", who.merchant_name)),
        P::line(format!("商户编号 MID: {}", r.merchant_id)),
        P::line(format!("终端编号 TID: {}", r.terminal_id)),
        P::Rule,
        P::line(format!(
            "卡号 CARD: {}",
            r.masked_pan.as_deref().unwrap_or("-")
        )),
        P::line(format!(
            "交易类型 TYPE: 消费 {}",
            r.kind.name().to_uppercase()
        )),
        P::line(format!(
            "批次号 BATCH: {:06}  凭证号 TRACE: {:06}",
            r.batch, r.trace
        )),
        P::line(format!(
            "授权码 AUTH: {}",
            r.auth_code.as_deref().unwrap_or("-")
        )),
        P::line(format!(
            "参考号 REF: {}",
            r.reference.as_deref().unwrap_or("-")
        )),
        P::line(format!("日期时间 DATE: {}", r.time)),
        P::line(format!("订单号 ORDER: {}", r.order_id)),
    ];
    if let Some(c) = &r.chip {
        j.push(P::line(format!(
            "输入方式 ENTRY: {}",
            match c.entry_mode {
                crate::card::EntryMode::Contactless => "非接 CONTACTLESS",
                crate::card::EntryMode::Chip => "插卡 CHIP",
                crate::card::EntryMode::MagStripe => "刷卡 SWIPE",
                crate::card::EntryMode::Fallback => "降级刷卡 FALLBACK SWIPE",
            }
        )));
        if let Some(aid) = &c.aid {
            j.push(P::line(format!("AID: {aid}")));
        }
        if let Some(label) = &c.label {
            j.push(P::line(format!("应用标签 APP: {label}")));
        }
        if let Some(tc) = &c.tc {
            j.push(P::line(format!("TC: {tc}")));
        }
    }
    j.extend([
        P::Rule,
        P::line("金额 AMOUNT:"),
        P::Text {
            text: r.amount.to_string(),
            align: crate::hal::Align::Right,
            size: TextSize::Large,
        },
        P::line(outcome_text(&r.outcome)),
        P::Rule,
    ]);
    let chip = r.chip.as_ref();
    if r.outcome == Outcome::Approved && chip.is_some_and(|c| c.no_signature) {
        j.push(P::line(if chip.is_some_and(|c| c.no_pin) {
            "免密免签 NO PIN, NO SIGNATURE REQUIRED"
        } else {
            "免签 NO SIGNATURE REQUIRED"
        }));
    } else if copy == Copy::Merchant && r.outcome == Outcome::Approved {
        j.push(P::line("持卡人签名 CARDHOLDER SIGNATURE:"));
        j.push(P::Feed { lines: 2 });
        j.push(P::line("本人确认以上交易，同意将其记入本卡账户"));
        j.push(P::line(
            "I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES",
        ));
    }
    if let Some(data) = qr {
        j.push(P::Qr {
            data: data.to_string(),
            module: 4,
        });
    }
    j.push(P::Feed { lines: 2 });
    j
}

/// The slip the terminal prints for a customer-scans-merchant payment: amount, order and the one
/// code every wallet can scan.
///
/// ```
/// # use smartpos_core::{receipt::*, money::*, engine::EngineConfig, hal::PrintCommand};
/// let job = qr_payment_slip("000201...6304ABCD", &Money::from_minor(600, Currency::CNY).unwrap(),
///     "Q-1", &EngineConfig::demo().identity);
/// assert!(job.iter().any(|c| matches!(c, PrintCommand::Qr { .. })));
/// assert!(job_text(&job).iter().any(|l| l.contains("CNY 6.00")));
/// ```
pub fn qr_payment_slip(
    payload: &str,
    amount: &crate::money::Money,
    order_id: &str,
    who: &TerminalIdentity,
) -> Vec<PrintCommand> {
    use PrintCommand as P;
    vec![
        P::center("扫码付款 SCAN TO PAY", TextSize::Large),
        P::center("微信 / 支付宝 / 云闪付", TextSize::Normal),
        P::center("WeChat Pay / Alipay / UnionPay", TextSize::Normal),
        P::Rule,
        P::line(format!("商户名称 MERCHANT: {}", who.merchant_name)),
        P::line(format!("订单号 ORDER: {order_id}")),
        P::line("金额 AMOUNT:"),
        P::Text {
            text: amount.to_string(),
            align: crate::hal::Align::Right,
            size: TextSize::Large,
        },
        P::Qr {
            data: payload.to_string(),
            module: 4,
        },
        P::Feed { lines: 2 },
    ]
}

/// The text lines of a job (QR codes and bitmaps shown as placeholders), for consoles.
pub fn job_text(job: &[PrintCommand]) -> Vec<String> {
    job.iter()
        .filter_map(|c| match c {
            PrintCommand::Text { text, .. } => Some(text.clone()),
            PrintCommand::Rule => Some("-".repeat(32)),
            PrintCommand::Qr { data, .. } => Some(format!("[QR {data}]")),
            PrintCommand::Bitmap { .. } => Some("[image]".into()),
            PrintCommand::Feed { .. } => None,
        })
        .collect()
}
