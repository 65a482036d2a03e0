//! Every registration path over HTTP against the real server and the sandbox (R2.1–R2.4),
//! happy and unhappy.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn face_sign_registration_makes_a_face_signed_user_who_sees_their_licence() {
    let p = Platform::start();
    let (name, id, mobile) = demo_person(0);
    let mut request = face_sign_body(&p, 0);
    request["frames"] = json!([frame(), frame()]);
    // The code proves the number: a wrong one is refused and counted.
    let mut wrong = request.clone();
    wrong["code"] = json!(if request["code"] == "000000" {
        "111111"
    } else {
        "000000"
    });
    let e = expect_error(
        p.post("/api/v1/registrations/face-sign", wrong),
        401,
        "wrong_code",
    );
    assert_eq!(e["attempts_left"], 4);
    let r = p.post("/api/v1/registrations/face-sign", request.clone());
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().unwrap();
    let token = body["token"].as_str().unwrap();
    let account = &body["account"];
    assert_eq!(
        account["kind"],
        json!({"kind": "face_signed", "via": "online_liveness"})
    );
    assert_eq!(account["kind_name"], "面签用户");
    // Personal data is masked on the way out.
    let masked = account["id_number_masked"].as_str().unwrap();
    assert!(masked.starts_with(&id[..1]) && masked.contains('*') && !masked.contains(&id[6..14]));
    assert_eq!(
        account["mobile_masked"],
        format!("{}****{}", &mobile[..3], &mobile[7..])
    );

    let me: Value = p.get_as(token, "/api/v1/me").json().unwrap();
    let licence_fn = me["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "electronic_licence")
        .unwrap();
    assert_eq!(licence_fn["allowed"], true);

    let licence = p.get_as(token, "/api/v1/me/licence");
    assert_eq!(licence.status().as_u16(), 200);
    let licence: Value = licence.json().unwrap();
    assert_eq!(licence["name"], name);
    assert_eq!(licence["classes"], "C1");

    // The code was used up.
    let again = p.post("/api/v1/registrations/face-sign", request);
    expect_error(again, 410, "code_used");
    // Registered once only. A code is sent whether or not the person has an account (the
    // answer must not tell anyone who has one); that they have one is said only once the
    // face check has proved who is asking.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = p.post("/api/v1/registrations/face-sign", face_sign_body(&p, 0));
    assert_eq!(
        expect_error(again, 409, "already_registered")["next"],
        "sign_in"
    );
}

#[test]
fn repeated_face_failures_send_the_person_to_online_registration() {
    let p = Platform::start();
    let (name, id, mobile) = demo_person(2);
    // One code serves every attempt: it is used up only by a successful registration.
    let body = face_sign_body(&p, 2);
    let attempt = || p.post("/api/v1/registrations/face-sign", body.clone());
    p.script("identity", "fail", 3);
    assert_eq!(
        expect_error(attempt(), 422, "face_not_matched")["attempts_left"],
        2
    );
    assert_eq!(
        expect_error(attempt(), 422, "face_not_matched")["attempts_left"],
        1
    );
    let third = expect_error(attempt(), 409, "face_attempts_exhausted");
    assert_eq!(
        (third["next"].clone(), third["attempts_left"].clone()),
        (json!("online_registration"), json!(0))
    );
    // The platform is not asked again (it would pass now): the person is directed elsewhere.
    assert_eq!(
        expect_error(attempt(), 409, "face_attempts_exhausted")["next"],
        "online_registration"
    );
    // And online registration works for them.
    let r = p.post(
        "/api/v1/registrations/online/codes",
        json!({"name": name, "id_number": id, "mobile": mobile}),
    );
    assert_eq!(r.status().as_u16(), 201);
}

#[test]
fn face_sign_input_is_checked_before_anything_is_asked_of_the_platform() {
    let p = Platform::start();
    let (name, id, _) = demo_person(0);
    let valid = face_sign_body(&p, 0);
    let with = |patch: Value| {
        let mut body = valid.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        p.post("/api/v1/registrations/face-sign", body)
    };
    let mut wrong_check = id.clone();
    wrong_check.replace_range(17.., if id.ends_with('0') { "1" } else { "0" });
    let e = expect_error(
        with(json!({"id_number": wrong_check})),
        422,
        "id_check_mismatch",
    );
    assert!(e["message"].as_str().unwrap().starts_with("id_number:"));
    expect_error(
        with(json!({"mobile": "1380013"})),
        422,
        "phone_wrong_length",
    );
    expect_error(with(json!({"consent": false})), 422, "consent_required");
    expect_error(with(json!({"password": "password"})), 422, "weak_password");
    expect_error(with(json!({"frames": []})), 422, "bad_frames");
    expect_error(with(json!({"frames": ["not base64!"]})), 422, "bad_frames");
    expect_error(with(json!({"frames": ["R0lGODlh"]})), 422, "bad_frames");
    // A code sent for another person or number does not prove this one.
    let (_, other_id, _) = demo_person(1);
    expect_error(
        with(json!({"id_number": other_id})),
        422,
        "code_for_other_number",
    );
    expect_error(
        with(json!({"mobile": "13312345678"})),
        422,
        "code_for_other_number",
    );
    // Someone else's ID number under this name: one answer for "unknown" and "wrong name",
    // and no code is sent.
    let r = p.post(
        "/api/v1/registrations/face-sign/codes",
        json!({"name": name, "id_number": other_id, "mobile": "13312345678"}),
    );
    expect_error(r, 404, "identity_not_found");
    assert!(p.messages_to("13312345678").is_empty());
    // Nothing so far was a face failure: the real attempt still passes.
    assert_eq!(
        p.post("/api/v1/registrations/face-sign", valid.clone())
            .status()
            .as_u16(),
        201
    );
}

#[test]
fn online_registration_by_code_to_the_reserved_number() {
    let p = Platform::start();
    let (name, id, mobile) = demo_person(4);
    let r = p.post(
        "/api/v1/registrations/online/codes",
        json!({"name": name, "id_number": id, "mobile": mobile}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let sent: Value = r.json().unwrap();
    assert_eq!(
        (sent["expires_in"].as_u64(), sent["resend_after"].as_u64()),
        (Some(300), Some(1))
    );
    let challenge = sent["challenge_id"].as_str().unwrap();
    let code = p.last_code(&mobile);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let finish = |code: &str| {
        p.post(
            "/api/v1/registrations/online",
            json!({"challenge_id": challenge, "code": code, "password": PASSWORD}),
        )
    };
    assert_eq!(
        expect_error(finish(wrong), 401, "wrong_code")["attempts_left"],
        4
    );
    let r = finish(&code);
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().unwrap();
    assert_eq!(
        body["account"]["kind"],
        json!({"kind": "online_registered"})
    );
    let token = body["token"].as_str().unwrap();
    // Single use.
    expect_error(finish(&code), 410, "code_used");
    // An online-registered user may not use the e-licence, and is told how to upgrade (R2.7).
    let denied = expect_error(
        p.get_as(token, "/api/v1/me/licence"),
        403,
        "needs_face_sign",
    );
    assert_eq!(denied["next"], "face_sign");
    let me: Value = p.get_as(token, "/api/v1/me").json().unwrap();
    let allowed: Vec<&str> = me["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["allowed"] == true)
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(allowed.len(), 7, "R2.7 lists seven businesses: {allowed:?}");
    assert!(!allowed.contains(&"electronic_licence"));
    // A second registration for the same person is refused before any code is sent.
    let before = p.messages_to(&mobile).len();
    let again = p.post(
        "/api/v1/registrations/online/codes",
        json!({"name": name, "id_number": id, "mobile": mobile}),
    );
    expect_error(again, 409, "already_registered");
    assert_eq!(p.messages_to(&mobile).len(), before);
}

#[test]
fn codes_expire_limit_attempts_and_resends() {
    let p = Platform::start_with(&["--code-ttl", "1"]);
    let (name, id, mobile) = demo_person(6);
    let ask = || {
        p.post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
    };
    let first: Value = ask().json().unwrap();
    // Asking again at once: too soon, with Retry-After.
    let r = ask();
    assert_eq!(r.headers()["retry-after"], "1");
    expect_error(r, 429, "code_resend_too_soon");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let code = p.last_code(&mobile);
    let expired = p.post(
        "/api/v1/registrations/online",
        json!({"challenge_id": first["challenge_id"], "code": code, "password": PASSWORD}),
    );
    assert_eq!(
        expect_error(expired, 410, "code_expired")["next"],
        "request_code"
    );
    // A fresh code, then five wrong tries: the code is dead even for the right digits. On a
    // platform whose codes live as long as the product's: with one second, a slow machine
    // (the CI's, running PostgreSQL beside the tests) let the code expire during the tries.
    let p = Platform::start();
    let ask = || {
        p.post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
    };
    let second: Value = ask().json().unwrap();
    let code = p.last_code(&mobile);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let finish = |c: &str| {
        p.post(
            "/api/v1/registrations/online",
            json!({"challenge_id": second["challenge_id"], "code": c, "password": PASSWORD}),
        )
    };
    for left in (1..=4).rev() {
        assert_eq!(
            expect_error(finish(wrong), 401, "wrong_code")["attempts_left"],
            left
        );
    }
    expect_error(finish(wrong), 429, "too_many_attempts");
    expect_error(finish(&code), 429, "too_many_attempts");
    expect_error(
        p.post(
            "/api/v1/registrations/online",
            json!({"challenge_id": "no-such-challenge", "code": code, "password": PASSWORD}),
        ),
        404,
        "challenge_not_found",
    );
}

#[test]
fn a_different_number_is_sent_to_alipay_which_must_be_the_same_person() {
    let p = Platform::start();
    let (name, id, _) = demo_person(8);
    let other_mobile = "13312345678";
    let r = p.post(
        "/api/v1/registrations/online/codes",
        json!({"name": name, "id_number": id, "mobile": other_mobile}),
    );
    assert_eq!(expect_error(r, 409, "mobile_mismatch")["next"], "alipay");
    assert!(
        p.messages_to(other_mobile).is_empty(),
        "no code to a number the police do not hold"
    );

    // Alipay's person is someone else: refused.
    let (other_name, other_id, _) = demo_person(9);
    let code = p.alipay_auth_code(&other_name, &other_id, other_mobile);
    let register = |code: &str| {
        p.post(
            "/api/v1/registrations/alipay",
            json!({"name": name, "id_number": id, "auth_code": code, "password": PASSWORD}),
        )
    };
    expect_error(register(&code), 422, "alipay_person_mismatch");
    // The same person: registered with the number Alipay holds.
    let code = p.alipay_auth_code(&name, &id.to_lowercase(), other_mobile);
    let r = register(&code);
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().unwrap();
    assert_eq!(
        body["account"]["kind"],
        json!({"kind": "online_registered"})
    );
    assert_eq!(body["account"]["mobile_masked"], "133****5678");
    // An authorisation code works once.
    let (name2, id2, _) = demo_person(10);
    let code = p.alipay_auth_code(&name2, &id2, "13912345678");
    let first = p.post(
        "/api/v1/registrations/alipay",
        json!({"name": name2, "id_number": id2, "auth_code": code, "password": PASSWORD}),
    );
    assert_eq!(first.status().as_u16(), 201);
    let (name3, id3, _) = demo_person(11);
    let reused = p.post(
        "/api/v1/registrations/alipay",
        json!({"name": name3, "id_number": id3, "auth_code": code, "password": PASSWORD}),
    );
    expect_error(reused, 422, "alipay_authorisation_invalid");
}

#[test]
fn a_slow_or_failing_provider_is_a_clear_503_and_loses_nothing() {
    let p = Platform::start();
    let body = face_sign_body(&p, 0);
    let face_sign = || p.post("/api/v1/registrations/face-sign", body.clone());
    // No answer within the timeout: 503 with Retry-After, and it is not a face failure.
    p.script("identity", "timeout", 1);
    let started = std::time::Instant::now();
    let r = face_sign();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded by the timeout"
    );
    assert_eq!(r.headers()["retry-after"], "30");
    expect_error(r, 503, "identity_unavailable");
    // Failing three times in a row (first try and two retries): 503.
    p.script("identity", "error", 3);
    expect_error(face_sign(), 503, "identity_unavailable");
    // Failing once: the retry succeeds and the person never notices.
    p.script("identity", "error", 1);
    assert_eq!(face_sign().status().as_u16(), 201);

    // The SMS gateway down: no code is left behind, so asking again is not "too soon".
    let (name, id, mobile) = demo_person(2);
    let ask = || {
        p.post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
    };
    p.script("sms", "error", 3);
    expect_error(ask(), 503, "sms_unavailable");
    assert_eq!(ask().status().as_u16(), 201);

    // Alipay timing out.
    let (name, id, _) = demo_person(4);
    let code = p.alipay_auth_code(&name, &id, "13312345678");
    p.script("alipay", "timeout", 1);
    let r = p.post(
        "/api/v1/registrations/alipay",
        json!({"name": name, "id_number": id, "auth_code": code, "password": PASSWORD}),
    );
    expect_error(r, 503, "alipay_unavailable");
}

#[test]
fn wrong_codes_released_together_are_compared_five_times_at_most() {
    let p = Platform::start();
    let (name, id, mobile) = demo_person(3);
    let sent: Value = p
        .post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
        .json()
        .unwrap();
    let challenge = sent["challenge_id"].clone();
    let right = p.last_code(&mobile);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    // 30 wrong codes, each held back at its last byte and released together.
    let guess = json!({"challenge_id": challenge, "code": wrong, "password": PASSWORD});
    let answers = released_together(&p, "/api/v1/registrations/online", &vec![guess; 30]);
    let compared = answers.iter().filter(|s| **s == 401).count();
    assert!(compared <= 5, "{compared} codes were compared: {answers:?}");
    assert!(
        answers.iter().all(|s| *s == 401 || *s == 429),
        "{answers:?}"
    );
    // The right code now comes too late.
    expect_error(
        p.post(
            "/api/v1/registrations/online",
            json!({"challenge_id": challenge, "code": right, "password": PASSWORD}),
        ),
        429,
        "too_many_attempts",
    );
}
