//! Storage behind a narrow interface. SQLite today ([`SqliteStore`]); the trait is what a
//! PostgreSQL backend will implement for deployments that outgrow one machine, so it speaks
//! in domain records, never in SQL.

mod sqlite;

pub use sqlite::SqliteStore;

use licence_core::{
    ApplicationState, DrivingLicence, IdCardValidity, IdNumber, MobileNumber, PersonName, UserKind,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (an account for this ID number already exists, …).
    #[error("already exists: {0}")]
    Duplicate(&'static str),
    #[error("database: {0}")]
    Database(String),
    /// A stored row no longer parses: a bug or a hand edit, never the user's fault.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
}

/// A person in the police registry (the system of record), with their licence if they hold one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub id_number: IdNumber,
    pub name: PersonName,
    /// 预留手机号: the number the police hold for the person (R2.3).
    pub reserved_mobile: MobileNumber,
    /// The photo on file (JPEG), used for face match and as the default e-licence photo.
    pub photo: Option<Vec<u8>>,
    pub licence: Option<DrivingLicence>,
}

pub type AccountId = i64;

/// A platform account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub kind: UserKind,
    /// Persons: their ID number. Units: none (see `unit_code`).
    pub id_number: Option<IdNumber>,
    /// Units: the unified social credit code or organisation code.
    pub unit_code: Option<String>,
    pub name: String,
    pub mobile: MobileNumber,
    pub password_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub kind: UserKind,
    pub id_number: Option<IdNumber>,
    pub unit_code: Option<String>,
    pub name: String,
    pub mobile: MobileNumber,
    pub password_hash: String,
    pub created_at: i64,
}

/// What a one-time SMS code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// R2.3: online registration with the reserved number.
    Registration,
    /// Sign-in by SMS code.
    SignIn,
    /// R2.1: the mobile number given at face-sign registration is the person's.
    MobileCheck,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Registration => "registration",
            CodePurpose::SignIn => "sign_in",
            CodePurpose::MobileCheck => "mobile_check",
        }
    }

    fn parse(s: &str) -> Option<CodePurpose> {
        match s {
            "registration" => Some(CodePurpose::Registration),
            "sign_in" => Some(CodePurpose::SignIn),
            "mobile_check" => Some(CodePurpose::MobileCheck),
            _ => None,
        }
    }
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

/// Where a manual ID-card review stands (R2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewState {
    Pending,
    Approved,
    Rejected,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Option<ReviewState> {
        match s {
            "pending" => Some(ReviewState::Pending),
            "approved" => Some(ReviewState::Approved),
            "rejected" => Some(ReviewState::Rejected),
            _ => None,
        }
    }
}

/// Photographs of both sides of an ID card, waiting for or given a reviewer's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCardReview {
    pub id: i64,
    pub account: AccountId,
    pub front: Vec<u8>,
    pub back: Vec<u8>,
    pub validity: IdCardValidity,
    pub state: ReviewState,
    pub reason: Option<String>,
    pub submitted_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
}

/// What a member of staff may do at the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    /// 窗口民警: counter face-sign and unit registration (R2.8, R2.9).
    Clerk,
    /// 审核民警: the manual ID-card reviews (R2.6).
    Reviewer,
    /// Everything, and the audit log.
    Admin,
    /// 执勤民警: checks e-licences at the roadside (online check), no console pages.
    Officer,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Clerk => "clerk",
            StaffRole::Reviewer => "reviewer",
            StaffRole::Admin => "admin",
            StaffRole::Officer => "officer",
        }
    }

    pub fn parse(s: &str) -> Option<StaffRole> {
        match s {
            "clerk" => Some(StaffRole::Clerk),
            "reviewer" => Some(StaffRole::Reviewer),
            "admin" => Some(StaffRole::Admin),
            "officer" => Some(StaffRole::Officer),
            _ => None,
        }
    }

    pub fn can_register(self) -> bool {
        matches!(self, StaffRole::Clerk | StaffRole::Admin)
    }

    pub fn can_review(self) -> bool {
        matches!(self, StaffRole::Reviewer | StaffRole::Admin)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub role: StaffRole,
    pub password_hash: String,
}

/// A console session: who, the form token that proves a POST came from our pages, expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub staff: Staff,
    pub csrf: String,
    pub expires_at: i64,
}

/// A unit's counter registration papers (R2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPapers {
    pub agent_name: PersonName,
    pub agent_id_number: IdNumber,
    /// 授权委托书 as scanned at the counter (PDF or JPEG).
    pub attorney: Vec<u8>,
    pub attorney_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// An e-licence application (R3): the photo as submitted, the server's own check of it, and
/// where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub account: AccountId,
    /// The client's key: a retried submission with the same key is the same application.
    pub idempotency_key: String,
    /// `on_file`, `album` or `camera`.
    pub photo_source: String,
    pub photo: Vec<u8>,
    /// The 260×378 crop from the server's re-check, once done.
    pub cropped: Option<Vec<u8>>,
    /// The re-check's verdict (JSON: compliant, problems, measurements), once done.
    pub check: Option<String>,
    pub state: ApplicationState,
    pub submitted_at: i64,
    /// Review deadline: 1 working day (R3.4).
    pub due_at: i64,
    pub updated_at: i64,
}

/// The server's check of one application's photo, and the move it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoCheckRecord {
    pub id: i64,
    /// The verdict as JSON.
    pub check: String,
    /// The crop, when the photo is compliant.
    pub cropped: Option<Vec<u8>>,
    pub from: ApplicationState,
    pub to: ApplicationState,
}

/// The new photo and deadline of a resubmitted application.
#[derive(Debug, Clone, Copy)]
pub struct Resubmitted<'a> {
    pub photo_source: &'a str,
    pub photo: &'a [u8],
    pub due_at: i64,
}

/// What a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    Created(Application),
    /// The same idempotency key again: the application it made the first time.
    Replayed(Application),
    /// Another application of the account is still open.
    OpenExists(Application),
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

/// Every storage operation the platform needs.
pub trait Store: Send + Sync + 'static {
    // The registry.
    /// Inserts or replaces a person and their licence.
    fn put_registry_entry(&self, entry: &RegistryEntry) -> Result<(), StoreError>;
    fn registry_entry(&self, id: &IdNumber) -> Result<Option<RegistryEntry>, StoreError>;
    fn registry_size(&self) -> Result<usize, StoreError>;

    // Accounts.
    fn create_account(&self, account: &NewAccount) -> Result<AccountId, StoreError>;
    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    fn account_by_id_number(&self, id: &IdNumber) -> Result<Option<Account>, StoreError>;
    fn account_by_mobile(&self, mobile: &MobileNumber) -> Result<Option<Account>, StoreError>;
    fn account_by_unit_code(&self, code: &str) -> Result<Option<Account>, StoreError>;
    /// Changes the kind (an upgrade to face-signed), recording the ID card period given.
    fn set_account_kind(
        &self,
        id: AccountId,
        kind: UserKind,
        id_card_validity: Option<IdCardValidity>,
    ) -> Result<(), StoreError>;
    /// Creates a unit account with its papers, in one transaction.
    fn create_unit(
        &self,
        account: &NewAccount,
        papers: &UnitPapers,
    ) -> Result<AccountId, StoreError>;

    // Manual ID-card reviews (R2.6).
    fn add_review(&self, review: &IdCardReview) -> Result<i64, StoreError>;
    fn review(&self, id: i64) -> Result<Option<IdCardReview>, StoreError>;
    fn reviews_of(&self, account: AccountId) -> Result<Vec<IdCardReview>, StoreError>;
    /// Pending reviews, oldest first.
    fn pending_reviews(&self) -> Result<Vec<IdCardReview>, StoreError>;
    /// Records a decision on a pending review; false if it was already decided.
    fn decide_review(
        &self,
        id: i64,
        state: ReviewState,
        reason: Option<&str>,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError>;

    // Staff and the console.
    fn create_staff(&self, staff: &Staff) -> Result<i64, StoreError>;
    fn staff_by_username(&self, username: &str) -> Result<Option<Staff>, StoreError>;
    /// Every member of staff, by username.
    fn staff_list(&self) -> Result<Vec<Staff>, StoreError>;
    fn put_staff_session(
        &self,
        token_hash: &[u8],
        staff: i64,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    fn staff_session(&self, token_hash: &[u8]) -> Result<Option<StaffSession>, StoreError>;
    fn delete_staff_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;
    fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The latest `limit` entries, newest first.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    // The SMS outbox (R3.5): durable, retried, one message per event.
    /// Queues a message; false if one for this event was queued before (it is not queued again).
    fn enqueue_sms(
        &self,
        event_key: &str,
        to: &MobileNumber,
        text: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Unsent messages whose next attempt is due, oldest first.
    fn due_sms(&self, now: i64, limit: usize) -> Result<Vec<OutboxMessage>, StoreError>;
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

    // Status list positions (one per account whose credential was issued).
    /// The account's index in the status list, allocated on first use and never reused.
    fn status_index(&self, account: AccountId) -> Result<u32, StoreError>;
    /// Every allocated index with the account's licence status as a verifier should see it on
    /// `today` (None: no licence held).
    fn status_entries(
        &self,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<licence_core::LicenceStatus>)>, StoreError>;

    // E-licence applications (R3).
    /// Stores a new application, durably, unless the key was seen (replay) or another is open.
    fn submit_application(&self, new: Application) -> Result<Submitted, StoreError>;
    fn application(&self, id: i64) -> Result<Option<Application>, StoreError>;
    fn applications_of(&self, account: AccountId) -> Result<Vec<Application>, StoreError>;
    /// Submitted applications whose photo the server has not checked yet, oldest first.
    fn unchecked_applications(&self, limit: usize) -> Result<Vec<Application>, StoreError>;
    /// Applications waiting for a reviewer, by deadline.
    fn review_queue(&self) -> Result<Vec<Application>, StoreError>;
    /// Records photo re-checks, each moving its application on if it is still `from`; all
    /// in one commit. Says, for each, whether it applied.
    fn record_checks(&self, checks: &[PhotoCheckRecord]) -> Result<Vec<bool>, StoreError>;
    /// Moves an application from `from` to `to` (false if it is no longer `from`), with the
    /// event in its history. A resubmission also replaces the photo, clears the check and
    /// sets the new deadline.
    fn transition(
        &self,
        id: i64,
        from: &ApplicationState,
        to: &ApplicationState,
        actor: &str,
        resubmitted: Option<Resubmitted<'_>>,
        at: i64,
    ) -> Result<bool, StoreError>;

    // Events counted against limits (face failures, sign-in failures, codes sent), by key.
    fn record_event(&self, kind: &str, key: &str, at: i64) -> Result<(), StoreError>;
    fn count_events(&self, kind: &str, key: &str, since: i64) -> Result<u32, StoreError>;
    fn last_event(&self, kind: &str, key: &str) -> Result<Option<i64>, StoreError>;
    fn clear_events(&self, kind: &str, key: &str) -> Result<(), StoreError>;

    // One-time codes.
    fn put_challenge(&self, challenge: &SmsChallenge) -> Result<(), StoreError>;
    fn challenge(&self, id: &str) -> Result<Option<SmsChallenge>, StoreError>;
    /// Counts a wrong attempt; returns the attempts made so far.
    fn count_attempt(&self, id: &str) -> Result<u32, StoreError>;
    /// Marks the code used; false if it already was (two requests racing).
    fn consume_challenge(&self, id: &str) -> Result<bool, StoreError>;
    fn delete_challenge(&self, id: &str) -> Result<(), StoreError>;

    // Sessions, by the SHA-256 of the bearer token (the token itself is never stored).
    fn put_session(&self, token_hash: &[u8], session: &Session) -> Result<(), StoreError>;
    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>, StoreError>;
    fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    // Devices.
    fn add_device(&self, device: &Device) -> Result<i64, StoreError>;
    fn devices(&self, account: AccountId) -> Result<Vec<Device>, StoreError>;
}
