//! The upgrade paths (R2.5, R2.6) and the back-office console over HTTP: staff sign-in,
//! CSRF, roles, counter face-sign (R2.8), unit registration (R2.9), the ID card review queue
//! and the audit log.

mod common;

use base64::Engine;
use common::*;
use reqwest::blocking::multipart;
use serde_json::{json, Value};

/// A small JPEG in base64 (an ID card photograph stand-in).
fn card_photo() -> String {
    frame()
}

fn online_registered(p: &Platform, index: usize) -> String {
    let (name, id, mobile) = demo_person(index);
    let sent: Value = p
        .post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
        .json()
        .unwrap();
    let r = p.post(
        "/api/v1/registrations/online",
        json!({"challenge_id": sent["challenge_id"], "code": p.last_code(&mobile), "password": PASSWORD}),
    );
    assert_eq!(r.status().as_u16(), 201);
    r.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The face check fails three times: the ID card review is next.
fn face_sign_fails_three_times(p: &Platform, token: &str) {
    p.script("identity", "fail", 3);
    for _ in 0..3 {
        p.post_as(
            token,
            "/api/v1/me/face-sign",
            json!({"id_card_validity": "2015-03-01至2035-03-01", "frames": [frame()]}),
        );
    }
}

/// A unit registered at the counter as the clerk's browser sends it (multipart, with the scan
/// of the power of attorney).
fn register_unit(
    clerk: &Staff,
    csrf: &str,
    unit_name: &str,
    code: &str,
    attorney: Vec<u8>,
) -> reqwest::blocking::Response {
    let (_, agent_id, _) = demo_person(10);
    let form = multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("unit_name", unit_name.to_owned())
        .text("unit_code", code.to_owned())
        .text("agent_name", "徐明")
        .text("agent_id_number", agent_id)
        .text("agent_mobile", "13971234567")
        .text("password", "Unit2026ok")
        .text("licence_checked", "yes")
        .part(
            "attorney",
            multipart::Part::bytes(attorney).file_name("委托书.pdf"),
        );
    clerk
        .http
        .post(format!("{}/console/units", clerk.p.base))
        .header("cookie", &clerk.cookie)
        .multipart(form)
        .send()
        .unwrap()
}

#[test]
fn an_online_user_upgrades_by_face_or_else_by_id_card_review() {
    let p = Platform::start();
    let token = online_registered(&p, 4);
    let upgrade = |validity: &str| {
        p.post_as(
            &token,
            "/api/v1/me/face-sign",
            json!({"id_card_validity": validity, "frames": [frame()]}),
        )
    };
    expect_error(
        upgrade("2015-03-01至2036-03-01"),
        422,
        "id_card_validity_non_standard_term",
    );
    expect_error(upgrade("2005-03-01至2015-03-01"), 422, "id_card_expired");
    // Reviews are for when the face check keeps failing.
    let review = |validity: &str| {
        p.post_as(
            &token,
            "/api/v1/me/id-card-reviews",
            json!({"id_card_validity": validity, "front": card_photo(), "back": card_photo()}),
        )
    };
    assert_eq!(
        expect_error(review("2015-03-01至2035-03-01"), 409, "try_face_sign_first")["next"],
        "face_sign"
    );
    p.script("identity", "fail", 3);
    assert_eq!(
        expect_error(upgrade("2015-03-01至2035-03-01"), 422, "face_not_matched")["attempts_left"],
        2
    );
    expect_error(upgrade("2015-03-01至2035-03-01"), 422, "face_not_matched");
    let third = expect_error(
        upgrade("2015-03-01至2035-03-01"),
        409,
        "face_attempts_exhausted",
    );
    assert_eq!(third["next"], "id_card_review");
    // A cut-off photo is refused; a whole one is queued, once.
    let cut = {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(card_photo())
            .unwrap();
        base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len() / 2])
    };
    let r = p.post_as(
        &token,
        "/api/v1/me/id-card-reviews",
        json!({"id_card_validity": "2015-03-01至2035-03-01", "front": cut, "back": card_photo()}),
    );
    expect_error(r, 422, "bad_id_card_photo");
    let r = review("2015-03-01至2035-03-01");
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.json::<Value>().unwrap()["state"], "pending");
    expect_error(review("2015-03-01至2035-03-01"), 409, "review_pending");
}

#[test]
fn a_face_signed_user_cannot_upgrade_again() {
    let p = Platform::start();
    let token = face_signed(&p, 0);
    let r = p.post_as(
        &token,
        "/api/v1/me/face-sign",
        json!({"id_card_validity": "2015-03-01至2035-03-01", "frames": [frame()]}),
    );
    expect_error(r, 409, "already_face_signed");
}

#[test]
fn every_console_answer_carries_the_browser_rules() {
    let p = Platform::start();
    p.add_staff("clerk01", "王警官", "clerk");
    let anonymous = no_redirects()
        .get(format!("{}/console/sign-in", p.base))
        .send()
        .unwrap();
    let clerk = sign_in_staff(&p, "clerk01", STAFF_PASSWORD).ok().unwrap();
    for r in [
        anonymous,
        clerk.get("/console"),
        clerk.get("/console/staff"),
    ] {
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

#[test]
fn staff_sign_in_sessions_csrf_and_roles() {
    let p = Platform::start();
    p.add_staff("clerk01", "王警官", "clerk");
    p.add_staff("review01", "李警官", "reviewer");
    let wrong = sign_in_staff(&p, "clerk01", "Wrong2026x").err().unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().unwrap().contains("用户名或密码错误"));
    // Without a session every page leads to the sign-in page.
    let anonymous = no_redirects()
        .get(format!("{}/console/persons", p.base))
        .send()
        .unwrap();
    assert_eq!(anonymous.headers()["location"], "/console/sign-in");

    let clerk = sign_in_staff(&p, "clerk01", STAFF_PASSWORD).ok().unwrap();
    assert!(clerk.page("/console").contains("王警官"));
    // A POST without this session's form token is refused.
    let (name, id, mobile) = demo_person(3);
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("name", name.clone()),
            ("id_number", id.clone()),
            ("mobile", mobile.clone()),
            ("password", PASSWORD.to_owned()),
            ("original_checked", "yes".to_owned()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| {
        f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let r = clerk
        .http
        .post(format!("{}/console/persons", p.base))
        .header("cookie", &clerk.cookie)
        .form(&as_refs(&form("forged")))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Roles: a clerk does not review, a reviewer does not register, only admins read the log.
    assert_eq!(clerk.get("/console/reviews").status().as_u16(), 403);
    assert_eq!(clerk.get("/console/audit").status().as_u16(), 403);
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    assert_eq!(reviewer.get("/console/persons").status().as_u16(), 403);
    assert_eq!(reviewer.get("/console/reviews").status().as_u16(), 200);

    // Signing out ends the session.
    let csrf = clerk.csrf();
    let out = clerk.post("/console/sign-out", &[("csrf", &csrf)]);
    assert_eq!(out.headers()["location"], "/console/sign-in");
    assert_eq!(clerk.get("/console").status().as_u16(), 303);
}

#[test]
fn counter_face_sign_registers_or_upgrades_a_person() {
    let p = Platform::start();
    p.add_staff("clerk01", "王警官", "clerk");
    p.add_staff("admin", "赵主任", "admin");
    let clerk = sign_in_staff(&p, "clerk01", STAFF_PASSWORD).ok().unwrap();
    let csrf = clerk.csrf();

    // A new person: a face-signed account (counter) that signs in with the password set.
    let (name, id, mobile) = demo_person(3);
    let r = clerk.post(
        "/console/persons",
        &[
            ("csrf", &csrf),
            ("name", &name),
            ("id_number", &id),
            ("mobile", &mobile),
            ("password", PASSWORD),
            ("original_checked", "yes"),
        ],
    );
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap().contains("已注册为面签用户"));
    let signed: Value = p
        .post(
            "/api/v1/sessions",
            json!({"login": id, "password": PASSWORD}),
        )
        .json()
        .unwrap();
    assert_eq!(
        signed["account"]["kind"],
        json!({"kind": "face_signed", "via": "counter"})
    );

    // Refused, with every problem listed and the typed values kept: no ID check, bad number.
    let (_, some_id, _) = demo_person(5);
    let bad_id = format!(
        "{}{}",
        &some_id[..17],
        if some_id.ends_with('1') { '2' } else { '1' }
    );
    let r = clerk.post(
        "/console/persons",
        &[
            ("csrf", &csrf),
            ("name", "钱七"),
            ("id_number", &bad_id),
            ("mobile", "1380013"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().unwrap();
    assert!(
        page.contains("身份证号码：")
            && page.contains("手机号码：")
            && page.contains("请确认已当面核验身份证原件"),
        "{page}"
    );
    assert!(page.contains("value=\"钱七\""));

    // An online-registered person is upgraded (no password needed).
    let token = online_registered(&p, 6);
    let (name, id, mobile) = demo_person(6);
    let r = clerk.post(
        "/console/persons",
        &[
            ("csrf", &csrf),
            ("name", &name),
            ("id_number", &id),
            ("mobile", &mobile),
            ("original_checked", "yes"),
        ],
    );
    assert!(r.text().unwrap().contains("已升级为面签用户"));
    let me: Value = p.get_as(&token, "/api/v1/me").json().unwrap();
    assert_eq!(me["kind"], json!({"kind": "face_signed", "via": "counter"}));

    // Every action is in the audit log, without full ID numbers.
    let admin = sign_in_staff(&p, "admin", STAFF_PASSWORD).ok().unwrap();
    let log = admin.page("/console/audit");
    assert_eq!(log.matches("counter_face_sign").count(), 2, "{log}");
    assert!(!log.contains(&id), "full ID numbers stay out of the log");
}

#[test]
fn a_unit_registers_at_the_counter_and_cannot_use_the_e_licence() {
    let p = Platform::start();
    p.add_staff("clerk01", "王警官", "clerk");
    let clerk = sign_in_staff(&p, "clerk01", STAFF_PASSWORD).ok().unwrap();
    let csrf = clerk.csrf();
    let register = |attorney: Vec<u8>, code: &str| {
        register_unit(&clerk, &csrf, "武汉顺达物流有限公司", code, attorney)
    };
    // Not a PDF or JPEG, and a wrong check character: both reported.
    let r = register(b"hello".to_vec(), "91350100M000100Y44");
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().unwrap();
    assert!(
        page.contains("授权委托书须为 PDF") && page.contains("统一社会信用代码："),
        "{page}"
    );
    let r = register(b"%PDF-1.7\n%...\n".to_vec(), "91350100M000100Y43");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap().contains("已注册为单位用户"));
    assert_eq!(
        register(b"%PDF-1.7\n".to_vec(), "91350100M000100Y43")
            .status()
            .as_u16(),
        422
    );

    // The unit signs in with its code and is refused the e-licence: it is for persons (R2.10).
    let r = p.post(
        "/api/v1/sessions",
        json!({"login": "91350100m000100y43", "password": "Unit2026ok"}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().unwrap();
    assert_eq!(body["account"]["kind"], json!({"kind": "unit"}));
    let token = body["token"].as_str().unwrap();
    expect_error(p.get_as(token, "/api/v1/me/licence"), 403, "persons_only");
    let allowed: Vec<String> = body["account"]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["allowed"] == true)
        .map(|f| f["function"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(allowed.len(), 5, "R2.10 lists five: {allowed:?}");
    let r = p.post_as(
        token,
        "/api/v1/me/face-sign",
        json!({"id_card_validity": "2015-03-01至2035-03-01", "frames": [frame()]}),
    );
    expect_error(r, 403, "unit_cannot_face_sign");
}

#[test]
fn a_reviewer_rejects_with_a_reason_then_approves_and_the_person_is_told() {
    let p = Platform::start();
    p.add_staff("review01", "李警官", "reviewer");
    let token = online_registered(&p, 8);
    let (_, _, mobile) = demo_person(8);
    face_sign_fails_three_times(&p, &token);
    let submit = || {
        p.post_as(
            &token,
            "/api/v1/me/id-card-reviews",
            json!({"id_card_validity": "2015-03-01至2035-03-01", "front": card_photo(), "back": card_photo()}),
        )
    };
    let first: Value = submit().json().unwrap();
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    let queue = reviewer.page("/console/reviews");
    assert!(
        queue.contains(&format!("/console/reviews/{}", first["id"])),
        "{queue}"
    );
    let path = format!("/console/reviews/{}", first["id"]);
    let page = reviewer.page(&path);
    assert!(page.contains("人像面") && page.contains("国徽面"));
    let front = reviewer.get(&format!("{path}/front"));
    assert_eq!(front.headers()["cache-control"], "no-store");
    assert_eq!(
        front.bytes().unwrap().to_vec(),
        base64::engine::general_purpose::STANDARD
            .decode(card_photo())
            .unwrap()
    );

    let csrf = reviewer.csrf();
    // Rejecting needs a reason.
    let r = reviewer.post(
        &path,
        &[("csrf", &csrf), ("decision", "reject"), ("reason", "")],
    );
    assert_eq!(r.status().as_u16(), 422);
    let r = reviewer.post(
        &path,
        &[
            ("csrf", &csrf),
            ("decision", "reject"),
            ("reason", "unclear"),
            ("note", "反光"),
        ],
    );
    assert!(r.text().unwrap().contains("未予通过"));
    let told = p.wait_for_message(&mobile, "未通过审核");
    assert!(
        told.contains("未通过审核") && told.contains("照片模糊或反光") && told.contains("反光"),
        "{told}"
    );
    let mine: Vec<Value> = p
        .get_as(&token, "/api/v1/me/id-card-reviews")
        .json()
        .unwrap();
    assert_eq!(mine[0]["state"], "rejected");
    // Decided once only.
    assert_eq!(
        reviewer
            .post(&path, &[("csrf", &csrf), ("decision", "approve")])
            .status()
            .as_u16(),
        409
    );

    // Resubmitted and approved: face-signed by manual review, and told.
    let second: Value = submit().json().unwrap();
    let r = reviewer.post(
        &format!("/console/reviews/{}", second["id"]),
        &[("csrf", &csrf), ("decision", "approve")],
    );
    assert!(r.text().unwrap().contains("已审核通过"));
    p.wait_for_message(&mobile, "已审核通过");
    let me: Value = p.get_as(&token, "/api/v1/me").json().unwrap();
    assert_eq!(
        me["kind"],
        json!({"kind": "face_signed", "via": "manual_id_review"})
    );
    assert_eq!(
        p.get_as(&token, "/api/v1/me/licence").status().as_u16(),
        200
    );
    assert!(reviewer
        .page("/console/reviews")
        .contains("没有待审核的申请"));
}

#[test]
fn an_administrator_opens_an_officer_account_that_signs_in_to_the_online_check() {
    let p = Platform::start();
    p.add_staff("admin01", "赵处长", "admin");
    p.add_staff("review01", "李警官", "reviewer");
    // Only administrators manage accounts.
    let reviewer = sign_in_staff(&p, "review01", STAFF_PASSWORD).ok().unwrap();
    assert_eq!(reviewer.get("/console/staff").status().as_u16(), 403);
    assert!(!reviewer.page("/console").contains("/console/staff"));

    let admin = sign_in_staff(&p, "admin01", STAFF_PASSWORD).ok().unwrap();
    assert!(admin.page("/console").contains("民警账号"));
    let csrf = admin.csrf();
    let open = |username: &str, name: &str, password: &str, csrf: &str| {
        admin
            .post(
                "/console/staff",
                &[
                    ("csrf", csrf),
                    ("username", username),
                    ("name", name),
                    ("role", "officer"),
                    ("password", password),
                ],
            )
            .text()
            .unwrap()
    };
    assert_eq!(
        admin
            .post(
                "/console/staff",
                &[
                    ("csrf", "forged"),
                    ("username", "police09"),
                    ("name", "x"),
                    ("role", "officer"),
                    ("password", STAFF_PASSWORD)
                ],
            )
            .status()
            .as_u16(),
        403
    );
    // Each mistake is named, in both languages, and nothing is created.
    let bad = open("police 09", "周警官", STAFF_PASSWORD, &csrf);
    assert!(
        bad.contains("账号须为") && bad.contains("username must be"),
        "{bad}"
    );
    let weak = open("police09", "周警官", "short", &csrf);
    assert!(weak.contains("id=error"), "{weak}");
    let taken = open("review01", "周警官", STAFF_PASSWORD, &csrf);
    assert!(taken.contains("已被使用"), "{taken}");
    assert!(!taken.contains("<td>police09</td>"));

    let done = open("police09", "周警官", STAFF_PASSWORD, &csrf);
    assert!(done.contains("已开通执勤民警 周警官"), "{done}");
    assert!(
        done.contains("<td>police09</td><td>周警官</td><td>执勤民警</td>"),
        "{done}"
    );
    assert!(admin.page("/console/audit").contains("add_staff"));

    // The new account works for the officer's online check.
    let r = p.post(
        "/api/v1/officer/sessions",
        json!({"username": "police09", "password": STAFF_PASSWORD}),
    );
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.json::<Value>().unwrap()["name"], "周警官");
}

/// Markup typed by anyone (a clerk, an administrator, a reviewer's note) is shown as text on
/// every console page that shows it: escaped, never as markup.
#[test]
fn markup_typed_into_the_console_is_shown_as_text_on_every_page() {
    const SCRIPT: &str = "<script>alert(1)</script>";
    const SCRIPT_SHOWN: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";
    const IMG: &str = "\"><img src=x onerror=alert(1)>";
    const IMG_SHOWN: &str = "&#34;&#62;&#60;img src=x onerror=alert(1)&#62;";
    // The page has the status, no markup that was typed, and each of `expected`.
    let shown = |r: reqwest::blocking::Response, status: u16, expected: &[String]| {
        assert_eq!(r.status().as_u16(), status);
        let page = r.text().unwrap();
        assert!(
            !page.contains("<script>alert(1)") && !page.contains("<img src=x"),
            "{page}"
        );
        for e in expected {
            assert!(page.contains(e.as_str()), "{e} in {page}");
        }
    };
    let p = Platform::start();
    p.add_staff("admin01", "赵处长", "admin");
    let admin = sign_in_staff(&p, "admin01", STAFF_PASSWORD).ok().unwrap();
    let csrf = admin.csrf();

    // A member of staff named with markup: the notice and the list of accounts, then that
    // member's own header and home page.
    let opened = admin.post(
        "/console/staff",
        &[
            ("csrf", &csrf),
            ("username", "clerk10"),
            ("name", SCRIPT),
            ("role", "clerk"),
            ("password", STAFF_PASSWORD),
        ],
    );
    shown(
        opened,
        200,
        &[
            format!("已开通窗口民警 {SCRIPT_SHOWN}（clerk10）"),
            format!("<td>clerk10</td><td>{SCRIPT_SHOWN}</td>"),
        ],
    );
    let clerk = sign_in_staff(&p, "clerk10", STAFF_PASSWORD).ok().unwrap();
    shown(
        clerk.get("/console"),
        200,
        &[
            format!("<span>{SCRIPT_SHOWN} · 窗口民警</span>"),
            format!("您好，{SCRIPT_SHOWN}。"),
        ],
    );
    let csrf = clerk.csrf();

    // A refused counter face-sign gives the typed values back inside their attributes.
    let typed = [
        ("csrf", csrf.as_str()),
        ("name", IMG),
        ("id_number", SCRIPT),
        ("mobile", IMG),
    ];
    shown(
        clerk.post("/console/persons", &typed),
        422,
        &[
            format!("name=name value=\"{IMG_SHOWN}\""),
            format!("name=id_number value=\"{SCRIPT_SHOWN}\""),
        ],
    );

    // A unit named with markup: given back when refused, and in the notice once registered.
    let register = |code: &str| register_unit(&clerk, &csrf, SCRIPT, code, b"%PDF-1.7\n".to_vec());
    shown(
        register(IMG),
        422,
        &[
            format!("name=unit_name value=\"{SCRIPT_SHOWN}\""),
            format!("name=unit_code value=\"{IMG_SHOWN}\""),
        ],
    );
    shown(
        register("91350100M000100Y43"),
        200,
        &[format!(
            "{SCRIPT_SHOWN}（91350100M000100Y43）已注册为单位用户"
        )],
    );

    // A reviewer's note with markup: on the decided review and in the audit log.
    let token = online_registered(&p, 8);
    face_sign_fails_three_times(&p, &token);
    let review: Value = p
        .post_as(
            &token,
            "/api/v1/me/id-card-reviews",
            json!({"id_card_validity": "2015-03-01至2035-03-01", "front": card_photo(), "back": card_photo()}),
        )
        .json()
        .unwrap();
    let path = format!("/console/reviews/{}", review["id"]);
    let csrf = admin.csrf();
    let decision = [
        ("csrf", csrf.as_str()),
        ("decision", "reject"),
        ("reason", "unclear"),
        ("note", IMG),
    ];
    shown(admin.post(&path, &decision), 200, &[]);
    shown(
        admin.get(&path),
        200,
        &[format!(
            "已处理：rejected（照片模糊或反光，无法辨认证件信息；{IMG_SHOWN}）"
        )],
    );
    shown(
        admin.get("/console/audit"),
        200,
        &[format!("(照片模糊或反光，无法辨认证件信息；{IMG_SHOWN})")],
    );
}
