//! Through the handoff, as a merchant app would: QR payments are voided and refunded by the
//! reference the terminal handed out, and an app acts only on its own orders.

use smartpos_cli::terminal_cmd::SAMPLE_MERCHANT_CERT_SHA256;
use smartpos_testing::server::{self, RunningHost, SimConfig};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_smartpos");
const SHOP: &str = "com.example.merchant";
const OTHER: &str = "com.example.other";
/// A customer code the simulated gateway pays at once.
const QR_PAYS: &str = "134567890123456789";

fn request(
    host: &RunningHost,
    dir: &Path,
    app: &str,
    pairs: &str,
    qr: Option<&str>,
) -> HashMap<String, String> {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nonce = format!(
        "scope{:012}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let uri = format!(
        "smartpos://pay/v1?v=1&{pairs}&nonce={nonce}&expires={expires}&callback=shop%3A%2F%2Fdone"
    );
    let ca = dir.with_extension("ca.pem");
    std::fs::write(&ca, &host.ca_pem).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["terminal", "--data-dir"])
        .arg(dir)
        .args(["--host", &host.url, "--ca"])
        .arg(&ca)
        .args(["handle-request", "--uri", &uri, "--caller-package", app])
        .args(["--caller-cert-sha256", SAMPLE_MERCHANT_CERT_SHA256]);
    if let Some(code) = qr {
        cmd.args(["--qr-code", code]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let query = text
        .split_once('?')
        .unwrap_or_else(|| {
            panic!(
                "no result link: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        // code and reference are plain letters and digits: no decoding needed
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn allow_two_apps(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let app = |pkg: &str| {
        serde_json::json!({"package": pkg, "cert_sha256": [SAMPLE_MERCHANT_CERT_SHA256],
            "permissions": ["sale", "void", "refund", "query"]})
    };
    let list = serde_json::json!({"apps": [app(SHOP), app(OTHER)]});
    std::fs::write(dir.join("allowlist.json"), list.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_void_and_refund_go_through_the_handoff_and_apps_keep_to_their_own_orders() {
    let host = server::start(SimConfig::ephemeral()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terminal");
    allow_two_apps(&dir);
    let h = &host;
    tokio::task::block_in_place(|| {
        // QR sale, then its void by the reference the result carried.
        let sale = request(
            h,
            &dir,
            SHOP,
            "type=sale&amount=1234&currency=CNY&order=Q-1&method=qr_scan",
            Some(QR_PAYS),
        );
        assert_eq!(sale["code"], "APPROVED", "{sale:?}");
        let qr_ref = sale["reference"].clone();
        assert!(
            qr_ref.len() > 12,
            "a QR reference is longer than a card one: {qr_ref}"
        );
        let void = request(
            h,
            &dir,
            SHOP,
            &format!("type=void&order=Q-1-V&orig_ref={qr_ref}"),
            None,
        );
        assert_eq!(void["code"], "APPROVED", "{void:?}");

        // Another QR sale, refunded in part.
        let sale = request(
            h,
            &dir,
            SHOP,
            "type=sale&amount=2000&currency=CNY&order=Q-2&method=qr_scan",
            Some(QR_PAYS),
        );
        assert_eq!(sale["code"], "APPROVED", "{sale:?}");
        let refund = request(
            h,
            &dir,
            SHOP,
            &format!(
                "type=refund&amount=500&currency=CNY&order=Q-2-R&orig_ref={}",
                sale["reference"]
            ),
            None,
        );
        assert_eq!(refund["code"], "APPROVED", "{refund:?}");

        // Two apps, one order id: two payments, two gateway orders, each paid once.
        let a = request(
            h,
            &dir,
            SHOP,
            "type=sale&amount=100&currency=CNY&order=SAME-1&method=qr_scan",
            Some(QR_PAYS),
        );
        let b = request(
            h,
            &dir,
            OTHER,
            "type=sale&amount=200&currency=CNY&order=SAME-1&method=qr_scan",
            Some(QR_PAYS),
        );
        assert_eq!(
            (a["code"].as_str(), b["code"].as_str()),
            ("APPROVED", "APPROVED"),
            "{a:?} {b:?}"
        );
        assert_ne!(a["reference"], b["reference"]);
        for r in [&a, &b] {
            assert_eq!(
                r["trace"].len(),
                6,
                "QR traces are 6 digits like card traces: {r:?}"
            );
        }
        assert_ne!(a["trace"], b["trace"]);

        // A card sale of the shop: the other app may not refund or void it.
        let card = request(
            h,
            &dir,
            SHOP,
            "type=sale&amount=3000&currency=CNY&order=C-1",
            None,
        );
        assert_eq!(card["code"], "APPROVED", "{card:?}");
        let theft = request(
            h,
            &dir,
            OTHER,
            &format!(
                "type=refund&amount=3000&currency=CNY&order=X-1&orig_ref={}",
                card["reference"]
            ),
            None,
        );
        assert_eq!(theft["code"], "REFUSED_PERMISSION", "{theft:?}");
        let void = request(
            h,
            &dir,
            OTHER,
            &format!("type=void&order=X-2&orig_ref={}", card["reference"]),
            None,
        );
        assert_eq!(void["code"], "REFUSED_PERMISSION", "{void:?}");
        // Its owner may.
        let own = request(
            h,
            &dir,
            SHOP,
            &format!(
                "type=refund&amount=3000&currency=CNY&order=C-1-R&orig_ref={}",
                card["reference"]
            ),
            None,
        );
        assert_eq!(own["code"], "APPROVED", "{own:?}");
    });
    let gateway_orders: Vec<u32> = host
        .qr
        .lock()
        .unwrap()
        .orders_of("898310048990001")
        .map(|o| o.pay_calls)
        .collect();
    assert_eq!(
        gateway_orders,
        vec![1; 4],
        "four QR sales, four gateway orders, one pay call each"
    );
    let ledger = host.acquirer.lock().unwrap().state().ledger.clone();
    let refunds: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == "refund" && e.in_force())
        .collect();
    assert_eq!(
        refunds.len(),
        1,
        "only the owner's card refund reached the host"
    );
    host.shutdown().await;
}
