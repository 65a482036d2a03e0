//! [`StaffStore`] on PostgreSQL: `staff`, `staff_session`, `audit`.

use tokio_postgres::Row;

use super::{exec, get, insert, insert_id, row, rows, PostgresStore};
use crate::store::{
    AuditEntry, Staff, StaffRole, StaffSession, StaffSessionKind, StaffStore, StoreError,
};

/// The columns [`staff_from_row`] reads, in its order.
const STAFF_COLUMNS: &str = "s.id, s.username, s.name, s.role, s.password_hash";

fn staff_from_row(r: &Row) -> Result<Staff, StoreError> {
    let role: String = get(r, "staff", 3)?;
    Ok(Staff {
        id: get(r, "staff", 0)?,
        username: get(r, "staff", 1)?,
        name: get(r, "staff", 2)?,
        role: StaffRole::parse(&role).ok_or_else(|| super::corrupt("staff", role))?,
        password_hash: get(r, "staff", 4)?,
    })
}

impl StaffStore for PostgresStore {
    fn create_staff(&self, s: &Staff) -> Result<i64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            insert_id(
                &c,
                "staff username",
                "INSERT INTO staff (username, name, role, password_hash)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&s.username, &s.name, &s.role.as_str(), &s.password_hash],
            )
            .await
        })
    }

    fn staff_by_username(&self, username: &str) -> Result<Option<Staff>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            row(
                &c,
                &format!("SELECT {STAFF_COLUMNS} FROM staff s WHERE s.username = $1"),
                &[&username],
            )
            .await?
            .as_ref()
            .map(staff_from_row)
            .transpose()
        })
    }

    fn staff_list(&self) -> Result<Vec<Staff>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            rows(
                &c,
                &format!("SELECT {STAFF_COLUMNS} FROM staff s ORDER BY s.username"),
                &[],
            )
            .await?
            .iter()
            .map(staff_from_row)
            .collect()
        })
    }

    fn put_staff_session(
        &self,
        token_hash: &[u8],
        kind: StaffSessionKind,
        staff: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            insert(
                &c,
                "staff session",
                "INSERT INTO staff_session (token_hash, kind, staff_id, csrf, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&token_hash, &kind.as_str(), &staff, &csrf, &expires_at],
            )
            .await
            .map(|_| ())
        })
    }

    fn staff_session(
        &self,
        token_hash: &[u8],
        kind: StaffSessionKind,
    ) -> Result<Option<StaffSession>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let Some(r) = row(
                &c,
                &format!(
                    "SELECT {STAFF_COLUMNS}, ss.csrf, ss.expires_at
                     FROM staff_session ss JOIN staff s ON s.id = ss.staff_id
                     WHERE ss.token_hash = $1 AND ss.kind = $2"
                ),
                &[&token_hash, &kind.as_str()],
            )
            .await?
            else {
                return Ok(None);
            };
            Ok(Some(StaffSession {
                staff: staff_from_row(&r)?,
                csrf: get(&r, "staff_session", 5)?,
                expires_at: get(&r, "staff_session", 6)?,
            }))
        })
    }

    fn delete_staff_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "DELETE FROM staff_session WHERE token_hash = $1",
                &[&token_hash],
            )
            .await
            .map(|_| ())
        })
    }

    fn delete_staff_sessions(&self, staff: i64, kind: StaffSessionKind) -> Result<u64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "DELETE FROM staff_session WHERE staff_id = $1 AND kind = $2",
                &[&staff, &kind.as_str()],
            )
            .await
        })
    }

    fn purge_staff_sessions(&self, expired_before: i64) -> Result<u64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "DELETE FROM staff_session WHERE expires_at < $1",
                &[&expired_before],
            )
            .await
        })
    }

    fn audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            audit(&c, e).await
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            rows(
                &c,
                "SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT $1",
                &[&limit],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: get(r, "audit", 0)?,
                    actor: get(r, "audit", 1)?,
                    action: get(r, "audit", 2)?,
                    detail: get(r, "audit", 3)?,
                })
            })
            .collect()
        })
    }
}

/// Writes an audit entry on `c` (a transaction, when it belongs with a decision).
pub(super) async fn audit<C: deadpool_postgres::GenericClient>(
    c: &C,
    e: &AuditEntry,
) -> Result<(), StoreError> {
    exec(
        c,
        "INSERT INTO audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
        &[&e.at, &e.actor, &e.action, &e.detail],
    )
    .await
    .map(|_| ())
}
