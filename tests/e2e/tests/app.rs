//! The driver's app end to end: the real `licence-app` binary, driven through tauri-driver
//! and WebKitWebDriver under Xvfb, against the real `licence-server` and the sandbox of the
//! outside services. Screenshots of every screen go to `target/e2e-screenshots/app-*.png`,
//! and in English to `en-*.png`.
//!
//! Run by `cargo xtask test app`, which builds the UI and the app first.

use licence_e2e::webdriver::Browser;
use licence_loadgen::sample_photo;
use licence_server::store::{RegistryStore, SqliteStore};

mod world;
use world::{english_screen, finish_face_sign, go, path, to_english, World};

/// Fills the registration form's person fields.
fn type_person(app: &Browser, name: &str, id_number: &str, mobile: &str) {
    app.type_into("[data-test=name] input", name);
    app.type_into("[data-test=id-number] input", id_number);
    app.type_into("[data-test=mobile] input", mobile);
}

#[test]
fn a_newcomer_registers_by_face_then_applies_with_a_checked_album_photo() {
    let world = World::start();
    let (name, id_number, mobile) = world.newcomer(3_000);
    let app = world.app("phone");

    // Home: nobody signed in, the first of the three steps.
    app.find("[data-test=home]");
    app.wait_for_text("[data-test=steps]", "注册");
    app.screenshot("app-01-home");
    app.click("[data-test=go-sign-in]");
    app.find("[data-test=sign-in]");
    app.screenshot("app-02-sign-in");
    app.click("[data-test=go-register]");
    app.find("[data-test=register]");

    // The ID number is checked as it is typed: a wrong check digit is named at once.
    let last = id_number.chars().last().unwrap();
    let wrong_digit = if last == '1' { '2' } else { '1' };
    let wrong = format!("{}{wrong_digit}", &id_number[..17]);
    type_person(&app, &name, &wrong, &mobile);
    app.wait_for_text("[data-test=id-number]", "校验");
    app.screenshot("app-03-register-invalid-id");
    // Cleared through the keyboard (Backspace), as a person does, so that the form sees it.
    let input = "[data-test=id-number] input";
    app.type_into(input, &"\u{E003}".repeat(18));
    app.type_into(input, &id_number);
    assert!(!app.text("[data-test=id-number]").contains("校验"));

    finish_face_sign(&world, &app, &name, &mobile);
    // Registered and signed in: the home page greets them, next step 线上申请.
    app.wait_for_text("[data-test=greeting]", "面签用户");
    app.screenshot("app-05-home-signed-in");

    // Apply with an album photo: a picture without a face is refused on the device, with
    // what to fix; a real portrait passes and its crop is shown before submitting.
    app.click("[data-test=go-apply]");
    app.find("[data-test=apply]");
    app.click("[data-test=source-album]");
    app.type_into(
        "[data-test=album] input[type=file]",
        &path(&world.photo("no-face.jpg")),
    );
    app.wait_for_text("[data-test=photo-verdict]", "照片需要修改");
    assert!(!app.text("[data-test=photo-problems]").is_empty());
    app.screenshot("app-06-apply-photo-refused");
    app.type_into(
        "[data-test=album] input[type=file]",
        &path(&world.photo("portrait.jpg")),
    );
    app.wait_for_text("[data-test=photo-verdict]", "照片检查通过");
    app.find("[data-test=photo-crop]");
    app.screenshot("app-07-apply-photo-passed");
    app.click("[data-test=submit-application]");
    // The platform's own photo check may already have moved it on to 审核中.
    app.wait_for_any(
        "[data-test=submitted]",
        &["已提交 · 已提交", "已提交 · 审核中"],
    );
    app.wait_for_text("[data-test=submitted]", "审核期限");
    app.screenshot("app-08-apply-submitted");

    // Home shows where it stands.
    app.click("[data-test=back-home]");
    app.wait_for_any("[data-test=latest-application]", &["已提交", "审核中"]);
    app.screenshot("app-09-home-submitted");

    for (tab, screen, shot) in [
        ("tab-services", "services", "app-10-services"),
        ("tab-messages", "messages", "app-11-messages"),
        ("tab-me", "me", "app-12-me"),
    ] {
        app.click(&format!("[data-test={tab}]"));
        app.find(&format!("[data-test={screen}]"));
        app.screenshot(shot);
    }
    app.wait_for_text("[data-test=me-name]", &name);
    app.click("[data-test=lang-en]");
    app.wait_for_text("[data-test=tab-home]", "Home");
    app.screenshot("app-13-me-english");
}

#[test]
fn online_registration_leaves_the_elicence_unavailable_until_verification_in_person() {
    let world = World::start();
    let (name, id_number, mobile) = world.newcomer(3_001);
    let app = world.app("phone");
    app.click("[data-test=go-sign-in]");
    app.click("[data-test=go-register]");
    app.click("[data-test=register-paths] .van-tab:nth-child(2)");
    type_person(&app, &name, &id_number, &mobile);
    app.click("[data-test=send-code]");
    app.wait_for_text("[data-test=code-sent]", "验证码已发送");
    // A wrong code: the platform's message, and nothing lost on the form.
    let code = world.last_code(&mobile);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.type_into("[data-test=code] input", wrong);
    app.type_into("[data-test=new-password] input", "Licence2026");
    app.click("[data-test=finish]");
    app.wait_for_text("[data-test=error]", "验证码");
    app.screenshot("app-20-register-online-wrong-code");
    app.type_into("[data-test=code] input", &"\u{E003}".repeat(6));
    app.type_into("[data-test=code] input", &code);
    app.click("[data-test=finish]");
    app.wait_for_text("[data-test=greeting]", "在线注册用户");

    app.click("[data-test=tab-services]");
    let denied = app.wait_for_text("[data-test=service-denied]", "不可办理");
    assert!(
        denied.contains("实人认证") || denied.contains("面签"),
        "{denied}"
    );
    app.screenshot("app-21-services-elicence-unavailable");
    app.click("[data-test=tab-me]");
    app.find("[data-test=upgrade-hint]");
    app.screenshot("app-22-me-online-registered");

    // 实人认证 from 我的 (R2.5): the ID card's period, checked as typed, and the face check.
    app.click("[data-test=go-verify]");
    app.type_into("[data-test=id-card-validity] input", "2020-01-01到长期");
    app.wait_for_text("[data-test=id-card-validity]", "不是身份证有效期限");
    app.type_into("[data-test=id-card-validity] input", &"\u{E003}".repeat(20));
    app.type_into("[data-test=id-card-validity] input", "2020-01-01至长期");
    app.click("[data-test=camera-open]");
    app.find("[data-test=camera-preview]");
    app.screenshot("app-23-verify-face");
    app.click("[data-test=verify-face]");
    app.wait_for_text("[data-test=me-kind]", "面签用户");
    app.click("[data-test=tab-services]");
    app.find("[data-test=service-elicence]");
    assert!(!app.present("[data-test=service-denied]"));
    app.screenshot("app-24-services-after-verification");
}

#[test]
fn a_newcomer_registers_with_alipay() {
    let world = World::start();
    let (name, id_number, mobile) = world.newcomer(3_002);
    let app = world.app("phone");
    app.click("[data-test=go-sign-in]");
    app.click("[data-test=go-register]");
    app.click("[data-test=register-paths] .van-tab:nth-child(3)");
    type_person(&app, &name, &id_number, &mobile);
    app.type_into("[data-test=new-password] input", "Licence2026");
    app.screenshot("app-25-register-alipay");
    app.click("[data-test=alipay]");
    app.wait_for_text("[data-test=greeting]", &name);
    app.wait_for_text("[data-test=greeting]", "在线注册用户");
}

#[test]
fn a_seeded_driver_signs_in_sees_the_licence_and_applies_with_the_camera() {
    let world = World::start();
    let app = world.app("phone");
    app.click("[data-test=go-sign-in]");
    app.type_into("[data-test=login] input", "13900000000");
    app.type_into("[data-test=password] input", "not-the-password");
    app.click("[data-test=submit]");
    app.wait_for_text("[data-test=error]", "密码");
    app.screenshot("app-30-sign-in-wrong-password");
    app.type_into("[data-test=password] input", &"\u{E003}".repeat(20));
    app.type_into("[data-test=password] input", "load-test-password-1");
    app.click("[data-test=submit]");
    app.find("[data-test=greeting]");
    // 我的驾驶证 from the platform.
    app.click("[data-test=go-licence]");
    let expected = licence_loadgen::synthetic_person(0).unwrap();
    app.wait_for_text("[data-test=licence-name]", expected.name.as_str());
    app.wait_for_text("[data-test=licence-status]", "正常");
    app.screenshot("app-31-my-licence");

    // Apply from 我的驾驶证 with the camera: live preview in the framing guide, capture,
    // the check on the device, then submission.
    app.click("[data-test=licence-apply]");
    app.find("[data-test=apply]");
    app.click("[data-test=source-camera]");
    app.click("[data-test=camera-open]");
    app.find("[data-test=camera-preview]");
    // The preview says what to change (or that the face is framed), live.
    app.wait_present(
        "[data-test=framing-advice]",
        std::time::Duration::from_secs(10),
    );
    assert!(!app.text("[data-test=framing-advice]").is_empty());
    app.screenshot("app-32-apply-camera-preview");
    app.click("[data-test=capture]");
    app.wait_for_text("[data-test=photo-verdict]", "照片检查通过");
    app.find("[data-test=photo-crop]");
    app.screenshot("app-33-apply-camera-captured");
    app.click("[data-test=submit-application]");
    app.wait_for_any(
        "[data-test=submitted]",
        &["已提交 · 已提交", "已提交 · 审核中"],
    );
    app.screenshot("app-34-apply-camera-submitted");
}

#[test]
fn a_rejection_reaches_the_app_live_with_its_reasons_and_the_way_to_apply_again() {
    let world = World::start();
    // Seeded driver 1's photo on file has no face in it: the platform's own check rejects
    // the application moments after it arrives, and says so by SMS and in the inbox.
    let mut entry = licence_loadgen::synthetic_person(1).unwrap();
    entry.photo = Some(sample_photo());
    SqliteStore::open(&world.dir.path().join("platform.sqlite"))
        .unwrap()
        .put_registry_entry(&entry)
        .unwrap();
    let app = seeded_driver_1(&world);
    app.click("[data-test=go-apply]");
    // The photo on file is the default.
    app.click("[data-test=submit-application]");
    app.find("[data-test=submitted]");
    app.click("[data-test=back-home]");
    // Live: no reload, the inbox listener brings the result.
    app.wait_for_text("[data-test=latest-application]", "审核未通过");
    let latest = app.text("[data-test=latest-application]");
    assert!(latest.contains("照片不符合要求"), "{latest}");
    app.wait_for_text("[data-test=go-apply]", "重新申请");
    app.screenshot("app-40-home-rejected");
    app.click("[data-test=tab-messages]");
    app.wait_for_text("[data-test=message]", "未通过");
    app.screenshot("app-41-messages-result");
}

#[test]
fn every_screen_in_english_has_no_chinese_outside_names_and_addresses() {
    let world = World::start();
    // Seeded driver 0: what the registry holds about them is data, not the app's words.
    let driver = licence_loadgen::synthetic_person(0).unwrap();
    let record = driver.licence.as_ref().unwrap().record();
    let allowed = [
        driver.name.as_str(),
        record.address.as_str(),
        record.issuing_authority.as_str(),
    ];
    let app = world.app("phone");
    app.find("[data-test=home]");
    to_english(&app);
    english_screen(&app, "me-signed-out", &allowed);
    for (tab, screen, shot) in [
        ("tab-home", "home", "home-signed-out"),
        ("tab-services", "services", "services-signed-out"),
        ("tab-messages", "messages", "messages-signed-out"),
    ] {
        app.click(&format!("[data-test={tab}]"));
        app.find(&format!("[data-test={screen}]"));
        english_screen(&app, shot, &allowed);
    }
    go(&app, "/officer");
    app.find("[data-test=officer-sign-in]");
    english_screen(&app, "officer-sign-in", &allowed);

    // Registration, its three ways, with a field checked as typed.
    go(&app, "/register");
    app.find("[data-test=register]");
    app.wait_for_text("[data-test=register]", "face-signed at a vehicle office");
    english_screen(&app, "register-face-sign", &allowed);
    app.type_into("[data-test=id-number] input", "110105194912310021");
    app.wait_for_text("[data-test=id-number]", "check");
    english_screen(&app, "register-invalid-id", &allowed);
    app.click("[data-test=register-paths] .van-tab:nth-child(2)");
    english_screen(&app, "register-online", &allowed);
    app.click("[data-test=register-paths] .van-tab:nth-child(3)");
    english_screen(&app, "register-alipay", &allowed);

    // Signing in, a wrong password first.
    go(&app, "/sign-in");
    app.find("[data-test=sign-in]");
    english_screen(&app, "sign-in", &allowed);
    app.type_into("[data-test=login] input", "13900000000");
    app.type_into("[data-test=password] input", "not-the-password");
    app.click("[data-test=submit]");
    app.find("[data-test=error]");
    english_screen(&app, "sign-in-wrong-password", &allowed);
    app.type_into("[data-test=password] input", &"\u{E003}".repeat(20));
    app.type_into("[data-test=password] input", "load-test-password-1");
    app.click("[data-test=submit]");
    app.wait_for_text("[data-test=greeting]", "Face-signed user");
    english_screen(&app, "home-signed-in", &allowed);

    app.click("[data-test=go-licence]");
    app.wait_for_text("[data-test=licence-status]", "normal");
    english_screen(&app, "licence", &allowed);

    // Applying: the photo on file, the album, the camera and its check, the submission.
    app.click("[data-test=licence-apply]");
    app.find("[data-test=apply]");
    english_screen(&app, "apply", &allowed);
    app.click("[data-test=source-album]");
    app.type_into(
        "[data-test=album] input[type=file]",
        &path(&world.photo("no-face.jpg")),
    );
    app.wait_for_text("[data-test=photo-verdict]", "needs fixing");
    english_screen(&app, "apply-photo-refused", &allowed);
    app.click("[data-test=source-camera]");
    app.click("[data-test=camera-open]");
    app.find("[data-test=camera-preview]");
    english_screen(&app, "apply-camera-preview", &allowed);
    app.click("[data-test=capture]");
    app.wait_for_text("[data-test=photo-verdict]", "passes");
    english_screen(&app, "apply-camera-captured", &allowed);
    app.click("[data-test=submit-application]");
    app.wait_for_any("[data-test=submitted]", &["Submitted", "Under review"]);
    english_screen(&app, "apply-submitted", &allowed);
    app.click("[data-test=back-home]");
    app.wait_for_any(
        "[data-test=latest-application]",
        &["Submitted", "Under review"],
    );
    english_screen(&app, "home-submitted", &allowed);

    for (tab, screen, shot) in [
        ("tab-services", "services", "services"),
        ("tab-messages", "messages", "messages"),
        ("tab-me", "me", "me"),
    ] {
        app.click(&format!("[data-test={tab}]"));
        app.find(&format!("[data-test={screen}]"));
        english_screen(&app, shot, &allowed);
    }
    // 实人认证 (offered to online-registered drivers; the page is the same for all).
    go(&app, "/verify");
    app.find("[data-test=verify]");
    english_screen(&app, "verify", &allowed);
    // The e-licence before approval: not yet.
    go(&app, "/elicence");
    app.find("[data-test=error]");
    english_screen(&app, "elicence-not-yet", &allowed);
}

#[test]
fn an_application_with_the_photo_on_file_is_approved_within_seconds_with_no_reviewer() {
    let world = World::start();
    // Seeded driver 1 has a good photo on file in the registry.
    world.photo_on_file(1);
    let app = seeded_driver_1(&world);
    app.find("[data-test=greeting]");
    app.click("[data-test=go-apply]");
    app.find("[data-test=apply]");
    app.click("[data-test=source-on-file]");
    app.click("[data-test=submit-application]");
    app.find("[data-test=submitted]");
    // The platform checks the photo on file and approves it itself: no reviewer signs in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        go(&app, "/messages");
        go(&app, "/");
        if app.present("[data-test=latest-application]")
            && app
                .text("[data-test=latest-application]")
                .contains("审核通过")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not approved in 30 s");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    app.screenshot("app-35-on-file-approved-automatically");
}

/// The app on a phone, seeded driver 1 signed in with their password.
fn seeded_driver_1(world: &World) -> Browser {
    let app = world.app("phone");
    app.click("[data-test=go-sign-in]");
    app.type_into("[data-test=login] input", "13900000001");
    app.type_into("[data-test=password] input", "load-test-password-1");
    app.click("[data-test=submit]");
    app
}

#[test]
fn after_three_rejected_reviews_the_app_sends_the_driver_to_a_counter() {
    use licence_core::{ApplicationEvent, ApplicationState, Rejection, RejectionCode};
    use licence_server::store::{Application, ApplicationStore, Effects, Submitted};
    let world = World::start();
    // Seeded driver 1's history: one application returned by reviewers three times.
    let store = SqliteStore::open(&world.photo("platform.sqlite")).unwrap();
    let account = store
        .account_by_mobile(&"13900000001".parse().unwrap())
        .unwrap()
        .unwrap();
    let Submitted::Created(app) = store
        .submit_application(Application {
            id: 0,
            account: account.id,
            idempotency_key: "history".into(),
            photo_source: "album".into(),
            photo: sample_photo(),
            cropped: None,
            check: None,
            state: ApplicationState::Submitted,
            submitted_at: 1_000,
            due_at: 2_000,
            updated_at: 1_000,
        })
        .unwrap()
    else {
        panic!("not created");
    };
    let reject = ApplicationEvent::Reject {
        reasons: vec![Rejection {
            code: RejectionCode::PhotoNotThePerson,
            note: None,
        }],
    };
    let mut state = app.state.clone();
    for (i, event) in [
        ApplicationEvent::StartReview,
        reject.clone(),
        ApplicationEvent::Submit,
        ApplicationEvent::StartReview,
        reject.clone(),
        ApplicationEvent::Submit,
        ApplicationEvent::StartReview,
        reject,
    ]
    .iter()
    .enumerate()
    {
        let to = state.apply(event).unwrap();
        let actor = if matches!(event, ApplicationEvent::Reject { .. }) {
            "review01"
        } else {
            "applicant"
        };
        assert!(store
            .transition(
                app.id,
                &state,
                &to,
                actor,
                None,
                &Effects::NONE,
                1_000 + i as i64
            )
            .unwrap());
        state = to;
    }
    drop(store);
    // The app offers no fourth application: 业务中心 says where to go instead.
    let app = seeded_driver_1(&world);
    app.find("[data-test=greeting]");
    app.click("[data-test=tab-services]");
    let denied = app.wait_for_text("[data-test=service-denied]", "窗口");
    assert!(denied.contains("3次审核未通过"), "{denied}");
    app.screenshot("app-36-services-go-to-a-counter");
}
