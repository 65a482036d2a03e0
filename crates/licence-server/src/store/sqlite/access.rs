//! [`AccessStore`] on SQLite: `limit_event`, `sms_challenge`, `session`, `device`.

use rusqlite::{params, OptionalExtension, Row};

use super::{corrupt, count, db, insert_error, SqliteStore};
use crate::store::{
    AccessStore, Account, AccountId, CodePurpose, Device, Limit, Session, SmsChallenge, StoreError,
};

fn challenge_from_row(row: &Row<'_>) -> rusqlite::Result<Result<SmsChallenge, StoreError>> {
    let purpose: String = row.get("purpose")?;
    let mobile: String = row.get("mobile")?;
    let attempts: i64 = row.get("attempts")?;
    let consumed: i64 = row.get("consumed")?;
    let parsed = (|| {
        Ok(SmsChallenge {
            id: row.get("id").map_err(db)?,
            purpose: purpose
                .parse::<CodePurpose>()
                .map_err(|_| corrupt("sms_challenge", &purpose))?,
            subject: row.get("subject").map_err(db)?,
            name: row.get("name").map_err(db)?,
            mobile: mobile.parse().map_err(|e| corrupt("sms_challenge", e))?,
            code_hash: row.get("code_hash").map_err(db)?,
            salt: row.get("salt").map_err(db)?,
            created_at: row.get("created_at").map_err(db)?,
            expires_at: row.get("expires_at").map_err(db)?,
            attempts: count(attempts),
            consumed: consumed != 0,
        })
    })();
    Ok(parsed)
}

impl AccessStore for SqliteStore {
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

    fn reserve_event(
        &self,
        kind: &str,
        key: &str,
        since: i64,
        limit: u32,
        at: i64,
    ) -> Result<Option<u32>, StoreError> {
        self.in_transaction(|tx| {
            let made: u32 = tx
                .query_row(
                    "SELECT count(*) FROM limit_event WHERE kind = ?1 AND key = ?2 AND at >= ?3",
                    params![kind, key, since],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if made >= limit {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO limit_event (kind, key, at) VALUES (?1, ?2, ?3)",
                params![kind, key, at],
            )
            .map_err(db)?;
            Ok(Some(made + 1))
        })
    }

    fn reserve_events(&self, limits: &[Limit<'_>], at: i64) -> Result<Option<usize>, StoreError> {
        self.in_transaction(|tx| {
            for (i, l) in limits.iter().enumerate() {
                let made: u32 = tx
                    .query_row(
                        "SELECT count(*) FROM limit_event
                         WHERE kind = ?1 AND key = ?2 AND at >= ?3",
                        params![l.kind, l.key, l.since],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                if made >= l.limit {
                    // Nothing is recorded: the transaction ends without a write.
                    return Ok(Some(i));
                }
            }
            for l in limits {
                tx.execute(
                    "INSERT INTO limit_event (kind, key, at) VALUES (?1, ?2, ?3)",
                    params![l.kind, l.key, at],
                )
                .map_err(db)?;
            }
            Ok(None)
        })
    }

    fn release_events(&self, limits: &[Limit<'_>], at: i64) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            for l in limits {
                tx.execute(
                    "DELETE FROM limit_event WHERE rowid = (SELECT rowid FROM limit_event
                       WHERE kind = ?1 AND key = ?2 AND at = ?3 LIMIT 1)",
                    params![l.kind, l.key, at],
                )
                .map_err(db)?;
            }
            Ok(())
        })
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

    fn reserve_attempt(&self, id: &str, limit: u32) -> Result<Option<u32>, StoreError> {
        self.conn()
            .query_row(
                "UPDATE sms_challenge SET attempts = attempts + 1
                 WHERE id = ?1 AND attempts < ?2 RETURNING attempts",
                params![id, limit],
                |r| r.get(0),
            )
            .optional()
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

    fn ping(&self) -> Result<(), StoreError> {
        self.reader()?
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(db)
    }

    fn signed_in(&self, token_hash: &[u8]) -> Result<Option<(Session, Account)>, StoreError> {
        // Two quick reads on the same machine: no join needed.
        let Some(session) = self.session(token_hash)? else {
            return Ok(None);
        };
        Ok(crate::store::RegistryStore::account(self, session.account)?.map(|a| (session, a)))
    }

    fn delete_sessions(&self, account: AccountId) -> Result<u64, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM session WHERE account_id = ?1", [account])
            .map_err(db)?;
        Ok(n as u64)
    }

    fn purge(&self, events_before: i64, expired_before: i64) -> Result<u64, StoreError> {
        self.in_transaction(|tx| {
            let mut n = tx
                .execute("DELETE FROM limit_event WHERE at < ?1", [events_before])
                .map_err(db)?;
            n += tx
                .execute(
                    "DELETE FROM sms_challenge WHERE expires_at < ?1",
                    [expired_before],
                )
                .map_err(db)?;
            n += tx
                .execute(
                    "DELETE FROM session WHERE expires_at < ?1",
                    [expired_before],
                )
                .map_err(db)?;
            Ok(n as u64)
        })
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_consumed_once() {
        crate::store::access::tests::a_code_is_consumed_once(&SqliteStore::in_memory().unwrap());
    }

    #[test]
    fn a_code_keeps_its_purpose_in_the_stored_spelling() {
        let store = SqliteStore::in_memory().unwrap();
        crate::store::access::tests::a_code_keeps_its_purpose_in_the_stored_spelling(
            &store,
            &|| {
                store
                    .conn()
                    .query_row(
                        "SELECT purpose FROM sms_challenge WHERE id = 'c1'",
                        [],
                        |r| r.get(0),
                    )
                    .unwrap()
            },
            &|spelling| {
                store
                    .conn()
                    .execute("UPDATE sms_challenge SET purpose = ?1", [spelling])
                    .unwrap();
            },
        );
    }

    #[test]
    fn limit_events_are_counted_by_kind_and_key_and_cleared() {
        crate::store::access::tests::limit_events_are_counted_by_kind_and_key_and_cleared(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn several_limits_are_reserved_all_or_none_and_can_be_released() {
        crate::store::access::tests::several_limits_are_reserved_all_or_none_and_can_be_released(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn the_purge_removes_old_events_and_expired_codes_and_sessions_only() {
        crate::store::access::tests::the_purge_removes_old_events_and_expired_codes_and_sessions_only(
            &SqliteStore::in_memory().unwrap(),
        );
    }
}
