//! Public vectors from `testdata/cup/vectors.json` (copied to `tests/data/`).

use serde_json::Value;
use smartpos_core::crypto::{cup_ecb_mac, iso9564_format0, DesKey};
use smartpos_core::iso8583::{Frame, CUP_FIELDS};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/cup-vectors.json")).unwrap()
}

#[test]
fn cup_ecb_mac_matches_published_frame() {
    let v = vectors();
    for case in v["cup_ecb_mac"].as_array().unwrap() {
        let frame_hex: String = case["frame_hex"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect();
        let frame_bytes = hex::decode(frame_hex).unwrap();
        let frame = Frame::decode(&frame_bytes, &CUP_FIELDS).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(frame.message.mti.to_string(), "0200");
        let key = DesKey::from_hex(case["mak_hex"].as_str().unwrap()).unwrap();
        let mab = frame.message.mac_block(&CUP_FIELDS).unwrap();
        // The MAB is the frame minus length, TPDU, header and the trailing 8 MAC bytes.
        assert_eq!(&mab[..], &frame_bytes[13..frame_bytes.len() - 8]);
        let mac = cup_ecb_mac(&key, &mab);
        assert_eq!(
            std::str::from_utf8(&mac).unwrap(),
            case["mac_ascii"].as_str().unwrap()
        );
        assert_eq!(frame.message.get(64).unwrap(), &mac);
        // Re-encoding reproduces the published bytes exactly.
        assert_eq!(frame.encode(&CUP_FIELDS).unwrap(), frame_bytes);
    }
}

#[test]
fn pin_blocks_match_vectors() {
    for case in vectors()["pin_block_iso9564_format0"].as_array().unwrap() {
        let b =
            iso9564_format0(case["pin"].as_str().unwrap(), case["pan"].as_str().unwrap()).unwrap();
        assert_eq!(
            hex::encode_upper(b),
            case["clear_block_hex"].as_str().unwrap()
        );
    }
}

#[test]
fn key_check_values_match_vectors() {
    for case in vectors()["key_check_value"].as_array().unwrap() {
        let k = DesKey::from_hex(case["key_hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            hex::encode_upper(k.check_value()),
            case["kcv_hex"].as_str().unwrap()
        );
    }
}

#[test]
fn sm4_blocks_match_vectors() {
    use smartpos_core::crypto::Sm4Key;
    for case in vectors()["sm4"].as_array().unwrap() {
        let k = Sm4Key::from_hex(case["key_hex"].as_str().unwrap()).unwrap();
        let plain: [u8; 16] = hex::decode(case["plain_hex"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let c = k.encrypt_block(plain);
        assert_eq!(hex::encode_upper(c), case["cipher_hex"].as_str().unwrap());
        assert_eq!(k.decrypt_block(c), plain);
        if plain == [0; 16] {
            assert_eq!(
                k.check_value()[..],
                c[..4],
                "the check value is E_K(0^16)[..4]"
            );
        }
    }
}
