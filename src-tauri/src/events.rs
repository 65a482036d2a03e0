//! What the app tells the window, and how it gets there: the window asks for it.
//!
//! The window keeps one `next_events` call open (a long poll over tauri's IPC) and the app
//! answers it when something happens: a background change, a submission's progress, a
//! camera frame, the officer's scan result. Tauri's own events and channels push instead, by
//! evaluating a script in the webview, and WebKitGTK sends every evaluation's result back to
//! the app's process, which starts a JavaScript engine of its own to read it: 5 MiB resident
//! for as long as the app runs, for answers nobody reads (docs/performance.md). An invoke's
//! answer travels in the IPC protocol's response. Asking also paces the camera: a window
//! that falls behind gets the newest frame, not a queue of old ones.
//!
//! The UI's side, `ui/src/generated/events.ts`, is generated from these types by
//! `UPDATE_TS=1 cargo test -p licence-app --lib events`, as the views are from licence-client.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use licence_client::views::{InboxMessageView, PreviewFrame, Progress, ScanOutcome};
use serde::Serialize;
use ts_rs::TS;

/// One thing the app tells the window (`kind`, and `payload` where there is one).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", content = "payload", rename_all = "kebab-case")]
pub enum AppEvent {
    /// The outbox sent an application, or gave up on one, in the background.
    OutboxChanged,
    /// A review result arrived through the inbox listener.
    InboxMessage(InboxMessageView),
    /// What the e-licence page (or an officer's list freshness) shows changed in the background.
    ElicenceChanged,
    /// How far the submission under way has got.
    Progress(Progress),
    /// The camera's newest preview frame.
    PreviewFrame(PreviewFrame),
    /// The officer's scan read a code: its verification, or why there is none (boxed: it is
    /// large and rare, and the log holds up to 64 events).
    ScanOutcome(Box<ScanOutcome>),
}

/// The answer to `next_events`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct EventBatch {
    /// The events after the one asked from, oldest first.
    pub events: Vec<AppEvent>,
    /// The number of the newest event: ask from it next time.
    pub last: u64,
    /// Events after the one asked from were let go before the window asked (it was away for
    /// long): whatever it shows may be stale and should be loaded again.
    pub missed: bool,
}

/// How many events are kept for a window that has not asked yet. A camera frame replaces the
/// one before it, so the preview never crowds out the rest.
const KEPT: usize = 64;
/// How long `next_events` waits for something to happen before it answers with nothing.
pub const LONGEST_WAIT: Duration = Duration::from_secs(20);
/// A window that asked this recently, or is waiting now, is taken to be watching.
const WATCHING: Duration = Duration::from_secs(5);

/// The events since the app started, the newest `KEPT` of them kept, and who is waiting.
#[derive(Debug, Default)]
pub struct Events {
    log: Mutex<Log>,
    arrived: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Log {
    /// Numbered from 1.
    kept: VecDeque<(u64, AppEvent)>,
    last: u64,
    /// The newest number let go for want of room (not a frame replaced by a newer one).
    let_go: u64,
    waiting: usize,
    last_asked: Option<Instant>,
}

impl Log {
    fn after(&self, after: Option<u64>) -> EventBatch {
        let Some(after) = after else {
            return EventBatch {
                events: Vec::new(),
                last: self.last,
                missed: false,
            };
        };
        EventBatch {
            events: self
                .kept
                .iter()
                .filter(|(n, _)| *n > after)
                .map(|(_, e)| e.clone())
                .collect(),
            last: self.last,
            // A number from before this run of the app (the page outlived it) is a gap too.
            missed: after < self.let_go || after > self.last,
        }
    }
}

impl Events {
    pub fn new() -> Events {
        Events::default()
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic elsewhere while holding the lock leaves a log that is still whole.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the window `event`.
    pub fn send(&self, event: AppEvent) {
        {
            let mut log = self.log();
            if matches!(event, AppEvent::PreviewFrame(_)) {
                log.kept
                    .retain(|(_, e)| !matches!(e, AppEvent::PreviewFrame(_)));
            }
            log.last += 1;
            let number = log.last;
            log.kept.push_back((number, event));
            while log.kept.len() > KEPT {
                if let Some((gone, _)) = log.kept.pop_front() {
                    log.let_go = gone;
                }
            }
        }
        self.arrived.notify_waiters();
    }

    /// Whether a window is waiting for events or asked lately: the camera's preview stops
    /// when nobody watches it.
    pub fn watched(&self) -> bool {
        let log = self.log();
        log.waiting > 0 || log.last_asked.is_some_and(|t| t.elapsed() < WATCHING)
    }

    /// The events after number `after` (`None`: from now on, which answers at once with the
    /// number to ask from), waiting up to `wait` for the first.
    pub async fn next(&self, after: Option<u64>, wait: Duration) -> EventBatch {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut arrived = std::pin::pin!(self.arrived.notified());
            // Registered before looking, so that an event sent in between still wakes us.
            arrived.as_mut().enable();
            let _waiting = {
                let mut log = self.log();
                log.last_asked = Some(Instant::now());
                let batch = log.after(after);
                if after.is_none() || batch.missed || !batch.events.is_empty() {
                    return batch;
                }
                Waiting::new(self, &mut log)
            };
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.log().after(after);
            }
        }
    }
}

/// Counts a waiting window for as long as it waits, however the wait ends.
struct Waiting<'a>(&'a Events);

impl<'a> Waiting<'a> {
    fn new(events: &'a Events, log: &mut Log) -> Waiting<'a> {
        log.waiting += 1;
        Waiting(events)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut log = self.0.log();
        log.waiting -= 1;
        log.last_asked = Some(Instant::now());
    }
}

/// The event types in one TypeScript file, for `backend.ts`.
pub fn typescript_declarations() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    format!(
        "// Generated from src-tauri/src/events.rs by\n\
         // `UPDATE_TS=1 cargo test -p licence-app --lib events`. Do not edit.\n\n\
         import type {{ InboxMessageView, PreviewFrame, Progress, ScanOutcome }} from './types'\n\n\
         export {}\n\nexport {}\n",
        AppEvent::decl(&cfg),
        EventBatch::decl(&cfg)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI's copy is what these types say; `UPDATE_TS=1` rewrites it after a change.
    #[test]
    fn the_ui_events_are_generated_from_these() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/generated/events.ts");
        licence_client::views::generated_file_is_current(
            &path,
            &typescript_declarations(),
            "UPDATE_TS=1 cargo test -p licence-app --lib events",
        )
        .unwrap();
    }

    fn message(id: i64) -> InboxMessageView {
        InboxMessageView {
            id,
            title: "审核结果".into(),
            body: "您的申请已通过".into(),
            created_at: 1_700_000_000,
            read: false,
        }
    }

    fn frame(width: u32) -> AppEvent {
        AppEvent::PreviewFrame(PreviewFrame {
            jpeg_base64: String::new(),
            width,
            height: 1,
            advice: None,
        })
    }

    fn kinds(batch: &EventBatch) -> Vec<String> {
        batch
            .events
            .iter()
            .map(|e| {
                serde_json::to_value(e).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn the_window_reads_a_kind_and_the_payload_itself() {
        assert_eq!(
            serde_json::to_value(AppEvent::OutboxChanged).unwrap(),
            serde_json::json!({"kind": "outbox-changed"})
        );
        let json = serde_json::to_value(AppEvent::InboxMessage(message(7))).unwrap();
        assert_eq!(json["kind"], "inbox-message");
        assert_eq!(json["payload"]["id"], 7);
        assert_eq!(json["payload"]["title"], "审核结果");
        let json = serde_json::to_value(AppEvent::Progress(Progress::Sending)).unwrap();
        assert_eq!(json["kind"], "progress");
    }

    #[tokio::test]
    async fn asking_from_now_answers_at_once_and_then_gets_what_happened_next() {
        let events = Events::new();
        events.send(AppEvent::OutboxChanged);
        let now = events.next(None, LONGEST_WAIT).await;
        assert!(now.events.is_empty());
        assert_eq!((now.last, now.missed), (1, false));

        events.send(AppEvent::ElicenceChanged);
        events.send(AppEvent::InboxMessage(message(3)));
        let next = events.next(Some(now.last), LONGEST_WAIT).await;
        assert_eq!(kinds(&next), ["elicence-changed", "inbox-message"]);
        assert_eq!((next.last, next.missed), (3, false));
    }

    #[tokio::test]
    async fn a_waiting_window_is_answered_when_something_happens() {
        let events = std::sync::Arc::new(Events::new());
        let asking = {
            let events = events.clone();
            tokio::spawn(async move { events.next(Some(0), LONGEST_WAIT).await })
        };
        // Until the window waits, it has not asked lately: the camera would not run.
        while !events.watched() {
            tokio::task::yield_now().await;
        }
        events.send(AppEvent::Progress(Progress::Checking));
        let batch = tokio::time::timeout(Duration::from_secs(5), asking)
            .await
            .expect("answered when the event was sent, not after the longest wait")
            .unwrap();
        assert_eq!(kinds(&batch), ["progress"]);
        assert_eq!(events.log().waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_happening_is_answered_with_nothing_after_the_longest_wait() {
        let events = Events::new();
        let batch = events.next(Some(0), LONGEST_WAIT).await;
        assert!(batch.events.is_empty());
        assert_eq!((batch.last, batch.missed), (0, false));
        assert!(events.watched(), "it asked just now");
        assert_eq!(events.log().waiting, 0);
    }

    #[tokio::test]
    async fn only_the_newest_frame_waits_for_a_slow_window() {
        let events = Events::new();
        events.send(frame(1));
        events.send(AppEvent::OutboxChanged);
        events.send(frame(2));
        events.send(frame(3));
        let batch = events.next(Some(0), LONGEST_WAIT).await;
        assert_eq!(kinds(&batch), ["outbox-changed", "preview-frame"]);
        assert!(matches!(&batch.events[1], AppEvent::PreviewFrame(f) if f.width == 3));
        assert_eq!(
            (batch.last, batch.missed),
            (4, false),
            "replaced is not missed"
        );
    }

    #[tokio::test]
    async fn a_window_away_too_long_is_told_it_missed_some() {
        let events = Events::new();
        for id in 0..(KEPT as i64 + 10) {
            events.send(AppEvent::InboxMessage(message(id)));
        }
        let batch = events.next(Some(5), LONGEST_WAIT).await;
        assert!(batch.missed);
        assert_eq!(batch.events.len(), KEPT);
        assert!(
            matches!(&batch.events[0], AppEvent::InboxMessage(m) if m.id == 10),
            "the oldest kept"
        );
        // Asking from the newest it was given, it is whole again.
        events.send(AppEvent::OutboxChanged);
        let next = events.next(Some(batch.last), LONGEST_WAIT).await;
        assert_eq!((kinds(&next).len(), next.missed), (1, false));
        // A number the app never gave (the page outlived an earlier run) is a gap too.
        let stale = events.next(Some(10_000), LONGEST_WAIT).await;
        assert!(stale.missed);
    }
}
