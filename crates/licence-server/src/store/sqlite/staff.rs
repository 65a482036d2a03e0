//! [`StaffStore`] on SQLite: `staff`, `staff_session`, `audit`.

use rusqlite::{params, OptionalExtension, Row};

use super::{corrupt, db, insert_error, SqliteStore};
use crate::store::{
    AuditEntry, Staff, StaffRole, StaffSession, StaffSessionKind, StaffStore, StoreError,
};

/// The columns [`staff_from_row`] reads, in its order.
const STAFF_COLUMNS: &str = "s.id, s.username, s.name, s.role, s.password_hash";

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

impl StaffStore for SqliteStore {
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
                &format!("SELECT {STAFF_COLUMNS} FROM staff s WHERE s.username = ?1"),
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
            .prepare(&format!(
                "SELECT {STAFF_COLUMNS} FROM staff s ORDER BY s.username"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([], staff_from_row).map_err(db)?;
        rows.map(|r| r.map_err(db)?).collect()
    }

    fn put_staff_session(
        &self,
        token_hash: &[u8],
        kind: StaffSessionKind,
        staff: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO staff_session (token_hash, kind, staff_id, csrf, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash, kind.as_str(), staff, csrf, expires_at],
            )
            .map_err(insert_error("staff session"))?;
        Ok(())
    }

    fn staff_session(
        &self,
        token_hash: &[u8],
        kind: StaffSessionKind,
    ) -> Result<Option<StaffSession>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!(
                    "SELECT {STAFF_COLUMNS}, ss.csrf, ss.expires_at
                     FROM staff_session ss JOIN staff s ON s.id = ss.staff_id
                     WHERE ss.token_hash = ?1 AND ss.kind = ?2"
                ),
                params![token_hash, kind.as_str()],
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

    fn delete_staff_sessions(&self, staff: i64, kind: StaffSessionKind) -> Result<u64, StoreError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM staff_session WHERE staff_id = ?1 AND kind = ?2",
                params![staff, kind.as_str()],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    fn purge_staff_sessions(&self, expired_before: i64) -> Result<u64, StoreError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM staff_session WHERE expires_at < ?1",
                [expired_before],
            )
            .map_err(db)?;
        Ok(n as u64)
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
            .query_map([crate::store::row_limit(limit)], |r| {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer(username: &str) -> Staff {
        Staff {
            id: 0,
            username: username.into(),
            name: "李警官".into(),
            role: StaffRole::Officer,
            password_hash: "x".into(),
        }
    }

    #[test]
    fn staff_and_their_sessions_round_trip() {
        let store = SqliteStore::in_memory().unwrap();
        let id = store.create_staff(&officer("p2")).unwrap();
        store.create_staff(&officer("p1")).unwrap();
        assert!(matches!(
            store.create_staff(&officer("p1")),
            Err(StoreError::Duplicate("staff username"))
        ));
        let stored = store.staff_by_username("p2").unwrap().unwrap();
        assert_eq!(
            stored,
            Staff {
                id,
                ..officer("p2")
            }
        );
        let names: Vec<String> = store
            .staff_list()
            .unwrap()
            .into_iter()
            .map(|s| s.username)
            .collect();
        assert_eq!(names, ["p1", "p2"]);
        let role: String = store
            .conn()
            .query_row("SELECT role FROM staff WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(role, "officer");

        store
            .put_staff_session(b"t", StaffSessionKind::Console, id, "csrf", 99)
            .unwrap();
        let session = store
            .staff_session(b"t", StaffSessionKind::Console)
            .unwrap()
            .unwrap();
        // The same token is no officer's session.
        assert!(store
            .staff_session(b"t", StaffSessionKind::Officer)
            .unwrap()
            .is_none());
        assert_eq!(
            (session.staff, session.csrf.as_str(), session.expires_at),
            (stored, "csrf", 99)
        );
        store.delete_staff_session(b"t").unwrap();
        assert_eq!(
            store
                .staff_session(b"t", StaffSessionKind::Console)
                .unwrap(),
            None
        );
    }

    #[test]
    fn the_audit_log_is_newest_first() {
        let store = SqliteStore::in_memory().unwrap();
        for at in 1..=3 {
            store
                .audit(&AuditEntry {
                    at,
                    actor: "admin".into(),
                    action: "staff".into(),
                    detail: format!("#{at}"),
                })
                .unwrap();
        }
        let log = store.audit_log(2).unwrap();
        assert_eq!(log.iter().map(|e| e.at).collect::<Vec<_>>(), [3, 2]);
    }
}
