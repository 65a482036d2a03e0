//! The whole journey through the real programs: a newcomer registers by face and applies in
//! the app; an administrator opens an officer's account and a reviewer approves in the
//! console (headless Chromium); the app shows the e-licence; an officer's app, whose camera
//! sees the driver's screen, says valid; the registry records 12 points, the driver's QR turns
//! red and the officer's app says abnormal; a minute on, the first screenshot is refused as
//! stale. Screenshots of every screen under `target/e2e-screenshots/journey-*.png`; at the
//! end both phones in English (`en-*.png`), with no Chinese outside names and addresses.
//!
//! Run by `cargo xtask test app`, which builds the UI and the app first.

use std::time::{Duration, Instant};

use licence_e2e::webdriver::Browser;

mod world;
use world::{
    debug_app, english_screen, finish_face_sign, go, path, to_english, World, STAFF_PASSWORD,
};

/// What the officer's camera sees: the driver's screen, saved by the test.
const OFFICER_VIEW: &str = "officer-view.png";

#[test]
fn from_registration_to_the_roadside_check_and_a_licence_turning_red() {
    let world = World::start();
    world.add_staff("admin01", "赵处长", "admin");
    world.add_staff("review01", "李警官", "reviewer");
    let person = 3_100;
    let (name, id_number, mobile) = world.newcomer(person);

    // 注册 and 线上申请 in the driver's app.
    let driver = world.app("phone");
    driver.click("[data-test=go-sign-in]");
    driver.click("[data-test=go-register]");
    driver.type_into("[data-test=name] input", &name);
    driver.type_into("[data-test=id-number] input", &id_number);
    driver.type_into("[data-test=mobile] input", &mobile);
    finish_face_sign(&world, &driver, &name, &mobile);
    // The traffic police hold a photo of this driver, and the identity platform will find the
    // album photo to be someone else: a reviewer decides, seeing how alike they are.
    world.photo_on_file(person);
    world.script("identity", "fail", 1);
    world.apply_with_album_portrait(&driver);
    driver.click("[data-test=back-home]");
    driver.wait_for_any("[data-test=latest-application]", &["已提交", "审核中"]);

    // The console: the administrator opens an officer's account, then approves.
    let console = Browser::chromium();
    console.open(&format!("{}/console/sign-in", world.base()));
    console.type_into("#username", "admin01");
    console.type_into("#password", STAFF_PASSWORD);
    console.click("#submit");
    console.find("#sign-out");
    console.open(&format!("{}/console/staff", world.base()));
    console.type_into("#username", "police01");
    console.type_into("#name", "王警官");
    console.type_into("#password", STAFF_PASSWORD);
    console.screenshot("journey-01-console-new-officer");
    console.click("#create-staff");
    assert!(console.text("#result").contains("已开通执勤民警 王警官"));
    console.screenshot("journey-02-console-officer-opened");
    // In the queue once the platform's own photo check has moved it on to review.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        console.open(&format!("{}/console/applications", world.base()));
        if console.present(".open-application") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the application never reached review"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    console.click(".open-application");
    assert!(
        console.text("#automatic").contains("相似度 31"),
        "{}",
        console.text("#automatic")
    );
    console.screenshot("journey-03-console-application");
    console.click("#approve");
    assert!(console.text("#result").contains("审核通过"));
    console.screenshot("journey-04-console-approved");
    drop(console);

    // 出示使用: the approval arrives live; the e-licence is fetched and shown.
    // Approved, and at once 已发放 once the app has fetched the credential.
    driver.wait_for_any("[data-test=latest-application]", &["审核通过", "已发放"]);
    driver.click("[data-test=go-show]");
    driver.find("[data-test=elicence]");
    driver.wait_present("[data-test=qr][data-red=false]", Duration::from_secs(30));
    driver.wait_for_text("[data-test=elicence-name]", &name);
    driver.wait_for_text("[data-test=elicence-standing]", "正常");
    driver.find("[data-test=countdown]");
    assert!(driver
        .text("[data-test=elicence-number]")
        .ends_with(&id_number));
    let first_screen = driver.screenshot("journey-05-elicence");
    let shown_at = Instant::now();
    // Its 副页: the address, the issuing office, the record, the classes one may drive.
    driver.click("[data-test=show-second-page]");
    driver.wait_for_text("[data-test=record]", "累积记分");
    assert!(driver
        .text("[data-test=permitted-classes]")
        .contains("证载"));
    settled_on(&driver, "second-page");
    driver.screenshot("journey-05b-elicence-second-page");
    driver.click("[data-test=show-main-page]");
    settled_on(&driver, "main-page");

    // The officer's phone, its camera pointed at the driver's screen.
    let view = world.photo(OFFICER_VIEW);
    std::fs::copy(&first_screen, &view).unwrap();
    let officer = world.app_with_camera(&debug_app(), "officer-phone", &view);
    officer.click("[data-test=tab-me]");
    officer.click("[data-test=go-officer]");
    officer.type_into("[data-test=officer-username] input", "police01");
    officer.type_into("[data-test=officer-password] input", STAFF_PASSWORD);
    officer.screenshot("journey-06-officer-sign-in");
    officer.click("[data-test=officer-sign-in]");
    officer.wait_for_text("[data-test=officer-name]", "王警官");
    officer.wait_for_any("[data-test=officer-freshness]", &["有效"]);
    officer.click("[data-test=scan]");
    officer.wait_present(
        "[data-test=verdict][data-light=green]",
        Duration::from_secs(30),
    );
    assert!(officer.text("[data-test=verdict]").contains("核验通过"));
    officer.wait_for_text("[data-test=holder-name]", &name);
    officer.wait_for_text("[data-test=live-status]", "正常");
    officer.screenshot("journey-07-officer-valid");

    // 出示给其他核验方: a rental desk's reader, as an ISO 18013-5 mobile licence.
    show_to_a_rental_desk(&world, &driver);
    go(&driver, "/elicence");
    driver.wait_present("[data-test=qr][data-red=false]", Duration::from_secs(30));

    // The registry records 12 points: the driver's QR turns red within a refresh, with why.
    world.update_licence(person, |r| {
        r.points = licence_core::licence::Points::new(12).unwrap();
        r.status = "B".parse().unwrap();
    });
    driver.wait_present("[data-test=qr][data-red=true]", Duration::from_secs(70));
    driver.wait_for_text("[data-test=red-reason]", "超分");
    let red_screen = driver.screenshot("journey-08-elicence-red");
    std::fs::copy(&red_screen, &view).unwrap();
    officer.click("[data-test=scan]");
    officer.wait_present(
        "[data-test=verdict][data-verdict=status_abnormal]",
        Duration::from_secs(30),
    );
    assert!(officer.text("[data-test=verdict]").contains("状态异常"));
    officer.wait_for_text("[data-test=live-status]", "超分");
    officer.screenshot("journey-09-officer-abnormal");

    // A minute after it was made, the first QR (a screenshot now) is refused as stale: here
    // sent to the officer as a picture.
    let stale_after = Duration::from_secs(62);
    if let Some(wait) = stale_after.checked_sub(shown_at.elapsed()) {
        std::thread::sleep(wait);
    }
    officer.type_into(
        "[data-test=scan-picture] input[type=file]",
        &path(&first_screen),
    );
    officer.wait_present(
        "[data-test=verdict][data-verdict=presentation_too_old]",
        Duration::from_secs(20),
    );
    assert!(officer.text("[data-test=verdict]").contains("截图"));
    officer.screenshot("journey-10-officer-stale-screenshot");

    // 关怀模式 for an older driver: larger type, the QR as large as the screen allows.
    set_care_mode(&driver, true);
    go(&driver, "/elicence");
    driver.wait_present("[data-test=qr][data-red=true]", Duration::from_secs(30));
    driver.screenshot("journey-11-elicence-care-mode");

    // Both phones in English: the red e-licence, the officer on duty, the stale code refused.
    let entry = licence_loadgen::synthetic_person(person).unwrap();
    let record = entry.licence.as_ref().unwrap().record();
    let allowed = [
        entry.name.as_str(),
        record.address.as_str(),
        record.issuing_authority.as_str(),
        "王警官",
    ];
    to_english(&driver);
    go(&driver, "/elicence");
    driver.wait_present("[data-test=qr][data-red=true]", Duration::from_secs(30));
    english_screen(&driver, "elicence-care-mode", &allowed);
    set_care_mode(&driver, false);
    go(&driver, "/elicence");
    driver.wait_present("[data-test=qr][data-red=true]", Duration::from_secs(30));
    english_screen(&driver, "elicence-red", &allowed);
    driver.click("[data-test=show-second-page]");
    driver.wait_for_text("[data-test=record]", "Points");
    english_screen(&driver, "elicence-second-page", &allowed);
    to_english(&officer);
    go(&officer, "/officer");
    officer.wait_for_text("[data-test=officer-name]", "王警官");
    english_screen(&officer, "officer-on-duty", &allowed);
    officer.type_into(
        "[data-test=scan-picture] input[type=file]",
        &path(&first_screen),
    );
    officer.wait_present(
        "[data-test=verdict][data-verdict=presentation_too_old]",
        Duration::from_secs(20),
    );
    english_screen(&officer, "officer-stale-screenshot", &allowed);

    // Revoked (吊销): a code shown just before is refused by the officer's verifier, and the
    // e-licence is withdrawn from the phone, saying why.
    go(&driver, "/elicence");
    driver.wait_present("[data-test=qr][data-red=true]", Duration::from_secs(30));
    // Still on the 副页 from before (the route did not change): back to the page with the code.
    driver.click("[data-test=show-main-page]");
    settled_on(&driver, "main-page");
    let last_screen = driver.screenshot("journey-12-elicence-before-revocation");
    world.update_licence(person, |r| r.status = "F".parse().unwrap());
    std::fs::copy(&last_screen, &view).unwrap();
    officer.click("[data-test=scan]");
    // Red: offline (its list, minutes old, says 12 points) and online (the registry says
    // revoked, shown as the live status).
    officer.wait_for_text("[data-test=live-status]", "revoked");
    officer.wait_for_text("[data-test=verdict-online]", "status_invalid");
    officer.wait_present(
        "[data-test=verdict][data-light=red]",
        Duration::from_secs(5),
    );
    english_screen(&officer, "officer-revoked", &allowed);
    let deadline = Instant::now() + Duration::from_secs(70);
    while !driver.present("[data-test=error]") {
        assert!(
            Instant::now() < deadline,
            "the revoked e-licence is still shown"
        );
        std::thread::sleep(Duration::from_millis(500));
        go(&driver, "/");
        go(&driver, "/elicence");
    }
    driver.wait_for_text("[data-test=error]", "revoked");
    english_screen(&driver, "elicence-withdrawn", &allowed);
}

/// Turns 关怀模式 on or off from 我的.
fn set_care_mode(app: &Browser, on: bool) {
    go(app, "/me");
    app.find("[data-test=care-mode]");
    let is_on = app.present(".van-switch--on[data-test=care-mode]");
    if is_on != on {
        app.click("[data-test=care-mode-cell]");
    }
    app.wait_present(
        &format!(
            "[data-test=app-page]{}",
            if on { ".care" } else { ":not(.care)" }
        ),
        Duration::from_secs(5),
    );
}

/// Waits until the e-licence's page `page` (its data-test) has swiped fully into view: under
/// a busy Xvfb the animation can take longer than it is set to.
/// The holder shows the e-licence to a rental desk: the choice changes what will be shown
/// and the engagement; the desk's reader (this test, carrying the bytes as Bluetooth would)
/// scans the QR, asks for more than the choice allows, and gets exactly the choice, which it
/// verifies against the platform's published IACA root.
fn show_to_a_rental_desk(world: &World, driver: &Browser) {
    use licence_mdoc::session::ReaderSession;
    use licence_mdoc::{verify_response, DeviceRequest, IacaRoot, CN_NAMESPACE, ISO_NAMESPACE};
    driver.click("[data-test=show-to-others]");
    driver.wait_present(
        "[data-test=mdoc-qr][data-choice=rental_desk]",
        Duration::from_secs(10),
    );
    driver.click("[data-test=disclosure-age_over_18]");
    driver.wait_present(
        "[data-test=mdoc-qr][data-choice=age_over_18]",
        Duration::from_secs(10),
    );
    driver.wait_for_text("[data-test=mdoc-will-show]", "已满18周岁");
    assert!(!driver.text("[data-test=mdoc-will-show]").contains("照片"));
    driver.screenshot("journey-07b-share-age-only");
    driver.click("[data-test=disclosure-rental_desk]");
    driver.wait_present(
        "[data-test=mdoc-qr][data-choice=rental_desk]",
        Duration::from_secs(10),
    );
    driver.wait_for_text("[data-test=mdoc-will-show]", "准驾车型");
    driver.screenshot("journey-07c-share-rental-desk");

    let qr_text =
        driver.execute("return document.querySelector('[data-test=mdoc-qr]').dataset.qrText");
    let mut reader =
        ReaderSession::from_qr(qr_text.as_str().unwrap(), &mut rand_core::OsRng).unwrap();
    let request = DeviceRequest::for_mdl(&[
        (ISO_NAMESPACE, "family_name_national_character"),
        (ISO_NAMESPACE, "given_name_national_character"),
        (ISO_NAMESPACE, "portrait"),
        (ISO_NAMESPACE, "driving_privileges"),
        (ISO_NAMESPACE, "expiry_date"),
        (ISO_NAMESPACE, "document_number"),
        (CN_NAMESPACE, "licence_status"),
        (CN_NAMESPACE, "cumulative_points"),
    ]);
    let establishment = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        reader.request(&request.to_bytes()).unwrap(),
    );
    // The data channel: the app's transport command, called as the phone's Bluetooth would.
    let answer = driver.execute_async(
        "const done = arguments[arguments.length - 1]; \
         window.__TAURI_INTERNALS__.invoke('mdoc_exchange', { messageBase64: arguments[0] }) \
           .then((v) => done({ ok: v }), (e) => done({ err: e }));",
        serde_json::json!([establishment]),
    );
    let message = answer["ok"]["message_base64"]
        .as_str()
        .unwrap_or_else(|| panic!("the app answered {answer}"));
    let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, message).unwrap();
    let response = reader.open(&data).unwrap();
    let pem = reqwest::blocking::get(format!("{}/api/v1/mdoc/iaca", world.base()))
        .unwrap()
        .text()
        .unwrap();
    let docs = verify_response(
        &response,
        reader.transcript(),
        &[IacaRoot::from_pem(&pem).unwrap()],
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let doc = &docs[0];
    assert!(doc.element(ISO_NAMESPACE, "portrait").is_some());
    assert!(doc.element(CN_NAMESPACE, "licence_status").is_some());
    assert!(doc.element(ISO_NAMESPACE, "document_number").is_none());
    assert!(doc.element(CN_NAMESPACE, "cumulative_points").is_none());
    // The holder's screen says what the desk was shown.
    driver.wait_present("[data-test=mdoc-shared]", Duration::from_secs(10));
    assert!(driver
        .text("[data-test=mdoc-shared]")
        .contains("驾驶证状态"));
    driver.screenshot("journey-07d-shared-with-rental-desk");
}

fn settled_on(app: &Browser, page: &str) {
    let script = format!(
        "const r = document.querySelector('[data-test={page}]').getBoundingClientRect(); \
         return Math.abs(r.left) < 2;"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.execute(&script) != serde_json::Value::Bool(true) {
        assert!(
            Instant::now() < deadline,
            "the {page} never settled in view"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
