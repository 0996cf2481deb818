//! TLS for every connection aacon opens to PostgreSQL: the store's pool,
//! its LISTEN connection, the runtime claim and the lease tables
//! ([`crate::cluster`]). One parser and one connector, so every connection
//! of a replica is verified the same way.
//!
//! The URL's `sslmode` and `sslrootcert` mean what they mean to libpq
//! (`psql`):
//!
//! | sslmode | TLS | what is verified |
//! |---|---|---|
//! | `disable` | never | nothing |
//! | `prefer` (default) | if the server offers it | nothing (as `require`) |
//! | `require` | always | nothing; the chain too when `sslrootcert` is given |
//! | `verify-ca` | always | the chain up to a trusted CA |
//! | `verify-full` | always | the chain, and that the certificate names the host |
//!
//! The trusted CAs: `sslrootcert=PATH` (PEM), `sslrootcert=system` (the
//! operating system's store), and without it `~/.postgresql/root.crt` when
//! that file exists, else the system's store. rustls (ring) is the TLS
//! stack, as for HTTP and Redis.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::paths::StoreUrl;
use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much a connection checks of the server (the URL's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(s: &str) -> Result<Mode, TlsError> {
        Ok(match s {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            // libpq's `allow` tries plain first; nothing here does.
            other => return Err(TlsError::Mode(other.to_string())),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// Why a PostgreSQL URL's TLS settings cannot be used, one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("sslmode '{0}' is not one of disable, prefer, require, verify-ca, verify-full")]
    Mode(String),
    #[error("the PostgreSQL URL is not valid: {0}")]
    Url(String),
    #[error("cannot read the CA certificates in sslrootcert {}: {reason}", path.display())]
    RootCert { path: PathBuf, reason: String },
    #[error(
        "sslmode={0} verifies the server's certificate but no trusted CA was found; give sslrootcert=PATH (or sslrootcert=system)"
    )]
    NoRoots(&'static str),
    #[error("cannot set up TLS to PostgreSQL: {0}")]
    Setup(String),
}

/// What a PostgreSQL URL asks for: the driver's settings and the TLS
/// connector every connection of it uses.
#[derive(Clone)]
pub struct PgConnect {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    pub mode: Mode,
}

/// Parse `url` (a `postgres://` URL or libpq `key=value` words), taking
/// `sslmode` and `sslrootcert` out of it (the driver knows neither
/// `verify-*` nor `sslrootcert`) and building the connector they ask for.
pub fn parse(url: &str) -> Result<PgConnect, TlsError> {
    let (rest, mode, root) = StoreUrl::split_tls(url);
    let mode = mode.as_deref().map_or(Ok(Mode::Prefer), Mode::parse)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e: tokio_postgres::Error| TlsError::Url(e.to_string()))?;
    config.ssl_mode(match mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    let tls = MakeRustlsConnect::new(client_config(mode, root.as_deref())?);
    Ok(PgConnect { config, tls, mode })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls settings for `mode` with the CAs `root` names.
fn client_config(mode: Mode, root: Option<&str>) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root) {
        (Mode::Disable, _) | (Mode::Prefer | Mode::Require, None) => {
            Arc::new(Unverified(provider.clone()))
        }
        // libpq: with a root certificate, `require` verifies the chain.
        (Mode::Prefer | Mode::Require, Some(_)) | (Mode::VerifyCa, _) => {
            Arc::new(ChainOnly(webpki(mode, root, &provider)?))
        }
        (Mode::VerifyFull, _) => webpki(mode, root, &provider)?,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The standard verifier (chain and name) over the CAs `root` names.
fn webpki(
    mode: Mode,
    root: Option<&str>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    let default = home_root_cert();
    match root.map(Path::new).or(default.as_deref()) {
        Some(p) if p != Path::new("system") => {
            let bad = |reason: String| TlsError::RootCert {
                path: p.to_path_buf(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(p)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("it holds no PEM certificate".into()));
            }
            for c in certs {
                store.add(c).map_err(|e| bad(e.to_string()))?;
            }
        }
        _ => {
            // The system's store; certificates it cannot parse are skipped,
            // as every TLS client does.
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
    }
    if store.is_empty() {
        return Err(TlsError::NoRoots(mode.as_str()));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))
}

/// `~/.postgresql/root.crt` when it exists (libpq's default).
fn home_root_cert() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os("HOME")?)
        .join(".postgresql")
        .join("root.crt");
    p.exists().then_some(p)
}

/// `prefer` / `require` without a CA: encrypted, the server not verified
/// (libpq's meaning). The handshake's signatures are still checked.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain up to a trusted CA, whatever name the
/// certificate gives.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                NotValidForName | NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A connection error in words an operator can act on: a refused
/// certificate says why, a server that wants TLS says to turn it on.
/// Never holds the URL's password (the driver's errors do not).
pub fn explain(e: &tokio_postgres::Error, mode: Mode) -> String {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        let rustls_err = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .or_else(|| s.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(c)) = rustls_err {
            return match c {
                rustls::CertificateError::UnknownIssuer => format!(
                    "the server's TLS certificate is not signed by a CA that sslrootcert names (sslmode={})",
                    mode.as_str()
                ),
                other => format!(
                    "the server's TLS certificate was refused (sslmode={}): {other}",
                    mode.as_str()
                ),
            };
        }
        source = s.source();
    }
    // The server's own words (the driver's Display says only "db error").
    let text = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    };
    if mode == Mode::Disable && text.contains("no encryption") {
        return format!("{text} (the server accepts only TLS: set sslmode=require or stronger)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_sslmode_is_one_sentence() {
        let e = parse("postgres://u:hunter2@db/aacon?sslmode=allow")
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "sslmode 'allow' is not one of disable, prefer, require, verify-ca, verify-full"
        );
    }

    #[test]
    fn a_missing_root_certificate_file_is_named() {
        let e = parse("postgres://db/aacon?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("cannot read the CA certificates in sslrootcert /nonexistent/ca.pem"),
            "{e}"
        );
    }

    #[test]
    fn every_mode_builds_a_connector() {
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let c = parse(&format!(
                "postgres://db/aacon?sslmode={mode}&sslrootcert=system"
            ));
            // The system store may be empty on a bare machine; that is
            // the one refusal allowed, and only for the verifying modes.
            match c {
                Ok(c) => assert_eq!(c.mode.as_str(), mode),
                Err(TlsError::NoRoots(m)) => {
                    assert!(m.starts_with("verify") || m == "require" || m == "prefer")
                }
                Err(e) => panic!("{mode}: {e}"),
            }
        }
    }
}
