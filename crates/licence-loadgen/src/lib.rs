//! Load generator for the platform's surge path (错峰申请, R5.1): many signed-in drivers
//! submit e-licence applications with a ~20 KB photo at once, over real HTTP on loopback,
//! against the real `licence-server` binary. It reports throughput and latency percentiles
//! and then checks the database: every application the server acknowledged must be there,
//! exactly once.
//!
//! Drivers are seeded straight into a fresh database (registry entry, face-signed account,
//! session), because registering 40 000 people through the API would measure argon2 and the
//! identity sandbox instead of the submission path.
//!
//! Connections are spread over many loopback source addresses (127.0.x.y), so that the
//! server's per-address limit sees many clients, as it would in the field.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use licence_api::{NewApplication, PhotoSource};
use licence_core::{
    DrivingLicence, FaceSignChannel, IdNumber, LicenceRecord, PersonName, Points, UserKind,
};
use licence_server::store::{
    NewAccount, PostgresStore, RegistryEntry, Session, SqliteStore, Store,
};
use tokio::sync::Semaphore;

/// Where a platform under test keeps its data: a SQLite file, or a PostgreSQL database (with
/// the file's path still naming where the server makes its key files and its log).
#[derive(Debug, Clone)]
pub struct Database {
    /// The SQLite file; with PostgreSQL, the base name of the key files and the log.
    pub path: PathBuf,
    /// The PostgreSQL database's URL, when the data is there.
    pub postgres: Option<String>,
}

impl Database {
    pub fn sqlite(path: &Path) -> Database {
        Database {
            path: path.to_path_buf(),
            postgres: None,
        }
    }

    /// A new database named `name` on the PostgreSQL server at `server_url` (no database
    /// in it), with key files and the log beside `path`.
    pub fn new_postgres(path: &Path, server_url: &str, name: &str) -> anyhow::Result<Database> {
        Ok(Database {
            path: path.to_path_buf(),
            postgres: Some(PostgresStore::create_database(server_url, name)?),
        })
    }

    /// For a test: a new PostgreSQL database in the test cluster named by
    /// `LICENCE_TEST_POSTGRES` when there is one (`cargo xtask test postgres`), else the
    /// SQLite file `path`.
    pub fn for_test(path: &Path) -> anyhow::Result<Database> {
        match std::env::var("LICENCE_TEST_POSTGRES") {
            Ok(server) => {
                let name = format!("loadgen_{}_{}", std::process::id(), rand::random::<u32>());
                Database::new_postgres(path, &server, &name)
            }
            Err(_) => Ok(Database::sqlite(path)),
        }
    }

    /// The store, as the platform opens it.
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match &self.postgres {
            Some(url) => Arc::new(PostgresStore::connect(url)?),
            None => Arc::new(SqliteStore::open(&self.path)?),
        })
    }

    /// The global arguments of `licence-server` that name this store.
    pub fn server_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = vec!["--db".into(), self.path.clone().into_os_string()];
        if let Some(url) = &self.postgres {
            args.extend(["--store".into(), url.into()]);
        }
        args
    }

    /// Where the server's log goes: beside the database file, with the extension `log`.
    pub fn log_path(&self) -> PathBuf {
        self.path.with_extension("log")
    }
}

/// A seeded driver: their account and a session token for it.
#[derive(Debug, Clone)]
pub struct Driver {
    pub account: i64,
    pub token: String,
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
const GIVEN: [&str; 12] = [
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛",
];

/// Made-up driver `i`: a valid ID number, a C1 licence in good standing, a reserved number.
pub fn synthetic_person(i: usize) -> anyhow::Result<RegistryEntry> {
    let birth = time::macros::date!(1965 - 01 - 01) + time::Duration::days((i / 1000) as i64);
    let id_number = IdNumber::from_parts("110105", birth, (i % 1000) as u16)?;
    let name: PersonName = format!(
        "{}{}{}",
        SURNAMES[i % 12],
        GIVEN[(i / 12) % 12],
        GIVEN[(i / 144) % 12]
    )
    .parse()?;
    let licence = DrivingLicence::new(LicenceRecord {
        number: id_number,
        name: name.clone(),
        nationality: "中国".into(),
        address: format!("北京市朝阳区压测路{}号", i + 1),
        first_issued: time::macros::date!(2005 - 03 - 01),
        classes: "C1".parse()?,
        validity: "2021-05-05至2031-05-05".parse()?,
        points: Points::new(0)?,
        status: "A".parse()?,
        issuing_authority: "北京市公安局公安交通管理局".into(),
        file_number: format!("1101{:08}", i).parse()?,
    })?;
    Ok(RegistryEntry {
        id_number,
        name,
        reserved_mobile: format!("139{:08}", i).parse()?,
        photo: None,
        licence: Some(licence),
    })
}

/// Creates the database at `db` with `count` drivers who may apply (face-signed, holding a
/// licence), each signed in. Returns them in account order.
pub fn seed(db: &Database, count: usize) -> anyhow::Result<Vec<Driver>> {
    // One hash for everyone: nobody signs in with it, and argon2 per driver would take minutes.
    let password_hash = licence_server::security::hash_password("load-test-password-1")
        .map_err(|e| anyhow::anyhow!("hashing: {}", e.body.message_en))?;
    let mut drivers = match &db.postgres {
        None => {
            let store = SqliteStore::open_for_bulk_load(&db.path)?;
            let drivers = seed_range(&store, 0..count, &password_hash)?;
            store.flush()?;
            drivers
        }
        Some(url) => {
            // Each driver is a few round trips: several connections load at once.
            let store = PostgresStore::connect_for_bulk_load(url)?;
            let threads = 8;
            let chunk = count.div_ceil(threads).max(1);
            std::thread::scope(|scope| {
                let loads: Vec<_> = (0..count)
                    .step_by(chunk)
                    .map(|from| {
                        let (store, hash) = (&store, &password_hash);
                        scope
                            .spawn(move || seed_range(store, from..(from + chunk).min(count), hash))
                    })
                    .collect();
                loads
                    .into_iter()
                    .map(|l| l.join().expect("a seeding thread panicked"))
                    .collect::<anyhow::Result<Vec<_>>>()
            })?
            .concat()
        }
    };
    drivers.sort_by_key(|d| d.account);
    Ok(drivers)
}

/// Seeds made-up drivers `range` into `store`.
fn seed_range(
    store: &dyn Store,
    range: std::ops::Range<usize>,
    password_hash: &str,
) -> anyhow::Result<Vec<Driver>> {
    let now = licence_server::now();
    let mut drivers = Vec::with_capacity(range.len());
    for i in range {
        let entry = synthetic_person(i)?;
        store.put_registry_entry(&entry)?;
        let account = store.create_account(&NewAccount {
            kind: UserKind::FaceSigned {
                via: FaceSignChannel::Counter,
            },
            id_number: Some(entry.id_number),
            unit_code: None,
            name: entry.name.as_str().to_owned(),
            mobile: entry.reserved_mobile,
            password_hash: password_hash.to_owned(),
            created_at: now,
        })?;
        let (token, digest) = licence_server::security::new_token();
        store.put_session(
            &digest,
            &Session {
                account,
                created_at: now,
                expires_at: now + 24 * 3600,
            },
        )?;
        drivers.push(Driver { account, token });
    }
    Ok(drivers)
}

/// A portrait-sized JPEG of about 20 KB (358×441, a head-and-shoulders shape on white with
/// sensor-like noise), the size of photo a phone app sends after its own crop.
pub fn sample_photo() -> Vec<u8> {
    let (w, h) = (358u32, 441u32);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 15) as i32 - 7;
        let (fx, fy) = (x as f64 - 179.0, y as f64 - 190.0);
        let head = (fx / 95.0).powi(2) + (fy / 125.0).powi(2) <= 1.0;
        let shoulders = y > 330 && (fx.abs() < 60.0 + (y as f64 - 330.0) * 1.6);
        let base: [i32; 3] = if head {
            [224, 182, 150]
        } else if shoulders {
            [40, 52, 80]
        } else {
            [248, 248, 246]
        };
        image::Rgb(base.map(|c| (c + noise).clamp(0, 255) as u8))
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("encoding to memory");
    out
}

/// The `licence-server` binary serving a database, on a loopback port.
pub struct Server {
    pub child: Child,
    pub address: SocketAddr,
}

impl Server {
    /// Starts `bin serve` on `db` (any port) with `extra` flags; returns once it listens. Its
    /// log (one line a request) goes to the file beside `db` with the extension `log`.
    pub fn start(bin: &Path, db: &Database, extra: &[String]) -> anyhow::Result<Server> {
        use std::io::{BufRead, BufReader};
        let log_path = db.log_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut child = Command::new(bin)
            .args(db.server_args())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .context("the server stopped before it listened")??;
            if let Some(rest) = line.strip_prefix("licence-server listening on http://") {
                break rest
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .parse()
                    .context("the server's address")?;
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { child, address })
    }

    /// The most memory the server has held (VmHWM), in MiB, while it runs.
    pub fn peak_memory_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// SIGKILL, as a crash: what was acknowledged must survive this.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat` (Linux).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux the platform runs on.
    Some(ticks / 100.0)
}

/// How first attempts are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each connection takes the next driver as soon as the last one is done with (answered
    /// for good, or out of time).
    ClosedLoop,
    /// Driver `i` arrives (sends their first attempt) at `i / rate` seconds; latency counts
    /// from when a request was due, so a slow server cannot hide its queue (no coordinated
    /// omission). Retries come on top of this rate.
    Rate(f64),
}

/// `closed loop` or `1000/s`.
pub fn pace_name(pace: Pace) -> String {
    match pace {
        Pace::ClosedLoop => "closed loop".into(),
        Pace::Rate(rate) => format!("{rate:.0}/s"),
    }
}

/// How a phone behaves when it is refused or hears nothing back (issue 17). Either way it
/// sends the same submission again, with the same idempotency key, until it has a final
/// answer or the phase is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientModel {
    /// Waits what `Retry-After` says times a random factor in [1, 1.5) (so that phones
    /// refused together do not all come back together); after no answer or a proxy's error,
    /// a pause that doubles with each attempt (0.25 s to 4 s, the same jitter). The offered
    /// load adapts, as real apps make it.
    Patient,
    /// Sends again after a random pause of 0-100 ms, whatever `Retry-After` says.
    Impatient,
}

/// `patient` or `impatient`.
pub fn client_name(model: ClientModel) -> &'static str {
    match model {
        ClientModel::Patient => "patient",
        ClientModel::Impatient => "impatient",
    }
}

/// What one attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer, with `Retry-After` in whole seconds when the server gave one.
    Status { code: u16, retry_after: Option<u64> },
    /// Sent, and no answer came (timeout, reset, closed): stored or not, the phone cannot tell.
    NoAnswer,
    /// No connection could be made: nothing was sent.
    NotConnected,
}

/// What a phone does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Acknowledged: 201, or 200 when the server already had this submission (a replay of
    /// an earlier attempt whose answer was lost).
    Acknowledged { replay: bool },
    /// Send the same submission (same key) again after this pause.
    Retry(Duration),
    /// A final answer that is not an acceptance (another 4xx or 5xx): the phone shows it and
    /// stops.
    GiveUp,
}

/// A patient phone's first pause after no answer; it doubles with each attempt, up to
/// [`BACKOFF_MAX`].
pub const BACKOFF_FIRST: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(4);
/// An impatient phone's pause before sending again is random below this.
pub const IMPATIENT_PAUSE: Duration = Duration::from_millis(100);

/// `base` plus `unit` (in [0, 1)) of `span`, to the nanosecond below; always under
/// `base + span` when `span` is not zero (f64 rounding could otherwise reach it).
fn jittered(base: Duration, span: Duration, unit: f64) -> Duration {
    let span = span.as_nanos() as u64;
    let extra = (span as f64 * unit.clamp(0.0, 1.0)) as u64;
    base + Duration::from_nanos(extra.min(span.saturating_sub(1)))
}

/// The phone's decision after attempt number `attempt` (from 1) got `answer`. `unit` is a
/// random number in [0, 1) for the jitter: a patient phone's pause is its base times a
/// factor in [1, 1.5) (`1 + unit / 2`), an impatient phone's `unit` × 100 ms.
pub fn next_step(answer: Answer, model: ClientModel, attempt: u32, unit: f64) -> Next {
    let backoff = || {
        let doublings = attempt.saturating_sub(1).min(16);
        (BACKOFF_FIRST * 2u32.pow(doublings)).min(BACKOFF_MAX)
    };
    let base = match answer {
        Answer::Status { code: 201, .. } => return Next::Acknowledged { replay: false },
        Answer::Status { code: 200, .. } => return Next::Acknowledged { replay: true },
        // Refused before anything was stored: come back when told.
        Answer::Status {
            code: 429 | 503,
            retry_after: Some(seconds @ 1..),
        } => Duration::from_secs(seconds),
        // A refusal without a usable Retry-After, a proxy's error or a request timeout, or no
        // answer at all: stored or not, the same key again is safe.
        Answer::Status {
            code: 408 | 429 | 502 | 503 | 504,
            ..
        }
        | Answer::NoAnswer
        | Answer::NotConnected => backoff(),
        Answer::Status { .. } => return Next::GiveUp,
    };
    Next::Retry(match model {
        ClientModel::Patient => jittered(base, base / 2, unit),
        ClientModel::Impatient => jittered(Duration::ZERO, IMPATIENT_PAUSE, unit),
    })
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub pace: Pace,
    pub duration: Duration,
    pub connections: usize,
    /// Distinct loopback source addresses the connections are spread over.
    pub addresses: usize,
    /// Hard bound on requests (first attempts and retries), whatever the pace.
    pub max_requests: u64,
    /// How the phones take refusals and silence.
    pub clients: ClientModel,
}

/// A driver who has not had a final answer yet, and the idempotency key of their
/// submission: the same for every attempt, in this phase and the next, until they do.
#[derive(Debug, Clone)]
pub struct Pending {
    pub driver: Driver,
    pub key: String,
}

/// Drivers without a final answer (a driver still refused or unanswered when a phase ends
/// goes back, with their key, for the next phase) and what became of the others.
#[derive(Default)]
pub struct Ledger {
    waiting: Mutex<Vec<Pending>>,
    /// (account, application id) for every acknowledgement (201, or 200 for a replay).
    pub acknowledged: Mutex<Vec<(i64, i64)>>,
    /// Accounts that sent a submission which went unanswered (timeout, reset) and have had
    /// no final answer since: stored or not. A later refusal does not settle it (the
    /// unanswered attempt may have been stored); an acknowledgement does. Also accounts that
    /// gave up on an unexpected answer.
    pub uncertain: Mutex<HashSet<i64>>,
}

impl Ledger {
    pub fn new(drivers: Vec<Driver>) -> Ledger {
        let mut waiting: Vec<Pending> = drivers
            .into_iter()
            .map(|driver| Pending {
                key: format!("load-{}", driver.account),
                driver,
            })
            .collect();
        // Popped from the end: the lowest accounts go first.
        waiting.reverse();
        Ledger {
            waiting: Mutex::new(waiting),
            ..Ledger::default()
        }
    }

    fn take(&self) -> Option<Pending> {
        self.waiting.lock().unwrap().pop()
    }

    fn give_back(&self, pending: Pending) {
        self.waiting.lock().unwrap().push(pending);
    }

    /// Drivers without a final answer who are not trying right now.
    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap().len()
    }
}

/// One attempt: HTTP status (0: no answer), latency from when it was due, and more.
#[derive(Debug, Clone, Copy)]
struct Sample {
    status: u16,
    /// False when no connection could be made (nothing sent).
    connected: bool,
    /// A driver's first attempt in the phase (else a retry).
    first: bool,
    latency: Duration,
    /// The answer carried `Retry-After` (whole seconds, at least 1).
    retry_after: bool,
}

/// What one phone (or one closed-loop connection's phones) did in a phase.
#[derive(Debug, Default)]
struct Log {
    samples: Vec<Sample>,
    /// From each acknowledged driver's first attempt in the phase to the acknowledgement.
    acknowledged_after: Vec<Duration>,
    /// Drivers out of time with an unanswered submission and no final answer.
    uncertain_at_end: usize,
}

impl Log {
    fn append(&mut self, other: Log) {
        self.samples.extend(other.samples);
        self.acknowledged_after.extend(other.acknowledged_after);
        self.uncertain_at_end += other.uncertain_at_end;
    }
}

/// What a phase measured.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    pub name: String,
    pub clients: ClientModel,
    pub elapsed: Duration,
    /// Requests, first attempts and retries (connection failures included).
    pub sent: usize,
    /// Drivers' first attempts in the phase (the paced arrivals).
    pub first_attempts: usize,
    /// Attempts after the first: `sent - first_attempts`.
    pub retries: usize,
    /// Acknowledged: 201 and 200 (replays).
    pub accepted: usize,
    /// 200s: a retry answered with the application an unanswered attempt had stored.
    pub replays: usize,
    pub refused_429: usize,
    pub refused_503: usize,
    /// Refusals (429/503) without `Retry-After`: must be 0.
    pub refusals_without_retry_after: usize,
    /// Any other status, by code.
    pub other: Vec<(u16, usize)>,
    /// Requests with no answer (connection failed or timed out).
    pub unanswered: usize,
    /// Of those, attempts that found no connection (nothing sent).
    pub not_connected: usize,
    /// Drivers whose submission was still unanswered when the phase ended (stored or not).
    pub uncertain: usize,
    /// Connections made; a connection is kept after any answer unless the server closed it.
    pub connections_opened: usize,
    /// Latency percentiles of accepted requests: p50, p90, p99, max.
    pub accepted_latency: [Duration; 4],
    /// Latency percentiles of refusals: p50, p90, p99, max.
    pub refused_latency: [Duration; 4],
    /// From a driver's first attempt to the acknowledgement, retries included: p50, p90,
    /// p99, max.
    pub acknowledged_after: [Duration; 4],
}

impl PhaseReport {
    pub fn offered_per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }

    pub fn first_attempts_per_second(&self) -> f64 {
        self.first_attempts as f64 / self.elapsed.as_secs_f64()
    }

    pub fn retries_per_second(&self) -> f64 {
        self.retries as f64 / self.elapsed.as_secs_f64()
    }

    pub fn accepted_per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

fn percentiles(mut latencies: Vec<Duration>) -> [Duration; 4] {
    if latencies.is_empty() {
        return [Duration::ZERO; 4];
    }
    latencies.sort_unstable();
    let at = |p: f64| {
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    [at(0.50), at(0.90), at(0.99), latencies[latencies.len() - 1]]
}

/// The JSON body of a submission (licence-api's `NewApplication`), serialised once around the
/// photo, which is most of it; only the key changes from one driver to the next.
#[derive(Clone)]
pub struct Submission {
    before_key: Bytes,
    after_key: Bytes,
}

impl Submission {
    pub fn new(photo: &[u8]) -> Submission {
        // Base64 has no braces, so the placeholder stands once in the JSON, as it is.
        const KEY: &str = "{key}";
        let json = serde_json::to_string(&NewApplication {
            idempotency_key: KEY.into(),
            photo_source: PhotoSource::Album,
            photo: Some(base64::engine::general_purpose::STANDARD.encode(photo)),
        })
        .expect("plain data");
        let (before, after) = json.split_once(KEY).expect("the key is in the body");
        Submission {
            before_key: Bytes::from(before.to_owned()),
            after_key: Bytes::from(after.to_owned()),
        }
    }

    fn body(&self, key: &str) -> Bytes {
        let mut body = Vec::with_capacity(self.before_key.len() + key.len() + self.after_key.len());
        body.extend_from_slice(&self.before_key);
        body.extend_from_slice(key.as_bytes());
        body.extend_from_slice(&self.after_key);
        Bytes::from(body)
    }
}

/// `127.0.x.y` number `k` (from 127.0.0.1).
fn source_address(k: usize) -> IpAddr {
    let n = k % (250 * 250);
    IpAddr::V4(Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250) as u8 + 1))
}

async fn connect(server: SocketAddr, local: IpAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

/// How long a request (or a connection) may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An answer, read to its end.
struct Reply {
    status: u16,
    /// `Retry-After` in whole seconds.
    retry_after: Option<u64>,
    /// The application's id, for a 201 or a 200.
    id: Option<i64>,
    /// The server said it closes the connection.
    close: bool,
}

/// Why no answer came.
enum Failure {
    /// The kept connection turned out closed before the request went out: nothing sent.
    Unsent,
    /// Sent (perhaps in part), and no answer: stored or not.
    Lost,
}

/// Sends one submission and reads the whole answer, refusals' bodies too: an HTTP/1
/// connection can carry the next request only once this one's answer has been read.
async fn submit(
    sender: &mut SendRequest<Full<Bytes>>,
    server: SocketAddr,
    driver: &Driver,
    body: Bytes,
) -> Result<Reply, Failure> {
    sender.ready().await.map_err(|_| Failure::Unsent)?;
    let request = hyper::Request::post("/api/v1/applications")
        .header(hyper::header::HOST, server.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", driver.token),
        )
        .body(Full::new(body))
        .expect("a well-formed request");
    let response = sender.send_request(request).await.map_err(|e| {
        // Canceled: the connection closed before the request was written.
        if e.is_canceled() {
            Failure::Unsent
        } else {
            Failure::Lost
        }
    })?;
    let status = response.status().as_u16();
    let headers = response.headers();
    let retry_after = headers
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let close = headers
        .get(hyper::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|_| Failure::Lost)?
        .to_bytes();
    let id = if matches!(status, 200 | 201) {
        // An acknowledgement without the application's id is no acknowledgement.
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| Failure::Lost)?;
        Some(json["id"].as_i64().ok_or(Failure::Lost)?)
    } else {
        None
    };
    Ok(Reply {
        status,
        retry_after,
        id,
        close,
    })
}

/// A connection from one loopback source address, made when first needed and again only
/// once the server has closed it.
struct Slot {
    local: IpAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// What a phase's phones share: the connections (taken in turn, first in first out, so that
/// the source addresses share the load evenly) and the bounds.
struct PhaseRun {
    server: SocketAddr,
    ledger: Arc<Ledger>,
    submission: Submission,
    clients: ClientModel,
    deadline: Instant,
    max_requests: u64,
    /// Attempts so far (first attempts and retries), against `max_requests`.
    attempts: AtomicU64,
    slots: Mutex<VecDeque<Slot>>,
    free: Semaphore,
    opened: AtomicUsize,
}

impl PhaseRun {
    fn out_of_requests(&self) -> bool {
        self.attempts.load(Ordering::Relaxed) >= self.max_requests
    }

    /// One attempt over the next free connection.
    async fn attempt(&self, driver: &Driver, body: Bytes) -> (Answer, Option<i64>) {
        let _permit = self.free.acquire().await.expect("the pool stays open");
        let mut slot = self
            .slots
            .lock()
            .unwrap()
            .pop_front()
            .expect("a connection for each permit");
        let outcome = self.attempt_on(&mut slot, driver, body).await;
        // Back before the permit goes, so that the next holder finds it.
        self.slots.lock().unwrap().push_back(slot);
        outcome
    }

    async fn attempt_on(
        &self,
        slot: &mut Slot,
        driver: &Driver,
        body: Bytes,
    ) -> (Answer, Option<i64>) {
        loop {
            let mut fresh = false;
            if slot.sender.as_ref().is_none_or(|s| s.is_closed()) {
                slot.sender = None;
                match tokio::time::timeout(REQUEST_TIMEOUT, connect(self.server, slot.local)).await
                {
                    Ok(Ok(sender)) => {
                        self.opened.fetch_add(1, Ordering::Relaxed);
                        slot.sender = Some(sender);
                        fresh = true;
                    }
                    _ => return (Answer::NotConnected, None),
                }
            }
            let sender = slot.sender.as_mut().expect("connected");
            let submitted = tokio::time::timeout(
                REQUEST_TIMEOUT,
                submit(sender, self.server, driver, body.clone()),
            )
            .await;
            match submitted {
                Ok(Ok(reply)) => {
                    if reply.close {
                        slot.sender = None;
                    }
                    let answer = Answer::Status {
                        code: reply.status,
                        retry_after: reply.retry_after,
                    };
                    return (answer, reply.id);
                }
                // A kept connection the server had closed meanwhile: nothing went out, so
                // send over a new one at once, as an HTTP client does.
                Ok(Err(Failure::Unsent)) if !fresh => slot.sender = None,
                Ok(Err(Failure::Unsent)) => {
                    slot.sender = None;
                    return (Answer::NotConnected, None);
                }
                Ok(Err(Failure::Lost)) | Err(_) => {
                    slot.sender = None;
                    return (Answer::NoAnswer, None);
                }
            }
        }
    }
}

/// One phone: a driver's submission, sent first when `arrived` and again (the same key)
/// after each refusal or silence, as the phase's client model says, until a final answer,
/// the phase's deadline or its bound on requests. A driver left without a final answer
/// goes back to the ledger for the next phase, with the same key.
async fn phone(run: &PhaseRun, pending: Pending, arrived: Instant) -> Log {
    let mut log = Log::default();
    let account = pending.driver.account;
    let body = run.submission.body(&pending.key);
    let mut due = arrived;
    let mut attempt = 1u32;
    loop {
        if run.attempts.fetch_add(1, Ordering::Relaxed) >= run.max_requests {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let (answer, id) = run.attempt(&pending.driver, body.clone()).await;
        let (status, retry_after) = match answer {
            Answer::Status { code, retry_after } => (code, retry_after.is_some_and(|s| s >= 1)),
            Answer::NoAnswer | Answer::NotConnected => (0, false),
        };
        log.samples.push(Sample {
            status,
            connected: answer != Answer::NotConnected,
            first: attempt == 1,
            latency: due.elapsed(),
            retry_after,
        });
        if answer == Answer::NoAnswer {
            run.ledger.uncertain.lock().unwrap().insert(account);
        }
        match next_step(answer, run.clients, attempt, rand::random::<f64>()) {
            Next::Acknowledged { .. } => {
                let id = id.expect("an acknowledgement carries the id");
                run.ledger.acknowledged.lock().unwrap().push((account, id));
                run.ledger.uncertain.lock().unwrap().remove(&account);
                log.acknowledged_after.push(arrived.elapsed());
                return log;
            }
            Next::GiveUp => {
                // An unexpected answer: what the server did is not known.
                run.ledger.uncertain.lock().unwrap().insert(account);
                return log;
            }
            Next::Retry(pause) => {
                due = Instant::now() + pause;
                if due >= run.deadline || run.out_of_requests() {
                    break;
                }
                attempt += 1;
            }
        }
    }
    if run.ledger.uncertain.lock().unwrap().contains(&account) {
        log.uncertain_at_end += 1;
    }
    run.ledger.give_back(pending);
    log
}

/// Runs one phase against the server; returns what it measured.
pub async fn run_phase(
    server: SocketAddr,
    phase: &Phase,
    ledger: Arc<Ledger>,
    submission: &Submission,
) -> PhaseReport {
    let started = Instant::now();
    let connections = phase.connections.max(1);
    let run = Arc::new(PhaseRun {
        server,
        ledger,
        submission: submission.clone(),
        clients: phase.clients,
        deadline: started + phase.duration,
        max_requests: phase.max_requests,
        attempts: AtomicU64::new(0),
        slots: Mutex::new(
            (0..connections)
                .map(|k| Slot {
                    local: source_address(k % phase.addresses.max(1)),
                    sender: None,
                })
                .collect(),
        ),
        free: Semaphore::new(connections),
        opened: AtomicUsize::new(0),
    });
    let mut tasks = Vec::new();
    match phase.pace {
        Pace::ClosedLoop => {
            for _ in 0..connections {
                let run = run.clone();
                tasks.push(tokio::spawn(async move {
                    let mut log = Log::default();
                    while Instant::now() < run.deadline && !run.out_of_requests() {
                        let Some(pending) = run.ledger.take() else {
                            break;
                        };
                        log.append(phone(&run, pending, Instant::now()).await);
                    }
                    log
                }));
            }
        }
        Pace::Rate(rate) => {
            for i in 0u64.. {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                if due >= run.deadline || run.out_of_requests() {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let Some(pending) = run.ledger.take() else {
                    break;
                };
                let run = run.clone();
                tasks.push(tokio::spawn(async move { phone(&run, pending, due).await }));
            }
        }
    }
    let mut log = Log::default();
    for task in tasks {
        log.append(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    summarise(
        &phase.name,
        phase.clients,
        elapsed,
        log,
        run.opened.load(Ordering::Relaxed),
    )
}

fn summarise(
    name: &str,
    clients: ClientModel,
    elapsed: Duration,
    log: Log,
    connections_opened: usize,
) -> PhaseReport {
    let mut other = std::collections::BTreeMap::new();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    let (mut r429, mut r503, mut without, mut unanswered) = (0, 0, 0, 0);
    let (mut first, mut replays, mut not_connected) = (0, 0, 0);
    for s in &log.samples {
        if s.first {
            first += 1;
        }
        match s.status {
            200 | 201 => {
                if s.status == 200 {
                    replays += 1;
                }
                accepted.push(s.latency);
            }
            429 | 503 => {
                if s.status == 429 {
                    r429 += 1;
                } else {
                    r503 += 1;
                }
                if !s.retry_after {
                    without += 1;
                }
                refused.push(s.latency);
            }
            0 => {
                unanswered += 1;
                if !s.connected {
                    not_connected += 1;
                }
            }
            code => *other.entry(code).or_insert(0) += 1,
        }
    }
    PhaseReport {
        name: name.to_owned(),
        clients,
        elapsed,
        sent: log.samples.len(),
        first_attempts: first,
        retries: log.samples.len() - first,
        accepted: accepted.len(),
        replays,
        refused_429: r429,
        refused_503: r503,
        refusals_without_retry_after: without,
        other: other.into_iter().collect(),
        unanswered,
        not_connected,
        uncertain: log.uncertain_at_end,
        connections_opened,
        accepted_latency: percentiles(accepted),
        refused_latency: percentiles(refused),
        acknowledged_after: percentiles(log.acknowledged_after),
    }
}

/// What the database holds against what the server acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub acknowledged: usize,
    /// Acknowledged, and found with the same id: must equal `acknowledged`.
    pub found: usize,
    /// Acknowledged but missing or stored under another id: must be 0.
    pub lost: usize,
    /// Accounts with more than one application: must be 0.
    pub duplicated: usize,
    /// Stored although the client never heard back (allowed: the reply was lost).
    pub stored_unacknowledged: usize,
    /// Stored for an account that was refused or never sent: must be 0.
    pub unexpected: usize,
}

/// Opens the database (the server stopped) and checks every driver's applications.
pub fn verify(db: &Database, drivers: &[Driver], ledger: &Ledger) -> anyhow::Result<Verification> {
    let store = db.open()?;
    let acknowledged: std::collections::HashMap<i64, i64> = ledger
        .acknowledged
        .lock()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let uncertain = ledger.uncertain.lock().unwrap().clone();
    let mut v = Verification {
        acknowledged: ledger.acknowledged.lock().unwrap().len(),
        found: 0,
        lost: 0,
        duplicated: 0,
        stored_unacknowledged: 0,
        unexpected: 0,
    };
    for driver in drivers {
        let stored = store.applications_of(driver.account)?;
        if stored.len() > 1 {
            v.duplicated += 1;
        }
        match (acknowledged.get(&driver.account), stored.first()) {
            (Some(&id), Some(app)) if app.id == id && stored.len() == 1 => v.found += 1,
            (Some(_), _) => v.lost += 1,
            (None, Some(_)) if uncertain.contains(&driver.account) => v.stored_unacknowledged += 1,
            (None, Some(_)) => v.unexpected += 1,
            (None, None) => {}
        }
    }
    Ok(v)
}

/// `target/…` beside the running executable's profile directory, e.g. for the server binary.
pub fn sibling_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    // Test executables live in deps/, examples in examples/.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir = dir.parent()?;
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

/// The `licence-server` binary of this build, for tests in other crates: beside the test
/// executable (as `cargo test --workspace` builds it), else built now with cargo.
pub fn server_binary() -> PathBuf {
    if let Some(path) = sibling_binary("licence-server") {
        return path;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "licence-server", "--bin", "licence-server"])
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building licence-server failed");
    sibling_binary("licence-server").expect("licence-server was just built")
}

/// The registry's own systems change made-up person `i`'s licence record in the platform's
/// database at `db` (12 points, a revocation …), as tests of the status list need.
pub fn update_licence(
    db: &Database,
    i: usize,
    change: impl FnOnce(&mut LicenceRecord),
) -> anyhow::Result<()> {
    let mut entry = synthetic_person(i)?;
    let mut record: LicenceRecord = entry
        .licence
        .take()
        .context("a synthetic person holds a licence")?
        .into();
    change(&mut record);
    entry.licence = Some(DrivingLicence::new(record)?);
    db.open()?.put_registry_entry(&entry)?;
    Ok(())
}

/// Formats a duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_photo_is_a_portrait_jpeg_of_about_20_kb() {
        let photo = sample_photo();
        assert!(photo.starts_with(&[0xFF, 0xD8]));
        assert!(
            (15_000..=26_000).contains(&photo.len()),
            "{} bytes",
            photo.len()
        );
        let decoded = image::load_from_memory(&photo).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (358, 441));
    }

    #[test]
    fn synthetic_people_are_valid_and_distinct() {
        let a = synthetic_person(0).unwrap();
        let b = synthetic_person(40_001).unwrap();
        assert_ne!(a.id_number, b.id_number);
        assert_ne!(a.reserved_mobile, b.reserved_mobile);
        assert_eq!(a.licence.unwrap().record().status, "A".parse().unwrap());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms = |n: u64| Duration::from_millis(n);
        let p = percentiles((1..=100).map(ms).collect());
        assert_eq!(p, [ms(50), ms(90), ms(99), ms(100)]);
        assert_eq!(percentiles(vec![]), [Duration::ZERO; 4]);
    }

    #[test]
    fn phones_retry_as_their_model_says() {
        use ClientModel::{Impatient, Patient};
        let ms = |n: u64| Duration::from_millis(n);
        let status = |code, retry_after| Answer::Status { code, retry_after };
        let retry = |d| Next::Retry(d);
        // Acknowledged, whoever asks and however late; 200 is the replay of a stored one.
        for model in [Patient, Impatient] {
            for attempt in [1, 7] {
                assert_eq!(
                    next_step(status(201, None), model, attempt, 0.3),
                    Next::Acknowledged { replay: false }
                );
                assert_eq!(
                    next_step(status(200, None), model, attempt, 0.3),
                    Next::Acknowledged { replay: true }
                );
                // Other answers are final: nothing to gain by sending again.
                for code in [400, 401, 403, 409, 413, 422, 500] {
                    assert_eq!(
                        next_step(status(code, Some(1)), model, attempt, 0.3),
                        Next::GiveUp,
                        "{code}"
                    );
                }
            }
        }

        // Patient: Retry-After times [1, 1.5), whatever the attempt.
        assert_eq!(
            next_step(status(503, Some(1)), Patient, 1, 0.0),
            retry(ms(1000))
        );
        assert_eq!(
            next_step(status(503, Some(1)), Patient, 9, 0.5),
            retry(ms(1250))
        );
        assert_eq!(
            next_step(status(429, Some(3)), Patient, 2, 0.5),
            retry(ms(3750))
        );
        assert_eq!(
            next_step(status(429, Some(2)), Patient, 1, 1.0 - f64::EPSILON / 2.0),
            retry(ms(3000) - Duration::from_nanos(1)),
            "the jitter stays below 1.5"
        );
        // No answer, a proxy's error, or a refusal without Retry-After: 0.25 s doubling per
        // attempt up to 4 s, with the same jitter.
        assert_eq!(next_step(Answer::NoAnswer, Patient, 1, 0.0), retry(ms(250)));
        assert_eq!(next_step(Answer::NoAnswer, Patient, 2, 0.5), retry(ms(625)));
        assert_eq!(
            next_step(Answer::NotConnected, Patient, 3, 0.0),
            retry(ms(1000))
        );
        assert_eq!(
            next_step(status(502, None), Patient, 4, 0.0),
            retry(ms(2000))
        );
        assert_eq!(
            next_step(status(504, None), Patient, 5, 0.0),
            retry(ms(4000))
        );
        assert_eq!(
            next_step(status(408, None), Patient, 1, 0.0),
            retry(ms(250))
        );
        assert_eq!(
            next_step(status(503, None), Patient, 6, 0.5),
            retry(ms(5000))
        );
        assert_eq!(
            next_step(status(429, Some(0)), Patient, 1, 0.0),
            retry(ms(250))
        );
        assert_eq!(
            next_step(Answer::NoAnswer, Patient, u32::MAX, 0.0),
            retry(ms(4000))
        );

        // Impatient: 0-100 ms, Retry-After or not.
        assert_eq!(
            next_step(status(503, Some(1)), Impatient, 1, 0.0),
            retry(ms(0))
        );
        assert_eq!(
            next_step(status(503, Some(5)), Impatient, 3, 0.5),
            retry(ms(50))
        );
        assert_eq!(
            next_step(status(429, Some(2)), Impatient, 1, 0.25),
            retry(ms(25))
        );
        assert_eq!(
            next_step(Answer::NoAnswer, Impatient, 9, 0.5),
            retry(ms(50))
        );
        assert_eq!(
            next_step(Answer::NotConnected, Impatient, 1, 0.0),
            retry(ms(0))
        );
        assert_eq!(
            next_step(status(502, None), Impatient, 1, 0.5),
            retry(ms(50))
        );
        assert_eq!(
            next_step(status(503, Some(1)), Impatient, 1, 1.0 - f64::EPSILON / 2.0),
            retry(ms(100) - Duration::from_nanos(1))
        );

        // The bounds hold for the generator's own random numbers.
        for _ in 0..10_000 {
            let unit = rand::random::<f64>();
            let Next::Retry(wait) = next_step(status(503, Some(2)), Patient, 1, unit) else {
                panic!("a 503 is retried");
            };
            assert!((ms(2000)..ms(3000)).contains(&wait), "{wait:?}");
            let Next::Retry(wait) = next_step(Answer::NoAnswer, Patient, 2, unit) else {
                panic!("no answer is retried");
            };
            assert!((ms(500)..ms(750)).contains(&wait), "{wait:?}");
            let Next::Retry(wait) = next_step(status(503, Some(2)), Impatient, 1, unit) else {
                panic!("a 503 is retried");
            };
            assert!(wait < ms(100), "{wait:?}");
        }
    }

    #[test]
    fn a_driver_keeps_one_key_until_answered() {
        let driver = |account| Driver {
            account,
            token: "t".into(),
        };
        let ledger = Ledger::new(vec![driver(7), driver(8)]);
        let first = ledger.take().unwrap();
        assert_eq!((first.driver.account, first.key.as_str()), (7, "load-7"));
        // Given back unanswered, the driver comes next, with the same key.
        ledger.give_back(first);
        let again = ledger.take().unwrap();
        assert_eq!((again.driver.account, again.key.as_str()), (7, "load-7"));
        assert_eq!(ledger.take().unwrap().key, "load-8");
        assert_eq!(ledger.waiting(), 0);
    }

    #[test]
    fn source_addresses_stay_on_loopback_and_differ() {
        assert_eq!(source_address(0), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(source_address(251), IpAddr::V4(Ipv4Addr::new(127, 0, 1, 2)));
        assert!((0..1000).all(|k| source_address(k).is_loopback()));
    }

    #[test]
    fn the_body_is_json_with_the_key() {
        let body = Submission::new(&[0xFF, 0xD8, 1, 2]).body("load-7");
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["idempotency_key"], "load-7");
        assert_eq!(json["photo_source"], "album");
        assert_eq!(json["photo"], "/9gBAg==");
        let back: NewApplication = serde_json::from_slice(&body).unwrap();
        assert_eq!(back.photo_source, PhotoSource::Album);
    }
}
