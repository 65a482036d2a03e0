//! The app's own SQLite database: the session, the outbox, the e-licence credential and the
//! data for verifying one offline. Everything the driver has handed over is here before
//! anything is sent, so closing the app or losing the network loses nothing.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::api::Session;
use crate::ClientError;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS session (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        token TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        account_id INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE IF NOT EXISTS licence_cache (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        record TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'waiting',
        application_id INTEGER,
        last_error TEXT,
        -- Whose application it is: sent only while that account is signed in.
        account_id INTEGER
    ) STRICT;
    -- The last answers the app showed (account, applications), for showing without a network.
    CREATE TABLE IF NOT EXISTS cache (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        saved_at INTEGER NOT NULL
    ) STRICT;
    -- This device's registration with the platform, per account (kept across sign-outs, so
    -- signing in again does not register the same phone twice).
    CREATE TABLE IF NOT EXISTS device_registration (
        account_id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL,
        public_key BLOB NOT NULL
    ) STRICT;
    -- The e-licence credential as issued (COSE_Sign1), for showing with no network.
    CREATE TABLE IF NOT EXISTS credential (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        account_id INTEGER NOT NULL,
        signed BLOB NOT NULL,
        not_after INTEGER NOT NULL,
        fetched_at INTEGER NOT NULL
    ) STRICT;
    -- Public data for verifying: the trust list and the signed status list, as fetched.
    CREATE TABLE IF NOT EXISTS verifier_data (
        kind TEXT PRIMARY KEY,
        bytes BLOB NOT NULL,
        fetched_at INTEGER NOT NULL
    ) STRICT;
    -- An officer signed in on this device (执勤民警), for the online check.
    CREATE TABLE IF NOT EXISTS officer_session (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        token TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        name TEXT NOT NULL,
        username TEXT NOT NULL
    ) STRICT;
    -- A checked, compliant photo the driver has not confirmed yet (one at a time).
    CREATE TABLE IF NOT EXISTS draft_photo (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        photo_source TEXT NOT NULL,
        jpeg BLOB NOT NULL
    ) STRICT;
";
/// Items of the account signed in now (items queued without a session have no account).
const MINE: &str = "account_id IS (SELECT account_id FROM session)";

/// Where an outbox item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Not yet accepted: sent when due.
    Waiting,
    /// Accepted by the platform as this application.
    Sent { application_id: i64 },
    /// Refused for good (e.g. another application is open): the driver must act.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    /// `application` for now.
    pub kind: String,
    pub idempotency_key: String,
    /// The request body, as sent every time.
    pub body: String,
    pub created_at: i64,
    pub attempts: u32,
    /// Unix seconds; not sent before.
    pub next_attempt_at: i64,
    pub state: ItemState,
    /// The last failure's code and message, for the driver.
    pub last_error: Option<String>,
}

/// The e-licence credential as the platform issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub account_id: i64,
    /// COSE_Sign1, exactly as issued.
    pub signed: Vec<u8>,
    /// Unix seconds; renewed well before.
    pub not_after: i64,
    pub fetched_at: i64,
}

/// An officer's session on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerSession {
    pub token: String,
    pub expires_at: i64,
    pub name: String,
    pub username: String,
}

pub struct LocalStore {
    conn: Mutex<Connection>,
}

impl LocalStore {
    pub fn open(path: &Path) -> Result<LocalStore, ClientError> {
        Self::setup(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<LocalStore, ClientError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<LocalStore, ClientError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // The outbox is the promise "your application is saved": flushed on every change.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
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

    /// The platform's id for this device under `account`, and the key it was registered with.
    pub fn device_registration(&self, account: i64) -> Result<Option<(i64, Vec<u8>)>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT device_id, public_key FROM device_registration WHERE account_id = ?1",
                [account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn save_device_registration(
        &self,
        account: i64,
        device_id: i64,
        public_key: &[u8],
    ) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO device_registration (account_id, device_id, public_key)
             VALUES (?1, ?2, ?3) ON CONFLICT (account_id) DO UPDATE SET
               device_id = excluded.device_id, public_key = excluded.public_key",
            params![account, device_id, public_key],
        )?;
        Ok(())
    }

    pub fn forget_device_registration(&self, account: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "DELETE FROM device_registration WHERE account_id = ?1",
            [account],
        )?;
        Ok(())
    }

    pub fn save_credential(&self, c: &StoredCredential) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO credential (only, account_id, signed, not_after, fetched_at)
             VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (only) DO UPDATE SET
               account_id = excluded.account_id, signed = excluded.signed,
               not_after = excluded.not_after, fetched_at = excluded.fetched_at",
            params![c.account_id, c.signed, c.not_after, c.fetched_at],
        )?;
        Ok(())
    }

    /// The credential kept for `account` (another account's is never returned).
    pub fn credential(&self, account: i64) -> Result<Option<StoredCredential>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT account_id, signed, not_after, fetched_at FROM credential
                 WHERE account_id = ?1",
                [account],
                |r| {
                    Ok(StoredCredential {
                        account_id: r.get(0)?,
                        signed: r.get(1)?,
                        not_after: r.get(2)?,
                        fetched_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn forget_credential(&self) -> Result<(), ClientError> {
        self.conn().execute("DELETE FROM credential", [])?;
        Ok(())
    }

    /// Keeps public verifier data (`trust_list`, `status_list`) as fetched.
    pub fn put_verifier_data(&self, kind: &str, bytes: &[u8], now: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO verifier_data (kind, bytes, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind) DO UPDATE SET bytes = excluded.bytes,
               fetched_at = excluded.fetched_at",
            params![kind, bytes, now],
        )?;
        Ok(())
    }

    pub fn verifier_data(&self, kind: &str) -> Result<Option<(Vec<u8>, i64)>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT bytes, fetched_at FROM verifier_data WHERE kind = ?1",
                [kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn save_officer_session(&self, s: &OfficerSession) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO officer_session (only, token, expires_at, name, username)
             VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (only) DO UPDATE SET
               token = excluded.token, expires_at = excluded.expires_at,
               name = excluded.name, username = excluded.username",
            params![s.token, s.expires_at, s.name, s.username],
        )?;
        Ok(())
    }

    pub fn officer_session(&self) -> Result<Option<OfficerSession>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT token, expires_at, name, username FROM officer_session",
                [],
                |r| {
                    Ok(OfficerSession {
                        token: r.get(0)?,
                        expires_at: r.get(1)?,
                        name: r.get(2)?,
                        username: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn clear_officer_session(&self) -> Result<(), ClientError> {
        self.conn().execute("DELETE FROM officer_session", [])?;
        Ok(())
    }

    /// Adds an item for the account signed in now, due at once; returns its id.
    pub fn enqueue(
        &self,
        kind: &str,
        idempotency_key: &str,
        body: &str,
        now: i64,
    ) -> Result<i64, ClientError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO outbox (kind, idempotency_key, body, created_at, next_attempt_at,
               account_id) VALUES (?1, ?2, ?3, ?4, ?4, (SELECT account_id FROM session))",
            params![kind, idempotency_key, body, now],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Waiting items of the signed-in account due by `now`, oldest first.
    pub fn due(&self, now: i64) -> Result<Vec<OutboxItem>, ClientError> {
        self.items_where(
            &format!("state = 'waiting' AND next_attempt_at <= ?1 AND {MINE} ORDER BY id"),
            [now],
        )
    }

    pub fn item(&self, id: i64) -> Result<Option<OutboxItem>, ClientError> {
        Ok(self.items_where("id = ?1", [id])?.pop())
    }

    /// Every item of the signed-in account, oldest first (for the app's "sending" list).
    pub fn items(&self) -> Result<Vec<OutboxItem>, ClientError> {
        self.items_where(&format!("{MINE} ORDER BY id"), [])
    }

    fn items_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<OutboxItem>, ClientError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT id, kind, idempotency_key, body, created_at, attempts, next_attempt_at,
                    state, application_id, last_error
             FROM outbox WHERE {condition}"
        ))?;
        let rows = stmt.query_map(params, |r| {
            let state: String = r.get(7)?;
            let application_id: Option<i64> = r.get(8)?;
            Ok(OutboxItem {
                id: r.get(0)?,
                kind: r.get(1)?,
                idempotency_key: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
                attempts: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                next_attempt_at: r.get(6)?,
                state: match (state.as_str(), application_id) {
                    ("sent", Some(application_id)) => ItemState::Sent { application_id },
                    ("failed", _) => ItemState::Failed,
                    _ => ItemState::Waiting,
                },
                last_error: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_sent(&self, id: i64, application_id: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE outbox SET state = 'sent', application_id = ?2, attempts = attempts + 1,
               last_error = NULL WHERE id = ?1",
            params![id, application_id],
        )?;
        Ok(())
    }

    /// Not now: try again at `until`.
    pub fn defer(&self, id: i64, until: i64, error: &str) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
             WHERE id = ?1",
            params![id, until, error],
        )?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<(), ClientError> {
        self.conn().execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2
             WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }
}
