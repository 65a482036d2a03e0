//! From approval to a QR code an officer trusts: the credential bound to the device, the public
//! trust list and status list, and the red status when the registry's standing changes.

mod common;

use base64::Engine;
use common::*;
use licence_credential::{
    verify, DeviceKey, Presentation, StatusList, TrustList, VerdictCode, VerifyOptions,
};
use serde_json::{json, Value};

fn public_bytes(p: &Platform, path: &str) -> (Vec<u8>, String, String) {
    let r = p.http.get(format!("{}{path}", p.base)).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
    (r.bytes().unwrap().to_vec(), kind, cache)
}

/// A reviewer on duty, and face-signed demo driver 0 with a device of their own registered:
/// the driver's token, the device's key and its id.
fn driver_with_device(p: &Platform) -> (String, DeviceKey, Value) {
    p.add_staff("review01", "李警官", "reviewer");
    let token = face_signed(p, 0);
    let device = DeviceKey::generate(&mut rand_core::OsRng);
    let key = base64::engine::general_purpose::STANDARD.encode(device.public_key());
    let added: Value = p
        .post_as(
            &token,
            "/api/v1/me/devices",
            json!({"public_key": key, "name": "张伟的手机"}),
        )
        .json()
        .unwrap();
    (token, device, added["id"].clone())
}

/// The driver applies with a good photo and a reviewer approves it; the application's id.
fn approve_an_application(p: &Platform, token: &str) -> Value {
    let application = under_review(p, token);
    let reviewer = sign_in_staff(p, "review01", STAFF_PASSWORD).ok().unwrap();
    let csrf = reviewer.csrf();
    reviewer.post(
        &format!("/console/applications/{application}"),
        &[("csrf", &csrf), ("decision", "approve")],
    );
    application
}

/// What `POST /me/credential` answers for `device_id` (the holder's registered device).
fn issued_json(p: &Platform, token: &str, device_id: &Value) -> Value {
    let r = p.post_as(
        token,
        "/api/v1/me/credential",
        json!({"device_id": device_id}),
    );
    assert_eq!(r.status().as_u16(), 201);
    r.json().unwrap()
}

/// A credential for `device_id` (the holder's registered device), as issued: kid and bytes.
fn issue(p: &Platform, token: &str, device_id: &Value) -> (String, Vec<u8>) {
    let issued = issued_json(p, token, device_id);
    let signed = base64::engine::general_purpose::STANDARD
        .decode(issued["credential"].as_str().unwrap())
        .unwrap();
    (issued["kid"].as_str().unwrap().to_owned(), signed)
}

#[test]
fn a_key_rotation_keeps_the_old_keys_credentials_verifying_with_their_own_list() {
    let mut p = Platform::start();
    let (token, device, device_id) = driver_with_device(&p);
    approve_an_application(&p, &token);
    let (old_kid, old_credential) = issue(&p, &token, &device_id);

    // The new key signs from now; the old one stays for its own credentials' status.
    let old_key = p.db.with_extension("issuer.key");
    let new_key = p.db.with_extension("issuer-2.key");
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a kid of its own (dev-<time>)
    p.restart_with(&[
        "--issuer-key",
        new_key.to_str().unwrap(),
        "--retired-issuer-key",
        old_key.to_str().unwrap(),
    ]);
    let (trust, _, _) = public_bytes(&p, "/api/v1/trust-list");
    let trust = TrustList::open(&trust, &p.trust_root()).unwrap();
    assert_eq!(trust.issuers.len(), 2, "{trust:?}");
    let list_of = |kid: &str| {
        let (bytes, _, _) = public_bytes(&p, &format!("/api/v1/status-list?kid={kid}"));
        StatusList::verify(&bytes, &trust).unwrap()
    };
    let old_list = list_of(&old_kid);
    assert_eq!(old_list.issuer(), Some(old_kid.as_str()));
    let (new_kid, new_credential) = issue(&p, &token, &device_id);
    assert_ne!(new_kid, old_kid);
    let (default, _, _) = public_bytes(&p, "/api/v1/status-list");
    let new_list = StatusList::verify(&default, &trust).unwrap();
    assert_eq!(new_list.issuer(), Some(new_kid.as_str()));
    expect_error(
        p.http
            .get(format!("{}/api/v1/status-list?kid=nobody", p.base))
            .send()
            .unwrap(),
        404,
        "unknown_issuer_key",
    );

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let lists = [old_list, new_list];
    for credential in [&old_credential, &new_credential] {
        let qr = Presentation::generate(credential, &device, now).to_text();
        let result = verify(&qr, &trust, &lists, now, VerifyOptions::default());
        assert_eq!(result.verdict, VerdictCode::Valid, "{result:?}");
    }
    // The new key's list does not speak for the old key's credential.
    let qr = Presentation::generate(&old_credential, &device, now).to_text();
    let result = verify(&qr, &trust, &lists[1..], now, VerifyOptions::default());
    assert_eq!(result.verdict, VerdictCode::StatusUnknown);
}

#[test]
fn an_approved_driver_gets_a_device_bound_credential_that_verifies_and_turns_red() {
    let p = Platform::start();
    let (token, device, device_id) = driver_with_device(&p);

    // Not before approval.
    let early = p.post_as(
        &token,
        "/api/v1/me/credential",
        json!({"device_id": device_id}),
    );
    assert_eq!(
        expect_error(early, 409, "no_approved_application")["next"],
        "apply"
    );

    let application = approve_an_application(&p, &token);

    // Someone else's device id does not work; the holder's does.
    expect_error(
        p.post_as(&token, "/api/v1/me/credential", json!({"device_id": 999})),
        404,
        "device_not_found",
    );
    let r = p.post_as(
        &token,
        "/api/v1/me/credential",
        json!({"device_id": device_id}),
    );
    assert_eq!(r.status().as_u16(), 201);
    let issued: Value = r.json().unwrap();
    assert!(
        issued["kid"].as_str().unwrap().starts_with("dev-"),
        "{issued}"
    );
    let days =
        (issued["not_after"].as_i64().unwrap() - issued["not_before"].as_i64().unwrap()) / 86_400;
    assert_eq!(days, 7);
    let app: Value = p
        .get_as(&token, &format!("/api/v1/applications/{application}"))
        .json()
        .unwrap();
    assert_eq!(app["status"], "issued");

    // What an officer's verifier caches, from the public endpoints.
    let (trust, kind, cache) = public_bytes(&p, "/api/v1/trust-list");
    assert_eq!(
        (kind.as_str(), cache.as_str()),
        ("application/cose", "public, max-age=3600")
    );
    // Signed by the development trust root made beside the database; unsigned it is refused.
    let trust = TrustList::open(&trust, &p.trust_root()).unwrap();
    assert_eq!(
        TrustList::open(&trust.to_cbor(), &p.trust_root()),
        Err(licence_credential::CredentialError::Malformed(
            "not a COSE_Sign1 with ES256 and a kid"
        ))
    );
    let (from, until) = (trust.issuers[0].valid_from, trust.issuers[0].valid_until);
    assert!(
        until - from > 3600 * 86_400 && trust.sequence > 0,
        "a fixed ten-year window: {trust:?}"
    );
    let (status, kind, cache) = public_bytes(&p, "/api/v1/status-list");
    assert_eq!(
        (kind.as_str(), cache.as_str()),
        ("application/cose", "public, max-age=60")
    );
    let status = StatusList::verify(&status, &trust).unwrap();

    // The device makes a presentation; the verifier says valid, and shows the holder.
    let signed = base64::engine::general_purpose::STANDARD
        .decode(issued["credential"].as_str().unwrap())
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let offline = |qr: &str, status: &StatusList| {
        verify(
            qr,
            &trust,
            std::slice::from_ref(status),
            now,
            VerifyOptions::default(),
        )
    };
    let qr = Presentation::generate(&signed, &device, now).to_text();
    let result = offline(&qr, &status);
    assert_eq!(result.verdict, VerdictCode::Valid, "{result:?}");
    let holder = result.credential.unwrap();
    assert_eq!(holder.licence.record().name.as_str(), demo_person(0).0);
    assert!(!holder.portrait_jpeg.is_empty());
    // Another device cannot present it.
    let thief = DeviceKey::generate(&mut rand_core::OsRng);
    let stolen = Presentation::generate(&signed, &thief, now).to_text();
    assert_eq!(
        offline(&stolen, &status).verdict,
        VerdictCode::BadDeviceSignature
    );

    // The registry records 12 points but has not set B yet: the list says 超分 all the same.
    let (name, id, mobile) = demo_person(0);
    p.import(
        &format!("{id},{name},{mobile},中国,北京市朝阳区,2012-06-18,C1,2018-06-18至2028-06-18,12,A,北京市公安局公安交通管理局,110105100000,\n"),
        &[],
    );
    let (status, _, _) = public_bytes(&p, "/api/v1/status-list");
    let status = StatusList::verify(&status, &trust).unwrap();
    let result = offline(&qr, &status);
    assert_eq!(result.verdict, VerdictCode::StatusAbnormal, "{result:?}");
    assert_eq!(
        result.status,
        licence_credential::StatusReport::Abnormal {
            codes: Some("B".into())
        }
    );

    // The registry records 12 points and B: the same QR stays abnormal (red).
    p.import(
        &format!("{id},{name},{mobile},中国,北京市朝阳区,2012-06-18,C1,2018-06-18至2028-06-18,12,B,北京市公安局公安交通管理局,110105100000,\n"),
        &[],
    );
    let (status, _, _) = public_bytes(&p, "/api/v1/status-list");
    let status = StatusList::verify(&status, &trust).unwrap();
    let result = offline(&qr, &status);
    assert_eq!(result.verdict, VerdictCode::StatusAbnormal, "{result:?}");

    // The officer's online check says the same, with the holder and the live standing.
    p.add_staff("police01", "赵警官", "officer");
    let check =
        |token: &str, qr: &str| p.post_as(token, "/api/v1/officer/checks", json!({"qr_text": qr}));
    expect_error(check(&token, &qr), 401, "officer_sign_in_required");
    let wrong = p.post(
        "/api/v1/officer/sessions",
        json!({"username": "police01", "password": "Wrong2026x"}),
    );
    expect_error(wrong, 401, "wrong_credentials");
    let officer: Value = p
        .post(
            "/api/v1/officer/sessions",
            json!({"username": "police01", "password": STAFF_PASSWORD}),
        )
        .json()
        .unwrap();
    let officer = officer["token"].as_str().unwrap();
    let fresh = Presentation::generate(
        &signed,
        &device,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )
    .to_text();
    let online: Value = check(officer, &fresh).json().unwrap();
    assert_eq!(
        (online["valid"].as_bool(), online["verdict"].as_str()),
        (Some(false), Some("status_abnormal")),
        "{online}"
    );
    assert_eq!(online["holder"]["name"], demo_person(0).0);
    assert_eq!(
        (
            online["live_status"].as_str(),
            online["live_points"].as_u64()
        ),
        (Some("B"), Some(12))
    );
    // A screenshot of an old code, and a tampered one.
    let old = Presentation::generate(&signed, &device, now - 120).to_text();
    assert_eq!(
        check(officer, &old).json::<Value>().unwrap()["verdict"],
        "presentation_too_old"
    );
    let mut tampered = fresh.clone().into_bytes();
    let last = tampered.len() - 10;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_ne!(
        check(officer, &tampered).json::<Value>().unwrap()["verdict"],
        "valid"
    );
    // Back to normal in the registry: the online check says valid at once.
    p.import(
        &format!("{id},{name},{mobile},中国,北京市朝阳区,2012-06-18,C1,2018-06-18至2028-06-18,0,A,北京市公安局公安交通管理局,110105100000,\n"),
        &[],
    );
    let fresh = Presentation::generate(
        &signed,
        &device,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )
    .to_text();
    let online: Value = check(officer, &fresh).json().unwrap();
    assert_eq!(online["verdict"], "valid", "{online}");

    // Revoked (吊销): the officer's check says invalid, and no credential is issued or renewed.
    p.import(
        &format!("{id},{name},{mobile},中国,北京市朝阳区,2012-06-18,C1,2018-06-18至2028-06-18,0,F,北京市公安局公安交通管理局,110105100000,\n"),
        &[],
    );
    let online: Value = check(officer, &fresh).json().unwrap();
    assert_eq!(online["verdict"], "status_invalid", "{online}");
    let refused = expect_error(
        p.post_as(
            &token,
            "/api/v1/me/credential",
            json!({"device_id": device_id}),
        ),
        409,
        "licence_withdrawn",
    );
    assert!(
        refused["message"].as_str().unwrap().contains("吊销"),
        "{refused}"
    );
}

#[test]
fn the_status_list_is_public_and_never_smaller_than_1024() {
    let p = Platform::start();
    let (status, _, _) = public_bytes(&p, "/api/v1/status-list");
    let (trust, _, _) = public_bytes(&p, "/api/v1/trust-list");
    let list =
        StatusList::verify(&status, &TrustList::open(&trust, &p.trust_root()).unwrap()).unwrap();
    assert_eq!(list.len(), 1024);
}

/// The status list at `base`, asked with `held` as If-None-Match: status, ETag, body.
fn status_list_at(p: &Platform, base: &str, held: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut request = p.http.get(format!("{base}/api/v1/status-list"));
    if let Some(etag) = held {
        request = request.header("if-none-match", etag);
    }
    let r = request.send().unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    (r.status().as_u16(), etag, r.bytes().unwrap().to_vec())
}

#[test]
fn instances_serve_the_same_status_list_and_a_device_that_holds_it_gets_a_304() {
    let p = Platform::start_with(&["--status-list-every", "60"]);
    let (token, _device, device_id) = driver_with_device(&p);
    approve_an_application(&p, &token);
    issue(&p, &token, &device_id);
    let trust =
        TrustList::open(&public_bytes(&p, "/api/v1/trust-list").0, &p.trust_root()).unwrap();

    let (status, etag, list) = status_list_at(&p, &p.base, None);
    assert_eq!(status, 200);
    assert_eq!(etag, licence_credential::document_etag(&list));
    // The device holds it: 304, nothing to download, the same tag.
    let held = status_list_at(&p, &p.base, Some(&etag));
    assert_eq!(
        (held.0, held.1.as_str(), held.2.len()),
        (304, etag.as_str(), 0)
    );
    // A second instance behind the same load balancer signs the very same list.
    let second = p.another_instance();
    assert_eq!(
        status_list_at(&p, &second.base, None),
        (200, etag.clone(), list.clone())
    );
    assert_eq!(status_list_at(&p, &second.base, Some(&etag)).0, 304);

    // The registry revokes the licence. The instances serve their lists from memory until
    // their next reading of the registry (a minute here, ten seconds by default)...
    let (name, id, mobile) = demo_person(0);
    p.import(
        &format!("{id},{name},{mobile},中国,北京市朝阳区,2012-06-18,C1,2018-06-18至2028-06-18,0,E,北京市公安局公安交通管理局,110105100000,\n"),
        &[],
    );
    assert_eq!(status_list_at(&p, &p.base, Some(&etag)).0, 304);
    // ...and an instance that reads it now signs a new list, stamped later, saying so.
    let third = p.another_instance();
    let (status, changed, bytes) = status_list_at(&p, &third.base, Some(&etag));
    assert_eq!(status, 200);
    assert_ne!(changed, etag);
    let before = StatusList::verify(&list, &trust).unwrap();
    let after = StatusList::verify(&bytes, &trust).unwrap();
    assert!(after.issued_at > before.issued_at, "{after:?}");
    assert!(after.may_replace(&before).unwrap());
    assert_ne!(after, before);
}

#[test]
fn the_licence_photo_changes_once_in_six_months_and_the_photo_on_file_is_always_allowed() {
    let p = Platform::start();
    let (token, _, device_id) = driver_with_device(&p);
    // The first e-licence is issued with a photo the driver took: the photo changed today.
    approve_an_application(&p, &token);
    issue(&p, &token, &device_id);
    let apply = |key: &str, source: &str| {
        let mut body = json!({"idempotency_key": key, "photo_source": source});
        if source != "on_file" {
            body["photo"] = json!(b64(&good_photo()));
        }
        p.post_as(&token, "/api/v1/applications", body)
    };
    let refused = expect_error(apply("again", "album"), 409, "photo_changed_recently");
    assert_eq!(refused["next"], "use_photo_on_file");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("6个月内只能更换一次") && message.contains("档案照片"),
        "{refused}"
    );
    // When it may change again: six months from today, in China.
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    let next = licence_core::calendar::add_months(today, 6);
    assert!(message.contains(&next.to_string()), "{refused}");
    // The photo on file is always allowed.
    with_photo_on_file(&p, 0);
    assert_eq!(apply("on-file", "on_file").status().as_u16(), 201);
}

#[test]
fn the_same_licence_comes_as_an_mdl_a_reader_verifies_against_the_published_iaca_root() {
    use licence_mdoc::session::SessionTranscript;
    use licence_mdoc::{
        verify_response, DeviceResponse, Disclosure, IacaRoot, IssuerSigned, ISO_NAMESPACE,
    };
    let p = Platform::start();
    let (token, device, device_id) = driver_with_device(&p);
    approve_an_application(&p, &token);
    let issued = issued_json(&p, &token, &device_id);
    let mdoc = base64::engine::general_purpose::STANDARD
        .decode(
            issued["mdoc"]
                .as_str()
                .expect("an mDL beside the credential"),
        )
        .unwrap();
    let mdoc = IssuerSigned::from_bytes(&mdoc).unwrap();

    // The root a verifier abroad is given: public, PEM, with an ETag.
    let (pem, kind, _) = public_bytes(&p, "/api/v1/mdoc/iaca");
    assert_eq!(kind, "application/x-pem-file");
    let root = IacaRoot::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    assert_eq!(root.country().as_deref(), Some("CN"));

    // The holder's device presents it to a rental desk in a session; the reader checks it.
    let session = SessionTranscript::for_qr(b"\xa0", b"\xa1\x01\x02");
    let key = p256::ecdsa::SigningKey::from_slice(&device.secret_bytes()).unwrap();
    let (response, _) =
        DeviceResponse::build(&mdoc, None, Disclosure::RentalDesk, &key, &session).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let docs = verify_response(&response, &session, std::slice::from_ref(&root), now).unwrap();
    let shown = |id: &str| docs[0].element(ISO_NAMESPACE, id).cloned();
    assert_eq!(
        shown("family_name"),
        Some(ciborium::Value::Text("ZHANG".into()))
    );
    assert_eq!(
        shown("family_name_national_character"),
        Some(ciborium::Value::Text("张".into()))
    );
    assert!(shown("portrait").is_some());
    assert_eq!(shown("document_number"), None, "not for a rental desk");
    // Valid as long as the credential, not longer.
    assert_eq!(
        docs[0].valid_until.unix_timestamp(),
        issued["not_after"].as_i64().unwrap()
    );
    // Another device cannot present it.
    let thief = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let (stolen, _) =
        DeviceResponse::build(&mdoc, None, Disclosure::Everything, &thief, &session).unwrap();
    assert_eq!(
        verify_response(&stolen, &session, &[root], now).unwrap_err(),
        licence_mdoc::MdocError::BadDeviceSignature
    );
}
