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

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// How requests are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each connection sends its next request as soon as the last is answered.
    ClosedLoop,
    /// Request `i` is due at `i / rate` seconds; latency counts from when it was due, so a
    /// slow server cannot hide its queue (no coordinated omission).
    Rate(f64),
}

/// `closed loop` or `1000/s`.
pub fn pace_name(pace: Pace) -> String {
    match pace {
        Pace::ClosedLoop => "closed loop".into(),
        Pace::Rate(rate) => format!("{rate:.0}/s"),
    }
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub pace: Pace,
    pub duration: Duration,
    pub connections: usize,
    /// Distinct loopback source addresses the connections are spread over.
    pub addresses: usize,
    /// Hard bound on requests, whatever the pace.
    pub max_requests: u64,
}

/// Drivers not yet accepted (a refused driver goes back to try again later) and what became
/// of the others.
#[derive(Default)]
pub struct Ledger {
    waiting: Mutex<Vec<Driver>>,
    /// (account, application id) for every 201.
    pub acknowledged: Mutex<Vec<(i64, i64)>>,
    /// Accounts whose request got no clear answer (timeout, reset): stored or not.
    pub uncertain: Mutex<Vec<i64>>,
}

impl Ledger {
    pub fn new(drivers: Vec<Driver>) -> Ledger {
        let mut waiting = drivers;
        // Popped from the end: the lowest accounts go first.
        waiting.reverse();
        Ledger {
            waiting: Mutex::new(waiting),
            ..Ledger::default()
        }
    }

    fn take(&self) -> Option<Driver> {
        self.waiting.lock().unwrap().pop()
    }

    fn give_back(&self, driver: Driver) {
        self.waiting.lock().unwrap().push(driver);
    }

    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap().len()
    }
}

/// One request's outcome: HTTP status (0: no answer), latency, and whether a refusal said
/// when to come back.
#[derive(Debug, Clone, Copy)]
struct Sample {
    status: u16,
    latency: Duration,
    retry_after: bool,
}

/// What a phase measured.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    pub name: String,
    pub elapsed: Duration,
    pub sent: usize,
    pub accepted: usize,
    pub refused_429: usize,
    pub refused_503: usize,
    /// Refusals (429/503) without `Retry-After`: must be 0.
    pub refusals_without_retry_after: usize,
    /// Any other status, by code.
    pub other: Vec<(u16, usize)>,
    /// Requests with no answer (connection failed or timed out).
    pub unanswered: usize,
    /// Latency percentiles of accepted requests: p50, p90, p99, max.
    pub accepted_latency: [Duration; 4],
    /// Latency percentiles of refusals: p50, p90, p99, max.
    pub refused_latency: [Duration; 4],
}

impl PhaseReport {
    pub fn offered_per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
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
/// photo, which is most of it; only the key changes from one request to the next.
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

/// How long a request may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one submission; `Err` when no answer came.
async fn submit(
    sender: &mut SendRequest<Full<Bytes>>,
    server: SocketAddr,
    driver: &Driver,
    body: Bytes,
) -> anyhow::Result<(u16, bool, Option<i64>)> {
    sender.ready().await?;
    let request = hyper::Request::post("/api/v1/applications")
        .header(hyper::header::HOST, server.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", driver.token),
        )
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1));
    let body = response.into_body().collect().await?.to_bytes();
    let id = if status == 201 {
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        Some(
            json["id"]
                .as_i64()
                .context("a 201 without an application id")?,
        )
    } else {
        None
    };
    Ok((status, retry_after, id))
}

/// Runs one phase against the server; returns what it measured.
pub async fn run_phase(
    server: SocketAddr,
    phase: &Phase,
    ledger: Arc<Ledger>,
    submission: &Submission,
) -> PhaseReport {
    let started = Instant::now();
    let deadline = started + phase.duration;
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(phase.connections);
    for k in 0..phase.connections {
        let (ledger, counter, submission) = (ledger.clone(), counter.clone(), submission.clone());
        let (pace, max_requests) = (phase.pace, phase.max_requests);
        let local = source_address(k % phase.addresses.max(1));
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut sender: Option<SendRequest<Full<Bytes>>> = None;
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests {
                    break;
                }
                let due = match pace {
                    Pace::ClosedLoop => Instant::now(),
                    Pace::Rate(rate) => started + Duration::from_secs_f64(i as f64 / rate),
                };
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let Some(driver) = ledger.take() else { break };
                if sender.as_ref().is_none_or(|s| s.is_closed()) {
                    sender = connect(server, local).await.ok();
                }
                let outcome = match sender.as_mut() {
                    Some(s) => tokio::time::timeout(
                        REQUEST_TIMEOUT,
                        submit(s, server, &driver, submission.body(&format!("load-{i}"))),
                    )
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r),
                    None => Err(anyhow::anyhow!("could not connect")),
                };
                let latency = due.elapsed();
                match outcome {
                    Ok((status, retry_after, id)) => {
                        match (status, id) {
                            (201, Some(id)) => ledger
                                .acknowledged
                                .lock()
                                .unwrap()
                                .push((driver.account, id)),
                            // Refused before anything was stored: the driver tries again later.
                            (429 | 503, _) => ledger.give_back(driver),
                            _ => ledger.uncertain.lock().unwrap().push(driver.account),
                        }
                        samples.push(Sample {
                            status,
                            latency,
                            retry_after,
                        });
                    }
                    Err(_) => {
                        // Sent or not, stored or not: the check below allows either.
                        if sender.is_some() {
                            ledger.uncertain.lock().unwrap().push(driver.account);
                        } else {
                            ledger.give_back(driver);
                        }
                        sender = None;
                        samples.push(Sample {
                            status: 0,
                            latency,
                            retry_after: false,
                        });
                    }
                }
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    summarise(&phase.name, elapsed, &samples)
}

fn summarise(name: &str, elapsed: Duration, samples: &[Sample]) -> PhaseReport {
    let mut other = std::collections::BTreeMap::new();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    let (mut r429, mut r503, mut without, mut unanswered) = (0, 0, 0, 0);
    for s in samples {
        match s.status {
            201 => accepted.push(s.latency),
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
            0 => unanswered += 1,
            code => *other.entry(code).or_insert(0) += 1,
        }
    }
    PhaseReport {
        name: name.to_owned(),
        elapsed,
        sent: samples.len(),
        accepted: accepted.len(),
        refused_429: r429,
        refused_503: r503,
        refusals_without_retry_after: without,
        other: other.into_iter().collect(),
        unanswered,
        accepted_latency: percentiles(accepted),
        refused_latency: percentiles(refused),
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
    let uncertain: std::collections::HashSet<i64> =
        ledger.uncertain.lock().unwrap().iter().copied().collect();
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
