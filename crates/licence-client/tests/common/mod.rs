//! The real platform for the client's tests: `licence-server` on loopback with drivers seeded
//! into its database, and the outside-service sandbox.
#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use licence_client::api::Api;
use licence_client::registration::Person;
use licence_client::store::LocalStore;
use licence_loadgen::{seed, server_binary, Driver, Server};

pub const PASSWORD: &str = "load-test-password-1";
/// The console staff's password in these tests.
pub const STAFF_PASSWORD: &str = "Station2026";

pub struct Platform {
    pub server: Server,
    pub drivers: Vec<Driver>,
    pub dir: tempfile::TempDir,
    /// The outside-service sandbox (identity platform, SMS gateway, Alipay).
    pub sandbox: String,
}

impl Platform {
    pub fn start(extra: &[&str]) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let db = licence_loadgen::Database::sqlite(&dir.path().join("platform.sqlite"));
        let drivers = seed(&db, 4).unwrap();
        let sandbox = licence_sandbox::start_in_background().unwrap();
        let mut args: Vec<String> = ["--identity-url", "--sms-url", "--alipay-url"]
            .iter()
            .flat_map(|flag| [(*flag).to_owned(), sandbox.clone()])
            .collect();
        // Tests ask faster than a person: a generous per-account rate, unless the test is
        // about it (whether the product's burst is met would depend on the machine's speed).
        if !extra.contains(&"--account-rate") {
            args.extend(["--account-rate".to_owned(), "1000".to_owned()]);
        }
        // A change in a licence's standing is seen at the next fetch of the status list.
        if !extra.contains(&"--status-list-every") {
            args.extend(["--status-list-every".to_owned(), "0".to_owned()]);
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let server = Server::start(&server_binary(), &db, &args).unwrap();
        Platform {
            server,
            drivers,
            dir,
            sandbox,
        }
    }

    /// The development trust root the server made beside its database.
    pub fn trust_root(&self) -> licence_credential::TrustRoot {
        let path = self.dir.path().join("platform.trust-root.pub");
        licence_credential::TrustRoot::from_text(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Adds made-up person `i` (a licence, no account) to the registry; returns them as the
    /// app would have them typed in, with the reserved number.
    pub fn newcomer(&self, i: usize) -> Person {
        let entry = licence_loadgen::synthetic_person(i).unwrap();
        let registry =
            licence_server::store::SqliteStore::open(&self.dir.path().join("platform.sqlite"))
                .unwrap();
        licence_server::store::RegistryStore::put_registry_entry(&registry, &entry).unwrap();
        Person {
            name: entry.name.as_str().to_owned(),
            id_number: entry.id_number.to_string(),
            mobile: entry.reserved_mobile.as_str().to_owned(),
        }
    }

    /// The six-digit code in the last text message the gateway "sent" to `mobile`.
    pub async fn last_code(&self, mobile: &str) -> String {
        let list: Vec<serde_json::Value> =
            reqwest::get(format!("{}/sandbox/sms/messages?to={mobile}", self.sandbox))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let text = list.last().expect("a message")["text"]
            .as_str()
            .unwrap()
            .to_owned();
        text.split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .expect("a six-digit code")
            .to_owned()
    }

    /// What the identity platform answers the next `times` checks.
    pub async fn script(&self, service: &str, outcome: &str, times: usize) {
        let r = reqwest::Client::new()
            .post(format!("{}/sandbox/outcomes", self.sandbox))
            .json(&serde_json::json!({"service": service, "outcome": outcome, "times": times}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// A member of the console's staff, made as an operator does.
    pub fn add_staff(&self, username: &str, name: &str, role: &str) {
        licence_e2e::add_staff(
            &server_binary(),
            &self.dir.path().join("platform.sqlite"),
            username,
            name,
            role,
            STAFF_PASSWORD,
        )
        .unwrap();
    }

    /// Reviewer `username` approves application `id` (under review) in the console.
    pub async fn approve(&self, username: &str, id: i64) {
        let base = format!("http://{}", self.server.address);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let marker = "name=csrf value=\"";
        let token_in = |page: &str| {
            let start = page.find(marker).unwrap() + marker.len();
            page[start..].split('"').next().unwrap().to_owned()
        };
        // The sign-in form's own token, in the page and in its cookie.
        let form = http
            .get(format!("{base}/console/sign-in"))
            .send()
            .await
            .unwrap();
        let form_cookie = form.headers()["set-cookie"].to_str().unwrap();
        let form_cookie = form_cookie.split(';').next().unwrap().to_owned();
        let form_token = token_in(&form.text().await.unwrap());
        let r = http
            .post(format!("{base}/console/sign-in"))
            .header("cookie", form_cookie)
            .form(&[
                ("csrf", form_token.as_str()),
                ("username", username),
                ("password", STAFF_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "console sign-in");
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = http
            .get(format!("{base}/console"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = token_in(&page);
        let answer = http
            .post(format!("{base}/console/applications/{id}"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("decision", "approve")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(answer.contains("短信通知"), "{answer}");
    }

    /// Changes the registry's record of person `i`'s licence, as the registry's own systems do.
    pub fn update_licence(
        &self,
        i: usize,
        change: impl FnOnce(&mut licence_core::licence::LicenceRecord),
    ) {
        let db = licence_loadgen::Database::sqlite(&self.dir.path().join("platform.sqlite"));
        licence_loadgen::update_licence(&db, i, change).unwrap();
    }

    pub fn api(&self) -> Api {
        Api::new(
            &format!("http://{}", self.server.address),
            Duration::from_secs(10),
        )
        .unwrap()
    }

    /// The app's store, in a file of its own (it outlives a `LocalStore`).
    pub fn app_store(&self) -> LocalStore {
        LocalStore::open(&self.dir.path().join("app.sqlite")).unwrap()
    }
}

/// Seeded driver `i` signs in with the reserved mobile number.
pub async fn sign_in(api: &Api, i: usize) -> licence_client::api::Session {
    api.sign_in(&format!("139{i:08}"), PASSWORD).await.unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
