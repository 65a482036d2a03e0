//! The SQLite schema as numbered `.sql` files beside this one, built into the binary.
//!
//! Each migration runs once, in order; `PRAGMA user_version` records how many have run (the
//! numbering of the migrations that were once inline here, so every existing database
//! carries on from where it is). Never edit a published migration: add the next file and
//! its line to `STEPS`.

use rusqlite::Connection;
use rusqlite_migration::{MigrationDefinitionError, Migrations, M};

use super::db;
use crate::store::StoreError;

/// The migrations, oldest first: migration `n` brings a database from version `n - 1` to `n`.
const STEPS: [&str; 10] = [
    include_str!("migrations/0001_registry_accounts_limits_codes_sessions_devices.sql"),
    include_str!("migrations/0002_id_cards_units_staff_audit.sql"),
    include_str!("migrations/0003_applications.sql"),
    include_str!("migrations/0004_status_index.sql"),
    include_str!("migrations/0005_sms_outbox.sql"),
    include_str!("migrations/0006_inbox.sql"),
    include_str!("migrations/0007_application_unchecked_index.sql"),
    include_str!("migrations/0008_staff_session_kind.sql"),
    include_str!("migrations/0009_claims_and_status_stamp.sql"),
    include_str!("migrations/0010_application_event_index.sql"),
];

pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(STEPS.iter().map(|sql| M::up(sql)).collect())
}

/// How many migrations this program knows: the version of a database it brought up to date.
pub(super) const LATEST: usize = STEPS.len();

/// The database's schema version.
pub(super) fn version(conn: &Connection) -> Result<usize, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)
}

/// Brings the schema up to date, in one transaction; refuses a database made by a newer
/// program (it would not know that program's tables).
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrations().to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::MigrationDefinition(
            MigrationDefinitionError::DatabaseTooFarAhead,
        ) => StoreError::Database(format!(
            "the database is at schema version {}, newer than this program ({LATEST}); \
             use a newer licence-server",
            version(conn).map_or_else(|e| e.to_string(), |v| v.to_string())
        )),
        e => StoreError::Database(format!("migrating the schema: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::registry::tests::entry;
    use crate::store::{
        AccessStore, ApplicationStore, CodePurpose, MessageStore, NewAccount, RegistryStore,
        SmsChallenge, SqliteStore, StaffRole, StaffStore,
    };
    use licence_core::{FaceSignChannel, UserKind};
    use rusqlite::params;

    #[test]
    fn the_migrations_are_numbered_and_apply_to_an_empty_database() {
        migrations().validate().unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        // LATEST counts every file: none is left pending on an empty database.
        let empty = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrations().pending_migrations(&empty).unwrap(),
            LATEST as i32
        );
    }

    #[test]
    fn migrations_run_once_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST);
        let page_size: i64 = store
            .conn()
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        assert_eq!(page_size, super::super::PAGE_SIZE);
        store.put_registry_entry(&entry()).unwrap();
        drop(store);
        // Reopening keeps the data and runs nothing again.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.registry_size().unwrap(), 1);
        store
            .conn()
            .pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        drop(store);
        let Err(StoreError::Database(message)) = SqliteStore::open(&path) else {
            panic!("a newer schema must be refused");
        };
        assert!(message.contains("newer"), "{message}");
        assert!(
            message.contains(&format!("version {}", LATEST + 1)),
            "{message}"
        );
    }

    /// A database made by the first schema, with rows in it, as an old platform left it.
    fn database_at_version_1(path: &std::path::Path) {
        let mut conn = Connection::open(path).unwrap();
        migrations().to_version(&mut conn, 1).unwrap();
        assert_eq!(version(&conn).unwrap(), 1);
        let e = entry();
        let licence = e.licence.as_ref().unwrap();
        conn.execute(
            "INSERT INTO registry_person (id_number, name, reserved_mobile, photo)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                e.id_number.as_str(),
                e.name.as_str(),
                e.reserved_mobile.as_str(),
                e.photo
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO registry_licence (id_number, file_number, record) VALUES (?1, ?2, ?3)",
            params![
                e.id_number.as_str(),
                licence.record().file_number.to_string(),
                serde_json::to_string(licence).unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO account (id, kind, id_number, unit_code, name, mobile, password_hash,
               created_at) VALUES (5, ?1, ?2, NULL, '张伟', ?3, 'hash', 100)",
            params![
                serde_json::to_string(&UserKind::OnlineRegistered).unwrap(),
                e.id_number.as_str(),
                e.reserved_mobile.as_str()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sms_challenge (id, purpose, subject, name, mobile, code_hash, salt,
               created_at, expires_at) VALUES ('c1', 'sign_in', 's', '张伟', ?1, x'01', x'02', 0, 300)",
            [e.reserved_mobile.as_str()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO session (token_hash, account_id, created_at, expires_at)
             VALUES (x'aa', 5, 100, 200)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_database_at_the_first_version_is_upgraded_with_its_rows_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.sqlite");
        database_at_version_1(&path);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST);
        // The old rows, read through today's code.
        let e = entry();
        assert_eq!(store.registry_entry(&e.id_number).unwrap(), Some(e.clone()));
        let account = store.account_by_id_number(&e.id_number).unwrap().unwrap();
        assert_eq!((account.id, account.name.as_str()), (5, "张伟"));
        assert_eq!(account.kind, UserKind::OnlineRegistered);
        let challenge = store.challenge("c1").unwrap().unwrap();
        assert_eq!(challenge.purpose, CodePurpose::SignIn);
        assert_eq!(store.session(&[0xaa]).unwrap().unwrap().account, 5);
        // The column migration 2 added, on an old row.
        let signed = UserKind::FaceSigned {
            via: FaceSignChannel::ManualIdReview,
        };
        store
            .set_account_kind(5, signed, Some("2020-01-10至2030-01-10".parse().unwrap()))
            .unwrap();
        assert_eq!(store.account(5).unwrap().unwrap().kind, signed);
        let validity: Option<String> = store
            .conn()
            .query_row(
                "SELECT id_card_validity FROM account WHERE id = 5",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(validity.is_some_and(|v| v.contains("2030")));
        // The tables of every later migration are there and work.
        let staff = crate::store::Staff {
            id: 0,
            username: "admin".into(),
            name: "管理员".into(),
            role: StaffRole::Admin,
            password_hash: "x".into(),
        };
        store.create_staff(&staff).unwrap();
        assert_eq!(store.status_index(5).unwrap(), 0);
        assert!(store
            .enqueue_sms("e1", &e.reserved_mobile, "text", 1)
            .unwrap());
        assert!(store.add_to_inbox(5, "e1", "title", "body", 1).unwrap());
        assert!(store.unchecked_applications(10).unwrap().is_empty());
        // A new account beside the old one gets a fresh id.
        let unit = store
            .create_account(&NewAccount {
                kind: UserKind::OnlineRegistered,
                id_number: None,
                unit_code: Some("U1".into()),
                name: "单位".into(),
                mobile: e.reserved_mobile,
                password_hash: "x".into(),
                created_at: 2,
            })
            .unwrap();
        assert!(unit > 5);
        drop(store);
        // And a second opening finds nothing left to do.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST);
        assert_eq!(store.registry_size().unwrap(), 1);
        let _: Option<SmsChallenge> = store.challenge("c1").unwrap();
    }

    #[test]
    fn a_database_halfway_is_brought_the_rest_of_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.sqlite");
        let mut conn = Connection::open(&path).unwrap();
        migrations().to_version(&mut conn, 4).unwrap();
        conn.execute(
            "INSERT INTO account (id, kind, name, mobile, password_hash, created_at, unit_code)
             VALUES (9, ?1, '单位', '13800138000', 'x', 1, 'U9')",
            [serde_json::to_string(&UserKind::OnlineRegistered).unwrap()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO status_index (account_id, idx) VALUES (9, 0)",
            [],
        )
        .unwrap();
        drop(conn);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST);
        // The index allocated before the upgrade stays the account's; the next is new.
        assert_eq!(store.status_index(9).unwrap(), 0);
        assert_eq!(store.account_by_unit_code("U9").unwrap().unwrap().id, 9);
        assert!(store.outbox_message("none").unwrap().is_none());
        let index: Option<String> = store
            .conn()
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'application_unchecked'",
                [],
                |r| r.get(0),
            )
            .ok();
        assert_eq!(index.as_deref(), Some("application_unchecked"));
    }
}
