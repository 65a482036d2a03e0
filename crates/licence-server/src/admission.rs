//! Admission control for surges (错峰申请, R5.1): when everyone applies at once the platform
//! refuses quickly and says when to come back, instead of queueing without bound until
//! every request times out.
//!
//! The limits, all in memory and checked before any work:
//! - per client address (before the body is read, API and console alike): a token bucket;
//! - the body must arrive within `body_timeout` (else 408), and bodies being received share
//!   a byte budget (else 503): a client that sends half a body holds memory it has sent and
//!   a connection, never a work slot;
//! - per signed-in account (once the session is known): a token bucket;
//! - work in flight: at most so many API requests being handled at once, a slot taken only
//!   once the body is in; as many again may wait up to a second for one (a burst at normal
//!   load is served, not refused), a quarter as many while the pool is refusing (a surge
//!   keeps the slots busy anyway), and beyond that a request is refused before its body is
//!   read. Requests that wait on an outside service (identity platform, SMS
//!   gateway, Alipay) have a pool of their own, so that a slow provider cannot take every
//!   slot from applications, and the other way round. Admitted requests run on a runtime of
//!   their own ([`AdmittedRuntime`]), so that in a surge they do not queue behind the
//!   requests waiting to be refused.
//!
//! Refusals are 429 (`rate_limited`, you in particular are too fast) or 503 (`busy`, the
//! platform is full), each with `Retry-After`: for `busy`, as long as the slots need for the
//! requests refused in the last second at the rate they admitted then (see [`Backlog`]).
//! Long-polls of the inbox hold no work slot: they wait on a notification, not on the CPU or
//! the disk.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::request_log::{note_admission, note_stage, notes_of, Stage};
use crate::AppState;

/// The limits a deployment may tune. Defaults are the product's.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// API requests being handled at once; beyond them, as many again wait up to a second
    /// (a quarter as many while the pool is refusing), then 503. In a surge each admitted
    /// request takes longer (it shares the CPU with the refusals), so fewer slots leave the
    /// store's group commit short of work: 256 admitted 1.2-1.6 times as many as 64 in a
    /// surge, for ~20-40 MiB more and later refusals (docs/performance.md).
    pub max_in_flight: usize,
    /// Requests waiting on an outside service at once; beyond it, 503.
    pub max_outside_in_flight: usize,
    /// Requests per second one client address may make, sustained, and in a burst. Many
    /// phones share an address behind carrier NAT, so this is generous.
    pub address_rate: f64,
    pub address_burst: f64,
    /// Requests per second one signed-in account may make, sustained, and in a burst.
    pub account_rate: f64,
    pub account_burst: f64,
    /// The longest a request body may take to arrive once its head is in.
    pub body_timeout: Duration,
    /// Bytes of bodies being received (not yet handled) at once, all clients together.
    pub receiving_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 256,
            max_outside_in_flight: 256,
            address_rate: 50.0,
            address_burst: 100.0,
            account_rate: 2.0,
            account_burst: 20.0,
            // An 8 MB photo over a poor mobile link.
            body_timeout: Duration::from_secs(60),
            receiving_bytes: 1 << 30,
        }
    }
}

/// Buckets are dropped once full again (the key has been quiet) when a shard grows past this.
const SHARD_TIDY_AT: usize = 4096;
const SHARDS: usize = 16;

/// Token buckets by key, sharded so that concurrent requests rarely meet on one lock.
pub struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    shards: Vec<Mutex<Shard<K>>>,
}

struct Shard<K> {
    buckets: HashMap<K, Bucket>,
    /// Size at which quiet buckets are next dropped: doubles when most keys are active, so
    /// that tidying stays cheap per request however many clients there are.
    tidy_at: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate: rate.max(f64::MIN_POSITIVE),
            burst: burst.max(1.0),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        buckets: HashMap::new(),
                        tidy_at: SHARD_TIDY_AT,
                    })
                })
                .collect(),
        }
    }

    /// Takes a token for `key`, or says how long until one is free.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let index = {
            use std::hash::Hasher;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut h);
            h.finish() as usize % SHARDS
        };
        let mut shard = self.shards[index].lock().unwrap_or_else(|e| e.into_inner());
        if shard.buckets.len() >= shard.tidy_at {
            let (rate, burst) = (self.rate, self.burst);
            shard.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            shard.tidy_at = SHARD_TIDY_AT.max(shard.buckets.len() * 2);
        }
        let bucket = shard.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refilled).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

/// What a surge's refused requests are told to wait (`Retry-After`).
///
/// A constant second brought every phone refused in a surge back a second later, together
/// with the new arrivals: the retries grew with the crowd (at 5× capacity, after five
/// seconds, four retries for every new arrival), and refusing them took the CPU the admitted
/// requests needed. So the wait is the time the slots need for the requests refused in the
/// last second at the rate they admitted then: the refused come back spread over the time
/// the platform needs for them. Phones add their own jitter on top.
///
/// Each second in which something was refused is also reported in the log (target
/// `admission`: the pool, its admissions and refusals, and the wait now given), so that an
/// operator sees a surge as it happens, one line a second, not only as refused requests.
pub struct Backlog {
    /// The pool's name in the log: `api` or `outside`.
    pool: &'static str,
    window: Mutex<Window>,
}

/// One second's admissions and refusals, and the wait the last full second gave.
struct Window {
    started: Instant,
    admitted: u64,
    refused: u64,
    retry_after: u64,
    /// Admissions in the second before this one (none if it was longer ago).
    admitted_before: u64,
    /// Refusals in the second before this one (none if it was longer ago).
    refused_before: u64,
}

/// The span over which admissions and refusals are counted.
const BACKLOG_WINDOW: Duration = Duration::from_secs(1);

/// The longest `Retry-After` a surge gives: past it a phone's own backoff (the app's outbox
/// keeps the submission) is as good, and a driver waiting more than a minute should be told
/// to come back later anyway.
pub const MAX_BUSY_WAIT: u64 = 60;

impl Backlog {
    fn new(pool: &'static str, now: Instant) -> Backlog {
        Backlog {
            pool,
            window: Mutex::new(Window {
                started: now,
                admitted: 0,
                refused: 0,
                retry_after: 1,
                admitted_before: 0,
                refused_before: 0,
            }),
        }
    }

    fn window(&self, now: Instant) -> std::sync::MutexGuard<'_, Window> {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if now.saturating_duration_since(window.started) >= BACKLOG_WINDOW {
            let (admitted, refused) = (window.admitted, window.refused);
            window.retry_after = if refused == 0 {
                1
            } else if admitted == 0 {
                // Nothing got through (the store is away, or every slot is stuck): wait
                // longer each second it lasts.
                (window.retry_after * 2).min(MAX_BUSY_WAIT)
            } else {
                (refused.div_ceil(admitted)).clamp(1, MAX_BUSY_WAIT)
            };
            if refused > 0 {
                tracing::info!(
                    target: "admission",
                    pool = self.pool,
                    seconds = now.saturating_duration_since(window.started).as_secs_f64(),
                    admitted,
                    refused,
                    retry_after_s = window.retry_after,
                    "requests refused: the platform is full",
                );
            }
            // The window that ended is the second before only if it ended just now (a quiet
            // pool rolls over at its next look, however much later).
            let just_now = now.saturating_duration_since(window.started) < 2 * BACKLOG_WINDOW;
            *window = Window {
                started: now,
                admitted: 0,
                refused: 0,
                retry_after: window.retry_after,
                admitted_before: if just_now { admitted } else { 0 },
                refused_before: if just_now { refused } else { 0 },
            };
        }
        window
    }

    fn admitted(&self, now: Instant) {
        self.window(now).admitted += 1;
    }

    /// Whether requests were refused this second or the one before: a surge.
    fn refusing(&self, now: Instant) -> bool {
        let window = self.window(now);
        window.refused > 0 || window.refused_before > 0
    }

    /// Whether requests were admitted this second or the one before: the pool is serving.
    fn serving(&self, now: Instant) -> bool {
        let window = self.window(now);
        window.admitted > 0 || window.admitted_before > 0
    }

    /// Counts a refusal; the seconds to tell it to wait.
    fn refused(&self, now: Instant) -> u64 {
        let mut window = self.window(now);
        window.refused += 1;
        window.retry_after
    }
}

/// The queue for a pool's slots in a surge: this share of its size (see `Pool::surge_queue`).
const SURGE_QUEUE_SHARE: usize = 4;

/// Work slots, and the requests waiting for one.
pub struct Pool {
    slots: Arc<Semaphore>,
    /// Requests whose body is in, waiting for a slot (at most [`SLOT_WAIT`] each).
    waiting: std::sync::atomic::AtomicUsize,
    /// How many may wait: a burst at normal load waits its turn; beyond this the platform
    /// is overloaded, and a newcomer is refused before its body is read.
    queue: usize,
    /// How many may wait while the pool is refusing (this second or the last). In a surge
    /// the slots are busy whatever the queue, so a long one adds only its wait to every
    /// admitted request: with as many waiting as there are slots, half an admitted
    /// submission's time on the server (docs/performance.md).
    surge_queue: usize,
    backlog: Backlog,
}

impl Pool {
    fn new(name: &'static str, slots: usize) -> Pool {
        Pool {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            queue: slots.max(1),
            surge_queue: (slots / SURGE_QUEUE_SHARE).max(1),
            backlog: Backlog::new(name, Instant::now()),
        }
    }

    /// The refusal for a request this pool has no room for, counted.
    fn refuse(&self) -> ApiError {
        busy(self.backlog.refused(Instant::now()))
    }

    /// Every slot taken and as many waiting as may: a newcomer would only be refused later.
    fn full(&self) -> bool {
        self.full_at(Instant::now())
    }

    fn full_at(&self, now: Instant) -> bool {
        if self.slots.available_permits() > 0 {
            return false;
        }
        let waiting = self.waiting.load(std::sync::atomic::Ordering::Relaxed);
        waiting >= self.queue || (waiting >= self.surge_queue && self.backlog.refusing(now))
    }

    /// A slot, waiting up to [`SLOT_WAIT`] for one.
    async fn acquire(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let _waiting = Waiting::count(&self.waiting);
        let slot = tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned()).await;
        slot.ok().and_then(Result::ok)
    }
}

/// One request counted as waiting for as long as it exists: also when the wait is given up
/// half-way (the client went away and its request was dropped), so the count never drifts.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a std::sync::atomic::AtomicUsize) -> Waiting<'a> {
        waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub struct Admission {
    body_timeout: Duration,
    /// Permits are KiB of bodies being received.
    receiving: Arc<Semaphore>,
    in_flight: Pool,
    outside_in_flight: Pool,
    by_address: RateLimiter<IpAddr>,
    /// The console's own per-address limit: counter staff behind one office address are not
    /// counted against the API, nor the other way round.
    console_by_address: RateLimiter<IpAddr>,
    by_account: RateLimiter<i64>,
    /// Where admitted requests run (`None` if it could not be started: then on the
    /// connections' runtime).
    admitted: Option<AdmittedRuntime>,
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        Admission {
            body_timeout: limits.body_timeout,
            receiving: Arc::new(Semaphore::new((limits.receiving_bytes / 1024).max(1))),
            in_flight: Pool::new("api", limits.max_in_flight),
            outside_in_flight: Pool::new("outside", limits.max_outside_in_flight),
            by_address: RateLimiter::new(limits.address_rate, limits.address_burst),
            console_by_address: RateLimiter::new(limits.address_rate, limits.address_burst),
            by_account: RateLimiter::new(limits.account_rate, limits.account_burst),
            admitted: AdmittedRuntime::start(),
        }
    }

    /// Whether the API admitted requests this second or the one before (the inbox long-poll
    /// and the console do not count): background work that competes with them for the CPU,
    /// the photo checks, then keeps to its share (`worker::CheckPacing`).
    pub fn serving(&self) -> bool {
        self.in_flight.backlog.serving(Instant::now())
    }

    /// The per-account limit, checked once the session is known.
    pub fn admit_account(&self, account: i64) -> Result<(), ApiError> {
        self.by_account
            .take(&account, Instant::now())
            .map_err(rate_limited)
    }
}

/// Whole seconds to wait, at least one (`Retry-After` has no fractions).
fn seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn rate_limited(wait: Duration) -> ApiError {
    let s = seconds(wait);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("操作过于频繁，请 {s} 秒后再试"),
        format!("Too many requests; try again in {s} s"),
    )
    .retry_after(s)
}

fn busy(seconds: u64) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        format!("当前申请人数较多，请 {seconds} 秒后再试（错峰申请）"),
        format!("Many people are applying right now; please try again in {seconds} s"),
    )
    .retry_after(seconds)
}

fn body_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "请求内容发送超时，请检查网络后重试",
        "The request took too long to arrive; check your connection and try again",
    )
}

/// Middleware on the whole router (API and console): the address limit; an API request that
/// finds every work slot taken is refused here; then the whole body, within its deadline and
/// the byte budget, before anything else looks at the request.
pub async fn receive(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admission = &state.admission;
    // Behind a reverse proxy the address would come from its header; served directly, the
    // peer is the client. In-process tests have no peer and skip this limit.
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let limiter = if request.uri().path().starts_with("/console") {
            &admission.console_by_address
        } else {
            &admission.by_address
        };
        if let Err(wait) = limiter.take(&peer.ip(), Instant::now()) {
            note_admission(request.extensions(), "rate_limited_address");
            return rate_limited(wait).into_response();
        }
    }
    // In a surge, most requests find every slot taken and as many waiting for one as may
    // wait: they are refused now, before their body is read (reading it would spend the
    // CPU the admitted ones need). A burst at normal load waits its turn instead. A slot is
    // not held while the body arrives: `admit` takes one once it is in.
    if let Some((pool, _, refused)) =
        admission.pool_and_names(request.method(), request.uri().path())
    {
        if pool.full() {
            note_admission(request.extensions(), refused);
            return pool.refuse().into_response();
        }
    }
    if axum::body::HttpBody::is_end_stream(request.body()) {
        return next.run(request).await;
    }
    let declared = crate::connection::declared_length(request.headers());
    if declared.is_some_and(|n| n > crate::MAX_BODY_BYTES as u64) {
        note_admission(request.extensions(), "too_large");
        return crate::error::too_large().into_response();
    }
    let (parts, body) = request.into_parts();
    let started = Instant::now();
    let received = tokio::time::timeout(admission.body_timeout, admission.read_body(body)).await;
    note_stage(&parts.extensions, Stage::Body, started.elapsed());
    match received {
        Ok(Ok((bytes, _budget))) => {
            // The budget is held until the answer is made: the bytes live that long.
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(refusal)) => {
            note_admission(&parts.extensions, "body_refused");
            refusal.into_response()
        }
        Err(_) => {
            note_admission(&parts.extensions, "body_timeout");
            body_timeout().into_response()
        }
    }
}

impl Admission {
    /// The work-slot pool a request to `path` (as the client sent it) will need (none for the
    /// console and the inbox long-poll), with the names the request log gives an admission
    /// to that pool and a refusal by it.
    fn pool_and_names(
        &self,
        method: &Method,
        path: &str,
    ) -> Option<(&Pool, &'static str, &'static str)> {
        let path = path.strip_prefix("/api/v1")?;
        // A long-poll waits, holding nothing; a health check must be answered even when
        // every slot is taken (a busy instance is not a dead one).
        if method == Method::GET && (path == "/me/inbox" || path == "/health") {
            return None;
        }
        Some(if calls_outside(path) {
            (&self.outside_in_flight, "admitted_outside", "busy_outside")
        } else {
            (&self.in_flight, "admitted", "busy")
        })
    }

    /// Reads a body to its end, taking its bytes from the budget as they arrive.
    async fn read_body(
        &self,
        body: axum::body::Body,
    ) -> Result<(axum::body::Bytes, Option<tokio::sync::OwnedSemaphorePermit>), ApiError> {
        use http_body_util::BodyExt;
        let mut body = body;
        let mut bytes = Vec::new();
        let mut budget: Option<tokio::sync::OwnedSemaphorePermit> = None;
        let mut held_kib = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| unreadable())?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if bytes.len() + data.len() > crate::MAX_BODY_BYTES {
                return Err(crate::error::too_large());
            }
            bytes.extend_from_slice(&data);
            let needed = bytes.len().div_ceil(1024);
            if needed > held_kib {
                let more = self
                    .receiving
                    .clone()
                    .try_acquire_many_owned((needed - held_kib) as u32)
                    // Memory, not work: the bodies in flight drain in moments.
                    .map_err(|_| busy(1))?;
                held_kib = needed;
                match budget.as_mut() {
                    Some(held) => held.merge(more),
                    None => budget = Some(more),
                }
            }
        }
        Ok((bytes.into(), budget))
    }
}

fn unreadable() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unreadable_body",
        "无法读取请求内容",
        "The request body could not be read",
    )
}

/// How long a request whose body is in may wait for a work slot. It passed the check for a
/// free slot before its body was read, and the body has been paid for: a short wait turns that
/// work into an answer rather than a 503 (the queue is bounded by the byte budget).
const SLOT_WAIT: Duration = Duration::from_secs(1);

/// Middleware on the whole router, inside [`receive`]: a work slot for an API request's
/// lifetime, taken once its body is in.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admission = &state.admission;
    let Some((pool, admitted, refused)) =
        admission.pool_and_names(request.method(), request.uri().path())
    else {
        if request.uri().path() == "/api/v1/me/inbox" {
            note_admission(request.extensions(), "long_poll");
        }
        return next.run(request).await;
    };
    let waiting = Instant::now();
    let slot = pool.acquire().await;
    note_stage(request.extensions(), Stage::SlotWait, waiting.elapsed());
    let Some(slot) = slot else {
        note_admission(request.extensions(), refused);
        return pool.refuse().into_response();
    };
    pool.backlog.admitted(Instant::now());
    note_admission(request.extensions(), admitted);
    let notes = notes_of(request.extensions());
    let working = Instant::now();
    let response = admission.run_admitted(slot, next.run(request)).await;
    if let Some(notes) = notes {
        notes.stage(Stage::Work, working.elapsed());
    }
    response
}

impl Admission {
    /// Runs `work`, holding `slot` until it is done (also if its client goes away meanwhile),
    /// on the runtime for admitted requests.
    async fn run_admitted(
        &self,
        slot: tokio::sync::OwnedSemaphorePermit,
        work: impl std::future::Future<Output = Response> + Send + 'static,
    ) -> Response {
        let work = crate::request_log::carry_request_id(async move {
            let _slot = slot;
            work.await
        });
        match self.admitted.as_ref() {
            Some(runtime) => runtime
                .spawn(work)
                .await
                .unwrap_or_else(|e| ApiError::internal(e).into_response()),
            None => work.await,
        }
    }
}

/// The runtime admitted requests are handled on, apart from the one that reads the
/// connections and refuses. On one runtime, an admitted request's every step (its body, each
/// store call's return) queued behind all the tasks that were ready before it, and in a surge
/// those are thousands of requests to be refused: a submission held its slot for 70 ms where
/// it needs 20, and the platform admitted a fifth of its capacity. On a runtime of its own its
/// threads get their share of the CPU from the operating system however many requests wait
/// to be refused (docs/performance.md).
struct AdmittedRuntime(Option<tokio::runtime::Runtime>);

impl AdmittedRuntime {
    fn start() -> Option<AdmittedRuntime> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let built = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("admitted")
            .enable_all()
            .build();
        match built {
            Ok(runtime) => Some(AdmittedRuntime(Some(runtime))),
            Err(e) => {
                tracing::warn!(error = %e, "no runtime of their own for admitted requests");
                None
            }
        }
    }

    fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.as_ref().expect("present until dropped").spawn(work)
    }
}

impl Drop for AdmittedRuntime {
    fn drop(&mut self) {
        // The platform's last reference may go in a task of the other runtime, where waiting
        // for these threads is not allowed: let them end on their own.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The API paths (below `/api/v1`) whose handlers wait on an outside service.
fn calls_outside(path: &str) -> bool {
    path.starts_with("/registrations/") || path == "/sessions/codes" || path == "/me/face-sign"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request that gave up waiting for a slot (its client went away) leaves the queue:
    /// the pool does not fill up with the ghosts of dropped requests.
    #[tokio::test]
    async fn a_wait_given_up_halfway_leaves_the_queue() {
        let pool = Pool::new("api", 1);
        let held = pool.acquire().await.unwrap();
        for _ in 0..3 {
            // Dropped after 10 ms of its second's wait, as a request whose client hung up.
            let wait = tokio::time::timeout(Duration::from_millis(10), pool.acquire()).await;
            assert!(wait.is_err());
        }
        assert_eq!(pool.waiting.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert!(!pool.full());
        drop(held);
        assert!(pool.acquire().await.is_some());
    }

    /// While the pool is refusing (this second or the last), a quarter as many may wait for
    /// a slot; once a second has passed without a refusal, as many as there are slots again.
    #[test]
    fn in_a_surge_the_queue_for_slots_is_a_quarter_as_long() {
        use std::sync::atomic::Ordering::Relaxed;
        let pool = Pool::new("api", 8);
        let t0 = Instant::now();
        let taken = pool.slots.clone().try_acquire_many_owned(8).unwrap();
        pool.waiting.store(2, Relaxed);
        // Normal load: 2 waiting of 8 that may.
        assert!(!pool.full_at(t0));
        // A refusal: now 2 is as many as may wait.
        pool.backlog.refused(t0);
        assert!(pool.full_at(t0));
        pool.waiting.store(1, Relaxed);
        assert!(!pool.full_at(t0));
        pool.waiting.store(2, Relaxed);
        // The second after still counts as the surge...
        assert!(pool.full_at(t0 + BACKLOG_WINDOW * 3 / 2));
        // ...a second without refusals does not.
        assert!(!pool.full_at(t0 + BACKLOG_WINDOW * 3));
        // Nor does a refusal long ago, seen by a pool that was quiet since.
        pool.backlog.refused(t0 + BACKLOG_WINDOW * 3);
        assert!(!pool.full_at(t0 + BACKLOG_WINDOW * 9));
        // A free slot: never full.
        drop(taken);
        pool.waiting.store(100, Relaxed);
        pool.backlog.refused(t0 + BACKLOG_WINDOW * 9);
        assert!(!pool.full_at(t0 + BACKLOG_WINDOW * 9));
    }

    /// An admitted request runs on the admitted runtime and holds its slot until its work is
    /// done, also when the request is dropped half-way (its client went away).
    #[tokio::test]
    async fn admitted_work_runs_apart_and_holds_its_slot_to_the_end() {
        let admission = Admission::new(Limits {
            max_in_flight: 1,
            ..Limits::default()
        });
        let pool = &admission.in_flight;
        let slot = pool.acquire().await.unwrap();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (ran_on, thread) = tokio::sync::oneshot::channel::<String>();
        let work = async move {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            ran_on.send(name).unwrap();
            released.await.unwrap();
            StatusCode::NO_CONTENT.into_response()
        };
        let gave_up = tokio::time::timeout(
            Duration::from_millis(50),
            admission.run_admitted(slot, work),
        )
        .await;
        assert!(gave_up.is_err());
        assert!(thread.await.unwrap().starts_with("admitted"));
        assert_eq!(pool.slots.available_permits(), 0, "the work still runs");
        release.send(()).unwrap();
        let freed = tokio::time::timeout(Duration::from_secs(10), pool.acquire()).await;
        assert!(freed.unwrap().is_some());
    }

    #[test]
    fn health_checks_and_long_polls_take_no_work_slot_and_everything_else_does() {
        let admission = Admission::new(Limits::default());
        let slot = |method: Method, path: &str| {
            admission
                .pool_and_names(&method, path)
                .map(|(_, admitted, _)| admitted)
        };
        assert_eq!(slot(Method::GET, "/api/v1/health"), None);
        assert_eq!(slot(Method::GET, "/api/v1/me/inbox"), None);
        assert_eq!(slot(Method::GET, "/api/v1/status-list"), Some("admitted"));
        assert_eq!(slot(Method::POST, "/api/v1/health"), Some("admitted"));
        assert_eq!(
            slot(Method::POST, "/api/v1/sessions/codes"),
            Some("admitted_outside")
        );
        // The console is not the API: its pages take no API slot.
        assert_eq!(slot(Method::GET, "/console/sign-in"), None);
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(&"a", t0), Ok(()));
        }
        let wait = limiter.take(&"a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another key has its own bucket.
        assert_eq!(limiter.take(&"b", t0), Ok(()));
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(limiter.take(&"a", t1), Ok(()));
        assert!(limiter.take(&"a", t1).is_err());
        // A long pause refills to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.take(&"a", t2), Ok(()));
        }
        assert!(limiter.take(&"a", t2).is_err());
    }

    #[test]
    fn quiet_keys_are_forgotten_when_a_shard_fills() {
        let limiter = RateLimiter::new(1.0, 2.0);
        let t0 = Instant::now();
        let old = SHARD_TIDY_AT * SHARDS / 2;
        for key in 0..old {
            let _ = limiter.take(&key, t0);
        }
        // Ten seconds on, every old bucket is full again: as new keys fill each shard to its
        // threshold, the old ones are dropped and the new (active) ones kept.
        let later = t0 + Duration::from_secs(10);
        let new = SHARD_TIDY_AT * SHARDS;
        for key in old..old + new {
            let _ = limiter.take(&key, later);
        }
        let kept: Vec<usize> = limiter
            .shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .unwrap()
                    .buckets
                    .keys()
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(kept.len(), new);
        assert!(kept.iter().all(|&k| k >= old), "an old key was kept");
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_millis(1500)), 2);
        let e = rate_limited(Duration::from_millis(2500));
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.retry_after, Some(3));
        assert_eq!(busy(1).retry_after, Some(1));
        let e = busy(7);
        assert_eq!(e.retry_after, Some(7));
        assert!(e.body.message.contains("7 秒后再试"), "{}", e.body.message);
    }

    #[test]
    fn a_surge_is_told_to_wait_as_long_as_the_slots_need_for_the_refused() {
        let t0 = Instant::now();
        let second = |n: u32| t0 + BACKLOG_WINDOW * n;
        let backlog = Backlog::new("api", t0);
        // Before any full second has been seen: one second.
        assert_eq!(backlog.refused(t0), 1);
        // A second in which 100 were admitted and 450 refused (the one above included): the
        // refused need 4.5 s of the slots, rounded up.
        for _ in 0..100 {
            backlog.admitted(t0);
        }
        for _ in 0..449 {
            backlog.refused(t0);
        }
        assert_eq!(backlog.refused(second(1)), 5);
        // The wait holds for the whole of the next second, whatever happens in it.
        for _ in 0..10 {
            backlog.admitted(second(1));
        }
        assert_eq!(backlog.refused(second(1) + BACKLOG_WINDOW / 2), 5);
        // That second: 10 admitted, 1 refused -> 1 s.
        assert_eq!(backlog.refused(second(2)), 1);
        // Seconds in which nothing gets through double the wait, up to the cap.
        let mut expected = 1;
        for n in 3..12 {
            expected = (expected * 2).min(MAX_BUSY_WAIT);
            assert_eq!(backlog.refused(second(n)), expected, "second {n}");
        }
        assert_eq!(expected, MAX_BUSY_WAIT);
        // A crowd beyond the cap is capped too.
        backlog.admitted(second(12));
        for _ in 0..1000 {
            backlog.refused(second(12));
        }
        assert_eq!(backlog.refused(second(13)), MAX_BUSY_WAIT);
        // A quiet second (admissions, no refusal) and the wait is one second again.
        backlog.admitted(second(14));
        assert_eq!(backlog.refused(second(15)), 1);
    }

    #[test]
    fn a_pool_is_serving_for_a_second_after_its_last_admission() {
        let t0 = Instant::now();
        let backlog = Backlog::new("api", t0);
        assert!(!backlog.serving(t0), "nothing admitted yet");
        backlog.admitted(t0);
        assert!(backlog.serving(t0));
        // The next second still counts the last one's admissions.
        assert!(backlog.serving(t0 + BACKLOG_WINDOW * 3 / 2));
        // A second with none after it: no longer serving.
        assert!(!backlog.serving(t0 + BACKLOG_WINDOW * 5 / 2));
        // A quiet spell of several seconds ends the same way, seen at its first look.
        backlog.admitted(t0 + BACKLOG_WINDOW * 3);
        assert!(!backlog.serving(t0 + BACKLOG_WINDOW * 6));
        // Refusals alone are not serving.
        backlog.refused(t0 + BACKLOG_WINDOW * 7);
        assert!(!backlog.serving(t0 + BACKLOG_WINDOW * 7));
    }

    #[test]
    fn provider_bound_paths_have_their_own_pool() {
        assert!(calls_outside("/registrations/face-sign"));
        assert!(calls_outside("/registrations/online/codes"));
        assert!(calls_outside("/sessions/codes"));
        assert!(calls_outside("/me/face-sign"));
        assert!(!calls_outside("/applications"));
        assert!(!calls_outside("/sessions"));
        assert!(!calls_outside("/me"));
    }
}
