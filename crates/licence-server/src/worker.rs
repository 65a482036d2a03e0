//! Background work that drains durable queues, so that accepting a request stays cheap: the
//! server's own check of every application photo (it never trusts the app's check), and the
//! SMS outbox (R3.5).
//!
//! The queue is the database itself (submitted applications without a check), so a restart
//! loses nothing: the worker picks up where it stopped.

use std::time::Duration;

use licence_core::{ApplicationEvent, ApplicationState, Rejection, RejectionCode};
use licence_photo::PhotoChecker;

use crate::store::{AccountId, Application, PhotoCheckRecord, Store};
use crate::AppState;

/// Applications checked per round.
const BATCH: usize = 8;
/// How often the queue is looked at even without a wake-up (after a restart, say).
const POLL: Duration = Duration::from_secs(2);

/// Niceness of the photo-check thread: under a surge, taking applications in comes first
/// (the driver is waiting for "accepted"); checks catch up when it quietens.
const CHECK_NICENESS: u8 = 22; // thread-priority's 0–99 scale: nice 10 on Linux

/// Starts the photo-check worker: its own thread at low priority, woken when an application
/// arrives and every [`POLL`] regardless (after a restart, say). Call within the runtime.
pub fn spawn_photo_checks(state: AppState) {
    let runtime = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new()
        .name("photo-checks".into())
        .spawn(move || {
            if let Err(e) = thread_priority::set_current_thread_priority(
                thread_priority::ThreadPriority::Crossplatform(
                    CHECK_NICENESS.try_into().expect("in range"),
                ),
            ) {
                eprintln!("photo check worker: could not lower its priority ({e:?})");
            }
            let mut checker = PhotoChecker::new();
            loop {
                // A panic must not end the checks for good, as it would end this thread.
                let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    check_batch(state.store.as_ref(), &mut checker)
                }));
                match round {
                    Ok(Ok(checked)) => {
                        tell_rejected(&state, &runtime, &checked.rejected);
                        // More may be waiting: go on at once.
                        if checked.taken == BATCH {
                            continue;
                        }
                    }
                    Ok(Err(e)) => eprintln!("photo check worker: {e}"),
                    Err(_) => {
                        eprintln!("photo check worker: a check panicked; starting afresh");
                        checker = PhotoChecker::new();
                    }
                }
                runtime.block_on(async {
                    let _ = tokio::time::timeout(POLL, state.photo_checks.notified()).await;
                });
            }
        });
    if let Err(e) = spawned {
        eprintln!("photo check worker: could not start ({e})");
    }
}

/// What a round of checks did.
pub struct Checked {
    /// Applications taken from the queue.
    pub taken: usize,
    /// Applications the check rejected: (account, application, its new state).
    pub rejected: Vec<(AccountId, i64, ApplicationState)>,
}

/// Checks up to [`BATCH`] waiting applications.
pub fn check_batch(store: &dyn Store, checker: &mut PhotoChecker) -> anyhow::Result<Checked> {
    let waiting = store.unchecked_applications(BATCH)?;
    let checks: Vec<PhotoCheckRecord> = waiting
        .iter()
        .map(|app| check_one(checker, app))
        .collect::<anyhow::Result<_>>()?;
    // One commit for the batch: the writer is shared with submissions.
    let applied = store.record_checks(&checks)?;
    let rejected = waiting
        .iter()
        .zip(checks)
        .zip(applied)
        .filter(|((_, check), applied)| {
            *applied && matches!(check.to, ApplicationState::Rejected { .. })
        })
        .map(|((app, check), _)| (app.account, app.id, check.to))
        .collect();
    Ok(Checked {
        taken: waiting.len(),
        rejected,
    })
}

/// The driver whose photo the check rejected hears it at once, by SMS and in the app (R3.5),
/// rather than on their next look.
fn tell_rejected(
    state: &AppState,
    runtime: &tokio::runtime::Handle,
    rejected: &[(AccountId, i64, ApplicationState)],
) {
    for (account, application, to) in rejected {
        let told = state
            .store
            .account(*account)
            .map_err(anyhow::Error::from)
            .and_then(|found| found.ok_or_else(|| anyhow::anyhow!("no account {account}")))
            .and_then(|found| {
                runtime
                    .block_on(state.notify_application_result(
                        found.id,
                        found.mobile,
                        *application,
                        to,
                    ))
                    .map_err(anyhow::Error::from)
            });
        if let Err(e) = told {
            eprintln!("photo check worker: telling the applicant of {application}: {e}");
        }
    }
}

fn check_one(checker: &mut PhotoChecker, app: &Application) -> anyhow::Result<PhotoCheckRecord> {
    let verdict = checker.check(&app.photo, crate::today());
    let summary = serde_json::to_string(&verdict)?;
    let event = if verdict.compliant {
        ApplicationEvent::StartReview
    } else {
        // The reasons the driver sees: each problem with how to fix it.
        let note: String = verdict
            .problems
            .iter()
            .filter(|p| p.severity == licence_photo::Severity::Error)
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("；")
            .chars()
            .take(licence_core::application::MAX_NOTE_CHARS)
            .collect();
        ApplicationEvent::Reject {
            reasons: vec![Rejection {
                code: RejectionCode::PhotoNotCompliant,
                note: (!note.is_empty()).then_some(note),
            }],
        }
    };
    // Only submitted applications are queued, so the move is always legal; were it not, the
    // check is recorded and the state left as it is.
    let to = app
        .state
        .apply(&event)
        .unwrap_or_else(|_| app.state.clone());
    // If the driver withdrew meanwhile, the state no longer matches and nothing changes.
    Ok(PhotoCheckRecord {
        id: app.id,
        check: summary,
        cropped: verdict.cropped_jpeg.filter(|_| verdict.compliant),
        from: app.state.clone(),
        to,
    })
}

/// Messages sent per round.
const SMS_BATCH: usize = 16;

/// Starts the SMS outbox worker: every queued message is sent, retried with growing pauses
/// while the gateway fails, and never sent twice (the gateway de-duplicates on the event key).
pub fn spawn_outbox(state: AppState) {
    tokio::spawn(async move {
        loop {
            match send_due(&state).await {
                Ok(n) if n == SMS_BATCH => continue,
                Ok(_) => {}
                Err(e) => eprintln!("sms outbox worker: {e}"),
            }
            let _ =
                tokio::time::timeout(POLL.min(state.policy.outbox_retry), state.outbox.notified())
                    .await;
        }
    });
}

/// Sends the messages that are due; returns how many it tried.
pub async fn send_due(state: &AppState) -> anyhow::Result<usize> {
    let store = state.store.clone();
    let due = tokio::task::spawn_blocking(move || store.due_sms(crate::now(), SMS_BATCH)).await??;
    for message in &due {
        let outcome = state
            .providers
            .send_sms_once(message.to.as_str(), &message.text, Some(&message.event_key))
            .await;
        let store = state.store.clone();
        let (id, attempts) = (message.id, message.attempts);
        let base = state.policy.outbox_retry.as_secs_f64();
        tokio::task::spawn_blocking(move || match outcome {
            Ok(message_id) => store.sms_sent(id, &message_id, crate::now()),
            Err(e) => {
                // Growing pauses, at most ten minutes apart: a message is never given up.
                let pause = (base * 2f64.powi(attempts.min(16) as i32))
                    .min(600.0)
                    .ceil() as i64;
                store.sms_failed(id, &e.to_string(), crate::now() + pause.max(1))
            }
        })
        .await??;
    }
    Ok(due.len())
}
