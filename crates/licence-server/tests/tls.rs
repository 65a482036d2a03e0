//! HTTPS at the platform (issue 15): the platform and the sandbox serve TLS with the
//! development CA, HTTP/2 by ALPN as well as HTTP/1.1; the platform calls the sandbox over
//! HTTPS; a client that does not trust the CA, or speaks plain HTTP to the TLS port, gets
//! nowhere; plain HTTP is refused on anything but loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{json, Value};

mod common;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn licence_server(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_licence-server"));
    command.args(args);
    command
}

/// A platform over HTTPS, calling an HTTPS sandbox, both with `pki`'s certificate.
fn start(dir: &std::path::Path, pki: &licence_tls::DevPki) -> (Server, String) {
    let db = dir.join("platform.sqlite");
    let db = db.to_str().unwrap();
    assert!(licence_server(&["--db", db, "demo"])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    let tls = licence_tls::server_config(&pki.cert, &pki.key).unwrap();
    let sandbox = licence_sandbox::start_in_background_with(Some(tls)).unwrap();
    assert!(sandbox.starts_with("https://"), "{sandbox}");
    let mut child = licence_server(&["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .args(["--tls-cert", pki.cert.to_str().unwrap()])
        .args(["--tls-key", pki.key.to_str().unwrap()])
        .args(["--provider-ca", pki.ca_cert.to_str().unwrap()])
        .args(["--identity-url", &sandbox, "--sms-url", &sandbox])
        .args(["--alipay-url", &sandbox])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("it says where it listens").unwrap();
        if let Some(rest) = line.strip_prefix("licence-server listening on ") {
            break rest.split(' ').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Server(child), base)
}

fn trusting(pki: &licence_tls::DevPki) -> reqwest::blocking::ClientBuilder {
    let ca = std::fs::read(&pki.ca_cert).unwrap();
    Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .timeout(Duration::from_secs(20))
}

#[test]
fn the_platform_serves_https_with_http2_and_calls_the_sandbox_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let pki = licence_tls::DevPki::ensure(&dir.path().join("pki")).unwrap();
    let (_server, base) = start(dir.path(), &pki);
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let document = format!("{base}/api/v1/openapi.json");

    // HTTP/2 when the client offers it by ALPN, HTTP/1.1 for one that does not.
    let h2 = trusting(&pki)
        .build()
        .unwrap()
        .get(&document)
        .send()
        .unwrap();
    assert_eq!(
        (h2.status().as_u16(), h2.version()),
        (200, reqwest::Version::HTTP_2)
    );
    let h1 = trusting(&pki).http1_only().build().unwrap();
    let answer = h1.get(&document).send().unwrap();
    assert_eq!(
        (answer.status().as_u16(), answer.version()),
        (200, reqwest::Version::HTTP_11)
    );

    // The platform reaches the SMS gateway over HTTPS: a registration code is sent (a
    // failed call to the gateway would be 503 sms_unavailable).
    let (name, id, mobile) = common::demo_person(2);
    let sent = h1
        .post(format!("{base}/api/v1/registrations/online/codes"))
        .json(&json!({"name": name, "id_number": id, "mobile": mobile}))
        .send()
        .unwrap();
    let status = sent.status().as_u16();
    let body: Value = sent.json().unwrap();
    assert_eq!(status, 201, "{body}");

    // A client that does not trust the development CA gets no connection.
    let stranger = Client::builder()
        .use_rustls_tls()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let refused = stranger.get(&document).send().unwrap_err();
    assert!(refused.is_connect() || refused.is_request(), "{refused:?}");

    // Plain HTTP to the TLS port gets no answer either.
    let plain = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .get(document.replace("https://", "http://"))
        .send();
    assert!(
        plain.map_or(true, |r| !r.status().is_success()),
        "plain HTTP must not reach the API on the TLS port"
    );
}

#[test]
fn plain_http_is_served_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("platform.sqlite");
    let out = licence_server(&[
        "--db",
        db.to_str().unwrap(),
        "serve",
        "--listen",
        "0.0.0.0:0",
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("plain HTTP is served on loopback only"),
        "{said}"
    );
    // A certificate without its key is a usage error, before anything listens.
    let out = licence_server(&["--db", db.to_str().unwrap(), "serve", "--tls-cert", "x.pem"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
