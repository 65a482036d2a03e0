//! The SQLite store: one file, WAL mode, versioned migrations.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use licence_core::{
    ApplicationState, ApplicationStatus, DrivingLicence, IdCardValidity, IdNumber, MobileNumber,
    PersonName, UserKind,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::*;

/// Each migration runs once, in order; `PRAGMA user_version` records how many have run.
/// Never edit a published migration: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: registry, accounts, limits, one-time codes, sessions, devices.
    "
    CREATE TABLE registry_person (
        id_number TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        reserved_mobile TEXT NOT NULL,
        photo BLOB
    ) STRICT;
    CREATE TABLE registry_licence (
        id_number TEXT PRIMARY KEY REFERENCES registry_person(id_number) ON DELETE CASCADE,
        file_number TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
    ) STRICT;
    CREATE TABLE account (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        id_number TEXT UNIQUE,
        unit_code TEXT UNIQUE,
        name TEXT NOT NULL,
        mobile TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX account_mobile ON account(mobile);
    CREATE TABLE limit_event (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX limit_event_key ON limit_event(kind, key, at);
    CREATE TABLE sms_challenge (
        id TEXT PRIMARY KEY,
        purpose TEXT NOT NULL,
        subject TEXT NOT NULL,
        name TEXT NOT NULL,
        mobile TEXT NOT NULL,
        code_hash BLOB NOT NULL,
        salt BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        consumed INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE TABLE session (
        token_hash BLOB PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE device (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        public_key BLOB NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (account_id, public_key)
    ) STRICT;
    ",
    // 2: ID card periods, manual ID-card reviews, unit papers, staff, console sessions, audit.
    "
    ALTER TABLE account ADD COLUMN id_card_validity TEXT;
    CREATE TABLE id_card_review (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        front BLOB NOT NULL,
        back BLOB NOT NULL,
        validity TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        submitted_at INTEGER NOT NULL,
        decided_at INTEGER,
        decided_by TEXT
    ) STRICT;
    CREATE INDEX id_card_review_state ON id_card_review(state, submitted_at);
    CREATE TABLE unit_papers (
        account_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
        agent_name TEXT NOT NULL,
        agent_id_number TEXT NOT NULL,
        attorney BLOB NOT NULL,
        attorney_type TEXT NOT NULL
    ) STRICT;
    CREATE TABLE staff (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL
    ) STRICT;
    CREATE TABLE staff_session (
        token_hash BLOB PRIMARY KEY,
        staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    ) STRICT;
    ",
    // 3: e-licence applications and their history.
    "
    CREATE TABLE application (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        idempotency_key TEXT NOT NULL,
        photo_source TEXT NOT NULL,
        photo BLOB NOT NULL,
        cropped BLOB,
        check_result TEXT,
        state TEXT NOT NULL,
        status TEXT NOT NULL,
        submitted_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (account_id, idempotency_key)
    ) STRICT;
    CREATE INDEX application_status ON application(status, due_at);
    CREATE TABLE application_event (
        id INTEGER PRIMARY KEY,
        application_id INTEGER NOT NULL REFERENCES application(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        state TEXT NOT NULL
    ) STRICT;
    ",
    // 4: positions in the status list.
    "
    CREATE TABLE status_index (
        account_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL UNIQUE
    ) STRICT;
    ",
    // 5: the SMS outbox.
    "
    CREATE TABLE sms_outbox (
        id INTEGER PRIMARY KEY,
        event_key TEXT NOT NULL UNIQUE,
        to_mobile TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        sent_at INTEGER,
        message_id TEXT,
        last_error TEXT
    ) STRICT;
    CREATE INDEX sms_outbox_due ON sms_outbox(sent_at, next_attempt_at);
    ",
    // 6: the in-app inbox.
    "
    CREATE TABLE inbox_message (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        event_key TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER
    ) STRICT;
    CREATE INDEX inbox_message_account ON inbox_message(account_id, id);
    ",
    // 7: the photo-check queue, found without reading past every waiting photo.
    "
    CREATE INDEX application_unchecked ON application(id)
      WHERE status = 'submitted' AND check_result IS NULL;
    ",
];

/// Bytes per database page, for new databases.
const PAGE_SIZE: i64 = 16_384;

/// Read connections at most: a burst beyond it waits its turn (briefly: reads are quick)
/// rather than opening connections without bound.
const MAX_READERS: usize = 8;

pub struct SqliteStore {
    /// The one writer. SQLite allows one writing transaction at a time anyway.
    conn: Mutex<Connection>,
    /// Where the file is, for opening read connections; `None` in memory, where every read
    /// goes through the writer.
    path: Option<PathBuf>,
    /// Read connections for the hot reads (sessions, accounts, the registry): in WAL mode they
    /// see the last commit and never wait for the writer's disk flush.
    readers: Mutex<ReaderPool>,
    /// Signalled when a read connection is returned.
    reader_returned: std::sync::Condvar,
    /// Submissions waiting for the next group commit (see [`SqliteStore::submit_application`]).
    pending: Mutex<Vec<PendingSubmission>>,
}

/// A submission handed to whichever thread commits next, and where its answer goes.
struct PendingSubmission {
    application: Application,
    reply: std::sync::mpsc::SyncSender<Result<Submitted, StoreError>>,
}

#[derive(Default)]
struct ReaderPool {
    idle: Vec<Connection>,
    /// Opened so far (idle or in use).
    opened: usize,
}

/// A connection to read with: a pooled reader (returned on drop), or the writer in memory.
enum ReadConn<'a> {
    Pooled(&'a SqliteStore, Option<Connection>),
    Writer(MutexGuard<'a, Connection>),
}

impl std::ops::Deref for ReadConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            ReadConn::Pooled(_, conn) => conn.as_ref().expect("present until dropped"),
            ReadConn::Writer(guard) => guard,
        }
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let ReadConn::Pooled(store, conn) = self {
            lock(&store.readers).idle.extend(conn.take());
            store.reader_returned.notify_one();
        }
    }
}

/// A panic while holding a lock cannot leave SQLite half-written (transactions roll back),
/// so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Maps a UNIQUE violation to `Duplicate`.
fn insert_error(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Duplicate(what)
        }
        e => db(e),
    }
}

fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open(path).map_err(db)?, Some(path), "FULL")
    }

    /// Opens the file for loading much at once (a load test's drivers, say): commits are not
    /// flushed to disk one by one. Call [`SqliteStore::flush`] at the end. A crash of the
    /// program loses nothing, but a power loss before `flush` may leave the file corrupt, so
    /// load into a new file, never into the platform's live database.
    pub fn open_for_bulk_load(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open(path).map_err(db)?, Some(path), "OFF")
    }

    /// A private in-memory database (for tools and unit tests).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(db)?, None, "FULL")
    }

    /// Moves everything written into the database file and flushes it to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db)?;
        if let Some(path) = &self.path {
            std::fs::File::open(path)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::Database(e.to_string()))?;
        }
        Ok(())
    }

    fn setup(
        mut conn: Connection,
        path: Option<&Path>,
        synchronous: &str,
    ) -> Result<SqliteStore, StoreError> {
        // 16 KB pages: a ~20 KB application photo takes two pages instead of six, so a commit
        // writes fewer WAL frames (docs/performance.md: +15 % submissions/s). Takes effect
        // only when the file is created; an existing database keeps its page size.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(db)?;
        // WAL: readers never wait for the writer, and a commit is one sequential append.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        // Copy the WAL into the database every 4 MB, as SQLite does with its default 4 KB
        // pages: larger copies stall the commit that triggers them for longer.
        let page_size: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .map_err(db)?;
        conn.pragma_update(None, "wal_autocheckpoint", (4 << 20) / page_size.max(512))
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        if version > MIGRATIONS.len() {
            return Err(StoreError::Database(format!(
                "the database is at schema version {version}, newer than this program ({}); \
                 use a newer licence-server",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction().map_err(db)?;
            tx.execute_batch(sql).map_err(db)?;
            tx.pragma_update(None, "user_version", i + 1).map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.map(Path::to_path_buf),
            readers: Mutex::new(ReaderPool::default()),
            reader_returned: std::sync::Condvar::new(),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// A connection for reads that need not see uncommitted writes.
    fn reader(&self) -> Result<ReadConn<'_>, StoreError> {
        let Some(path) = &self.path else {
            return Ok(ReadConn::Writer(self.conn()));
        };
        let mut pool = lock(&self.readers);
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(ReadConn::Pooled(self, Some(conn)));
            }
            if pool.opened < MAX_READERS {
                pool.opened += 1;
                break;
            }
            pool = self
                .reader_returned
                .wait(pool)
                .unwrap_or_else(|e| e.into_inner());
        }
        drop(pool);
        let opened = Connection::open(path).and_then(|conn| {
            conn.pragma_update(None, "query_only", true)?;
            Ok(conn)
        });
        match opened {
            Ok(conn) => Ok(ReadConn::Pooled(self, Some(conn))),
            Err(e) => {
                lock(&self.readers).opened -= 1;
                self.reader_returned.notify_one();
                Err(db(e))
            }
        }
    }

    pub fn schema_version(&self) -> Result<usize, StoreError> {
        self.conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)
    }

    fn outbox_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT id, event_key, to_mobile, text, attempts, next_attempt_at, sent_at
                 FROM sms_outbox WHERE {condition}"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                ))
            })
            .map_err(db)?;
        rows.map(|row| {
            let (id, event_key, to, text, attempts, next_attempt_at, sent_at) = row.map_err(db)?;
            Ok(OutboxMessage {
                id,
                event_key,
                to: to.parse().map_err(|e| corrupt("sms_outbox", e))?,
                text,
                attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
                next_attempt_at,
                sent_at,
            })
        })
        .collect()
    }

    fn applications_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<Application>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT * FROM application WHERE {condition}"))
            .map_err(db)?;
        let rows = stmt.query_map(params, application_from_row).map_err(db)?;
        rows.map(|r| r.map_err(db)?).collect()
    }

    fn reviews_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<IdCardReview>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM id_card_review WHERE {condition}"))
            .map_err(db)?;
        let rows = stmt.query_map(params, review_from_row).map_err(db)?;
        rows.map(|r| r.map_err(db)?).collect()
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }
}

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Account, StoreError>> {
    let kind: String = row.get("kind")?;
    let id_number: Option<String> = row.get("id_number")?;
    let mobile: String = row.get("mobile")?;
    let parsed = (|| {
        Ok(Account {
            id: row.get("id").map_err(db)?,
            kind: serde_json::from_str::<UserKind>(&kind).map_err(|e| corrupt("account", e))?,
            id_number: id_number
                .map(|s| s.parse::<IdNumber>())
                .transpose()
                .map_err(|e| corrupt("account", e))?,
            unit_code: row.get("unit_code").map_err(db)?,
            name: row.get("name").map_err(db)?,
            mobile: mobile.parse().map_err(|e| corrupt("account", e))?,
            password_hash: row.get("password_hash").map_err(db)?,
            created_at: row.get("created_at").map_err(db)?,
        })
    })();
    Ok(parsed)
}

fn review_from_row(row: &Row<'_>) -> rusqlite::Result<Result<IdCardReview, StoreError>> {
    let validity: String = row.get("validity")?;
    let state: String = row.get("state")?;
    let parsed = (|| {
        Ok(IdCardReview {
            id: row.get("id").map_err(db)?,
            account: row.get("account_id").map_err(db)?,
            front: row.get("front").map_err(db)?,
            back: row.get("back").map_err(db)?,
            validity: validity.parse().map_err(|e| corrupt("id_card_review", e))?,
            state: ReviewState::parse(&state).ok_or_else(|| corrupt("id_card_review", &state))?,
            reason: row.get("reason").map_err(db)?,
            submitted_at: row.get("submitted_at").map_err(db)?,
            decided_at: row.get("decided_at").map_err(db)?,
            decided_by: row.get("decided_by").map_err(db)?,
        })
    })();
    Ok(parsed)
}

fn application_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Application, StoreError>> {
    let state: String = row.get("state")?;
    let parsed = (|| {
        Ok(Application {
            id: row.get("id").map_err(db)?,
            account: row.get("account_id").map_err(db)?,
            idempotency_key: row.get("idempotency_key").map_err(db)?,
            photo_source: row.get("photo_source").map_err(db)?,
            photo: row.get("photo").map_err(db)?,
            cropped: row.get("cropped").map_err(db)?,
            check: row.get("check_result").map_err(db)?,
            state: serde_json::from_str(&state).map_err(|e| corrupt("application", e))?,
            submitted_at: row.get("submitted_at").map_err(db)?,
            due_at: row.get("due_at").map_err(db)?,
            updated_at: row.get("updated_at").map_err(db)?,
        })
    })();
    Ok(parsed)
}

fn state_json(state: &ApplicationState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| corrupt("application", e))
}

/// An application still in progress: a second may not be opened beside it.
const OPEN: [ApplicationStatus; 3] = [
    ApplicationStatus::Submitted,
    ApplicationStatus::UnderReview,
    ApplicationStatus::Approved,
];

fn staff_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Staff, StoreError>> {
    let role: String = row.get(3)?;
    Ok(match StaffRole::parse(&role) {
        Some(role) => Ok(Staff {
            id: row.get(0)?,
            username: row.get(1)?,
            name: row.get(2)?,
            role,
            password_hash: row.get(4)?,
        }),
        None => Err(corrupt("staff", role)),
    })
}

fn challenge_from_row(row: &Row<'_>) -> rusqlite::Result<Result<SmsChallenge, StoreError>> {
    let purpose: String = row.get("purpose")?;
    let mobile: String = row.get("mobile")?;
    let attempts: i64 = row.get("attempts")?;
    let consumed: i64 = row.get("consumed")?;
    let parsed = (|| {
        Ok(SmsChallenge {
            id: row.get("id").map_err(db)?,
            purpose: CodePurpose::parse(&purpose)
                .ok_or_else(|| corrupt("sms_challenge", &purpose))?,
            subject: row.get("subject").map_err(db)?,
            name: row.get("name").map_err(db)?,
            mobile: mobile.parse().map_err(|e| corrupt("sms_challenge", e))?,
            code_hash: row.get("code_hash").map_err(db)?,
            salt: row.get("salt").map_err(db)?,
            created_at: row.get("created_at").map_err(db)?,
            expires_at: row.get("expires_at").map_err(db)?,
            attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
            consumed: consumed != 0,
        })
    })();
    Ok(parsed)
}

/// Stores a batch of submissions in one transaction (each in a savepoint, so one failing
/// does not undo the others) and answers each once the commit is on disk.
fn commit_submissions(conn: &mut Connection, batch: Vec<PendingSubmission>) {
    let outcome = (|| -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        let mut tx = conn.transaction().map_err(db)?;
        let mut results = Vec::with_capacity(batch.len());
        for pending in &batch {
            let mut one = tx.savepoint().map_err(db)?;
            let result = submit_one(&one, &pending.application);
            if result.is_ok() {
                one.commit().map_err(db)?;
            } else {
                one.rollback().map_err(db)?;
            }
            results.push(result);
        }
        // Durable before the reply: with synchronous=FULL the commit is on disk here.
        tx.commit().map_err(db)?;
        Ok(results)
    })();
    match outcome {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                let _ = pending.reply.send(result);
            }
        }
        Err(e) => {
            for pending in batch {
                let _ = pending.reply.send(Err(e.clone()));
            }
        }
    }
}

fn submit_one(conn: &Connection, new: &Application) -> Result<Submitted, StoreError> {
    let existing = conn
        .prepare_cached("SELECT * FROM application WHERE account_id = ?1 AND idempotency_key = ?2")
        .map_err(db)?
        .query_row(
            params![new.account, new.idempotency_key],
            application_from_row,
        )
        .optional()
        .map_err(db)?
        .transpose()?;
    if let Some(app) = existing {
        return Ok(Submitted::Replayed(app));
    }
    let open = conn
        .prepare_cached(
            "SELECT * FROM application WHERE account_id = ?1 AND status IN (?2, ?3, ?4)
             ORDER BY id DESC LIMIT 1",
        )
        .map_err(db)?
        .query_row(
            params![
                new.account,
                OPEN[0].to_string(),
                OPEN[1].to_string(),
                OPEN[2].to_string()
            ],
            application_from_row,
        )
        .optional()
        .map_err(db)?
        .transpose()?;
    if let Some(app) = open {
        return Ok(Submitted::OpenExists(app));
    }
    let state = state_json(&new.state)?;
    conn.prepare_cached(
        "INSERT INTO application (account_id, idempotency_key, photo_source, photo, cropped,
           check_result, state, status, submitted_at, due_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5, ?6, ?7, ?8, ?7)",
    )
    .map_err(db)?
    .execute(params![
        new.account,
        new.idempotency_key,
        new.photo_source,
        new.photo,
        state,
        new.state.status().to_string(),
        new.submitted_at,
        new.due_at
    ])
    .map_err(db)?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO application_event (application_id, at, actor, state)
         VALUES (?1, ?2, 'applicant', ?3)",
    )
    .map_err(db)?
    .execute(params![id, new.submitted_at, state])
    .map_err(db)?;
    Ok(Submitted::Created(Application { id, ..new.clone() }))
}

impl Store for SqliteStore {
    fn put_registry_entry(&self, entry: &RegistryEntry) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO registry_person (id_number, name, reserved_mobile, photo)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id_number) DO UPDATE SET
               name = excluded.name, reserved_mobile = excluded.reserved_mobile,
               photo = excluded.photo",
            params![
                entry.id_number.as_str(),
                entry.name.as_str(),
                entry.reserved_mobile.as_str(),
                entry.photo
            ],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM registry_licence WHERE id_number = ?1",
            [entry.id_number.as_str()],
        )
        .map_err(db)?;
        if let Some(licence) = &entry.licence {
            let record = serde_json::to_string(licence).map_err(|e| corrupt("registry", e))?;
            tx.execute(
                "INSERT INTO registry_licence (id_number, file_number, record) VALUES (?1, ?2, ?3)",
                params![
                    entry.id_number.as_str(),
                    licence.record().file_number.to_string(),
                    record
                ],
            )
            .map_err(insert_error("licence file number (档案编号)"))?;
        }
        tx.commit().map_err(db)
    }

    fn registry_entry(&self, id: &IdNumber) -> Result<Option<RegistryEntry>, StoreError> {
        let conn = self.reader()?;
        let row = conn
            .prepare_cached(
                "SELECT p.name, p.reserved_mobile, p.photo, l.record
                 FROM registry_person p LEFT JOIN registry_licence l USING (id_number)
                 WHERE p.id_number = ?1",
            )
            .map_err(db)?
            .query_row([id.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()
            .map_err(db)?;
        let Some((name, mobile, photo, record)) = row else {
            return Ok(None);
        };
        Ok(Some(RegistryEntry {
            id_number: *id,
            name: name
                .parse::<PersonName>()
                .map_err(|e| corrupt("registry_person", e))?,
            reserved_mobile: mobile
                .parse::<MobileNumber>()
                .map_err(|e| corrupt("registry_person", e))?,
            photo,
            licence: record
                .map(|r| serde_json::from_str::<DrivingLicence>(&r))
                .transpose()
                .map_err(|e| corrupt("registry_licence", e))?,
        }))
    }

    fn registry_size(&self) -> Result<usize, StoreError> {
        self.conn()
            .query_row("SELECT count(*) FROM registry_person", [], |r| r.get(0))
            .map_err(db)
    }

    fn create_account(&self, a: &NewAccount) -> Result<AccountId, StoreError> {
        let kind = serde_json::to_string(&a.kind).map_err(|e| corrupt("account", e))?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO account (kind, id_number, unit_code, name, mobile, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                kind,
                a.id_number.as_ref().map(IdNumber::as_str),
                a.unit_code,
                a.name,
                a.mobile.as_str(),
                a.password_hash,
                a.created_at
            ],
        )
        .map_err(insert_error("account"))?;
        Ok(conn.last_insert_rowid())
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.reader()?
            .prepare_cached("SELECT * FROM account WHERE id = ?1")
            .map_err(db)?
            .query_row([id], account_from_row)
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn account_by_id_number(&self, id: &IdNumber) -> Result<Option<Account>, StoreError> {
        self.conn()
            .query_row(
                "SELECT * FROM account WHERE id_number = ?1",
                [id.as_str()],
                account_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn account_by_mobile(&self, mobile: &MobileNumber) -> Result<Option<Account>, StoreError> {
        // A number can belong to several accounts (a person and a unit's agent); sign-in by
        // mobile takes the person's.
        self.conn()
            .query_row(
                "SELECT * FROM account WHERE mobile = ?1 ORDER BY id_number IS NULL, id LIMIT 1",
                [mobile.as_str()],
                account_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn account_by_unit_code(&self, code: &str) -> Result<Option<Account>, StoreError> {
        self.conn()
            .query_row(
                "SELECT * FROM account WHERE unit_code = ?1",
                [code],
                account_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn set_account_kind(
        &self,
        id: AccountId,
        kind: UserKind,
        id_card_validity: Option<IdCardValidity>,
    ) -> Result<(), StoreError> {
        let kind = serde_json::to_string(&kind).map_err(|e| corrupt("account", e))?;
        self.conn()
            .execute(
                "UPDATE account SET kind = ?1,
                   id_card_validity = coalesce(?2, id_card_validity) WHERE id = ?3",
                params![kind, id_card_validity.map(|v| v.to_string()), id],
            )
            .map_err(db)?;
        Ok(())
    }

    fn create_unit(&self, a: &NewAccount, papers: &UnitPapers) -> Result<AccountId, StoreError> {
        let kind = serde_json::to_string(&a.kind).map_err(|e| corrupt("account", e))?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO account (kind, id_number, unit_code, name, mobile, password_hash, created_at)
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6)",
            params![kind, a.unit_code, a.name, a.mobile.as_str(), a.password_hash, a.created_at],
        )
        .map_err(insert_error("unit"))?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO unit_papers (account_id, agent_name, agent_id_number, attorney, attorney_type)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                papers.agent_name.as_str(),
                papers.agent_id_number.as_str(),
                papers.attorney,
                papers.attorney_type
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(id)
    }

    fn add_review(&self, r: &IdCardReview) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO id_card_review (account_id, front, back, validity, state, reason,
               submitted_at, decided_at, decided_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                r.account,
                r.front,
                r.back,
                r.validity.to_string(),
                r.state.as_str(),
                r.reason,
                r.submitted_at,
                r.decided_at,
                r.decided_by
            ],
        )
        .map_err(db)?;
        Ok(conn.last_insert_rowid())
    }

    fn review(&self, id: i64) -> Result<Option<IdCardReview>, StoreError> {
        self.conn()
            .query_row(
                "SELECT * FROM id_card_review WHERE id = ?1",
                [id],
                review_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn reviews_of(&self, account: AccountId) -> Result<Vec<IdCardReview>, StoreError> {
        self.reviews_where("account_id = ?1 ORDER BY id", [account])
    }

    fn pending_reviews(&self) -> Result<Vec<IdCardReview>, StoreError> {
        self.reviews_where("state = ?1 ORDER BY submitted_at, id", ["pending"])
    }

    fn decide_review(
        &self,
        id: i64,
        state: ReviewState,
        reason: Option<&str>,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE id_card_review SET state = ?1, reason = ?2, decided_by = ?3, decided_at = ?4
                 WHERE id = ?5 AND state = 'pending'",
                params![state.as_str(), reason, by, at, id],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn create_staff(&self, s: &Staff) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO staff (username, name, role, password_hash) VALUES (?1, ?2, ?3, ?4)",
            params![s.username, s.name, s.role.as_str(), s.password_hash],
        )
        .map_err(insert_error("staff username"))?;
        Ok(conn.last_insert_rowid())
    }

    fn staff_by_username(&self, username: &str) -> Result<Option<Staff>, StoreError> {
        self.conn()
            .query_row(
                "SELECT id, username, name, role, password_hash FROM staff WHERE username = ?1",
                [username],
                staff_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn staff_list(&self) -> Result<Vec<Staff>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, username, name, role, password_hash FROM staff ORDER BY username")
            .map_err(db)?;
        let rows = stmt.query_map([], staff_from_row).map_err(db)?;
        rows.map(|r| r.map_err(db)?).collect()
    }

    fn put_staff_session(
        &self,
        token_hash: &[u8],
        staff: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO staff_session (token_hash, staff_id, csrf, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, staff, csrf, expires_at],
            )
            .map_err(insert_error("staff session"))?;
        Ok(())
    }

    fn staff_session(&self, token_hash: &[u8]) -> Result<Option<StaffSession>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT s.id, s.username, s.name, s.role, s.password_hash, ss.csrf, ss.expires_at
                 FROM staff_session ss JOIN staff s ON s.id = ss.staff_id
                 WHERE ss.token_hash = ?1",
                [token_hash],
                |r| {
                    Ok((
                        staff_from_row(r)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        match row {
            None => Ok(None),
            Some((staff, csrf, expires_at)) => Ok(Some(StaffSession {
                staff: staff?,
                csrf,
                expires_at,
            })),
        }
    }

    fn delete_staff_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM staff_session WHERE token_hash = ?1",
                [token_hash],
            )
            .map_err(db)?;
        Ok(())
    }

    fn audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![e.at, e.actor, e.action, e.detail],
            )
            .map_err(db)?;
        Ok(())
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?1")
            .map_err(db)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn record_event(&self, kind: &str, key: &str, at: i64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO limit_event (kind, key, at) VALUES (?1, ?2, ?3)",
                params![kind, key, at],
            )
            .map_err(db)?;
        Ok(())
    }

    fn count_events(&self, kind: &str, key: &str, since: i64) -> Result<u32, StoreError> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM limit_event WHERE kind = ?1 AND key = ?2 AND at >= ?3",
                params![kind, key, since],
                |r| r.get(0),
            )
            .map_err(db)
    }

    fn last_event(&self, kind: &str, key: &str) -> Result<Option<i64>, StoreError> {
        self.conn()
            .query_row(
                "SELECT max(at) FROM limit_event WHERE kind = ?1 AND key = ?2",
                params![kind, key],
                |r| r.get(0),
            )
            .map_err(db)
    }

    fn clear_events(&self, kind: &str, key: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM limit_event WHERE kind = ?1 AND key = ?2",
                params![kind, key],
            )
            .map_err(db)?;
        Ok(())
    }

    fn put_challenge(&self, c: &SmsChallenge) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO sms_challenge (id, purpose, subject, name, mobile, code_hash, salt,
                   created_at, expires_at, attempts, consumed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    c.id,
                    c.purpose.as_str(),
                    c.subject,
                    c.name,
                    c.mobile.as_str(),
                    c.code_hash,
                    c.salt,
                    c.created_at,
                    c.expires_at,
                    c.attempts,
                    c.consumed
                ],
            )
            .map_err(insert_error("challenge"))?;
        Ok(())
    }

    fn challenge(&self, id: &str) -> Result<Option<SmsChallenge>, StoreError> {
        self.conn()
            .query_row(
                "SELECT * FROM sms_challenge WHERE id = ?1",
                [id],
                challenge_from_row,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn count_attempt(&self, id: &str) -> Result<u32, StoreError> {
        self.conn()
            .query_row(
                "UPDATE sms_challenge SET attempts = attempts + 1 WHERE id = ?1 RETURNING attempts",
                [id],
                |r| r.get(0),
            )
            .map_err(db)
    }

    fn consume_challenge(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE sms_challenge SET consumed = 1 WHERE id = ?1 AND consumed = 0",
                [id],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn delete_challenge(&self, id: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM sms_challenge WHERE id = ?1", [id])
            .map_err(db)?;
        Ok(())
    }

    fn put_session(&self, token_hash: &[u8], s: &Session) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO session (token_hash, account_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, s.account, s.created_at, s.expires_at],
            )
            .map_err(insert_error("session"))?;
        Ok(())
    }

    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>, StoreError> {
        self.reader()?
            .prepare_cached(
                "SELECT account_id, created_at, expires_at FROM session WHERE token_hash = ?1",
            )
            .map_err(db)?
            .query_row([token_hash], |r| {
                Ok(Session {
                    account: r.get(0)?,
                    created_at: r.get(1)?,
                    expires_at: r.get(2)?,
                })
            })
            .optional()
            .map_err(db)
    }

    fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM session WHERE token_hash = ?1", [token_hash])
            .map_err(db)?;
        Ok(())
    }

    fn add_device(&self, d: &Device) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO device (account_id, public_key, name, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![d.account, d.public_key, d.name, d.created_at],
        )
        .map_err(insert_error("device"))?;
        Ok(conn.last_insert_rowid())
    }

    fn devices(&self, account: AccountId) -> Result<Vec<Device>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, account_id, public_key, name, created_at FROM device
                 WHERE account_id = ?1 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([account], |r| {
                Ok(Device {
                    id: r.get(0)?,
                    account: r.get(1)?,
                    public_key: r.get(2)?,
                    name: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Group commit: the submission joins a queue; whichever submitting thread gets the
    /// writer next stores everything queued in one transaction and one disk flush, then
    /// answers each. Under a surge many submissions share a flush; alone, one waits for none.
    fn submit_application(&self, new: Application) -> Result<Submitted, StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        lock(&self.pending).push(PendingSubmission {
            application: new,
            reply,
        });
        let mut conn = self.conn();
        // A committer answers before it lets the writer go: no answer yet means this
        // submission is still queued, and this thread commits it with the rest.
        if let Ok(result) = answer.try_recv() {
            return result;
        }
        let batch = std::mem::take(&mut *lock(&self.pending));
        commit_submissions(&mut conn, batch);
        drop(conn);
        answer
            .try_recv()
            .unwrap_or_else(|_| Err(StoreError::Database("a submission went unanswered".into())))
    }

    fn application(&self, id: i64) -> Result<Option<Application>, StoreError> {
        Ok(self.applications_where("id = ?1", [id])?.pop())
    }

    fn applications_of(&self, account: AccountId) -> Result<Vec<Application>, StoreError> {
        self.applications_where("account_id = ?1 ORDER BY id DESC", [account])
    }

    fn unchecked_applications(&self, limit: usize) -> Result<Vec<Application>, StoreError> {
        self.applications_where(
            // Spelled as in the partial index of migration 7, so that the index is used.
            "status = 'submitted' AND check_result IS NULL ORDER BY id LIMIT ?1",
            [limit as i64],
        )
    }

    fn review_queue(&self) -> Result<Vec<Application>, StoreError> {
        self.applications_where(
            "status = ?1 ORDER BY due_at, id",
            [ApplicationStatus::UnderReview.to_string()],
        )
    }

    fn record_checks(&self, checks: &[PhotoCheckRecord]) -> Result<Vec<bool>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let mut applied = Vec::with_capacity(checks.len());
        for c in checks {
            let to = state_json(&c.to)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE application SET check_result = ?1, cropped = ?2, state = ?3,
                       status = ?4, updated_at = strftime('%s','now')
                     WHERE id = ?5 AND state = ?6",
                )
                .map_err(db)?
                .execute(params![
                    c.check,
                    c.cropped,
                    to,
                    c.to.status().to_string(),
                    c.id,
                    state_json(&c.from)?
                ])
                .map_err(db)?;
            if changed == 1 && c.to != c.from {
                tx.prepare_cached(
                    "INSERT INTO application_event (application_id, at, actor, state)
                     VALUES (?1, strftime('%s','now'), 'photo check', ?2)",
                )
                .map_err(db)?
                .execute(params![c.id, to])
                .map_err(db)?;
            }
            applied.push(changed == 1);
        }
        tx.commit().map_err(db)?;
        Ok(applied)
    }

    fn transition(
        &self,
        id: i64,
        from: &ApplicationState,
        to: &ApplicationState,
        actor: &str,
        resubmitted: Option<Resubmitted<'_>>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let changed = tx
            .execute(
                "UPDATE application SET state = ?1, status = ?2, updated_at = ?3 WHERE id = ?4 AND state = ?5",
                params![state_json(to)?, to.status().to_string(), at, id, state_json(from)?],
            )
            .map_err(db)?;
        if changed == 1 {
            if let Some(r) = resubmitted {
                tx.execute(
                    "UPDATE application SET photo_source = ?1, photo = ?2, cropped = NULL,
                       check_result = NULL, submitted_at = ?3, due_at = ?4 WHERE id = ?5",
                    params![r.photo_source, r.photo, at, r.due_at, id],
                )
                .map_err(db)?;
            }
            tx.execute(
                "INSERT INTO application_event (application_id, at, actor, state) VALUES (?1, ?2, ?3, ?4)",
                params![id, at, actor, state_json(to)?],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(changed == 1)
    }

    fn status_index(&self, account: AccountId) -> Result<u32, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT idx FROM status_index WHERE account_id = ?1",
                [account],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let idx = match existing {
            Some(idx) => idx,
            None => {
                let next: i64 = tx
                    .query_row(
                        "SELECT coalesce(max(idx) + 1, 0) FROM status_index",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                tx.execute(
                    "INSERT INTO status_index (account_id, idx) VALUES (?1, ?2)",
                    params![account, next],
                )
                .map_err(db)?;
                next
            }
        };
        tx.commit().map_err(db)?;
        u32::try_from(idx).map_err(|e| corrupt("status_index", e))
    }

    fn status_entries(
        &self,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<licence_core::LicenceStatus>)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT s.idx, l.record FROM status_index s
                 JOIN account a ON a.id = s.account_id
                 LEFT JOIN registry_licence l ON l.id_number = a.id_number
                 ORDER BY s.idx",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(db)?;
        let mut entries = Vec::new();
        for row in rows {
            let (idx, record) = row.map_err(db)?;
            let status = record
                .map(|r| serde_json::from_str::<DrivingLicence>(&r).map(|l| l.status_on(today)))
                .transpose()
                .map_err(|e| corrupt("registry_licence", e))?;
            entries.push((
                u32::try_from(idx).map_err(|e| corrupt("status_index", e))?,
                status,
            ));
        }
        Ok(entries)
    }

    fn enqueue_sms(
        &self,
        event_key: &str,
        to: &MobileNumber,
        text: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let added = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO sms_outbox (event_key, to_mobile, text, created_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![event_key, to.as_str(), text, at],
            )
            .map_err(db)?;
        Ok(added == 1)
    }

    fn due_sms(&self, now: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        self.outbox_where(
            "sent_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            params![now, limit as i64],
        )
    }

    fn sms_sent(&self, id: i64, message_id: &str, at: i64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE sms_outbox SET sent_at = ?1, message_id = ?2, attempts = attempts + 1,
                   last_error = NULL WHERE id = ?3",
                params![at, message_id, id],
            )
            .map_err(db)?;
        Ok(())
    }

    fn sms_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE sms_outbox SET attempts = attempts + 1, last_error = ?1, next_attempt_at = ?2
                 WHERE id = ?3",
                params![error, next_attempt_at, id],
            )
            .map_err(db)?;
        Ok(())
    }

    fn outbox_message(&self, event_key: &str) -> Result<Option<OutboxMessage>, StoreError> {
        Ok(self.outbox_where("event_key = ?1", [event_key])?.pop())
    }

    fn add_to_inbox(
        &self,
        account: AccountId,
        event_key: &str,
        title: &str,
        body: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let added = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO inbox_message (account_id, event_key, title, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account, event_key, title, body, at],
            )
            .map_err(db)?;
        Ok(added == 1)
    }

    fn inbox(
        &self,
        account: AccountId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, title, body, created_at, read_at FROM inbox_message
                 WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![account, after, limit as i64], |r| {
                Ok(InboxMessage {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    body: r.get(2)?,
                    created_at: r.get(3)?,
                    read_at: r.get(4)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn mark_read(&self, account: AccountId, id: i64, at: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE inbox_message SET read_at = coalesce(read_at, ?1) WHERE id = ?2 AND account_id = ?3",
                params![at, id, account],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use licence_core::testdata::sample_licence;

    fn entry() -> RegistryEntry {
        let licence = sample_licence();
        RegistryEntry {
            id_number: licence.record().number,
            name: licence.record().name.clone(),
            reserved_mobile: "13800138000".parse().unwrap(),
            photo: Some(vec![0xFF, 0xD8, 0xFF, 0xD9]),
            licence: Some(licence),
        }
    }

    #[test]
    fn migrations_run_once_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        let page_size: i64 = store
            .conn()
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        assert_eq!(page_size, PAGE_SIZE);
        store.put_registry_entry(&entry()).unwrap();
        drop(store);
        // Reopening keeps the data and runs nothing again.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.registry_size().unwrap(), 1);
        store
            .conn()
            .pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        drop(store);
        let Err(StoreError::Database(message)) = SqliteStore::open(&path) else {
            panic!("a newer schema must be refused");
        };
        assert!(message.contains("newer"), "{message}");
    }

    #[test]
    fn the_registry_round_trips_and_replaces() {
        let store = SqliteStore::in_memory().unwrap();
        let mut e = entry();
        store.put_registry_entry(&e).unwrap();
        assert_eq!(store.registry_entry(&e.id_number).unwrap(), Some(e.clone()));
        e.photo = None;
        e.licence = None;
        store.put_registry_entry(&e).unwrap();
        assert_eq!(store.registry_entry(&e.id_number).unwrap(), Some(e));
        assert_eq!(store.registry_size().unwrap(), 1);
    }

    #[test]
    fn a_second_account_for_one_person_is_a_duplicate() {
        let store = SqliteStore::in_memory().unwrap();
        let e = entry();
        let new = NewAccount {
            kind: UserKind::OnlineRegistered,
            id_number: Some(e.id_number),
            unit_code: None,
            name: "张伟".into(),
            mobile: e.reserved_mobile,
            password_hash: "x".into(),
            created_at: 1,
        };
        let id = store.create_account(&new).unwrap();
        assert!(matches!(
            store.create_account(&new),
            Err(StoreError::Duplicate("account"))
        ));
        let account = store.account_by_id_number(&e.id_number).unwrap().unwrap();
        assert_eq!((account.id, account.kind), (id, UserKind::OnlineRegistered));
    }

    #[test]
    fn concurrent_submissions_are_group_committed_each_answered_right() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("p.sqlite")).unwrap());
        const ACCOUNTS: i64 = 24;
        let accounts: Vec<AccountId> = (0..ACCOUNTS)
            .map(|i| {
                store
                    .create_account(&NewAccount {
                        kind: UserKind::OnlineRegistered,
                        id_number: None,
                        unit_code: Some(format!("U{i}")),
                        name: "单位".into(),
                        mobile: "13800138000".parse().unwrap(),
                        password_hash: "x".into(),
                        created_at: 1,
                    })
                    .unwrap()
            })
            .collect();
        let application = |account: AccountId, key: &str| Application {
            id: 0,
            account,
            idempotency_key: key.into(),
            photo_source: "album".into(),
            photo: vec![0xFF, 0xD8, account as u8],
            cropped: None,
            check: None,
            state: ApplicationState::Submitted,
            submitted_at: 10,
            due_at: 20,
            updated_at: 10,
        };
        // Every account submits three times at once from three threads: twice with one key
        // (a retry) and once with another (a second application while one is open).
        let outcomes: Vec<(AccountId, &str, Submitted)> = std::thread::scope(|s| {
            let handles: Vec<_> = accounts
                .iter()
                .flat_map(|&a| [(a, "k1"), (a, "k1"), (a, "k2")])
                .map(|(a, key)| {
                    let (store, app) = (store.clone(), application(a, key));
                    s.spawn(move || (a, key, store.submit_application(app).unwrap()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for &account in &accounts {
            let stored = store.applications_of(account).unwrap();
            assert_eq!(stored.len(), 1, "one application per account");
            let mine: Vec<&Submitted> = outcomes
                .iter()
                .filter(|(a, _, _)| *a == account)
                .map(|(_, _, o)| o)
                .collect();
            let created = mine
                .iter()
                .filter(|o| matches!(o, Submitted::Created(_)))
                .count();
            assert_eq!(created, 1, "{mine:?}");
            for (_, key, outcome) in outcomes.iter().filter(|(a, _, _)| *a == account) {
                let app = match outcome {
                    Submitted::Created(app)
                    | Submitted::Replayed(app)
                    | Submitted::OpenExists(app) => app,
                };
                assert_eq!(app.id, stored[0].id);
                // A retry with the key that won replays it; the other key finds it open.
                if *key == stored[0].idempotency_key {
                    assert!(
                        matches!(outcome, Submitted::Created(_) | Submitted::Replayed(_)),
                        "{outcome:?}"
                    );
                } else {
                    assert!(matches!(outcome, Submitted::OpenExists(_)), "{outcome:?}");
                }
            }
        }
        // A later submission alone is answered at once (no batch left half-done).
        let later = store
            .submit_application(application(accounts[0], "k3"))
            .unwrap();
        assert!(matches!(later, Submitted::OpenExists(_)));
    }

    #[test]
    fn a_code_is_consumed_once() {
        let store = SqliteStore::in_memory().unwrap();
        let c = SmsChallenge {
            id: "c1".into(),
            purpose: CodePurpose::Registration,
            subject: "s".into(),
            name: "张伟".into(),
            mobile: "13800138000".parse().unwrap(),
            code_hash: vec![1; 32],
            salt: vec![2; 16],
            created_at: 0,
            expires_at: 300,
            attempts: 0,
            consumed: false,
        };
        store.put_challenge(&c).unwrap();
        assert_eq!(store.count_attempt("c1").unwrap(), 1);
        assert!(store.consume_challenge("c1").unwrap());
        assert!(!store.consume_challenge("c1").unwrap());
        let back = store.challenge("c1").unwrap().unwrap();
        assert_eq!((back.attempts, back.consumed), (1, true));
    }
}
