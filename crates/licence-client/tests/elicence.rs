//! 出示使用 and 执勤民警核验 against the real platform: the credential fetched after approval and
//! bound to this device, the QR made on the device with no network, and the officer's
//! verifier telling a good code from an old screenshot, a copy on another phone, a tampered
//! code, a licence at 12 points and a revoked one — offline and online.

use std::time::{Duration, Instant};

use base64::Engine;
use licence_client::app::{DriverApp, PhotoSource};
use licence_client::device::FileVault;
use licence_client::views::{ElicenceView, Progress};
use licence_credential::{DeviceKey, Presentation};
use licence_photo::testdata;

mod common;
use common::{now, Platform, PASSWORD, STAFF_PASSWORD};

fn app(p: &Platform, name: &str) -> DriverApp {
    DriverApp::open(
        &p.dir.path().join(name),
        &format!("http://{}", p.server.address),
    )
    .unwrap()
    .with_trust_root(p.trust_root())
}

fn no_progress(_: Progress) {}

/// The QR picture as a phone's screen shows it: four screen pixels a module.
fn screen_png(view: &ElicenceView) -> Vec<u8> {
    let png = base64::engine::general_purpose::STANDARD
        .decode(view.qr_png_base64.as_ref().expect("a QR code"))
        .unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!(img.width(), view.qr_modules);
    let big = img.resize(
        img.width() * 4,
        img.height() * 4,
        image::imageops::FilterType::Nearest,
    );
    let mut out = Vec::new();
    big.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The QR text of what the driver's phone shows at `at`.
fn qr_text(view: &ElicenceView) -> String {
    licence_client::officer::read_picture(&screen_png(view)).unwrap()
}

/// Seeded driver 0 applies with a checked photo and a reviewer approves it.
async fn approved_driver(p: &Platform) -> DriverApp {
    p.add_staff("review01", "李警官", "reviewer");
    let driver = app(p, "phone");
    driver.sign_in("13900000000", PASSWORD).await.unwrap();
    let portrait = testdata::encode(&testdata::portrait(2.0).0, image::ImageFormat::Jpeg);
    assert!(
        driver
            .check_photo(PhotoSource::Album, &portrait)
            .unwrap()
            .compliant
    );
    let submitted = driver
        .submit(PhotoSource::Album, &no_progress)
        .await
        .unwrap();
    let id = submitted.application.unwrap().id;

    // Before approval: nothing to show, and the refresh says why without failing.
    let refresh = driver.refresh_elicence().await.unwrap();
    assert!(!refresh.issued);
    assert_eq!(driver.elicence().unwrap_err().code, "no_elicence");

    let deadline = Instant::now() + Duration::from_secs(30);
    while driver.applications().await.unwrap()[0].status != "under_review" {
        assert!(Instant::now() < deadline, "the photo check never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.approve("review01", id).await;
    driver
}

#[tokio::test]
async fn the_approved_driver_shows_a_qr_the_officer_trusts_and_each_fault_has_its_own_verdict() {
    let p = Platform::start(&[]);
    let driver = approved_driver(&p).await;
    p.add_staff("officer01", "王警官", "officer");

    // Approved: the refresh registers this device and fetches the credential bound to it.
    let refresh = driver.refresh_elicence().await.unwrap();
    assert!(refresh.issued, "{refresh:?}");
    assert_eq!(refresh.problem, None);
    let shown = driver.elicence().unwrap();
    let expected = licence_loadgen::synthetic_person(0).unwrap();
    assert_eq!(shown.holder.name, expected.name.as_str());
    assert_eq!(shown.holder.number, expected.id_number.to_string());
    assert_eq!(
        (shown.standing.standing.as_str(), shown.qr_red),
        ("normal", false)
    );
    assert_eq!(shown.standing.text, "正常");
    assert_eq!((shown.refresh_seconds, shown.notice.clone()), (30, None));
    assert_eq!(shown.key_storage, "file");
    assert!(shown.valid_until - now() > 6 * 86_400);
    // The driver's own screen shows the approved photo in full colour, as the credential
    // signs it (the QR keeps its small portrait for the officer).
    let photo = base64::engine::general_purpose::STANDARD
        .decode(shown.photo_jpeg_base64.as_deref().unwrap())
        .unwrap();
    let photo = image::load_from_memory(&photo).unwrap();
    assert_eq!((photo.width(), photo.height()), (260, 378));
    assert!(photo.color().has_color());
    // The 副页's classes: those printed, marked, and those they include (C1 includes C2).
    let held: Vec<&str> = shown
        .holder
        .permitted
        .iter()
        .filter(|c| c.held)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(
        held.concat(),
        shown.holder.classes,
        "{:?}",
        shown.holder.permitted
    );
    if shown.holder.classes.contains("C1") {
        assert!(shown
            .holder
            .permitted
            .iter()
            .any(|c| c.code == "C2" && !c.held));
    }
    // The portrait the reviewer approved is in the credential.
    let portrait = base64::engine::general_purpose::STANDARD
        .decode(&shown.holder.portrait_jpeg_base64)
        .unwrap();
    assert_eq!(
        image::load_from_memory(&portrait).unwrap().width(),
        32,
        "the signed thumbnail"
    );
    // Nothing changed: a second refresh renews nothing.
    assert!(!driver.refresh_elicence().await.unwrap().issued);

    // With no network at all the page still works: a new code every time, same licence.
    let offline = DriverApp::open(&p.dir.path().join("phone"), "http://127.0.0.1:9")
        .unwrap()
        .with_trust_root(p.trust_root());
    let first = offline.elicence().unwrap();
    let refresh = offline.refresh_elicence().await.unwrap();
    assert_eq!(refresh.problem.map(|e| e.code), Some("network".into()));
    let later = offline.elicence_at(now() + 31).unwrap();
    assert_ne!(qr_text(&first), qr_text(&later));
    assert_eq!(later.holder, first.holder);

    // The officer signs in on another phone, which fetches the lists.
    let officer = app(&p, "officer-phone");
    assert_eq!(
        officer.verify_qr_text("DL1:X").await.unwrap_err().code,
        "officer_sign_in_required"
    );
    assert_eq!(
        officer
            .officer_sign_in("officer01", "wrong")
            .await
            .unwrap_err()
            .code,
        "wrong_credentials"
    );
    let on_duty = officer
        .officer_sign_in("officer01", STAFF_PASSWORD)
        .await
        .unwrap();
    assert!(on_duty.signed_in && on_duty.status_list_fresh);
    assert_eq!(on_duty.name.as_deref(), Some("王警官"));

    // A live code: green, offline and online, with the holder.
    let live = driver.elicence().unwrap();
    let seen = officer.verify_picture(&screen_png(&live)).await.unwrap();
    assert_eq!(
        (seen.result.light.as_str(), seen.result.verdict.as_str()),
        ("green", "valid"),
        "{seen:?}"
    );
    assert_eq!(seen.offline.verdict, "valid");
    let online = seen.online.clone().expect("online check");
    assert_eq!(online.live_status.as_deref(), Some("A"));
    assert_eq!(seen.holder.as_ref().unwrap().name, expected.name.as_str());
    assert!(seen.status_list_fresh);

    // The officer with no network: the same verdict from the device alone.
    let roadside = DriverApp::open(&p.dir.path().join("officer-phone"), "http://127.0.0.1:9")
        .unwrap()
        .with_trust_root(p.trust_root());
    let alone = roadside.verify_qr_text(&qr_text(&live)).await.unwrap();
    assert_eq!(alone.result.verdict, "valid");
    assert_eq!(alone.online_problem.map(|e| e.code), Some("offline".into()));

    let mut verdicts = vec![seen.result.verdict.clone()];

    // A screenshot of a code made 90 s ago.
    let old = driver.elicence_at(now() - 90).unwrap();
    let stale = officer.verify_qr_text(&qr_text(&old)).await.unwrap();
    assert_eq!(
        (stale.result.light.as_str(), stale.offline.verdict.as_str()),
        ("red", "presentation_too_old")
    );
    assert!(stale.result.text.contains("截图"), "{}", stale.result.text);
    verdicts.push(stale.result.verdict);

    // The credential copied to another phone, which signs with its own key.
    let copied = driver.store().credential(stored_account(&driver)).unwrap();
    let thief = DeviceKey::generate(&mut rand::rngs::OsRng);
    let text = Presentation::generate(&copied.unwrap().signed, &thief, now()).to_text();
    let copy = officer.verify_qr_text(&text).await.unwrap();
    assert_eq!(copy.result.verdict, "bad_device_signature");
    // Whose licence it claims to be is still shown.
    assert!(copy.holder.is_some());
    verdicts.push(copy.result.verdict);

    // A code altered after it was made.
    let genuine = qr_text(&driver.elicence().unwrap());
    let presentation = Presentation::from_text(&genuine).unwrap();
    let mut forged = presentation.credential.clone();
    let at = forged.len() / 2;
    forged[at] ^= 0x20;
    let tampered = Presentation {
        credential: forged,
        ..presentation
    };
    let altered = officer.verify_qr_text(&tampered.to_text()).await.unwrap();
    assert_eq!(altered.result.light, "red");
    assert!(
        ["bad_issuer_signature", "malformed"].contains(&altered.result.verdict.as_str()),
        "{altered:?}"
    );
    assert!(
        altered.holder.is_none(),
        "nothing of a forgery is shown as fact"
    );
    verdicts.push("tampered".into());

    // The registry records 12 points: the next lists say 超分, the phone's QR turns red.
    p.update_licence(0, |r| {
        r.points = licence_core::licence::Points::new(12).unwrap()
    });
    let refresh = driver.refresh_elicence().await.unwrap();
    assert!(refresh.changed);
    let red = driver.elicence().unwrap();
    assert_eq!(
        (red.standing.standing.as_str(), red.qr_red),
        ("abnormal", true)
    );
    assert_eq!(red.standing.text, "超分");
    officer.refresh_verifier_data().await.unwrap();
    let twelve = officer.verify_picture(&screen_png(&red)).await.unwrap();
    assert_eq!(
        (
            twelve.offline.verdict.as_str(),
            twelve.result.light.as_str()
        ),
        ("status_abnormal", "red")
    );
    assert_eq!(twelve.status_text.as_deref(), Some("超分"));
    assert_eq!(
        twelve.status_text_en.as_deref(),
        Some("12-point limit reached")
    );
    assert_eq!(twelve.online.unwrap().live_points, Some(12));
    verdicts.push(twelve.result.verdict);

    // Revoked (吊销): invalid, offline and online.
    p.update_licence(0, |r| r.status = "F".parse().unwrap());
    officer.refresh_verifier_data().await.unwrap();
    let revoked = officer
        .verify_qr_text(&qr_text(&driver.elicence().unwrap()))
        .await
        .unwrap();
    assert_eq!(revoked.offline.verdict, "status_invalid");
    assert_eq!(revoked.result.verdict, "status_invalid");
    verdicts.push(revoked.result.verdict);
    // Once the phone hears of it, the e-licence is withdrawn: no page, no QR, and why.
    driver.refresh_elicence().await.unwrap();
    let withdrawn = driver.elicence().unwrap_err();
    assert_eq!(withdrawn.code, "licence_withdrawn");
    assert!(
        withdrawn.message.contains("吊销") && withdrawn.message.contains("窗口"),
        "{withdrawn:?}"
    );
    assert!(withdrawn.message_en.contains("revoked"), "{withdrawn:?}");

    let mut distinct = verdicts.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), verdicts.len(), "{verdicts:?}");
}

fn stored_account(app: &DriverApp) -> i64 {
    app.store().session().unwrap().unwrap().account_id
}

#[tokio::test]
async fn the_device_key_binds_the_credential_and_an_expired_one_shows_no_code() {
    let p = Platform::start(&[]);
    let driver = approved_driver(&p).await;
    driver.refresh_elicence().await.unwrap();
    let shown = driver.elicence().unwrap();

    // Days later the credential nears its end, and past it no QR is made.
    let expiring = driver.elicence_at(shown.valid_until - 3600).unwrap();
    assert_eq!(
        expiring.notice.map(|n| n.code),
        Some("elicence_expiring".into())
    );
    assert!(expiring.qr_png_base64.is_some());
    let expired = driver.elicence_at(shown.valid_until + 1).unwrap();
    assert_eq!(
        expired.notice.as_ref().map(|n| n.code.as_str()),
        Some("elicence_expired")
    );
    assert_eq!(expired.qr_png_base64, None);

    // The key is lost (a restored phone): the credential is not shown as this device's, and
    // the session, which rested sealed under that key, is gone too: the driver signs in
    // again, and the next refresh registers the new key and fetches a credential bound to it.
    drop(driver);
    std::fs::remove_file(p.dir.path().join("phone").join("device.key")).unwrap();
    let restored = app(&p, "phone");
    let orphan = restored.elicence().unwrap();
    assert_eq!(
        orphan.notice.map(|n| n.code),
        Some("device_key_changed".into())
    );
    assert_eq!(orphan.qr_png_base64, None);
    assert!(!restored.refresh_elicence().await.unwrap().issued);
    assert_eq!(restored.account().await.unwrap_err().code, "not_signed_in");
    restored.sign_in("13900000000", PASSWORD).await.unwrap();
    assert!(restored.refresh_elicence().await.unwrap().issued);
    assert!(restored.elicence().unwrap().qr_png_base64.is_some());
    // The key file is readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p.dir.path().join("phone/device.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Another vault (as the OS key store is) keeps its own key: a device of its own.
    let other = DriverApp::open(
        &p.dir.path().join("phone"),
        &format!("http://{}", p.server.address),
    )
    .unwrap()
    .with_trust_root(p.trust_root())
    .with_key_vault(Box::new(FileVault::new(&p.dir.path().join("vault.key"))));
    assert_eq!(
        other.elicence().unwrap().notice.map(|n| n.code),
        Some("device_key_changed".into())
    );

    // Signing out takes the e-licence off the device.
    restored.sign_out(false).await.unwrap();
    assert_eq!(restored.elicence().unwrap_err().code, "not_signed_in");
    restored.sign_in("13900000000", PASSWORD).await.unwrap();
    assert_eq!(restored.elicence().unwrap_err().code, "no_elicence");
    let again = restored.refresh_elicence().await.unwrap();
    assert!(again.issued, "{again:?}");
    assert!(restored.elicence().unwrap().qr_png_base64.is_some());
}

/// 出示给其他核验方: a rental desk's reader scans the engagement QR, asks over the data channel
/// (here the test carries the bytes, as BLE would), and gets only what the holder chose,
/// verified against the platform's published IACA root.
#[tokio::test]
async fn the_holder_shows_a_rental_desk_only_what_it_chose_as_an_mdl() {
    use licence_mdoc::session::ReaderSession;
    use licence_mdoc::{verify_response, DeviceRequest, IacaRoot, CN_NAMESPACE, ISO_NAMESPACE};
    let p = Platform::start(&[]);
    let driver = approved_driver(&p).await;
    assert!(driver.refresh_elicence().await.unwrap().issued);

    assert_eq!(
        driver.mdoc_share("everything else").unwrap_err().code,
        "bad_disclosure_choice"
    );
    assert_eq!(
        driver.mdoc_exchange("AAAA").unwrap_err().code,
        "no_share_in_progress"
    );
    let share = driver.mdoc_share("rental_desk").unwrap();
    assert!(share.qr_text.starts_with("mdoc:"));
    let listed: Vec<&str> = share.shown.iter().map(|e| e.identifier.as_str()).collect();
    assert!(listed.contains(&"portrait") && listed.contains(&"driving_privileges"));
    assert!(!listed.contains(&"document_number") && !listed.contains(&"resident_address"));
    // The QR picture, as a screen shows it (four pixels a module), reads back as the
    // engagement.
    let png = base64::engine::general_purpose::STANDARD
        .decode(&share.qr_png_base64)
        .unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!(img.width(), share.qr_modules);
    let mut screen = Vec::new();
    img.resize(
        img.width() * 4,
        img.height() * 4,
        image::imageops::FilterType::Nearest,
    )
    .write_to(
        &mut std::io::Cursor::new(&mut screen),
        image::ImageFormat::Png,
    )
    .unwrap();
    assert_eq!(
        licence_client::officer::read_picture(&screen).unwrap(),
        share.qr_text
    );

    // The desk's reader asks for more than the holder chose.
    let mut reader = ReaderSession::from_qr(&share.qr_text, &mut rand::rngs::OsRng).unwrap();
    let request = DeviceRequest::for_mdl(&[
        (ISO_NAMESPACE, "family_name"),
        (ISO_NAMESPACE, "portrait"),
        (ISO_NAMESPACE, "document_number"),
        (ISO_NAMESPACE, "resident_address"),
        (CN_NAMESPACE, "licence_status"),
    ]);
    let establishment = reader.request(&request.to_bytes()).unwrap();
    let answer = driver
        .mdoc_exchange(&base64::engine::general_purpose::STANDARD.encode(establishment))
        .unwrap();
    let shown: Vec<&str> = answer.shown.iter().map(|e| e.identifier.as_str()).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    let data = base64::engine::general_purpose::STANDARD
        .decode(&answer.message_base64)
        .unwrap();
    let response = reader.open(&data).unwrap();
    let iaca = reqwest::get(format!("http://{}/api/v1/mdoc/iaca", p.server.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let root = IacaRoot::from_pem(&iaca).unwrap();
    let docs = verify_response(
        &response,
        reader.transcript(),
        &[root],
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert!(docs[0].element(ISO_NAMESPACE, "portrait").is_some());
    assert!(docs[0].element(ISO_NAMESPACE, "document_number").is_none());
    assert!(docs[0].element(CN_NAMESPACE, "licence_status").is_some());
    // The page now says what was shown; a second message to the same share is refused.
    let status = driver.mdoc_share_status().unwrap();
    assert_eq!(status.shared.unwrap().len(), 3);
    assert_eq!(
        driver.mdoc_exchange("AAAA").unwrap_err().code,
        "share_already_answered"
    );
    driver.mdoc_share_stop();
    assert_eq!(
        driver.mdoc_share_status().unwrap_err().code,
        "no_share_in_progress"
    );
}
