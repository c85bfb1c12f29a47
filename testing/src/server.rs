//! The host simulator's HTTPS server: axum on tokio-rustls (ring), loopback only by default.

use crate::acquirer::{Acquirer, HostState};
use crate::faults::Fault;
use crate::pki::{HostPki, PkiError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use smartpos_core::iso8583::{Frame, CUP_FIELDS};
use smartpos_core::profile::AcquirerProfile;
use smartpos_core::time::LocalTime;
use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (port 0 = ephemeral).
    pub bind: SocketAddr,
    /// Where to keep the PKI and the ledger across restarts.
    pub state_dir: Option<PathBuf>,
    /// Append every frame as a JSON line here.
    pub frames: Option<PathBuf>,
    /// Acquirer profile.
    pub profile: AcquirerProfile,
    /// Faults for successive financial requests.
    pub faults: Vec<Fault>,
}

impl SimConfig {
    /// Loopback, ephemeral port, no state, default profile.
    pub fn ephemeral() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: None,
            frames: None,
            profile: AcquirerProfile::cup_default(),
            faults: Vec::new(),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Socket or files.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// TLS configuration.
    #[error("TLS: {0}")]
    Tls(String),
    /// Saved state unreadable.
    #[error("saved state {0} is unreadable: {1}")]
    State(PathBuf, String),
}

/// A running simulator.
pub struct RunningHost {
    /// Bound address.
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT/`.
    pub url: String,
    /// The CA terminals must pin.
    pub ca_pem: String,
    /// The acquirer (ledger inspection in tests).
    pub acquirer: Arc<Mutex<Acquirer>>,
    /// The QR gateway (order inspection in tests).
    pub qr: Arc<Mutex<crate::qr_gateway::QrGateway>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningHost {
    /// Stops accepting and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[derive(Clone)]
struct AppState {
    acquirer: Arc<Mutex<Acquirer>>,
    qr: Arc<Mutex<crate::qr_gateway::QrGateway>>,
    frames: Option<Arc<Mutex<std::fs::File>>>,
    ledger_log: Option<LedgerLog>,
    qr_path: Option<PathBuf>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
}

fn is_financial(request: &[u8]) -> bool {
    // MTI sits after length (2), TPDU (5) and header (6); 08xx is network management.
    request.get(13).is_some_and(|b| *b != 0x08)
}

fn apply_fault(fault: &Fault, resp: Vec<u8>) -> Vec<u8> {
    match fault {
        Fault::TamperMac => {
            let mut r = resp;
            if let Some(last) = r.last_mut() {
                *last ^= 0x01;
            }
            r
        }
        Fault::WrongTrace => match Frame::decode(&resp, &CUP_FIELDS) {
            Ok(mut f) => {
                let trace: u32 = f
                    .message
                    .get_str(11)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                f.message.set(11, format!("{:06}", (trace + 1) % 1_000_000));
                f.encode(&CUP_FIELDS).unwrap_or(resp)
            }
            Err(_) => resp,
        },
        Fault::Garbage => b"\x00\x05garbage".to_vec(),
        _ => resp,
    }
}

fn now_local() -> LocalTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    LocalTime::from_unix(secs, 8 * 3600)
}

fn log_frame(state: &AppState, dir: &str, bytes: &[u8]) {
    if let Some(f) = &state.frames {
        let line = serde_json::json!({"dir": dir, "hex": hex::encode_upper(bytes)}).to_string();
        let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(f, "{line}");
    }
}

async fn pos_endpoint(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Vec<u8>, (StatusCode, String)> {
    log_frame(&state, "req", &body);
    let fault = if is_financial(&body) {
        state
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .unwrap_or(Fault::None)
    } else {
        Fault::None
    };
    match &fault {
        Fault::NeverAnswer => std::future::pending::<()>().await,
        Fault::DropBeforeCommit => return Err((StatusCode::SERVICE_UNAVAILABLE, "dropped".into())),
        Fault::Late(d) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let (answer, committed) = {
        let mut acq = state.acquirer.lock().unwrap_or_else(|p| p.into_inner());
        let answer = acq.handle(&body, now_local());
        // Queued under the lock, so the log has the changes in the order they were made.
        let committed = match (&state.ledger_log, acq.take_change()) {
            (Some(log), Some(change)) => Some(log.append(&change)),
            _ => None,
        };
        (answer, committed)
    };
    // The answer leaves only once its change is on disk (one fsync per batch of requests).
    if let Some(done) = committed {
        match done.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "could not write the ledger log");
                return Err((StatusCode::SERVICE_UNAVAILABLE, "ledger not written".into()));
            }
            Err(_) => {
                return Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ledger writer stopped".into(),
                ))
            }
        }
    }
    match answer {
        Ok(_) if fault == Fault::DropAfterCommit => {
            Err((StatusCode::SERVICE_UNAVAILABLE, "dropped".into()))
        }
        Ok(resp) => {
            let resp = apply_fault(&fault, resp);
            log_frame(&state, "resp", &resp);
            Ok(resp)
        }
        Err(e) => Err((StatusCode::BAD_REQUEST, e.to_string())),
    }
}

/// Writes `state` as JSON: a temporary file, fsynced, renamed over `path`, the directory fsynced.
fn save_state(path: &PathBuf, state: &impl serde::Serialize) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The host's state as a simulator with `--state dir` left it: the snapshot with the ledger log
/// replayed over it (what `smartpos settlement-file` reads).
pub fn read_host_state(dir: &std::path::Path) -> Result<HostState, String> {
    let snapshot = dir.join("host-state.json");
    let text = std::fs::read_to_string(&snapshot)
        .map_err(|e| format!("cannot read {}: {e}", snapshot.display()))?;
    let mut state: HostState = serde_json::from_str(&text)
        .map_err(|e| format!("{} is invalid: {e}", snapshot.display()))?;
    let log = dir.join("host-ledger.log");
    if let Ok(bytes) = std::fs::read(&log) {
        let lines: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for (n, line) in lines.iter().enumerate() {
            match serde_json::from_slice::<crate::acquirer::changes::Change>(line) {
                Ok(c) => c.apply(&mut state),
                Err(_) if n + 1 == lines.len() => break,
                Err(e) => return Err(format!("{} line {}: {e}", log.display(), n + 1)),
            }
        }
    }
    Ok(state)
}

/// Reads state saved by [`save_state`]; `None` when there is no state directory or no file yet.
fn load_state<T: serde::de::DeserializeOwned>(
    path: Option<&PathBuf>,
) -> Result<Option<T>, SimError> {
    match path {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p)?;
            let state = serde_json::from_str(&text)
                .map_err(|e| SimError::State(p.clone(), e.to_string()))?;
            Ok(Some(state))
        }
        _ => Ok(None),
    }
}

/// Unix time in ms: the gateway's clock.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `POST /qr/v1/{pay|precreate|query|cancel|refund}` with a JSON [`GatewayCall`] body.
async fn qr_endpoint(
    State(state): State<AppState>,
    axum::extract::Path(call): axum::extract::Path<String>,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use smartpos_core::qr::gateway::GatewayCall;
    let bad = |why: String| (axum::http::StatusCode::BAD_REQUEST, why).into_response();
    let parsed: GatewayCall = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad(format!("not a gateway call: {e}")),
    };
    if parsed.path() != call {
        return bad(format!(
            "body is a {} call, path says {call}",
            parsed.path()
        ));
    }
    let (reply, snapshot) = {
        let mut g = state.qr.lock().unwrap_or_else(|p| p.into_inner());
        let reply = g.handle(&parsed, unix_ms());
        (reply, state.qr_path.as_ref().map(|_| g.snapshot()))
    };
    if let (Some(path), Some(snap)) = (&state.qr_path, snapshot) {
        if let Err(e) = save_state(path, &snap) {
            tracing::error!(error = %e, "could not save the QR gateway's orders");
        }
    }
    match reply {
        crate::qr_gateway::SimReply::Reply(r) => axum::Json(r).into_response(),
        crate::qr_gateway::SimReply::NoAnswer => {
            // Hold the call until the client gives up.
            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
            (axum::http::StatusCode::GATEWAY_TIMEOUT, "no answer").into_response()
        }
    }
}

/// Starts the simulator and returns once it is listening.
pub async fn start(config: SimConfig) -> Result<RunningHost, SimError> {
    let pki = match &config.state_dir {
        Some(dir) => HostPki::load_or_generate(dir)?,
        None => HostPki::generate("smartpos simulated acquirer CA")?,
    };
    let ledger_path = config.state_dir.as_ref().map(|d| d.join("host-state.json"));
    // The snapshot with the ledger log replayed over it, read once.
    let mut acquirer = match (&config.state_dir, &ledger_path) {
        (Some(dir), Some(snapshot)) if snapshot.exists() => Acquirer::with_state(
            config.profile.clone(),
            read_host_state(dir).map_err(|e| SimError::State(snapshot.clone(), e))?,
        ),
        _ => Acquirer::new(config.profile.clone()),
    };
    let ledger_log = match (&config.state_dir, &ledger_path) {
        (Some(dir), Some(snapshot)) => Some(LedgerLog::open(dir, snapshot, &mut acquirer)?),
        _ => None,
    };
    let acquirer = Arc::new(Mutex::new(acquirer));
    let frames = match &config.frames {
        Some(p) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        ))),
        None => None,
    };
    let qr_path = config.state_dir.as_ref().map(|d| d.join("qr-gateway.json"));
    let gateway = match load_state(qr_path.as_ref())? {
        Some(snap) => crate::qr_gateway::QrGateway::from_snapshot(snap),
        None => crate::qr_gateway::QrGateway::new(),
    };
    let qr = Arc::new(Mutex::new(gateway));
    let state = AppState {
        acquirer: acquirer.clone(),
        qr: qr.clone(),
        frames,
        ledger_log,
        qr_path,
        faults: Arc::new(Mutex::new(config.faults.clone().into())),
    };
    let app = Router::new()
        .route("/", post(pos_endpoint))
        .route("/pos", post(pos_endpoint))
        .route("/qr/v1/{call}", post(qr_endpoint))
        .route("/settlement", get(settlement_endpoint))
        .with_state(state);
    let (addr, stop, task) = serve_tls(config.bind, &pki, app).await?;
    Ok(RunningHost {
        addr,
        url: format!("https://127.0.0.1:{}/", addr.port()),
        ca_pem: pki.ca_pem,
        acquirer,
        qr,
        stop,
        task,
    })
}

/// The day's settlement file as JSON (what `smartpos settlement-file` writes from the state
/// directory): every financial message per terminal with its final status. Simulator only.
async fn settlement_endpoint(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    let lines = state
        .acquirer
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .state()
        .settlement_lines(None);
    axum::Json(serde_json::to_value(lines).unwrap_or_default())
}

/// Serves `app` over TLS with the simulator's certificate until stopped.
async fn serve_tls(
    bind: SocketAddr,
    pki: &HostPki,
    app: Router,
) -> Result<(SocketAddr, watch::Sender<bool>, tokio::task::JoinHandle<()>), SimError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(pki.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SimError::Tls(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(pki.key_pem.as_bytes())
        .map_err(|e| SimError::Tls(format!("private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| SimError::Tls(e.to_string()))?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stopped.changed() => break,
            };
            let Ok((tcp, _peer)) = accepted else { continue };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| app.clone().oneshot(req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok((addr, stop, task))
}

/// A bare TLS + HTTP echo on the simulator's stack (the same TLS, HTTP server and runtime): the
/// ceiling a host behind this front could reach, for `smartpos load` to measure beside the host.
pub struct RunningEcho {
    /// `https://127.0.0.1:PORT/`.
    pub url: String,
    /// The CA to pin.
    pub ca_pem: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEcho {
    /// Stops it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the echo on an ephemeral loopback port: every POST answers its own body.
pub async fn start_echo() -> Result<RunningEcho, SimError> {
    let pki = HostPki::generate("smartpos echo CA")?;
    let app = Router::new().route("/", post(|body: Bytes| async move { body.to_vec() }));
    let (addr, stop, task) = serve_tls(SocketAddr::from(([127, 0, 0, 1], 0)), &pki, app).await?;
    Ok(RunningEcho {
        url: format!("https://127.0.0.1:{}/", addr.port()),
        ca_pem: pki.ca_pem,
        stop,
        task,
    })
}

/// The simulator's durable ledger: the last snapshot (`host-state.json`) and an append-only log
/// of each request's changes (`host-ledger.log`, one JSON line each), written by one thread that
/// takes every change queued while it wrote the last batch, writes them, and fsyncs once: group
/// commit. An answer leaves only after its change was fsynced. At start the log is replayed
/// over the snapshot, a new snapshot is written and the log emptied.
#[derive(Clone)]
struct LedgerLog {
    queue: std::sync::mpsc::Sender<(Vec<u8>, tokio::sync::oneshot::Sender<std::io::Result<()>>)>,
}

/// Changes written per fsync at most.
const GROUP_MAX: usize = 4096;

impl LedgerLog {
    /// Compacts (`acquirer` holds the snapshot with the log already replayed: the state so far
    /// becomes the snapshot) and starts the writer.
    /// Compacts (`acquirer` holds the snapshot with the log already replayed; that state
    /// becomes the snapshot and the log starts empty) and starts the writer.
    fn open(
        dir: &std::path::Path,
        snapshot: &PathBuf,
        acquirer: &mut Acquirer,
    ) -> Result<LedgerLog, SimError> {
        let path = dir.join("host-ledger.log");
        let logged = std::fs::metadata(&path)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        if logged && !snapshot.exists() {
            return Err(SimError::State(
                snapshot.clone(),
                "missing, but the ledger log is not empty: restore the snapshot or remove both"
                    .into(),
            ));
        }
        // Compact: the state so far becomes the snapshot, and the log starts empty.
        save_state(snapshot, acquirer.state())?;
        let _ = acquirer.take_change();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        file.sync_all()?;
        let (queue, rx) = std::sync::mpsc::channel::<(
            Vec<u8>,
            tokio::sync::oneshot::Sender<std::io::Result<()>>,
        )>();
        std::thread::Builder::new()
            .name("host-ledger-log".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    while group.len() < GROUP_MAX {
                        match rx.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    let mut bytes = Vec::new();
                    for (line, _) in &group {
                        bytes.extend_from_slice(line);
                    }
                    let result = file.write_all(&bytes).and_then(|_| file.sync_data());
                    for (_, done) in group {
                        let _ = done.send(match &result {
                            Ok(()) => Ok(()),
                            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                        });
                    }
                }
            })?;
        Ok(LedgerLog { queue })
    }

    /// Queues `change`; the receiver says when it is on disk.
    fn append(
        &self,
        change: &crate::acquirer::changes::Change,
    ) -> tokio::sync::oneshot::Receiver<std::io::Result<()>> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let mut line = serde_json::to_vec(change).unwrap_or_default();
        line.push(b'\n');
        if let Err(std::sync::mpsc::SendError((_, done))) = self.queue.send((line, done)) {
            let _ = done.send(Err(std::io::Error::other("the ledger writer stopped")));
        }
        wait
    }
}
