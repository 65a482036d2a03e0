//! Applying for the e-licence (R3) over HTTP: photo on file or uploaded, idempotent
//! submission, the server's own photo check in the background, withdraw and resubmit.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use image::{ImageFormat, Rgb};
use licence_photo::testdata;
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A photo that meets the spec, as a phone would send it.
fn good_photo() -> Vec<u8> {
    testdata::encode(&testdata::portrait(2.0).0, ImageFormat::Jpeg)
}

/// The same person on a blue background: not allowed.
fn blue_background_photo() -> Vec<u8> {
    let img = testdata::resize(&testdata::astronaut_on(|_, _| Rgb([40, 90, 200])), 2.0);
    testdata::encode(&img, ImageFormat::Jpeg)
}

/// Polls the application until its status is not `submitted` (the background check ran).
fn checked(p: &Platform, token: &str, id: &Value) -> Value {
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

#[test]
fn an_uploaded_photo_is_rechecked_and_the_application_goes_to_review() {
    let p = Platform::start();
    let token = face_signed(&p, 0);
    // No photo on file for this person: the app is told to upload one.
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "k1"}),
    );
    assert_eq!(
        expect_error(r, 422, "no_photo_on_file")["next"],
        "upload_photo"
    );

    let body =
        json!({"idempotency_key": "k2", "photo_source": "camera", "photo": b64(&good_photo())});
    let r = p.post_as(&token, "/api/v1/applications", body.clone());
    assert_eq!(r.status().as_u16(), 201);
    let app: Value = r.json().unwrap();
    assert_eq!(
        (app["status"].as_str(), app["status_name"].as_str()),
        (Some("submitted"), Some("已提交"))
    );
    // Reviewed within one working day: at least a day after submission, at most a long weekend.
    let (at, due) = (
        app["submitted_at"].as_i64().unwrap(),
        app["due_at"].as_i64().unwrap(),
    );
    assert!(due - at >= 86_400 && due - at <= 12 * 86_400, "{app}");

    // A retry of the same submission is the same application, not a second one.
    let retry = p.post_as(&token, "/api/v1/applications", body);
    assert_eq!(retry.status().as_u16(), 200);
    assert_eq!(retry.json::<Value>().unwrap()["id"], app["id"]);
    // A different one while this is open is refused.
    let other = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "k3", "photo_source": "album", "photo": b64(&good_photo())}),
    );
    expect_error(other, 409, "application_open");

    let app = checked(&p, &token, &app["id"]);
    assert_eq!(app["status"], "under_review", "{app}");
    assert_eq!(app["photo_check"]["compliant"], true);
    let mine: Vec<Value> = p.get_as(&token, "/api/v1/applications").json().unwrap();
    assert_eq!(mine.len(), 1);

    // Withdrawn once; a second time is not a legal move.
    let path = format!("/api/v1/applications/{}/withdraw", app["id"]);
    let r = p.post_as(&token, &path, json!({}));
    assert_eq!(r.json::<Value>().unwrap()["status"], "withdrawn");
    expect_error(
        p.post_as(&token, &path, json!({})),
        409,
        "application_illegal_transition",
    );
}

#[test]
fn a_photo_that_fails_the_check_is_rejected_with_the_problems_and_can_be_resubmitted() {
    let p = Platform::start();
    let token = face_signed(&p, 4);
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "a", "photo_source": "album", "photo": b64(&blue_background_photo())}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let id = r.json::<Value>().unwrap()["id"].clone();
    let app = checked(&p, &token, &id);
    assert_eq!(app["status"], "rejected", "{app}");
    assert_eq!(app["reasons"][0]["code"], "photo_not_compliant");
    assert!(
        app["reasons"][0]["note"].as_str().unwrap().contains("背景"),
        "{app}"
    );
    assert_eq!(app["photo_check"]["compliant"], false);

    let r = p.post_as(
        &token,
        &format!("/api/v1/applications/{id}/resubmit"),
        json!({"photo_source": "camera", "photo": b64(&good_photo())}),
    );
    assert_eq!(r.json::<Value>().unwrap()["status"], "submitted");
    assert_eq!(checked(&p, &token, &id)["status"], "under_review");
}

#[test]
fn the_photo_on_file_is_the_default_and_is_checked_too() {
    let p = Platform::start();
    let token = face_signed(&p, 6);
    let (name, id, mobile) = demo_person(6);
    let rows = format!(
        "{id},{name},{mobile},中国,成都市武侯区,2015-10-10,C1,2021-10-10至2031-10-10,2,A,成都市公安局交通管理局,510107105000,on-file.jpg\n"
    );
    p.import(&rows, &[("on-file.jpg", &good_photo())]);
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "first"}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let app: Value = r.json().unwrap();
    assert_eq!(app["photo_source"], "on_file");
    assert_eq!(checked(&p, &token, &app["id"])["status"], "under_review");
}

#[test]
fn only_face_signed_licence_holders_apply_for_their_own() {
    let p = Platform::start();
    // Online-registered: told how to upgrade.
    let (name, id, mobile) = demo_person(8);
    let sent: Value = p
        .post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
        .json()
        .unwrap();
    let online: Value = p
        .post(
            "/api/v1/registrations/online",
            json!({"challenge_id": sent["challenge_id"], "code": p.last_code(&mobile), "password": PASSWORD}),
        )
        .json()
        .unwrap();
    let online = online["token"].as_str().unwrap();
    let r = p.post_as(
        online,
        "/api/v1/applications",
        json!({"idempotency_key": "x"}),
    );
    assert_eq!(expect_error(r, 403, "needs_face_sign")["next"], "face_sign");
    // Face-signed without a licence: nothing to issue.
    let no_licence = face_signed(&p, 11);
    let r = p.post_as(
        &no_licence,
        "/api/v1/applications",
        json!({"idempotency_key": "x"}),
    );
    expect_error(r, 422, "no_licence");
    // Bad input.
    let holder = face_signed(&p, 0);
    let bad = |body: Value, code: &str| {
        expect_error(p.post_as(&holder, "/api/v1/applications", body), 422, code)
    };
    bad(json!({"idempotency_key": ""}), "bad_idempotency_key");
    bad(
        json!({"idempotency_key": "k", "photo_source": "scanner", "photo": "AA=="}),
        "bad_photo_source",
    );
    bad(
        json!({"idempotency_key": "k", "photo_source": "album"}),
        "bad_photo",
    );
    bad(
        json!({"idempotency_key": "k", "photo_source": "album", "photo": b64(b"GIF89a....")}),
        "bad_photo",
    );
    // Someone else's application does not exist for you.
    expect_error(
        p.get_as(&holder, "/api/v1/applications/999"),
        404,
        "application_not_found",
    );
}
