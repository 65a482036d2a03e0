//! The PostgreSQL store, for deployments that outgrow one machine: several stateless
//! instances of the platform share one database (docs/scale.md). One module per piece of
//! the store, as for SQLite; this one holds the pool and the bridge from the store's
//! blocking interface to the async client.
//!
//! The client is tokio-postgres (pure Rust: no libpq to install, binary protocol, prepared
//! statements) with deadpool-postgres's pool, whose per-connection statement cache means a
//! statement is parsed once per connection, not once per call. The store's methods are
//! blocking, like SQLite's, and the platform calls them from tokio's blocking threads; each
//! runs its queries to completion on a small runtime of the store's own, which also drives
//! the connections. So the store works the same from a blocking thread, the command line
//! or a test, and its connections never depend on the caller's runtime.

mod access;
mod applications;
mod messages;
mod migrations;
mod registry;
mod staff;

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::group_commit::GroupCommit;
use super::{Application, StoreError, Submitted};

/// Every connection's transactions are READ COMMITTED, whatever the server's default: the
/// locks the pieces take (advisory locks, FOR UPDATE, the submission function's account
/// lock) rely on each statement seeing what committed before it.
const READ_COMMITTED: &str = "-c default_transaction_isolation=read\\ committed";

/// Connections per instance at most. Every request holds one only while its queries run
/// (a few milliseconds), and admission control bounds the requests in flight; several
/// instances of this size stay far below PostgreSQL's default of 100 connections.
const POOL_SIZE: usize = 16;

/// How long a call waits for a free connection, or for a new one to open, before it fails:
/// a database that does not answer becomes a quick error (503 to the caller, who retries),
/// not a pile of waiting requests.
const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// Batches of submissions stored at once (`store::group_commit`): two lanes keep a
/// commit's round trip and flush from idling the other (one lane measured 0.6 of two's
/// capacity with batches of one); more only queue inside PostgreSQL for the same log flush.
const SUBMISSION_LANES: usize = 2;
/// Submissions per batch at most, and their photos' bytes: a batch is one message, and the
/// connection that sent it keeps a buffer as large (64 photos of 22 KB held ~80 MiB more
/// over the pool's connections than 8 did; docs/performance.md).
const SUBMISSION_BATCH: usize = 64;
const SUBMISSION_BATCH_BYTES: usize = 256 << 10;

pub struct PostgresStore {
    pool: Pool,
    /// Submissions waiting for the next group commit (see `submit_application`).
    submissions: GroupCommit<Application, Submitted>,
    /// Drives the connections and runs each call; `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which a runtime's own task must not do
        // (the platform's last reference may go in one): let them end on their own.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        write!(
            f,
            "PostgresStore({} of {} connections idle)",
            status.available, status.size
        )
    }
}

/// The URL without its `sslrootcert=FILE` (libpq's spelling, which tokio-postgres does not
/// read), and that file.
fn take_root_cert(url: &str) -> Result<(String, Option<std::path::PathBuf>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslrootcert", value)) => {
                let path = percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| {
                        StoreError::Database("the PostgreSQL URL: sslrootcert is not UTF-8".into())
                    })?;
                root_cert = Some(std::path::PathBuf::from(path.as_ref()));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, root_cert))
}

/// TLS for the connections, from the URL's `sslmode` and `sslrootcert`:
/// - `sslrootcert=FILE`: TLS with the server's certificate verified against the CA
///   certificates in FILE (`sslmode=prefer`, the default, still connects in plain to a server
///   without TLS; `require` does not);
/// - `sslmode=require` without `sslrootcert` is refused: unlike libpq, the platform does not
///   encrypt to a server it has not verified (anyone on the path could be that server);
/// - otherwise plain, as to a database on the same machine or a private link.
fn tls_for(
    config: &tokio_postgres::Config,
    root_cert: Option<&std::path::Path>,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, StoreError> {
    use tokio_postgres::config::SslMode;
    match (config.get_ssl_mode(), root_cert) {
        (SslMode::Disable, _) => Ok(None),
        (_, Some(ca)) => {
            let tls = licence_tls::client_config(ca).map_err(|e| {
                StoreError::Database(format!("the PostgreSQL URL's sslrootcert: {e}"))
            })?;
            Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
        }
        (SslMode::Require, None) => Err(StoreError::Database(
            "the PostgreSQL URL says sslmode=require but names no sslrootcert=FILE: give the \
             PEM file of the CA that signed the database server's certificate"
                .into(),
        )),
        (_, None) => Ok(None),
    }
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// A client error with what the server said: tokio-postgres's own text for a server error
/// is only "db error", so the SQLSTATE and message are taken from it.
fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        // Worth the same request again in a moment: the server shutting down or restarting
        // (57P), a connection fault (08), a primary just demoted to a replica (25006), a
        // deadlock or serialisation failure (40P01, 40001).
        Some(server) if transient(server.code().code()) => {
            StoreError::Unavailable(server.message().to_owned())
        }
        Some(server) => {
            StoreError::Database(format!("{} ({})", server.message(), server.code().code()))
        }
        // No answer from the server: the connection broke (a restart, a network fault).
        None if e.is_closed()
            || std::error::Error::source(&e)
                .is_some_and(|cause| cause.downcast_ref::<std::io::Error>().is_some()) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        None => StoreError::Database(e.to_string()),
    }
}

/// SQLSTATEs after which the same request may succeed a moment later.
fn transient(code: &str) -> bool {
    code.starts_with("57P") || code.starts_with("08") || matches!(code, "25006" | "40001" | "40P01")
}

/// Maps a unique or primary-key violation to `Duplicate`.
fn insert_error(what: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::Duplicate(what)
        } else {
            pg(e)
        }
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

/// Parameters of a statement.
type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Runs a statement (prepared once per connection); how many rows it touched.
async fn exec<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.execute(&statement, params).await.map_err(pg)
}

/// [`exec`] with a unique violation reported as `Duplicate(what)`.
async fn insert<C: GenericClient>(
    c: &C,
    what: &'static str,
    sql: &str,
    params: &Params<'_>,
) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.execute(&statement, params)
        .await
        .map_err(insert_error(what))
}

/// Runs an `INSERT … RETURNING id`, with a unique violation reported as `Duplicate(what)`;
/// the new row's id.
async fn insert_id<C: GenericClient>(
    c: &C,
    what: &'static str,
    sql: &str,
    params: &Params<'_>,
) -> Result<i64, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    let row = c
        .query_one(&statement, params)
        .await
        .map_err(insert_error(what))?;
    row.try_get(0).map_err(db)
}

/// The rows of a query.
async fn rows<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.query(&statement, params).await.map_err(pg)
}

/// The row of a query that finds at most one.
async fn row<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.query_opt(&statement, params).await.map_err(pg)
}

/// The row of a query that always finds one (`RETURNING`, `count(*)`).
async fn one<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> Result<Row, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.query_one(&statement, params).await.map_err(pg)
}

/// Column `i` of a row, with a type mismatch reported as a corrupt row of `table`.
fn get<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    table: &'static str,
    i: usize,
) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| corrupt(table, e))
}

/// Takes a transaction-scoped advisory lock on `key` (released at commit or rollback): the
/// way two instances agree that only one at a time reads and changes what `key` names (a
/// limit's events, say), where no row exists yet to lock.
async fn lock_key<C: GenericClient>(c: &C, key: &str) -> Result<(), StoreError> {
    exec(
        c,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&key],
    )
    .await
    .map(|_| ())
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, or with
    /// `?host=/socket/dir`) and brings its schema up to date. Several instances may do this
    /// at once: the migrations run under a lock, once.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, READ_COMMITTED)
    }

    /// Connects for loading much at once (a load test's drivers, say): a commit returns
    /// before its log record is flushed to disk (`synchronous_commit = off`). A crash of
    /// PostgreSQL may lose the last moments of the load, never leave the database corrupt;
    /// the platform itself always connects with [`PostgresStore::connect`].
    pub fn connect_for_bulk_load(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, &format!("{READ_COMMITTED} -c synchronous_commit=off"))
    }

    fn connect_with(url: &str, options: &str) -> Result<PostgresStore, StoreError> {
        let (url, root_cert) = take_root_cert(url)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the PostgreSQL URL: {e}")))?;
        config.options(options);
        let tls = tls_for(&config, root_cert.as_deref())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(db)?;
        let manager_config = ManagerConfig {
            // A connection the server closed (a restart) is noticed and replaced when it is
            // next taken; an extra query per call to check would cost every call.
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls {
            Some(tls) => Manager::from_config(config, tls, manager_config),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECTION_WAIT))
            .create_timeout(Some(CONNECTION_WAIT))
            .build()
            .map_err(db)?;
        let store = PostgresStore {
            pool,
            submissions: GroupCommit::new(
                SUBMISSION_LANES,
                SUBMISSION_BATCH,
                SUBMISSION_BATCH_BYTES,
                |a| a.photo.len(),
            ),
            runtime: Some(runtime),
        };
        store.run(async {
            let mut client = store.client().await?;
            migrations::migrate(&mut client).await
        })?;
        Ok(store)
    }

    /// Whether the store's connections to PostgreSQL are encrypted (`pg_stat_ssl` of one).
    pub fn connection_encrypted(&self) -> Result<bool, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let ssl = one(
                &c,
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await?;
            get(&ssl, "pg_stat_ssl", 0)
        })
    }

    /// Creates the empty database `name` on the PostgreSQL server at `server_url` (a URL
    /// without a database, `postgres://user@host:port`), for a test or a benchmark that
    /// wants one of its own; returns the new database's URL. The name is letters, digits
    /// and `_` only.
    pub fn create_database(server_url: &str, name: &str) -> Result<String, StoreError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Database(format!(
                "a database name is letters, digits and _: {name:?}"
            )));
        }
        let base = server_url.trim_end_matches('/');
        let admin: tokio_postgres::Config = format!("{base}/postgres")
            .parse()
            .map_err(|e| StoreError::Database(format!("the PostgreSQL URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(db)?;
        runtime.block_on(async {
            let (client, connection) = admin.connect(NoTls).await.map_err(pg)?;
            let driver = tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .map_err(pg)?;
            drop(client);
            let _ = driver.await;
            Ok(format!("{base}/{name}"))
        })
    }

    /// How many migrations the database has had.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        self.run(async {
            let client = self.client().await?;
            migrations::version(&client).await
        })
    }

    /// Runs one call of the store to completion. Called from a blocking thread (never from
    /// a task of a runtime, which it would stall).
    fn run<T>(&self, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        self.runtime
            .as_ref()
            .expect("present until dropped")
            .block_on(work)
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            // With its causes: "error performing TLS handshake" alone does not say that
            // the server's certificate is of an unknown issuer.
            let mut text = format!("no connection to PostgreSQL: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            StoreError::Unavailable(text)
        })
    }

    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    async fn in_transaction<T>(
        &self,
        work: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client().await?;
        // READ COMMITTED, as every connection of the store asks for ([`READ_COMMITTED`]).
        let tx = client.transaction().await.map_err(pg)?;
        let value = work(&tx).await?;
        tx.commit().await.map_err(pg)?;
        Ok(value)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Barrier};

    use super::PostgresStore;

    /// A store on a new, empty database of the test cluster that `cargo xtask test postgres`
    /// starts and names in `LICENCE_TEST_POSTGRES` (a server URL without a database).
    pub(crate) fn fresh_store() -> PostgresStore {
        PostgresStore::connect(&fresh_database()).unwrap()
    }

    /// The URL of a new, empty database of the test cluster.
    fn fresh_database() -> String {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let server = std::env::var("LICENCE_TEST_POSTGRES").expect(
            "LICENCE_TEST_POSTGRES names the test cluster: run `cargo xtask test postgres`",
        );
        let name = format!(
            "unit_{}_{}_{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        PostgresStore::create_database(&server, &name).unwrap()
    }

    /// The test cluster also speaks TLS, with a certificate of the development CA that
    /// `LICENCE_TEST_POSTGRES_CA` names (both set by `cargo xtask test postgres`).
    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn connections_are_encrypted_and_verified_when_the_url_names_a_ca() {
        let ca = std::env::var("LICENCE_TEST_POSTGRES_CA").expect(
            "LICENCE_TEST_POSTGRES_CA names the test cluster's CA: run `cargo xtask test postgres`",
        );
        let with_ca = |url: &str, ca: &str| {
            let ca = percent_encoding::utf8_percent_encode(ca, percent_encoding::NON_ALPHANUMERIC);
            format!("{url}?sslmode=require&sslrootcert={ca}")
        };
        let url = fresh_database();
        // Without a CA in the URL, plain, as before (a database on the same machine).
        assert!(!PostgresStore::connect(&url)
            .unwrap()
            .connection_encrypted()
            .unwrap());
        let store = PostgresStore::connect(&with_ca(&url, &ca)).unwrap();
        assert!(store.connection_encrypted().unwrap());
        // Encryption to a server nobody verified is refused before connecting.
        let unverified = PostgresStore::connect(&format!("{url}?sslmode=require"))
            .err()
            .unwrap()
            .to_string();
        assert!(unverified.contains("sslrootcert=FILE"), "{unverified}");
        // A CA that did not sign the server's certificate: refused.
        let elsewhere = tempfile::tempdir().unwrap();
        let other = licence_tls::DevPki::ensure(elsewhere.path()).unwrap();
        let forged = PostgresStore::connect(&with_ca(&url, &other.ca_cert.to_string_lossy()))
            .err()
            .unwrap()
            .to_string();
        assert!(forged.to_lowercase().contains("certificate"), "{forged}");
        // A CA file that is not one.
        let junk = elsewhere.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let unreadable = PostgresStore::connect(&with_ca(&url, &junk.to_string_lossy()))
            .err()
            .unwrap()
            .to_string();
        assert!(unreadable.contains("sslrootcert"), "{unreadable}");
    }

    /// A database on the same machine is reached through the server's Unix socket, named as
    /// the URL's host, percent-encoded (how `cargo xtask bench-server --postgres` reaches its
    /// cluster): the schema is made, the store works, and the connection is plain (a socket
    /// carries no TLS). A directory with no server's socket in it is a clear error.
    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_database_is_reached_through_its_unix_socket() {
        use crate::store::AccessStore;
        let server = std::env::var("LICENCE_TEST_POSTGRES_SOCKET").expect(
            "LICENCE_TEST_POSTGRES_SOCKET names the test cluster's socket: run `cargo xtask test postgres`",
        );
        assert!(server.starts_with("postgres://postgres@%2F"), "{server}");
        let name = format!("socket_{}_{}", std::process::id(), rand::random::<u32>());
        let url = PostgresStore::create_database(&server, &name).unwrap();
        let store = PostgresStore::connect(&url).unwrap();
        assert!(!store.connection_encrypted().unwrap());
        assert!(store.schema_version().unwrap() > 0);
        store.record_event("sign_in", "socket", 100).unwrap();
        store.record_event("sign_in", "socket", 200).unwrap();
        assert_eq!(store.count_events("sign_in", "socket", 150).unwrap(), 1);
        assert_eq!(store.last_event("sign_in", "socket").unwrap(), Some(200));
        let nowhere = tempfile::tempdir().unwrap();
        let dir = percent_encoding::utf8_percent_encode(
            &nowhere.path().to_string_lossy(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let refused = PostgresStore::connect(&format!("postgres://postgres@{dir}:5432/{name}"))
            .err()
            .unwrap();
        assert!(
            matches!(refused, super::StoreError::Unavailable(_)),
            "{refused:?}"
        );
    }

    /// A store on a new database and a second instance on the same one, as two platform
    /// instances would have.
    pub(crate) fn two_instances() -> (Arc<PostgresStore>, Arc<PostgresStore>) {
        let store = fresh_store();
        let other = PostgresStore::connect(&store.url()).unwrap();
        (Arc::new(store), Arc::new(other))
    }

    /// Runs `work` on `threads` threads released together, taking turns between the two
    /// instances `stores`; what each returned, in thread order.
    pub(crate) fn race<T: Send + 'static>(
        stores: [&Arc<PostgresStore>; 2],
        threads: usize,
        work: impl Fn(usize, &PostgresStore) -> T + Send + Sync + 'static,
    ) -> Vec<T> {
        let work = Arc::new(work);
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (store, work, start) = (
                    Arc::clone(stores[i % 2]),
                    Arc::clone(&work),
                    Arc::clone(&start),
                );
                std::thread::spawn(move || {
                    start.wait();
                    work(i, &store)
                })
            })
            // Every thread started before any is joined: they wait for each other.
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    impl PostgresStore {
        /// The URL of this store's database in the test cluster, for a second instance.
        pub(crate) fn url(&self) -> String {
            let name: String = self
                .run(async {
                    let c = self.client().await?;
                    super::one(&c, "SELECT current_database()", &[]).await
                })
                .unwrap()
                .get(0);
            format!(
                "{}/{name}",
                std::env::var("LICENCE_TEST_POSTGRES")
                    .unwrap()
                    .trim_end_matches('/')
            )
        }
    }

    #[test]
    fn faults_worth_a_retry_are_told_from_the_rest() {
        for code in ["57P01", "57P03", "08006", "25006", "40001", "40P01"] {
            assert!(super::transient(code), "{code}");
        }
        for code in ["23505", "42P01", "22001", "XX000"] {
            assert!(!super::transient(code), "{code}");
        }
    }

    /// The locks rely on READ COMMITTED: the store's connections have it even where the
    /// server's default is stricter.
    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn transactions_are_read_committed_whatever_the_servers_default() {
        let store = fresh_store();
        let url = store.url();
        let name = url.rsplit('/').next().unwrap().to_owned();
        store
            .run(async {
                let c = store.client().await?;
                c.batch_execute(&format!(
                    "ALTER DATABASE {name} SET default_transaction_isolation = 'serializable'"
                ))
                .await
                .map_err(super::pg)
            })
            .unwrap();
        let again = PostgresStore::connect(&url).unwrap();
        let level: String = again
            .run(async {
                let c = again.client().await?;
                super::one(&c, "SHOW transaction_isolation", &[]).await
            })
            .unwrap()
            .get(0);
        assert_eq!(level, "read committed");
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn a_new_database_gets_the_whole_schema_once() {
        let store = fresh_store();
        assert_eq!(store.schema_version().unwrap(), super::migrations::LATEST);
        // Connecting again (another instance) finds nothing to do.
        let url = store.url();
        let again = PostgresStore::connect(&url).unwrap();
        assert_eq!(again.schema_version().unwrap(), super::migrations::LATEST);
    }
}
