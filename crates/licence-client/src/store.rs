//! The app's own SQLite database: the session and the outbox. Everything the driver has
//! handed over is here before anything is sent, so closing the app or losing the network
//! loses nothing.

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

    /// Signing out: the session and everything shown from it go. Waiting outbox items stay
    /// and are sent when the same account signs in again.
    pub fn clear_session(&self) -> Result<(), ClientError> {
        self.conn().execute_batch(
            "BEGIN; DELETE FROM session; DELETE FROM cache; DELETE FROM licence_cache;
             DELETE FROM draft_photo; COMMIT;",
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
