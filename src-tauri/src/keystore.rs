//! Where the device key rests: the operating system's key store where there is one — the
//! Secret Service on Linux (GNOME Keyring, KWallet), the Keychain on macOS, the Credential
//! Manager on Windows, through the `keyring` crate — otherwise the fallback file in the app's
//! data folder (`licence_client::device::FileVault`, owner-only permissions).
//!
//! The choice is made the first time the key is needed, not at start-up: asking a desktop's
//! key store can take a moment (or time out when none answers), and the window should not
//! wait for it. A key found in the fallback file is moved into the key store once there is one.
//! `LICENCE_KEY_STORE=file` forces the file (for machines whose key store must not be used).
//!
//! On Android and iOS the platform key store (Android Keystore, the iOS Keychain) is not in
//! this build yet: [`PlatformKeyStore`] says so, and the key rests in the file in the app's
//! own sandboxed data folder, as on a desktop without a key store (docs/app.md).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use licence_client::device::{FileVault, KeyVault};
use licence_client::ClientError;

/// The key store's service name; one entry per data folder, so two folders are two devices.
#[cfg(desktop)]
const SERVICE: &str = "cn.example.elicence";

/// The device key in the OS key store.
#[cfg(desktop)]
pub struct KeyringVault {
    entry: keyring::Entry,
}

#[cfg(desktop)]
fn keyring_error(e: keyring::Error) -> ClientError {
    ClientError::Store(format!("system key store: {e}"))
}

#[cfg(desktop)]
impl KeyringVault {
    /// The entry for the app whose data lives in `data_dir`, if a key store answers.
    pub fn open(data_dir: &Path) -> Result<KeyringVault, ClientError> {
        let entry = keyring::Entry::new(SERVICE, &account_for(data_dir)).map_err(keyring_error)?;
        match entry.get_secret() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(KeyringVault { entry }),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// The key store's account name for a data folder: a digest of its path (the path itself
/// may contain the user's name).
#[cfg_attr(mobile, allow(dead_code))]
fn account_for(data_dir: &Path) -> String {
    let path = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_owned());
    // FNV-1a: the same name for the same folder on every run and Rust version.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.to_string_lossy().bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("device-key-{hash:016x}")
}

#[cfg(desktop)]
impl KeyVault for KeyringVault {
    fn kind(&self) -> &'static str {
        "system_keyring"
    }

    fn load(&self) -> Result<Option<Vec<u8>>, ClientError> {
        match self.entry.get_secret() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn save(&self, secret: &[u8]) -> Result<(), ClientError> {
        self.entry.set_secret(secret).map_err(keyring_error)
    }
}

/// The platform's key store on a phone: not in this build yet, and it says so (the caller
/// then keeps the key in the app's sandboxed data folder).
#[cfg(any(mobile, test))]
pub struct PlatformKeyStore;

#[cfg(any(mobile, test))]
impl PlatformKeyStore {
    pub fn open(_data_dir: &Path) -> Result<PlatformKeyStore, ClientError> {
        Err(ClientError::Store(
            "the platform key store (Android Keystore, iOS Keychain) is not available on this \
             platform yet"
                .into(),
        ))
    }
}

#[cfg(any(mobile, test))]
impl KeyVault for PlatformKeyStore {
    fn kind(&self) -> &'static str {
        "platform_key_store"
    }

    fn load(&self) -> Result<Option<Vec<u8>>, ClientError> {
        Err(not_opened())
    }

    fn save(&self, _secret: &[u8]) -> Result<(), ClientError> {
        Err(not_opened())
    }
}

#[cfg(any(mobile, test))]
fn not_opened() -> ClientError {
    ClientError::Store("the platform key store was not opened".into())
}

/// The OS key store, if one answers.
#[cfg(desktop)]
fn system_store(data_dir: &Path) -> Result<Box<dyn KeyVault>, ClientError> {
    Ok(Box::new(KeyringVault::open(data_dir)?))
}

#[cfg(mobile)]
fn system_store(data_dir: &Path) -> Result<Box<dyn KeyVault>, ClientError> {
    Ok(Box::new(PlatformKeyStore::open(data_dir)?))
}

/// The key store if one answers (taking over a key left in the fallback file), else the
/// file; decided on first use.
pub struct DeviceVault {
    data_dir: PathBuf,
    chosen: OnceLock<Box<dyn KeyVault>>,
}

impl DeviceVault {
    pub fn new(data_dir: &Path) -> DeviceVault {
        DeviceVault {
            data_dir: data_dir.to_owned(),
            chosen: OnceLock::new(),
        }
    }

    fn vault(&self) -> &dyn KeyVault {
        self.chosen
            .get_or_init(|| choose(&self.data_dir, std::env::var("LICENCE_KEY_STORE").ok()))
            .as_ref()
    }
}

fn choose(data_dir: &Path, preference: Option<String>) -> Box<dyn KeyVault> {
    let file = FileVault::new(&data_dir.join(licence_client::app::DEVICE_KEY_FILE));
    if preference.as_deref() == Some("file") {
        return Box::new(file);
    }
    match system_store(data_dir) {
        Ok(store) => match licence_client::device::adopt(&file, store.as_ref()) {
            Ok(_) => store,
            // The key store would not take the key: keep using the file it is in.
            Err(_) => Box::new(file),
        },
        Err(_) => Box::new(file),
    }
}

impl KeyVault for DeviceVault {
    fn kind(&self) -> &'static str {
        self.vault().kind()
    }

    fn load(&self) -> Result<Option<Vec<u8>>, ClientError> {
        self.vault().load()
    }

    fn save(&self, secret: &[u8]) -> Result<(), ClientError> {
        self.vault().save(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_name_is_stable_and_hides_the_path() {
        let a = account_for(Path::new("/home/zhangwei/app"));
        assert_eq!(a, account_for(Path::new("/home/zhangwei/app")));
        assert_ne!(a, account_for(Path::new("/home/zhangwei/app2")));
        assert!(!a.contains("zhangwei"));
    }

    #[test]
    fn the_phone_key_store_says_it_is_not_there_yet() {
        let dir = tempfile::tempdir().unwrap();
        let Err(ClientError::Store(why)) = PlatformKeyStore::open(dir.path()) else {
            panic!("no platform key store on a phone build yet");
        };
        assert!(why.contains("not available on this platform yet"), "{why}");
        // Never a pretend success, even if it were used.
        assert!(PlatformKeyStore.load().is_err());
        assert!(PlatformKeyStore.save(b"secret").is_err());
    }

    #[test]
    fn the_file_is_used_when_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(choose(dir.path(), Some("file".into())).kind(), "file");
    }

    /// Run by `the_secret_service_keeps_the_key` inside a D-Bus session with GNOME Keyring.
    #[test]
    #[ignore = "needs a Secret Service; run through the_secret_service_keeps_the_key"]
    fn inside_a_keyring_session() {
        let dir = tempfile::tempdir().unwrap();
        // A key made before there was a key store, in the fallback file.
        let file = FileVault::new(&dir.path().join(licence_client::app::DEVICE_KEY_FILE));
        let before = licence_client::device::device_key(&file).unwrap();
        let vault = DeviceVault::new(dir.path());
        assert_eq!(vault.kind(), "system_keyring");
        // The same key, now from the key store; the file copy is gone.
        let key = licence_client::device::device_key(&vault).unwrap();
        assert_eq!(key.public_key(), before.public_key());
        assert!(!dir
            .path()
            .join(licence_client::app::DEVICE_KEY_FILE)
            .exists());
        let again = licence_client::device::device_key(&DeviceVault::new(dir.path())).unwrap();
        assert_eq!(again.public_key(), before.public_key());
    }

    /// The Secret Service for real: a private D-Bus session with GNOME Keyring unlocked in it,
    /// and the test above run inside.
    #[test]
    fn the_secret_service_keeps_the_key() {
        let exe = std::env::current_exe().unwrap();
        let script = format!(
            "printf 'test-keyring-password' | gnome-keyring-daemon --replace --unlock \
             --components=secrets >/dev/null && exec '{}' --exact \
             keystore::tests::inside_a_keyring_session --ignored --test-threads=1",
            exe.display()
        );
        let home = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("dbus-run-session")
            .args(["--", "sh", "-c", &script])
            // The keyring keeps its files under a home of its own.
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_RUNTIME_DIR", home.path())
            .env_remove("DISPLAY")
            .output()
            .expect(
                "dbus-run-session is missing: `cargo xtask test app` installs dbus and \
                 gnome-keyring",
            );
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && printed.contains("1 passed"),
            "{printed}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
