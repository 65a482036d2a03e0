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
