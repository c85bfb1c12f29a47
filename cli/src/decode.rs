//! `smartpos iso8583 decode`: a frame as JSON, for people and for peer cross-checks: every
//! field by number (`fields`) and with its name from the field table (`named`), and which
//! catalogued message it is (`message`, for requests the terminal sends).

use smartpos_core::card::mask_pan;
use smartpos_core::iso8583::{FieldTable, Frame, Kind};

/// Decodes a whole frame (length prefix included) with a profile's field table
/// ([`smartpos_core::profile::AcquirerProfile::fields`]) to JSON. Card data is masked and PIN
/// and key material hidden unless `unmasked` (test cards only).
pub fn frame_to_json(
    bytes: &[u8],
    table: &FieldTable,
    unmasked: bool,
) -> Result<serde_json::Value, smartpos_core::iso8583::DecodeError> {
    let frame = Frame::decode(bytes, table)?;
    let mut fields = serde_json::Map::new();
    let mut named = Vec::new();
    for (n, v) in frame.message.iter() {
        let spec = table[n as usize]
            .as_ref()
            .expect("decoded fields are defined");
        let text = match spec.kind {
            Kind::B => hex::encode_upper(v),
            Kind::Ans if !v.iter().all(|b| (0x20..0x7F).contains(b)) => hex::encode_upper(v),
            _ => String::from_utf8_lossy(v).into_owned(),
        };
        let shown = match n {
            _ if unmasked => text,
            2 => mask_pan(&text),
            35 | 36 => match text.split_once('=') {
                Some((pan, _)) => format!("{}=<hidden>", mask_pan(pan)),
                None => "<hidden>".into(),
            },
            52 | 55 | 62 => format!("<{} bytes hidden>", v.len()),
            _ => text,
        };
        named.push(serde_json::json!({"field": n, "name": spec.name, "value": shown.clone()}));
        fields.insert(n.to_string(), serde_json::Value::String(shown));
    }
    let message = smartpos_core::iso8583::catalog::classify(&frame.message).map(|s| s.name);
    Ok(serde_json::json!({
        "tpdu": hex::encode_upper(frame.tpdu),
        "header": hex::encode_upper(frame.header.0),
        "mti": frame.message.mti.to_string(),
        "message": message,
        "fields": fields,
        "named": named,
    }))
}
