//! The app's local database across versions: a database made by an older app opens in this
//! one, upgraded, with everything the driver saved still there and usable.

use licence_client::api::Session;
use licence_client::store::{ItemState, LocalStore, SCHEMA_VERSION};
use rusqlite::Connection;

/// The first app's schema, as it created it (session and outbox, no versions recorded).
const OLDEST: &str = "
    CREATE TABLE IF NOT EXISTS session (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        token TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        account_id INTEGER NOT NULL
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
        last_error TEXT
    ) STRICT;
";

/// Tables the apps after the first added with `CREATE TABLE IF NOT EXISTS`, which reached old
/// databases; the outbox's `account_id` column did not.
const ADDED_LATER_WITHOUT_THE_COLUMN: &str = "
    CREATE TABLE licence_cache (only INTEGER PRIMARY KEY CHECK (only = 1), record TEXT NOT NULL,
        fetched_at INTEGER NOT NULL) STRICT;
    CREATE TABLE cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, saved_at INTEGER NOT NULL)
        STRICT;
    CREATE TABLE draft_photo (only INTEGER PRIMARY KEY CHECK (only = 1),
        photo_source TEXT NOT NULL, jpeg BLOB NOT NULL) STRICT;
    CREATE TABLE device_registration (account_id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL, public_key BLOB NOT NULL) STRICT;
    CREATE TABLE credential (only INTEGER PRIMARY KEY CHECK (only = 1),
        account_id INTEGER NOT NULL, signed BLOB NOT NULL, not_after INTEGER NOT NULL,
        fetched_at INTEGER NOT NULL) STRICT;
    CREATE TABLE verifier_data (kind TEXT PRIMARY KEY, bytes BLOB NOT NULL,
        fetched_at INTEGER NOT NULL) STRICT;
    CREATE TABLE officer_session (only INTEGER PRIMARY KEY CHECK (only = 1),
        token TEXT NOT NULL, expires_at INTEGER NOT NULL, name TEXT NOT NULL,
        username TEXT NOT NULL) STRICT;
    INSERT INTO cache (key, value, saved_at) VALUES ('signed_in_at', '1700000000', 1700000000);
";

/// A database as an old app left it: a signed-in driver, one application waiting to be
/// sent after two tries, one sent.
fn old_database(path: &std::path::Path, schema: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(schema).unwrap();
    conn.execute_batch(
        "INSERT INTO session (only, token, expires_at, account_id)
           VALUES (1, 'old-token', 4000000000, 7);
         INSERT INTO outbox (kind, idempotency_key, body, created_at, attempts,
           next_attempt_at, last_error)
           VALUES ('application', 'k-waiting', '{\"photo_source\":\"on_file\"}', 100, 2, 160,
             'network: down');
         INSERT INTO outbox (kind, idempotency_key, body, created_at, next_attempt_at, state,
           application_id)
           VALUES ('application', 'k-sent', '{\"photo_source\":\"album\"}', 90, 90, 'sent', 41);",
    )
    .unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 0, "old apps recorded no version");
}

fn columns(path: &std::path::Path, table: &str) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .unwrap();
    stmt.query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn user_version(path: &std::path::Path) -> u32 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// What an upgraded old database must allow: the driver still signed in, the waiting
/// application still theirs and due, the sent one still sent, and every later table usable.
fn assert_upgraded_and_usable(path: &std::path::Path) {
    let store = LocalStore::open(path).unwrap();
    assert_eq!(user_version(path), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 6);
    assert!(columns(path, "outbox").contains(&"account_id".to_owned()));

    assert_eq!(
        store.session().unwrap(),
        Some(Session {
            token: "old-token".into(),
            expires_at: 4_000_000_000,
            account_id: 7,
        })
    );
    let items = store.items().unwrap();
    assert_eq!(items.len(), 2, "the signed-in driver's items: {items:?}");
    assert_eq!(items[0].idempotency_key, "k-waiting");
    assert_eq!(items[0].state, ItemState::Waiting);
    assert_eq!(items[0].attempts, 2);
    assert_eq!(items[0].last_error.as_deref(), Some("network: down"));
    assert_eq!(
        items[1].state,
        ItemState::Sent { application_id: 41 },
        "the sent one is still sent"
    );
    let due = store.due(200).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].idempotency_key, "k-waiting");
    // The old item goes on like a new one.
    store.mark_sent(due[0].id, 42).unwrap();
    assert_eq!(
        store.item(due[0].id).unwrap().unwrap().state,
        ItemState::Sent { application_id: 42 }
    );
    let new = store.enqueue("application", "k-new", "{}", 300).unwrap();
    assert_eq!(store.due(300).unwrap()[0].id, new);

    // The tables of later versions work.
    store.put_cached("account", "{}", 300).unwrap();
    assert_eq!(
        store.cached("account").unwrap(),
        Some(("{}".to_owned(), 300))
    );
    store.save_draft_photo("album", b"jpeg").unwrap();
    assert_eq!(
        store.draft_photo().unwrap(),
        Some(("album".to_owned(), b"jpeg".to_vec()))
    );
    store.put_verifier_data("trust_list", b"cbor", 300).unwrap();
    store.save_device_registration(7, 3, b"public").unwrap();
    assert_eq!(
        store.device_registration(7).unwrap(),
        Some((3, b"public".to_vec()))
    );
    let credential = licence_client::store::StoredCredential {
        account_id: 7,
        signed: b"cose".to_vec(),
        not_after: 900,
        fetched_at: 300,
        photo: Some(b"colour jpeg".to_vec()),
        mdoc: Some(b"issuer signed".to_vec()),
    };
    store.save_credential(&credential).unwrap();
    assert_eq!(store.credential(7).unwrap(), Some(credential));
    drop(store);

    // Opening again takes no step twice and keeps everything.
    let again = LocalStore::open(path).unwrap();
    assert_eq!(again.items().unwrap().len(), 3);
    assert_eq!(user_version(path), SCHEMA_VERSION);
}

#[cfg(unix)]
#[test]
fn a_new_app_database_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    let store = LocalStore::open(&path).unwrap();
    store.put_verifier_data("trust_list", b"x", 1).unwrap();
    for file in ["app.sqlite", "app.sqlite-wal"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file}: {mode:o}");
    }
}

#[test]
fn a_database_of_the_oldest_schema_is_upgraded_with_its_rows_kept_and_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    old_database(&path, OLDEST);
    assert!(!columns(&path, "outbox").contains(&"account_id".to_owned()));
    assert_upgraded_and_usable(&path);
}

#[test]
fn an_old_database_that_later_apps_gave_new_tables_but_not_the_column_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    old_database(&path, &format!("{OLDEST}{ADDED_LATER_WITHOUT_THE_COLUMN}"));
    assert_upgraded_and_usable(&path);
    // What the later app kept is still there.
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(
        store.cached("signed_in_at").unwrap().map(|(v, _)| v),
        Some("1700000000".to_owned())
    );
}

#[test]
fn an_unversioned_database_of_the_latest_shape_is_only_given_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    // Made by this app, then its version forgotten: the shape the last unversioned app made.
    drop(LocalStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "PRAGMA user_version = 0;
             INSERT INTO session (only, token, expires_at, account_id)
               VALUES (1, 't', 4000000000, 7);",
        )
        .unwrap();
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let id = store.enqueue("application", "k", "{}", 1).unwrap();
    assert_eq!(store.due(1).unwrap()[0].id, id);
}

#[test]
fn a_waiting_item_of_an_old_database_with_nobody_signed_in_is_never_sent_under_another_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    old_database(&path, OLDEST);
    Connection::open(&path)
        .unwrap()
        .execute_batch("DELETE FROM session")
        .unwrap();
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(store.items().unwrap().len(), 2, "shown while signed out");
    store
        .save_session(&Session {
            token: "someone".into(),
            expires_at: 4_000_000_000,
            account_id: 8,
        })
        .unwrap();
    assert!(store.due(200).unwrap().is_empty());
}
