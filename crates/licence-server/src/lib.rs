//! The traffic-police platform behind the e-licence app: an HTTP JSON API under `/api/v1`
//! (OpenAPI at `/api/v1/openapi.json`), a SQLite store behind the [`store::Store`] trait,
//! the licence registry people are checked against, every registration path of R2.1–R2.4,
//! sign-in and sessions, device registration, and the clients of the outside services
//! (identity platform, SMS gateway, Alipay).
//!
//! Handlers are thin: they validate with licence-core, ask the store (on the blocking pool)
//! and the providers, and answer with [`error::ApiError`]'s one error shape.

pub mod admission;
pub mod api;
pub mod arrivals;
pub mod connection;
pub mod console;
pub mod error;
pub mod mdoc;
pub mod providers;
pub mod registry;
pub mod request_log;
pub mod security;
pub mod serve;
pub mod store;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use api::router;
use providers::Providers;
use store::Store;

/// Largest request body accepted (camera frames and ID card photos are the large ones).
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// The rules a deployment may tune. Defaults are the product's.
#[derive(Debug, Clone)]
pub struct Policy {
    /// R2.2: face failures after which the client is sent to online registration.
    pub face_attempts: u32,
    /// One-time SMS codes: lifetime, wrong tries allowed, pause between sends, sends per day.
    pub code_ttl: Duration,
    pub code_attempts: u32,
    pub code_resend_after: Duration,
    /// Codes a day for one person (or number) asked from one address: a stranger elsewhere
    /// cannot use up a driver's own.
    pub codes_per_day: u32,
    /// Codes a day for one person from every address together: the most texts a person can
    /// be sent on others' requests.
    pub codes_per_person: u32,
    /// Codes a day asked from one address, for anyone (carrier NAT puts many phones behind
    /// one address, so this is generous).
    pub codes_per_address: u32,
    /// Sign-in: failures allowed per account within `sign_in_window`.
    pub sign_in_failures: u32,
    pub sign_in_window: Duration,
    pub session_ttl: Duration,
    /// First pause before an SMS is sent again after the gateway failed (it doubles).
    pub outbox_retry: Duration,
    /// Admission control for surges (R5.1).
    pub limits: admission::Limits,
    /// The longest an inbox long-poll is held before it answers with nothing new: below the
    /// idle timeout of any proxy in front of the platform.
    pub longest_poll: Duration,
    /// How often the registry is read again for the status list (fetches in between are
    /// served from memory): a change in a licence's standing reaches verifiers within this
    /// and the caches' minute.
    pub status_list_every: Duration,
    /// Of the applications the system approves on its own (the photo on file, checked), the
    /// share drawn at random for a reviewer's look instead, in percent.
    pub review_sample_percent: f64,
    /// The most of the machine's CPU the photo checks take while the API is serving requests
    /// (a fraction, [`worker::MIN_CHECK_SHARE`]-1); without requests they take what is idle.
    pub photo_check_share: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            face_attempts: 3,
            code_ttl: Duration::from_secs(5 * 60),
            code_attempts: 5,
            code_resend_after: Duration::from_secs(60),
            codes_per_day: 10,
            codes_per_person: 30,
            codes_per_address: 200,
            sign_in_failures: 5,
            sign_in_window: Duration::from_secs(15 * 60),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            outbox_retry: Duration::from_secs(5),
            limits: admission::Limits::default(),
            longest_poll: Duration::from_secs(licence_api::InboxQuery::LONGEST_WAIT),
            status_list_every: Duration::from_secs(10),
            review_sample_percent: 5.0,
            photo_check_share: 0.125,
        }
    }
}

/// What every handler shares: one `Arc`, as axum clones the state for every middleware and
/// extractor of every request (a clone of the fields themselves copied the provider
/// configuration's URLs and CA certificate each time, 2 % of the CPU of a surge).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The platform's shared parts, reached through [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub providers: Providers,
    pub policy: Arc<Policy>,
    /// Working days, for review deadlines (R3.4).
    pub calendar: Arc<licence_core::WorkingCalendar>,
    /// Wakes the photo-check worker when an application arrives.
    pub photo_checks: Arc<tokio::sync::Notify>,
    /// Signs credentials and the status list.
    pub issuer: Arc<licence_credential::IssuerKey>,
    /// Earlier issuer keys: they sign nothing new but their own credentials' status lists,
    /// while their windows last (a key rotation).
    pub retired_issuers: Arc<Vec<licence_credential::IssuerKey>>,
    /// The trust list verifiers fetch, signed by the trust root.
    pub trust: Arc<ServedTrustList>,
    /// Wakes the SMS outbox worker when a message is queued.
    pub outbox: Arc<tokio::sync::Notify>,
    /// The inbox's long-polls on this instance, woken when a message for their account
    /// arrives (on any instance).
    pub inbox: arrivals::InboxArrivals,
    /// Rate limits and the bound on work in flight.
    pub admission: Arc<admission::Admission>,
    /// The signed status lists this instance serves, rebuilt every few seconds.
    pub status_lists: Arc<api::published::StatusLists>,
    /// Signs the e-licence as an ISO 18013-5 mDL beside the credential.
    pub mdoc: Arc<mdoc::MdocSigner>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        providers: Providers,
        policy: Policy,
        issuers: IssuerKeys,
        trust: ServedTrustList,
        mdoc: mdoc::MdocSigner,
    ) -> anyhow::Result<AppState> {
        Ok(AppState(Arc::new(Shared {
            admission: Arc::new(admission::Admission::new(policy.limits)),
            status_lists: Arc::default(),
            store,
            providers,
            policy: Arc::new(policy),
            calendar: Arc::new(licence_core::WorkingCalendar::mainland_china()?),
            photo_checks: Arc::new(tokio::sync::Notify::new()),
            issuer: Arc::new(issuers.signing),
            retired_issuers: Arc::new(issuers.retired),
            trust: Arc::new(trust),
            outbox: Arc::new(tokio::sync::Notify::new()),
            inbox: arrivals::InboxArrivals::default(),
            mdoc: Arc::new(mdoc),
        })))
    }
}

impl AppState {
    /// Every issuer key of the platform: the signing one first, then the retired ones.
    pub fn issuers(&self) -> impl Iterator<Item = &licence_credential::IssuerKey> {
        std::iter::once(self.issuer.as_ref()).chain(self.retired_issuers.iter())
    }

    /// Wakes the outbox worker, and the inbox's watcher for the long-polling apps, after a
    /// change that queued a notice (R3.5: by SMS and in the inbox, stored in the change's own
    /// transaction) has been committed.
    pub fn announce(&self) {
        self.outbox.notify_one();
        self.inbox.look_now();
    }
}

/// The message that tells an applicant how their e-licence application was decided (R3.5):
/// approved, or returned with the reasons, by a reviewer or by the server's own photo check.
pub fn application_result_notice(
    account: store::AccountId,
    to: licence_core::MobileNumber,
    application: i64,
    state: &licence_core::ApplicationState,
) -> store::Notice {
    let text = match state {
        licence_core::ApplicationState::Rejected { reasons } => format!(
            "【交管12123】您的驾驶证电子版申请未通过审核：{}。请在交管12123中修改后重新提交。",
            reasons
                .iter()
                .map(|r| match &r.note {
                    Some(n) => format!("{}（{n}）", r.code.name_zh()),
                    None => r.code.name_zh().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("；")
        ),
        _ => "【交管12123】您的驾驶证电子版申请已审核通过，请在交管12123中查看和使用。".to_owned(),
    };
    store::Notice {
        account,
        to,
        // One message per decision: the time tells a second rejection from the first.
        event_key: format!("application:{application}:{}:{}", state.status(), now()),
        title: "驾驶证电子版审核结果".to_owned(),
        text,
    }
}

/// Seconds since the Unix epoch, the platform's one clock.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Today in China (for ID-number birth dates and the like).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(licence_core::CHINA_OFFSET)
        .date()
}

/// The development issuer key, created on first start beside the database (the key file
/// format of `licence keys`) with a fixed window: from a day before it is made to ten years
/// on. Never committed; a deployment provides its own. A key file without a window is refused:
/// the window bounds every credential the key signs.
pub fn load_or_create_issuer_key(
    path: &std::path::Path,
) -> anyhow::Result<(licence_credential::IssuerKey, bool)> {
    const AUTHORITY: &str = "开发环境公安交通管理局（Development issuer）";
    if path.exists() {
        return Ok((load_issuer_key(path)?, false));
    }
    let made = now();
    // Named by when it was made, so that a key made later for a rotation has a kid of its own.
    let kid = format!("dev-{made}");
    let key = licence_credential::IssuerKey::generate(&kid, AUTHORITY, &mut rand::rngs::OsRng)
        .with_window(made - 86_400, made + 3653 * 86_400);
    write_secret(path, key.to_key_file().as_bytes())?;
    Ok((key, true))
}

/// The platform's issuer keys: the one that signs credentials now, and earlier ones kept for
/// their own credentials' status lists.
pub struct IssuerKeys {
    pub signing: licence_credential::IssuerKey,
    pub retired: Vec<licence_credential::IssuerKey>,
}

impl IssuerKeys {
    fn all(&self) -> impl Iterator<Item = &licence_credential::IssuerKey> {
        std::iter::once(&self.signing).chain(&self.retired)
    }

    fn entries(&self) -> Vec<licence_credential::TrustedIssuer> {
        self.all()
            .map(|key| {
                let (from, until) = key.window().unwrap_or_default();
                key.trusted(from, until)
            })
            .collect()
    }
}

/// The trust list the platform serves (`GET /api/v1/trust-list`), signed by the trust root,
/// and what it says.
#[derive(Debug, Clone)]
pub struct ServedTrustList {
    pub signed: Vec<u8>,
    pub list: licence_credential::TrustList,
}

impl ServedTrustList {
    /// A list signed offline by the trust root (a deployment's `--trust-list`): it must carry
    /// each of this platform's issuer keys, with the key's own window.
    pub fn given(signed: Vec<u8>, issuers: &IssuerKeys) -> anyhow::Result<ServedTrustList> {
        let list = licence_credential::TrustList::contents_unchecked(&signed)
            .map_err(|e| anyhow::anyhow!("the trust list is not a signed trust list: {e}"))?;
        for entry in issuers.entries() {
            anyhow::ensure!(
                list.find(&entry.kid) == Some(&entry),
                "the trust list does not carry this platform's issuer key {} with its window",
                entry.kid
            );
        }
        Ok(ServedTrustList { signed, list })
    }

    /// The development list: this platform's issuer key in its window, signed at start by the
    /// development trust root, numbered by the time so that each start's list is newer.
    pub fn development(
        issuers: &IssuerKeys,
        root: &licence_credential::TrustRootKey,
    ) -> anyhow::Result<ServedTrustList> {
        let list = licence_credential::TrustList {
            issuers: issuers.entries(),
            issued_at: now(),
            sequence: now().unsigned_abs(),
        };
        let signed = list
            .sign(root)
            .map_err(|e| anyhow::anyhow!("signing the trust list: {e}"))?;
        Ok(ServedTrustList { signed, list })
    }
}

/// The development trust root, created on first start beside the database (`<db>.trust-root.key`,
/// and its public half `<db>.trust-root.pub` for the app and `licence verify --root`). A
/// deployment keeps its root offline and gives the signed list instead.
pub fn load_or_create_trust_root(
    path: &std::path::Path,
) -> anyhow::Result<(licence_credential::TrustRootKey, bool)> {
    use anyhow::Context;
    let public = path.with_extension("pub");
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let key = licence_credential::TrustRootKey::from_key_file(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a trust root key file: {e}", path.display()))?;
        std::fs::write(&public, key.root().to_text())
            .with_context(|| format!("writing {}", public.display()))?;
        return Ok((key, false));
    }
    let key = licence_credential::TrustRootKey::generate("dev-root", &mut rand::rngs::OsRng);
    write_secret(path, key.to_key_file().as_bytes())?;
    std::fs::write(&public, key.root().to_text())
        .with_context(|| format!("writing {}", public.display()))?;
    Ok((key, true))
}

/// An issuer key file, which must give the key's window.
pub fn load_issuer_key(path: &std::path::Path) -> anyhow::Result<licence_credential::IssuerKey> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let key = licence_credential::IssuerKey::from_key_file(&text)
        .map_err(|e| anyhow::anyhow!("{} is not an issuer key file: {e}", path.display()))?;
    anyhow::ensure!(
        key.window().is_some(),
        "{} has no valid_from and valid_until: give the key its window (RFC 3339 times), \
         or move the file away to have a new development key made",
        path.display()
    );
    Ok(key)
}

/// Writes a secret readable by the owner only, into a new file.
pub(crate) fn write_secret(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    licence_tls::create_secret_file(path, bytes)
        .with_context(|| format!("writing the secret {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_issuer_key_is_made_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.issuer.key");
        let (first, created) = load_or_create_issuer_key(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, created) = load_or_create_issuer_key(&path).unwrap();
        assert!(!created);
        assert_eq!(again.secret_bytes(), first.secret_bytes());
        std::fs::write(&path, "garbage").unwrap();
        let err = load_or_create_issuer_key(&path).unwrap_err().to_string();
        assert!(err.contains("is not an issuer key file"), "{err}");
    }
}
