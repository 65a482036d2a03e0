//! Who may get in: the events counted against limits, one-time SMS codes, the bearer sessions
//! of accounts and the device keys bound to them.

use licence_core::MobileNumber;

use super::{Account, AccountId, StoreError};

stored_as_text! {
    /// What a one-time SMS code is for. Stored as `registration`, `sign_in`, `mobile_check`.
    pub enum CodePurpose {
        /// R2.3: online registration with the reserved number.
        Registration,
        /// Sign-in by SMS code.
        SignIn,
        /// R2.1: the mobile number given at face-sign registration is the person's.
        MobileCheck,
    }
}

/// One limit: at most `limit` events of `kind` for `key` since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<'a> {
    pub kind: &'a str,
    pub key: &'a str,
    pub since: i64,
    pub limit: u32,
}

/// A one-time code sent by SMS. Only a salted hash of the code is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsChallenge {
    pub id: String,
    pub purpose: CodePurpose,
    /// Whose registration or sign-in this is (the ID number for registration; for sign-in the
    /// account's, when one exists).
    pub subject: String,
    pub name: String,
    pub mobile: MobileNumber,
    pub code_hash: Vec<u8>,
    pub salt: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: u32,
    pub consumed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account: AccountId,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub account: AccountId,
    /// SEC1 compressed P-256 public key (as the credential carries it).
    pub public_key: Vec<u8>,
    pub name: String,
    pub created_at: i64,
}

/// Limits, one-time codes, sessions and devices.
pub trait AccessStore: Send + Sync {
    // Events counted against limits (face failures, sign-in failures, codes sent), by key.
    fn record_event(&self, kind: &str, key: &str, at: i64) -> Result<(), StoreError>;
    fn count_events(&self, kind: &str, key: &str, since: i64) -> Result<u32, StoreError>;
    fn last_event(&self, kind: &str, key: &str) -> Result<Option<i64>, StoreError>;
    fn clear_events(&self, kind: &str, key: &str) -> Result<(), StoreError>;
    /// Reserves an attempt against a limit in one step: when fewer than `limit` events of
    /// `kind` for `key` happened since `since`, records one at `at` and returns how many there
    /// are now; otherwise records nothing and returns `None`. Requests released together cannot
    /// all read "under the limit" before any of them is counted.
    fn reserve_event(
        &self,
        kind: &str,
        key: &str,
        since: i64,
        limit: u32,
        at: i64,
    ) -> Result<Option<u32>, StoreError>;

    /// [`AccessStore::reserve_event`] for several limits at once, all or none: when each has
    /// room, records one event for each at `at` and returns `None`; otherwise records nothing
    /// and returns the index of the first limit that is full.
    fn reserve_events(&self, limits: &[Limit<'_>], at: i64) -> Result<Option<usize>, StoreError>;
    /// Takes back the events [`AccessStore::reserve_events`] recorded at `at` (what they were
    /// reserved for did not happen: the SMS gateway failed, say).
    fn release_events(&self, limits: &[Limit<'_>], at: i64) -> Result<(), StoreError>;

    // One-time codes.
    fn put_challenge(&self, challenge: &SmsChallenge) -> Result<(), StoreError>;
    fn challenge(&self, id: &str) -> Result<Option<SmsChallenge>, StoreError>;
    /// Reserves an attempt at the code in one step, before it is compared: when fewer than
    /// `limit` were made, counts this one and returns how many there are now; otherwise
    /// `None`. Guesses released together cannot all read "under the limit".
    fn reserve_attempt(&self, id: &str, limit: u32) -> Result<Option<u32>, StoreError>;
    /// Marks the code used; false if it already was (two requests racing).
    fn consume_challenge(&self, id: &str) -> Result<bool, StoreError>;
    fn delete_challenge(&self, id: &str) -> Result<(), StoreError>;

    /// Answers when the database does (a load balancer's health check asks).
    fn ping(&self) -> Result<(), StoreError>;

    // Sessions, by the SHA-256 of the bearer token (the token itself is never stored).
    fn put_session(&self, token_hash: &[u8], session: &Session) -> Result<(), StoreError>;
    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>, StoreError>;
    /// The session with this token and its account, in one look: every signed-in request
    /// asks, so a backend across a network answers it in one round trip.
    fn signed_in(&self, token_hash: &[u8]) -> Result<Option<(Session, Account)>, StoreError>;
    fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;
    /// Ends every session of the account (sign-out on all devices); how many there were.
    fn delete_sessions(&self, account: AccountId) -> Result<u64, StoreError>;

    /// Removes what no limit, code or session needs any more: limit events from before
    /// `events_before`, and codes and bearer sessions that expired before `expired_before`.
    /// Returns how many rows went.
    fn purge(&self, events_before: i64, expired_before: i64) -> Result<u64, StoreError>;

    // Devices.
    fn add_device(&self, device: &Device) -> Result<i64, StoreError>;
    fn devices(&self, account: AccountId) -> Result<Vec<Device>, StoreError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{AccessStore, CodePurpose, Limit, Session, SmsChallenge};
    use crate::store::registry::tests::unit;
    use crate::store::{Store, StoreError};

    /// Code `c1` for `purpose`, unused, expiring at 300.
    pub(crate) fn challenge(purpose: CodePurpose) -> SmsChallenge {
        SmsChallenge {
            id: "c1".into(),
            purpose,
            subject: "s".into(),
            name: "张伟".into(),
            mobile: "13800138000".parse().unwrap(),
            code_hash: vec![1; 32],
            salt: vec![2; 16],
            created_at: 0,
            expires_at: 300,
            attempts: 0,
            consumed: false,
        }
    }

    fn expiring(id: &str, expires_at: i64) -> SmsChallenge {
        SmsChallenge {
            id: id.into(),
            expires_at,
            ..challenge(CodePurpose::SignIn)
        }
    }

    pub(crate) fn a_code_is_consumed_once(store: &dyn AccessStore) {
        store
            .put_challenge(&challenge(CodePurpose::Registration))
            .unwrap();
        assert_eq!(store.reserve_attempt("c1", 2).unwrap(), Some(1));
        assert_eq!(store.reserve_attempt("c1", 2).unwrap(), Some(2));
        assert_eq!(store.reserve_attempt("c1", 2).unwrap(), None);
        assert!(store.consume_challenge("c1").unwrap());
        assert!(!store.consume_challenge("c1").unwrap());
        let back = store.challenge("c1").unwrap().unwrap();
        assert_eq!((back.attempts, back.consumed), (2, true));
        // An unknown code has no attempts to reserve and nothing to use up.
        assert_eq!(store.reserve_attempt("nope", 2).unwrap(), None);
        assert!(!store.consume_challenge("nope").unwrap());
        assert_eq!(
            store
                .put_challenge(&challenge(CodePurpose::Registration))
                .unwrap_err()
                .to_string(),
            StoreError::Duplicate("challenge").to_string()
        );
        store.delete_challenge("c1").unwrap();
        assert!(store.challenge("c1").unwrap().is_none());
    }

    /// A code's purpose is stored in its spelling, and a spelling no program wrote is a
    /// corrupt row: `stored_purpose` reads code `c1`'s purpose column as the backend stored
    /// it, `respell` overwrites every code's with the spelling given (a hand edit).
    pub(crate) fn a_code_keeps_its_purpose_in_the_stored_spelling(
        store: &dyn AccessStore,
        stored_purpose: &dyn Fn() -> String,
        respell: &dyn Fn(&str),
    ) {
        store
            .put_challenge(&challenge(CodePurpose::MobileCheck))
            .unwrap();
        assert_eq!(stored_purpose(), "mobile_check");
        assert_eq!(
            store.challenge("c1").unwrap().unwrap().purpose,
            CodePurpose::MobileCheck
        );
        // A spelling no program wrote is a corrupt row, not a guess.
        respell("MobileCheck");
        assert!(matches!(
            store.challenge("c1"),
            Err(StoreError::Corrupt {
                table: "sms_challenge",
                ..
            })
        ));
    }

    pub(crate) fn limit_events_are_counted_by_kind_and_key_and_cleared(store: &dyn AccessStore) {
        for at in [10, 20, 30] {
            store.record_event("face", "a", at).unwrap();
        }
        store.record_event("face", "b", 40).unwrap();
        assert_eq!(store.count_events("face", "a", 20).unwrap(), 2);
        assert_eq!(store.last_event("face", "a").unwrap(), Some(30));
        store.clear_events("face", "a").unwrap();
        assert_eq!(store.count_events("face", "a", 0).unwrap(), 0);
        assert_eq!(store.last_event("face", "a").unwrap(), None);
        assert_eq!(store.count_events("face", "b", 0).unwrap(), 1);
        // Reserving counts up to the limit and then refuses, recording nothing more.
        assert_eq!(store.reserve_event("pw", "k", 0, 2, 50).unwrap(), Some(1));
        assert_eq!(store.reserve_event("pw", "k", 0, 2, 51).unwrap(), Some(2));
        assert_eq!(store.reserve_event("pw", "k", 0, 2, 52).unwrap(), None);
        assert_eq!(store.count_events("pw", "k", 0).unwrap(), 2);
        // Events before `since` do not count.
        assert_eq!(store.reserve_event("pw", "k", 51, 2, 53).unwrap(), Some(2));
    }

    pub(crate) fn several_limits_are_reserved_all_or_none_and_can_be_released(
        store: &dyn AccessStore,
    ) {
        let limits = |second: u32| {
            [
                Limit {
                    kind: "a",
                    key: "k",
                    since: 0,
                    limit: 2,
                },
                Limit {
                    kind: "b",
                    key: "k",
                    since: 0,
                    limit: second,
                },
            ]
        };
        assert_eq!(store.reserve_events(&limits(5), 10).unwrap(), None);
        // The second limit is full: nothing is recorded against the first either.
        assert_eq!(store.reserve_events(&limits(1), 11).unwrap(), Some(1));
        assert_eq!(store.count_events("a", "k", 0).unwrap(), 1);
        assert_eq!(store.reserve_events(&limits(5), 12).unwrap(), None);
        assert_eq!(store.reserve_events(&limits(5), 13).unwrap(), Some(0));
        // What did not happen is taken back, and makes room again.
        store.release_events(&limits(5), 12).unwrap();
        assert_eq!(store.count_events("a", "k", 0).unwrap(), 1);
        assert_eq!(store.count_events("b", "k", 0).unwrap(), 1);
        assert_eq!(store.reserve_events(&limits(5), 14).unwrap(), None);
        // Releasing what was never reserved takes nothing.
        store.release_events(&limits(5), 99).unwrap();
        assert_eq!(store.count_events("a", "k", 0).unwrap(), 2);
        // No limits: nothing to reserve, and nothing full.
        assert_eq!(store.reserve_events(&[], 15).unwrap(), None);
    }

    pub(crate) fn the_purge_removes_old_events_and_expired_codes_and_sessions_only(
        store: &dyn Store,
    ) {
        let account = unit(store, 1);
        store.record_event("sign_in_failure", "old", 100).unwrap();
        store.record_event("sign_in_failure", "new", 1000).unwrap();
        store.put_challenge(&expiring("expired", 500)).unwrap();
        store.put_challenge(&expiring("live", 2000)).unwrap();
        for (token, expires_at) in [(&b"expired"[..], 500), (&b"live"[..], 2000)] {
            let session = Session {
                account,
                created_at: 1,
                expires_at,
            };
            store.put_session(token, &session).unwrap();
        }
        assert_eq!(store.purge(500, 1000).unwrap(), 3);
        assert_eq!(store.count_events("sign_in_failure", "old", 0).unwrap(), 0);
        assert_eq!(store.count_events("sign_in_failure", "new", 0).unwrap(), 1);
        assert!(store.challenge("expired").unwrap().is_none());
        assert!(store.challenge("live").unwrap().is_some());
        assert!(store.session(b"expired").unwrap().is_none());
        assert!(store.session(b"live").unwrap().is_some());
        // Nothing more to do the second time.
        assert_eq!(store.purge(500, 1000).unwrap(), 0);
    }
}
