//! HTTPS to the bank's internet front: the whole frame is the POST body, the answer is the
//! response frame. Only the CA in the terminal's configuration is trusted (no system roots).

use smartpos_core::engine::{LinkFailure, LinkFailureKind, TransportFailure};
use std::sync::Arc;
use std::time::Duration;

/// Why the host link could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The CA file holds no usable certificate.
    #[error("CA certificate is not usable: {0}")]
    BadCa(String),
    /// The URL is not an https URL.
    #[error("host URL must be https: {0}")]
    BadUrl(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The media type the CUP internet front expects.
pub const CONTENT_TYPE: &str = "x-ISO-TPDU/x-auth";

/// A link to the host with the bank's CA pinned.
#[derive(Clone, Debug)]
pub struct HostLink {
    client: reqwest::Client,
    url: String,
}

/// A rustls client config (ring provider) that trusts only the given CA certificates (PEM).
pub fn pinned_client_config(ca_pem: &[u8]) -> Result<rustls::ClientConfig, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| TransportError::BadCa(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TransportError::BadCa(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(TransportError::BadCa("no certificate in PEM".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

impl HostLink {
    /// A link to `url` trusting only `ca_pem`.
    pub fn new(url: &str, ca_pem: &[u8]) -> Result<Self, TransportError> {
        if !url.starts_with("https://") {
            return Err(TransportError::BadUrl(url.to_string()));
        }
        Ok(HostLink {
            client: pinned_client(ca_pem)?,
            url: url.to_string(),
        })
    }

    /// Sends one frame and waits at most `timeout` for the answer.
    pub async fn exchange(
        &self,
        frame: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportFailure> {
        post(&self.client, &self.url, CONTENT_TYPE, frame, timeout).await
    }
}

/// An HTTPS client that trusts only `ca_pem`.
fn pinned_client(ca_pem: &[u8]) -> Result<reqwest::Client, TransportError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(pinned_client_config(ca_pem)?)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| TransportError::Client(e.to_string()))
}

/// One POST: a failure to connect is `NotSent` (nothing left); anything later is `NoAnswer`.
async fn post(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, TransportFailure> {
    let sent = client
        .post(url)
        .header("Content-Type", content_type)
        .timeout(timeout)
        .body(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        // Connection and TLS failures happen before the request leaves.
        Err(e) if e.is_connect() => {
            return Err(TransportFailure::NotSent(LinkFailure::new(
                LinkFailureKind::Connect,
                error_chain(&e),
            )))
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                LinkFailureKind::Timeout
            } else {
                LinkFailureKind::Other
            };
            return Err(TransportFailure::NoAnswer(LinkFailure::new(
                kind,
                error_chain(&e),
            )));
        }
    };
    let status = resp.status();
    if !status.is_success() {
        return Err(TransportFailure::NoAnswer(LinkFailure::new(
            LinkFailureKind::HttpStatus(status.as_u16()),
            status.canonical_reason().unwrap_or(""),
        )));
    }
    resp.bytes().await.map(|b| b.to_vec()).map_err(|e| {
        let kind = if e.is_timeout() {
            LinkFailureKind::Timeout
        } else {
            LinkFailureKind::BadAnswer
        };
        TransportFailure::NoAnswer(LinkFailure::new(kind, error_chain(&e)))
    })
}

/// One GET of `url` over a client that trusts only `ca_pem` (a host's report or settlement
/// file); a status other than success is an error.
pub async fn fetch(url: &str, ca_pem: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    if !url.starts_with("https://") {
        return Err(format!("{url}: only https:// URLs"));
    }
    let client = pinned_client(ca_pem).map_err(|e| e.to_string())?;
    let resp = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| error_chain(&e))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// HTTPS JSON to the acquirer's QR gateway (`{base}/qr/v1/{call}`), pinned like [`HostLink`].
#[derive(Clone, Debug)]
pub struct GatewayLink {
    client: reqwest::Client,
    base: String,
}

impl GatewayLink {
    /// A link to the gateway at `base` (`https://host:port`; a trailing path is ignored, so the
    /// ISO 8583 host URL works when both run behind one front).
    ///
    /// ```
    /// let ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    /// assert!(smartpos_terminal::transport::GatewayLink::new("http://x", ca.as_bytes()).is_err());
    /// ```
    pub fn new(base: &str, ca_pem: &[u8]) -> Result<Self, TransportError> {
        let rest = base
            .strip_prefix("https://")
            .ok_or_else(|| TransportError::BadUrl(base.to_string()))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(TransportError::BadUrl(base.to_string()));
        }
        Ok(GatewayLink {
            client: pinned_client(ca_pem)?,
            base: format!("https://{authority}"),
        })
    }

    /// One call; a reply that is not the gateway's JSON counts as no answer.
    pub async fn call(
        &self,
        call: &smartpos_core::qr::gateway::GatewayCall,
        timeout: Duration,
    ) -> Result<smartpos_core::qr::gateway::GatewayReply, TransportFailure> {
        let url = format!("{}/qr/v1/{}", self.base, call.path());
        let body = serde_json::to_vec(call).map_err(|e| {
            TransportFailure::NotSent(LinkFailure::new(LinkFailureKind::Encode, e.to_string()))
        })?;
        let bytes = post(&self.client, &url, "application/json", body, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            TransportFailure::NoAnswer(LinkFailure::new(
                LinkFailureKind::BadAnswer,
                format!("not a gateway reply: {e}"),
            ))
        })
    }
}
