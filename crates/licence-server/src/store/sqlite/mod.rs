//! The SQLite store: one file, WAL mode, versioned migrations. One module per piece of the
//! store; this one holds the connections they share.

mod access;
mod applications;
mod messages;
mod migrations;
mod registry;
mod staff;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Transaction};

use super::group_commit::GroupCommit;
use super::{Application, StoreError, Submitted};

/// Bytes per database page, for new databases.
const PAGE_SIZE: i64 = 16_384;

/// Submissions stored by one commit at most: bounded, though admission control's bound on
/// work in flight keeps batches far smaller. (Their bytes are not bounded: the batch stays
/// in this process, written row by row.)
const SUBMISSION_BATCH: usize = 256;

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
    /// Submissions waiting for the next group commit (see `submit_application`).
    submissions: GroupCommit<Application, Submitted>,
    /// Copies the WAL into the database file in the background; stops when dropped.
    _checkpointer: Option<Checkpointer>,
}

/// How often the background checkpointer copies what has been committed into the database
/// file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// WAL size at which a commit copies the WAL into the database where no checkpointer runs
/// (bulk loads, memory): 4 MB, as SQLite does with its default 4 KB pages; larger copies
/// stall the commit that triggers them for longer.
const COMMIT_CHECKPOINT_BYTES: i64 = 4 << 20;

/// The bytes of one page of the database `conn` has open.
fn page_size(conn: &Connection) -> rusqlite::Result<i64> {
    let size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    Ok(size.max(512))
}

/// WAL size at which a commit copies the WAL itself, should the checkpointer fall behind (or
/// not run): a backstop that keeps the file bounded.
const BACKSTOP_CHECKPOINT_BYTES: i64 = 64 << 20;

/// The background checkpointer: a thread with a connection of its own that copies the WAL
/// into the database file every [`CHECKPOINT_EVERY`].
///
/// SQLite's own automatic checkpoint runs inside the commit that crosses the threshold, while
/// our one writer is held: every few tens of submissions one of them waited for 4 MB to be
/// copied and the database file flushed, and so did every request queued behind it. A
/// PASSIVE checkpoint on another connection runs beside the writer: WAL mode lets writers
/// append while frames are copied.
struct Checkpointer {
    /// Dropping it ends the thread's wait, and the thread.
    _stop: std::sync::mpsc::Sender<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "SQLite background checkpoint");
                    }
                }
            })
            .map_err(|e| StoreError::Database(format!("starting the checkpointer: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
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

/// A stored counter as the `u32` the records carry (never negative, saturating above).
fn count(n: i64) -> u32 {
    n.clamp(0, i64::from(u32::MAX)) as u32
}

/// A new database file is made readable by its owner only before SQLite opens it (its -wal
/// and -shm files take the same mode): it holds ID numbers, phone numbers and faces.
fn create_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match made {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        create_private(path)
            .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        // The live database: WAL copies are the background checkpointer's; a commit does one
        // only as a backstop.
        let mut store = Self::setup(
            Connection::open(path).map_err(db)?,
            Some(path),
            "FULL",
            BACKSTOP_CHECKPOINT_BYTES,
        )?;
        store._checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// Opens the file for loading much at once (a load test's drivers, say): commits are not
    /// flushed to disk one by one. Call [`SqliteStore::flush`] at the end. A crash of the
    /// program loses nothing, but a power loss before `flush` may leave the file corrupt, so
    /// load into a new file, never into the platform's live database.
    pub fn open_for_bulk_load(path: &Path) -> Result<SqliteStore, StoreError> {
        create_private(path)
            .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        Self::setup(
            Connection::open(path).map_err(db)?,
            Some(path),
            "OFF",
            COMMIT_CHECKPOINT_BYTES,
        )
    }

    /// A private in-memory database (for tools and unit tests).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::setup(
            Connection::open_in_memory().map_err(db)?,
            None,
            "FULL",
            COMMIT_CHECKPOINT_BYTES,
        )
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

    /// How many migrations the database has had.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        migrations::version(&self.conn())
    }

    /// `checkpoint_bytes`: the WAL size at which a commit copies the WAL into the database.
    fn setup(
        mut conn: Connection,
        path: Option<&Path>,
        synchronous: &str,
        checkpoint_bytes: i64,
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
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint_bytes / page_size(&conn).map_err(db)?,
        )
        .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        migrations::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.map(Path::to_path_buf),
            readers: Mutex::new(ReaderPool::default()),
            reader_returned: std::sync::Condvar::new(),
            submissions: GroupCommit::new(1, SUBMISSION_BATCH, usize::MAX, |_| 0),
            _checkpointer: None,
        })
    }

    /// The writer, for writes and for reads that must see the latest write.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// Runs `work` in one transaction of the writer: committed if it returns `Ok`, rolled
    /// back otherwise.
    fn in_transaction<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let value = work(&tx)?;
        tx.commit().map_err(db)?;
        Ok(value)
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
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_journal_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.sqlite");
        let store = super::SqliteStore::open(&path).unwrap();
        crate::store::RegistryStore::put_registry_entry(
            &store,
            &crate::store::registry::tests::entry(),
        )
        .unwrap();
        for file in ["platform.sqlite", "platform.sqlite-wal"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file}: {mode:o}");
        }
    }

    /// Commits do not copy the WAL into the database file themselves (that stalled the
    /// writer): the background checkpointer does, soon after.
    #[test]
    fn what_is_committed_reaches_the_database_file_without_a_commit_copying_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.sqlite");
        let store = super::SqliteStore::open(&path).unwrap();
        let writer_threshold: i64 = store
            .conn()
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(
            writer_threshold * super::page_size(&store.conn()).unwrap(),
            super::BACKSTOP_CHECKPOINT_BYTES
        );
        let before = std::fs::metadata(&path).unwrap().len();
        // 3 MB in 192 commits: under SQLite's usual 4 MB threshold, far under the backstop.
        store
            .conn()
            .execute_batch("CREATE TABLE scratch (b BLOB)")
            .unwrap();
        for _ in 0..192 {
            store
                .conn()
                .execute("INSERT INTO scratch VALUES (randomblob(16384))", [])
                .unwrap();
        }
        let copied = |floor: u64| std::fs::metadata(&path).unwrap().len() >= floor;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !copied(before + (3 << 20)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            copied(before + (3 << 20)),
            "the database file is still {} bytes",
            std::fs::metadata(&path).unwrap().len()
        );
        // And the writer's data reads back whole.
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM scratch", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 192);
    }
}
