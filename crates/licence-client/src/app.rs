//! The driver's app as one object: what each screen asks for, in the shapes of [`crate::views`].
//! The Tauri commands call these methods and nothing else, so everything the app does is
//! tested here without a window.
//!
//! [`DriverApp`] is a thin façade: it holds what every concern shares (the local store, the
//! API clients, the device key's vault) and the methods live with their concern:
//! [`session`], [`registration`], [`applications`] and [`inbox`] here; the e-licence, the
//! officer and 我的驾驶证 in their crate modules (the map is in the crate's documentation).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use licence_credential::{DeviceKey, TrustRoot};
use serde::{de::DeserializeOwned, Serialize};

use crate::api::Api;
use crate::device::{FileVault, KeyVault};
use crate::registration::AlipayApp;
use crate::store::LocalStore;
use crate::views::AppError;
use crate::ClientError;

pub mod applications;
pub mod inbox;
pub mod registration;
pub mod session;

pub use applications::PhotoSource;
pub use registration::{check_field, Field, RegistrationPath};

/// The fallback file for the device key, in the app's data folder.
pub const DEVICE_KEY_FILE: &str = "device.key";

/// What the app keeps in the local store's cache, by key (the key is the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub(crate) enum Cached {
    /// The account as last fetched, for 我的 without a network.
    Account,
    /// The account's applications as last fetched.
    Applications,
    /// When this device's session began: messages from before are history, not news.
    SignedInAt,
    /// The newest message already announced.
    InboxSeen,
    /// When the e-licence was last brought up to date.
    ElicenceRefreshedAt,
}

pub struct DriverApp {
    pub(crate) store: LocalStore,
    pub(crate) api: Api,
    /// For the officer's online check: an answer within seconds or none, the offline
    /// result stands on its own.
    pub(crate) quick: Api,
    pub(crate) server: String,
    pub(crate) alipay: Option<AlipayApp>,
    /// Where the device key rests (see [`crate::device`]).
    pub(crate) vault: Box<dyn KeyVault>,
    pub(crate) device: Mutex<Option<Arc<DeviceKey>>>,
    /// Seals bearer tokens at rest; derived from the device key on first use.
    pub(crate) seal: Mutex<Option<Arc<crate::sealed::TokenSeal>>>,
    /// The trust root the trust list must be signed by: the build's, or the one named at run
    /// time; none, and no trust list is taken.
    pub(crate) trust_root: Option<TrustRoot>,
    /// 出示给其他核验方: the share in progress (see [`crate::elicence`]).
    pub(crate) sharing: crate::elicence::ShareSlot,
}

/// The environment variable naming the trust root's public key file at run time (a
/// development root; a release build names its root when it is built, see licence-tls).
pub const TRUST_ROOT_ENV: &str = "LICENCE_TRUST_ROOT";

/// The trust root this app checks the trust list against: the file `LICENCE_TRUST_ROOT`
/// names, else the one the build names.
pub fn configured_trust_root() -> Result<Option<TrustRoot>, AppError> {
    let text = match std::env::var_os(TRUST_ROOT_ENV) {
        Some(path) => std::fs::read_to_string(&path).map_err(|e| {
            AppError::new(
                "trust_root_unreadable",
                "无法读取信任根公钥文件",
                &format!(
                    "Cannot read the trust root file {TRUST_ROOT_ENV}={} ({e})",
                    path.to_string_lossy()
                ),
            )
        })?,
        None => match licence_tls::built_in_trust_root() {
            Some(text) => text.to_owned(),
            None => return Ok(None),
        },
    };
    TrustRoot::from_text(&text).map(Some).map_err(|e| {
        AppError::new(
            "trust_root_unreadable",
            "信任根公钥文件格式不正确",
            &format!("The trust root file is not a trust root public key ({e})"),
        )
    })
}

pub(crate) fn not_signed_in() -> AppError {
    AppError::new("not_signed_in", "请先登录", "Please sign in first")
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(licence_core::CHINA_OFFSET)
        .date()
}

impl DriverApp {
    /// Opens (or creates) the app's database in `data_dir` and talks to the platform at
    /// `server` (`http://host:port`).
    pub fn open(data_dir: &Path, server: &str) -> Result<DriverApp, AppError> {
        std::fs::create_dir_all(data_dir).map_err(|e| ClientError::Store(e.to_string()))?;
        let store = LocalStore::open(&data_dir.join("app.sqlite"))?;
        Ok(DriverApp {
            store,
            api: Api::new(server, Duration::from_secs(15))?,
            quick: Api::new(server, Duration::from_secs(5))?,
            server: server.trim_end_matches('/').to_owned(),
            alipay: None,
            vault: Box::new(FileVault::new(&data_dir.join(DEVICE_KEY_FILE))),
            device: Mutex::new(None),
            seal: Mutex::new(None),
            trust_root: configured_trust_root()?,
            sharing: Default::default(),
        })
    }

    /// The seal of this device's bearer tokens at rest (see [`crate::sealed`]).
    pub(crate) fn token_seal(&self) -> Result<Arc<crate::sealed::TokenSeal>, AppError> {
        let mut cached = self.seal.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seal) = cached.as_ref() {
            return Ok(seal.clone());
        }
        let secret = self.device_key()?.secret_bytes();
        let seal = Arc::new(crate::sealed::TokenSeal::from_device_secret(&secret));
        *cached = Some(seal.clone());
        Ok(seal)
    }

    /// Checks the trust list against `root` instead of the configured one.
    pub fn with_trust_root(mut self, root: TrustRoot) -> DriverApp {
        self.trust_root = Some(root);
        self
    }

    /// Keeps the device key in `vault` (the OS key store) instead of the fallback file.
    pub fn with_key_vault(mut self, vault: Box<dyn KeyVault>) -> DriverApp {
        self.vault = vault;
        *self.device.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self
    }

    /// Where the Alipay app (or its development stand-in) answers; without it the Alipay
    /// path says Alipay is not available on this device.
    pub fn with_alipay_app(mut self, url: &str) -> Result<DriverApp, AppError> {
        self.alipay = Some(AlipayApp::new(url)?);
        Ok(self)
    }

    pub fn store(&self) -> &LocalStore {
        &self.store
    }

    /// A value kept under `key`, if there is one that still reads as a `T`.
    pub(crate) fn cached<T: DeserializeOwned>(&self, key: Cached) -> Result<Option<T>, AppError> {
        Ok(self
            .store
            .cached(key.into())?
            .and_then(|(value, _)| serde_json::from_str(&value).ok()))
    }

    /// Keeps `value` under `key` (as JSON), for showing without a network.
    pub(crate) fn keep<T: Serialize>(&self, key: Cached, value: &T) -> Result<(), AppError> {
        let json = serde_json::to_string(value).map_err(|e| ClientError::Store(e.to_string()))?;
        Ok(self.store.put_cached(key.into(), &json, now())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_the_names_existing_databases_hold() {
        let keys: Vec<&str> = [
            Cached::Account,
            Cached::Applications,
            Cached::SignedInAt,
            Cached::InboxSeen,
            Cached::ElicenceRefreshedAt,
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        assert_eq!(
            keys,
            [
                "account",
                "applications",
                "signed_in_at",
                "inbox_seen",
                "elicence_refreshed_at"
            ]
        );
    }

    #[test]
    fn kept_values_read_back_and_numbers_keep_their_old_text() {
        let dir = tempfile::tempdir().unwrap();
        let app = DriverApp::open(dir.path(), "http://127.0.0.1:9").unwrap();
        app.keep(Cached::InboxSeen, &42_i64).unwrap();
        assert_eq!(app.cached::<i64>(Cached::InboxSeen).unwrap(), Some(42));
        // Written as `to_string()` by earlier versions: the same text.
        assert_eq!(app.store.cached("inbox_seen").unwrap().unwrap().0, "42");
        assert_eq!(app.cached::<i64>(Cached::Account).unwrap(), None);
    }
}
