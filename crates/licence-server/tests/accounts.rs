//! Sign-in, sessions, devices, malformed requests and the OpenAPI document, over HTTP.

mod common;

use base64::Engine;
use common::*;
use serde_json::{json, Value};

#[test]
fn sign_in_by_password_or_code_and_sign_out() {
    let p = Platform::start();
    let first_token = face_signed(&p, 0);
    let (_, id, mobile) = demo_person(0);

    // By ID number or by mobile number.
    for login in [&id, &mobile] {
        let r = p.post(
            "/api/v1/sessions",
            json!({"login": login, "password": PASSWORD}),
        );
        assert_eq!(r.status().as_u16(), 201);
        let body: Value = r.json().unwrap();
        assert_eq!(body["account"]["name"], demo_person(0).0);
    }
    // A wrong password and an unknown account look the same.
    let wrong = p.post(
        "/api/v1/sessions",
        json!({"login": id, "password": "Wrong2026x"}),
    );
    assert_eq!(
        expect_error(wrong, 401, "wrong_credentials")["attempts_left"],
        4
    );
    let (_, stranger, _) = demo_person(5);
    expect_error(
        p.post(
            "/api/v1/sessions",
            json!({"login": stranger, "password": PASSWORD}),
        ),
        401,
        "wrong_credentials",
    );
    expect_error(
        p.post(
            "/api/v1/sessions",
            json!({"login": "zhangwei", "password": PASSWORD}),
        ),
        422,
        "invalid_login",
    );

    // By SMS code.
    let sent: Value = p
        .post("/api/v1/sessions/codes", json!({"mobile": mobile}))
        .json()
        .unwrap();
    let code = p.last_code(&mobile);
    let r = p.post(
        "/api/v1/sessions/sms",
        json!({"challenge_id": sent["challenge_id"], "code": code}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let sms_token = r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A number no account uses is answered alike (tests/abuse.rs has the whole pair), and
    // its code never signs anyone in.
    let unknown = p.post("/api/v1/sessions/codes", json!({"mobile": "13312345678"}));
    assert_eq!(unknown.status().as_u16(), 201);
    let unknown: Value = unknown.json().unwrap();
    assert_eq!(unknown["mobile_masked"], "133****5678");
    expect_error(
        p.post(
            "/api/v1/sessions/sms",
            json!({"challenge_id": unknown["challenge_id"], "code": "000000"}),
        ),
        401,
        "wrong_code",
    );

    // Signing out ends that session only.
    let out = p
        .http
        .delete(format!("{}/api/v1/sessions/current", p.base))
        .bearer_auth(&sms_token)
        .send()
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    expect_error(p.get_as(&sms_token, "/api/v1/me"), 401, "session_expired");
    assert_eq!(p.get_as(&first_token, "/api/v1/me").status().as_u16(), 200);
    expect_error(
        p.get_as("made-up-token", "/api/v1/me"),
        401,
        "session_expired",
    );
    let anonymous = p.http.get(format!("{}/api/v1/me", p.base)).send().unwrap();
    expect_error(anonymous, 401, "not_signed_in");
}

#[test]
fn repeated_wrong_passwords_lock_sign_in_for_a_while() {
    let p = Platform::start();
    face_signed(&p, 0);
    let (_, id, _) = demo_person(0);
    for left in (0..5).rev() {
        let r = p.post(
            "/api/v1/sessions",
            json!({"login": id, "password": "Wrong2026x"}),
        );
        assert_eq!(
            expect_error(r, 401, "wrong_credentials")["attempts_left"],
            left
        );
    }
    // Now even the right password waits, and the answer offers the SMS code instead.
    let r = p.post(
        "/api/v1/sessions",
        json!({"login": id, "password": PASSWORD}),
    );
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        expect_error(r, 429, "too_many_sign_in_failures")["next"],
        "sign_in_sms"
    );
}

#[test]
fn a_right_password_does_not_forgive_the_wrong_ones_before_it() {
    let p = Platform::start();
    face_signed(&p, 0);
    let (_, id, _) = demo_person(0);
    let wrong = || {
        p.post(
            "/api/v1/sessions",
            json!({"login": id, "password": "Wrong2026x"}),
        )
    };
    let right = || {
        p.post(
            "/api/v1/sessions",
            json!({"login": id, "password": PASSWORD}),
        )
    };
    for left in [4, 3, 2] {
        assert_eq!(
            expect_error(wrong(), 401, "wrong_credentials")["attempts_left"],
            left
        );
    }
    // The owner signs in: that attempt is no failure, and the three before it still count.
    assert_eq!(right().status().as_u16(), 201);
    assert_eq!(right().status().as_u16(), 201);
    assert_eq!(
        expect_error(wrong(), 401, "wrong_credentials")["attempts_left"],
        1
    );
    assert_eq!(
        expect_error(wrong(), 401, "wrong_credentials")["attempts_left"],
        0
    );
    expect_error(right(), 429, "too_many_sign_in_failures");
}

#[test]
fn wrong_passwords_released_together_by_id_and_by_mobile_are_checked_five_times_at_most() {
    let p = Platform::start();
    face_signed(&p, 0);
    let (_, id, mobile) = demo_person(0);
    // 40 wrong passwords, half by ID number and half by mobile number, released together.
    let guesses: Vec<Value> = (0..40)
        .map(|i| {
            let login = if i % 2 == 0 { &id } else { &mobile };
            json!({"login": login, "password": format!("Wrong2026x{i}")})
        })
        .collect();
    let answers = released_together(&p, "/api/v1/sessions", &guesses);
    let checked = answers.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= 5,
        "{checked} passwords were checked: {answers:?}"
    );
    assert_eq!(answers.iter().filter(|s| **s == 429).count(), 40 - checked);
    // The account is locked now, by either name, even for the right password: a right one
    // inside a burst over the limit is refused like the rest.
    for login in [&id, &mobile] {
        let r = p.post(
            "/api/v1/sessions",
            json!({"login": login, "password": PASSWORD}),
        );
        expect_error(r, 429, "too_many_sign_in_failures");
    }
}

#[test]
fn a_device_key_is_registered_once_and_must_be_a_p256_key() {
    let p = Platform::start();
    let token = face_signed(&p, 0);
    let device = licence_credential::DeviceKey::generate(&mut rand_core::OsRng);
    let key = base64::engine::general_purpose::STANDARD.encode(device.public_key());
    let add = |key: &str, name: &str| {
        p.post_as(
            &token,
            "/api/v1/me/devices",
            json!({"public_key": key, "name": name}),
        )
    };
    let r = add(&key, "张伟的手机");
    assert_eq!(r.status().as_u16(), 201);
    let added: Value = r.json().unwrap();
    assert_eq!(added["public_key"], key);
    expect_error(add(&key, "again"), 409, "device_already_registered");
    expect_error(add("AAAA", "phone"), 422, "bad_device_key");
    expect_error(add("not base64", "phone"), 422, "bad_device_key");
    let other = licence_credential::DeviceKey::generate(&mut rand_core::OsRng);
    let other_key = base64::engine::general_purpose::STANDARD.encode(other.public_key());
    expect_error(add(&other_key, ""), 422, "bad_device_name");
    let list: Vec<Value> = p.get_as(&token, "/api/v1/me/devices").json().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "张伟的手机");
}

#[test]
fn malformed_requests_get_a_4xx_that_says_what_is_wrong() {
    let p = Platform::start();
    let url = format!("{}/api/v1/sessions", p.base);
    let raw = |body: &str, content_type: &str| {
        p.http
            .post(&url)
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    expect_error(
        raw("{\"login\": ", "application/json"),
        400,
        "malformed_json",
    );
    expect_error(
        raw("{\"login\": 5, \"password\": \"x\"}", "application/json"),
        422,
        "invalid_field",
    );
    let unknown = expect_error(
        raw(
            r#"{"login": "13800138000", "password": "x", "admin": true}"#,
            "application/json",
        ),
        422,
        "invalid_field",
    );
    assert!(
        unknown["message_en"].as_str().unwrap().contains("admin"),
        "{unknown}"
    );
    expect_error(
        raw(r#"{"login": "13800138000"}"#, "application/json"),
        422,
        "invalid_field",
    );
    expect_error(
        raw(r#"{"login": "x", "password": "y"}"#, "text/plain"),
        415,
        "json_required",
    );
    let nowhere = p
        .http
        .get(format!("{}/api/v1/nowhere", p.base))
        .send()
        .unwrap();
    expect_error(nowhere, 404, "not_found");
    let wrong_method = p.http.get(&url).send().unwrap();
    expect_error(wrong_method, 405, "method_not_allowed");
    // A body larger than any the platform takes is refused by its declared length, before a
    // byte of it is read (a client that goes on sending meets a closed connection).
    use std::io::{Read, Write};
    let address = p.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"login\": \"",
        9 << 20
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"body_too_large\""), "{answer}");
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[test]
fn the_openapi_document_lists_every_endpoint() {
    let p = Platform::start();
    let doc: Value = p
        .http
        .get(format!("{}/api/v1/openapi.json", p.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // Every operation the app calls (licence-api names each once) is in the document.
    for (method, path) in licence_api::endpoint::ALL {
        let method = method.to_string().to_lowercase();
        assert!(
            paths.get(*path).and_then(|p| p.get(&method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    for path in ["/api/v1/trust-list", "/api/v1/status-list"] {
        assert!(paths[path]["get"].is_object(), "{path} missing");
    }
    // operationIds are unique, and every operation documents the answers it can give.
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let answers = op["responses"].as_object().unwrap();
            for status in ["429", "503"] {
                assert!(answers.contains_key(status), "{method} {path}: no {status}");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(answers.contains_key(status), "{method} {path}: no {status}");
                }
            }
            if op.get("security").is_some() {
                assert!(answers.contains_key("401"), "{method} {path}: no 401");
            }
        }
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // Response fields that carry an enum's name list the enum's names (strum's, not a copy).
    let schemas = &doc["components"]["schemas"];
    let names = |schema: &str, field: &str| schemas[schema]["properties"][field]["enum"].clone();
    use strum::VariantNames;
    assert_eq!(
        names("ApplicationView", "status"),
        json!(licence_core::ApplicationStatus::VARIANTS)
    );
    assert_eq!(
        names("ApplicationView", "status"),
        json!([
            "draft",
            "submitted",
            "under_review",
            "approved",
            "rejected",
            "issued",
            "withdrawn"
        ])
    );
    assert_eq!(
        names("ApplicationView", "photo_source"),
        json!(["on_file", "album", "camera"])
    );
    assert_eq!(
        names("IdCardReviewView", "state"),
        json!(["pending", "approved", "rejected"])
    );
    assert_eq!(
        names("CheckResult", "verdict"),
        json!(licence_core::verdict::VerdictCode::VARIANTS)
    );
}

#[test]
fn a_field_of_the_wrong_type_is_refused_without_repeating_it() {
    let p = Platform::start();
    let r = p.post(
        "/api/v1/sessions",
        json!({"login": 13_800_138_000_u64, "password": "Licence2026"}),
    );
    let body = expect_error(r, 422, "invalid_field");
    let text = body.to_string();
    assert!(!text.contains("13800138000"), "{text}");
    assert!(text.contains("login"), "it still names the field: {text}");
}
