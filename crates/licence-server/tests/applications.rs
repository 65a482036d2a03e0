//! Applying for the e-licence (R3) over HTTP: photo on file or uploaded, idempotent
//! submission, the server's own photo check in the background, withdraw and resubmit.

mod common;

use common::*;
use image::{ImageFormat, Rgb};
use licence_photo::testdata;
use serde_json::{json, Value};

/// The same person on a blue background: not allowed.
fn blue_background_photo() -> Vec<u8> {
    let img = testdata::resize(&testdata::astronaut_on(|_, _| Rgb([40, 90, 200])), 2.0);
    testdata::encode(&img, ImageFormat::Jpeg)
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
        expect_error(r, 409, "no_photo_on_file")["next"],
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
    assert_eq!(app["reasons"][0]["text"], "照片不符合要求");
    assert!(
        app["reasons"][0]["note"].as_str().unwrap().contains("背景"),
        "{app}"
    );
    assert_eq!(app["photo_check"]["compliant"], false);
    // The driver is told at once, by SMS and in the app, with what to fix (R3.5).
    let (_, _, mobile) = demo_person(4);
    let sms = p.wait_for_message(&mobile, "未通过审核");
    assert!(
        sms.contains("照片不符合要求") && sms.contains("背景"),
        "{sms}"
    );
    let inbox: Vec<Value> = p.get_as(&token, "/api/v1/me/inbox").json().unwrap();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["title"], "驾驶证电子版审核结果");
    assert!(
        inbox[0]["body"].as_str().unwrap().contains("背景"),
        "{inbox:?}"
    );

    let r = p.post_as(
        &token,
        &format!("/api/v1/applications/{id}/resubmit"),
        json!({"photo_source": "camera", "photo": b64(&good_photo())}),
    );
    assert_eq!(r.json::<Value>().unwrap()["status"], "submitted");
    assert_eq!(checked(&p, &token, &id)["status"], "under_review");
}

#[test]
fn a_rejected_application_is_not_reopened_beside_another_open_one() {
    let p = Platform::start();
    let token = face_signed(&p, 4);
    let submit = |key: &str, photo: &[u8]| {
        let r = p.post_as(
            &token,
            "/api/v1/applications",
            json!({"idempotency_key": key, "photo_source": "album", "photo": b64(photo)}),
        );
        assert_eq!(r.status().as_u16(), 201);
        r.json::<Value>().unwrap()["id"].clone()
    };
    let rejected = submit("a", &blue_background_photo());
    assert_eq!(checked(&p, &token, &rejected)["status"], "rejected");
    // A new application is open now; the rejected one may not be opened beside it.
    let open = submit("b", &good_photo());
    let r = p.post_as(
        &token,
        &format!("/api/v1/applications/{rejected}/resubmit"),
        json!({"photo_source": "camera", "photo": b64(&good_photo())}),
    );
    expect_error(r, 409, "application_open");
    let mine: Vec<Value> = p.get_as(&token, "/api/v1/applications").json().unwrap();
    let open_ones = mine
        .iter()
        .filter(|a| {
            ["submitted", "under_review", "approved"].contains(&a["status"].as_str().unwrap())
        })
        .count();
    assert_eq!(open_ones, 1, "{mine:?}");
    assert!(mine.iter().any(|a| a["id"] == open));
}

#[test]
fn the_photo_on_file_is_the_default_and_is_checked_too() {
    let p = Platform::start();
    let token = face_signed(&p, 6);
    let (_, _, mobile) = demo_person(6);
    with_photo_on_file(&p, 6);
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "first"}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let app: Value = r.json().unwrap();
    assert_eq!(app["photo_source"], "on_file");
    // The photo on file, checked: approved by the system, with no reviewer, and the driver
    // is told at once.
    let done = checked(&p, &token, &app["id"]);
    assert_eq!(done["status"], "approved", "{done}");
    assert_eq!(done["photo_check"]["automatic"]["approved"], true);
    assert_eq!(done["photo_check"]["automatic"]["reason"], "photo_on_file");
    p.wait_for_message(&mobile, "已审核通过");
    // The console's log says the system did it.
    p.add_staff("admin01", "王主任", "admin");
    let admin = sign_in_staff(&p, "admin01", STAFF_PASSWORD).ok().unwrap();
    let log = admin.page("/console/audit");
    assert!(
        log.contains(&format!(
            "application {}: approved automatically",
            app["id"]
        )),
        "{log}"
    );
}

#[test]
fn a_share_of_automatic_approvals_is_drawn_for_a_reviewer() {
    // Every automatic approval drawn: the application waits for a reviewer, saying why.
    let p = Platform::start_with(&["--review-sample-percent", "100"]);
    let token = face_signed(&p, 6);
    with_photo_on_file(&p, 6);
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "s"}),
    );
    let done = checked(&p, &token, &r.json::<Value>().unwrap()["id"]);
    assert_eq!(done["status"], "under_review", "{done}");
    assert_eq!(done["photo_check"]["automatic"]["reason"], "sampled");
    p.add_staff("review01", "李警官", "reviewer");
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let page = reviewer.page(&format!("/console/applications/{}", done["id"]));
    assert!(
        page.contains("自动审批：使用档案照片且检测合格，被随机抽取人工复核"),
        "{page}"
    );
}

#[test]
fn an_uploaded_photo_of_the_person_on_file_is_approved_at_once_and_anothers_waits_with_its_similarity(
) {
    let p = Platform::start();
    let upload = |token: &str| {
        let r = p.post_as(
            token,
            "/api/v1/applications",
            json!({"idempotency_key": "u", "photo_source": "camera", "photo": b64(&good_photo())}),
        );
        checked(&p, token, &r.json::<Value>().unwrap()["id"])
    };
    // The identity platform finds the same person: approved, no reviewer, the driver told.
    let token = face_signed(&p, 6);
    with_photo_on_file(&p, 6);
    let done = upload(&token);
    assert_eq!(done["status"], "approved", "{done}");
    assert_eq!(done["photo_check"]["automatic"]["reason"], "same_person");
    assert_eq!(done["photo_check"]["automatic"]["similarity"], 92);
    p.wait_for_message(&demo_person(6).2, "已审核通过");
    // Another person's photo (the platform says so): held for a reviewer, who sees how alike.
    let token = face_signed(&p, 7);
    with_photo_on_file(&p, 7);
    p.script("identity", "fail", 1);
    let held = upload(&token);
    assert_eq!(held["status"], "under_review", "{held}");
    assert_eq!(
        held["photo_check"]["automatic"]["reason"],
        "not_same_person"
    );
    assert_eq!(held["photo_check"]["automatic"]["similarity"], 31);
    p.add_staff("review01", "李警官", "reviewer");
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let page = reviewer.page(&format!("/console/applications/{}", held["id"]));
    assert!(page.contains("上传照片与档案照片相似度 31"), "{page}");
    // No photo on file to compare with: a person decides.
    let token = face_signed(&p, 1);
    let waiting = upload(&token);
    assert_eq!(waiting["status"], "under_review", "{waiting}");
    assert_eq!(
        waiting["photo_check"]["automatic"]["reason"],
        "no_photo_on_file"
    );
    // The identity platform down (through the client's retries): a person decides.
    let token = face_signed(&p, 8);
    with_photo_on_file(&p, 8);
    p.script("identity", "error", 3);
    let waiting = upload(&token);
    assert_eq!(waiting["status"], "under_review", "{waiting}");
    assert_eq!(
        waiting["photo_check"]["automatic"]["reason"],
        "comparison_unavailable"
    );
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
    // Without a live session nothing else is looked at, not even the body.
    let not_json = json!({"idempotency_key": ""});
    expect_error(
        p.post("/api/v1/applications", not_json.clone()),
        401,
        "not_signed_in",
    );
    expect_error(
        p.post_as("no-such-token", "/api/v1/applications", not_json),
        401,
        "session_expired",
    );
    // Bad input.
    let holder = face_signed(&p, 0);
    let bad = |body: Value, code: &str| {
        expect_error(p.post_as(&holder, "/api/v1/applications", body), 422, code)
    };
    bad(json!({"idempotency_key": ""}), "bad_idempotency_key");
    // Not one of the documented sources: refused as the schema says, naming the field.
    let unknown = bad(
        json!({"idempotency_key": "k", "photo_source": "scanner", "photo": "AA=="}),
        "invalid_field",
    );
    assert!(
        unknown["message_en"]
            .as_str()
            .unwrap()
            .contains("photo_source"),
        "{unknown}"
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

#[test]
fn a_reviewer_approves_or_returns_applications_by_deadline_and_the_driver_is_told() {
    let p = Platform::start();
    p.add_staff("review01", "李警官", "reviewer");
    let apply = |index: usize| {
        let token = face_signed(&p, index);
        let id = under_review(&p, &token);
        (token, id)
    };
    let (first_token, first) = apply(0);
    let (second_token, second) = apply(2);
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let queue = reviewer.page("/console/applications");
    // Nearest deadline first.
    let at = |id: &Value| queue.find(&format!("/console/applications/{id}")).unwrap();
    assert!(at(&first) < at(&second), "{queue}");
    // The team lead's figures above the queue.
    assert!(
        queue.contains("待审核 <strong>2</strong>")
            && queue.contains("今日人工审核 <strong>0</strong>"),
        "{queue}"
    );
    let page = reviewer.page(&format!("/console/applications/{first}"));
    assert!(
        page.contains("申请照片")
            && page.contains("自动检测：符合要求")
            && page.contains("头部长度")
            && page.contains("睁眼程度")
            && page.contains("眼部反光")
            && page.contains("accesskey=a"),
        "{page}"
    );
    let photo = reviewer.get(&format!("/console/applications/{first}/photo"));
    assert_eq!(photo.headers()["cache-control"], "no-store");
    // The server's 260×378 crop is what the reviewer sees.
    let crop = image::load_from_memory(&photo.bytes().unwrap()).unwrap();
    assert_eq!((crop.width(), crop.height()), (260, 378));

    let csrf = reviewer.csrf();
    let path = format!("/console/applications/{first}");
    let r = reviewer.post(&path, &[("csrf", &csrf), ("decision", "approve")]);
    let result = r.text().unwrap();
    assert!(result.contains("审核通过"));
    // The next one waiting is a key away.
    assert!(
        result.contains(&format!(
            "href=\"/console/applications/{second}\" id=next accesskey=n"
        )),
        "{result}"
    );
    let (_, _, mobile) = demo_person(0);
    p.wait_for_message(&mobile, "已审核通过");
    let app: Value = p
        .get_as(&first_token, &format!("/api/v1/applications/{first}"))
        .json()
        .unwrap();
    assert_eq!(app["status"], "approved");
    // Decided once.
    let again = reviewer.post(&path, &[("csrf", &csrf), ("decision", "approve")]);
    assert_eq!(again.status().as_u16(), 409);

    // "Other" needs a note; then returned with it, and the driver reads why.
    let path = format!("/console/applications/{second}");
    let r = reviewer.post(
        &path,
        &[
            ("csrf", &csrf),
            ("decision", "reject"),
            ("reason", "other"),
            ("note", ""),
        ],
    );
    assert_eq!(r.status().as_u16(), 422);
    let r = reviewer.post(
        &path,
        &[
            ("csrf", &csrf),
            ("decision", "reject"),
            ("reason", "photo_not_the_person"),
            ("note", "与档案照片差异较大"),
        ],
    );
    let result = r.text().unwrap();
    assert!(
        result.contains("审核未通过") && result.contains("待审核列表已全部处理完"),
        "{result}"
    );
    let queue = reviewer.page("/console/applications");
    assert!(
        queue.contains("待审核 <strong>0</strong>")
            && queue.contains("今日人工审核 <strong>2</strong>"),
        "{queue}"
    );
    let app: Value = p
        .get_as(&second_token, &format!("/api/v1/applications/{second}"))
        .json()
        .unwrap();
    assert_eq!(app["reasons"][0]["code"], "photo_not_the_person");
    assert_eq!(app["reasons"][0]["text"], "照片与本人不符");
    let (_, _, mobile) = demo_person(2);
    let told = p.wait_for_message(&mobile, "未通过审核");
    assert!(
        told.contains("照片与本人不符") && told.contains("与档案照片差异较大"),
        "{told}"
    );
    assert!(reviewer
        .page("/console/applications")
        .contains("没有待审核的申请"));
}

#[test]
fn after_three_rejected_reviews_the_driver_is_sent_to_a_counter() {
    let p = Platform::start();
    p.add_staff("review01", "李警官", "reviewer");
    let token = face_signed(&p, 0);
    let id = under_review(&p, &token);
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let csrf = reviewer.csrf();
    let resubmit = || {
        p.post_as(
            &token,
            &format!("/api/v1/applications/{id}/resubmit"),
            json!({"photo_source": "camera", "photo": b64(&good_photo())}),
        )
    };
    for round in 1..=3 {
        if round > 1 {
            assert_eq!(resubmit().status().as_u16(), 200);
            assert_eq!(checked(&p, &token, &id)["status"], "under_review");
        }
        let r = reviewer.post(
            &format!("/console/applications/{id}"),
            &[
                ("csrf", &csrf),
                ("decision", "reject"),
                ("reason", "photo_not_the_person"),
            ],
        );
        assert!(r.text().unwrap().contains("审核未通过"), "round {round}");
    }
    // A fourth try, by resubmitting or by a new application, is refused with where to go.
    let refused = expect_error(resubmit(), 409, "apply_at_counter");
    assert_eq!(refused["next"], "visit_counter");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("3次审核未通过")
            && refused["message"].as_str().unwrap().contains("车管所窗口"),
        "{refused}"
    );
    assert!(
        refused["message_en"].as_str().unwrap().contains("counter"),
        "{refused}"
    );
    expect_error(
        p.post_as(
            &token,
            "/api/v1/applications",
            json!({"idempotency_key": "fourth", "photo_source": "on_file"}),
        ),
        409,
        "apply_at_counter",
    );
    // The account says so before the driver tries: the app offers no fourth application.
    let me: Value = p.get_as(&token, "/api/v1/me").json().unwrap();
    let function = me["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "electronic_licence")
        .unwrap();
    assert_eq!(function["allowed"], false, "{me}");
    assert_eq!(function["denial"]["code"], "apply_at_counter");
    assert_eq!(function["denial"]["next"], "visit_counter");
    // Nothing changed: the application is still the rejected one.
    let app: Value = p
        .get_as(&token, &format!("/api/v1/applications/{id}"))
        .json()
        .unwrap();
    assert_eq!(app["status"], "rejected");
    let all: Vec<Value> = p.get_as(&token, "/api/v1/applications").json().unwrap();
    assert_eq!(all.len(), 1);
}

#[test]
fn an_album_photo_taken_more_than_six_months_ago_is_rejected_with_why() {
    let p = Platform::start();
    let token = face_signed(&p, 3);
    // A good photo whose EXIF says it was taken two years ago.
    let old = testdata::jpeg_with_exif(&testdata::portrait(2.0).0, 1, Some("2024:06:01 09:00:00"));
    let r = p.post_as(
        &token,
        "/api/v1/applications",
        json!({"idempotency_key": "old", "photo_source": "album", "photo": b64(&old)}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let id = r.json::<Value>().unwrap()["id"].clone();
    let app = checked(&p, &token, &id);
    assert_eq!(app["status"], "rejected", "{app}");
    assert_eq!(
        app["photo_check"]["problems"][0]["code"],
        "older_than_6_months"
    );
    assert!(
        app["reasons"][0]["note"]
            .as_str()
            .unwrap()
            .contains("6个月"),
        "{app}"
    );
}
