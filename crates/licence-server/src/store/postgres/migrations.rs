//! The PostgreSQL schema as numbered `.sql` files beside this one, built into the binary.
//!
//! Each migration runs once, in order, and `schema_migration` records it. Several instances
//! starting together must not both migrate: the whole run holds a transaction-scoped
//! advisory lock, and an instance that waited finds the work done. (rusqlite_migration,
//! used for SQLite, has no PostgreSQL side, and the general crates run each file in its own
//! transaction without such a lock; twenty lines here are simpler than working around that.)
//! Never edit a published migration: add the next file and its line to `STEPS`.

use deadpool_postgres::GenericClient;

use super::{exec, one, pg};
use crate::store::StoreError;

/// The migrations, oldest first: migration `n` brings a database from version `n - 1` to `n`.
const STEPS: [&str; 3] = [
    include_str!("migrations/0001_schema.sql"),
    include_str!("migrations/0002_application_event_at.sql"),
    include_str!("migrations/0003_submit_applications.sql"),
];

/// How many migrations this program knows: the version of a database it brought up to date.
pub(super) const LATEST: usize = STEPS.len();

/// The advisory lock that serialises migrations (any fixed number; this one spells "LICM").
const MIGRATION_LOCK: i64 = 0x4C49_434D;

/// The database's schema version (0 for an empty database).
pub(super) async fn version<C: GenericClient>(c: &C) -> Result<usize, StoreError> {
    let exists: bool = one(c, "SELECT to_regclass('schema_migration') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let v: i32 = one(
        c,
        "SELECT coalesce(max(version), 0) FROM schema_migration",
        &[],
    )
    .await?
    .get(0);
    Ok(usize::try_from(v).unwrap_or(0))
}

/// Brings the schema up to date, in one transaction; refuses a database made by a newer
/// program (it would not know that program's tables).
pub(super) async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migration (
             version INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg)?;
    let current = version(&tx).await?;
    if current > LATEST {
        return Err(StoreError::Database(format!(
            "the database is at schema version {current}, newer than this program \
             ({LATEST}); use a newer licence-server"
        )));
    }
    for (n, sql) in STEPS.iter().enumerate().skip(current) {
        let number = i32::try_from(n + 1).expect("few migrations");
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Database(format!("migration {number}: {e}")))?;
        exec(
            &tx,
            "INSERT INTO schema_migration (version) VALUES ($1)",
            &[&number],
        )
        .await?;
    }
    tx.commit().await.map_err(pg)
}
