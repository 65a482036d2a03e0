//! licence-client against the real platform (`licence-server` on loopback, drivers seeded
//! into its database). The outbox: saved before sending, kept across an app restart and an
//! outage, `Retry-After` honoured, a resend after a lost answer recognised, a refusal for good
//! shown. 我的驾驶证: fetched, kept, shown offline, forgotten when the registry drops it.

use std::time::Duration;

use licence_client::api::Api;
use licence_client::app::PhotoSource;
use licence_client::camera::{liveness_frames, PhotoPlayer};
use licence_client::outbox::{queue_application, send_due, Delivery};
use licence_client::store::{ItemState, LocalStore};
use licence_client::ClientError;
use licence_loadgen::sample_photo;

mod common;
use common::{now, sign_in, Platform};

#[tokio::test]
async fn an_application_is_kept_across_a_restart_and_an_outage_then_sent_once() {
    let p = Platform::start(&[]);
    let api = p.api();
    let session = sign_in(&api, 0).await;
    assert_eq!(session.account_id, p.drivers[0].account);
    let t0 = now();
    let item = {
        let store = p.app_store();
        store.save_session(&session).unwrap();
        queue_application(&store, PhotoSource::Album, Some(&sample_photo()), t0).unwrap()
        // The app is closed here.
    };
    let store = p.app_store();
    assert_eq!(store.session().unwrap(), Some(session.clone()));
    assert_eq!(store.item(item).unwrap().unwrap().state, ItemState::Waiting);

    // The network is down: nothing is lost, and the next try waits 5 s (up to half as long
    // again, at random).
    let offline = Api::new("http://127.0.0.1:9", Duration::from_secs(2)).unwrap();
    let round = send_due(&store, &offline, &session.token, t0)
        .await
        .unwrap();
    let [Delivery::Deferred { until, error, .. }] = round.as_slice() else {
        panic!("{round:?}");
    };
    assert!((t0 + 5..=t0 + 7).contains(until), "{until} against {t0}");
    assert_eq!(error.code(), "network");
    let due = *until;
    assert!(send_due(&store, &api, &session.token, t0)
        .await
        .unwrap()
        .is_empty());

    // The answer to the next send is lost: the platform stored it, the app never heard.
    let waiting = store.item(item).unwrap().unwrap();
    let lost = reqwest::Client::new()
        .post(format!("http://{}/api/v1/applications", p.server.address))
        .bearer_auth(&session.token)
        .header("content-type", "application/json")
        .body(waiting.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(lost.status().as_u16(), 201);
    let stored: serde_json::Value = lost.json().await.unwrap();

    // Due again: the resend is recognised as the same application, not a second one.
    let round = send_due(&store, &api, &session.token, due).await.unwrap();
    assert_eq!(
        round,
        [Delivery::Sent {
            item,
            application_id: stored["id"].as_i64().unwrap()
        }]
    );
    assert_eq!(
        store.item(item).unwrap().unwrap().state,
        ItemState::Sent {
            application_id: stored["id"].as_i64().unwrap()
        }
    );
    let listed = api.applications(&session.token).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, stored["id"].as_i64().unwrap());
    assert_eq!(listed[0].photo_source, "album");
    // Sent items are not sent again.
    assert!(send_due(&store, &api, &session.token, t0 + 3600)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_surge_refusal_is_honoured_to_the_second_retry_after_says() {
    let p = Platform::start(&["--account-rate", "1", "--account-burst", "1"]);
    let api = p.api();
    let session = sign_in(&api, 1).await;
    let store = LocalStore::in_memory().unwrap();
    let t0 = now();
    let item = queue_application(&store, PhotoSource::OnFile, None, t0).unwrap();
    // The driver's one request this second is spent looking at the list.
    api.applications(&session.token).await.unwrap();
    let round = send_due(&store, &api, &session.token, t0).await.unwrap();
    let [Delivery::Deferred { until, error, .. }] = round.as_slice() else {
        panic!("{round:?}");
    };
    assert_eq!(*until, t0 + 1);
    assert_eq!(error.code(), "rate_limited");
    let ClientError::Server {
        status, message, ..
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*status, 429);
    assert!(message.contains("秒后再试"), "{message}");
    // Not before the time it was given.
    assert!(send_due(&store, &api, &session.token, t0)
        .await
        .unwrap()
        .is_empty());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let round = send_due(&store, &api, &session.token, t0 + 1)
        .await
        .unwrap();
    // The demo drivers have no photo on file, so the platform refuses this one for good,
    // which is itself an answer: it was sent when allowed.
    let [Delivery::Failed { error, .. }] = round.as_slice() else {
        panic!("{round:?}");
    };
    assert_eq!(error.code(), "no_photo_on_file");
    let failed = store.item(item).unwrap().unwrap();
    assert_eq!(failed.state, ItemState::Failed);
    assert_eq!(failed.attempts, 2);
    assert!(
        failed.last_error.as_deref().unwrap().contains("档案照片"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_second_open_application_fails_with_the_platforms_message_and_a_lapsed_session_waits() {
    let p = Platform::start(&[]);
    let api = p.api();
    let session = sign_in(&api, 2).await;
    let store = LocalStore::in_memory().unwrap();
    let t0 = now();
    let first = queue_application(&store, PhotoSource::Camera, Some(&sample_photo()), t0).unwrap();
    let second = queue_application(&store, PhotoSource::Album, Some(&sample_photo()), t0).unwrap();

    // A session the platform no longer knows: both wait for the driver to sign in again.
    let round = send_due(&store, &api, "not-a-session", t0).await.unwrap();
    assert_eq!(
        round,
        [
            Delivery::NeedsSignIn { item: first },
            Delivery::NeedsSignIn { item: second }
        ]
    );

    let round = send_due(&store, &api, &session.token, t0).await.unwrap();
    assert!(
        matches!(round[0], Delivery::Sent { item, .. } if item == first),
        "{round:?}"
    );
    let Delivery::Failed { item, error } = &round[1] else {
        panic!("{round:?}");
    };
    assert_eq!((*item, error.code()), (second, "application_open"));
    let failed = store.item(second).unwrap().unwrap();
    assert!(
        failed.last_error.as_deref().unwrap().contains("您已有一份"),
        "{failed:?}"
    );
    // Failed items are not retried.
    assert!(send_due(&store, &api, &session.token, t0 + 3600)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn without_a_network_the_pause_doubles_up_to_ten_minutes() {
    let store = LocalStore::in_memory().unwrap();
    let offline = Api::new("http://127.0.0.1:9", Duration::from_secs(2)).unwrap();
    let mut t = 1_000;
    let item = queue_application(&store, PhotoSource::OnFile, None, t).unwrap();
    let mut pauses = Vec::new();
    for _ in 0..9 {
        let round = send_due(&store, &offline, "token", t).await.unwrap();
        let [Delivery::Deferred { until, .. }] = round.as_slice() else {
            panic!("{round:?}");
        };
        pauses.push(until - t);
        t = *until;
    }
    // Each up to half as long again, at random.
    let doubling = [5, 10, 20, 40, 80, 160, 320, 600, 600];
    for (pause, least) in pauses.iter().zip(doubling) {
        assert!((least..=least + least / 2).contains(pause), "{pauses:?}");
    }
    let waiting = store.item(item).unwrap().unwrap();
    assert_eq!((waiting.state, waiting.attempts), (ItemState::Waiting, 9));
    assert!(waiting.last_error.unwrap().starts_with("network"));
}

#[tokio::test]
async fn the_licence_is_shown_from_the_platform_and_offline_as_last_fetched() {
    use licence_client::licence::my_licence;
    let p = Platform::start(&[]);
    let api = p.api();
    let session = sign_in(&api, 3).await;
    let store = p.app_store();
    let expected = licence_loadgen::synthetic_person(3)
        .unwrap()
        .licence
        .unwrap();

    let shown = my_licence(&store, &api, &session.token, 1_000)
        .await
        .unwrap();
    assert_eq!(shown.licence, expected);
    assert_eq!((shown.fetched_at, shown.offline), (1_000, false));

    // No network: the licence as fetched, marked offline with its time.
    let offline = Api::new("http://127.0.0.1:9", Duration::from_secs(2)).unwrap();
    let shown = my_licence(&store, &offline, &session.token, 5_000)
        .await
        .unwrap();
    assert_eq!(shown.licence, expected);
    assert_eq!((shown.fetched_at, shown.offline), (1_000, true));

    // A lapsed session is the platform's answer, not an outage: it is not papered over.
    let error = my_licence(&store, &api, "not-a-session", 6_000)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "session_expired");
    assert!(store.cached_licence().unwrap().is_some());

    // The registry no longer holds a licence for the driver: not shown, not even offline.
    let registry =
        licence_server::store::SqliteStore::open(&p.dir.path().join("platform.sqlite")).unwrap();
    let mut entry = licence_loadgen::synthetic_person(3).unwrap();
    entry.licence = None;
    licence_server::store::RegistryStore::put_registry_entry(&registry, &entry).unwrap();
    let error = my_licence(&store, &api, &session.token, 7_000)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "no_licence");
    assert_eq!(store.cached_licence().unwrap(), None);
    let error = my_licence(&store, &offline, &session.token, 8_000)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "network");

    // Nothing kept and no network: the network error.
    let fresh = LocalStore::in_memory().unwrap();
    let error = my_licence(&fresh, &offline, &session.token, 5_000)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "network");
}

#[tokio::test]
async fn a_newcomer_registers_by_face_with_the_camera_and_may_then_apply() {
    let p = Platform::start(&[]);
    let api = p.api();
    let person = p.newcomer(1_000);
    let code = api.face_sign_code(&person).await.unwrap();
    assert!(code.mobile_masked.contains("****"), "{code:?}");
    let digits = p.last_code(&person.mobile).await;
    // The liveness frames come from the camera: here a player of a real-sized portrait.
    let mut camera = PhotoPlayer::new(&[sample_photo()]).unwrap();
    let frames = liveness_frames(&mut camera, 3).unwrap();
    let error = api
        .face_sign(&person, &code, &digits, "Licence2026", false, &frames)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "consent_required");
    let session = api
        .face_sign(&person, &code, &digits, "Licence2026", true, &frames)
        .await
        .unwrap();
    // Face-signed: the application goes through.
    let store = LocalStore::in_memory().unwrap();
    queue_application(&store, PhotoSource::Camera, Some(&sample_photo()), now()).unwrap();
    let round = send_due(&store, &api, &session.token, now()).await.unwrap();
    assert!(
        matches!(round.as_slice(), [Delivery::Sent { .. }]),
        "{round:?}"
    );
}

#[tokio::test]
async fn after_three_face_failures_the_app_is_sent_to_online_registration_which_works() {
    let p = Platform::start(&[]);
    let api = p.api();
    let person = p.newcomer(1_001);
    let code = api.face_sign_code(&person).await.unwrap();
    let digits = p.last_code(&person.mobile).await;
    let frames = liveness_frames(&mut PhotoPlayer::new(&[sample_photo()]).unwrap(), 2).unwrap();
    p.script("identity", "fail", 3).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            api.face_sign(&person, &code, &digits, "Licence2026", true, &frames)
                .await
                .unwrap_err(),
        );
    }
    let Some(ClientError::Server {
        code: failure,
        next,
        ..
    }) = last
    else {
        panic!("{last:?}");
    };
    assert_eq!(
        (failure.as_str(), next.as_deref()),
        ("face_attempts_exhausted", Some("online_registration"))
    );

    let code = api.online_code(&person).await.unwrap();
    let digits = p.last_code(&person.mobile).await;
    let wrong = if digits == "000000" {
        "111111"
    } else {
        "000000"
    };
    let error = api
        .register_online(&code, wrong, "Licence2026")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "wrong_code");
    let session = api
        .register_online(&code, &digits, "Licence2026")
        .await
        .unwrap();
    // Online-registered: the e-licence needs 实人认证 first, and the platform says how (R2.7).
    let store = LocalStore::in_memory().unwrap();
    let item = queue_application(&store, PhotoSource::OnFile, None, now()).unwrap();
    let round = send_due(&store, &api, &session.token, now()).await.unwrap();
    let [Delivery::Failed { error, .. }] = round.as_slice() else {
        panic!("{round:?}");
    };
    assert_eq!(error.code(), "needs_face_sign");
    assert!(
        store
            .item(item)
            .unwrap()
            .unwrap()
            .last_error
            .unwrap()
            .contains("实人认证"),
        "the driver is told the way"
    );
}

#[tokio::test]
async fn a_photo_is_checked_on_the_device_and_only_its_compliant_crop_is_sent() {
    use licence_client::outbox::{queue_checked_photo, CheckedPhoto};
    use licence_photo::testdata;
    let p = Platform::start(&[]);
    let api = p.api();
    let session = sign_in(&api, 0).await;
    let store = LocalStore::in_memory().unwrap();
    let today = time::OffsetDateTime::now_utc().date();

    // No face in it: nothing is saved, and the driver is told what to fix.
    let CheckedPhoto::NeedsFixing(verdict) =
        queue_checked_photo(&store, PhotoSource::Album, &sample_photo(), today, now()).unwrap()
    else {
        panic!("a photo without a face was accepted");
    };
    assert!(!verdict.compliant);
    assert!(verdict.problems.iter().any(|p| !p.message.is_empty()));
    assert!(store.items().unwrap().is_empty());

    // A real portrait: its crop goes into the outbox, and the platform takes it.
    let portrait = testdata::encode(&testdata::portrait(2.0).0, image::ImageFormat::Jpeg);
    let CheckedPhoto::Queued { item, verdict } =
        queue_checked_photo(&store, PhotoSource::Camera, &portrait, today, now()).unwrap()
    else {
        panic!("the portrait was refused");
    };
    let crop = verdict.cropped_jpeg.unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&store.item(item).unwrap().unwrap().body).unwrap();
    assert_eq!(body["photo_source"], "camera");
    assert_eq!(
        body["photo"].as_str().unwrap(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &crop)
    );
    assert!(crop.len() < portrait.len());
    let round = send_due(&store, &api, &session.token, now()).await.unwrap();
    assert!(
        matches!(round.as_slice(), [Delivery::Sent { .. }]),
        "{round:?}"
    );
}
