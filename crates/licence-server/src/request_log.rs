//! The request log: one structured line per request (target `request`), with its request id,
//! method, route, status, latency, the kind of account that made it and what admission
//! control decided, and for an API request that got that far, where its time went: the body
//! arriving (`body_ms`, if it had one), the wait for a work slot (`wait_ms`) and the handling
//! itself (`work_ms`). `latency_ms` less those is the platform's own overhead around them (routing,
//! the address limit, a refusal's answer). Nothing personal goes in: the path's long digit
//! runs are masked and no body, query or header is logged.
//!
//! Every answer carries its id in `X-Request-Id`, and an API error also in its body
//! (`request_id`), so that a driver's complaint ("it said 系统繁忙, number …") leads to the
//! line, and from there to any error logged with the same id.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{Extensions, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header that carries the request id on every answer.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `work` with the id of the request being handled on this task, for running it on another
/// task: a task-local does not follow a spawned future by itself.
pub fn carry_request_id<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    let id = current_request_id();
    async move {
        match id {
            Some(id) => REQUEST_ID.scope(id, work).await,
            None => work.await,
        }
    }
}

/// What the handling of a request learns that its log line reports.
#[derive(Debug, Default)]
pub struct Notes(Mutex<Noted>);

#[derive(Debug, Default, Clone)]
struct Noted {
    account: Option<String>,
    admission: Option<&'static str>,
    body: Option<Duration>,
    wait: Option<Duration>,
    work: Option<Duration>,
}

/// A part of a request's time that its log line reports on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The body arriving, from the head being in to the body's last byte (`body_ms`).
    Body,
    /// Waiting for a work slot (`wait_ms`).
    SlotWait,
    /// The handler, with its slot held (`work_ms`).
    Work,
}

impl Notes {
    fn with(extensions: &Extensions, note: impl FnOnce(&Notes)) {
        if let Some(notes) = extensions.get::<Arc<Notes>>() {
            note(notes);
        }
    }

    fn note(&self, note: impl FnOnce(&mut Noted)) {
        note(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// [`note_stage`] on notes taken with [`notes_of`].
    pub fn stage(&self, stage: Stage, took: Duration) {
        self.note(|n| n.stage(stage, took));
    }

    /// [`note_account`] on notes taken with [`notes_of`].
    pub fn account(&self, kind: &str, id: i64) {
        self.note(|n| n.account = Some(format!("{kind}:{id}")));
    }

    /// [`note_admission`] on notes taken with [`notes_of`].
    pub fn admission(&self, decision: &'static str) {
        self.note(|n| n.admission = Some(decision));
    }
}

/// Notes who made the request: a kind (`face_signed`, `officer`, `console:admin` …) and the
/// platform's own id of the account (never a name or number a person would recognise).
pub fn note_account(extensions: &Extensions, kind: &str, id: i64) {
    Notes::with(extensions, |n| n.account(kind, id));
}

/// Notes what admission control decided (`admitted`, `rate_limited`, `busy` …).
pub fn note_admission(extensions: &Extensions, decision: &'static str) {
    Notes::with(extensions, |n| n.admission(decision));
}

/// Notes how long a stage of the request took.
pub fn note_stage(extensions: &Extensions, stage: Stage, took: Duration) {
    Notes::with(extensions, |n| n.stage(stage, took));
}

/// The notes of the request whose extensions these are, to note into once the request has
/// been handed on (the time its handling took, say).
pub fn notes_of(extensions: &Extensions) -> Option<Arc<Notes>> {
    extensions.get::<Arc<Notes>>().cloned()
}

impl Noted {
    fn stage(&mut self, stage: Stage, took: Duration) {
        let slot = match stage {
            Stage::Body => &mut self.body,
            Stage::SlotWait => &mut self.wait,
            Stage::Work => &mut self.work,
        };
        *slot = Some(took);
    }
}

fn ms(took: Option<Duration>) -> Option<f64> {
    took.map(|d| d.as_secs_f64() * 1000.0)
}

/// A new request id: 16 random hex digits, unguessable so that ids say nothing of traffic.
fn new_request_id() -> String {
    use rand::Rng;
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

/// A path with every run of six digits or more masked (paths hold ids, never personal data
/// today; this keeps it so if one ever does).
fn masked_path(path: &str) -> String {
    let out = crate::security::mask_digit_runs(path, |digits| "*".repeat(digits.len()));
    // A path is logged up to a sane length: a client may send a long one on purpose.
    out.chars().take(200).collect()
}

/// Middleware around everything: gives the request its id and writes its log line.
pub async fn log_requests(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = new_request_id();
    let notes = Arc::new(Notes::default());
    request.extensions_mut().insert(notes.clone());
    let method = request.method().clone();
    let path = masked_path(request.uri().path());
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(mut value) = HeaderValue::from_str(&id) {
        // Every id is new: HTTP/2's header compression would index each one in its table,
        // searching and evicting for nothing. "Never indexed" sends it as it is.
        value.set_sensitive(true);
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER.clone(), value);
    }
    let noted = notes.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    tracing::info!(
        target: "request",
        request_id = %id,
        method = %method,
        route = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        account = noted.account.as_deref().unwrap_or("-"),
        admission = noted.admission.unwrap_or("-"),
        body_ms = ms(noted.body),
        wait_ms = ms(noted.wait),
        work_ms = ms(noted.work),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id goes with work handed to another runtime (the admitted requests'), so that an
    /// error there names its request; work made outside a request has none.
    #[tokio::test]
    async fn the_request_id_follows_work_to_another_runtime() {
        let other = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let work = REQUEST_ID.sync_scope("4f2a".into(), || {
            carry_request_id(async { current_request_id() })
        });
        assert_eq!(other.spawn(work).await.unwrap().as_deref(), Some("4f2a"));
        let outside = carry_request_id(async { current_request_id() });
        assert_eq!(other.spawn(outside).await.unwrap(), None);
        other.shutdown_background();
    }

    #[test]
    fn long_digit_runs_in_paths_are_masked() {
        assert_eq!(
            masked_path("/api/v1/applications/42"),
            "/api/v1/applications/42"
        );
        assert_eq!(
            masked_path("/x/110101199003077777/y/13800138000"),
            "/x/******************/y/***********"
        );
        assert_eq!(masked_path(&"a".repeat(1000)).len(), 200);
    }

    #[test]
    fn request_ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
