//! TLS at the platform's edges (issue 15): every connection is HTTPS, but for plain HTTP to a
//! loopback address (development and the test suites on one machine); and the trust anchors a
//! build names ([`built_in_trust_root`], the platform's CA).
//!
//! - `server` (feature): the rustls configuration the platform and the sandbox serve with
//!   (TLS 1.2 and 1.3, HTTP/2 or HTTP/1.1 by ALPN), read from PEM files, and the development
//!   CA [`DevPki`]: a CA and a certificate for the loopback names, made at first run and
//!   never committed.
//! - `client` (feature): [`https_client`], a reqwest client over rustls that trusts the
//!   configured CA and nothing else, refuses `http://` but to loopback, and never follows a
//!   redirect from HTTPS to HTTP; [`platform_ca`] is the CA the build names.
//!
//! ring is rustls's cryptography here: it builds with a C compiler alone, where aws-lc-rs
//! would want cmake and a longer build on every fresh machine.

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod server;

#[cfg(feature = "client")]
pub use client::{checked_url, configured_ca, https_client, platform_ca, CA_CERT_ENV};
#[cfg(feature = "server")]
pub use rustls::ServerConfig;
#[cfg(feature = "server")]
pub use server::{client_config, server_config, DevPki};

/// The e-licence trust root's public key as this build was made with it
/// (`LICENCE_TRUST_ROOT` at build time: the text `licence keys root` writes); `None` when the
/// build named none, and the root must be given at run time.
pub fn built_in_trust_root() -> Option<&'static str> {
    let text = include_str!(concat!(env!("OUT_DIR"), "/trust-root.txt"));
    (!text.trim().is_empty()).then_some(text)
}

/// Writes `bytes` (a private key) to a new file at `path` that only its owner may read or
/// write (0600 on Unix), and flushes it to disk. Never replaces an existing file: a key
/// written over by mistake is lost for good.
pub fn create_secret_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What went wrong setting TLS up; each with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("{0} is not a usable address: {1}")]
    BadUrl(String, &'static str),
    #[error("plain http:// only to a loopback address (127.0.0.1, ::1, localhost); use https:// for {0}")]
    PlainHttp(String),
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{0} holds no usable PEM {1}")]
    Pem(String, &'static str),
    #[error("the TLS configuration is refused: {0}")]
    Config(String),
    #[error("cannot write {0}: {1}")]
    Write(String, String),
}

impl TlsError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TlsError::BadUrl(..) => "bad_url",
            TlsError::PlainHttp(_) => "plain_http_refused",
            TlsError::Read(..) => "unreadable",
            TlsError::Pem(..) => "bad_pem",
            TlsError::Config(_) => "bad_tls_config",
            TlsError::Write(..) => "unwritable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_the_owners_alone_and_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signer.key");
        create_secret_file(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = create_secret_file(&path, b"second").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
    }
}
