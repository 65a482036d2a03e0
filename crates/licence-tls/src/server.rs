//! The serving side: rustls's configuration from PEM files, and the development CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::TlsError;

/// The configuration to serve HTTPS with: the certificate chain and its key (PEM files),
/// TLS 1.2 and 1.3, and HTTP/2 or HTTP/1.1 as the client offers by ALPN.
pub fn server_config(cert_chain: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let shown = |p: &Path| p.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_chain)
        .map_err(|e| TlsError::Read(shown(cert_chain), e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(shown(cert_chain), "certificate"))?;
    if chain.is_empty() {
        return Err(TlsError::Pem(shown(cert_chain), "certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| TlsError::Pem(shown(key), "key"))?;
    // ring, whose default provider rustls 0.23.48 deprecates for lacking post-quantum key
    // exchange: aws-lc-rs would add cmake-era build steps and a larger binary on every
    // machine and phone. Revisit when ring or rustls offers X25519MLKEM768 on ring.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The configuration to call a TLS server with directly over rustls (the platform's
/// connections to PostgreSQL): TLS 1.2 and 1.3, the server's certificate verified against the
/// CA certificates in the PEM file `ca`, and those only.
pub fn client_config(ca: &Path) -> Result<rustls::ClientConfig, TlsError> {
    let shown = ca.display().to_string();
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca)
        .map_err(|e| TlsError::Read(shown.clone(), e.to_string()))?
    {
        let certificate = certificate.map_err(|_| TlsError::Pem(shown.clone(), "certificate"))?;
        roots
            .add(certificate)
            .map_err(|e| TlsError::Config(format!("{shown}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Pem(shown, "certificate"));
    }
    // ring, as for serving (see `server_config`).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The development PKI in a folder: a CA (`ca.pem`) that clients are told to trust, and a
/// certificate for `localhost`, `127.0.0.1` and `::1` signed by it (`server.pem`,
/// `server.key`). Made once and reused; the CA's own key is not kept, so nothing here can sign
/// a certificate for any other name. For development and tests only: never committed
/// (`.gitignore` has `*.pem` and `*.key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl DevPki {
    /// The PKI in `dir`, made first if it is not all there.
    pub fn ensure(dir: &Path) -> Result<DevPki, TlsError> {
        let pki = DevPki {
            ca_cert: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        if pki.ca_cert.exists() && pki.cert.exists() && pki.key.exists() {
            return Ok(pki);
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| TlsError::Write(dir.display().to_string(), e.to_string()))?;
        let (ca_pem, cert_pem, key_pem) = make().map_err(|e| TlsError::Config(e.to_string()))?;
        // The CA last: its presence says the set is complete.
        write(&pki.key, key_pem.as_bytes(), true)?;
        write(&pki.cert, cert_pem.as_bytes(), false)?;
        write(&pki.ca_cert, ca_pem.as_bytes(), false)?;
        Ok(pki)
    }
}

/// A CA and a loopback certificate it signs: (CA PEM, certificate PEM, key PEM).
fn make() -> Result<(String, String, String), rcgen::Error> {
    let now = time::OffsetDateTime::now_utc();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name.push(
        DnType::CommonName,
        "电子驾驶证 development CA (this machine only)",
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(3650);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(825);
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|e| TlsError::Write(path.display().to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_trusts_the_named_ca_file_and_says_what_is_wrong_with_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::ensure(dir.path()).unwrap();
        assert!(client_config(&pki.ca_cert).is_ok());
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        assert_eq!(client_config(&junk).unwrap_err().code(), "bad_pem");
        let missing = dir.path().join("missing.pem");
        let e = client_config(&missing).unwrap_err();
        assert_eq!(e.code(), "unreadable");
        assert!(e.to_string().contains("missing.pem"), "{e}");
    }

    #[test]
    fn the_development_pki_is_made_once_and_serves() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::ensure(dir.path()).unwrap();
        let first = std::fs::read(&pki.cert).unwrap();
        assert_eq!(DevPki::ensure(dir.path()).unwrap(), pki);
        assert_eq!(
            std::fs::read(&pki.cert).unwrap(),
            first,
            "reused, not made again"
        );
        let config = server_config(&pki.cert, &pki.key).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&pki.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is the owner's alone");
        }
        // A certificate file that is not PEM, and a missing key, are refused by name.
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        assert!(matches!(
            server_config(&junk, &pki.key),
            Err(TlsError::Pem(_, "certificate"))
        ));
        assert!(matches!(
            server_config(&pki.cert, &dir.path().join("none.key")),
            Err(TlsError::Pem(_, "key"))
        ));
    }
}
