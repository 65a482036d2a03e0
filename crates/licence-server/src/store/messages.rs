//! Messages to people: the durable SMS outbox (R3.5) and the in-app inbox (消息).

use licence_core::MobileNumber;

use super::{AccountId, AuditEntry, StoreError};

/// What a decision causes beside its own change, written in the same transaction, so that
/// all of it is stored or none (the decision never stands without its audit entry, nor the
/// person's message without the decision): the text message, sent after commit by the
/// outbox worker; the same in the person's inbox; the audit entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub notice: Option<Notice>,
    pub audit: Option<AuditEntry>,
}

impl Effects {
    /// A change that causes nothing else (a driver's own withdrawal, say).
    pub const NONE: Effects = Effects {
        notice: None,
        audit: None,
    };
}

/// A message to a person about an event (R3.5): by SMS and in the app's inbox, once per
/// event key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub account: AccountId,
    pub to: MobileNumber,
    /// What it is about, e.g. `application:7:approved:<time>`.
    pub event_key: String,
    pub title: String,
    pub text: String,
}

/// A text message waiting in the durable outbox, or sent from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    /// What it is about, e.g. `application:7:approved`: one message per event, ever.
    pub event_key: String,
    pub to: MobileNumber,
    pub text: String,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
}

/// A message in a person's in-app inbox (消息).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxMessage {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// The SMS outbox and the in-app inbox.
pub trait MessageStore: Send + Sync {
    // The SMS outbox (R3.5): durable, retried, one message per event.
    /// Queues a message; false if one for this event was queued before (it is not queued again).
    fn enqueue_sms(
        &self,
        event_key: &str,
        to: &MobileNumber,
        text: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Unsent messages whose next attempt is due, oldest first, each claimed until
    /// `claim_until` (its next attempt moved there): no other call (another instance's
    /// worker) is given it before then, unless it was sent or failed meanwhile. A claim of
    /// a worker that died lapses, and the message is sent by another.
    fn due_sms(
        &self,
        now: i64,
        claim_until: i64,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    fn sms_sent(&self, id: i64, message_id: &str, at: i64) -> Result<(), StoreError>;
    fn sms_failed(&self, id: i64, error: &str, next_attempt_at: i64) -> Result<(), StoreError>;
    fn outbox_message(&self, event_key: &str) -> Result<Option<OutboxMessage>, StoreError>;

    // The in-app inbox.
    /// Adds a message for an event; false if this event's message is already there.
    fn add_to_inbox(
        &self,
        account: AccountId,
        event_key: &str,
        title: &str,
        body: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Messages after `after` (by id), oldest first, at most `limit`.
    fn inbox(
        &self,
        account: AccountId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<InboxMessage>, StoreError>;
    /// Marks the account's message read; false if there is no such message of theirs.
    fn mark_read(&self, account: AccountId, id: i64, at: i64) -> Result<bool, StoreError>;
    /// The newest inbox message's id (0 when there is none): where an instance starts
    /// watching for arrivals.
    fn newest_inbox_id(&self) -> Result<i64, StoreError>;
    /// The messages of every account after id `after`, oldest first, at most `limit`: their
    /// ids and accounts, so that each instance wakes the long-polls of those accounts,
    /// whichever instance added the message.
    fn inbox_arrivals(&self, after: i64, limit: usize)
        -> Result<Vec<(i64, AccountId)>, StoreError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::MessageStore;
    use crate::store::Store;
    use licence_core::MobileNumber;

    /// Arrivals name each new message's account, in order, from any account, paged.
    pub(crate) fn arrivals_are_every_accounts_new_messages_in_order(store: &dyn Store) {
        use crate::store::registry::tests::unit;
        assert_eq!(store.newest_inbox_id().unwrap(), 0);
        assert!(store.inbox_arrivals(0, 10).unwrap().is_empty());
        let (a, b) = (unit(store, 1), unit(store, 2));
        for (i, account) in [a, b, a].into_iter().enumerate() {
            assert!(store
                .add_to_inbox(account, &format!("e{i}"), "标题", "正文", 1)
                .unwrap());
        }
        let all = store.inbox_arrivals(0, 10).unwrap();
        let accounts: Vec<_> = all.iter().map(|(_, account)| *account).collect();
        assert_eq!(accounts, [a, b, a]);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "{all:?}");
        let newest = store.newest_inbox_id().unwrap();
        assert_eq!(newest, all[2].0);
        assert_eq!(store.inbox_arrivals(all[0].0, 1).unwrap(), [all[1]]);
        assert!(store.inbox_arrivals(newest, 10).unwrap().is_empty());
    }

    /// The outbox's rules, for any backend: one message per event; a due message is claimed
    /// by the worker that took it until its claim ends (then another takes it); a failure
    /// sets the next attempt; a sent message is never due again.
    pub(crate) fn outbox_claims_and_retries(store: &dyn MessageStore) {
        let to: MobileNumber = "13800138000".parse().unwrap();
        assert!(store.enqueue_sms("e1", &to, "text", 10).unwrap());
        assert!(!store.enqueue_sms("e1", &to, "again", 11).unwrap());
        assert!(store.due_sms(9, 20, 10).unwrap().is_empty());
        let due = store.due_sms(10, 20, 10).unwrap();
        assert_eq!((due.len(), due[0].text.as_str()), (1, "text"));
        // Claimed until 20: another worker is not given it before then.
        assert!(store.due_sms(19, 40, 10).unwrap().is_empty());
        // Its worker died: the claim lapsed, and another takes it.
        let again = store.due_sms(20, 40, 10).unwrap();
        assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [due[0].id]);
        store.sms_failed(due[0].id, "gateway down", 50).unwrap();
        assert!(store.due_sms(49, 60, 10).unwrap().is_empty());
        assert_eq!(store.due_sms(50, 60, 10).unwrap().len(), 1);
        store.sms_sent(due[0].id, "m1", 50).unwrap();
        assert!(store.due_sms(100, 110, 10).unwrap().is_empty());
        let sent = store.outbox_message("e1").unwrap().unwrap();
        assert_eq!((sent.attempts, sent.sent_at), (2, Some(50)));
    }
}
