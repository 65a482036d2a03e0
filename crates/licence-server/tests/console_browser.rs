//! The console in a real browser (headless Chromium over WebDriver): a clerk signs in and
//! face-signs a person at the counter; a reviewer approves an ID card review. Screenshots of
//! each screen go to target/e2e-screenshots/console-*.png.

mod common;

use common::*;
use licence_e2e::webdriver::Browser;
use serde_json::json;

#[test]
fn clerk_and_reviewer_work_through_the_console_in_a_browser() {
    let p = Platform::start();
    p.add_staff("clerk01", "王警官", "clerk");
    p.add_staff("review01", "李警官", "reviewer");
    // A person whose face check failed three times has sent ID card photos.
    let (name, id, mobile) = demo_person(8);
    let sent: serde_json::Value = p
        .post(
            "/api/v1/registrations/online/codes",
            json!({"name": name, "id_number": id, "mobile": mobile}),
        )
        .json()
        .unwrap();
    let token: serde_json::Value = p
        .post(
            "/api/v1/registrations/online",
            json!({"challenge_id": sent["challenge_id"], "code": p.last_code(&mobile), "password": PASSWORD}),
        )
        .json()
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    p.script("identity", "fail", 3);
    for _ in 0..3 {
        p.post_as(
            &token,
            "/api/v1/me/face-sign",
            json!({"id_card_validity": "2015-03-01至2035-03-01", "frames": [frame()]}),
        );
    }
    let r = p.post_as(
        &token,
        "/api/v1/me/id-card-reviews",
        json!({"id_card_validity": "2015-03-01至2035-03-01", "front": frame(), "back": frame()}),
    );
    assert_eq!(r.status().as_u16(), 201);

    // And a driver has applied for the e-licence with a good photo.
    let driver = face_signed(&p, 0);
    let r = p.post_as(
        &driver,
        "/api/v1/applications",
        json!({"idempotency_key": "k", "photo_source": "camera", "photo": b64(&good_photo())}),
    );
    let application = r.json::<serde_json::Value>().unwrap()["id"].clone();
    assert_eq!(checked(&p, &driver, &application)["status"], "under_review");

    let browser = Browser::chromium();
    let sign_in = |user: &str, password: &str| {
        browser.open(&format!("{}/console/sign-in", p.base));
        browser.type_into("#username", user);
        browser.type_into("#password", password);
        browser.click("#submit");
    };
    sign_in("clerk01", "Wrong2026x");
    assert_eq!(browser.text("#error"), "用户名或密码错误");
    browser.screenshot("console-01-sign-in-refused");
    sign_in("clerk01", STAFF_PASSWORD);
    assert_eq!(browser.text("#pending-count"), "1");
    browser.screenshot("console-02-dashboard");

    // Counter face-sign: first without the ID check, then properly.
    let (name, id, mobile) = demo_person(3);
    browser.open(&format!("{}/console/persons", p.base));
    browser.type_into("#name", &name);
    browser.type_into("#id_number", &id);
    browser.type_into("#mobile", &mobile);
    browser.type_into("#password", PASSWORD);
    browser.click("#submit");
    assert!(browser
        .text("#error")
        .contains("请确认已当面核验身份证原件"));
    browser.screenshot("console-03-counter-refused");
    browser.type_into("#password", PASSWORD);
    browser.click("#original_checked");
    browser.click("#submit");
    assert!(browser.text("#result").contains("已注册为面签用户"));
    browser.screenshot("console-04-counter-done");
    browser.click("#sign-out");
    browser.find("#username");

    // The reviewer approves the ID card photos.
    sign_in("review01", STAFF_PASSWORD);
    // Wait for the dashboard: navigating on before the sign-in answer arrives would lose it.
    browser.find("#pending-count");
    browser.open(&format!("{}/console/reviews", p.base));
    browser.screenshot("console-05-review-queue");
    browser.click(".open-review");
    assert_eq!(browser.text("#person-name"), demo_person(8).0);
    browser.screenshot("console-06-review");
    browser.click("#approve");
    assert!(browser.text("#result").contains("已审核通过"));
    browser.screenshot("console-07-review-approved");

    // The e-licence application: the server's crop beside the photo on file, then approved.
    browser.open(&format!("{}/console/applications", p.base));
    browser.screenshot("console-08-application-queue");
    browser.click(".open-application");
    assert!(browser.text("main").contains("自动检测：符合要求"));
    browser.screenshot("console-09-application");
    browser.click("#approve");
    assert!(browser.text("#result").contains("审核通过"));
    browser.screenshot("console-10-application-approved");
    let me: serde_json::Value = p.get_as(&token, "/api/v1/me").json().unwrap();
    assert_eq!(
        me["kind"],
        json!({"kind": "face_signed", "via": "manual_id_review"})
    );
}
