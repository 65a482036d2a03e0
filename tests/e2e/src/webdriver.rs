//! Just enough of the W3C WebDriver protocol: sessions with headless Chromium (the console)
//! or with the app through tauri-driver; find, type, click, read text, wait, screenshots.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::blocking::Client;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long to wait for an element or a text before failing the test.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    driver: Child,
    /// tauri-driver must be stopped with SIGTERM so that it ends the app and WebKitWebDriver.
    graceful: bool,
    http: Client,
    session: String,
    screenshots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes the browser or the app; then the driver can go.
        let _ = self.http.delete(&self.session).send();
        if self.graceful {
            let _ = Command::new("kill")
                .args(["-TERM", &self.driver.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.driver.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    crate::free_port().expect("a free loopback port")
}

/// `target/e2e-screenshots`, created.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap_or(dir)
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session.
    pub fn chromium() -> Browser {
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect(
                "chromedriver is not installed: `cargo xtask test` installs chromium and \
                 chromium-driver, or run `apt-get install chromium chromium-driver`",
            );
        let port = free_port();
        let mut driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = driver.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line.unwrap().contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Self::session(
            driver,
            false,
            port,
            json!({"goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=zh-CN"]
            }}),
        )
    }

    /// Starts the app `application` through tauri-driver (which runs WebKitWebDriver) on
    /// `display`, with `env` for the app. No `browserName` is sent: tauri-driver refuses it.
    pub fn app(application: &Path, display: &str, env: &[(&str, String)]) -> Browser {
        let tauri_driver = which("tauri-driver").expect(
            "tauri-driver is not installed: `cargo xtask test` installs it \
             (cargo install tauri-driver --version ^2 --locked)",
        );
        let native = which("WebKitWebDriver").expect(
            "WebKitWebDriver is not installed: `cargo xtask test` installs it \
             (apt: webkit2gtk-driver)",
        );
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(tauri_driver);
        command
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .arg("--native-driver")
            .arg(native)
            .env("DISPLAY", display)
            // No GPU under Xvfb: software rendering, and no dma-buf renderer.
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            // The app's and the drivers' messages, for when a test fails.
            .stderr(
                std::fs::File::create(screenshot_dir().join("tauri-driver.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            );
        for (k, v) in env {
            command.env(k, v);
        }
        let driver = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self::session(
            driver,
            true,
            port,
            json!({"tauri:options": {"application": application}}),
        )
    }

    fn session(driver: Child, graceful: bool, port: u16, options: Value) -> Browser {
        let http = Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        // tauri-driver listens before its WebKitWebDriver does, and drops a request that
        // arrives in between: try again for a few seconds.
        let mut attempts = 0;
        let created: Value = loop {
            match http
                .post(format!("{base}/session"))
                .json(&json!({"capabilities": {"alwaysMatch": options}}))
                .send()
            {
                Ok(answer) => break answer.json().unwrap(),
                Err(e) if attempts < 20 => {
                    attempts += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("the WebDriver session did not start: {created}"));
        Browser {
            driver,
            graceful,
            http,
            session: format!("{base}/session/{id}"),
            screenshots: screenshot_dir(),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|(error, message)| panic!("WebDriver {path}: {error}: {message}"))
    }

    /// The command's value, or the WebDriver error and its message.
    fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (String, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().unwrap().json().unwrap();
        match answer["value"]["error"].as_str() {
            Some(error) => Err((error.to_owned(), answer["value"]["message"].clone())),
            None => Ok(answer["value"].clone()),
        }
    }

    pub fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    /// The element, once it is on the page (waits up to 20 s).
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(id) = self.try_find(css) {
                return id;
            }
            assert!(Instant::now() < deadline, "no element {css} on the page");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_find(&self, css: &str) -> Option<String> {
        let answer: Value = self
            .http
            .post(format!("{}/element", self.session))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .ok()?
            .json()
            .ok()?;
        answer["value"][ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits up to `patience` for the element, for what takes longer than a screen change
    /// (a background refresh, a clock running out).
    pub fn wait_present(&self, css: &str, patience: Duration) {
        let deadline = Instant::now() + patience;
        while !self.present(css) {
            assert!(
                Instant::now() < deadline,
                "no element {css} within {patience:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Whether the element is on the page now (no waiting).
    pub fn present(&self, css: &str) -> bool {
        self.try_find(css).is_some()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Clicks the element as a person would. An element in the middle of a transition (or
    /// under a notice that is leaving) is tried again for a couple of seconds.
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let id = self.find(css);
            // To the middle of the screen first: scrolled only just into view, an element at
            // the bottom can sit under the fixed tab bar (taller in care mode).
            let mut element = serde_json::Map::new();
            element.insert(ELEMENT.to_owned(), Value::String(id.clone()));
            let scrolled = self.try_call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({
                    "script": "arguments[0].scrollIntoView({block: 'center'})",
                    "args": [element],
                })),
            );
            let clicked = scrolled.and_then(|_| {
                self.try_call(
                    reqwest::Method::POST,
                    &format!("/element/{id}/click"),
                    Some(json!({})),
                )
            });
            match clicked {
                Ok(_) => return,
                Err((error, message)) => {
                    let transient = [
                        "element not interactable",
                        "element click intercepted",
                        "stale element reference",
                    ]
                    .contains(&error.as_str());
                    assert!(
                        transient && Instant::now() < deadline,
                        "WebDriver click on {css}: {error}: {message}"
                    );
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        }
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the element's text contains `expected`; returns the text.
    pub fn wait_for_text(&self, css: &str, expected: &str) -> String {
        self.wait_for_any(css, &[expected])
    }

    /// Waits until the element's text contains one of `expected`; returns the text.
    pub fn wait_for_any(&self, css: &str, expected: &[&str]) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // The page may draw the element anew between finding it and reading it (a stale
            // reference): then it is read again on the next round.
            let text = self
                .try_find(css)
                .and_then(|id| {
                    self.try_call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                        .ok()
                })
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            if expected.iter().any(|e| text.contains(e)) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said any of {expected:?}; it says '{text}'"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Runs a script in the page; its return value.
    pub fn execute(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Runs an asynchronous script in the page with `args`: it ends by calling its last
    /// argument with the result, which is returned.
    pub fn execute_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Saves the page as `target/e2e-screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // WebKitGTK under Xvfb now and then never finishes a snapshot taken in the middle of
        // a repaint; a second request after a pause succeeds.
        let mut attempts = 0;
        let png = loop {
            let answer = self
                .http
                .get(format!("{}/screenshot", self.session))
                .timeout(Duration::from_secs(20))
                .send()
                .and_then(|r| r.json::<Value>());
            match answer {
                Ok(v) if v["value"].is_string() => break v["value"].clone(),
                Ok(v) => panic!("WebDriver /screenshot: {v}"),
                Err(e) if attempts < 3 => {
                    attempts += 1;
                    eprintln!("screenshot {name}: {e}; trying again");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("WebDriver /screenshot {name}: {e}"),
            }
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// The program's path on `PATH` (or in `~/.cargo/bin`).
pub fn which(program: &str) -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
