//! The device key (设备密钥): made on this device the first time the e-licence is shown, kept
//! here, never sent anywhere. Only its public half goes to the platform, which binds the
//! credential to it; each QR code is signed with it, so a copy of the credential on another
//! phone does not verify.
//!
//! Where the secret rests is a [`KeyVault`]: the operating system's key store where there is
//! one (the desktop app's Secret Service adapter lives in `src-tauri`), otherwise
//! [`FileVault`], a file in the app's data folder readable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use licence_credential::{hex, DeviceKey};

use crate::ClientError;

/// Where the device key's secret is kept at rest.
pub trait KeyVault: Send + Sync {
    /// What it is, for the app's 设备 line: `system_keyring` or `file`.
    fn kind(&self) -> &'static str;
    /// The stored secret (32 bytes), if there is one.
    fn load(&self) -> Result<Option<Vec<u8>>, ClientError>;
    fn save(&self, secret: &[u8]) -> Result<(), ClientError>;
}

/// The fallback: a file, written with owner-only permissions (0600 on Unix), in the app's
/// own data folder. It is as safe as the device's user account and disk encryption, no more.
pub struct FileVault {
    path: PathBuf,
}

impl FileVault {
    pub fn new(path: &Path) -> FileVault {
        FileVault {
            path: path.to_owned(),
        }
    }
}

fn vault_error(what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Store(format!("device key {what}: {e}"))
}

impl KeyVault for FileVault {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn load(&self) -> Result<Option<Vec<u8>>, ClientError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => hex::decode(text.trim())
                .filter(|secret| secret.len() == 32)
                .map(Some)
                .ok_or_else(|| vault_error("file", "not 64 hex digits")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(vault_error("file", e)),
        }
    }

    fn save(&self, secret: &[u8]) -> Result<(), ClientError> {
        // Written to a new file and renamed, so a crash leaves the old key or the new one.
        let partial = self.path.with_extension("partial");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&partial).map_err(|e| vault_error("file", e))?;
        file.write_all(hex::encode(secret).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| vault_error("file", e))?;
        std::fs::rename(&partial, &self.path).map_err(|e| vault_error("file", e))
    }
}

/// This device's key: the one kept in `vault`, or a new one, saved there first.
pub fn device_key(vault: &dyn KeyVault) -> Result<DeviceKey, ClientError> {
    if let Some(secret) = vault.load()? {
        return DeviceKey::from_secret(&secret)
            .map_err(|_| vault_error(vault.kind(), "the stored secret is not a P-256 key"));
    }
    let key = DeviceKey::generate(&mut rand::rngs::OsRng);
    vault.save(&key.secret_bytes())?;
    // Read back, so that a vault that silently keeps nothing is found out now, not after
    // the credential has been bound to a key that is gone.
    match vault.load()? {
        Some(kept) if kept == key.secret_bytes() => Ok(key),
        _ => Err(vault_error(vault.kind(), "the key was not kept")),
    }
}

/// Moves a key left in the fallback file into `to` (the OS key store), so that a device that
/// once had no key store keeps its key, and so its credential, when it gets one. The file goes
/// once the key store holds the key.
pub fn adopt(from: &FileVault, to: &dyn KeyVault) -> Result<bool, ClientError> {
    match (from.load()?, to.load()?) {
        (Some(secret), None) => {
            to.save(&secret)?;
            if to.load()?.as_deref() != Some(&secret[..]) {
                return Err(vault_error(to.kind(), "the key was not kept"));
            }
            std::fs::remove_file(&from.path).map_err(|e| vault_error("file", e))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let vault = FileVault::new(&dir.path().join("device.key"));
        let first = device_key(&vault).unwrap();
        let again = device_key(&FileVault::new(&dir.path().join("device.key"))).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("device.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        std::fs::write(&path, "not hex").unwrap();
        let err = device_key(&FileVault::new(&path)).unwrap_err();
        assert_eq!(err.code(), "local_store");
        // Nothing was overwritten: the driver's key may still be recovered.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not hex");
    }

    #[test]
    fn a_key_in_the_fallback_file_moves_to_the_key_store() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileVault::new(&dir.path().join("device.key"));
        let store = FileVault::new(&dir.path().join("keyring"));
        let key = device_key(&file).unwrap();
        assert!(adopt(&file, &store).unwrap());
        assert_eq!(device_key(&store).unwrap().public_key(), key.public_key());
        assert_eq!(file.load().unwrap(), None, "the weaker copy is gone");
        assert!(!adopt(&file, &store).unwrap(), "nothing left to move");
    }
}
