//! [`MessageStore`] on PostgreSQL: `sms_outbox`, `inbox_message`.

use deadpool_postgres::GenericClient;
use licence_core::MobileNumber;
use tokio_postgres::Row;

use super::{corrupt, count, exec, get, one, rows, PostgresStore};
use crate::store::{AccountId, Effects, InboxMessage, MessageStore, OutboxMessage, StoreError};

const ENQUEUE_SMS: &str = "INSERT INTO sms_outbox (event_key, to_mobile, text, created_at,
       next_attempt_at)
     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (event_key) DO NOTHING";

const ADD_TO_INBOX: &str =
    "INSERT INTO inbox_message (account_id, event_key, title, body, created_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_key) DO NOTHING";

/// The columns [`outbox_from_row`] reads, in its order.
const OUTBOX_COLUMNS: &str = "id, event_key, to_mobile, text, attempts, next_attempt_at, sent_at";

/// Writes what a decision causes inside the decision's own transaction (see [`Effects`]).
pub(super) async fn write_effects<C: GenericClient>(
    tx: &C,
    effects: &Effects,
    at: i64,
) -> Result<(), StoreError> {
    if let Some(n) = &effects.notice {
        exec(
            tx,
            ENQUEUE_SMS,
            &[&n.event_key, &n.to.as_str(), &n.text, &at],
        )
        .await?;
        exec(
            tx,
            ADD_TO_INBOX,
            &[&n.account, &n.event_key, &n.title, &n.text, &at],
        )
        .await?;
    }
    if let Some(e) = &effects.audit {
        super::staff::audit(tx, e).await?;
    }
    Ok(())
}

fn outbox_from_row(r: &Row) -> Result<OutboxMessage, StoreError> {
    let to: String = get(r, "sms_outbox", 2)?;
    Ok(OutboxMessage {
        id: get(r, "sms_outbox", 0)?,
        event_key: get(r, "sms_outbox", 1)?,
        to: to.parse().map_err(|e| corrupt("sms_outbox", e))?,
        text: get(r, "sms_outbox", 3)?,
        attempts: count(get::<i32>(r, "sms_outbox", 4)?.into()),
        next_attempt_at: get(r, "sms_outbox", 5)?,
        sent_at: get(r, "sms_outbox", 6)?,
    })
}

impl MessageStore for PostgresStore {
    fn enqueue_sms(
        &self,
        event_key: &str,
        to: &MobileNumber,
        text: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let added = exec(&c, ENQUEUE_SMS, &[&event_key, &to.as_str(), &text, &at]).await?;
            Ok(added == 1)
        })
    }

    fn due_sms(
        &self,
        now: i64,
        claim_until: i64,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            // Chosen and claimed in one statement; messages another instance is claiming
            // this moment are passed over, not waited for.
            let mut due = rows(
                &c,
                &format!(
                    "UPDATE sms_outbox SET next_attempt_at = $2
                     WHERE id IN (
                       SELECT id FROM sms_outbox
                        WHERE sent_at IS NULL AND next_attempt_at <= $1
                        ORDER BY next_attempt_at, id LIMIT $3
                        FOR UPDATE SKIP LOCKED)
                     RETURNING {OUTBOX_COLUMNS}"
                ),
                &[&now, &claim_until, &limit],
            )
            .await?
            .iter()
            .map(outbox_from_row)
            .collect::<Result<Vec<_>, _>>()?;
            due.sort_by_key(|m| m.id);
            Ok(due)
        })
    }

    fn sms_sent(&self, id: i64, message_id: &str, at: i64) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "UPDATE sms_outbox SET sent_at = $1, message_id = $2, attempts = attempts + 1,
                   last_error = NULL WHERE id = $3",
                &[&at, &message_id, &id],
            )
            .await
            .map(|_| ())
        })
    }

    fn sms_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<(), StoreError> {
        self.run(async {
            let c = self.client().await?;
            exec(
                &c,
                "UPDATE sms_outbox SET attempts = attempts + 1, last_error = $1,
                   next_attempt_at = $2
                 WHERE id = $3",
                &[&error, &next_attempt_at, &id],
            )
            .await
            .map(|_| ())
        })
    }

    fn outbox_message(&self, event_key: &str) -> Result<Option<OutboxMessage>, StoreError> {
        self.run(async {
            let c = self.client().await?;
            super::row(
                &c,
                &format!("SELECT {OUTBOX_COLUMNS} FROM sms_outbox WHERE event_key = $1"),
                &[&event_key],
            )
            .await?
            .as_ref()
            .map(outbox_from_row)
            .transpose()
        })
    }

    fn add_to_inbox(
        &self,
        account: AccountId,
        event_key: &str,
        title: &str,
        body: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let added = exec(
                &c,
                ADD_TO_INBOX,
                &[&account, &event_key, &title, &body, &at],
            )
            .await?;
            Ok(added == 1)
        })
    }

    fn inbox(
        &self,
        account: AccountId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            rows(
                &c,
                "SELECT id, title, body, created_at, read_at FROM inbox_message
                 WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&account, &after, &limit],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(InboxMessage {
                    id: get(r, "inbox_message", 0)?,
                    title: get(r, "inbox_message", 1)?,
                    body: get(r, "inbox_message", 2)?,
                    created_at: get(r, "inbox_message", 3)?,
                    read_at: get(r, "inbox_message", 4)?,
                })
            })
            .collect()
        })
    }

    fn mark_read(&self, account: AccountId, id: i64, at: i64) -> Result<bool, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let changed = exec(
                &c,
                "UPDATE inbox_message SET read_at = coalesce(read_at, $1)
                 WHERE id = $2 AND account_id = $3",
                &[&at, &id, &account],
            )
            .await?;
            Ok(changed == 1)
        })
    }

    fn newest_inbox_id(&self) -> Result<i64, StoreError> {
        self.run(async {
            let c = self.client().await?;
            let newest = one(&c, "SELECT coalesce(max(id), 0) FROM inbox_message", &[]).await?;
            get(&newest, "inbox_message", 0)
        })
    }

    fn inbox_arrivals(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, AccountId)>, StoreError> {
        let limit = crate::store::row_limit(limit);
        self.run(async {
            let c = self.client().await?;
            rows(
                &c,
                "SELECT id, account_id FROM inbox_message WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )
            .await?
            .iter()
            .map(|r| Ok((get(r, "inbox_message", 0)?, get(r, "inbox_message", 1)?)))
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::tests::{fresh_store, race, two_instances};

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn arrivals_are_every_accounts_new_messages_in_order() {
        crate::store::messages::tests::arrivals_are_every_accounts_new_messages_in_order(
            &fresh_store(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn an_event_is_texted_once_claimed_by_one_worker_and_retried_until_sent() {
        crate::store::messages::tests::outbox_claims_and_retries(&fresh_store());
    }

    /// The outbox workers of two instances taking due messages at once: each message is
    /// given to exactly one.
    #[test]
    #[ignore = "needs PostgreSQL: cargo xtask test postgres"]
    fn two_instances_never_take_the_same_message() {
        let (first, second) = two_instances();
        let to: MobileNumber = "13800138000".parse().unwrap();
        for i in 0..60 {
            assert!(first
                .enqueue_sms(&format!("e{i}"), &to, "text", 10)
                .unwrap());
        }
        let taken: Vec<i64> = race([&first, &second], 8, |_, store| {
            let mut mine = Vec::new();
            loop {
                let due = store.due_sms(10, 70, 4).unwrap();
                if due.is_empty() {
                    return mine;
                }
                mine.extend(due.iter().map(|m| m.id));
            }
        })
        .into_iter()
        .flatten()
        .collect();
        let mut unique = taken.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!((taken.len(), unique.len()), (60, 60));
    }
}
