//! `licence keys`: issuer keys, the trust root, and the trust lists verifiers load, signed by
//! the root. A key file holds a secret and is written readable by its owner only; a trust list
//! and the root's public file hold only public keys.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use licence_credential::{IssuerKey, TrustList, TrustRoot, TrustRootKey};
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

/// A key file of the kind `parse` reads (`what` names it in the error).
fn read_key_file<K>(
    path: &Path,
    what: &str,
    parse: impl Fn(&str) -> Result<K, licence_credential::CredentialError>,
) -> anyhow::Result<K> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("{} is not {what}: {e}", path.display()))
}

fn read_key(path: &Path) -> anyhow::Result<IssuerKey> {
    read_key_file(path, "an issuer key file", IssuerKey::from_key_file)
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

/// A new trust root key in a key file that must not exist yet, and its public half in
/// `public` (what verifiers build in or are given with `--root`).
pub fn new_root(kid: &str, out: &Path, public: &Path) -> anyhow::Result<()> {
    let key = TrustRootKey::generate(kid, &mut rand_core::OsRng);
    TrustRootKey::from_key_file(&key.to_key_file())
        .map_err(|e| anyhow::anyhow!("kid not usable: {e}"))?;
    write_private(out, key.to_key_file().as_bytes())?;
    std::fs::write(public, key.root().to_text())
        .with_context(|| format!("writing {}", public.display()))?;
    println!(
        "trust root {kid}: secret key written to {} (keep it offline), public key to {}",
        out.display(),
        public.display()
    );
    Ok(())
}

fn read_root_key(path: &Path) -> anyhow::Result<TrustRootKey> {
    read_key_file(path, "a trust root key file", TrustRootKey::from_key_file)
}

/// A trust list of the public halves of `keys`, each trusted in its own window (from its key
/// file) or else between `valid_from` (default now) and `valid_until` (default ten years on),
/// signed by the trust root with `sequence` (default: now in Unix seconds, so it grows).
pub fn trust_list(
    keys: &[PathBuf],
    window: (Option<&str>, Option<&str>),
    root: &Path,
    sequence: Option<u64>,
    out: &Path,
) -> anyhow::Result<()> {
    if keys.is_empty() {
        bail!("name at least one issuer key file");
    }
    let now = OffsetDateTime::now_utc();
    let from = time_arg(window.0, now, "valid-from")?;
    let until = time_arg(window.1, now + time::Duration::days(3653), "valid-until")?;
    if until <= from {
        bail!("--valid-until must be after --valid-from");
    }
    let root = read_root_key(root)?;
    let mut list = TrustList {
        issued_at: now.unix_timestamp(),
        sequence: sequence.unwrap_or(now.unix_timestamp().unsigned_abs()),
        ..TrustList::default()
    };
    for path in keys {
        let key = read_key(path)?;
        if list.find(key.kid()).is_some() {
            bail!(
                "two keys have the kid {}: a verifier could not tell them apart",
                key.kid()
            );
        }
        let (from, until) = key.window().unwrap_or((from, until));
        list.issuers.push(key.trusted(from, until));
    }
    let signed = list
        .sign(&root)
        .map_err(|e| anyhow::anyhow!("signing the trust list: {e}"))?;
    std::fs::write(out, signed).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "trust list no. {} with {} issuer(s), signed by trust root {}, written to {}",
        list.sequence,
        list.issuers.len(),
        root.kid(),
        out.display()
    );
    Ok(())
}

/// Reads a trust list signed by the root (`root`: its public file, else the one this build
/// names); an unsigned list, or one another key signed, is refused.
pub fn read_trust_list(path: &Path, root: Option<&Path>) -> anyhow::Result<TrustList> {
    let root = trust_root(root)?;
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the trust list {} (无法读取文件)",
            path.display()
        )
    })?;
    TrustList::open(&bytes, &root).map_err(|e| {
        anyhow::anyhow!(
            "the trust list {} is not signed by the trust root {} ({e}); 信任列表未经信任根签名。 \
             Make one with `licence keys trust-list KEY… --root ROOT.key --out FILE`",
            path.display(),
            root.kid
        )
    })
}

fn trust_root(path: Option<&Path>) -> anyhow::Result<TrustRoot> {
    let (text, from) = match path {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the trust root {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (
            licence_tls::built_in_trust_root()
                .context(
                    "this build names no trust root: give its public key file with --root \
                     (`licence keys root` writes it) 未指定信任根",
                )?
                .to_owned(),
            "the built-in trust root".to_owned(),
        ),
    };
    TrustRoot::from_text(&text)
        .map_err(|e| anyhow::anyhow!("{from} is not a trust root public key file: {e}"))
}

/// What a key file, the root's public file or a trust list holds, never a secret.
pub fn show(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&bytes).ok();
    if let Some(key) = text.and_then(|t| IssuerKey::from_key_file(t).ok()) {
        let public = key.trusted(0, 0).public_key;
        println!(
            "issuer key (secret not shown)\n  kid        {}\n  authority  {}\n  public key {}",
            key.kid(),
            key.authority(),
            licence_credential::hex::encode(&public)
        );
        if let Some((from, until)) = key.window() {
            println!("  window     {} to {}", when(from), when(until));
        }
        return Ok(());
    }
    if let Some(key) = text.and_then(|t| TrustRootKey::from_key_file(t).ok()) {
        let root = key.root();
        println!(
            "trust root key (secret not shown)\n  kid        {}\n  public key {}",
            root.kid,
            licence_credential::hex::encode(&root.public_key)
        );
        return Ok(());
    }
    if let Some(root) = text.and_then(|t| TrustRoot::from_text(t).ok()) {
        println!(
            "trust root (public)\n  kid        {}\n  public key {}",
            root.kid,
            licence_credential::hex::encode(&root.public_key)
        );
        return Ok(());
    }
    let list = TrustList::contents_unchecked(&bytes).map_err(|_| {
        anyhow::anyhow!("{} is neither a key file nor a trust list", path.display())
    })?;
    println!(
        "trust list no. {}, signed {} (the signature is checked by `licence verify`), {} issuer(s)",
        list.sequence,
        when(list.issued_at),
        list.issuers.len()
    );
    for i in &list.issuers {
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

fn when(t: i64) -> String {
    licence_core::china_rfc3339(t).unwrap_or_else(|| t.to_string())
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    licence_tls::create_secret_file(path, bytes).with_context(|| {
        format!(
            "creating {} (an existing key is never overwritten)",
            path.display()
        )
    })
}
