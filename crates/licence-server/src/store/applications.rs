//! E-licence applications (R3) with their history, and the positions in the status list of
//! the accounts whose credential was issued.

use licence_core::{ApplicantRecord, ApplicationState, IdNumber, LicenceStatus};

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
    /// What the check's decision causes (the applicant's message, the audit line of an
    /// automatic approval), stored with the check in the same transaction.
    pub effects: super::Effects,
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

/// What the rules of applying look at before a submission or a resubmission, read in one
/// look at the store rather than three (a round trip each on PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicantStanding {
    /// The registry holds a driving licence of the applicant's: there is something to issue.
    pub holds_licence: bool,
    /// The registry's photo of the applicant (档案照片), read only when asked for: a
    /// submission with a photo of its own does not need it.
    pub photo_on_file: Option<Vec<u8>>,
    pub record: ApplicantRecord,
}

/// A signed-in account as a submission needs it: the session, its account and, for a
/// person's account, the account's [`ApplicantStanding`] (see
/// [`ApplicationStore::signed_in_applicant`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInApplicant {
    pub session: super::Session,
    pub account: super::Account,
    /// `None` for an account without an ID number (a unit's): it has no standing to apply.
    pub standing: Option<ApplicantStanding>,
}

/// The query behind [`ApplicationStore::applicant_record`], in the SQL both stores speak,
/// for the account `$account` (an SQL expression: `$1`, or a column of an enclosing query
/// that takes it as a subquery). An application's history stores each state as JSON, its
/// tag first. Its two columns are the reviewers' rejections since the last issued
/// e-licence and when a photo of the driver's own was last issued.
macro_rules! applicant_record_sql {
    ($account:expr) => {
        concat!(
            "
    WITH ev AS (
        SELECT e.at, e.actor, e.state, a.photo_source
        FROM application a JOIN application_event e ON e.application_id = a.id
        WHERE a.account_id = ",
            $account,
            "),
    issued AS (SELECT max(at) AS at FROM ev WHERE state LIKE '{\"status\":\"issued\"%')
    SELECT
        (SELECT count(*) FROM ev
          WHERE state LIKE '{\"status\":\"rejected\"%' AND actor <> 'photo check'
            AND at > coalesce((SELECT at FROM issued), 0)),
        (SELECT max(at) FROM ev
          WHERE state LIKE '{\"status\":\"issued\"%' AND photo_source <> 'on_file')"
        )
    };
}
pub(crate) use applicant_record_sql;

/// [`applicant_record_sql`] for the account `$1`.
pub(crate) const APPLICANT_RECORD_SQL: &str = applicant_record_sql!("$1");

/// The e-licence review desk at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeskCounts {
    /// Waiting for a reviewer.
    pub waiting: i64,
    /// Of those, past their deadline.
    pub overdue: i64,
    /// Decided by reviewers since the start of today (approved or returned).
    pub reviewed_today: i64,
    /// Approved since the start of today, by anyone, and of those by the system on its own.
    pub approved_today: i64,
    pub approved_automatically_today: i64,
}

/// The query behind [`ApplicationStore::desk_counts`] (`$1`: now, `$2`: the start of today).
/// Reviewers are every actor but the applicant, the photo check and issuance.
pub(crate) const DESK_COUNTS_SQL: &str = "
    SELECT
        (SELECT count(*) FROM application WHERE status = 'under_review'),
        (SELECT count(*) FROM application WHERE status = 'under_review' AND due_at < $1),
        (SELECT count(*) FROM application_event
          WHERE at >= $2 AND actor NOT IN ('applicant', 'photo check', 'issuance')
            AND (state LIKE '{\"status\":\"approved\"%' OR state LIKE '{\"status\":\"rejected\"%')),
        (SELECT count(*) FROM application_event
          WHERE at >= $2 AND state LIKE '{\"status\":\"approved\"%'),
        (SELECT count(*) FROM application_event
          WHERE at >= $2 AND actor = 'photo check' AND state LIKE '{\"status\":\"approved\"%')";

/// An [`ApplicantRecord`] from the query's two columns.
pub(crate) fn applicant_record(rejected: i64, photo_changed_at: Option<i64>) -> ApplicantRecord {
    ApplicantRecord {
        rejected_reviews: u32::try_from(rejected).unwrap_or(u32::MAX),
        photo_changed_on: photo_changed_at.and_then(|at| {
            time::OffsetDateTime::from_unix_timestamp(at)
                .ok()
                .map(|t| t.to_offset(licence_core::CHINA_OFFSET).date())
        }),
    }
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
    /// [`ApplicationStore::unchecked_applications`] for the worker `worker`, claimed by it
    /// until `claim_until`: another worker (of another instance) is not given them before
    /// then, unless they are checked; this worker is given its own claims again (a check it
    /// could not finish). A claim lapses when its worker dies.
    fn claim_unchecked_applications(
        &self,
        worker: &str,
        now: i64,
        claim_until: i64,
        limit: usize,
    ) -> Result<Vec<Application>, StoreError>;
    /// What the service's rules look at in the account's past applications: reviewers'
    /// rejections since its last issued e-licence, and when a photo of its own was last issued.
    fn applicant_record(&self, account: AccountId) -> Result<ApplicantRecord, StoreError>;
    /// The account's [`ApplicantStanding`]: the registry's word on the person `id_number`
    /// (their photo only `with_photo`) and [`ApplicationStore::applicant_record`], together.
    /// A person the registry does not know holds no licence and has no photo on file.
    fn applicant_standing(
        &self,
        account: AccountId,
        id_number: &IdNumber,
        with_photo: bool,
    ) -> Result<ApplicantStanding, StoreError>;
    /// The session with this token, its account and that account's standing (the photo on
    /// file only `with_photo`), in one look: what every submission reads first, so a
    /// backend across a network answers it in one round trip. The standing is the one
    /// [`ApplicationStore::applicant_standing`] gives for the account's own ID number.
    fn signed_in_applicant(
        &self,
        token_hash: &[u8],
        with_photo: bool,
    ) -> Result<Option<SignedInApplicant>, StoreError>;
    /// What a review desk's team lead needs: see [`DeskCounts`]; `since` is the start of today.
    fn desk_counts(&self, now: i64, since: i64) -> Result<DeskCounts, StoreError>;
    /// The first `limit` applications waiting for a reviewer, by deadline.
    fn review_queue(&self, limit: usize) -> Result<Vec<Application>, StoreError>;
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
    /// The time to sign the status list of issuer key `kid` with: when its content (whose
    /// digest is `digest`) last changed, or `now` when it changes now or its stamp is older
    /// than `reissue_after` seconds (a list must be signed again before verifiers find it
    /// stale). Every instance asks, so all sign the same list with the same time; a new
    /// stamp is always later than the one before.
    fn stamp_status_list(
        &self,
        kid: &str,
        digest: &[u8],
        now: i64,
        reissue_after: i64,
    ) -> Result<i64, StoreError>;
    /// Every allocated index with the account's licence status as a verifier should see it on
    /// `today` (None: no licence held).
    fn status_entries(
        &self,
        today: time::Date,
    ) -> Result<Vec<(u32, Option<LicenceStatus>)>, StoreError>;
    /// The entry of one index as [`status_entries`](Self::status_entries) gives it (outer
    /// None: the index is not allocated): the officer's online check reads one licence's
    /// standing, not the whole registry.
    fn status_entry(
        &self,
        index: u32,
        today: time::Date,
    ) -> Result<Option<Option<LicenceStatus>>, StoreError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use licence_core::ApplicationState;

    use super::{Application, Submitted};
    use crate::store::registry::tests::{entry, person, unit};
    use crate::store::{AccountId, AuditEntry, Effects, Notice, Store};

    /// A new application of `account` with idempotency key `key`, due at 20.
    pub(crate) fn application(account: AccountId, key: &str) -> Application {
        Application {
            id: 0,
            account,
            idempotency_key: key.into(),
            photo_source: "album".into(),
            photo: vec![0xFF, 0xD8, account as u8],
            cropped: None,
            check: None,
            state: ApplicationState::Submitted,
            submitted_at: 10,
            due_at: 20,
            updated_at: 10,
        }
    }

    /// `n` applications of `n` new unit accounts, submitted; their ids.
    fn submitted(store: &dyn Store, n: usize) -> Vec<i64> {
        (0..n as i64)
            .map(|i| {
                match store
                    .submit_application(application(unit(store, i), "k"))
                    .unwrap()
                {
                    Submitted::Created(app) => app.id,
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    fn ids(apps: &[Application]) -> Vec<i64> {
        apps.iter().map(|a| a.id).collect()
    }

    /// The application a submission answered with, whatever it did.
    pub(crate) fn submitted_app(outcome: &Submitted) -> &Application {
        match outcome {
            Submitted::Created(app) | Submitted::Replayed(app) | Submitted::OpenExists(app) => app,
        }
    }

    /// What a decision caused, as stored: outbox rows, inbox messages of `account`, audit lines.
    pub(crate) fn effects_stored(store: &dyn Store, account: AccountId) -> (usize, usize, usize) {
        (
            // Claimed until 0: taken back at once, for the next count.
            store.due_sms(i64::MAX, 0, 100).unwrap().len(),
            store.inbox(account, 0, 100).unwrap().len(),
            store.audit_log(100).unwrap().len(),
        )
    }

    /// A reviewer's approval of application 1, texted to `to_account`, with its audit line.
    pub(crate) fn review_effects(to_account: AccountId) -> Effects {
        Effects {
            notice: Some(Notice {
                account: to_account,
                to: "13800138000".parse().unwrap(),
                event_key: "application:1:approved:30".into(),
                title: "驾驶证电子版审核结果".into(),
                text: "已审核通过".into(),
            }),
            audit: Some(AuditEntry {
                at: 30,
                actor: "review01".into(),
                action: "application_review".into(),
                detail: "application 1: approved".into(),
            }),
        }
    }

    /// Submissions at once from many threads, for any backend: every account submits three
    /// times, twice with one key (a retry) and once with another (a second application
    /// while one is open); each gets one application, and every submission is answered
    /// with it as what it did.
    pub(crate) fn concurrent_submissions_are_each_answered_right(store: &dyn Store) {
        let accounts: Vec<AccountId> = (0..24).map(|i| unit(store, i)).collect();
        let outcomes: Vec<(AccountId, &str, Submitted)> = std::thread::scope(|s| {
            let handles: Vec<_> = accounts
                .iter()
                .flat_map(|&a| [(a, "k1"), (a, "k1"), (a, "k2")])
                .map(|(a, key)| {
                    let app = application(a, key);
                    s.spawn(move || (a, key, store.submit_application(app).unwrap()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for &account in &accounts {
            let stored = store.applications_of(account).unwrap();
            assert_eq!(stored.len(), 1, "one application per account");
            let mine: Vec<&Submitted> = outcomes
                .iter()
                .filter(|(a, _, _)| *a == account)
                .map(|(_, _, o)| o)
                .collect();
            let created = mine
                .iter()
                .filter(|o| matches!(o, Submitted::Created(_)))
                .count();
            assert_eq!(created, 1, "{mine:?}");
            for (_, key, outcome) in outcomes.iter().filter(|(a, _, _)| *a == account) {
                assert_eq!(submitted_app(outcome), &stored[0]);
                // A retry with the key that won replays it; the other key finds it open.
                if *key == stored[0].idempotency_key {
                    assert!(
                        matches!(outcome, Submitted::Created(_) | Submitted::Replayed(_)),
                        "{outcome:?}"
                    );
                } else {
                    assert!(matches!(outcome, Submitted::OpenExists(_)), "{outcome:?}");
                }
            }
        }
        // A later submission alone is answered at once (nothing left half-done).
        let later = store
            .submit_application(application(accounts[0], "k3"))
            .unwrap();
        assert!(matches!(later, Submitted::OpenExists(_)));
    }

    /// Photo checks claimed by workers, for any backend: each worker is given others'
    /// unclaimed applications, oldest first; its own claims again; another's once they
    /// lapse; none once checked.
    pub(crate) fn photo_checks_are_claimed_by_one_worker(store: &dyn Store) {
        let apps = submitted(store, 3);
        let a = store
            .claim_unchecked_applications("a", 100, 160, 2)
            .unwrap();
        assert_eq!(ids(&a), apps[..2]);
        // Worker b is given only what a did not claim.
        let b = store
            .claim_unchecked_applications("b", 101, 400, 10)
            .unwrap();
        assert_eq!(ids(&b), apps[2..]);
        assert!(store
            .claim_unchecked_applications("c", 102, 162, 10)
            .unwrap()
            .is_empty());
        // A worker is given its own claims again (a check it could not finish).
        assert_eq!(
            ids(&store
                .claim_unchecked_applications("a", 103, 163, 10)
                .unwrap()),
            apps[..2]
        );
        // The first is checked; a died: its other claim lapses at 163 and c takes it.
        let check = crate::store::PhotoCheckRecord {
            id: apps[0],
            check: "{}".into(),
            cropped: None,
            from: ApplicationState::Submitted,
            to: ApplicationState::UnderReview,
            effects: Effects::NONE,
        };
        assert_eq!(store.record_checks(&[check]).unwrap(), [true]);
        assert_eq!(
            ids(&store
                .claim_unchecked_applications("c", 162, 222, 10)
                .unwrap()),
            [0i64; 0]
        );
        assert_eq!(
            ids(&store
                .claim_unchecked_applications("c", 163, 223, 10)
                .unwrap()),
            [apps[1]]
        );
        // Reading the queue claims nothing.
        assert_eq!(ids(&store.unchecked_applications(10).unwrap()), apps[1..]);
    }

    /// The status list's stamp, for any backend: the same content keeps its time until it
    /// is due to be signed again; new content, or an old stamp, gets a later time.
    pub(crate) fn status_list_stamps_change_only_with_the_content(store: &dyn Store) {
        assert_eq!(store.stamp_status_list("k1", b"a", 100, 3600).unwrap(), 100);
        assert_eq!(store.stamp_status_list("k1", b"a", 150, 3600).unwrap(), 100);
        // Another key has its own stamp.
        assert_eq!(store.stamp_status_list("k2", b"a", 150, 3600).unwrap(), 150);
        // New content: now.
        assert_eq!(store.stamp_status_list("k1", b"b", 200, 3600).unwrap(), 200);
        // New content again within the same second: still later than the one before.
        assert_eq!(store.stamp_status_list("k1", b"c", 200, 3600).unwrap(), 201);
        assert_eq!(
            store.stamp_status_list("k1", b"c", 3800, 3600).unwrap(),
            201
        );
        // Due to be signed again: a new time for the same content.
        assert_eq!(
            store.stamp_status_list("k1", b"c", 3801, 3600).unwrap(),
            3801
        );
    }

    pub(crate) fn status_indexes_are_allocated_once_in_order(store: &dyn Store) {
        let (a, b) = (unit(store, 1), unit(store, 2));
        assert_eq!(store.status_index(b).unwrap(), 0);
        assert_eq!(store.status_index(a).unwrap(), 1);
        assert_eq!(store.status_index(b).unwrap(), 0);
        let today = time::macros::date!(2026 - 12 - 1);
        // Units hold no licence: their entries say so.
        assert_eq!(store.status_entries(today).unwrap(), [(0, None), (1, None)]);
        // A person's entry is their licence's status, read from the registry's record.
        let entry = entry();
        store.put_registry_entry(&entry).unwrap();
        let holder = store.create_account(&person()).unwrap();
        assert_eq!(store.status_index(holder).unwrap(), 2);
        let licence = entry.licence.unwrap();
        assert_eq!(
            store.status_entries(today).unwrap(),
            [(0, None), (1, None), (2, Some(licence.status_on(today)))]
        );
        // One entry alone says the same; an index nobody has is not an entry.
        assert_eq!(
            store.status_entry(2, today).unwrap(),
            Some(Some(licence.status_on(today)))
        );
        assert_eq!(store.status_entry(1, today).unwrap(), Some(None));
        assert_eq!(store.status_entry(3, today).unwrap(), None);
        assert_eq!(store.status_entry(u32::MAX, today).unwrap(), None);
    }

    pub(crate) fn a_decision_and_all_it_causes_are_stored_together_or_not_at_all(
        store: &dyn Store,
    ) {
        let account = unit(store, 1);
        let Submitted::Created(app) = store.submit_application(application(account, "k")).unwrap()
        else {
            panic!("not created");
        };
        let review = ApplicationState::UnderReview;
        assert!(store
            .transition(
                app.id,
                &app.state,
                &review,
                "check",
                None,
                &Effects::NONE,
                20
            )
            .unwrap());
        let approved = review
            .apply(&licence_core::ApplicationEvent::Approve)
            .unwrap();
        let approve = |effects: &Effects, at| {
            store.transition(app.id, &review, &approved, "review01", None, effects, at)
        };
        // The notice cannot be stored (its account does not exist): nothing is.
        assert!(approve(&review_effects(account + 1000), 30).is_err());
        assert_eq!(store.application(app.id).unwrap().unwrap().state, review);
        assert_eq!(effects_stored(store, account), (0, 0, 0));
        // With a notice that can be stored: the decision, the text, the inbox, the audit line.
        assert!(approve(&review_effects(account), 30).unwrap());
        assert_eq!(store.application(app.id).unwrap().unwrap().state, approved);
        assert_eq!(effects_stored(store, account), (1, 1, 1));
        // A second decision on the same application changes nothing and causes nothing.
        assert!(!approve(&review_effects(account), 31).unwrap());
        assert_eq!(effects_stored(store, account), (1, 1, 1));
    }
    /// The record the service's rules read: reviewers' rejections since the last issued
    /// e-licence (the photo check's not counted), and the last issue with a photo of the
    /// driver's own.
    pub(crate) fn the_applicant_record_counts_reviews_since_the_last_issue(store: &dyn Store) {
        use licence_core::{ApplicationEvent as E, Rejection, RejectionCode};
        let account = unit(store, 1);
        let record = || store.applicant_record(account).unwrap();
        assert_eq!(record(), licence_core::ApplicantRecord::default());
        let reject = E::Reject {
            reasons: vec![Rejection {
                code: RejectionCode::PhotoNotCompliant,
                note: None,
            }],
        };
        // Moves application `id` through `events`, each by `actor` at `at`.
        let moves = |id: i64, events: &[(&E, &str)], at: i64| {
            let mut state = store.application(id).unwrap().unwrap().state;
            for (event, actor) in events {
                let to = state.apply(event).unwrap();
                assert!(store
                    .transition(id, &state, &to, actor, None, &Effects::NONE, at)
                    .unwrap());
                state = to;
            }
        };
        let Submitted::Created(first) =
            store.submit_application(application(account, "a")).unwrap()
        else {
            panic!("not created");
        };
        // Rejected by the photo check once (not counted), then by reviewers twice.
        moves(
            first.id,
            &[(&reject, "photo check"), (&E::Submit, "applicant")],
            100,
        );
        moves(
            first.id,
            &[(&E::StartReview, "check"), (&reject, "review01")],
            110,
        );
        moves(
            first.id,
            &[(&E::Submit, "applicant"), (&E::StartReview, "check")],
            120,
        );
        moves(first.id, &[(&reject, "review02")], 130);
        assert_eq!(record().rejected_reviews, 2);
        assert_eq!(record().photo_changed_on, None);
        // Then approved and issued, with the album photo: the count starts again.
        moves(
            first.id,
            &[(&E::Submit, "applicant"), (&E::StartReview, "check")],
            140,
        );
        let issued_at = 1_780_000_000; // 2026-05-28 20:26:40 UTC, 29 May in China
        moves(
            first.id,
            &[(&E::Approve, "review01"), (&E::Issue, "issuance")],
            issued_at,
        );
        assert_eq!(
            record(),
            licence_core::ApplicantRecord {
                rejected_reviews: 0,
                photo_changed_on: Some(time::macros::date!(2026 - 05 - 29)),
            }
        );
        // A second application with the photo on file, rejected: counted; the photo change
        // stays the album one's.
        let Submitted::Created(second) = store
            .submit_application(Application {
                photo_source: "on_file".into(),
                ..application(account, "b")
            })
            .unwrap()
        else {
            panic!("not created");
        };
        moves(
            second.id,
            &[(&E::StartReview, "check"), (&reject, "review01")],
            issued_at + 10,
        );
        assert_eq!(record().rejected_reviews, 1);
        assert_eq!(
            record().photo_changed_on,
            Some(time::macros::date!(2026 - 05 - 29))
        );
        // Another account's history is its own.
        assert_eq!(
            store.applicant_record(unit(store, 2)).unwrap(),
            licence_core::ApplicantRecord::default()
        );
    }
    /// What a submission reads in one look: whether the registry holds a licence of the
    /// person's, their photo on file only when asked for, and the account's record as
    /// `applicant_record` gives it; read with the session, the same.
    pub(crate) fn the_applicant_standing_is_the_registry_and_the_record_together(
        store: &dyn Store,
    ) {
        use super::{ApplicantStanding, SignedInApplicant};
        use crate::store::{RegistryEntry, Session};
        use licence_core::{ApplicationEvent as E, Rejection, RejectionCode};
        let file = entry();
        let id = file.id_number;
        let account = store.create_account(&person()).unwrap();
        let session = Session {
            account,
            created_at: 5,
            expires_at: 500,
        };
        store.put_session(b"person's token", &session).unwrap();
        let standing = |with_photo| {
            let standing = store.applicant_standing(account, &id, with_photo).unwrap();
            let SignedInApplicant {
                session: found,
                account: signed_in,
                standing: with_session,
            } = store
                .signed_in_applicant(b"person's token", with_photo)
                .unwrap()
                .expect("the session is found");
            assert_eq!((&found, signed_in.id), (&session, account));
            assert_eq!(signed_in.id_number, Some(id));
            assert_eq!(
                with_session.as_ref(),
                Some(&standing),
                "with_photo {with_photo}"
            );
            standing
        };
        // A person the registry does not know: nothing to issue, no photo.
        assert_eq!(standing(true), ApplicantStanding::default());
        // Known, with a licence and a photo: the photo only when asked for.
        store.put_registry_entry(&file).unwrap();
        let known = ApplicantStanding {
            holds_licence: true,
            photo_on_file: file.photo.clone(),
            record: licence_core::ApplicantRecord::default(),
        };
        assert_eq!(standing(true), known);
        assert_eq!(
            standing(false),
            ApplicantStanding {
                photo_on_file: None,
                ..known.clone()
            }
        );
        // Known, but without a licence or a photo (the licence row is gone).
        store
            .put_registry_entry(&RegistryEntry {
                licence: None,
                photo: None,
                ..file.clone()
            })
            .unwrap();
        assert_eq!(standing(true), ApplicantStanding::default());
        // The record part is the account's own: one rejection by a reviewer counts.
        store.put_registry_entry(&file).unwrap();
        let Submitted::Created(app) = store.submit_application(application(account, "s")).unwrap()
        else {
            panic!("not created");
        };
        let review = app.state.apply(&E::StartReview).unwrap();
        let rejected = review
            .apply(&E::Reject {
                reasons: vec![Rejection {
                    code: RejectionCode::PhotoNotCompliant,
                    note: None,
                }],
            })
            .unwrap();
        for (from, to, actor) in [
            (&app.state, &review, "check"),
            (&review, &rejected, "review01"),
        ] {
            assert!(store
                .transition(app.id, from, to, actor, None, &Effects::NONE, 50)
                .unwrap());
        }
        let record = store.applicant_record(account).unwrap();
        assert_eq!(record.rejected_reviews, 1);
        assert_eq!(standing(true), ApplicantStanding { record, ..known });
        // Another account asking of the same person reads its own record, not this one's.
        let other = unit(store, 9);
        assert_eq!(
            store.applicant_standing(other, &id, false).unwrap().record,
            licence_core::ApplicantRecord::default()
        );
        // A unit's account, signed in, has no standing to apply; a token without a session
        // finds nothing.
        store
            .put_session(
                b"unit's token",
                &Session {
                    account: other,
                    ..session
                },
            )
            .unwrap();
        let unit_signed_in = store
            .signed_in_applicant(b"unit's token", true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (unit_signed_in.account.id, unit_signed_in.standing),
            (other, None)
        );
        assert_eq!(
            store.signed_in_applicant(b"no such token", true).unwrap(),
            None
        );
    }

    /// The desk's counts: waiting and overdue now; decisions since a time, by reviewers and
    /// by the system.
    pub(crate) fn the_desk_counts_what_waits_and_who_decided(store: &dyn Store) {
        use licence_core::ApplicationEvent as E;
        let ids = submitted(store, 4);
        let app = |id| store.application(id).unwrap().unwrap();
        let review = |id: i64, at| {
            let a = app(id);
            let to = a.state.apply(&E::StartReview).unwrap();
            assert!(store
                .transition(id, &a.state, &to, "check", None, &Effects::NONE, at)
                .unwrap());
        };
        // Two wait (due at 20); one approved by a reviewer at 50; one by the system.
        for &id in &ids[..3] {
            review(id, 40);
        }
        let a = app(ids[2]);
        let approved = a.state.apply(&E::Approve).unwrap();
        assert!(store
            .transition(
                ids[2],
                &a.state,
                &approved,
                "review01",
                None,
                &Effects::NONE,
                50
            )
            .unwrap());
        let automatic = crate::store::PhotoCheckRecord {
            id: ids[3],
            check: "{}".into(),
            cropped: None,
            from: ApplicationState::Submitted,
            to: ApplicationState::Approved,
            effects: Effects::NONE,
        };
        assert_eq!(store.record_checks(&[automatic]).unwrap(), [true]);
        let counts = store.desk_counts(30, 45).unwrap();
        assert_eq!(
            counts,
            crate::store::DeskCounts {
                waiting: 2,
                overdue: 2,
                reviewed_today: 1,
                approved_today: 2,
                approved_automatically_today: 1,
            }
        );
        // Nothing is overdue before its deadline; nothing was decided after now.
        let later = store.desk_counts(10, crate::now() + 10).unwrap();
        assert_eq!(
            (later.overdue, later.reviewed_today, later.approved_today),
            (0, 0, 0)
        );
    }
}
