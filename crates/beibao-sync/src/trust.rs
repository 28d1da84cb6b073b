//! How a tablet trusts its server over https: the bureau's CA given at enrollment, and the
//! server certificate's SHA-256 fingerprint pinned from the enrollment code. No built-in roots:
//! a certificate the bureau did not issue, or another than the pinned one, is refused — a
//! captive portal or a man in the middle with a certificate from any public CA gets nowhere.
//! Plain `http://` stays for loopback and the demo.

use std::sync::Arc;

use beibao_core::canonical::sha256_hex;
use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde::{Deserialize, Serialize};

/// What a tablet trusts its server by (kept with the enrollment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// The bureau's CA certificate(s), PEM: the server's chain must lead to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// SHA-256 of the server certificate (DER), lower-case hex: the server must present exactly it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_sha256: Option<String>,
}

impl Trust {
    /// Nothing to trust an https server by.
    pub fn is_empty(&self) -> bool {
        self.ca_pem.is_none() && self.pin_sha256.is_none()
    }

    /// The TLS configuration that trusts exactly this, or why it cannot be made.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        if self.is_empty() {
            return Err("an https server needs the bureau's CA or the certificate pinned at enrollment".into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = match &self.ca_pem {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let cert = cert.map_err(|e| format!("the bureau's CA: {e}"))?;
                    roots.add(cert).map_err(|e| format!("the bureau's CA: {e}"))?;
                }
                if roots.is_empty() {
                    return Err("the bureau's CA holds no certificate".into());
                }
                let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("the bureau's CA: {e}"))?;
                Some(verifier)
            }
            None => None,
        };
        let pin = match &self.pin_sha256 {
            Some(p) => Some(normalize_pin(p).ok_or_else(|| format!("`{p}` is not a SHA-256 fingerprint"))?),
            None => None,
        };
        let verifier = Pinned { chain, pin, provider: Arc::clone(&provider) };
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    }
}

/// A TLS configuration that trusts no server (the plain-http client's, should anything redirect
/// it to https).
pub fn trusting_nothing() -> Result<rustls::ClientConfig, String> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

/// A fingerprint as 64 lower-case hex digits (colons and case as people copy them are fine).
pub fn normalize_pin(pin: &str) -> Option<String> {
    let hex: String = pin.chars().filter(|c| *c != ':' && !c.is_whitespace()).map(|c| c.to_ascii_lowercase()).collect();
    let hex = hex.strip_prefix("sha256/").map(str::to_owned).unwrap_or(hex);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// The fingerprint of a certificate (DER): what a tablet pins.
pub fn fingerprint(cert_der: &[u8]) -> String {
    sha256_hex(cert_der)
}

/// Prefix of the message of a certificate refused by [`Pinned`] (the client tells it apart).
pub const PIN_MISMATCH: &str = "the server's certificate is not the one pinned at enrollment";

/// Checks the pin (when set) and the chain to the bureau's CA (when set); the handshake's
/// signatures are verified either way.
#[derive(Debug)]
struct Pinned {
    chain: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<String>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(pin) = &self.pin
            && fingerprint(end_entity.as_ref()) != *pin
        {
            return Err(rustls::Error::General(PIN_MISMATCH.into()));
        }
        match &self.chain {
            Some(chain) => chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            // Pinned only: the fingerprint is the trust (as SSH's known hosts).
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_read_as_people_copy_it() {
        let hex = "ab".repeat(32);
        let colons =
            hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(":");
        assert_eq!(normalize_pin(&colons.to_uppercase()).as_deref(), Some(hex.as_str()));
        assert_eq!(normalize_pin(&format!("sha256/{hex}")).as_deref(), Some(hex.as_str()));
        assert_eq!(normalize_pin("abcd"), None);
        assert!(Trust::default().client_config().is_err(), "nothing to trust by");
        assert!(Trust { ca_pem: Some("not pem".into()), pin_sha256: None }.client_config().is_err());
    }
}
