//! The messages the terminal sends, as data: which fields each carries and by what rule. The
//! host-profile specification page (`sdk-docs/src/bank/messages.md`) is generated from this
//! catalog and the field table ([`render_markdown`]), and a test decodes every message the
//! terminal actually sends against it ([`check`]), so the page cannot drift from the code.

use super::{FieldTable, Kind, LenRule, Message};

/// Whether a field is always there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Always present.
    Mandatory,
    /// Present when the rule's condition holds.
    Conditional,
}

/// One field of one message.
#[derive(Debug, Clone, Copy)]
pub struct FieldUse {
    /// Field number.
    pub field: u8,
    /// Always, or on a condition.
    pub presence: Presence,
    /// Value or rule (and the condition, for a conditional field).
    pub rule: &'static str,
}

/// A message the terminal sends.
#[derive(Debug, Clone, Copy)]
pub struct MessageSpec {
    /// What it is.
    pub name: &'static str,
    /// Message type.
    pub mti: u16,
    /// Processing code (F3), if the message has one.
    pub f3: Option<&'static str>,
    /// 60.1, the transaction type code.
    pub f60_1: &'static str,
    /// 60.3, the network management code.
    pub f60_3: &'static str,
    /// Its fields.
    pub fields: &'static [FieldUse],
    /// What else to know.
    pub note: &'static str,
}

use Presence::{Conditional as C, Mandatory as M};

const fn u(field: u8, presence: Presence, rule: &'static str) -> FieldUse {
    FieldUse {
        field,
        presence,
        rule,
    }
}

const F11: FieldUse = u(
    11,
    M,
    "trace of this message, 6 digits, unique in the batch",
);
const F41: FieldUse = u(41, M, "terminal id");
const F42: FieldUse = u(42, M, "merchant id");
const F64: FieldUse = u(
    64,
    M,
    "UnionPay ECB MAC over MTI..F63 (*Host profile and ISO 8583*)",
);
const F2: FieldUse = u(
    2,
    C,
    "card number, when the card read gives one (not for chip-less track-only reads)",
);
const F4: FieldUse = u(4, M, "amount, minor units, 12 digits");
const F12: FieldUse = u(12, M, "local time hhmmss");
const F13: FieldUse = u(13, M, "local date MMDD");
const F14: FieldUse = u(14, C, "card expiry YYMM, when the card gives one");
const F22: FieldUse = u(22, M, "entry mode: `02` magnetic stripe, `05` chip, `07` contactless, then `1` PIN capable (e.g. `021`)");
const F35: FieldUse = u(35, C, "track 2 equivalent, when the card gives one");
const F23: FieldUse = u(
    23,
    C,
    "card sequence number, chip and contactless reads that give one",
);
const F55: FieldUse = u(
    55,
    C,
    "chip and contactless reads: the card's BER-TLV (9F26 ARQC, 9F27, 9F10, 9F37, 9F36, 95, 9A, 9C, 9F02, 5F2A, 82, 9F1A, 9F03, 9F33, 9F34, 9F35, 9F1E, 84, 9F09, 9F41)",
);
const F49: FieldUse = u(49, M, "`156` (CNY)");
const F26: FieldUse = u(26, C, "`12` (PIN length capability), with F52");
const F52: FieldUse = u(
    52,
    C,
    "PIN block, when the customer entered a PIN (format and cipher per profile)",
);
const F53: FieldUse = u(
    53,
    C,
    "security control, with F52: format digit, algorithm digit, `0`, 13 zeros",
);
const F37_ORIG: FieldUse = u(37, M, "the original's retrieval reference");
const F38_ORIG: FieldUse = u(38, C, "the original's authorization code, when it had one");
const F61_ORIG: FieldUse = u(61, M, "the original's batch (6) + trace (6)");

const SALE_LIKE: [FieldUse; 20] = [
    F2,
    u(3, M, "processing code (see the header row)"),
    F4,
    F11,
    F12,
    F13,
    F14,
    F22,
    F23,
    u(
        25,
        M,
        "POS condition code: `00` normal, `06` pre-authorization",
    ),
    F26,
    F35,
    F41,
    F42,
    F49,
    F52,
    F53,
    F55,
    u(
        60,
        M,
        "60.1 type, 60.2 batch (6), 60.3 `000`, then `50` (capability)",
    ),
    F64,
];

const REFERRING: [FieldUse; 20] = [
    F2,
    u(3, M, "processing code (see the header row)"),
    u(4, M, "amount, minor units: the original's for a void, at most what is left for a refund, at most 115 % of the hold for a completion"),
    F11,
    F12,
    F13,
    F14,
    F22,
    F23,
    u(25, M, "POS condition code: `00` normal, `06` pre-authorization family"),
    F35,
    F37_ORIG,
    F38_ORIG,
    F41,
    F42,
    F49,
    F55,
    u(60, M, "60.1 type, 60.2 batch (6), 60.3 `000`, then `50`"),
    F61_ORIG,
    F64,
];

const MANAGEMENT: [FieldUse; 4] = [
    F11,
    F41,
    F42,
    u(60, M, "`00` + batch (6) + network code (60.3)"),
];

const ADVICE: [FieldUse; 15] = [
    u(3, M, "the transaction's processing code"),
    u(4, C, "the transaction's amount, when it had one"),
    F11,
    u(22, M, "the transaction's entry mode (`05x` / `07x`)"),
    u(23, C, "the card sequence number, when the card gave one"),
    u(25, M, "the transaction's condition code"),
    u(37, M, "the transaction's retrieval reference"),
    u(38, C, "the transaction's authorization code, when it had one"),
    F41,
    F42,
    u(49, M, "`156` (CNY)"),
    u(55, M, "the card's second answer, BER-TLV: 9F27 CID, 9F26 cryptogram (TC), 9F36 ATC, 95 TVR and DF31 script results, those it gave"),
    u(60, M, "`00` + batch (6) + `951` (script results) or `203` (TC upload)"),
    u(61, M, "the transaction's batch (6) + trace (6) + date MMDD (4)"),
    F64,
];

/// Every message the terminal sends.
pub static TERMINAL_MESSAGES: &[MessageSpec] = &[
    MessageSpec {
        name: "sign-in",
        mti: 800,
        f3: None,
        f60_1: "00",
        f60_3: "001/003/004",
        fields: &[
            F11,
            F41,
            F42,
            u(60, M, "`00` + the terminal's batch (the host answers its own) + key layout code"),
            u(63, M, "operator number `001`"),
        ],
        note: "No MAC. The 0810 carries the host's batch in 60.2 and the working keys in F62 (layouts and check values: *Host profile and ISO 8583*).",
    },
    MessageSpec {
        name: "sign-out",
        mti: 820,
        f3: None,
        f60_1: "00",
        f60_3: "002",
        fields: &MANAGEMENT,
        note: "No MAC.",
    },
    MessageSpec {
        name: "echo test",
        mti: 820,
        f3: None,
        f60_1: "00",
        f60_3: "301",
        fields: &MANAGEMENT,
        note: "No MAC.",
    },
    MessageSpec {
        name: "EMV parameter listing",
        mti: 820,
        f3: None,
        f60_1: "00",
        f60_3: "372/382",
        fields: &[
            F11,
            F41,
            F42,
            u(60, M, "`00` + batch (6) + `372` (CA public keys) or `382` (IC parameters)"),
            u(62, M, "`1` + how many entries the terminal has listed so far (2 digits): `100` first"),
        ],
        note: "No MAC. Sent after sign-in when the terminal has no EMV parameters or a host answer's header asked (processing requirement 4 or 5). The 0830 F62: `0` (nothing to download), `1` (these are the last) or `2` (more follow: ask again with the new count), then one BER-TLV group an entry: 9F06 RID, 9F22 index, DF05 expiry (CA keys) or 9F06 AID (IC parameters). At most 99 entries.",
    },
    MessageSpec {
        name: "EMV parameter fetch",
        mti: 800,
        f3: None,
        f60_1: "00",
        f60_3: "370/380",
        fields: &[
            F11,
            F41,
            F42,
            u(60, M, "`00` + batch (6) + `370` (one CA public key) or `380` (one AID's IC parameters)"),
            u(62, M, "the listed entry: 9F06 RID + 9F22 index, or 9F06 AID (BER-TLV)"),
        ],
        note: "No MAC. One per listed entry. The 0810 F62: `1` + the record (tags: *Host profile and ISO 8583*, EMV parameters), or `0` when the host no longer has it (the others still load). A record that fails its checks (a CA key's DF03 SHA-1, lengths, BCD amounts) or is not the one asked for fails the whole download.",
    },
    MessageSpec {
        name: "EMV parameter download end",
        mti: 800,
        f3: None,
        f60_1: "00",
        f60_3: "371/381",
        fields: &MANAGEMENT,
        note: "No MAC. Acknowledges a complete download (`371` CA keys, `381` IC parameters); only then does the terminal keep what came and load it into the kernel.",
    },
    MessageSpec {
        name: "script result advice",
        mti: 620,
        f3: None,
        f60_1: "00",
        f60_3: "951",
        fields: &ADVICE,
        note: "After an approved chip transaction whose card ran the issuer's scripts (the answer's F55 carried 71/72; the card's second answer carries DF31). Recorded with the outcome, sent store-and-forward after the transaction, at sign-in and before settlement, up to 3 attempts; no outcome changes. The 0630 answers `00` (`25`: no such approved transaction).",
    },
    MessageSpec {
        name: "TC upload",
        mti: 320,
        f3: None,
        f60_1: "00",
        f60_3: "203",
        fields: &ADVICE,
        note: "Only with the profile's `tc_upload`: after every approved chip transaction the card accepted, its TC (9F26, CID 9F27 `40`); sent like the script result advice.",
    },
    MessageSpec {
        name: "sale",
        mti: 200,
        f3: Some("000000"),
        f60_1: "22",
        f60_3: "000",
        fields: &SALE_LIKE,
        note: "Reversible (0400).",
    },
    MessageSpec {
        name: "balance inquiry",
        mti: 200,
        f3: Some("310000"),
        f60_1: "01",
        f60_3: "000",
        fields: &[
            F2,
            u(3, M, "`310000`"),
            F11,
            F12,
            F13,
            F14,
            F22,
            F23,
            u(25, M, "`00`"),
            F26,
            F35,
            F41,
            F42,
            F49,
            F52,
            F53,
            F55,
            u(60, M, "60.1 `01`, 60.2 batch, 60.3 `000`, then `50`"),
            F64,
        ],
        note: "No F4. The 0210 carries the balance in F54. Not reversible.",
    },
    MessageSpec {
        name: "pre-authorization",
        mti: 100,
        f3: Some("030000"),
        f60_1: "10",
        f60_3: "000",
        fields: &SALE_LIKE,
        note: "F25 `06`. Reversible.",
    },
    MessageSpec {
        name: "sale void",
        mti: 200,
        f3: Some("200000"),
        f60_1: "23",
        f60_3: "000",
        fields: &REFERRING,
        note: "Current batch only. Reversible.",
    },
    MessageSpec {
        name: "refund",
        mti: 220,
        f3: Some("200000"),
        f60_1: "25",
        f60_3: "000",
        fields: &REFERRING,
        note: "Not reversible (an unknown refund is settled by reconciliation).",
    },
    MessageSpec {
        name: "pre-authorization void",
        mti: 100,
        f3: Some("200000"),
        f60_1: "11",
        f60_3: "000",
        fields: &REFERRING,
        note: "Reversible.",
    },
    MessageSpec {
        name: "pre-authorization completion",
        mti: 200,
        f3: Some("000000"),
        f60_1: "20",
        f60_3: "000",
        fields: &REFERRING,
        note: "Reversible.",
    },
    MessageSpec {
        name: "completion void",
        mti: 200,
        f3: Some("200000"),
        f60_1: "21",
        f60_3: "000",
        fields: &REFERRING,
        note: "Current batch only. Reversible.",
    },
    MessageSpec {
        name: "reversal",
        mti: 400,
        f3: None,
        f60_1: "(the original's)",
        f60_3: "000",
        fields: &[
            u(3, M, "the original's processing code"),
            u(4, C, "the original's amount, when it had one"),
            u(11, M, "the original's trace"),
            F22,
            u(23, C, "the original's card sequence number, when it had one"),
            u(25, M, "the original's condition code"),
            u(39, M, "reason: `98` no answer, `A0` bad MAC, `06` answer did not match or the chip card declined after the approval"),
            F41,
            F42,
            F49,
            u(55, C, "a chip original's: only 95, 9F1E, 9F10, 9F36 and DF31 (no card data)"),
            u(60, M, "the original's 60"),
            u(61, M, "the reversed message's batch (6) + trace (6): what the host undoes"),
            F64,
        ],
        note: "MTI, F3 and 60.1 of the original it reverses. No card data and no PIN data (no F2, F14, F35, F36, F52, F53; a chip original's F55 cut down to tags that carry none).",
    },
    MessageSpec {
        name: "settlement",
        mti: 500,
        f3: None,
        f60_1: "00",
        f60_3: "201",
        fields: &[
            F11,
            F41,
            F42,
            u(48, M, "totals: debit amount (12) + count (3) + credit amount (12) + count (3) + `0` + 31 zeros; the 0510 answers `1` (balanced) or `2` in the 31st digit"),
            F49,
            u(60, M, "`00` + batch + `201`"),
            u(63, M, "operator number `001`"),
            F64,
        ],
        note: "Amounts in minor units; counts modulo 1000.",
    },
    MessageSpec {
        name: "batch upload",
        mti: 320,
        f3: None,
        f60_1: "00",
        f60_3: "201",
        fields: &[
            u(3, M, "`000000` debit or `200000` credit"),
            u(4, M, "amount"),
            F11,
            u(37, M, "the transaction's reference"),
            F41,
            F42,
            u(60, M, "`00` + batch + `201`"),
            u(61, M, "the transaction's batch (6) + trace (6)"),
            F64,
        ],
        note: "One per approved transaction of the batch, after a 0510 that was not balanced.",
    },
    MessageSpec {
        name: "batch upload end",
        mti: 320,
        f3: None,
        f60_1: "00",
        f60_3: "202",
        fields: &[
            F11,
            F41,
            F42,
            u(48, M, "number of uploads, 4 digits"),
            u(60, M, "`00` + batch + `202`"),
            F64,
        ],
        note: "Closes the batch at the host.",
    },
];

/// The catalogue entry a request belongs to.
pub fn classify(m: &Message) -> Option<&'static MessageSpec> {
    let f60 = m.get_str(60).unwrap_or("");
    let f60_1 = f60.get(0..2).unwrap_or("");
    let f60_3 = f60.get(8..11).unwrap_or("");
    TERMINAL_MESSAGES.iter().find(|s| {
        s.mti == m.mti.value()
            && s.f3.is_none_or(|f3| m.get_str(3) == Some(f3))
            && (s.mti == 400 || s.f60_1 == f60_1)
            && (s.mti == 400 || s.f60_3.split('/').any(|c| c == f60_3))
    })
}

/// Checks a request against its catalogue entry: every field it carries is listed, every
/// mandatory field is there. Returns what is wrong, empty when nothing is.
pub fn check(m: &Message) -> Vec<String> {
    let Some(spec) = classify(m) else {
        return vec![format!(
            "{} with F3 {:?} and F60 {:?} is not in the catalogue",
            m.mti,
            m.get_str(3),
            m.get_str(60)
        )];
    };
    let mut wrong = Vec::new();
    for (n, _) in m.iter() {
        if !spec.fields.iter().any(|f| f.field == n) {
            wrong.push(format!("{}: F{n} is sent but not documented", spec.name));
        }
    }
    for f in spec
        .fields
        .iter()
        .filter(|f| f.presence == Presence::Mandatory)
    {
        if m.get(f.field).is_none() {
            wrong.push(format!("{}: mandatory F{} is missing", spec.name, f.field));
        }
    }
    wrong
}

fn format_of(table: &FieldTable, n: u8) -> String {
    let Some(s) = &table[n as usize] else {
        return "?".into();
    };
    let kind = match s.kind {
        Kind::N => "n",
        Kind::Z => "z",
        Kind::An => "an",
        Kind::Ans => "ans",
        Kind::B => "b",
    };
    match s.len {
        LenRule::Fixed(l) => format!("{kind} {l}"),
        LenRule::LlVar(l) => format!("{kind} ..{l} (LLVAR)"),
        LenRule::LllVar(l) => format!("{kind} ..{l} (LLLVAR)"),
    }
}

/// The specification page: every message with its fields, formats from `table`.
pub fn render_markdown(table: &FieldTable) -> String {
    let mut out = String::from(
        "# Messages the terminal sends\n\n\
         Generated by `smartpos iso8583 spec` from the codec's field table and the message\n\
         catalogue (`core/src/iso8583/catalog.rs`); a test decodes every message the terminal\n\
         sends in a full day (sign-in to settlement) against this page. `M` always present, `C`\n\
         on the condition given. Formats: `n` BCD digits, `z` track digits, `an`/`ans` ASCII,\n\
         `b` bytes; variable fields carry a BCD length (LL one byte, LLL two).\n",
    );
    for s in TERMINAL_MESSAGES {
        out.push_str(&format!(
            "\n## {} ({:04}{}, 60.1 `{}`, 60.3 `{}`)\n\n{}\n\n| field | name | format | | value or rule |\n|---|---|---|---|---|\n",
            s.name,
            s.mti,
            s.f3.map(|f| format!(", F3 `{f}`")).unwrap_or_default(),
            s.f60_1,
            s.f60_3,
            s.note
        ));
        for f in s.fields {
            let name = table[f.field as usize].map(|s| s.name).unwrap_or("?");
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                f.field,
                name,
                format_of(table, f.field),
                if f.presence == Presence::Mandatory {
                    "M"
                } else {
                    "C"
                },
                f.rule
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_page_is_the_generated_one() {
        let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sdk-docs/src/bank/messages.md");
        let committed = std::fs::read_to_string(&page).unwrap_or_default();
        assert!(
            committed == render_markdown(&super::super::CUP_FIELDS),
            "sdk-docs/src/bank/messages.md is stale: run `smartpos iso8583 spec > sdk-docs/src/bank/messages.md`"
        );
    }

    #[test]
    fn every_catalogued_field_is_in_the_field_table() {
        for s in TERMINAL_MESSAGES {
            for f in s.fields {
                assert!(
                    super::super::CUP_FIELDS[f.field as usize].is_some(),
                    "{}: F{}",
                    s.name,
                    f.field
                );
            }
        }
    }
}
