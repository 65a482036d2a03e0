//! `licence keys`: issuer keys and the trust lists verifiers load. A key file holds a secret
//! and is written readable by its owner only; a trust list holds only public keys.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use licence_credential::{IssuerKey, TrustList};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A new issuer key (P-256) in a key file that must not exist yet.
pub fn new_issuer(kid: &str, authority: &str, out: &Path) -> anyhow::Result<()> {
    let key = IssuerKey::generate(kid, authority, &mut rand_core::OsRng);
    // Validates kid and authority the same way a reader will.
    IssuerKey::from_key_file(&key.to_key_file())
        .map_err(|e| anyhow::anyhow!("kid or authority not usable: {e}"))?;
    write_private(out, key.to_key_file().as_bytes())?;
    println!(
        "issuer key {kid} ({authority}) written to {} (secret; keep it out of version control)",
        out.display()
    );
    Ok(())
}

fn read_key(path: &Path) -> anyhow::Result<IssuerKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    IssuerKey::from_key_file(&text)
        .map_err(|e| anyhow::anyhow!("{} is not an issuer key file: {e}", path.display()))
}

fn time_arg(text: Option<&str>, default: OffsetDateTime, name: &str) -> anyhow::Result<i64> {
    Ok(match text {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)
            .with_context(|| {
                format!("--{name} '{t}' is not an RFC 3339 time like 2026-11-24T00:00:00+08:00")
            })?
            .unix_timestamp(),
        None => default.unix_timestamp(),
    })
}

/// A trust list of the public halves of `keys`, each trusted for signatures made between
/// `valid_from` (default now) and `valid_until` (default ten years on).
pub fn trust_list(
    keys: &[PathBuf],
    valid_from: Option<&str>,
    valid_until: Option<&str>,
    out: &Path,
) -> anyhow::Result<()> {
    if keys.is_empty() {
        bail!("name at least one issuer key file");
    }
    let now = OffsetDateTime::now_utc();
    let from = time_arg(valid_from, now, "valid-from")?;
    let until = time_arg(valid_until, now + time::Duration::days(3653), "valid-until")?;
    if until <= from {
        bail!("--valid-until must be after --valid-from");
    }
    let mut list = TrustList::default();
    for path in keys {
        let key = read_key(path)?;
        if list.find(key.kid()).is_some() {
            bail!(
                "two keys have the kid {}: a verifier could not tell them apart",
                key.kid()
            );
        }
        list.issuers.push(key.trusted(from, until));
    }
    std::fs::write(out, list.to_cbor()).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "trust list with {} issuer(s) written to {}",
        list.issuers.len(),
        out.display()
    );
    Ok(())
}

/// What a key file or trust list holds, never the secret.
pub fn show(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(key) = std::str::from_utf8(&bytes)
        .map_err(|_| ())
        .and_then(|t| IssuerKey::from_key_file(t).map_err(|_| ()))
    {
        let public = key.trusted(0, 0).public_key;
        println!(
            "issuer key (secret not shown)\n  kid        {}\n  authority  {}\n  public key {}",
            key.kid(),
            key.authority(),
            licence_credential::hex::encode(&public)
        );
        return Ok(());
    }
    let list = TrustList::from_cbor(&bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is neither an issuer key file nor a trust list",
            path.display()
        )
    })?;
    println!("trust list, {} issuer(s)", list.issuers.len());
    for i in &list.issuers {
        let when = |t: i64| {
            OffsetDateTime::from_unix_timestamp(t)
                .ok()
                .and_then(|d| {
                    d.to_offset(licence_core::CHINA_OFFSET)
                        .format(&Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| t.to_string())
        };
        println!(
            "  {}  {}\n    valid {} to {}\n    public key {}",
            i.kid,
            i.authority,
            when(i.valid_from),
            when(i.valid_until),
            licence_credential::hex::encode(&i.public_key)
        );
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (an existing key is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
