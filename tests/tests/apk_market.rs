//! App signing: the market signature on real apksigner-signed APKs from the corpus, what breaks
//! it, key rotation and revocation, the launcher's grants feeding the handoff allow-list, and
//! the attack files (stripped scheme blocks, a prepended DEX, bytes between entries, edited
//! content, EOCD comment games), each refused with a reason.

use ed25519_dalek::SigningKey;
use smartpos_core::apk::block::{SigningBlock, V2_ID, V3_ID};
use smartpos_core::apk::market::{
    certify_market_key, sign_in_place, sign_revocations, Device, Grants, MarketError, MarketSigner,
    Revocations, RevokedApp, TrustStore,
};
use smartpos_core::apk::zip::ZipLayout;
use smartpos_core::apk::{Apk, ApkError};
use smartpos_core::handoff::{AllowList, CallerIdentity, RequestType};
use std::io::Cursor;
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/apksig-corpus");
const SDK: u32 = 28;

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(CORPUS).join(name)).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn verify(bytes: &[u8]) -> Result<smartpos_core::apk::Verdict, ApkError> {
    Apk::new(Cursor::new(bytes.to_vec()))?.verify(SDK)
}

struct Market {
    root: SigningKey,
    key: SigningKey,
    cert: smartpos_core::apk::market::Signed,
}

fn market(seed: u8, key_id: &str) -> Market {
    let root = SigningKey::from_bytes(&[1; 32]);
    let key = SigningKey::from_bytes(&[seed; 32]);
    let cert = certify_market_key(&root, key_id, &key.verifying_key(), 0);
    Market { root, key, cert }
}

fn grants() -> Grants {
    Grants {
        payments: vec![RequestType::Sale, RequestType::Refund, RequestType::Query],
        devices: vec![Device::Printer, Device::Scanner],
    }
}

fn sign(m: &Market, path: &Path) {
    let signer = MarketSigner {
        key: &m.key,
        key_cert: &m.cert,
        grants: grants(),
        now: 1_800_000_000,
        sdk: SDK,
    };
    sign_in_place(path, &signer, &mut |_, _| {}).unwrap();
}

fn store(m: &Market) -> TrustStore {
    TrustStore {
        root: m.root.verifying_key(),
        revocations: Revocations::default(),
    }
}

fn apksigner_verifies(path: &Path) -> bool {
    let out = std::process::Command::new("apksigner")
        .args(["verify", "--min-sdk-version", "24"])
        .arg(path)
        .output()
        .expect("apksigner missing: install Debian apksigner (scripts/test.sh does)");
    out.status.success()
}

#[test]
fn market_signed_apks_still_pass_apksigner_and_any_flipped_byte_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let m = market(2, "market-1");
    let path = write(
        tmp.path(),
        "app.apk",
        &corpus("golden-aligned-v1v2v3-out.apk"),
    );
    sign(&m, &path);
    assert!(
        apksigner_verifies(&path),
        "Android's verification still passes"
    );
    let app = store(&m).check(&path, SDK, None, &mut |_, _| {}).unwrap();
    assert_eq!(app.grants, grants());
    assert_eq!(app.key_id, "market-1");

    let good = std::fs::read(&path).unwrap();
    let block = Apk::new(Cursor::new(good.clone())).unwrap().block.unwrap();
    // every 53rd byte of the file, and every 5th byte from the signing block on (scheme blocks,
    // market claim and grants, central directory, EOCD)
    let stride: Vec<usize> = (0..good.len()).step_by(53).collect();
    let block_bytes: Vec<usize> = (block.offset as usize..good.len()).step_by(5).collect();
    let mut checked = 0;
    for i in stride.into_iter().chain(block_bytes) {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        let p = write(tmp.path(), "flipped.apk", &bad);
        assert!(
            store(&m).check(&p, SDK, None, &mut |_, _| {}).is_err(),
            "flipping byte {i} of {} was not noticed",
            good.len()
        );
        checked += 1;
    }
    assert!(checked > 1_000, "{checked}");
}

#[test]
fn the_grants_are_what_the_market_signed_and_feed_the_handoff() {
    let tmp = tempfile::tempdir().unwrap();
    let m = market(2, "market-1");
    let path = write(
        tmp.path(),
        "app.apk",
        &corpus("golden-aligned-v2v3-out.apk"),
    );
    sign(&m, &path);
    let (ok, refused) = store(&m).verified_apps(
        &[
            path.clone(),
            Path::new(CORPUS).join("golden-aligned-v2v3-out.apk"),
        ],
        SDK,
    );
    assert_eq!(ok.len(), 1);
    assert!(
        refused[0].1.contains("not signed by the bank's app market"),
        "{refused:?}"
    );
    let list = AllowList {
        apps: vec![ok[0].allowed_app()],
    };
    let digest = &ok[0].signer_cert_sha256[0];
    let caller = CallerIdentity::from_hex(&ok[0].package, &[digest]).unwrap();
    assert!(list.authorize(&caller, RequestType::Sale).is_ok());
    assert!(
        list.authorize(&caller, RequestType::Settle).is_err(),
        "not granted"
    );
    let stranger = CallerIdentity::from_hex(&ok[0].package, &[&"00".repeat(32)]).unwrap();
    assert!(
        list.authorize(&stranger, RequestType::Sale).is_err(),
        "another signer"
    );
    // the installer reports another version: refused
    let err = store(&m)
        .check(
            &path,
            SDK,
            Some((&ok[0].package, ok[0].version_code + 1)),
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, MarketError::Mismatch { .. }), "{err}");
}

#[test]
fn revocation_and_key_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let a = market(2, "market-a");
    let path = write(
        tmp.path(),
        "app.apk",
        &corpus("golden-aligned-v2v3-out.apk"),
    );
    sign(&a, &path);
    let app = store(&a).check(&path, SDK, None, &mut |_, _| {}).unwrap();

    let mut s = store(&a);
    let list = Revocations {
        serial: 1,
        apps: vec![],
        market_keys: vec!["market-a".into()],
    };
    s.update_revocations(&sign_revocations(&a.root, &list))
        .unwrap();
    let err = s.check(&path, SDK, None, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, MarketError::Revoked(_)), "{err}");

    // a new market key certified by the same root re-signs the app: accepted again
    let b = market(3, "market-b");
    sign(&b, &path);
    assert_eq!(
        s.check(&path, SDK, None, &mut |_, _| {}).unwrap().key_id,
        "market-b"
    );
    assert!(
        apksigner_verifies(&path),
        "re-signing keeps Android's signature valid"
    );

    // withdraw the app version itself
    let list2 = Revocations {
        serial: 2,
        apps: vec![RevokedApp {
            package: app.package.clone(),
            version_code: app.version_code,
        }],
        market_keys: vec!["market-a".into()],
    };
    s.update_revocations(&sign_revocations(&a.root, &list2))
        .unwrap();
    assert!(matches!(
        s.check(&path, SDK, None, &mut |_, _| {}),
        Err(MarketError::Revoked(_))
    ));
    // an older list cannot replace a newer one; a list not signed by the root is refused
    assert!(s
        .update_revocations(&sign_revocations(&a.root, &list))
        .is_err());
    let forged = sign_revocations(
        &b.key,
        &Revocations {
            serial: 9,
            ..Default::default()
        },
    );
    assert!(s.update_revocations(&forged).is_err());
    // a market key certified by another root is refused
    let rogue_root = SigningKey::from_bytes(&[9; 32]);
    let rogue = Market {
        cert: certify_market_key(
            &rogue_root,
            "market-x",
            &SigningKey::from_bytes(&[4; 32]).verifying_key(),
            0,
        ),
        key: SigningKey::from_bytes(&[4; 32]),
        root: rogue_root,
    };
    sign(&rogue, &path);
    assert!(matches!(
        store(&a).check(&path, SDK, None, &mut |_, _| {}),
        Err(MarketError::BadSignature(_))
    ));
}

/// Rebuilds an APK with a signing block of these pairs (or none).
fn with_block(bytes: &[u8], pairs: Option<Vec<(u32, Vec<u8>)>>) -> Vec<u8> {
    let zip = ZipLayout::read(&mut Cursor::new(bytes), bytes.len() as u64).unwrap();
    // keep the zero padding before the original block: the signed content includes it
    let start = Apk::new(Cursor::new(bytes.to_vec()))
        .unwrap()
        .block
        .map_or(zip.entries_end, |b| b.offset) as usize;
    let mut out = bytes[..start].to_vec();
    if let Some(p) = pairs {
        out.extend(SigningBlock::encode(&p));
    }
    let cd = out.len() as u32;
    out.extend_from_slice(&bytes[zip.cd_offset as usize..zip.eocd_offset as usize]);
    let mut eocd = zip.eocd.clone();
    eocd[16..20].copy_from_slice(&cd.to_le_bytes());
    out.extend(eocd);
    out
}

fn pairs_of(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
    Apk::new(Cursor::new(bytes.to_vec()))
        .unwrap()
        .block
        .unwrap()
        .pairs
}

/// Shifts every local-header offset at or after `from` by `by` (central directory and EOCD).
fn shift_offsets(bytes: &mut [u8], from: u64, by: u32) {
    let eocd = bytes.len() - 22;
    let cd = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let mut at = cd;
    while at < eocd {
        let off = u32::from_le_bytes(bytes[at + 42..at + 46].try_into().unwrap());
        if off as u64 >= from {
            bytes[at + 42..at + 46].copy_from_slice(&(off + by).to_le_bytes());
        }
        let n = u16::from_le_bytes([bytes[at + 28], bytes[at + 29]]) as usize
            + u16::from_le_bytes([bytes[at + 30], bytes[at + 31]]) as usize
            + u16::from_le_bytes([bytes[at + 32], bytes[at + 33]]) as usize;
        at += 46 + n;
    }
    bytes[eocd + 16..eocd + 20].copy_from_slice(&((cd as u32) + by).to_le_bytes());
}

fn refused_with(bytes: &[u8], needle: &str) {
    match verify(bytes) {
        Ok(v) => panic!("accepted an attack file: {v:?}"),
        Err(e) => assert!(e.to_string().contains(needle), "{e} (wanted {needle:?})"),
    }
}

#[test]
fn attack_files_are_refused() {
    let v2v3 = corpus("golden-aligned-v2v3-out.apk");
    assert!(verify(&v2v3).is_ok());

    // v3 stripped from a v2+v3 APK: v2's stripping protection names v3
    let no_v3: Vec<_> = pairs_of(&v2v3)
        .into_iter()
        .filter(|(id, _)| *id != V3_ID)
        .collect();
    refused_with(&with_block(&v2v3, Some(no_v3)), "stripped");
    // both stripped from a v1+v2+v3 APK: v1's X-Android-APK-Signed names them
    let v1v2v3 = corpus("golden-aligned-v1v2v3-out.apk");
    refused_with(&with_block(&v1v2v3, None), "stripped"); // v1 announces v2 and v3
                                                          // v2 stripped (v3 left): at SDK 28 the device checks v3, which still holds
    let no_v2: Vec<_> = pairs_of(&v2v3)
        .into_iter()
        .filter(|(id, _)| *id != V2_ID)
        .collect();
    let r = verify(&with_block(&v2v3, Some(no_v2)));
    assert!(r.is_ok(), "{r:?}");

    // a DEX prepended, offsets fixed up (Janus)
    let mut janus = b"dex\n035\0".to_vec();
    janus.resize(112, 0x41);
    let mut rest = v2v3.clone();
    shift_offsets(&mut rest, 0, janus.len() as u32);
    janus.extend(rest);
    refused_with(&janus, "not at offset 0");

    // bytes between two entries, offsets fixed up
    let zip = ZipLayout::read(&mut Cursor::new(&v2v3), v2v3.len() as u64).unwrap();
    let mut by_offset = zip.entries.clone();
    by_offset.sort_by_key(|e| e.local_offset);
    let cut = by_offset[1].local_offset as usize;
    let mut shifted = v2v3.clone();
    shift_offsets(&mut shifted, cut as u64, 16);
    let mut gap = shifted[..cut].to_vec();
    gap.extend_from_slice(b"PK\x03\x04hidden-data!");
    gap.extend_from_slice(&shifted[cut..]);
    refused_with(&gap, "bytes between entries");

    // content edited after signing
    let mut edited = v2v3.clone();
    let e = &by_offset[1];
    edited[e.data_offset as usize] ^= 0xff;
    refused_with(&edited, "does not match its signed digest");

    // an EOCD comment that hides another EOCD record
    let mut comment = v2v3.clone();
    // a second EOCD inside the comment, its own comment length not matching the file's end
    let fake = b"PK\x05\x06\0\0\0\0\x01\0\x01\0\0\0\0\0\0\0\0\0\xff\0";
    let n = comment.len();
    comment[n - 2..].copy_from_slice(&(fake.len() as u16).to_le_bytes());
    comment.extend_from_slice(fake);
    refused_with(&comment, "another EOCD");
    // bytes after the EOCD that its comment length does not account for
    let mut trailing = v2v3.clone();
    trailing.extend_from_slice(b"trailing");
    refused_with(&trailing, "no end of central directory");
    // duplicate entry names and local/central disagreement come from the corpus
    refused_with(
        &corpus("mismatched-compression-method.apk"),
        "compression method",
    );
}

#[test]
fn the_apk_bench_builds_signs_and_measures_with_every_peer() {
    let r = smartpos_cli::bench_apk::run(2, 1).unwrap();
    assert!(r.size > 2 * 1024 * 1024, "the asset is in the APK");
    assert!(
        r.smartpos_ms > 0.0 && r.sha256_ms > 0.0 && r.apksigner_ms > 0.0 && r.apkverifier_ms > 0.0
    );
    assert!(r.small_cpu_ms >= 0.0 && r.peak_rss_kib > 0);
}
