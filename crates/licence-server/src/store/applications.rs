//! E-licence applications (R3) with their history, and the positions in the status list of
//! the accounts whose credential was issued.

use licence_core::{ApplicationState, LicenceStatus};

use super::{AccountId, StoreError};

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
    /// The applicant's message when the check decides (a rejection), stored with the check in
    /// the same transaction.
    pub notice: Option<super::Notice>,
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

/// Applications and the status index.
pub trait ApplicationStore: Send + Sync {
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
    /// event in its history and what the move causes (`effects`), all in one transaction. A
    /// resubmission also replaces the photo, clears the check and sets the new deadline.
    #[allow(clippy::too_many_arguments)]
    fn transition(
        &self,
        id: i64,
        from: &ApplicationState,
        to: &ApplicationState,
        actor: &str,
        resubmitted: Option<Resubmitted<'_>>,
        effects: &super::Effects,
        at: i64,
    ) -> Result<bool, StoreError>;

    // Status list positions (one per account whose credential was issued).
    /// The account's index in the status list, allocated on first use and never reused.
    fn status_index(&self, account: AccountId) -> Result<u32, StoreError>;
    /// Every allocated index with the account's licence status as a verifier should see it on
    /// `today` (None: no licence held).
    fn status_entries(
        &self,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<LicenceStatus>)>, StoreError>;
}
