//! The driver's app as one object (`DriverApp`), against the real platform: what each screen
//! gets from it after each action. The Tauri commands are thin wrappers over these calls.

use licence_client::app::{DriverApp, PhotoSource, RegistrationPath};
use licence_client::camera::PhotoPlayer;
use licence_client::views::{JourneyStep, Progress};
use licence_loadgen::sample_photo;
use licence_photo::testdata;

mod common;
use common::{Platform, PASSWORD};

fn app(p: &Platform, name: &str) -> DriverApp {
    DriverApp::open(
        &p.dir.path().join(name),
        &format!("http://{}", p.server.address),
    )
    .unwrap()
    .with_trust_root(p.trust_root())
}

fn portrait() -> Vec<u8> {
    testdata::encode(&testdata::portrait(2.0).0, image::ImageFormat::Jpeg)
}

fn no_progress(_: Progress) {}

#[tokio::test]
async fn a_seeded_driver_signs_in_applies_with_a_checked_photo_and_sees_it_under_review() {
    let p = Platform::start(&[]);
    let app = app(&p, "phone");

    // Nobody signed in: the first step, and nothing needs the network.
    let home = app.home().await.unwrap();
    assert_eq!(
        (home.step, home.account.is_none()),
        (JourneyStep::Register, true)
    );

    let error = app
        .sign_in("13900000000", "wrong-password")
        .await
        .unwrap_err();
    assert_eq!(error.code, "wrong_credentials");
    assert!(!error.message.is_empty() && !error.message_en.is_empty());
    let error = app.sign_in("  ", "").await.unwrap_err();
    assert_eq!(error.code, "missing_credentials");

    let account = app.sign_in("13900000000", PASSWORD).await.unwrap();
    assert_eq!(account.kind.as_str(), "face_signed");
    assert!(account
        .functions
        .iter()
        .any(|f| f.function == "electronic_licence" && f.allowed));
    assert_eq!(app.home().await.unwrap().step, JourneyStep::Apply);

    // The registry holds no photo of this driver: the platform says so, and what to do.
    let error = app
        .submit(PhotoSource::OnFile, &no_progress)
        .await
        .unwrap_err();
    assert_eq!(
        (error.code.as_str(), error.next.as_deref()),
        ("no_photo_on_file", Some("upload_photo"))
    );
    assert!(error.message.contains("相册"), "{}", error.message);

    // Submitting an album photo needs a checked one first.
    let error = app
        .submit(PhotoSource::Album, &no_progress)
        .await
        .unwrap_err();
    assert_eq!(error.code, "no_checked_photo");

    // A picture without a face: what to fix, and nothing kept to submit.
    let check = app
        .check_photo(PhotoSource::Album, &sample_photo())
        .unwrap();
    assert!(!check.compliant);
    assert!(
        check.problems.iter().any(|p| p.code == "no_face"),
        "{check:?}"
    );
    assert!(app.store().draft_photo().unwrap().is_none());

    // A real portrait: compliant, its crop shown, kept until the driver confirms.
    let check = app.check_photo(PhotoSource::Album, &portrait()).unwrap();
    assert!(check.compliant, "{check:?}");
    assert!(check.crop_jpeg_base64.is_some());

    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: Progress| seen.lock().unwrap().push(p);
    let submitted = app.submit(PhotoSource::Album, &progress).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Progress::Checking,
            Progress::Saved,
            Progress::Sending,
            Progress::Done
        ]
    );
    let application = submitted.application.expect("sent at once");
    assert_eq!(
        (
            application.status.as_str(),
            application.photo_source.as_str()
        ),
        ("submitted", "album")
    );
    assert_eq!(submitted.item.state, "sent");
    assert_eq!(submitted.waiting_reason, None);
    // The draft is used up.
    assert!(app.store().draft_photo().unwrap().is_none());

    let home = app.home().await.unwrap();
    assert_eq!(home.step, JourneyStep::Waiting);
    assert_eq!(home.latest.as_ref().map(|a| a.id), Some(application.id));
    assert!(home.pending.is_empty());

    // A second application while one is open: the platform's refusal, in its words.
    app.check_photo(PhotoSource::Camera, &portrait()).unwrap();
    let error = app
        .submit(PhotoSource::Camera, &no_progress)
        .await
        .unwrap_err();
    assert_eq!(error.code, "application_open");
    assert!(error.message.contains("您已有"), "{}", error.message);

    // 我的驾驶证, with the fields shown as a driver reads them.
    let licence = app.my_licence().await.unwrap();
    let expected = licence_loadgen::synthetic_person(0).unwrap();
    assert_eq!(licence.name, expected.name.as_str());
    assert_eq!(licence.number_masked, expected.id_number.masked());
    assert!(!licence.offline);
}

#[tokio::test]
async fn without_a_network_the_app_shows_what_it_last_fetched_and_keeps_the_application() {
    let p = Platform::start(&[]);
    let online = app(&p, "phone");
    online.sign_in("13900000001", PASSWORD).await.unwrap();
    online.my_licence().await.unwrap();
    let before = online.home().await.unwrap();
    drop(online);

    // Same device, the platform unreachable.
    let offline = DriverApp::open(&p.dir.path().join("phone"), "http://127.0.0.1:9")
        .unwrap()
        .with_trust_root(p.trust_root());
    let home = offline.home().await.unwrap();
    assert!(home.offline);
    assert_eq!(home.account, before.account);
    let licence = offline.my_licence().await.unwrap();
    assert!(licence.offline);

    // The photo check is on the device: it works offline too.
    assert!(
        offline
            .check_photo(PhotoSource::Album, &portrait())
            .unwrap()
            .compliant
    );
    let submitted = offline
        .submit(PhotoSource::Album, &no_progress)
        .await
        .unwrap();
    assert_eq!(submitted.application, None);
    assert_eq!(submitted.item.state, "waiting");
    assert_eq!(
        submitted.waiting_reason.map(|e| e.code).as_deref(),
        Some("network")
    );
    let home = offline.home().await.unwrap();
    assert_eq!(home.step, JourneyStep::Waiting);
    assert_eq!(home.pending.len(), 1);
    drop(offline);

    // The network is back: the background round sends it (once it is due).
    let back = app(&p, "phone");
    back.store()
        .defer(submitted.item.id, 0, "test: due now")
        .unwrap();
    let sent = back.send_outbox().await.unwrap();
    assert!(
        matches!(
            sent.as_slice(),
            [licence_client::outbox::Delivery::Sent { .. }]
        ),
        "{sent:?}"
    );
    let home = back.home().await.unwrap();
    assert!(!home.offline);
    assert_eq!(home.latest.map(|a| a.status).as_deref(), Some("submitted"));
}

#[tokio::test]
async fn a_waiting_application_is_sent_only_for_the_account_that_made_it() {
    let p = Platform::start(&[]);
    let first = app(&p, "phone");
    first.sign_in("13900000002", PASSWORD).await.unwrap();
    drop(first);
    // Offline: the eligibility is the account as last fetched, and the application waits.
    let offline = DriverApp::open(&p.dir.path().join("phone"), "http://127.0.0.1:9")
        .unwrap()
        .with_trust_root(p.trust_root());
    offline
        .check_photo(PhotoSource::Camera, &portrait())
        .unwrap();
    let waiting = offline
        .submit(PhotoSource::Camera, &no_progress)
        .await
        .unwrap();
    assert_eq!(waiting.item.state, "waiting");
    offline.sign_out(false).await.unwrap();
    drop(offline);

    // Someone else signs in on the device: the first driver's application is neither shown
    // nor sent under their account.
    let phone = app(&p, "phone");
    phone.sign_in("13900000003", PASSWORD).await.unwrap();
    phone
        .store()
        .defer(waiting.item.id, 0, "test: due now")
        .unwrap();
    assert!(phone.send_outbox().await.unwrap().is_empty());
    assert!(phone.outbox().unwrap().is_empty());
    assert_eq!(phone.home().await.unwrap().latest, None);

    // The first driver is back: it goes, as their application.
    phone.sign_out(false).await.unwrap();
    phone.sign_in("13900000002", PASSWORD).await.unwrap();
    let sent = phone.send_outbox().await.unwrap();
    assert!(
        matches!(
            sent.as_slice(),
            [licence_client::outbox::Delivery::Sent { .. }]
        ),
        "{sent:?}"
    );
    assert_eq!(phone.outbox().unwrap()[0].state, "sent");
    assert_eq!(
        phone
            .home()
            .await
            .unwrap()
            .latest
            .map(|a| a.status)
            .as_deref(),
        Some("submitted")
    );
}

#[tokio::test]
async fn registration_by_face_and_online_through_the_app() {
    let p = Platform::start(&[]);
    let app = app(&p, "phone");
    let person = p.newcomer(2_000);

    // What was typed is checked before anything is sent.
    let mut bad = person.clone();
    bad.id_number.replace_range(17.., "0");
    if bad.id_number == person.id_number {
        bad.id_number.replace_range(17.., "1");
    }
    let error = app
        .registration_code(RegistrationPath::FaceSign, &bad)
        .await
        .unwrap_err();
    assert_eq!(error.code, "id_check_mismatch");

    let sent = app
        .registration_code(RegistrationPath::FaceSign, &person)
        .await
        .unwrap();
    let digits = p.last_code(&person.mobile).await;
    let mut camera = PhotoPlayer::new(&[portrait()]).unwrap();
    let frames = DriverApp::liveness_frames(&mut camera).unwrap();
    let error = app
        .face_sign(
            &person,
            &sent.challenge_id,
            &digits,
            "Licence2026",
            false,
            frames.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, "consent_required");
    let account = app
        .face_sign(
            &person,
            &sent.challenge_id,
            &digits,
            "Licence2026",
            true,
            frames,
        )
        .await
        .unwrap();
    assert_eq!(account.kind.as_str(), "face_signed");
    assert_eq!(app.home().await.unwrap().step, JourneyStep::Apply);

    // Someone else on the same device, registered online: the first person's data is gone,
    // and the e-licence is visibly unavailable with the way to unlock it (R2.7).
    app.sign_out(false).await.unwrap();
    assert_eq!(app.home().await.unwrap().account, None);
    let other = p.newcomer(2_001);
    let sent = app
        .registration_code(RegistrationPath::Online, &other)
        .await
        .unwrap();
    let digits = p.last_code(&other.mobile).await;
    let account = app
        .register_online(&sent.challenge_id, &digits, "Licence2026")
        .await
        .unwrap();
    assert_eq!(account.kind.as_str(), "online_registered");
    let elicence = account
        .functions
        .iter()
        .find(|f| f.function == "electronic_licence")
        .unwrap();
    assert!(!elicence.allowed);
    let error = app
        .submit(PhotoSource::OnFile, &no_progress)
        .await
        .unwrap_err();
    assert_eq!(
        Some(error.code.as_str()),
        elicence.denial.as_ref().map(|d| d.code.as_str())
    );
    assert!(
        app.outbox().unwrap().is_empty(),
        "a refused application is not kept"
    );
}

#[tokio::test]
async fn registration_with_alipay_needs_the_same_person_on_the_alipay_account() {
    let p = Platform::start(&[]);
    let person = p.newcomer(2_100);

    // No Alipay on this device: said plainly, nothing sent.
    let without = app(&p, "plain");
    let error = without
        .register_alipay(&person, &person, "Licence2026")
        .await
        .unwrap_err();
    assert_eq!(error.code, "alipay_unavailable");

    let phone = app(&p, "phone").with_alipay_app(&p.sandbox).unwrap();
    // Someone else's Alipay account: refused, and no account made.
    let mut other = p.newcomer(2_101);
    other.mobile = person.mobile.clone();
    let error = phone
        .register_alipay(&person, &other, "Licence2026")
        .await
        .unwrap_err();
    assert_eq!(error.code, "alipay_person_mismatch");
    assert_eq!(phone.home().await.unwrap().account, None);

    let account = phone
        .register_alipay(&person, &person, "Licence2026")
        .await
        .unwrap();
    assert_eq!(account.kind.as_str(), "online_registered");
    assert_eq!(account.name, person.name);
    assert_eq!(phone.home().await.unwrap().step, JourneyStep::Apply);
}

/// A newcomer registered online on a device of their own.
async fn registered_online(p: &Platform, i: usize, phone: &str) -> DriverApp {
    let app = app(p, phone);
    let person = p.newcomer(i);
    let sent = app
        .registration_code(RegistrationPath::Online, &person)
        .await
        .unwrap();
    let digits = p.last_code(&person.mobile).await;
    app.register_online(&sent.challenge_id, &digits, "Licence2026")
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn an_online_registered_driver_upgrades_by_face_or_else_by_id_card_review() {
    let p = Platform::start(&[]);
    let frames =
        || DriverApp::liveness_frames(&mut PhotoPlayer::new(&[portrait()]).unwrap()).unwrap();

    // 实人认证 works: face-signed at once, and the e-licence opens up.
    let app = registered_online(&p, 2_200, "one").await;
    let error = app
        .upgrade_by_face("2020-01-01到长期", frames())
        .await
        .unwrap_err();
    assert!(error.code.starts_with("id_card_validity"), "{error:?}");
    let account = app
        .upgrade_by_face("2020-01-01至长期", frames())
        .await
        .unwrap();
    assert_eq!(account.kind.as_str(), "face_signed");
    assert!(account
        .functions
        .iter()
        .any(|f| f.function == "electronic_licence" && f.allowed));
    assert_eq!(app.account().await.unwrap().kind.as_str(), "face_signed");

    // The face check keeps failing: after the third failure the way on is the ID card review.
    let app = registered_online(&p, 2_201, "two").await;
    p.script("identity", "fail", 3).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            app.upgrade_by_face("2020-01-01至长期", frames())
                .await
                .unwrap_err(),
        );
    }
    let last = last.unwrap();
    assert_eq!(last.next.as_deref(), Some("id_card_review"), "{last:?}");
    let review = app
        .submit_id_card_review("2020-01-01至长期", &portrait(), &sample_photo())
        .await
        .unwrap();
    assert_eq!(review.state, "pending");
    assert_eq!(app.id_card_reviews().await.unwrap(), [review]);
    assert_eq!(
        app.account().await.unwrap().kind.as_str(),
        "online_registered"
    );
}

#[tokio::test]
async fn a_review_result_is_announced_once_even_when_it_arrives_before_the_listener_looks() {
    let p = Platform::start(&[]);
    // Driver 1's photo on file has no face: the platform's check rejects at once (R3.5).
    let mut entry = licence_loadgen::synthetic_person(1).unwrap();
    entry.photo = Some(sample_photo());
    let registry =
        licence_server::store::SqliteStore::open(&p.dir.path().join("platform.sqlite")).unwrap();
    licence_server::store::RegistryStore::put_registry_entry(&registry, &entry).unwrap();

    let app = app(&p, "phone");
    app.sign_in("13900000001", PASSWORD).await.unwrap();
    app.submit(PhotoSource::OnFile, &no_progress).await.unwrap();
    // Let the rejection arrive before the listener's first look.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.inbox(0, 1).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no result message");
    }
    let news = app.new_messages(0).await.unwrap();
    assert_eq!(news.len(), 1, "{news:?}");
    assert!(news[0].body.contains("未通过"), "{}", news[0].body);
    assert!(
        app.new_messages(0).await.unwrap().is_empty(),
        "announced once"
    );
    let latest = app.home().await.unwrap().latest.unwrap();
    assert_eq!(latest.status, "rejected");
    assert_eq!(latest.reasons[0].code, "photo_not_compliant");
    assert_eq!(app.home().await.unwrap().step, JourneyStep::Apply);
    drop(app);

    // Restarted: still announced once. Signed in anew later: the old result is history.
    let again = self::app(&p, "phone");
    assert!(again.new_messages(0).await.unwrap().is_empty());
    again.sign_out(false).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    again.sign_in("13900000001", PASSWORD).await.unwrap();
    assert!(again.new_messages(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn tokens_rest_sealed_and_signing_out_everywhere_ends_every_device() {
    let p = Platform::start(&[]);
    let phone = app(&p, "phone");
    let tablet = app(&p, "tablet");
    phone.sign_in("13900000002", PASSWORD).await.unwrap();
    tablet.sign_in("13900000002", PASSWORD).await.unwrap();
    // What the database file holds is no token a copy of it could use.
    let stored: String = rusqlite::Connection::open(p.dir.path().join("phone/app.sqlite"))
        .unwrap()
        .query_row("SELECT token FROM session", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    // The database copied to another device, without the device key, is signed in nowhere.
    let copy = p.dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(
        p.dir.path().join("phone/app.sqlite"),
        copy.join("app.sqlite"),
    )
    .unwrap();
    let copied = app(&p, "copy");
    assert_eq!(copied.account().await.unwrap_err().code, "not_signed_in");
    // The phone is lost: from the tablet, every device signs out.
    assert_eq!(phone.account().await.unwrap().mobile_masked, "139****0002");
    tablet.sign_out(true).await.unwrap();
    assert_eq!(phone.account().await.unwrap_err().code, "not_signed_in");
    assert_eq!(tablet.account().await.unwrap_err().code, "not_signed_in");
}
