//! The attacks issue 15 reproduced, each refused with its own verdict or error: status lists
//! of another issuer, retired keys, older lists, every second encoding of a presentation (a
//! map key twice, indefinite lengths, long-form integers, trailing bytes, high-S signatures),
//! a credential whose own record is not normal, and replaced or replayed trust lists.
//!
//! The forgeries are made here from the format's description (docs/credential.md), with
//! ciborium and p256 directly, as an outside forger would make them.

use ciborium::Value;
use licence_core::licence::LicenceRecord;
use licence_core::testdata::sample_record;
use licence_core::{DrivingLicence, LicenceStatus, Points};
use licence_credential::cbor::{check_deterministic, EncodingError};
use licence_credential::*;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand_core::OsRng;
use sha2::{Digest, Sha256};

mod common;
use common::{DAY, NOW};

struct World {
    issuer: IssuerKey,
    device: DeviceKey,
    trust: TrustList,
    credential: Credential,
}

fn world_with(issuer: IssuerKey, record: LicenceRecord) -> World {
    let trust = TrustList {
        issuers: vec![issuer.trusted(NOW - 365 * DAY, NOW + 365 * DAY)],
        ..Default::default()
    };
    World {
        issuer,
        device: DeviceKey::generate(&mut OsRng),
        trust,
        credential: Credential {
            licence: DrivingLicence::new(record).unwrap(),
            portrait_jpeg: vec![0xd8; 300],
            device_key: Vec::new(),
            not_before: NOW - DAY,
            not_after: NOW + 30 * DAY,
            status_index: 41,
            photo_digest: None,
        },
    }
}

fn world() -> World {
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let mut w = world_with(issuer, sample_record());
    w.credential.device_key = w.device.public_key();
    w
}

fn list_of(issuer: &IssuerKey, trust: &TrustList, issued_at: i64, status: &str) -> StatusList {
    let mut list = StatusList::new(1024, issued_at, DAY);
    list.set(41, status.parse().unwrap()).unwrap();
    StatusList::verify(&list.sign(issuer).unwrap(), trust).unwrap()
}

fn check(w: &World, text: &str, lists: &[StatusList]) -> Verification {
    verify(text, &w.trust, lists, NOW, VerifyOptions::default())
}

// ---- A forger's tools, from docs/credential.md ----

fn to_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn high_s(signature: Signature) -> Signature {
    let (r, s) = signature.split_scalars();
    Signature::from_scalars(r.to_bytes(), (-s).to_bytes()).unwrap()
}

fn es256(key: &SigningKey, message: &[u8], high: bool) -> Vec<u8> {
    let signature: Signature = key.sign(message);
    let low = signature.normalize_s().unwrap_or(signature);
    let chosen = if high { high_s(low) } else { low };
    chosen.to_bytes().to_vec()
}

/// An untagged COSE_Sign1 over `payload`: protected header `{1: -7, 4: kid}`, an empty
/// unprotected header, ES256 over Sig_structure ["Signature1", protected, h'', payload].
fn cose_sign1(payload: &[u8], kid: &str, key: &SigningKey, high: bool) -> Vec<u8> {
    let protected = to_cbor(&Value::Map(vec![
        (Value::Integer(1.into()), Value::Integer((-7).into())),
        (
            Value::Integer(4.into()),
            Value::Bytes(kid.as_bytes().to_vec()),
        ),
    ]));
    let to_be_signed = to_cbor(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.clone()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]));
    to_cbor(&Value::Array(vec![
        Value::Bytes(protected),
        Value::Map(Vec::new()),
        Value::Bytes(payload.to_vec()),
        Value::Bytes(es256(key, &to_be_signed, high)),
    ]))
}

/// What the device signs: SHA-256 over the domain tag, the credential's length (u64, big
/// endian), the credential and the generation time (i64, big endian).
fn device_digest(credential: &[u8], generated_at: i64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"licence-presentation-v1");
    h.update((credential.len() as u64).to_be_bytes());
    h.update(credential);
    h.update(generated_at.to_be_bytes());
    h.finalize().into()
}

fn device_signature(w: &World, credential: &[u8], at: i64, high: bool) -> Vec<u8> {
    let key = SigningKey::from_slice(&w.device.secret_bytes()).unwrap();
    es256(&key, &device_digest(credential, at), high)
}

fn issuer_key(w: &World) -> SigningKey {
    SigningKey::from_slice(&w.issuer.secret_bytes()).unwrap()
}

/// QR text of a presentation whose CBOR is exactly `cbor`.
fn qr_text(cbor: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        base45::encode(&miniz_oxide::deflate::compress_to_vec(cbor, 9))
    )
}

/// The presentation `[1, credential, at, device signature]` as CBOR.
fn presentation_cbor(credential: &[u8], at: i64, signature: &[u8]) -> Vec<u8> {
    to_cbor(&Value::Array(vec![
        Value::Integer(1.into()),
        Value::Bytes(credential.to_vec()),
        Value::Integer(at.into()),
        Value::Bytes(signature.to_vec()),
    ]))
}

/// A presentation with both signatures genuine over a credential payload of the forger's own
/// bytes.
fn presentation_of_payload(w: &World, payload: &[u8]) -> String {
    let signed = cose_sign1(payload, w.issuer.kid(), &issuer_key(w), false);
    let signature = device_signature(w, &signed, NOW, false);
    qr_text(&presentation_cbor(&signed, NOW, &signature))
}

// ---- The attacks ----

#[test]
fn the_forgers_tools_make_a_genuine_presentation() {
    let w = world();
    let text = presentation_of_payload(&w, &w.credential.to_cbor());
    let list = list_of(&w.issuer, &w.trust, NOW - 60, "A");
    assert_eq!(check(&w, &text, &[list]).verdict, VerdictCode::Valid);
}

#[test]
fn a_status_list_speaks_only_for_its_own_issuers_credentials() {
    let mut w = world();
    let other = IssuerKey::generate("sh-2026", "上海市公安局交通警察总队", &mut OsRng);
    w.trust
        .issuers
        .push(other.trusted(NOW - 365 * DAY, NOW + 365 * DAY));
    let text =
        Presentation::generate(&w.credential.sign(&w.issuer).unwrap(), &w.device, NOW).to_text();
    // Revoked in its own issuer's list, normal at the same index in the other's.
    let own = list_of(&w.issuer, &w.trust, NOW - 60, "F");
    let others = list_of(&other, &w.trust, NOW - 60, "A");
    assert_eq!(others.issuer(), Some("sh-2026"));
    let v = check(&w, &text, std::slice::from_ref(&others));
    assert_eq!(v.verdict, VerdictCode::StatusUnknown);
    assert_eq!(
        v.status,
        StatusReport::Unknown {
            reason: "no status list of this credential's issuer"
        }
    );
    assert_eq!(
        check(&w, &text, &[others, own]).verdict,
        VerdictCode::StatusInvalid
    );
    // An unsigned list (as the platform holds it) speaks for no one until it names its issuer.
    let mut mine = StatusList::new(1024, NOW - 60, DAY);
    mine.set(41, LicenceStatus::NORMAL).unwrap();
    assert_eq!(
        check(&w, &text, std::slice::from_ref(&mine)).verdict,
        VerdictCode::StatusUnknown
    );
    let mine = mine.with_issuer("bj-2026");
    assert_eq!(
        check(&w, &text, std::slice::from_ref(&mine)).verdict,
        VerdictCode::Valid
    );
    assert_eq!(
        mine.sign(&other),
        Err(CredentialError::Malformed(
            "a status list signed by another issuer"
        ))
    );
}

#[test]
fn a_retired_key_cannot_sign_past_its_window() {
    // A key valid only 2020-01-01 … 2021-01-01 (+08:00).
    let (from, until) = (1_577_808_000, 1_609_430_400);
    let issuer = IssuerKey::generate("bj-2020", "北京市公安局公安交通管理局", &mut OsRng);
    let mut w = world_with(issuer, sample_record());
    w.credential.device_key = w.device.public_key();
    w.trust.issuers = vec![w.issuer.trusted(from, until)];
    let at = 1_593_561_600; // 2020-07-01
    let ten_years = Credential {
        not_before: at,
        not_after: at + 3653 * DAY,
        ..w.credential.clone()
    };
    let text =
        Presentation::generate(&ten_years.sign(&w.issuer).unwrap(), &w.device, at + 5).to_text();
    let v = verify(&text, &w.trust, &[], at + 10, VerifyOptions::default());
    assert_eq!(v.verdict, VerdictCode::IssuerKeyOutOfPeriod);
    // The window's ends are included.
    let within = Credential {
        not_before: from,
        not_after: until,
        ..w.credential.clone()
    };
    let text = Presentation::generate(&within.sign(&w.issuer).unwrap(), &w.device, at).to_text();
    let v = verify(&text, &w.trust, &[], at + 5, VerifyOptions::default());
    assert_eq!(v.verdict, VerdictCode::StatusUnknown);
    // A status list the retired key signs after its window is refused.
    let late = StatusList::new(1024, until + 1, DAY)
        .sign(&w.issuer)
        .unwrap();
    assert_eq!(
        StatusList::verify(&late, &w.trust),
        Err(CredentialError::KeyOutOfPeriod)
    );
    let last = StatusList::new(1024, until, DAY).sign(&w.issuer).unwrap();
    assert!(StatusList::verify(&last, &w.trust).is_ok());
    // A key that knows its window refuses to sign past it at all.
    let dated = IssuerKey::from_secret(
        "bj-2020",
        "北京市公安局公安交通管理局",
        &w.issuer.secret_bytes(),
    )
    .unwrap()
    .with_window(from, until);
    assert_eq!(ten_years.sign(&dated), Err(CredentialError::KeyOutOfPeriod));
    assert!(within.sign(&dated).is_ok());
    assert_eq!(
        StatusList::new(8, until + 1, DAY).sign(&dated),
        Err(CredentialError::KeyOutOfPeriod)
    );
}

#[test]
fn an_older_status_list_never_replaces_a_newer_one() {
    let w = world();
    let yesterday = list_of(&w.issuer, &w.trust, NOW - DAY, "A");
    let today = list_of(&w.issuer, &w.trust, NOW - 60, "F");
    assert_eq!(today.may_replace(&yesterday), Ok(true));
    assert_eq!(yesterday.may_replace(&today), Err(CredentialError::Older));
    assert_eq!(today.may_replace(&today.clone()), Ok(false));
    // Lists are stamped in whole seconds: another of the same second replaces it.
    let same_second = list_of(&w.issuer, &w.trust, NOW - 60, "A");
    assert_eq!(same_second.may_replace(&today), Ok(true));
}

/// The credential's payload with `change` made to its map entries, re-encoded as the forger
/// likes (ciborium keeps the order given).
fn payload_with(w: &World, change: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let value: Value = ciborium::from_reader(w.credential.to_cbor().as_slice()).unwrap();
    let mut entries = value.into_map().unwrap();
    change(&mut entries);
    to_cbor(&Value::Map(entries))
}

#[test]
fn a_signed_credential_with_a_map_key_twice_is_refused() {
    let w = world();
    // A second name right after the first: decoders disagree on which one counts.
    let payload = payload_with(&w, |entries| {
        entries.insert(2, (Value::Integer(2.into()), Value::Text("李四".into())));
    });
    assert_eq!(
        check_deterministic(&payload),
        Err(EncodingError::DuplicateKey)
    );
    let text = presentation_of_payload(&w, &payload);
    let v = check(&w, &text, &[]);
    assert_eq!(
        (v.verdict, v.detail),
        (VerdictCode::NonCanonicalEncoding, Some("duplicate_key"))
    );
    assert!(v.credential.is_none());
    // Keys out of order are the same fault in another dress.
    let payload = payload_with(&w, |entries| entries.swap(0, 1));
    let swapped = check(&w, &presentation_of_payload(&w, &payload), &[]);
    assert_eq!(swapped.detail, Some("keys_out_of_order"));
}

#[test]
fn indefinite_lengths_long_integers_and_trailing_bytes_are_refused() {
    let w = world();
    let signed = w.credential.sign(&w.issuer).unwrap();
    let signature = device_signature(&w, &signed, NOW, false);
    let genuine = presentation_cbor(&signed, NOW, &signature);
    assert_eq!(
        check(&w, &qr_text(&genuine), &[]).verdict,
        VerdictCode::StatusUnknown
    );

    // The outer array with an indefinite length: 0x9f … 0xff.
    let indefinite = [&[0x9f][..], &genuine[1..], &[0xff]].concat();
    // The time as a 64-bit integer (0x1b) where 32 bits (0x1a) suffice.
    let time = (NOW as u32).to_be_bytes();
    let short = [&[0x1a][..], &time].concat();
    let at = genuine
        .windows(5)
        .rposition(|w| w == short)
        .expect("the time as 0x1a and 32 bits");
    let long_time = [
        &genuine[..at],
        &[0x1b, 0, 0, 0, 0][..],
        &time,
        &genuine[at + 5..],
    ]
    .concat();
    // A byte after the presentation.
    let trailing = [&genuine[..], &[0x00]].concat();
    for (cbor, rule) in [
        (indefinite, EncodingError::IndefiniteLength),
        (long_time, EncodingError::NotShortest),
        (trailing, EncodingError::TrailingBytes),
    ] {
        assert_eq!(check_deterministic(&cbor), Err(rule));
        let v = check(&w, &qr_text(&cbor), &[]);
        assert_eq!(
            (v.verdict, v.detail),
            (VerdictCode::NonCanonicalEncoding, Some(rule.code())),
            "{rule:?}"
        );
    }

    // A byte after the COSE_Sign1, re-signed by the holder's own device.
    let longer = [&signed[..], &[0x00]].concat();
    let signature = device_signature(&w, &longer, NOW, false);
    let text = qr_text(&presentation_cbor(&longer, NOW, &signature));
    assert_eq!(
        check(&w, &text, &[]).verdict,
        VerdictCode::NonCanonicalEncoding
    );
    // And inside the signed payload, signed by the issuer.
    let payload = [w.credential.to_cbor(), vec![0x00]].concat();
    let inside = check(&w, &presentation_of_payload(&w, &payload), &[]);
    assert_eq!(
        (inside.verdict, inside.detail),
        (VerdictCode::NonCanonicalEncoding, Some("trailing_bytes"))
    );
}

#[test]
fn high_s_signatures_are_refused() {
    let w = world();
    let list = list_of(&w.issuer, &w.trust, NOW - 60, "A");
    let signed = w.credential.sign(&w.issuer).unwrap();
    // The device's signature turned into its high-S twin: it verifies mathematically.
    let twin = device_signature(&w, &signed, NOW, true);
    let text = qr_text(&presentation_cbor(&signed, NOW, &twin));
    assert_eq!(
        check(&w, &text, std::slice::from_ref(&list)).verdict,
        VerdictCode::NonCanonicalSignature
    );
    // The issuer's.
    let payload = w.credential.to_cbor();
    let signed = cose_sign1(&payload, w.issuer.kid(), &issuer_key(&w), true);
    let signature = device_signature(&w, &signed, NOW, false);
    let text = qr_text(&presentation_cbor(&signed, NOW, &signature));
    assert_eq!(
        check(&w, &text, &[list]).verdict,
        VerdictCode::NonCanonicalSignature
    );
    // What this crate signs is always low-S.
    for _ in 0..64 {
        let text = Presentation::generate(&w.credential.sign(&w.issuer).unwrap(), &w.device, NOW)
            .to_text();
        let v = check(&w, &text, &[]);
        assert_eq!(v.verdict, VerdictCode::StatusUnknown);
    }
}

#[test]
fn the_credentials_own_record_counts_and_the_worse_wins() {
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    // 12 points on its own record; the list still says normal.
    let mut w = world_with(
        issuer,
        LicenceRecord {
            points: Points::new(12).unwrap(),
            ..sample_record()
        },
    );
    w.credential.device_key = w.device.public_key();
    let normal = list_of(&w.issuer, &w.trust, NOW - 60, "A");
    let text =
        Presentation::generate(&w.credential.sign(&w.issuer).unwrap(), &w.device, NOW).to_text();
    let v = check(&w, &text, std::slice::from_ref(&normal));
    assert_eq!(v.verdict, VerdictCode::StatusAbnormal);
    assert_eq!(
        v.status,
        StatusReport::Abnormal {
            codes: Some("B".into())
        }
    );
    // Without a list at all it is still red, not amber: the record itself says so.
    assert_eq!(check(&w, &text, &[]).verdict, VerdictCode::StatusAbnormal);
    // The list's revocation is worse than the record's 12 points.
    let revoked = list_of(&w.issuer, &w.trust, NOW - 30, "F");
    assert_eq!(
        check(&w, &text, &[normal, revoked]).verdict,
        VerdictCode::StatusInvalid
    );

    // A validity that ended before today.
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let mut w = world_with(
        issuer,
        LicenceRecord {
            validity: "2014-06-18至2024-06-18".parse().unwrap(),
            ..sample_record()
        },
    );
    w.credential.device_key = w.device.public_key();
    let normal = list_of(&w.issuer, &w.trust, NOW - 60, "A");
    let text =
        Presentation::generate(&w.credential.sign(&w.issuer).unwrap(), &w.device, NOW).to_text();
    let v = check(&w, &text, &[normal]);
    assert_eq!(v.verdict, VerdictCode::StatusAbnormal);
    assert_eq!(
        v.status,
        StatusReport::Abnormal {
            codes: Some("M".into())
        }
    );
}

#[test]
fn only_a_trust_list_signed_by_the_root_and_not_older_is_taken() {
    let w = world();
    let root = TrustRootKey::generate("root-1", &mut OsRng);
    let list = TrustList {
        issued_at: NOW,
        sequence: 7,
        ..w.trust.clone()
    };
    let signed = list.sign(&root).unwrap();
    assert_eq!(TrustList::open(&signed, &root.root()), Ok(list.clone()));
    // Unsigned, or signed by another root, or tampered with.
    assert!(matches!(
        TrustList::open(&list.to_cbor(), &root.root()),
        Err(CredentialError::Malformed(_))
    ));
    let impostor = TrustRootKey::generate("root-1", &mut OsRng);
    assert_eq!(
        TrustList::open(&list.sign(&impostor).unwrap(), &root.root()),
        Err(CredentialError::BadSignature)
    );
    let stranger = TrustRootKey::generate("root-2", &mut OsRng);
    assert_eq!(
        TrustList::open(&list.sign(&stranger).unwrap(), &root.root()),
        Err(CredentialError::UnknownIssuer)
    );
    let mut tampered = signed.clone();
    let n = tampered.len();
    tampered[n - 80] ^= 1;
    assert!(TrustList::open(&tampered, &root.root()).is_err());
    // A replay of an older list is refused; a newer one replaces it.
    let older = TrustList {
        sequence: 6,
        ..list.clone()
    };
    assert_eq!(older.may_replace(&list), Err(CredentialError::Older));
    let newer = TrustList {
        sequence: 8,
        ..list.clone()
    };
    assert_eq!(newer.may_replace(&list), Ok(true));
    assert_eq!(list.may_replace(&list.clone()), Ok(false));
    // The root's public key as a text file round-trips; a key file keeps its secret.
    assert_eq!(
        TrustRoot::from_text(&root.root().to_text()),
        Ok(root.root())
    );
    let again = TrustRootKey::from_key_file(&root.to_key_file()).unwrap();
    assert_eq!(again.root(), root.root());
    assert!(TrustRoot::from_text("kid = x\n").is_err());
}

#[test]
fn extreme_times_are_verdicts_not_panics() {
    let w = world();
    let signed = w.credential.sign(&w.issuer).unwrap();
    for (at, verdict) in [
        (i64::MIN, VerdictCode::PresentationTooOld),
        (i64::MAX, VerdictCode::PresentationFromFuture),
    ] {
        let text = Presentation::generate(&signed, &w.device, at).to_text();
        assert_eq!(check(&w, &text, &[]).verdict, verdict);
    }
    let list = StatusList::new(8, i64::MIN, i64::MAX);
    assert!(!list.is_fresh(i64::MAX));
    assert!(StatusList::new(8, i64::MAX, i64::MAX).is_fresh(i64::MAX));
}
