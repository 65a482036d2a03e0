//! The police registry (the system of record) and the platform accounts opened against it:
//! persons, units with their counter papers, and the manual ID-card reviews of an account.

use licence_core::{DrivingLicence, IdCardValidity, IdNumber, MobileNumber, PersonName, UserKind};

use super::StoreError;

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

/// A unit's counter registration papers (R2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPapers {
    pub agent_name: PersonName,
    pub agent_id_number: IdNumber,
    /// 授权委托书 as scanned at the counter (PDF or JPEG).
    pub attorney: Vec<u8>,
    pub attorney_type: String,
}

/// Where a manual ID-card review stands: licence-core's, as the API also sends it.
pub use licence_core::IdCardReviewState as ReviewState;

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

/// The registry, the accounts and the ID-card reviews.
pub trait RegistryStore: Send + Sync {
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
    /// Records a decision on a pending review (false if it was already decided), with the
    /// account's new kind when the approval upgrades it, and what the decision causes
    /// (`effects`), all in one transaction.
    #[allow(clippy::too_many_arguments)]
    fn decide_review(
        &self,
        id: i64,
        state: ReviewState,
        reason: Option<&str>,
        by: &str,
        upgrade: Option<(UserKind, IdCardValidity)>,
        effects: &super::Effects,
        at: i64,
    ) -> Result<bool, StoreError>;
}
