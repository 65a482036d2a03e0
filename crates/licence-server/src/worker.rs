//! Background work that drains durable queues, so that accepting a request stays cheap: the
//! server's own check of every application photo (it never trusts the app's check), and the
//! SMS outbox (R3.5).
//!
//! The queue is the database itself (submitted applications without a check), so a restart
//! loses nothing: the worker picks up where it stopped.

use std::time::Duration;

use licence_api::PhotoSource;
use licence_core::{ApplicationEvent, ApplicationState, Rejection, RejectionCode};
use licence_photo::PhotoChecker;

use crate::store::{
    AccountId, Application, AuditEntry, Effects, OutboxMessage, PhotoCheckRecord, Store,
};
use crate::AppState;

/// Applications checked per round.
const BATCH: usize = 8;
/// How long a worker's claim on the applications it took holds: far longer than a round of
/// checks takes, so that no other instance checks them too; if the instance dies, another
/// takes them after this.
const CHECK_CLAIM: i64 = 30;
/// How often the queue is looked at even without a wake-up (after a restart, say).
const POLL: Duration = Duration::from_secs(2);

/// Niceness of the thread that checks photos: under a surge, taking applications in comes
/// first (the driver is waiting for "accepted"); checks catch up when it quietens.
const CHECK_NICENESS: u8 = 22; // thread-priority's 0–99 scale: nice 10 on Linux

/// Starts the photo-check worker, woken when an application arrives and every [`POLL`]
/// regardless (after a restart, say). Call within the runtime.
///
/// Two threads: the worker, at normal priority, claims applications and records their checks
/// in the store; the checking itself (the CPU) is done by a thread of its own at low
/// priority. When one low-priority thread did both, it held the store's one writer while
/// starved of CPU by the requests, and every submission queued behind it: a stall of 60-80 ms
/// three times a second at 1 000 submissions/s (priority inversion, docs/performance.md).
pub fn spawn_photo_checks(state: AppState) {
    let runtime = tokio::runtime::Handle::current();
    let checker = match LowPriorityChecker::start() {
        Ok(checker) => checker,
        Err(e) => {
            tracing::error!(error = %e, "photo checker: could not start");
            return;
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pacing = CheckPacing::new(state.policy.photo_check_share, cores);
    let spawned = std::thread::Builder::new()
        .name("photo-checks".into())
        .spawn(move || {
            let mut panics = Panics::default();
            // This worker's name in its claims: unique among the instances sharing a store.
            let worker = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
            loop {
                let round = check_batch(state.store.as_ref(), &worker, &mut panics, |app| {
                    let (record, cpu) = checker.check(app);
                    // After each check, not each round: a round of checks back to back is
                    // most of a second of a core taken at once.
                    let pause = pacing.pause(cpu, state.admission.serving());
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                    Ok(automatic_path(&state, &runtime, app, record?))
                });
                match round {
                    Ok(checked) => {
                        // Their messages were stored with the checks: wake who sends them.
                        if !checked.decided.is_empty() {
                            state.announce();
                        }
                        // More may be waiting: go on at once.
                        if checked.taken == BATCH {
                            continue;
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "photo check worker"),
                }
                runtime.block_on(async {
                    let _ = tokio::time::timeout(POLL, state.photo_checks.notified()).await;
                });
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "photo check worker: could not start");
    }
}

/// The least share of the machine the photo checks can be held to: at less they would all
/// but stop for as long as requests come, and a busy day's queue would wait for the night.
pub const MIN_CHECK_SHARE: f64 = 0.05;

/// The longest pause after one check, whatever it took: a round's claims ([`CHECK_CLAIM`])
/// hold through its [`BATCH`] checks and their pauses.
const MAX_CHECK_PAUSE: Duration = Duration::from_secs(1);

/// How the photo checks keep to their share of the CPU while the API serves requests.
///
/// Nice 10 alone does not do it. A thread's nice weighs it only against the threads of its
/// own scheduling group, and Linux gives each session a group of its own (autogroup), as
/// systemd gives each service a cgroup; the groups share the CPU equally. PostgreSQL's
/// backends on the same machine (each its own session) competed with the whole platform
/// process, and whenever its request threads waited for the database the checker took the
/// platform's turn: 0.4-0.55 of a core in the capacity phase, where without the checks
/// PostgreSQL's capacity was ~1.25 times as high and its steady tail within 50 ms
/// (docs/performance.md). So while the API is serving, after a check that took `t` of the
/// CPU the checker pauses `t × (1/s − 1)`, `s` being its share of one core (the
/// machine's share times the cores, at most one: the checker is one thread). With no request
/// for a second it takes what is idle again, at nice 10, and the queue catches up.
#[derive(Debug, Clone, Copy)]
pub struct CheckPacing {
    core_share: f64,
}

impl CheckPacing {
    /// `machine_share` of a machine with `cores` cores (the share is clamped to
    /// [`MIN_CHECK_SHARE`]-1).
    pub fn new(machine_share: f64, cores: usize) -> CheckPacing {
        let machine_share = if machine_share.is_finite() {
            machine_share.clamp(MIN_CHECK_SHARE, 1.0)
        } else {
            1.0
        };
        CheckPacing {
            core_share: (machine_share * cores.max(1) as f64).min(1.0),
        }
    }

    /// The pause after a check that took `checking` of the CPU, while the API is `serving`
    /// or not.
    pub fn pause(&self, checking: Duration, serving: bool) -> Duration {
        if !serving || self.core_share >= 1.0 {
            return Duration::ZERO;
        }
        checking
            .mul_f64(1.0 / self.core_share - 1.0)
            .min(MAX_CHECK_PAUSE)
    }
}

/// What the checker thread answers for one application: the check, or the payload of the
/// panic it caught; and the CPU time it took.
type CheckOutcome = (
    std::thread::Result<anyhow::Result<PhotoCheckRecord>>,
    Duration,
);

/// The CPU time the calling thread has had (`/proc/thread-self/schedstat`, Linux), or `None`
/// where that cannot be read.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The CPU time `work` took on this thread (its wall time where that cannot be read).
fn on_cpu<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let (wall, cpu) = (std::time::Instant::now(), thread_cpu_time());
    let out = work();
    let took = match (cpu, thread_cpu_time()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => wall.elapsed(),
    };
    (out, took)
}

/// The photo checker on a thread of its own at low priority, asked one application at a time.
struct LowPriorityChecker {
    jobs: std::sync::mpsc::Sender<Application>,
    outcomes: std::sync::mpsc::Receiver<CheckOutcome>,
}

impl LowPriorityChecker {
    fn start() -> std::io::Result<LowPriorityChecker> {
        let (jobs, incoming) = std::sync::mpsc::channel::<Application>();
        let (answer, outcomes) = std::sync::mpsc::channel::<CheckOutcome>();
        std::thread::Builder::new()
            .name("photo-checker".into())
            .spawn(move || {
                if let Err(e) = thread_priority::set_current_thread_priority(
                    thread_priority::ThreadPriority::Crossplatform(
                        CHECK_NICENESS.try_into().expect("in range"),
                    ),
                ) {
                    tracing::warn!(error = ?e, "photo checker: could not lower its priority");
                }
                let mut checker = PhotoChecker::new();
                for app in incoming {
                    let (outcome, cpu) = on_cpu(|| {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            check_one(&mut checker, &app)
                        }))
                    });
                    if outcome.is_err() {
                        // A panic may have left the checker half-way: a new one for the next.
                        checker = PhotoChecker::new();
                    }
                    if answer.send((outcome, cpu)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(LowPriorityChecker { jobs, outcomes })
    }

    /// Checks `app` on the checker thread, with the CPU time that took there; a panic there
    /// is resumed here, where [`check_batch`] counts it.
    fn check(&self, app: &Application) -> (anyhow::Result<PhotoCheckRecord>, Duration) {
        let stopped = || anyhow::anyhow!("the photo checker thread has stopped");
        if self.jobs.send(app.clone()).is_err() {
            return (Err(stopped()), Duration::ZERO);
        }
        match self.outcomes.recv() {
            Ok((Ok(record), cpu)) => (record, cpu),
            Ok((Err(panic), _)) => std::panic::resume_unwind(panic),
            Err(_) => (Err(stopped()), Duration::ZERO),
        }
    }
}

/// What a round of checks did.
pub struct Checked {
    /// Applications taken from the queue.
    pub taken: usize,
    /// Applications the check decided (rejected, or approved automatically): (account,
    /// application, its new state).
    pub decided: Vec<(AccountId, i64, ApplicationState)>,
}

/// How often a photo's check panicked, by application, across rounds.
#[derive(Debug, Default)]
pub struct Panics {
    by_application: std::collections::HashMap<i64, u32>,
}

/// Panics of one photo's check before it is set aside for a person.
const PANICS_BEFORE_SET_ASIDE: u32 = 2;

/// Checks up to [`BATCH`] waiting applications with `check`, claimed by `worker` (so that
/// the workers of other instances take others), each on its own: a check that panics leaves
/// the application for this worker's next round, and one that panics
/// [`PANICS_BEFORE_SET_ASIDE`] times is set aside for a person (under review, its check saying
/// so), so that one poison photo never stops the queue.
pub fn check_batch(
    store: &dyn Store,
    worker: &str,
    panics: &mut Panics,
    mut check: impl FnMut(&Application) -> anyhow::Result<PhotoCheckRecord>,
) -> anyhow::Result<Checked> {
    let now = crate::now();
    let waiting = store.claim_unchecked_applications(worker, now, now + CHECK_CLAIM, BATCH)?;
    let mut checks = Vec::new();
    let mut checked_apps = Vec::new();
    for app in &waiting {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(app))) {
            Ok(record) => checks.push(record?),
            Err(_) => {
                let count = panics.by_application.entry(app.id).or_insert(0);
                *count += 1;
                tracing::error!(
                    application = app.id,
                    panics = *count,
                    "photo check worker: the check panicked"
                );
                if *count < PANICS_BEFORE_SET_ASIDE {
                    continue;
                }
                panics.by_application.remove(&app.id);
                checks.push(set_aside(app)?);
            }
        }
        checked_apps.push(app);
    }
    let waiting = checked_apps;
    // An applicant the check decided for (rejected, or approved automatically) is told
    // (R3.5) in the same commit as the check.
    for (app, check) in waiting.iter().zip(checks.iter_mut()) {
        if decided(&check.to) {
            if let Some(account) = store.account(app.account)? {
                check.effects.notice = Some(crate::application_result_notice(
                    account.id,
                    account.mobile,
                    app.id,
                    &check.to,
                ));
            }
        }
    }
    // One commit for the batch: the writer is shared with submissions.
    let applied = store.record_checks(&checks)?;
    let decided = waiting
        .iter()
        .zip(checks)
        .zip(applied)
        .filter(|((_, check), applied)| *applied && decided(&check.to))
        .map(|((app, check), _)| (app.account, app.id, check.to))
        .collect();
    Ok(Checked {
        taken: waiting.len(),
        decided,
    })
}

/// An application whose automatic check cannot finish goes to a reviewer, with a check that
/// says why (the reviewer's page shows its problems).
fn set_aside(app: &Application) -> anyhow::Result<PhotoCheckRecord> {
    let check = serde_json::json!({
        "compliant": false,
        "set_aside": true,
        "problems": [{"code": "check_failed",
                      "message": "自动检测无法完成此照片，请人工审核 (the automatic check could not finish)"}],
        "measurements": {},
    });
    Ok(PhotoCheckRecord {
        id: app.id,
        check: check.to_string(),
        cropped: None,
        from: app.state.clone(),
        to: app
            .state
            .apply(&ApplicationEvent::StartReview)
            .unwrap_or_else(|_| app.state.clone()),
        effects: Effects::NONE,
    })
}

/// Whether the check made the decision, which the applicant is then told of.
fn decided(state: &ApplicationState) -> bool {
    matches!(
        state,
        ApplicationState::Rejected { .. } | ApplicationState::Approved
    )
}

/// An uploaded photo is approved with no reviewer only if the identity platform says it is
/// the person of the photo on file with at least this similarity (0-100).
const SAME_PERSON_MIN_SIMILARITY: u8 = 80;

/// Why an uploaded photo could not be compared with the photo on file.
enum NoComparison {
    /// The registry holds no photo of the driver.
    NoPhotoOnFile,
    /// The identity platform did not answer (or the store could not be read).
    Unavailable,
}

/// The automatic path for an application whose photo passed the check (on launch day 70 % of
/// e-licences were issued within minutes): with the photo on file, or with a photo of the
/// driver's own that the identity platform finds to be the same person as the photo on file,
/// the system approves it at once, in the check's own commit, audited as such; a share drawn
/// at random (`--review-sample-percent`) goes to a reviewer all the same; anything else
/// waits for a reviewer. The check records what was done and why (`automatic`), which the
/// reviewer's page and the desk's figures read. Runs on the worker's thread, not the
/// low-priority checker's: the comparison waits on the network, not the CPU.
fn automatic_path(
    state: &AppState,
    runtime: &tokio::runtime::Handle,
    app: &Application,
    mut record: PhotoCheckRecord,
) -> PhotoCheckRecord {
    if record.to != ApplicationState::UnderReview {
        return record;
    }
    let Ok(mut check) = serde_json::from_str::<serde_json::Value>(&record.check) else {
        return record;
    };
    let on_file = app.photo_source == PhotoSource::OnFile.as_str();
    let compared = if on_file {
        Ok(None)
    } else {
        let photo = record.cropped.as_deref().unwrap_or(&app.photo);
        compare_with_file(state, runtime, app, photo).map(Some)
    };
    let sampled = rand::random::<f64>() * 100.0 < state.policy.review_sample_percent;
    let min = SAME_PERSON_MIN_SIMILARITY;
    let (approved, reason, text, similarity) = match compared {
        Ok(None) if sampled => (
            false,
            "sampled",
            "使用档案照片且检测合格，被随机抽取人工复核".to_owned(),
            None,
        ),
        Ok(None) => (
            true,
            "photo_on_file",
            "使用档案照片且检测合格，系统自动审核通过".to_owned(),
            None,
        ),
        Ok(Some((same, s))) if !same || s < min => (
            false,
            "not_same_person",
            format!("上传照片与档案照片相似度 {s}（自动通过须 {min} 以上且为同一人），须人工比对"),
            Some(s),
        ),
        Ok(Some((_, s))) if sampled => (
            false,
            "sampled",
            format!("上传照片与档案照片为同一人（相似度 {s}），被随机抽取人工复核"),
            Some(s),
        ),
        Ok(Some((_, s))) => (
            true,
            "same_person",
            format!("上传照片与档案照片为同一人（相似度 {s}），系统自动审核通过"),
            Some(s),
        ),
        Err(NoComparison::NoPhotoOnFile) => (
            false,
            "no_photo_on_file",
            "档案中没有照片可比对，须人工核对".to_owned(),
            None,
        ),
        Err(NoComparison::Unavailable) => (
            false,
            "comparison_unavailable",
            "人脸比对服务暂时无法使用，须人工比对".to_owned(),
            None,
        ),
    };
    check["automatic"] = serde_json::json!({
        "approved": approved, "reason": reason, "text": text, "similarity": similarity,
    });
    record.check = check.to_string();
    if approved {
        if let Ok(to) = record.to.apply(&ApplicationEvent::Approve) {
            record.to = to;
            let basis = match similarity {
                Some(s) => format!("the same person as the photo on file, similarity {s}"),
                None => "photo on file".to_owned(),
            };
            record.effects.audit = Some(AuditEntry {
                at: crate::now(),
                actor: "system".into(),
                action: "application_review".into(),
                detail: format!("application {}: approved automatically ({basis})", app.id),
            });
        }
    }
    record
}

/// The identity platform's word on whether `photo` is the driver of the photo on file: (same
/// person, similarity).
fn compare_with_file(
    state: &AppState,
    runtime: &tokio::runtime::Handle,
    app: &Application,
    photo: &[u8],
) -> Result<(bool, u8), NoComparison> {
    let account = state
        .store
        .account(app.account)
        .ok()
        .flatten()
        .ok_or(NoComparison::Unavailable)?;
    let id_number = account.id_number.ok_or(NoComparison::NoPhotoOnFile)?;
    let on_file = state
        .store
        .registry_entry(&id_number)
        .map_err(|_| NoComparison::Unavailable)?
        .and_then(|e| e.photo)
        .ok_or(NoComparison::NoPhotoOnFile)?;
    let compared = runtime.block_on(state.providers.compare_faces(
        account.name.as_str(),
        id_number.as_str(),
        photo,
        &on_file,
    ));
    match compared {
        Ok(c) => Ok((c.same_person, c.similarity.min(100))),
        Err(e) => {
            tracing::warn!(application = app.id, error = %e, "face comparison failed");
            Err(NoComparison::Unavailable)
        }
    }
}

fn check_one(checker: &mut PhotoChecker, app: &Application) -> anyhow::Result<PhotoCheckRecord> {
    // The 6-month rule dates the driver's own photos, not the traffic police's photo on file.
    let verdict = if app.photo_source == PhotoSource::OnFile.as_str() {
        checker.check_on_file(&app.photo)
    } else {
        checker.check(&app.photo, crate::today())
    };
    let summary = serde_json::to_string(&verdict)?;
    let event = if verdict.compliant {
        // To review; the worker's automatic path may approve it at once.
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
        effects: Effects::NONE,
    })
}

/// Messages sent per round.
const SMS_BATCH: usize = 16;

/// How often what no limit, code or session needs any more is removed.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Limit events are kept this long: the longest window any limit looks back (codes per day).
const EVENTS_KEPT: i64 = 2 * 24 * 3600;

/// Starts the purge worker: limit events older than any window, and codes and sessions
/// (drivers' and staff's) expired, are removed every [`PURGE_EVERY`], so that the tables
/// every failed sign-in and code request writes to do not grow for ever.
pub fn spawn_purge(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            match purge(state.store.clone(), crate::now()).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "purge worker: old rows removed"),
                Err(e) => tracing::error!(error = %e, "purge worker"),
            }
        }
    });
}

/// One purge at `now`; how many rows went.
pub async fn purge(store: std::sync::Arc<dyn Store>, now: i64) -> anyhow::Result<u64> {
    Ok(tokio::task::spawn_blocking(move || {
        Ok::<_, crate::store::StoreError>(
            store.purge(now - EVENTS_KEPT, now)? + store.purge_staff_sessions(now)?,
        )
    })
    .await??)
}

/// Starts the SMS outbox worker: every queued message is sent, retried with growing pauses
/// while the gateway fails, and never sent twice (the gateway de-duplicates on the event key).
pub fn spawn_outbox(state: AppState) {
    tokio::spawn(async move {
        loop {
            match send_due(&state).await {
                Ok(n) if n == SMS_BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "sms outbox worker"),
            }
            let _ =
                tokio::time::timeout(POLL.min(state.policy.outbox_retry), state.outbox.notified())
                    .await;
        }
    });
}

/// Sends the messages that are due, together; returns how many it tried. They are claimed
/// for longer than sending them can take (they go out together, each within the gateway's
/// timeout and retries), so that no other instance sends them too; if this instance dies
/// meanwhile, another (or this one restarted) sends them once the claim lapses.
pub async fn send_due(state: &AppState) -> anyhow::Result<usize> {
    let store = state.store.clone();
    let now = crate::now();
    let claim = state.providers.longest_call().as_secs() as i64 + 5;
    let due =
        tokio::task::spawn_blocking(move || store.due_sms(now, now + claim, SMS_BATCH)).await??;
    let taken = due.len();
    let mut sending = tokio::task::JoinSet::new();
    for message in due {
        let state = state.clone();
        sending.spawn(async move { send_one(&state, message).await });
    }
    // Every send is seen through (one failing to record must not cut the others off
    // between sending and recording); the first failure is reported.
    let mut failure = None;
    while let Some(sent) = sending.join_next().await {
        if let Err(e) = sent.map_err(anyhow::Error::from).and_then(|r| r) {
            failure.get_or_insert(e);
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(taken),
    }
}

/// Sends one message and records how it went.
async fn send_one(state: &AppState, message: OutboxMessage) -> anyhow::Result<()> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ApplicationStore, SqliteStore, Submitted};

    fn submitted(store: &SqliteStore, i: i64) -> Application {
        let account = crate::store::testing::unit(store, i);
        let new = crate::store::testing::application(account, &format!("k{i}"));
        match store.submit_application(new).unwrap() {
            Submitted::Created(app) => app,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn checks_keep_to_their_share_of_the_machine_only_while_requests_are_served() {
        let ms = Duration::from_millis;
        // An eighth of two cores is a quarter of one: three times the checks' time in pause.
        let two_cores = CheckPacing::new(0.125, 2);
        assert_eq!(two_cores.pause(ms(200), true), ms(600));
        assert_eq!(two_cores.pause(ms(200), false), Duration::ZERO);
        assert_eq!(two_cores.pause(Duration::ZERO, true), Duration::ZERO);
        // However long a check took, the pause is bounded.
        assert_eq!(
            two_cores.pause(Duration::from_secs(60), true),
            MAX_CHECK_PAUSE
        );
        // On eight cores an eighth is the checker's one thread: no pause.
        assert_eq!(
            CheckPacing::new(0.125, 8).pause(ms(200), true),
            Duration::ZERO
        );
        // The whole machine: no pause; below the least share, the least.
        assert_eq!(
            CheckPacing::new(1.0, 1).pause(ms(200), true),
            Duration::ZERO
        );
        let least = CheckPacing::new(0.0, 1).pause(ms(40), true);
        assert_eq!(least, ms(40).mul_f64(1.0 / MIN_CHECK_SHARE - 1.0));
        assert_eq!(
            CheckPacing::new(f64::NAN, 1).pause(ms(100), true),
            Duration::ZERO
        );
    }

    #[test]
    fn a_checks_cost_is_the_cpu_it_took_not_its_waits() {
        // Sleeping takes no CPU: a check that waited (preempted, say) is not paid for twice.
        let ((), slept) = on_cpu(|| std::thread::sleep(Duration::from_millis(300)));
        assert!(
            thread_cpu_time().is_some(),
            "Linux reports a thread's CPU time"
        );
        assert!(slept < Duration::from_millis(100), "{slept:?}");
        // Work does: spin until the thread has had 20 ms of CPU.
        let ((), spun) = on_cpu(|| {
            let start = thread_cpu_time().unwrap();
            while thread_cpu_time().unwrap() - start < Duration::from_millis(20) {
                std::hint::black_box(0u64);
            }
        });
        assert!(spun >= Duration::from_millis(20), "{spun:?}");
    }

    #[test]
    fn a_photo_whose_check_panics_twice_is_set_aside_and_the_queue_goes_on() {
        let store = SqliteStore::in_memory().unwrap();
        let poison = submitted(&store, 1);
        let good = submitted(&store, 2);
        let check = |app: &Application| {
            assert!(app.id != poison.id, "a photo that brings the checker down");
            Ok(PhotoCheckRecord {
                id: app.id,
                check: r#"{"compliant":true}"#.into(),
                cropped: None,
                from: app.state.clone(),
                to: ApplicationState::UnderReview,
                effects: Effects::NONE,
            })
        };
        let mut panics = Panics::default();
        // First round: the good photo is checked, the poison one waits for another try.
        let first = check_batch(&store, "w1", &mut panics, check).unwrap();
        assert_eq!(first.taken, 1);
        assert_eq!(
            panics.by_application.get(&poison.id),
            Some(&1),
            "the panic counted"
        );
        let state = |id| store.application(id).unwrap().unwrap();
        assert_eq!(state(good.id).state, ApplicationState::UnderReview);
        assert_eq!(state(poison.id).state, ApplicationState::Submitted);
        // Second round: it panics again and goes to a person, its check saying why.
        let second = check_batch(&store, "w1", &mut panics, check).unwrap();
        assert_eq!(second.taken, 1);
        let set_aside = state(poison.id);
        assert_eq!(set_aside.state, ApplicationState::UnderReview);
        assert!(set_aside.check.unwrap().contains("\"set_aside\":true"));
        // Nothing is left waiting.
        assert_eq!(
            check_batch(&store, "w1", &mut panics, check).unwrap().taken,
            0
        );
    }

    #[test]
    fn a_rejection_by_the_check_is_stored_with_the_applicants_message() {
        use crate::store::MessageStore;
        let store = SqliteStore::in_memory().unwrap();
        let app = submitted(&store, 1);
        let reject = |app: &Application| {
            Ok(PhotoCheckRecord {
                id: app.id,
                check: r#"{"compliant":false}"#.into(),
                cropped: None,
                from: app.state.clone(),
                to: app
                    .state
                    .apply(&ApplicationEvent::Reject {
                        reasons: vec![Rejection {
                            code: RejectionCode::PhotoNotCompliant,
                            note: None,
                        }],
                    })
                    .unwrap(),
                effects: Effects::NONE,
            })
        };
        let checked = check_batch(&store, "w1", &mut Panics::default(), reject).unwrap();
        assert_eq!(checked.decided.len(), 1);
        let texts = store.due_sms(i64::MAX - 1, i64::MAX, 10).unwrap();
        assert_eq!(texts.len(), 1);
        assert!(texts[0].text.contains("未通过审核"), "{}", texts[0].text);
        assert_eq!(store.inbox(app.account, 0, 10).unwrap().len(), 1);
    }
}
