//! Scheme v1 (JAR signing), for APKs with no newer scheme and terminals below SDK 24:
//! `META-INF/MANIFEST.MF` lists a digest of every entry; each `META-INF/X.SF` holds digests of the
//! manifest (whole, or per section); each `X.RSA`/`X.EC` is a CMS SignedData whose signature
//! covers the `.SF`. Every signer must verify; every entry must be listed and match. Entries are
//! decompressed and hashed as streams. Signature algorithms through `ring`; SHA-1 ECDSA, MD5,
//! SHA-224, DSA and RSA outside 2048..=8192 bits are refused with that reason.

use super::zip::{Entry, ZipLayout};
use super::ApkError;
use crate::crypto::{self, children, element, HashAlg, Padding, SignatureUse};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use ring::digest::{Algorithm, Context, SHA1_FOR_LEGACY_USE_ONLY, SHA256, SHA384, SHA512};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use x509_cert::der::{Decode, Encode};

const MAX_META: u64 = 8 * 1024 * 1024;

fn bad(s: impl Into<String>) -> ApkError {
    ApkError::Malformed(format!("v1: {}", s.into()))
}

/// Reads an entry's uncompressed bytes (small META-INF files only).
fn read_small<R: Read + Seek>(r: &mut R, e: &Entry) -> Result<Vec<u8>, ApkError> {
    if e.uncompressed > MAX_META || e.compressed > MAX_META {
        return Err(bad("signature file too large"));
    }
    let mut out = Vec::new();
    stream_entry(r, e, &mut |b| out.extend_from_slice(b))?;
    Ok(out)
}

/// Feeds an entry's uncompressed bytes to `sink` in pieces.
fn stream_entry<R: Read + Seek>(
    r: &mut R,
    e: &Entry,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), ApkError> {
    r.seek(SeekFrom::Start(e.data_offset))?;
    let raw = r.take(e.compressed);
    let mut reader: Box<dyn Read> = match e.method {
        0 => Box::new(raw),
        8 => Box::new(flate2::read::DeflateDecoder::new(raw)),
        m => return Err(bad(format!("compression method {m}"))),
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|_| bad("corrupt compressed entry"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > e.uncompressed {
            return Err(bad("entry inflates beyond its declared size"));
        }
        sink(&buf[..n]);
    }
    if total != e.uncompressed {
        return Err(bad("entry size differs from its header"));
    }
    Ok(())
}

/// A manifest (or .SF) file: main attributes and named sections with their raw bytes.
struct Manifest {
    main: HashMap<String, String>,
    main_raw_len: usize,
    sections: Vec<(String, HashMap<String, String>, Vec<u8>)>,
}

fn parse_manifest(text: &[u8]) -> Result<Manifest, ApkError> {
    // split into sections at blank lines, keeping each section's exact bytes (with its
    // terminating blank line) for the per-section digests of the .SF
    let mut sections_raw: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let eol = |i: usize| -> Option<usize> {
        match text.get(i) {
            Some(b'\r') if text.get(i + 1) == Some(&b'\n') => Some(2),
            Some(b'\r') | Some(b'\n') => Some(1),
            _ => None,
        }
    };
    let mut at_line_start = true;
    while i < text.len() {
        if let Some(n) = eol(i) {
            if at_line_start {
                sections_raw.push(&text[start..i + n]);
                start = i + n;
            }
            at_line_start = true;
            i += n;
        } else {
            at_line_start = false;
            i += 1;
        }
    }
    if start < text.len() {
        sections_raw.push(&text[start..]);
    }
    let attrs = |raw: &[u8]| -> Result<HashMap<String, String>, ApkError> {
        let s = std::str::from_utf8(raw).map_err(|_| bad("manifest is not UTF-8"))?;
        let mut lines: Vec<String> = Vec::new();
        for line in s.split(['\n']).map(|l| l.trim_end_matches('\r')) {
            if let Some(cont) = line.strip_prefix(' ') {
                lines
                    .last_mut()
                    .ok_or_else(|| bad("continuation without a line"))?
                    .push_str(cont);
            } else if !line.is_empty() {
                lines.push(line.to_string());
            }
        }
        let mut m = HashMap::new();
        for l in lines {
            let (k, v) = l
                .split_once(": ")
                .ok_or_else(|| bad(format!("malformed line {l:?}")))?;
            m.insert(k.to_ascii_lowercase(), v.to_string());
        }
        Ok(m)
    };
    let mut it = sections_raw.into_iter();
    let main_raw = it.next().unwrap_or(&[]);
    let main = attrs(main_raw)?;
    let mut sections = Vec::new();
    for raw in it {
        let a = attrs(raw)?;
        if a.is_empty() {
            continue;
        }
        let name = a
            .get("name")
            .cloned()
            .ok_or_else(|| bad("section without Name"))?;
        sections.push((name, a, raw.to_vec()));
    }
    Ok(Manifest {
        main,
        main_raw_len: main_raw.len(),
        sections,
    })
}

fn digest_alg(attr_key: &str) -> Option<HashAlg> {
    match attr_key {
        "sha-256" => Some(HashAlg::Sha256),
        "sha-384" => Some(HashAlg::Sha384),
        "sha-512" => Some(HashAlg::Sha512),
        "sha1" | "sha-1" => Some(HashAlg::Sha1),
        _ => None,
    }
}

/// ring's streaming digest for the manifest's digest algorithms.
fn ring_alg(h: HashAlg) -> &'static Algorithm {
    match h {
        HashAlg::Sha384 => &SHA384,
        HashAlg::Sha512 => &SHA512,
        HashAlg::Sha1 => &SHA1_FOR_LEGACY_USE_ONLY,
        _ => &SHA256,
    }
}

/// A digest attribute's value, decoded as Android's `java.util.Base64` decoder reads it: the
/// standard alphabet, `=` padding optional but, when present, correct and last; any other
/// character refused.
fn b64(s: &str) -> Result<Vec<u8>, ApkError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    const JAVA: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    JAVA.decode(s.trim())
        .map_err(|e| bad(format!("bad base64: {e}")))
}

/// The strongest `X-Digest` attribute of a set: (algorithm, expected digest).
fn strongest(
    attrs: &HashMap<String, String>,
    suffix: &str,
) -> Result<Option<(HashAlg, Vec<u8>)>, ApkError> {
    for name in ["sha-512", "sha-384", "sha-256", "sha1", "sha-1"] {
        if let Some(v) = attrs.get(&format!("{name}{suffix}")) {
            return Ok(Some((digest_alg(name).expect("known"), b64(v)?)));
        }
    }
    if attrs.keys().any(|k| k.ends_with(suffix)) {
        return Err(ApkError::Unsupported(
            "v1 digest algorithm (MD5 or SHA-224)".into(),
        ));
    }
    Ok(None)
}

/// Verifies the CMS SignedData in `block` over `sf`; returns the signer's certificate (DER) and
/// what each SignerInfo's signature used.
fn verify_pkcs7(block: &[u8], sf: &[u8]) -> Result<(Vec<u8>, Vec<SignatureUse>), ApkError> {
    let ci = ContentInfo::from_der(block).map_err(|e| bad(format!("PKCS#7: {e}")))?;
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| bad(format!("SignedData: {e}")))?;
    let certs: Vec<x509_cert::Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    // As Android: the first SignerInfo that verifies is the signer (apksig does the same); when
    // none does, the first one's reason.
    if sd.signer_infos.0.is_empty() {
        return Err(bad("no SignerInfo"));
    }
    let raw = raw_signer_infos(block);
    // In the file's order (the parsed SET may be sorted).
    let mut infos: Vec<&cms::signed_data::SignerInfo> = sd.signer_infos.0.iter().collect();
    infos.sort_by_key(|si| {
        raw.iter()
            .position(|(sig, _)| sig.as_slice() == si.signature.as_bytes())
            .unwrap_or(usize::MAX)
    });
    let mut first_err = None;
    for si in infos {
        match verify_signer_info(si, &certs, sf, &raw) {
            Ok(found) => return Ok(found),
            // A SignerInfo missing a required signed attribute is malformed, not merely
            // unverified: Android stops there.
            Err(e @ ApkError::Malformed(_))
                if e.to_string().contains("signed attributes without") =>
            {
                return Err(e)
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| bad("no SignerInfo")))
}

/// Verifies one SignerInfo over `sf`: the signer's certificate (DER) and what its signature used.
fn verify_signer_info(
    si: &cms::signed_data::SignerInfo,
    certs: &[x509_cert::Certificate],
    sf: &[u8],
    raw: &[RawSignerInfo],
) -> Result<(Vec<u8>, Vec<SignatureUse>), ApkError> {
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err(bad("signer identified by key id"));
    };
    // by serial and issuer; issuer names may be encoded differently, so a unique serial suffices
    let same_serial: Vec<&x509_cert::Certificate> = certs
        .iter()
        .filter(|c| c.tbs_certificate.serial_number == ias.serial_number)
        .collect();
    let cert = match same_serial.as_slice() {
        [one] => *one,
        many => many
            .iter()
            .find(|c| c.tbs_certificate.issuer == ias.issuer)
            .copied()
            .ok_or_else(|| bad("the signer's certificate is not in the PKCS#7 block"))?,
    };
    let digest_oid = si.digest_alg.oid.to_string();
    let hash = HashAlg::from_oid(&digest_oid)
        .ok_or_else(|| ApkError::Unsupported(format!("v1 digest algorithm {digest_oid}")))?;
    let message: Vec<u8> = match &si.signed_attrs {
        None => sf.to_vec(),
        Some(attrs) => {
            let content_type = attrs
                .iter()
                .find(|a| a.oid.to_string() == "1.2.840.113549.1.9.3")
                .and_then(|a| a.values.iter().next())
                .and_then(|v| v.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok())
                .ok_or_else(|| bad("signed attributes without a content type"))?;
            if content_type.to_string() != "1.2.840.113549.1.7.1" {
                return Err(bad("signed attributes name a content type other than data"));
            }
            let md_oid = "1.2.840.113549.1.9.4";
            let md = attrs
                .iter()
                .find(|a| a.oid.to_string() == md_oid)
                .and_then(|a| a.values.iter().next())
                .and_then(|v| v.decode_as::<x509_cert::der::asn1::OctetString>().ok())
                .ok_or_else(|| bad("signed attributes without a message digest"))?;
            if md.as_bytes() != hash.digest(sf) {
                return Err(ApkError::DigestMismatch);
            }
            // Signed as they are in the file (a SET tag in place of [0]), even when not in
            // DER order, as Android verifies them.
            match raw
                .iter()
                .find(|(sig, _)| sig.as_slice() == si.signature.as_bytes())
                .and_then(|(_, attrs)| attrs.clone())
            {
                Some(bytes) => bytes,
                None => attrs
                    .to_der()
                    .map_err(|e| bad(format!("signed attributes: {e}")))?,
            }
        }
    };
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad(e.to_string()))?;
    let used = crypto::verify(
        &spki,
        hash,
        Padding::Pkcs1,
        &message,
        si.signature.as_bytes(),
    )
    .map_err(|e| match e {
        ApkError::BadSignature(_) => {
            ApkError::BadSignature("the v1 signature does not verify".into())
        }
        other => other,
    })?;
    Ok((cert.to_der().map_err(|e| bad(e.to_string()))?, vec![used]))
}

/// Each SignerInfo in file order: its signature, and its signed attributes exactly as encoded in
/// the block (the `[0]` tag replaced by the SET tag they are signed under), by walking the DER.
type RawSignerInfo = (Vec<u8>, Option<Vec<u8>>);

fn raw_signer_infos(block: &[u8]) -> Vec<RawSignerInfo> {
    fn walk(block: &[u8]) -> Option<Vec<RawSignerInfo>> {
        let content_info = children(element(block)?.2)?;
        let signed_data = children(element(children(content_info.get(1)?.2)?.first()?.1)?.2)?;
        let signer_infos = children(signed_data.last()?.2)?;
        let mut out = Vec::new();
        for si in signer_infos {
            let parts = children(si.2)?;
            let attrs = parts.iter().find(|p| p.0 == 0xA0);
            let sig = parts.iter().find(|p| p.0 == 0x04)?;
            let attrs = attrs.map(|a| {
                let mut bytes = a.1.to_vec();
                bytes[0] = 0x31;
                bytes
            });
            out.push((sig.2.to_vec(), attrs));
        }
        Some(out)
    }
    walk(block).unwrap_or_default()
}

/// What a verified v1 signature found.
#[derive(Debug, Clone)]
pub struct V1Signed {
    /// Each signer's certificate (DER), signers sorted by name.
    pub certs: Vec<Vec<u8>>,
    /// What each signature used.
    pub signatures: Vec<SignatureUse>,
    /// The digest algorithms that protect the entries and the manifest.
    pub digests: Vec<HashAlg>,
}

/// Verifies the v1 signature.
pub fn verify_v1<R: Read + Seek>(
    r: &mut R,
    zip: &ZipLayout,
    newer_schemes_present: &[u8],
) -> Result<V1Signed, ApkError> {
    let by_name: HashMap<&[u8], &Entry> =
        zip.entries.iter().map(|e| (e.name.as_slice(), e)).collect();
    let manifest_entry = by_name
        .get(b"META-INF/MANIFEST.MF".as_slice())
        .ok_or_else(|| ApkError::NotSigned("no META-INF/MANIFEST.MF".into()))?;
    let manifest_bytes = read_small(r, manifest_entry)?;
    let manifest = parse_manifest(&manifest_bytes)?;
    // signers: X.SF with X.RSA / X.EC / X.DSA
    let mut signers: Vec<(String, &Entry, &Entry)> = Vec::new();
    for e in &zip.entries {
        let name = String::from_utf8_lossy(&e.name).to_string();
        let Some(base) = name
            .strip_prefix("META-INF/")
            .and_then(|n| n.strip_suffix(".SF"))
        else {
            continue;
        };
        if base.contains('/') {
            continue;
        }
        let block = ["RSA", "EC", "DSA"]
            .iter()
            .find_map(|ext| by_name.get(format!("META-INF/{base}.{ext}").as_bytes()))
            .ok_or_else(|| bad(format!("{base}.SF has no signature block")))?;
        signers.push((base.to_string(), e, block));
    }
    if signers.is_empty() {
        return Err(ApkError::NotSigned("no v1 signers".into()));
    }
    if signers.len() > 10 {
        return Err(bad("more than 10 signers"));
    }
    signers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut certs = Vec::new();
    let mut uses = Vec::new();
    let mut digests: Vec<HashAlg> = Vec::new();
    let mut note = |h: HashAlg| {
        if !digests.contains(&h) {
            digests.push(h);
        }
    };
    for (base, sf_e, block_e) in &signers {
        let sf = read_small(r, sf_e)?;
        let block = read_small(r, block_e)?;
        let (cert, used) = verify_pkcs7(&block, &sf)?;
        certs.push(cert);
        uses.extend(used);
        let sfm = parse_manifest(&sf)?;
        // stripping protection: the signer also signed with v2/v3
        if let Some(v) = sfm.main.get("x-android-apk-signed") {
            for id in v.split(',').map(str::trim) {
                if let Ok(n) = id.parse::<u8>() {
                    if n >= 2 && !newer_schemes_present.contains(&n) {
                        return Err(ApkError::Stripped(n));
                    }
                }
            }
        }
        // the whole manifest, else its main section and every listed section
        let whole_ok = match strongest(&sfm.main, "-digest-manifest")? {
            Some((alg, want)) => {
                note(alg);
                alg.digest(&manifest_bytes) == want
            }
            None => false,
        };
        if !whole_ok {
            if let Some((alg, want)) = strongest(&sfm.main, "-digest-manifest-main-attributes")? {
                note(alg);
                if alg.digest(&manifest_bytes[..manifest.main_raw_len]) != want {
                    return Err(bad(format!("{base}.SF: main attributes digest")));
                }
            }
            for (name, attrs, _) in &sfm.sections {
                let (alg, want) = strongest(attrs, "-digest")?
                    .ok_or_else(|| bad(format!("{base}.SF: no digest for {name}")))?;
                let section = manifest
                    .sections
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .ok_or_else(|| bad(format!("{base}.SF names {name}, the manifest does not")))?;
                note(alg);
                if alg.digest(&section.2) != want {
                    return Err(bad(format!(
                        "{base}.SF: digest of the manifest section {name}"
                    )));
                }
            }
        }
    }
    // every entry (but the signature files) is in the manifest, and matches
    let listed: HashMap<&str, &HashMap<String, String>> = manifest
        .sections
        .iter()
        .map(|(n, a, _)| (n.as_str(), a))
        .collect();
    for e in &zip.entries {
        let name = String::from_utf8_lossy(&e.name).to_string();
        if name.ends_with('/') {
            continue;
        }
        let upper = name.to_ascii_uppercase();
        if upper == "META-INF/MANIFEST.MF"
            || (upper.starts_with("META-INF/")
                && !upper["META-INF/".len()..].contains('/')
                && [".SF", ".RSA", ".EC", ".DSA"]
                    .iter()
                    .any(|x| upper.ends_with(x)))
        {
            continue;
        }
        let attrs = listed
            .get(name.as_str())
            .ok_or_else(|| bad(format!("{name} is not in the manifest")))?;
        let (alg, want) = strongest(attrs, "-digest")?
            .ok_or_else(|| bad(format!("{name}: no digest in the manifest")))?;
        note(alg);
        let mut ctx = Context::new(ring_alg(alg));
        stream_entry(r, e, &mut |b| ctx.update(b))?;
        if ctx.finish().as_ref() != want.as_slice() {
            return Err(ApkError::DigestMismatch);
        }
    }
    for (name, _, _) in &manifest.sections {
        if !by_name.contains_key(name.as_bytes()) {
            return Err(bad(format!(
                "the manifest lists {name}, the APK has no such entry"
            )));
        }
    }
    Ok(V1Signed {
        certs,
        signatures: uses,
        digests,
    })
}

#[cfg(test)]
mod tests {
    use super::b64;

    #[test]
    fn digests_decode_as_javas_base64_reads_them() {
        assert_eq!(b64("AAEC").unwrap(), vec![0, 1, 2]);
        assert_eq!(b64("AAE=").unwrap(), vec![0, 1]);
        assert_eq!(b64("AAE").unwrap(), vec![0, 1], "padding is optional");
        assert_eq!(
            b64(" AAEC\r").unwrap(),
            vec![0, 1, 2],
            "the value is trimmed"
        );
        assert!(b64("AA=E").is_err(), "nothing after padding");
        assert!(b64("AA E").is_err(), "no character outside the alphabet");
        assert!(b64("AA-_").is_err(), "not the URL alphabet");
        assert!(b64("A").is_err(), "not a whole byte");
    }
}
