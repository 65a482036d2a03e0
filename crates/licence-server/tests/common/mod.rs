//! A real platform for a test: the `licence-server` binary on a loopback port with its own
//! database (the demo registry loaded), and the outside-service sandbox on another.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use licence_photo::testdata;

use base64::Engine;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

pub struct Platform {
    pub base: String,
    server_args: Vec<String>,
    pub sandbox: String,
    pub http: Client,
    pub db: std::path::PathBuf,
    /// The PostgreSQL database the platform keeps its data in, when the tests run against
    /// PostgreSQL (`cargo xtask test postgres` names a test cluster in
    /// `LICENCE_TEST_POSTGRES`); `None` for the SQLite file `db`.
    pub store: Option<String>,
    server: Child,
    _dir: tempfile::TempDir,
}

/// A further instance of a platform (see [`Platform::another_instance`]).
pub struct Instance {
    server: Child,
    pub base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Starts `licence-server` with `args`; returns it and its base URL once it listens. Its log
/// is appended to `log`.
fn spawn_server(args: &[String], log: &std::path::Path) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_licence-server"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server said where it listens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("licence-server listening on ") {
            break rest.split(' ').next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (server, base)
}

/// A new database for one platform in the PostgreSQL test cluster named by
/// `LICENCE_TEST_POSTGRES`, if there is one.
fn test_postgres_database() -> Option<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let server = std::env::var("LICENCE_TEST_POSTGRES").ok()?;
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed),
        rand_core::RngCore::next_u32(&mut rand_core::OsRng)
    );
    Some(licence_server::store::PostgresStore::create_database(&server, &name).unwrap())
}

/// The global arguments that name a platform's store: the SQLite file, or PostgreSQL with
/// the file's path naming only where the keys are.
fn store_args(db: &std::path::Path, store: &Option<String>) -> Vec<String> {
    let mut args = vec!["--db".to_owned(), db.to_str().unwrap().to_owned()];
    if let Some(url) = store {
        args.extend(["--store".to_owned(), url.clone()]);
    }
    args
}

impl Platform {
    /// The development trust root the server made beside its database.
    pub fn trust_root(&self) -> licence_credential::TrustRoot {
        let text = std::fs::read_to_string(self.db.with_extension("trust-root.pub")).unwrap();
        licence_credential::TrustRoot::from_text(&text).unwrap()
    }

    /// The database's size on disk: the SQLite file with its write-ahead log, or what
    /// PostgreSQL reports for the platform's database.
    pub fn database_bytes(&self) -> u64 {
        let Some(url) = &self.store else {
            let size = |path: std::path::PathBuf| std::fs::metadata(path).map_or(0, |m| m.len());
            return size(self.db.clone()) + size(self.db.with_extension("sqlite-wal"));
        };
        let config: tokio_postgres::Config = url.parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            let row = client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await
                .unwrap();
            u64::try_from(row.get::<_, i64>(0)).unwrap()
        })
    }

    /// What the server has logged so far (standard error: one line a request, and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.db.with_extension("log")).unwrap_or_default()
    }

    /// The log once it holds `needle` (lines are written as requests end, by a thread of
    /// their own), or as it is after 10 s.
    pub fn log_once_it_has(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The lines of a log written with `--log-format json`, each read as a JSON object.
    pub fn json_lines(log: &str) -> Vec<Value> {
        log.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// With the product's rules, except short code timings so that expiry can be tested.
    pub fn start() -> Platform {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("platform.sqlite");
        let store = test_postgres_database();
        let exe = env!("CARGO_BIN_EXE_licence-server");
        let demo = Command::new(exe)
            .args(store_args(&db, &store))
            .arg("demo")
            .output()
            .unwrap();
        assert!(demo.status.success(), "{demo:?}");
        let sandbox = licence_sandbox::start_in_background().unwrap();
        let mut server_args = store_args(&db, &store);
        server_args.extend(
            [
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--identity-url",
                &sandbox,
                "--sms-url",
                &sandbox,
                "--alipay-url",
                &sandbox,
                "--provider-timeout",
                "1",
            ]
            .into_iter()
            .map(str::to_owned),
        );
        // Tests poll and retry faster than a person: generous rate limits, unless the test is
        // about them.
        for (flag, value) in [
            ("--account-rate", "1000"),
            ("--address-rate", "10000"),
            ("--code-resend-after", "1"),
            // A change in a licence's standing is seen at the next fetch.
            ("--status-list-every", "0"),
            // No automatic approval is drawn for a person at random, unless the test says.
            ("--review-sample-percent", "0"),
        ] {
            if !extra.contains(&flag) {
                server_args.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        server_args.extend(extra.iter().map(|s| (*s).to_owned()));
        let (server, base) = spawn_server(&server_args, &db.with_extension("log"));
        Platform {
            base,
            server_args,
            sandbox,
            http: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            server,
            db,
            store,
            _dir: dir,
        }
    }

    /// Stops the server abruptly (SIGKILL, as a crash) and starts it again on the same
    /// database; the base URL changes.
    pub fn restart(&mut self) {
        self.restart_with(&[]);
    }

    /// [`Platform::restart`] with `extra` arguments added to `serve`'s (kept for later
    /// restarts too).
    pub fn restart_with(&mut self, extra: &[&str]) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        self.server_args
            .extend(extra.iter().map(|s| (*s).to_owned()));
        let (server, base) = spawn_server(&self.server_args, &self.db.with_extension("log"));
        self.server = server;
        self.base = base;
    }

    /// Another instance of the platform, on the same store and key files, with the same
    /// settings (as a load balancer's second backend); stopped when dropped.
    pub fn another_instance(&self) -> Instance {
        let (server, base) = spawn_server(&self.server_args, &self.db.with_extension("log"));
        Instance { server, base }
    }

    /// Loads registry rows (CSV without the header) through `licence-server import`, with
    /// files (photos) beside the CSV, while the server runs.
    pub fn import(&self, rows: &str, files: &[(&str, &[u8])]) {
        let dir = self.db.parent().unwrap().join("import");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let csv = dir.join("registry.csv");
        std::fs::write(
            &csv,
            format!("{}\n{rows}", licence_server::registry::CSV_HEADER),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_licence-server"))
            .args(store_args(&self.db, &self.store))
            .args(["import", csv.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// Adds a member of staff through `licence-server staff add`.
    pub fn add_staff(&self, username: &str, name: &str, role: &str) {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_licence-server"))
            .args(store_args(&self.db, &self.store))
            .args(["staff", "add", username])
            .args(["--name", name, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{STAFF_PASSWORD}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    pub fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap()
    }

    pub fn post_as(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .unwrap()
    }

    pub fn get_as(&self, token: &str, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .unwrap()
    }

    /// The next `times` requests to `service` get `outcome` (pass, fail, timeout, error).
    pub fn script(&self, service: &str, outcome: &str, times: usize) {
        let r = self
            .http
            .post(format!("{}/sandbox/outcomes", self.sandbox))
            .json(&json!({"service": service, "outcome": outcome, "times": times}))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }

    /// The text messages the gateway "sent" to `mobile`.
    pub fn messages_to(&self, mobile: &str) -> Vec<String> {
        let list: Vec<Value> = self
            .http
            .get(format!("{}/sandbox/sms/messages?to={mobile}", self.sandbox))
            .send()
            .unwrap()
            .json()
            .unwrap();
        list.iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits (up to 30 s) for a message to `mobile` containing `text`, as the outbox worker
    /// sends it; returns it.
    pub fn wait_for_message(&self, mobile: &str, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = self
                .messages_to(mobile)
                .into_iter()
                .rev()
                .find(|m| m.contains(text))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no message to {mobile} with {text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The six-digit code in the last message to `mobile`.
    pub fn last_code(&self, mobile: &str) -> String {
        let text = self.messages_to(mobile).pop().expect("a message was sent");
        let digits: String = text
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .expect("a six-digit code")
            .to_owned();
        digits
    }

    /// What the Alipay app hands over when the person authorises.
    pub fn alipay_auth_code(&self, name: &str, cert_no: &str, mobile: &str) -> String {
        let r: Value = self
            .http
            .post(format!("{}/sandbox/alipay/authorizations", self.sandbox))
            .json(&json!({"name": name, "cert_no": cert_no, "mobile": mobile}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["auth_code"].as_str().unwrap().to_owned()
    }
}

/// A demo person: (name, ID number, reserved mobile).
pub fn demo_person(index: usize) -> (String, String, String) {
    let e = &licence_server::registry::demo_entries()[index];
    (
        e.name.as_str().to_owned(),
        e.id_number.as_str().to_owned(),
        e.reserved_mobile.as_str().to_owned(),
    )
}

/// A small real JPEG, as a camera frame, in base64.
pub fn frame() -> String {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&img)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(jpeg)
}

pub const PASSWORD: &str = "Licence2026";
pub const STAFF_PASSWORD: &str = "Counter2026";

/// Asserts the status and the error code, and returns the body.
pub fn expect_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "expected {code}");
    let body: Value = response.json().unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty())
            && body["message_en"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// A face-sign registration body for demo person `index`, with a code really sent to their
/// mobile number (R2.1).
pub fn face_sign_body(platform: &Platform, index: usize) -> Value {
    let (name, id, mobile) = demo_person(index);
    let r = platform.post(
        "/api/v1/registrations/face-sign/codes",
        json!({"name": name, "id_number": id, "mobile": mobile}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let sent: Value = r.json().unwrap();
    json!({"name": name, "id_number": id, "mobile": mobile, "consent": true,
           "challenge_id": sent["challenge_id"], "code": platform.last_code(&mobile),
           "password": PASSWORD, "frames": [frame()]})
}

/// Registers demo person `index` by face-sign; returns the session token.
pub fn face_signed(platform: &Platform, index: usize) -> String {
    let r = platform.post(
        "/api/v1/registrations/face-sign",
        face_sign_body(platform, index),
    );
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// A member of staff's browser: the session cookie, and the form token from the pages.
pub struct Staff<'a> {
    pub p: &'a Platform,
    pub http: Client,
    pub cookie: String,
}

pub fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn sign_in_staff<'a>(
    p: &'a Platform,
    username: &str,
    password: &str,
) -> Result<Staff<'a>, Box<Response>> {
    let http = no_redirects();
    let (form_cookie, csrf) = sign_in_form(p);
    let r = http
        .post(format!("{}/console/sign-in", p.base))
        .header("cookie", form_cookie)
        .form(&[
            ("csrf", &*csrf),
            ("username", username),
            ("password", password),
        ])
        .send()
        .unwrap();
    if r.status().as_u16() != 303 {
        return Err(Box::new(r));
    }
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Ok(Staff { p, http, cookie })
}

/// The sign-in page's form cookie (`name=value`) and the token printed in its form.
pub fn sign_in_form(p: &Platform) -> (String, String) {
    let page = no_redirects()
        .get(format!("{}/console/sign-in", p.base))
        .send()
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let text = page.text().unwrap();
    let start = text.find("name=csrf value=\"").unwrap() + "name=csrf value=\"".len();
    let csrf = text[start..].split('"').next().unwrap().to_owned();
    (cookie, csrf)
}

impl Staff<'_> {
    pub fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.p.base))
            .header("cookie", &self.cookie)
            .send()
            .unwrap()
    }

    pub fn page(&self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.text().unwrap()
    }

    /// The form token printed in a console page.
    pub fn csrf(&self) -> String {
        let page = self.page("/console");
        let start = page.find("name=csrf value=\"").unwrap() + "name=csrf value=\"".len();
        page[start..].split('"').next().unwrap().to_owned()
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}{path}", self.p.base))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .unwrap()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A photo that meets the spec, as a phone would send it.
pub fn good_photo() -> Vec<u8> {
    testdata::encode(&testdata::portrait(2.0).0, image::ImageFormat::Jpeg)
}

/// Polls the application until its status is not `submitted` (the background check ran).
pub fn checked(p: &Platform, token: &str, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let app: Value = p
            .get_as(token, &format!("/api/v1/applications/{id}"))
            .json()
            .unwrap();
        if app["status"] != "submitted" {
            return app;
        }
        assert!(
            Instant::now() < deadline,
            "the photo was never checked: {app}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The signed-in driver applies with a good photo (idempotency key "k") and waits for the
/// server's check to pass it to review; the application's id.
pub fn under_review(p: &Platform, token: &str) -> Value {
    let r = p.post_as(
        token,
        "/api/v1/applications",
        json!({"idempotency_key": "k", "photo_source": "camera", "photo": b64(&good_photo())}),
    );
    let id = r.json::<Value>().unwrap()["id"].clone();
    assert_eq!(checked(p, token, &id)["status"], "under_review");
    id
}

/// Demo person `index` applies with a good photo and a reviewer approves; `before` runs just
/// before the decision (to script the gateway). Returns the mobile number and session token.
pub fn approved(p: &Platform, index: usize, before: impl FnOnce()) -> (String, String) {
    let token = face_signed(p, index);
    let id = under_review(p, &token);
    let reviewer = sign_in_staff(p, "review01", STAFF_PASSWORD).ok().unwrap();
    let csrf = reviewer.csrf();
    before();
    let r = reviewer.post(
        &format!("/console/applications/{id}"),
        &[("csrf", &csrf), ("decision", "approve")],
    );
    assert!(r.text().unwrap().contains("申请人将收到短信通知"));
    (demo_person(index).2, token)
}

/// POSTs each JSON body to `path` on its own connection, every request held back at its last
/// byte until all are sent that far, then released together (the way a race is run from
/// outside); the status of each answer.
pub fn released_together(p: &Platform, path: &str, bodies: &[Value]) -> Vec<u16> {
    let bodies: Vec<String> = bodies.iter().map(Value::to_string).collect();
    released_together_raw(p, path, "Content-Type: application/json\r\n", &bodies)
}

/// [`released_together`] with bodies as they are and `headers` (each line ending in CRLF)
/// added to every request: a console form, say.
pub fn released_together_raw(
    p: &Platform,
    path: &str,
    headers: &str,
    bodies: &[String],
) -> Vec<u16> {
    use std::io::{Read, Write};
    let address = p.base.trim_start_matches("http://").to_owned();
    let start = std::sync::Barrier::new(bodies.len());
    std::thread::scope(|s| {
        let runs: Vec<_> = bodies
            .iter()
            .map(|body| {
                let (start, address) = (&start, &address);
                s.spawn(move || {
                    let request = format!(
                        "POST {path} HTTP/1.1\r\nHost: {address}\r\n{headers}\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let mut stream = std::net::TcpStream::connect(address).unwrap();
                    let (head, last) = request.as_bytes().split_at(request.len() - 1);
                    stream.write_all(head).unwrap();
                    start.wait();
                    stream.write_all(last).unwrap();
                    let mut answer = Vec::new();
                    stream.read_to_end(&mut answer).unwrap();
                    String::from_utf8_lossy(&answer)
                        .split(' ')
                        .nth(1)
                        .and_then(|code| code.parse().ok())
                        .unwrap_or(0)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// Demo person `index` gets a good photo on file in the registry.
pub fn with_photo_on_file(p: &Platform, index: usize) {
    let (name, id, mobile) = demo_person(index);
    let rows = format!(
        "{id},{name},{mobile},中国,成都市武侯区,2025-01-10,C1,2025-01-10至2031-01-10,2,A,成都市公安局交通管理局,5101071050{index:02},on-file.jpg\n"
    );
    p.import(&rows, &[("on-file.jpg", &good_photo())]);
}
