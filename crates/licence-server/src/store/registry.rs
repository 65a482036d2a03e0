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
        upgrade: Option<KindUpgrade>,
        effects: &super::Effects,
        at: i64,
    ) -> Result<bool, StoreError>;
}

/// An account's new kind, given only while it still has the kind the decision was made on:
/// a face-sign by another path in the meantime (its channel, its ID card period) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindUpgrade {
    pub from: UserKind,
    pub to: UserKind,
    pub id_card_validity: IdCardValidity,
}

#[cfg(test)]
pub(crate) mod tests {
    use licence_core::testdata::sample_licence;
    use licence_core::UserKind;

    use super::{
        AccountId, IdCardReview, KindUpgrade, NewAccount, RegistryEntry, RegistryStore,
        ReviewState, UnitPapers,
    };
    use crate::store::{Effects, StoreError};

    /// A person of the registry with a licence and a photo.
    pub(crate) fn entry() -> RegistryEntry {
        let licence = sample_licence();
        RegistryEntry {
            id_number: licence.record().number,
            name: licence.record().name.clone(),
            reserved_mobile: "13800138000".parse().unwrap(),
            photo: Some(vec![0xFF, 0xD8, 0xFF, 0xD9]),
            licence: Some(licence),
        }
    }

    /// The person of [`entry`], registered online.
    pub(crate) fn person() -> NewAccount {
        let e = entry();
        NewAccount {
            kind: UserKind::OnlineRegistered,
            id_number: Some(e.id_number),
            unit_code: None,
            name: "张伟".into(),
            mobile: e.reserved_mobile,
            password_hash: "x".into(),
            created_at: 1,
        }
    }

    /// A new unit account, code `U{i}`, for sessions, devices, applications and messages to
    /// belong to.
    pub(crate) fn unit(store: &(impl RegistryStore + ?Sized), i: i64) -> AccountId {
        store
            .create_account(&NewAccount {
                kind: UserKind::Unit,
                id_number: None,
                unit_code: Some(format!("U{i}")),
                name: "单位".into(),
                mobile: "13800138000".parse().unwrap(),
                password_hash: "x".into(),
                created_at: 1,
            })
            .unwrap()
    }

    /// A review of `account`'s ID card, waiting for a decision.
    pub(crate) fn pending_review(account: AccountId) -> IdCardReview {
        IdCardReview {
            id: 0,
            account,
            front: vec![1],
            back: vec![2],
            validity: "2020-01-10至2030-01-10".parse().unwrap(),
            state: ReviewState::Pending,
            reason: None,
            submitted_at: 5,
            decided_at: None,
            decided_by: None,
        }
    }

    pub(crate) fn the_registry_round_trips_and_replaces(store: &dyn RegistryStore) {
        let mut e = entry();
        store.put_registry_entry(&e).unwrap();
        assert_eq!(store.registry_entry(&e.id_number).unwrap(), Some(e.clone()));
        e.photo = None;
        e.licence = None;
        store.put_registry_entry(&e).unwrap();
        assert_eq!(store.registry_entry(&e.id_number).unwrap(), Some(e));
        assert_eq!(store.registry_size().unwrap(), 1);
    }

    pub(crate) fn a_second_account_for_one_person_is_a_duplicate(store: &dyn RegistryStore) {
        let new = person();
        let id = store.create_account(&new).unwrap();
        assert!(matches!(
            store.create_account(&new),
            Err(StoreError::Duplicate("account"))
        ));
        let account = store
            .account_by_id_number(&entry().id_number)
            .unwrap()
            .unwrap();
        assert_eq!((account.id, account.kind), (id, UserKind::OnlineRegistered));
        assert_eq!(store.account(id).unwrap(), Some(account.clone()));
        assert_eq!(store.account_by_mobile(&new.mobile).unwrap(), Some(account));
    }

    /// A review is decided once; `stored_state` reads the state column of a review as the
    /// backend stored it.
    pub(crate) fn a_review_is_decided_once_and_stored_in_its_spelling(
        store: &dyn RegistryStore,
        stored_state: &dyn Fn(i64) -> String,
    ) {
        let account = store.create_account(&person()).unwrap();
        let id = store.add_review(&pending_review(account)).unwrap();
        assert_eq!(store.pending_reviews().unwrap().len(), 1);
        assert!(store
            .decide_review(
                id,
                ReviewState::Rejected,
                Some("模糊"),
                "reviewer",
                None,
                &Effects::NONE,
                9
            )
            .unwrap());
        assert!(!store
            .decide_review(
                id,
                ReviewState::Approved,
                None,
                "reviewer",
                None,
                &Effects::NONE,
                10
            )
            .unwrap());
        let decided = store.review(id).unwrap().unwrap();
        assert_eq!(decided.state, ReviewState::Rejected);
        assert_eq!(decided.reason.as_deref(), Some("模糊"));
        assert!(store.pending_reviews().unwrap().is_empty());
        assert_eq!(stored_state(id), "rejected");
        assert_eq!(store.reviews_of(account).unwrap(), vec![decided]);
    }

    /// An approval upgrades the account it was made on; an account face-signed another way
    /// in the meantime keeps that kind and period, and the decision still stands.
    pub(crate) fn an_approval_upgrades_only_the_kind_it_was_made_on(store: &dyn RegistryStore) {
        use licence_core::FaceSignChannel;
        let validity = pending_review(0).validity;
        let upgrade = KindUpgrade {
            from: UserKind::OnlineRegistered,
            to: UserKind::FaceSigned {
                via: FaceSignChannel::ManualIdReview,
            },
            id_card_validity: validity,
        };
        let approve = |review: i64| {
            store
                .decide_review(
                    review,
                    ReviewState::Approved,
                    None,
                    "reviewer",
                    Some(upgrade),
                    &Effects::NONE,
                    9,
                )
                .unwrap()
        };
        let account = store.create_account(&person()).unwrap();
        assert!(approve(store.add_review(&pending_review(account)).unwrap()));
        assert_eq!(store.account(account).unwrap().unwrap().kind, upgrade.to);

        // A second review, decided after the person face-signed by liveness in between: the
        // decision was made on an online-registered account, and changes no other.
        let review = store.add_review(&pending_review(account)).unwrap();
        let liveness = UserKind::FaceSigned {
            via: FaceSignChannel::OnlineLiveness,
        };
        store.set_account_kind(account, liveness, None).unwrap();
        assert!(approve(review));
        assert_eq!(store.account(account).unwrap().unwrap().kind, liveness);
        assert_eq!(
            store.review(review).unwrap().unwrap().state,
            ReviewState::Approved
        );
    }

    /// A unit and its papers are stored together, once; `papers_kept` counts the papers the
    /// backend holds.
    pub(crate) fn a_unit_is_created_with_its_papers_or_not_at_all(
        store: &dyn RegistryStore,
        papers_kept: &dyn Fn() -> i64,
    ) {
        let e = entry();
        let unit = NewAccount {
            kind: UserKind::Unit,
            id_number: None,
            unit_code: Some("91350100M000100Y43".into()),
            name: "某某物流有限公司".into(),
            mobile: e.reserved_mobile,
            password_hash: "x".into(),
            created_at: 1,
        };
        let papers = UnitPapers {
            agent_name: e.name.clone(),
            agent_id_number: e.id_number,
            attorney: vec![0x25, 0x50, 0x44, 0x46],
            attorney_type: "application/pdf".into(),
        };
        let id = store.create_unit(&unit, &papers).unwrap();
        let stored = store
            .account_by_unit_code("91350100M000100Y43")
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.id, stored.kind, stored.id_number),
            (id, UserKind::Unit, None)
        );
        assert!(matches!(
            store.create_unit(&unit, &papers),
            Err(StoreError::Duplicate("unit"))
        ));
        assert_eq!(papers_kept(), 1);
        // The agent's own account, on the same number, is the one sign-in by mobile finds.
        let agent = store.create_account(&person()).unwrap();
        assert_eq!(
            store
                .account_by_mobile(&e.reserved_mobile)
                .unwrap()
                .unwrap()
                .id,
            agent
        );
    }
}
