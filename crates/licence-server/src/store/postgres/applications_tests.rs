//! The PostgreSQL application piece's own tests: races across two instances on one
//! database, and what only this backend has (its schema's spellings, the event history).

use std::sync::Arc;

use super::*;
use crate::store::applications::tests::{
    application, effects_stored, review_effects, submitted_app,
};
use crate::store::postgres::tests::{fresh_store, race, two_instances};
use crate::store::registry::tests::unit;
use licence_core::{Rejection, RejectionCode};

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn photo_checks_are_claimed_by_one_worker() {
    crate::store::applications::tests::photo_checks_are_claimed_by_one_worker(&fresh_store());
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn status_list_stamps_change_only_with_the_content() {
    crate::store::applications::tests::status_list_stamps_change_only_with_the_content(
        &fresh_store(),
    );
}

/// Two instances' workers claiming at once, again and again: each application is given
/// to exactly one of them.
#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn workers_of_two_instances_never_claim_the_same_application() {
    let (first, second) = two_instances();
    for i in 0..40 {
        let outcome = first
            .submit_application(application(unit(&*first, i), "k"))
            .unwrap();
        assert!(matches!(outcome, Submitted::Created(_)), "{outcome:?}");
    }
    let claimed: Vec<i64> = race([&first, &second], 8, |w, store| {
        store
            .claim_unchecked_applications(&format!("w{w}"), 100, 160, 5)
            .unwrap()
    })
    .into_iter()
    .flatten()
    .map(|a| a.id)
    .collect();
    let mut unique = claimed.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((claimed.len(), unique.len()), (40, 40));
}

/// The schema spells the open statuses where it cannot take them as a parameter (a
/// partial index): each place says exactly [`open_statuses`]. Runs without a database.
#[test]
fn the_schema_spells_the_open_statuses_as_the_code_does() {
    let spelled = format!(
        "status IN ({})",
        open_statuses()
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The index and the function of migration 1, the batch function of migration 3.
    for (schema, places) in [
        (include_str!("migrations/0001_schema.sql"), 2),
        (include_str!("migrations/0003_submit_applications.sql"), 1),
    ] {
        assert_eq!(schema.matches("status IN (").count(), places, "{schema}");
        assert_eq!(
            schema.matches(spelled.as_str()).count(),
            places,
            "{spelled}"
        );
    }
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn concurrent_submissions_are_each_answered_right() {
    crate::store::applications::tests::concurrent_submissions_are_each_answered_right(
        &fresh_store(),
    );
}

/// Submits `keys` for `account` all at once, from one thread per key, alternating
/// between the two instances.
fn submit_at_once(
    instances: [&Arc<PostgresStore>; 2],
    account: AccountId,
    keys: &[String],
) -> Vec<Submitted> {
    let keys = keys.to_vec();
    race(instances, keys.len(), move |i, store| {
        store
            .submit_application(application(account, &keys[i]))
            .unwrap()
    })
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn two_instances_racing_open_one_application_per_account() {
    let (first, second) = two_instances();
    let instances = [&first, &second];
    for round in 0..5 {
        // Different keys at once: one opens, the others find it open.
        let account = unit(&*first, 2 * round);
        let keys: Vec<String> = (0..12).map(|i| format!("k{i}")).collect();
        let outcomes = submit_at_once(instances, account, &keys);
        let created: Vec<&Application> = outcomes
            .iter()
            .filter_map(|o| match o {
                Submitted::Created(app) => Some(app),
                _ => None,
            })
            .collect();
        assert_eq!(created.len(), 1, "{outcomes:?}");
        for o in &outcomes {
            assert!(
                matches!(o, Submitted::Created(_) | Submitted::OpenExists(_)),
                "{o:?}"
            );
            assert_eq!(submitted_app(o).id, created[0].id);
        }
        assert_eq!(
            instances[1].applications_of(account).unwrap(),
            [created[0].clone()]
        );

        // One key at once (retries): one creates, the others replay it.
        let account = unit(&*first, 2 * round + 1);
        let keys = vec!["same".to_string(); 12];
        let outcomes = submit_at_once(instances, account, &keys);
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, Submitted::Created(_)))
            .count();
        assert_eq!(created, 1, "{outcomes:?}");
        let stored = instances[0].applications_of(account).unwrap();
        assert_eq!(stored.len(), 1);
        for o in &outcomes {
            assert!(
                matches!(o, Submitted::Created(_) | Submitted::Replayed(_)),
                "{o:?}"
            );
            assert_eq!(submitted_app(o), &stored[0]);
        }
    }
}

/// One batch of the group commit, as `submit_applications` (migration 3) decides it: each
/// submission answered in its place, a replay and a second application of the same account
/// inside the batch seen as such; a submission that fails the batch (an account that does
/// not exist) is refused alone, the rest stored.
#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn a_batch_of_submissions_is_each_answered_in_its_place() {
    let store = fresh_store();
    let (a, b) = (unit(&store, 1), unit(&store, 2));
    let kinds = |answers: &[Result<Submitted, StoreError>]| -> Vec<String> {
        answers
            .iter()
            .map(|r| match r {
                Ok(Submitted::Created(app)) => format!("created {}", app.idempotency_key),
                Ok(Submitted::Replayed(app)) => format!("replayed {}", app.idempotency_key),
                Ok(Submitted::OpenExists(app)) => format!("open {}", app.idempotency_key),
                Err(e) => format!("error {e}"),
            })
            .collect()
    };
    let batch = vec![
        application(a, "k1"),
        application(b, "k1"),
        application(a, "k1"),
        application(a, "k2"),
    ];
    let answers = store.run(store.store_submissions(batch)).unwrap();
    assert_eq!(
        kinds(&answers),
        ["created k1", "created k1", "replayed k1", "open k1"]
    );
    let first = submitted_app(answers[0].as_ref().unwrap()).clone();
    assert_eq!(submitted_app(answers[2].as_ref().unwrap()), &first);
    assert_eq!(
        store.applications_of(a).unwrap(),
        std::slice::from_ref(&first)
    );

    // An account that does not exist fails the batch; the others are stored alone.
    let (c, d) = (unit(&store, 3), unit(&store, 4));
    let batch = vec![
        application(c, "k1"),
        application(a + b + c + d + 1000, "k1"),
        application(d, "k1"),
        application(c, "k1"),
    ];
    let answers = store.run(store.store_submissions(batch)).unwrap();
    let each = kinds(&answers);
    assert_eq!(each[0], "created k1");
    assert!(each[1].starts_with("error database: "), "{each:?}");
    assert_eq!(each[2..], ["created k1", "replayed k1"]);
    for account in [c, d] {
        assert_eq!(store.applications_of(account).unwrap().len(), 1);
    }

    // Each account once (the usual batch): a replay of an earlier batch's key, a second
    // application beside an open one, and new ones, each with its history's first event.
    let (e, f) = (unit(&store, 5), unit(&store, 6));
    let batch = vec![
        application(e, "k1"),
        application(a, "k1"),
        application(b, "k9"),
        application(f, "k2"),
    ];
    let answers = store.run(store.store_submissions(batch)).unwrap();
    assert_eq!(
        kinds(&answers),
        ["created k1", "replayed k1", "open k1", "created k2"]
    );
    assert_eq!(submitted_app(answers[1].as_ref().unwrap()), &first);
    assert_eq!(
        submitted_app(answers[2].as_ref().unwrap()),
        &store.applications_of(b).unwrap()[0]
    );
    for (answer, account) in [(&answers[0], e), (&answers[3], f)] {
        let created = submitted_app(answer.as_ref().unwrap());
        assert_eq!(
            store.applications_of(account).unwrap(),
            std::slice::from_ref(created)
        );
        let history = store
            .run(async {
                let c = store.client().await?;
                rows(
                    &c,
                    "SELECT actor, state, at FROM application_event WHERE application_id = $1",
                    &[&created.id],
                )
                .await
            })
            .unwrap();
        let history: Vec<(String, String, i64)> = history
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(
            history,
            [(
                "applicant".to_owned(),
                state_json(&created.state).unwrap(),
                created.submitted_at
            )]
        );
    }
    for account in [a, b] {
        assert_eq!(store.applications_of(account).unwrap().len(), 1);
    }
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn status_indexes_are_allocated_once_in_order() {
    crate::store::applications::tests::status_indexes_are_allocated_once_in_order(&fresh_store());
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn two_instances_racing_allocate_dense_indexes_once() {
    let (first, second) = two_instances();
    let accounts: Vec<AccountId> = (0..16).map(|i| unit(&*first, i)).collect();
    // Every account asks twice at once, once on each instance (threads take turns).
    let asking = accounts.clone();
    let got: Vec<(AccountId, u32)> = race([&first, &second], 2 * accounts.len(), move |i, s| {
        let a = asking[i / 2];
        (a, s.status_index(a).unwrap())
    });
    let mut indexes: Vec<u32> = Vec::new();
    for &account in &accounts {
        let mine: Vec<u32> = got
            .iter()
            .filter(|(a, _)| *a == account)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(mine[0], mine[1], "one index per account");
        indexes.push(mine[0]);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..accounts.len() as u32).collect::<Vec<_>>());
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn a_decision_and_all_it_causes_are_stored_together_or_not_at_all() {
    crate::store::applications::tests::a_decision_and_all_it_causes_are_stored_together_or_not_at_all(
        &fresh_store(),
    );
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn the_applicant_standing_is_the_registry_and_the_record_together() {
    crate::store::applications::tests::the_applicant_standing_is_the_registry_and_the_record_together(
        &fresh_store(),
    );
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn the_applicant_record_counts_reviews_since_the_last_issue() {
    crate::store::applications::tests::the_applicant_record_counts_reviews_since_the_last_issue(
        &fresh_store(),
    );
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn the_desk_counts_what_waits_and_who_decided() {
    crate::store::applications::tests::the_desk_counts_what_waits_and_who_decided(&fresh_store());
}

fn created(store: &PostgresStore, account: AccountId, key: &str, due_at: i64) -> Application {
    let new = Application {
        due_at,
        ..application(account, key)
    };
    match store.submit_application(new).unwrap() {
        Submitted::Created(app) => app,
        other => panic!("not created: {other:?}"),
    }
}

fn check(app: &Application, from: &ApplicationState, to: ApplicationState) -> PhotoCheckRecord {
    PhotoCheckRecord {
        id: app.id,
        check: format!("{{\"application\":{}}}", app.id),
        cropped: Some(vec![1, 2, 3]),
        from: from.clone(),
        to,
        effects: Effects::NONE,
    }
}

#[test]
#[ignore = "needs PostgreSQL: cargo xtask test postgres"]
fn checks_move_applications_on_once_and_a_resubmission_reopens() {
    let store = fresh_store();
    let (a, b, c) = (unit(&store, 1), unit(&store, 2), unit(&store, 3));
    let (app_a, app_b, app_c) = (
        created(&store, a, "k", 30),
        created(&store, b, "k", 20),
        created(&store, c, "k", 25),
    );
    let ids = |apps: Vec<Application>| apps.iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.unchecked_applications(10).unwrap()),
        [app_a.id, app_b.id, app_c.id]
    );
    assert_eq!(
        ids(store.unchecked_applications(2).unwrap()),
        [app_a.id, app_b.id]
    );

    let submitted = ApplicationState::Submitted;
    let rejected = ApplicationState::Rejected {
        reasons: vec![Rejection {
            code: RejectionCode::PhotoNotCompliant,
            note: None,
        }],
    };
    let mut reject_b = check(&app_b, &submitted, rejected.clone());
    reject_b.effects.notice = review_effects(b).notice;
    let checks = [
        check(&app_a, &submitted, ApplicationState::UnderReview),
        reject_b,
        // Not `from` any more: nothing happens.
        check(
            &app_c,
            &ApplicationState::UnderReview,
            ApplicationState::UnderReview,
        ),
    ];
    assert_eq!(store.record_checks(&checks).unwrap(), [true, true, false]);
    assert_eq!(store.record_checks(&checks[..1]).unwrap(), [false]);
    assert_eq!(store.record_checks(&[]).unwrap(), Vec::<bool>::new());
    let stored_a = store.application(app_a.id).unwrap().unwrap();
    assert_eq!(stored_a.state, ApplicationState::UnderReview);
    assert_eq!(stored_a.check, Some(checks[0].check.clone()));
    assert_eq!(stored_a.cropped, Some(vec![1, 2, 3]));
    assert!(stored_a.updated_at >= crate::now() - 60, "{stored_a:?}");
    assert_eq!(
        store.application(app_b.id).unwrap().unwrap().state,
        rejected
    );
    assert_eq!(effects_stored(&store, b), (1, 1, 0));
    assert_eq!(ids(store.unchecked_applications(10).unwrap()), [app_c.id]);

    // The review queue goes by deadline.
    assert!(store
        .transition(
            app_c.id,
            &submitted,
            &ApplicationState::UnderReview,
            "check",
            None,
            &Effects::NONE,
            21
        )
        .unwrap());
    assert_eq!(ids(store.review_queue(10).unwrap()), [app_c.id, app_a.id]);

    // A rejected application is closed: another may be opened, and then the rejected one
    // may not be resubmitted beside it until that one is withdrawn.
    let second_b = created(&store, b, "k2", 40);
    let resubmitted = Resubmitted {
        photo_source: "camera",
        photo: &[0xFF, 0xD8, 9],
        due_at: 50,
    };
    let resubmit = || {
        store.transition(
            app_b.id,
            &rejected,
            &submitted,
            "applicant",
            Some(resubmitted),
            &Effects::NONE,
            45,
        )
    };
    assert!(matches!(
        resubmit(),
        Err(StoreError::Duplicate("open application"))
    ));
    assert!(store
        .transition(
            second_b.id,
            &submitted,
            &ApplicationState::Withdrawn,
            "applicant",
            None,
            &Effects::NONE,
            44
        )
        .unwrap());
    assert!(resubmit().unwrap());
    let stored_b = store.application(app_b.id).unwrap().unwrap();
    assert_eq!(
        stored_b,
        Application {
            photo_source: "camera".into(),
            photo: vec![0xFF, 0xD8, 9],
            cropped: None,
            check: None,
            state: submitted.clone(),
            submitted_at: 45,
            due_at: 50,
            updated_at: 45,
            ..app_b.clone()
        }
    );
    assert_eq!(ids(store.unchecked_applications(10).unwrap()), [app_b.id]);
    // Its history: submitted, rejected by the check, submitted again.
    let history: Vec<(String, String)> = store
        .run(async {
            let c = store.client().await?;
            rows(
                &c,
                "SELECT actor, state FROM application_event WHERE application_id = $1
                 ORDER BY id",
                &[&app_b.id],
            )
            .await
        })
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let json = |s: &ApplicationState| state_json(s).unwrap();
    assert_eq!(
        history,
        [
            ("applicant".to_string(), json(&submitted)),
            ("photo check".to_string(), json(&rejected)),
            ("applicant".to_string(), json(&submitted)),
        ]
    );
}
