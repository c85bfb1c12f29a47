//! The simulator's own PKI: a CA and a loopback server certificate, generated at start or
//! loaded from the state directory.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::Path;

/// PEM material of the simulated host.
#[derive(Clone)]
pub struct HostPki {
    /// The CA certificate terminals pin.
    pub ca_pem: String,
    /// The server certificate chain (leaf).
    pub cert_pem: String,
    /// The server's private key.
    pub key_pem: String,
}

impl std::fmt::Debug for HostPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostPki { .. }")
    }
}

/// Why the PKI could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// Reading or writing the state directory failed.
    #[error("state directory: {0}")]
    Io(#[from] std::io::Error),
}

impl HostPki {
    /// A fresh CA ("smartpos simulated acquirer CA") and a server certificate for
    /// `localhost` and `127.0.0.1`.
    pub fn generate(ca_name: &str) -> Result<Self, PkiError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let mut leaf =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "smartpos host simulator");
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
        Ok(HostPki {
            ca_pem: ca_cert.pem(),
            cert_pem: leaf_cert.pem(),
            key_pem: leaf_key.serialize_pem(),
        })
    }

    /// Loads from `dir` (`ca.pem`, `server.pem`, `server.key`), or generates and saves them.
    pub fn load_or_generate(dir: &Path) -> Result<Self, PkiError> {
        let (ca, cert, key) = (
            dir.join("ca.pem"),
            dir.join("server.pem"),
            dir.join("server.key"),
        );
        if ca.exists() && cert.exists() && key.exists() {
            return Ok(HostPki {
                ca_pem: std::fs::read_to_string(ca)?,
                cert_pem: std::fs::read_to_string(cert)?,
                key_pem: std::fs::read_to_string(key)?,
            });
        }
        std::fs::create_dir_all(dir)?;
        let pki = HostPki::generate("smartpos simulated acquirer CA")?;
        std::fs::write(ca, &pki.ca_pem)?;
        std::fs::write(cert, &pki.cert_pem)?;
        std::fs::write(key, &pki.key_pem)?;
        Ok(pki)
    }
}
