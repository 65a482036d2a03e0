//! The credential from issuance to the officer's verdict: every verdict code, key rotation,
//! screenshots, and tampering with every byte.

use ciborium::Value;
use licence_core::licence::LicenceRecord;
use licence_core::testdata::sample_record;
use licence_core::{DrivingLicence, LicenceStatus};
use licence_credential::*;
use rand_core::OsRng;

mod common;
use common::{DAY, NOW};

struct World {
    issuer: IssuerKey,
    device: DeviceKey,
    trust: TrustList,
    credential: Credential,
    signed: Vec<u8>,
}

fn licence() -> DrivingLicence {
    DrivingLicence::new(LicenceRecord {
        classes: "C1E".parse().unwrap(),
        ..sample_record()
    })
    .unwrap()
}

fn world() -> World {
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let device = DeviceKey::generate(&mut OsRng);
    let trust = TrustList {
        issuers: vec![issuer.trusted(NOW - 365 * DAY, NOW + 365 * DAY)],
        ..Default::default()
    };
    let credential = Credential {
        licence: licence(),
        portrait_jpeg: (0..1200u32).map(|i| (i * 7 % 251) as u8).collect(),
        device_key: device.public_key(),
        not_before: NOW - DAY,
        not_after: NOW + 30 * DAY,
        status_index: 41,
        photo_digest: None,
    };
    let signed = credential.sign(&issuer).unwrap();
    World {
        issuer,
        device,
        trust,
        credential,
        signed,
    }
}

fn status_list(w: &World, status: &str) -> StatusList {
    let mut list = StatusList::new(1000, NOW - 3600, DAY);
    list.set(w.credential.status_index, status.parse().unwrap())
        .unwrap();
    StatusList::verify(&list.sign(&w.issuer).unwrap(), &w.trust).unwrap()
}

fn qr(w: &World, at: i64) -> String {
    Presentation::generate(&w.signed, &w.device, at).to_text()
}

fn verdict(text: &str, w: &World, status: Option<&StatusList>) -> VerdictCode {
    let lists: Vec<StatusList> = status.into_iter().cloned().collect();
    verify(text, &w.trust, &lists, NOW, VerifyOptions::default()).verdict
}

#[test]
fn a_fresh_presentation_of_a_normal_licence_is_valid_and_shows_the_holder() {
    let w = world();
    let list = status_list(&w, "A");
    let text = qr(&w, NOW - 5);
    assert!(text.starts_with("DL1:"));
    assert!(
        text.chars()
            .all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)),
        "alphanumeric QR mode"
    );
    let v = verify(
        &text,
        &w.trust,
        std::slice::from_ref(&list),
        NOW,
        VerifyOptions::default(),
    );
    assert_eq!(v.verdict, VerdictCode::Valid);
    assert!(v.valid());
    assert_eq!(v.credential.as_ref().unwrap(), &w.credential);
    assert_eq!(v.credential.unwrap().licence.record().name.as_str(), "张伟");
    assert_eq!(
        v.issuer_authority.as_deref(),
        Some("北京市公安局公安交通管理局")
    );
    assert_eq!(v.status, StatusReport::Normal);
    assert_eq!(v.generated_at, Some(NOW - 5));
}

#[test]
fn every_field_round_trips_through_cbor() {
    let w = world();
    assert_eq!(
        Credential::from_cbor(&w.credential.to_cbor()).unwrap(),
        w.credential
    );
    let p = Presentation::generate(&w.signed, &w.device, NOW);
    assert_eq!(Presentation::from_text(&p.to_text()).unwrap(), p);
    let list = status_list(&w, "HI");
    let (standing, codes) = list.get(41).unwrap();
    assert_eq!(
        (standing, codes.unwrap().to_string()),
        (licence_core::Standing::Abnormal, "HI".to_string())
    );
    assert_eq!(list.get(40).unwrap().0, licence_core::Standing::Normal);
    assert_eq!(list.get(1000), None);
    assert_eq!(TrustList::from_cbor(&w.trust.to_cbor()).unwrap(), w.trust);
}

#[test]
fn the_full_colour_photos_digest_is_signed_and_only_32_bytes_are_one() {
    let w = world();
    let with = Credential {
        photo_digest: Some([7; 32]),
        ..w.credential.clone()
    };
    let signed = with.sign(&w.issuer).unwrap();
    assert_eq!(Credential::open(&signed, &w.trust).unwrap(), with);
    // Field 17 of another length, or not bytes, is malformed; absent is an older credential.
    let with_field = |v: Value| {
        let Value::Map(mut fields) =
            ciborium::from_reader::<Value, _>(&w.credential.to_cbor()[..]).unwrap()
        else {
            panic!("a map")
        };
        fields.push((Value::Integer(17.into()), v));
        let mut out = Vec::new();
        ciborium::into_writer(&Value::Map(fields), &mut out).unwrap();
        Credential::from_cbor(&out)
    };
    for bad in [
        Value::Bytes(vec![7; 31]),
        Value::Bytes(vec![7; 33]),
        Value::Text("x".into()),
    ] {
        assert_eq!(
            with_field(bad),
            Err(CredentialError::Malformed("photo digest"))
        );
    }
    assert_eq!(
        Credential::from_cbor(&w.credential.to_cbor())
            .unwrap()
            .photo_digest,
        None
    );
}

#[test]
fn the_status_list_decides_normal_abnormal_and_invalid() {
    let w = world();
    let text = qr(&w, NOW);
    assert_eq!(
        verdict(&text, &w, Some(&status_list(&w, "A"))),
        VerdictCode::Valid
    );
    let v = verify(
        &text,
        &w.trust,
        &[status_list(&w, "B")],
        NOW,
        VerifyOptions::default(),
    );
    assert_eq!(
        (v.verdict, v.status),
        (
            VerdictCode::StatusAbnormal,
            StatusReport::Abnormal {
                codes: Some("B".into())
            }
        )
    );
    assert_eq!(
        verdict(&text, &w, Some(&status_list(&w, "HI"))),
        VerdictCode::StatusAbnormal
    );
    let v = verify(
        &text,
        &w.trust,
        &[status_list(&w, "F")],
        NOW,
        VerifyOptions::default(),
    );
    assert_eq!(
        (v.verdict, v.status),
        (
            VerdictCode::StatusInvalid,
            StatusReport::Invalid {
                codes: Some("F".into())
            }
        )
    );
}

#[test]
fn without_a_fresh_status_list_the_status_is_unknown_never_revoked() {
    let w = world();
    let text = qr(&w, NOW);
    let v = verify(&text, &w.trust, &[], NOW, VerifyOptions::default());
    assert_eq!(v.verdict, VerdictCode::StatusUnknown);
    assert!(
        v.credential.is_some(),
        "the officer still sees whose licence it is"
    );
    let mut stale = StatusList::new(1000, NOW - 2 * DAY, DAY);
    stale.set(41, "F".parse().unwrap()).unwrap();
    let stale = StatusList::verify(&stale.sign(&w.issuer).unwrap(), &w.trust).unwrap();
    assert_eq!(verdict(&text, &w, Some(&stale)), VerdictCode::StatusUnknown);
    let short = StatusList::verify(
        &StatusList::new(8, NOW, DAY).sign(&w.issuer).unwrap(),
        &w.trust,
    )
    .unwrap();
    assert_eq!(verdict(&text, &w, Some(&short)), VerdictCode::StatusUnknown);
}

#[test]
fn a_screenshot_replayed_later_is_too_old_and_a_future_one_is_refused() {
    let w = world();
    let list = status_list(&w, "A");
    assert_eq!(
        verdict(&qr(&w, NOW - DEFAULT_MAX_AGE), &w, Some(&list)),
        VerdictCode::Valid
    );
    assert_eq!(
        verdict(&qr(&w, NOW - DEFAULT_MAX_AGE - 1), &w, Some(&list)),
        VerdictCode::PresentationTooOld
    );
    assert_eq!(
        verdict(&qr(&w, NOW + CLOCK_SKEW), &w, Some(&list)),
        VerdictCode::Valid
    );
    assert_eq!(
        verdict(&qr(&w, NOW + CLOCK_SKEW + 1), &w, Some(&list)),
        VerdictCode::PresentationFromFuture
    );
}

#[test]
fn a_credential_copied_to_another_device_fails_the_device_signature() {
    let w = world();
    let thief = DeviceKey::generate(&mut OsRng);
    let text = Presentation::generate(&w.signed, &thief, NOW).to_text();
    assert_eq!(
        verdict(&text, &w, Some(&status_list(&w, "A"))),
        VerdictCode::BadDeviceSignature
    );
}

#[test]
fn the_credentials_own_window_is_enforced() {
    let w = world();
    let early = Credential {
        not_before: NOW + DAY,
        ..w.credential.clone()
    };
    let late = Credential {
        not_after: NOW - 1,
        ..w.credential.clone()
    };
    for (credential, expected) in [
        (early, VerdictCode::NotYetValid),
        (late, VerdictCode::Expired),
    ] {
        let signed = credential.sign(&w.issuer).unwrap();
        let text = Presentation::generate(&signed, &w.device, NOW).to_text();
        assert_eq!(verdict(&text, &w, None), expected);
    }
}

#[test]
fn issuers_must_be_trusted_and_signatures_genuine() {
    let w = world();
    let text = qr(&w, NOW);
    let empty = TrustList::default();
    assert_eq!(
        verify(&text, &empty, &[], NOW, VerifyOptions::default()).verdict,
        VerdictCode::UnknownIssuer
    );
    // An impostor key under the same kid.
    let impostor = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let forged = w.credential.sign(&impostor).unwrap();
    let text = Presentation::generate(&forged, &w.device, NOW).to_text();
    assert_eq!(verdict(&text, &w, None), VerdictCode::BadIssuerSignature);
    // A genuine key outside its signing period.
    let trust = TrustList {
        issuers: vec![w.issuer.trusted(NOW, NOW + DAY)],
        ..Default::default()
    };
    let v = verify(&qr(&w, NOW), &trust, &[], NOW, VerifyOptions::default());
    assert_eq!(v.verdict, VerdictCode::IssuerKeyOutOfPeriod);
}

#[test]
fn rotating_the_issuer_key_keeps_old_credentials_valid() {
    let w = world();
    let next = IssuerKey::generate("bj-2027", "北京市公安局公安交通管理局", &mut OsRng);
    // The new key signs from today; the old one's window ends when the last credential it
    // signed does (a credential lies wholly within its key's window).
    let trust = TrustList {
        issuers: vec![
            w.issuer.trusted(NOW - 365 * DAY, w.credential.not_after),
            next.trusted(NOW, NOW + 365 * DAY),
        ],
        ..Default::default()
    };
    // Each key signs the list for its own credentials while its window lasts.
    let mut list = StatusList::new(1000, NOW, DAY);
    list.set(41, LicenceStatus::NORMAL).unwrap();
    let lists = [
        StatusList::verify(&list.sign(&w.issuer).unwrap(), &trust).unwrap(),
        StatusList::verify(&list.sign(&next).unwrap(), &trust).unwrap(),
    ];
    let old = verify(&qr(&w, NOW), &trust, &lists, NOW, VerifyOptions::default());
    assert_eq!(
        old.verdict,
        VerdictCode::Valid,
        "signed by the previous key before the rotation"
    );
    let renewed = Credential {
        not_before: NOW,
        ..w.credential.clone()
    }
    .sign(&next)
    .unwrap();
    let new = Presentation::generate(&renewed, &w.device, NOW).to_text();
    assert_eq!(
        verify(&new, &trust, &lists, NOW, VerifyOptions::default()).verdict,
        VerdictCode::Valid
    );
    // The new key's list does not speak for the old key's credentials.
    assert_eq!(
        verify(
            &qr(&w, NOW),
            &trust,
            &lists[1..],
            NOW,
            VerifyOptions::default()
        )
        .verdict,
        VerdictCode::StatusUnknown
    );
}

#[test]
fn malformed_input_of_every_kind_is_malformed() {
    let w = world();
    let good = qr(&w, NOW);
    let body = &good[4..];
    let bomb = format!(
        "DL1:{}",
        base45::encode(&miniz_oxide::deflate::compress_to_vec(
            &vec![0u8; 10 * MAX_INFLATED_BYTES],
            9
        ))
    );
    assert!(
        bomb.len() < MAX_TEXT_CHARS,
        "a small QR that inflates to 160 KB"
    );
    for text in [
        String::new(),
        "hello".into(),
        format!("DL2:{body}"),
        format!("DL1:{}", body.to_lowercase()),
        format!("DL1:{}", &body[..body.len() - 1]),
        format!("DL1:{}", &body[..body.len() / 2]),
        format!("DL1:{}", "0".repeat(MAX_TEXT_CHARS)),
        bomb,
        format!(
            "DL1:{}",
            base45::encode(&miniz_oxide::deflate::compress_to_vec(b"\xa0", 9))
        ),
    ] {
        assert_eq!(
            verdict(&text, &w, None),
            VerdictCode::Malformed,
            "{:.40}",
            text
        );
    }
}

/// The presentation's CBOR, deflated and base45-encoded again after `f` changed it.
fn reencode(text: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let deflated = base45::decode(&text[4..]).unwrap();
    let mut cbor = miniz_oxide::inflate::decompress_to_vec(&deflated).unwrap();
    f(&mut cbor);
    format!(
        "DL1:{}",
        base45::encode(&miniz_oxide::deflate::compress_to_vec(&cbor, 9))
    )
}

#[test]
fn changing_any_byte_of_a_valid_presentation_never_verifies() {
    let w = world();
    let list = status_list(&w, "A");
    let good = qr(&w, NOW);
    assert_eq!(verdict(&good, &w, Some(&list)), VerdictCode::Valid);
    let len = {
        let deflated = base45::decode(&good[4..]).unwrap();
        miniz_oxide::inflate::decompress_to_vec(&deflated)
            .unwrap()
            .len()
    };
    assert!(len > 1300, "{len}");
    for i in 0..len {
        for flip in [0x01u8, 0x80] {
            let text = reencode(&good, |cbor| cbor[i] ^= flip);
            let v = verdict(&text, &w, Some(&list));
            assert_ne!(v, VerdictCode::Valid, "byte {i} ^ {flip:#x} still verifies");
        }
    }
}

#[test]
fn a_presentation_with_extra_parts_is_malformed() {
    let w = world();
    let good = qr(&w, NOW);
    let text = reencode(&good, |cbor| {
        let mut v: Value = ciborium::from_reader(cbor.as_slice()).unwrap();
        if let Value::Array(items) = &mut v {
            items.push(Value::Null);
        }
        cbor.clear();
        ciborium::into_writer(&v, &mut *cbor).unwrap();
    });
    assert_eq!(verdict(&text, &w, None), VerdictCode::Malformed);
}

#[test]
fn a_tampered_status_list_is_refused() {
    let w = world();
    let mut signed = status_list_bytes(&w);
    let n = signed.len();
    signed[n - 70] ^= 0x01;
    assert!(StatusList::verify(&signed, &w.trust).is_err());
}

fn status_list_bytes(w: &World) -> Vec<u8> {
    let mut list = StatusList::new(1000, NOW, DAY);
    list.set(41, "F".parse().unwrap()).unwrap();
    list.sign(&w.issuer).unwrap()
}

#[test]
fn every_verdict_has_its_own_words_and_a_light_and_its_code_reads_back() {
    let mut seen = std::collections::HashSet::new();
    for &code in VerdictCode::ALL {
        assert_eq!(VerdictCode::from_code(code.as_str()), Some(code));
        let (zh, en) = code.describe();
        assert!(!zh.is_empty() && !en.is_empty());
        assert!(seen.insert(zh), "{code:?} says what another verdict says");
        let expected = match code {
            VerdictCode::Valid => Light::Green,
            VerdictCode::StatusUnknown => Light::Amber,
            _ => Light::Red,
        };
        assert_eq!(code.light(), expected);
    }
    assert_eq!(VerdictCode::from_code("revoked"), None);
}
