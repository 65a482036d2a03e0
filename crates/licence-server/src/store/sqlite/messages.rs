//! [`MessageStore`] on SQLite: `sms_outbox`, `inbox_message`.

use licence_core::MobileNumber;
use rusqlite::params;

use super::{corrupt, count, db, SqliteStore};
use crate::store::{AccountId, Effects, InboxMessage, MessageStore, OutboxMessage, StoreError};

/// Writes what a decision causes inside the decision's own transaction (see [`Effects`]).
pub(super) fn write_effects(
    tx: &rusqlite::Transaction<'_>,
    effects: &Effects,
    at: i64,
) -> Result<(), StoreError> {
    if let Some(n) = &effects.notice {
        tx.execute(
            "INSERT OR IGNORE INTO sms_outbox (event_key, to_mobile, text, created_at,
               next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![n.event_key, n.to.as_str(), n.text, at],
        )
        .map_err(db)?;
        tx.execute(
            "INSERT OR IGNORE INTO inbox_message (account_id, event_key, title, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![n.account, n.event_key, n.title, n.text, at],
        )
        .map_err(db)?;
    }
    if let Some(e) = &effects.audit {
        tx.execute(
            "INSERT INTO audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![e.at, e.actor, e.action, e.detail],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// The outbox's messages that meet `condition`.
fn outbox_where<P: rusqlite::Params>(
    conn: &rusqlite::Connection,
    condition: &str,
    params: P,
) -> Result<Vec<OutboxMessage>, StoreError> {
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
            attempts: count(attempts),
            next_attempt_at,
            sent_at,
        })
    })
    .collect()
}

impl MessageStore for SqliteStore {
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
                "INSERT OR IGNORE INTO sms_outbox (event_key, to_mobile, text, created_at,
                   next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![event_key, to.as_str(), text, at],
            )
            .map_err(db)?;
        Ok(added == 1)
    }

    fn due_sms(
        &self,
        now: i64,
        claim_until: i64,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = crate::store::row_limit(limit);
        // One writer: nothing can take these between the read and the claim.
        let conn = self.conn();
        let due = outbox_where(
            &conn,
            "sent_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            params![now, limit],
        )?;
        let mut claim = conn
            .prepare_cached("UPDATE sms_outbox SET next_attempt_at = ?1 WHERE id = ?2")
            .map_err(db)?;
        for message in &due {
            claim
                .execute(params![claim_until, message.id])
                .map_err(db)?;
        }
        Ok(due)
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
                "UPDATE sms_outbox SET attempts = attempts + 1, last_error = ?1,
                   next_attempt_at = ?2
                 WHERE id = ?3",
                params![error, next_attempt_at, id],
            )
            .map_err(db)?;
        Ok(())
    }

    fn outbox_message(&self, event_key: &str) -> Result<Option<OutboxMessage>, StoreError> {
        Ok(outbox_where(&self.conn(), "event_key = ?1", [event_key])?.pop())
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
                "INSERT OR IGNORE INTO inbox_message (account_id, event_key, title, body,
                   created_at)
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
            .query_map(
                params![account, after, crate::store::row_limit(limit)],
                |r| {
                    Ok(InboxMessage {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        body: r.get(2)?,
                        created_at: r.get(3)?,
                        read_at: r.get(4)?,
                    })
                },
            )
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn mark_read(&self, account: AccountId, id: i64, at: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE inbox_message SET read_at = coalesce(read_at, ?1)
                 WHERE id = ?2 AND account_id = ?3",
                params![at, id, account],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    // Every instance's watcher asks these twice a second: a reader, not the writer.
    fn newest_inbox_id(&self) -> Result<i64, StoreError> {
        self.reader()?
            .query_row("SELECT coalesce(max(id), 0) FROM inbox_message", [], |r| {
                r.get(0)
            })
            .map_err(db)
    }

    fn inbox_arrivals(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, AccountId)>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, account_id FROM inbox_message WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![after, crate::store::row_limit(limit)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_are_every_accounts_new_messages_in_order() {
        crate::store::messages::tests::arrivals_are_every_accounts_new_messages_in_order(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn an_event_is_texted_once_claimed_by_one_worker_and_retried_until_sent() {
        crate::store::messages::tests::outbox_claims_and_retries(
            &SqliteStore::in_memory().unwrap(),
        );
    }

    #[test]
    fn the_inbox_pages_by_id_and_marks_only_the_owners_message_read() {
        use crate::store::registry::tests::unit;
        let store = SqliteStore::in_memory().unwrap();
        let (a, b) = (unit(&store, 1), unit(&store, 2));
        for i in 1..=3 {
            assert!(store
                .add_to_inbox(a, &format!("e{i}"), "标题", "正文", i)
                .unwrap());
        }
        assert!(!store.add_to_inbox(a, "e1", "again", "again", 9).unwrap());
        let first = store.inbox(a, 0, 2).unwrap();
        assert_eq!(
            first.iter().map(|m| m.created_at).collect::<Vec<_>>(),
            [1, 2]
        );
        let rest = store.inbox(a, first[1].id, 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert!(!store.mark_read(b, first[0].id, 5).unwrap());
        assert!(store.mark_read(a, first[0].id, 5).unwrap());
        // Read once, the first time stands.
        assert!(store.mark_read(a, first[0].id, 7).unwrap());
        assert_eq!(store.inbox(a, 0, 1).unwrap()[0].read_at, Some(5));
        assert!(store.inbox(b, 0, 10).unwrap().is_empty());
    }
}
