//! The e-licence as an ISO/IEC 18013-5 mDL beside our own credential (licence-mdoc): the
//! document signer whose key signs each MSO, and the IACA root a verifier abroad is given
//! (`GET /api/v1/mdoc/iaca`).
//!
//! Both live in one folder (`--mdoc-dir`, default `<db>.mdoc`), as `licence keys mdoc` writes
//! it: `iaca.pem`, `document-signer.key` (PKCS#8) and `document-signer.pem`, and, only where
//! the root is kept on line (development), `iaca.key`. A development platform makes the folder
//! on first start; with the root's key at hand it also renews a signer certificate that has
//! less than [`RENEW_DAYS`] left. Without the root's key an expiring signer is the operator's
//! to replace: the platform says so at start and issues no mDL once it has expired.

use std::path::Path;

use anyhow::{bail, Context, Result};
use licence_mdoc::certificate::{
    key_from_pem, key_to_pem, make_document_signer, make_iaca_root, CertificateSubject,
};
use licence_mdoc::{DocumentSigner, IacaRoot};
use p256::ecdsa::SigningKey;
use rand::RngCore;
use time::{Duration, OffsetDateTime};

use licence_mdoc::certificate::folder::{IACA_CERT, IACA_KEY, SIGNER_CERT, SIGNER_KEY};

/// A signer certificate is renewed when fewer days than this are left.
pub const RENEW_DAYS: i64 = 30;
/// A new signer certificate's validity (Annex B allows up to 457 days).
pub const SIGNER_DAYS: i64 = 365;
/// A new root's validity.
pub const IACA_YEARS: i64 = 10;

/// What the platform signs mDLs with.
pub struct MdocSigner {
    pub signer: DocumentSigner,
    pub root: IacaRoot,
}

fn subject(name: &str) -> CertificateSubject {
    CertificateSubject {
        country: "CN".into(),
        common_name: name.into(),
        issuer_url: "https://gab.122.gov.cn".into(),
    }
}

fn serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    serial
}

/// Makes a root in `dir` (its key and certificate), for development or `licence keys mdoc`.
pub fn make_root(dir: &Path, name: &str) -> Result<IacaRoot> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let now = OffsetDateTime::now_utc();
    let root = make_iaca_root(
        &key,
        &subject(name),
        now - Duration::days(1),
        now + Duration::days(IACA_YEARS * 365),
        serial(),
    )?;
    crate::write_secret(&dir.join(IACA_KEY), key_to_pem(&key).as_bytes())?;
    std::fs::write(dir.join(IACA_CERT), root.pem())?;
    Ok(root)
}

/// Makes a new document signer in `dir` under the root there, replacing any earlier one.
pub fn make_signer(dir: &Path, name: &str) -> Result<DocumentSigner> {
    let root = read_root(dir)?;
    let root_key = read_key(&dir.join(IACA_KEY))?;
    let now = OffsetDateTime::now_utc();
    let (_, root_until) = root.period();
    let until = (now + Duration::days(SIGNER_DAYS))
        .min(OffsetDateTime::from_unix_timestamp(root_until).context("the root's end is a date")?);
    let signer = make_document_signer(
        &root,
        &root_key,
        &SigningKey::random(&mut rand::rngs::OsRng),
        &subject(name),
        now - Duration::hours(1),
        until,
        serial(),
    )?;
    let key_path = dir.join(SIGNER_KEY);
    let _ = std::fs::remove_file(&key_path);
    crate::write_secret(&key_path, key_to_pem(signer.signing_key()).as_bytes())?;
    std::fs::write(dir.join(SIGNER_CERT), signer.certificate_pem())?;
    Ok(signer)
}

fn read_root(dir: &Path) -> Result<IacaRoot> {
    let path = dir.join(IACA_CERT);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the IACA root {}", path.display()))?;
    IacaRoot::from_pem(&text).with_context(|| format!("{} is not an IACA root", path.display()))
}

fn read_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key {}", path.display()))?;
    key_from_pem(&text)
        .with_context(|| format!("{} is not a P-256 key (PKCS#8 PEM)", path.display()))
}

fn read_signer(dir: &Path) -> Result<DocumentSigner> {
    let path = dir.join(SIGNER_CERT);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the document signer {}", path.display()))?;
    let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
        .map_err(|_| anyhow::anyhow!("{} is not PEM", path.display()))?;
    if label != "CERTIFICATE" {
        bail!("{} is not a certificate", path.display());
    }
    Ok(DocumentSigner::new(read_key(&dir.join(SIGNER_KEY))?, der)?)
}

/// Loads the folder, making what a development platform may make; returns the signer and
/// what was done, for the start-up log.
pub fn load_or_create(dir: &Path) -> Result<(MdocSigner, Vec<String>)> {
    let mut done = Vec::new();
    if !dir.exists() {
        // Made aside and moved into place in one step: instances started together on one
        // folder end up with the same root (whoever moves first), not with two.
        let aside = dir.with_extension(format!("making-{}", std::process::id()));
        std::fs::create_dir_all(&aside)?;
        make_root(
            &aside,
            "开发环境 IACA（Development root, this machine only）",
        )?;
        make_signer(&aside, "开发环境 mDL 签名（Development document signer）")?;
        match std::fs::rename(&aside, dir) {
            Ok(()) => done.push(format!(
                "created a development IACA root and document signer: {}",
                dir.display()
            )),
            Err(_) if dir.exists() => std::fs::remove_dir_all(&aside)?,
            Err(e) => {
                return Err(e).with_context(|| format!("moving {} into place", dir.display()))
            }
        }
    }
    let root = read_root(dir)?;
    let can_renew = dir.join(IACA_KEY).exists();
    let now = OffsetDateTime::now_utc();
    let signer = match read_signer(dir) {
        Ok(signer) if signer.period().1 - now.unix_timestamp() >= RENEW_DAYS * 86_400 => signer,
        Ok(signer) if !can_renew => {
            done.push(format!(
                "the document signer {} ends in under {RENEW_DAYS} days: make a new one (licence keys mdoc --renew)",
                dir.join(SIGNER_CERT).display()
            ));
            signer
        }
        Err(e) if !can_renew => return Err(e),
        _ => {
            let signer = make_signer(dir, "开发环境 mDL 签名（Development document signer）")?;
            done.push(format!(
                "made a document signer certificate: {}",
                dir.join(SIGNER_CERT).display()
            ));
            signer
        }
    };
    root.check_signer(signer.certificate_der(), now)
        .with_context(|| {
            format!(
                "{} does not chain to {} now",
                dir.join(SIGNER_CERT).display(),
                dir.join(IACA_CERT).display()
            )
        })?;
    Ok((MdocSigner { signer, root }, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_development_folder_is_made_once_then_read_and_a_signer_chains_to_its_root() {
        let dir = tempfile::tempdir().unwrap();
        let mdoc = dir.path().join("platform.mdoc");
        let (first, done) = load_or_create(&mdoc).unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        let (again, done) = load_or_create(&mdoc).unwrap();
        assert!(done.is_empty(), "{done:?}");
        assert_eq!(again.root.der(), first.root.der());
        assert_eq!(
            again.signer.certificate_der(),
            first.signer.certificate_der()
        );
        // Without the root's key a missing signer cannot be made: the platform says what is
        // missing instead of making a root of its own.
        std::fs::remove_file(mdoc.join(IACA_KEY)).unwrap();
        std::fs::remove_file(mdoc.join(SIGNER_CERT)).unwrap();
        let err = load_or_create(&mdoc).err().unwrap().to_string();
        assert!(err.contains(SIGNER_CERT), "{err}");
    }
}
