//! The simulated chip card's and issuer's cryptograms and the BER-TLV codec against an
//! independent implementation, PyPI `pyemv` (`tests/python/emv_peer.py`): card master key
//! (option A), common session key, application cryptogram and ARPC method 1 for cards, counters
//! and CDOL data of every length, and the TLV list decoded by both.

use smartpos_core::crypto::DesKey;
use smartpos_core::emv::tlv::{self, Tag};
use smartpos_testing::emv_crypto::{
    application_cryptogram, arpc_method_1, card_master_key, session_key,
};
use std::io::Write;
use std::process::{Command, Stdio};

fn python() -> String {
    if let Ok(p) = std::env::var("SMARTPOS_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../.cache/venv/bin/python");
    assert!(
        std::path::Path::new(venv).exists(),
        "no {venv}: scripts/test.sh builds the venv with pyemv (or set SMARTPOS_PYTHON)"
    );
    venv.to_string()
}

#[test]
fn cryptograms_and_tlv_match_pyemv() {
    let imks = [
        "0123456789ABCDEFFEDCBA9876543210",
        "9E15204313F7318ACB79B90BD986AD29",
    ];
    let cards = [
        ("6222021234567890123", "01"),
        ("6212341111111111", "00"),
        ("62258800000000001", "03"),
    ];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for (i, imk) in imks.iter().enumerate() {
        for (j, (pan, psn)) in cards.iter().enumerate() {
            let atc = (1 + 97 * i + 13 * j) as u16;
            // CDOL data of a different length each time (padding is where AC code goes wrong)
            let data: Vec<u8> = (0..(29 + 5 * j + 3 * i))
                .map(|k| (k * 7 + i) as u8)
                .collect();
            let arc = if j % 2 == 0 { *b"00" } else { *b"05" };
            let mut f55 = Vec::new();
            tlv::encode(Tag(0x9F26), &[0x11; 8], &mut f55).unwrap();
            tlv::encode(Tag(0x9F10), &data[..18], &mut f55).unwrap();
            tlv::encode(Tag(0x95), &[0, 0, 0x80, 0, 0], &mut f55).unwrap();
            tlv::encode(Tag(0x9F36), &atc.to_be_bytes(), &mut f55).unwrap();
            tlv::encode(Tag(0x5F2A), &[0x01, 0x56], &mut f55).unwrap();
            cases.push(serde_json::json!({
                "imk": imk, "pan": pan, "psn": psn, "atc": atc,
                "data": hex::encode_upper(&data), "arc": hex::encode_upper(arc),
                "tlv": hex::encode_upper(&f55),
            }));
            let mk = card_master_key(&DesKey::from_hex(imk).unwrap(), pan, psn);
            let sk = session_key(&mk, atc);
            let ac = application_cryptogram(&sk, &data);
            let list = tlv::decode(&f55).unwrap();
            ours.push(serde_json::json!({
                "card_master_key": hex::encode_upper(mk.expose_bytes()),
                "session_key": hex::encode_upper(sk.expose_bytes()),
                "cryptogram": hex::encode_upper(ac),
                "arpc": hex::encode_upper(arpc_method_1(&sk, ac, arc)),
                "tlv": list
                    .iter()
                    .map(|t| (t.tag.to_string(), hex::encode_upper(t.value).into()))
                    .collect::<serde_json::Map<String, serde_json::Value>>(),
            }));
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/emv_peer.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "pyemv peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), cases.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "case {i}: {}", cases[i]);
    }
}
