//! `smartpos market keygen | sign | verify | revoke`: the app-market reviewer's tool.
//!
//! A key directory holds `root.key` / `root.pub` (the bank root; keep `root.key` offline),
//! `market.key` / `market.pub` and `market-cert.json` (the market key certified by the root).

use smartpos_apk::market::{
    certify_market_key, public_key, secret_key, sign_in_place, sign_revocations, Device, Grants,
    MarketError, MarketSigner, Revocations, RevokedApp, Signed, TrustStore,
};
use smartpos_core::handoff::RequestType;
use std::path::Path;

type Res<T> = Result<T, crate::cmd::market::MarketCmdError>;

fn read_hex(path: &Path) -> Res<String> {
    Ok(std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .trim()
        .to_string())
}

fn random_key() -> Res<ed25519_dalek::SigningKey> {
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
        .map_err(|_| "no system randomness")?;
    let k = ed25519_dalek::SigningKey::from_bytes(&seed);
    zeroize::Zeroize::zeroize(&mut seed);
    Ok(k)
}

/// Creates the root (unless `dir` has one) and a new market key certified by it. Nothing is
/// ever overwritten: every market key stays as `market-<key_id>.key` / `.pub` /
/// `-cert.json` (a key id already in `dir` is refused), and `market.key`, `market.pub` and
/// `market-cert.json` are copies of the newest one, the key `sign` uses.
pub fn keygen(dir: &Path, key_id: &str, now: i64) -> Res<String> {
    use smartpos_terminal::journal::files::create_private_once;
    if key_id.is_empty()
        || !key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(format!("key id {key_id:?}: use letters, digits, - _ .").into());
    }
    std::fs::create_dir_all(dir)?;
    let named = |ext: &str| dir.join(format!("market-{key_id}.{ext}"));
    let cert_path = dir.join(format!("market-{key_id}-cert.json"));
    if named("key").exists() || cert_path.exists() {
        return Err(format!(
            "market key {key_id} already exists in {}: choose another --key-id (keys are never overwritten)",
            dir.display()
        )
        .into());
    }
    let root_path = dir.join("root.key");
    let root = if root_path.exists() {
        secret_key(&read_hex(&root_path)?)?
    } else {
        let k = random_key()?;
        create_private_once(
            &root_path,
            format!("{}\n", hex::encode(k.to_bytes())).as_bytes(),
        )?;
        create_private_once(
            &dir.join("root.pub"),
            format!("{}\n", hex::encode(k.verifying_key().as_bytes())).as_bytes(),
        )?;
        k
    };
    let market = random_key()?;
    let secret = format!("{}\n", hex::encode(market.to_bytes()));
    let public = format!("{}\n", hex::encode(market.verifying_key().as_bytes()));
    let cert = serde_json::to_string_pretty(&certify_market_key(
        &root,
        key_id,
        &market.verifying_key(),
        now,
    ))?;
    if !create_private_once(&named("key"), secret.as_bytes())? {
        return Err(format!("market key {key_id} already exists").into());
    }
    create_private_once(&named("pub"), public.as_bytes())?;
    create_private_once(&cert_path, cert.as_bytes())?;
    // The current signing key: copies of the newest (the named files keep every key).
    use smartpos_terminal::journal::files::replace_durably;
    replace_durably(&dir.join("market.key"), secret.as_bytes())?;
    replace_durably(&dir.join("market.pub"), public.as_bytes())?;
    replace_durably(&dir.join("market-cert.json"), cert.as_bytes())?;
    Ok(hex::encode(root.verifying_key().as_bytes()))
}

/// Grants for people: `payments sale, refund; devices printer`.
pub fn grants_text(g: &Grants) -> String {
    let payments: Vec<&str> = g.payments.iter().map(|p| p.name()).collect();
    let devices: Vec<String> = g
        .devices
        .iter()
        .map(|d| {
            serde_json::to_value(d)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    format!(
        "payments {}; devices {}",
        if payments.is_empty() {
            "none".to_string()
        } else {
            payments.join(", ")
        },
        if devices.is_empty() {
            "none".to_string()
        } else {
            devices.join(", ")
        }
    )
}

/// Parses `sale,refund,...`.
pub fn parse_payments(list: &str) -> Res<Vec<RequestType>> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            RequestType::parse(s.trim()).ok_or_else(|| format!("unknown payment type {s:?}").into())
        })
        .collect()
}

/// Parses `printer,scanner,card_reader`.
pub fn parse_devices(list: &str) -> Res<Vec<Device>> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.trim().to_string()))
                .map_err(|_| format!("unknown device {s:?} (printer, scanner, card_reader)").into())
        })
        .collect()
}

/// Progress on stderr for large files: a line every 10 %.
pub fn progress_printer(label: &'static str) -> impl FnMut(u64, u64) {
    let mut last = 0u64;
    move |done, total| {
        if total < 32 * 1024 * 1024 || total == 0 {
            return;
        }
        let pct = done * 100 / total;
        if pct >= last + 10 || (pct == 100 && last != 100) {
            eprintln!("{label}: {pct}% of {} MiB", total / (1024 * 1024));
            last = pct;
        }
    }
}

/// Signs `apk` with the market key in `dir`: into `out` (which must not exist unless `force`),
/// or in place when `out` is `None`.
pub fn sign(
    apk: &Path,
    out: Option<&Path>,
    force: bool,
    dir: &Path,
    grants: Grants,
    sdk: u32,
    now: i64,
) -> Res<serde_json::Value> {
    let key = secret_key(&read_hex(&dir.join("market.key"))?)?;
    let cert: Signed =
        serde_json::from_str(&std::fs::read_to_string(dir.join("market-cert.json"))?)?;
    let signer = MarketSigner {
        key: &key,
        key_cert: &cert,
        grants,
        now,
        sdk,
    };
    let target = match out {
        Some(o) => {
            if o.exists() && !force {
                return Err(format!(
                    "{} exists: refusing to overwrite it (--force to replace it)",
                    o.display()
                )
                .into());
            }
            // Signed as a copy beside its destination, renamed over it only once complete.
            let tmp = o.with_extension("market-copy.tmp");
            std::fs::copy(apk, &tmp)?;
            tmp
        }
        None => apk.to_path_buf(),
    };
    let signed = sign_in_place(&target, &signer, &mut progress_printer("hashing"));
    let claim = match (signed, out) {
        (Ok((claim, _)), Some(o)) => {
            std::fs::rename(&target, o)?;
            claim
        }
        (Ok((claim, _)), None) => claim,
        (Err(e), Some(_)) => {
            let _ = std::fs::remove_file(&target);
            return Err(e.into());
        }
        (Err(e), None) => return Err(e.into()),
    };
    Ok(serde_json::to_value(claim)?)
}

/// Loads the trust store: the root public key (hex or a file holding it) and optionally a
/// revocation list.
pub fn trust(
    root: &str,
    revocations: Option<&Path>,
    state: Option<&Path>,
    known_serial: Option<u64>,
) -> Res<TrustStore> {
    let hex_root = if Path::new(root).exists() {
        read_hex(Path::new(root))?
    } else {
        root.to_string()
    };
    let mut store = TrustStore {
        root: public_key(&hex_root)?,
        revocations: Revocations::default(),
    };
    let doc: Option<Signed> = match revocations {
        Some(p) => Some(serde_json::from_str(&std::fs::read_to_string(p)?)?),
        None => None,
    };
    if let Some(dir) = state {
        // The terminal's state: the newest list seen wins; an older one is refused.
        let state = smartpos_terminal::trust_state::TrustState::open(dir)?;
        store.revocations = match &doc {
            Some(d) => state.adopt(&store.root, d)?,
            None => state.load(&store.root)?,
        };
    } else if let Some(d) = &doc {
        store.update_revocations(d)?;
    }
    if let Some(known) = known_serial {
        if store.revocations.serial < known {
            return Err(MarketError::StaleRevocations {
                offered: store.revocations.serial,
                known,
            }
            .into());
        }
    }
    Ok(store)
}

/// Writes a revocation list signed by the root in `dir`.
pub fn revoke(
    dir: &Path,
    serial: u64,
    apps: &[String],
    keys: &[String],
    out: &Path,
    force: bool,
) -> Res<()> {
    if out.exists() && !force {
        return Err(format!(
            "{} exists: refusing to overwrite it (--force to replace it)",
            out.display()
        )
        .into());
    }
    let root = secret_key(&read_hex(&dir.join("root.key"))?)?;
    let apps = apps
        .iter()
        .map(|a| {
            let (p, v) = a.rsplit_once(':').ok_or("--app is PACKAGE:VERSION_CODE")?;
            Ok(RevokedApp {
                package: p.to_string(),
                version_code: v.parse().map_err(|_| "version code must be a number")?,
            })
        })
        .collect::<Result<Vec<_>, crate::cmd::market::MarketCmdError>>()?;
    let list = Revocations {
        serial,
        apps,
        market_keys: keys.to_vec(),
    };
    smartpos_terminal::journal::files::replace_durably(
        out,
        serde_json::to_string_pretty(&sign_revocations(&root, &list))?.as_bytes(),
    )?;
    Ok(())
}

/// A readable refusal line.
pub fn refusal(e: &MarketError) -> String {
    format!("refused: {e}")
}
