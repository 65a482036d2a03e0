//! The app's schema in numbered steps. A database records the last step it has taken in
//! `PRAGMA user_version`; opening it takes the steps after that one, each in a transaction
//! with the new version, so an upgrade interrupted half-way is taken again from where it
//! stood. A step, once released, is never edited: a change is a new step at the end.
//!
//! Databases made before versions were recorded (`user_version` 0 with tables in them) were
//! kept up to date by `CREATE TABLE IF NOT EXISTS` alone, which adds tables but never a
//! column. For them each step says how to tell that its change is already there; a step
//! whose change is missing is taken, the others only recorded.

use rusqlite::{Connection, Transaction};

use crate::ClientError;

/// One step of the schema.
struct Step {
    /// What the step does (for errors).
    name: &'static str,
    sql: &'static str,
    /// For a database from before versions were recorded: a query that counts more than zero
    /// when this step's change is already there.
    already_there: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        name: "0001_session_and_outbox",
        sql: include_str!("migrations/0001_session_and_outbox.sql"),
        already_there:
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'outbox'",
    },
    Step {
        name: "0002_licence_cache",
        sql: include_str!("migrations/0002_licence_cache.sql"),
        already_there:
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'licence_cache'",
    },
    Step {
        name: "0003_outbox_account_cache_draft_photo",
        sql: include_str!("migrations/0003_outbox_account_cache_draft_photo.sql"),
        already_there: "SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'account_id'",
    },
    Step {
        name: "0004_elicence_and_officer",
        sql: include_str!("migrations/0004_elicence_and_officer.sql"),
        already_there:
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'officer_session'",
    },
    Step {
        name: "0005_credential_photo",
        sql: include_str!("migrations/0005_credential_photo.sql"),
        already_there: "SELECT count(*) FROM pragma_table_info('credential') WHERE name = 'photo'",
    },
    Step {
        name: "0006_credential_mdoc",
        sql: include_str!("migrations/0006_credential_mdoc.sql"),
        already_there: "SELECT count(*) FROM pragma_table_info('credential') WHERE name = 'mdoc'",
    },
];

/// The version a database has once every step is taken.
pub const LATEST: u32 = STEPS.len() as u32;

/// Brings the database to [`LATEST`]. A database from a newer app is refused, not touched.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), ClientError> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > LATEST {
        return Err(ClientError::Store(format!(
            "the database is of version {version}, made by a newer app (this one knows {LATEST})"
        )));
    }
    let unversioned = version == 0
        && conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get::<_, i64>(0),
        )? > 0;
    for (number, step) in (1..).zip(STEPS).skip(version as usize) {
        let tx = conn.transaction()?;
        take(&tx, step, unversioned)
            .and_then(|()| tx.pragma_update(None, "user_version", number))
            .and_then(|()| tx.commit())
            .map_err(|e| ClientError::Store(format!("schema step {}: {e}", step.name)))?;
    }
    Ok(())
}

fn take(tx: &Transaction<'_>, step: &Step, unversioned: bool) -> rusqlite::Result<()> {
    if unversioned && tx.query_row(step.already_there, [], |r| r.get::<_, i64>(0))? > 0 {
        return Ok(());
    }
    tx.execute_batch(step.sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        stmt.query_map([table], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_new_database_takes_every_step_and_a_second_open_takes_none() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        assert_eq!(LATEST, 6);
        assert!(columns(&conn, "outbox").contains(&"account_id".to_owned()));
        assert!(columns(&conn, "credential").contains(&"photo".to_owned()));
        assert!(columns(&conn, "credential").contains(&"mdoc".to_owned()));
        // Taking the steps again would fail on the ALTER TABLE: nothing is taken twice.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn a_database_from_a_newer_app_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert_eq!(err.code(), "local_store");
        assert!(err.to_string().contains("newer app"), "{err}");
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_failing_step_leaves_the_database_at_the_step_before() {
        let mut conn = Connection::open_in_memory().unwrap();
        // An outbox without the session it belongs with: step 3's back-fill fails, and its
        // new column goes with it.
        conn.execute_batch("CREATE TABLE outbox (id INTEGER PRIMARY KEY);")
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            err.to_string()
                .contains("0003_outbox_account_cache_draft_photo"),
            "{err}"
        );
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        assert_eq!(
            columns(&conn, "outbox"),
            ["id"],
            "the ALTER was rolled back"
        );
    }
}
