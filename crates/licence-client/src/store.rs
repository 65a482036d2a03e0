//! The app's own SQLite database: the session, the outbox, the e-licence credential and the
//! data for verifying one offline. Everything the driver has handed over is here before
//! anything is sent, so closing the app or losing the network loses nothing.
//!
//! The schema is built in numbered steps (`store/migrations/*.sql`, see [`migrations`]):
//! opening a database made by an older app brings it up to [`SCHEMA_VERSION`]. The session,
//! the cache, the draft photo and the licence are here; the outbox's table in `store/outbox.rs`,
//! the e-licence's and the officer's in `store/elicence.rs`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::api::Session;
use crate::ClientError;

mod elicence;
pub mod migrations;
mod outbox;

pub use elicence::{OfficerSession, StoredCredential};
pub use migrations::LATEST as SCHEMA_VERSION;
pub use outbox::{state_name, ItemState, ItemStateName, OutboxItem};

pub struct LocalStore {
    conn: Mutex<Connection>,
}

impl LocalStore {
    /// Opens (or makes) the app's database; a new file is readable by its owner only (the
    /// session, the outbox's photos and the credential are in it).
    pub fn open(path: &Path) -> Result<LocalStore, ClientError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            if let Err(e) = made.as_ref().map(|_| ()) {
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(ClientError::Store(format!("{}: {e}", path.display())));
                }
            }
        }
        Self::setup(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<LocalStore, ClientError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<LocalStore, ClientError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // The outbox is the promise "your application is saved": flushed on every change.
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrations::migrate(&mut conn)?;
        Ok(LocalStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // Transactions roll back on a panic, so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn save_session(&self, s: &Session) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO session (only, token, expires_at, account_id) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (only) DO UPDATE SET token = excluded.token,
               expires_at = excluded.expires_at, account_id = excluded.account_id",
            params![s.token, s.expires_at, s.account_id],
        )?;
        Ok(())
    }

    pub fn session(&self) -> Result<Option<Session>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT token, expires_at, account_id FROM session",
                [],
                |r| {
                    Ok(Session {
                        token: r.get(0)?,
                        expires_at: r.get(1)?,
                        account_id: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Signing out: the session and everything shown from it (the e-licence included) go. Waiting outbox items stay
    /// and are sent when the same account signs in again.
    pub fn clear_session(&self) -> Result<(), ClientError> {
        self.conn().execute_batch(
            "BEGIN; DELETE FROM session; DELETE FROM cache; DELETE FROM licence_cache;
             DELETE FROM draft_photo; DELETE FROM credential; COMMIT;",
        )?;
        Ok(())
    }

    /// Keeps an answer for showing without a network.
    pub fn put_cached(&self, key: &str, value: &str, now: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO cache (key, value, saved_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, saved_at = excluded.saved_at",
            params![key, value, now],
        )?;
        Ok(())
    }

    pub fn cached(&self, key: &str) -> Result<Option<(String, i64)>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value, saved_at FROM cache WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn save_draft_photo(&self, photo_source: &str, jpeg: &[u8]) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO draft_photo (only, photo_source, jpeg) VALUES (1, ?1, ?2)
             ON CONFLICT (only) DO UPDATE SET photo_source = excluded.photo_source,
               jpeg = excluded.jpeg",
            params![photo_source, jpeg],
        )?;
        Ok(())
    }

    pub fn draft_photo(&self) -> Result<Option<(String, Vec<u8>)>, ClientError> {
        Ok(self
            .conn()
            .query_row("SELECT photo_source, jpeg FROM draft_photo", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    pub fn clear_draft_photo(&self) -> Result<(), ClientError> {
        self.conn().execute("DELETE FROM draft_photo", [])?;
        Ok(())
    }

    /// Keeps the licence as last fetched, for showing without a network.
    pub fn save_licence(
        &self,
        licence: &licence_core::DrivingLicence,
        fetched_at: i64,
    ) -> Result<(), ClientError> {
        let record =
            serde_json::to_string(licence).map_err(|e| ClientError::Store(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO licence_cache (only, record, fetched_at) VALUES (1, ?1, ?2)
             ON CONFLICT (only) DO UPDATE SET record = excluded.record,
               fetched_at = excluded.fetched_at",
            params![record, fetched_at],
        )?;
        Ok(())
    }

    /// The licence as last fetched, and when.
    pub fn cached_licence(
        &self,
    ) -> Result<Option<(licence_core::DrivingLicence, i64)>, ClientError> {
        let row: Option<(String, i64)> = self
            .conn()
            .query_row("SELECT record, fetched_at FROM licence_cache", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(record, at)| {
            serde_json::from_str(&record)
                .map(|licence| (licence, at))
                .map_err(|e| ClientError::Store(format!("the cached licence is unreadable: {e}")))
        })
        .transpose()
    }

    pub fn forget_licence(&self) -> Result<(), ClientError> {
        self.conn().execute("DELETE FROM licence_cache", [])?;
        Ok(())
    }
}
