//! Admission control over real HTTP (错峰申请, R5.1): beyond a limit the platform answers at
//! once with 429 or 503 and `Retry-After`, and other clients go on being served.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn an_account_that_asks_too_fast_is_told_when_to_come_back_and_others_are_not_held_up() {
    let p = Platform::start_with(&["--account-rate", "0.5", "--account-burst", "3"]);
    let token = face_signed(&p, 0);
    for _ in 0..3 {
        assert_eq!(p.get_as(&token, "/api/v1/me").status().as_u16(), 200);
    }
    let r = p.get_as(&token, "/api/v1/me");
    // One token comes back every two seconds.
    assert_eq!(r.headers()["retry-after"], "2");
    let body = expect_error(r, 429, "rate_limited");
    assert!(
        body["message"].as_str().unwrap().contains("2 秒后再试"),
        "{body}"
    );
    // Refused means nothing was done: the application was not taken.
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "k", "photo_source": "camera", "photo": b64(&good_photo())}),
    );
    expect_error(r, 429, "rate_limited");
    // The limit comes before the body: a malformed submission is refused by it too.
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": ""}),
    );
    expect_error(r, 429, "rate_limited");
    // Another driver is served as usual.
    let other = face_signed(&p, 1);
    assert_eq!(p.get_as(&other, "/api/v1/me").status().as_u16(), 200);
    // And the first, after the pause.
    std::thread::sleep(Duration::from_secs(2));
    let r = p.get_as(&token, "/api/v1/applications");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<serde_json::Value>().unwrap(), json!([]));
}

#[test]
fn an_address_that_asks_too_fast_gets_429_on_the_api_and_the_console_has_its_own_limit() {
    let p = Platform::start_with(&["--address-rate", "0.2", "--address-burst", "4"]);
    let get = |path: &str| p.http.get(format!("{}{path}", p.base)).send().unwrap();
    for _ in 0..4 {
        assert_eq!(get("/api/v1/trust-list").status().as_u16(), 200);
    }
    let started = Instant::now();
    let r = get("/api/v1/status-list");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once"
    );
    assert_eq!(r.headers()["retry-after"], "5");
    expect_error(r, 429, "rate_limited");
    // Counter staff behind one office address are not counted against the API...
    for _ in 0..4 {
        assert_eq!(get("/console/sign-in").status().as_u16(), 200);
    }
    // ...but the console has a limit of its own.
    expect_error(get("/console/sign-in"), 429, "rate_limited");
}

#[test]
fn when_every_slot_for_outside_services_is_taken_the_next_is_503_and_local_work_goes_on() {
    let p = Platform::start_with(&[
        "--max-outside-in-flight",
        "1",
        "--max-in-flight",
        "4",
        "--log-format",
        "json",
    ]);
    let body = face_sign_body(&p, 0);
    // The identity platform hangs: this registration holds the one outside slot for the
    // provider timeout (1 s in tests).
    p.script("identity", "timeout", 1);
    let codes = |person: usize| {
        let (name, id, mobile) = demo_person(person);
        json!({"name": name, "id_number": id, "mobile": mobile})
    };
    let (mut refused_at, mut refused_id) = (Instant::now(), String::new());
    std::thread::scope(|s| {
        let slow = s.spawn(|| p.post("/api/v1/registrations/face-sign", body.clone()));
        std::thread::sleep(Duration::from_millis(300));
        // One request may wait for the slot (up to a second)...
        let queued = s.spawn(|| p.post("/api/v1/registrations/online/codes", codes(3)));
        std::thread::sleep(Duration::from_millis(200));
        // ...the next finds the slot taken and the queue full: refused at once.
        let started = Instant::now();
        let r = p.post("/api/v1/registrations/online/codes", codes(2));
        refused_at = Instant::now();
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "refused at once"
        );
        refused_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(r.headers()["retry-after"], "1");
        let refused = expect_error(r, 503, "busy");
        assert!(
            refused["message"].as_str().unwrap().contains("错峰"),
            "{refused}"
        );
        // Work that needs no outside service is not held up by the slow provider.
        let r = p
            .http
            .get(format!("{}/api/v1/trust-list", p.base))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        expect_error(slow.join().unwrap(), 503, "identity_unavailable");
        // The waiting one got the slot when the slow call gave up (201), or gave up itself
        // after its second (503 busy), whichever came first on this machine.
        let queued = queued.join().unwrap();
        match queued.status().as_u16() {
            201 => {}
            _ => {
                expect_error(queued, 503, "busy");
            }
        }
    });
    // The slot is free again. (Once the refusal's second is over: this request closes it,
    // and the log reports it.)
    if let Some(rest) = Duration::from_millis(1100).checked_sub(refused_at.elapsed()) {
        std::thread::sleep(rest);
    }
    let (name, id, mobile) = demo_person(2);
    let r = p.post(
        "/api/v1/registrations/online/codes",
        json!({"name": name, "id_number": id, "mobile": mobile}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let log = p.log_once_it_has(&id);
    let lines = Platform::json_lines(&log);
    // The refusal came before its body was read or a slot was waited for: no stages.
    let refusal = lines
        .iter()
        .find(|l| l["request_id"] == refused_id.as_str())
        .unwrap_or_else(|| panic!("no line for the refusal: {log}"));
    assert_eq!(refusal["admission"], "busy_outside", "{refusal}");
    for stage in ["body_ms", "wait_ms", "work_ms"] {
        assert!(refusal.get(stage).is_none(), "{refusal}");
    }
    // The second of the refusal is reported for the pool, with the wait it gave.
    let surge = lines
        .iter()
        .find(|l| l["target"] == "admission" && l["pool"] == "outside")
        .unwrap_or_else(|| panic!("no admission line: {log}"));
    assert!(surge["refused"].as_u64().unwrap() >= 1, "{surge}");
    assert!(surge["retry_after_s"].as_u64().unwrap() >= 1, "{surge}");
    assert!(surge["seconds"].as_f64().unwrap() >= 1.0, "{surge}");
    // The API's own pool refused nothing, and so says nothing.
    assert!(
        !lines
            .iter()
            .any(|l| l["target"] == "admission" && l["pool"] == "api"),
        "{log}"
    );
}

#[test]
fn an_app_waiting_on_its_inbox_holds_no_work_slot() {
    let p = Platform::start_with(&["--max-in-flight", "1"]);
    let token = face_signed(&p, 0);
    std::thread::scope(|s| {
        let waiting = s.spawn(|| p.get_as(&token, "/api/v1/me/inbox?after=0&wait=3"));
        std::thread::sleep(Duration::from_millis(300));
        // The one slot is free for real work while the long-poll waits.
        assert_eq!(p.get_as(&token, "/api/v1/me").status().as_u16(), 200);
        let r = waiting.join().unwrap();
        assert_eq!(r.status().as_u16(), 200);
    });
}

/// Sends `head` and `body` on `stream` and reads the answer's head (status line and headers,
/// lower-cased).
fn exchange_head(stream: &mut std::net::TcpStream, head: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the answer ended early");
        answer.push(byte[0]);
    }
    String::from_utf8(answer).unwrap().to_lowercase()
}

/// [`exchange_head`], then reads the answer's body (by its `Content-Length`) so that the
/// connection is ready for the next request.
fn exchange(stream: &mut std::net::TcpStream, head: &str, body: &[u8]) -> String {
    use std::io::Read;
    let answer = exchange_head(stream, head, body);
    let length: usize = answer
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut skipped = vec![0u8; length];
    stream.read_exact(&mut skipped).unwrap();
    answer
}

/// Reads the rest of an answer until the server closes `stream`: it must (the read times out
/// otherwise).
fn expect_closed(stream: &mut std::net::TcpStream) {
    use std::io::Read;
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

fn upload_head(address: &str, length: usize, extra: &str) -> String {
    format!(
        "POST /api/v1/applications HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n{extra}\r\n"
    )
}

#[test]
fn an_upload_refused_before_its_body_is_read_closes_the_connection_so_the_next_request_is_not_lost()
{
    let p = Platform::start();
    let address = p.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A request whose body is read keeps its connection for the next one.
    let body = br#"{"login":"13800000000","password":"wrong-password"}"#;
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let answer = exchange(&mut stream, &head, body);
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
    // An upload larger than any the platform takes: refused before the body is read, and
    // too large to read for the connection's sake, so the answer says the connection ends...
    let answer = exchange_head(
        &mut stream,
        &upload_head(&address, 9_000_000, ""),
        &[b' '; 4096],
    );
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // ...and it does.
    expect_closed(&mut stream);

    // A pooling client (as the app's is) loses nothing after such refusals.
    let token = face_signed(&p, 0);
    for _ in 0..20 {
        let r = p.post("/api/v1/applications", json!({"photo": b64(&good_photo())}));
        expect_error(r, 401, "not_signed_in");
        assert_eq!(p.get_as(&token, "/api/v1/me").status().as_u16(), 200);
    }
}

#[test]
fn a_photo_refused_before_it_is_read_keeps_its_connection_unless_it_does_not_come() {
    // A burst of two requests from one address, then one every five seconds.
    let p = Platform::start_with(&["--address-rate", "0.2", "--address-burst", "2"]);
    let address = p.base.trim_start_matches("http://").to_owned();
    let connect = || {
        let stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
    };
    let photo = vec![b' '; 30_000];
    let mut stream = connect();
    for _ in 0..2 {
        let answer = exchange(&mut stream, &upload_head(&address, photo.len(), ""), &photo);
        assert!(answer.starts_with("http/1.1 401"), "{answer}");
    }
    // Refused by the address limit before its body is read: the body is read after all, so
    // that the connection stays open for the retry...
    let answer = exchange(&mut stream, &upload_head(&address, photo.len(), ""), &photo);
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("retry-after: 5"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
    // ...and the next request on it is answered.
    let answer = exchange(&mut stream, &upload_head(&address, photo.len(), ""), &photo);
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");

    // A client waiting for "100 Continue" has not sent its body: nothing to read, and the
    // connection ends (what it would send next is not known).
    let mut stream = connect();
    let answer = exchange_head(
        &mut stream,
        &upload_head(&address, photo.len(), "Expect: 100-continue\r\n"),
        b"",
    );
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    expect_closed(&mut stream);

    // Larger than a photo's upload: not worth reading to keep the connection.
    let mut stream = connect();
    let large = connection_drain_limit() + 1;
    let answer = exchange_head(&mut stream, &upload_head(&address, large, ""), &photo);
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    expect_closed(&mut stream);

    // A body that stops halfway is waited for a few seconds, then the connection ends.
    let mut stream = connect();
    let started = Instant::now();
    let answer = exchange_head(
        &mut stream,
        &upload_head(&address, photo.len(), ""),
        &photo[..1000],
    );
    assert!(answer.starts_with("http/1.1 429"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    expect_closed(&mut stream);
}

/// The largest unread body the platform reads to keep a connection (connection::DRAIN_AT_MOST).
fn connection_drain_limit() -> usize {
    licence_server::connection::DRAIN_AT_MOST as usize
}

/// One request on a new connection from the test (a trusted balancer here) that first sends
/// `proxy` (a PROXY header naming a client, or nothing): the answer's status, or `None` when
/// the connection was closed without one.
fn via_balancer(p: &Platform, proxy: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let address = p.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let request = format!(
        "{proxy}GET /api/v1/trust-list HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    // The server may close a connection it refuses before all of this is written.
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

#[test]
fn behind_a_trusted_balancer_the_address_limit_counts_the_client_it_names() {
    let p = Platform::start_with(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--address-rate",
        "0.2",
        "--address-burst",
        "2",
    ]);
    let client = |ip: &str| format!("PROXY TCP4 {ip} 127.0.0.1 40000 443\r\n");
    // Two requests a client may make at once; the third waits.
    assert_eq!(via_balancer(&p, &client("198.51.100.1")), Some(200));
    assert_eq!(via_balancer(&p, &client("198.51.100.1")), Some(200));
    assert_eq!(via_balancer(&p, &client("198.51.100.1")), Some(429));
    // Another client behind the same balancer is not held up by the first.
    assert_eq!(via_balancer(&p, &client("198.51.100.2")), Some(200));
    // The balancer's own health checks (v1 UNKNOWN) count against the balancer.
    assert_eq!(via_balancer(&p, "PROXY UNKNOWN\r\n"), Some(200));
    // A connection from the balancer's address without the header is closed unanswered,
    // so no client can pass as the balancer.
    assert_eq!(via_balancer(&p, ""), None);
    // (The log is written by a thread of its own, a moment later.)
    let deadline = Instant::now() + Duration::from_secs(5);
    while !p.log().contains("bad PROXY header") {
        assert!(Instant::now() < deadline, "{}", p.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_instance_whose_store_answers_is_healthy() {
    let p = Platform::start();
    let r = p
        .http
        .get(format!("{}/api/v1/health", p.base))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap(),
        json!({"status": "ok"})
    );
}
