//! `licence keys mdoc-root` and `licence keys mdoc-signer`: the certificates of the e-licence
//! as an ISO/IEC 18013-5 mDL (Annex B). The root (IACA) is made once and its key kept off
//! line; each document signer is made under it for a year at most and goes, with the root's
//! certificate, into the platform's `--mdoc-dir` (the file names the platform reads).

use std::path::Path;

use anyhow::{bail, Context};
use licence_mdoc::certificate::folder::{IACA_CERT, IACA_KEY, SIGNER_CERT, SIGNER_KEY};
use licence_mdoc::certificate::{
    key_from_pem, key_to_pem, make_document_signer, make_iaca_root, CertificateSubject,
    MAX_SIGNER_DAYS,
};
use licence_mdoc::IacaRoot;
use p256::ecdsa::SigningKey;
use rand_core::RngCore;
use time::{Duration, OffsetDateTime};

fn serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut serial);
    serial
}

/// A new IACA root in `out` (a new folder): its key, readable by you only, and its
/// certificate, for verifiers and for the platform's folder.
pub fn new_root(
    country: &str,
    name: &str,
    url: &str,
    years: i64,
    out: &Path,
) -> anyhow::Result<()> {
    if !(1..=20).contains(&years) {
        bail!("--years is 1 to 20 (Annex B: a root is valid for 20 years at most)");
    }
    std::fs::create_dir(out).with_context(|| {
        format!(
            "creating {} (a new folder: nothing is overwritten)",
            out.display()
        )
    })?;
    let key = SigningKey::random(&mut rand_core::OsRng);
    let now = OffsetDateTime::now_utc();
    let subject = CertificateSubject {
        country: country.into(),
        common_name: name.into(),
        issuer_url: url.into(),
    };
    let root = make_iaca_root(
        &key,
        &subject,
        now,
        now + Duration::days(years * 365),
        serial(),
    )?;
    crate::keys::write_private(&out.join(IACA_KEY), key_to_pem(&key).as_bytes())?;
    std::fs::write(out.join(IACA_CERT), root.pem())?;
    println!(
        "IACA root {name} ({country}) in {}: {IACA_KEY} is secret (keep it off line), {IACA_CERT} is what verifiers are given",
        out.display()
    );
    Ok(())
}

/// A new document signer under the root in `root_dir`, written into `out` (the platform's
/// folder) with a copy of the root's certificate. Replaces an earlier signer there.
pub fn new_signer(
    root_dir: &Path,
    name: &str,
    url: &str,
    days: i64,
    out: &Path,
) -> anyhow::Result<()> {
    if !(1..=MAX_SIGNER_DAYS).contains(&days) {
        bail!("--days is 1 to {MAX_SIGNER_DAYS} (Annex B)");
    }
    let root_pem = std::fs::read_to_string(root_dir.join(IACA_CERT))
        .with_context(|| format!("reading {}", root_dir.join(IACA_CERT).display()))?;
    let root = IacaRoot::from_pem(&root_pem)?;
    let root_key_path = root_dir.join(IACA_KEY);
    let root_key = key_from_pem(
        &std::fs::read_to_string(&root_key_path)
            .with_context(|| format!("reading {}", root_key_path.display()))?,
    )
    .with_context(|| {
        format!(
            "{} is not a P-256 key (PKCS#8 PEM)",
            root_key_path.display()
        )
    })?;
    let now = OffsetDateTime::now_utc();
    let subject = CertificateSubject {
        country: root.country().unwrap_or_default(),
        common_name: name.into(),
        issuer_url: url.into(),
    };
    let signer = make_document_signer(
        &root,
        &root_key,
        &SigningKey::random(&mut rand_core::OsRng),
        &subject,
        now,
        now + Duration::days(days),
        serial(),
    )?;
    std::fs::create_dir_all(out)?;
    let key_path = out.join(SIGNER_KEY);
    if key_path.exists() {
        std::fs::remove_file(&key_path)?;
    }
    crate::keys::write_private(&key_path, key_to_pem(signer.signing_key()).as_bytes())?;
    std::fs::write(out.join(SIGNER_CERT), signer.certificate_pem())?;
    if root_dir != out {
        std::fs::write(out.join(IACA_CERT), root_pem)?;
    }
    println!(
        "document signer {name} for {days} days in {} ({SIGNER_KEY} is secret)",
        out.display()
    );
    Ok(())
}
