//! Our mdoc against a reader and an issuer nobody here wrote: @auth0/mdl (tests/mdoc-peer,
//! installed by `cargo xtask test contract`, which runs these).
//!
//! 1. The peer verifies our genuine responses (each disclosure choice, showing exactly what was
//!    chosen) and refuses each forgery with the check it fails.
//! 2. Our reader verifies an mDL the peer issued with its own keys, and refuses it tampered.

use std::path::{Path, PathBuf};
use std::process::Command;

use ciborium::Value;
use licence_mdoc::certificate::{make_document_signer, make_iaca_root, CertificateSubject};
use licence_mdoc::elements::{licence_elements, romanise};
use licence_mdoc::session::SessionTranscript;
use licence_mdoc::{
    verify_response, DeviceResponse, Disclosure, IacaRoot, IssuerSigned, MdocError, MsoValidity,
    StatusReference, CN_NAMESPACE, ISO_NAMESPACE,
};
use p256::ecdsa::SigningKey;
use rand_core::OsRng;
use time::{Duration, OffsetDateTime};

fn peer_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mdoc-peer");
    assert!(
        dir.join("node_modules/@auth0/mdl").exists(),
        "the peer is not installed: `cargo xtask test contract` installs it (npm ci in tests/mdoc-peer)"
    );
    dir
}

fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/mdoc-peer")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn node(mode: &str, dir: &Path) -> String {
    let out = Command::new("node")
        .arg(peer_dir().join("peer.js"))
        .arg(mode)
        .arg(dir)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "peer {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn subject(name: &str) -> CertificateSubject {
    CertificateSubject {
        country: "CN".into(),
        common_name: name.into(),
        issuer_url: "https://122.gov.cn".into(),
    }
}

struct Issuer {
    root: IacaRoot,
    issued: IssuerSigned,
    device: SigningKey,
}

/// Our PKI and the sample licence issued under it, valid around the real now (the peer checks
/// against its own clock). `mso` is the MSO's validity relative to now.
fn our_issuer(mso_from: Duration, mso_until: Duration) -> Issuer {
    let now = OffsetDateTime::now_utc();
    let root_key = SigningKey::random(&mut OsRng);
    let root = make_iaca_root(
        &root_key,
        &subject("公安部交通管理局 IACA (test)"),
        now - Duration::days(30),
        now + Duration::days(3650),
        [1; 16],
    )
    .unwrap();
    let signer = make_document_signer(
        &root,
        &root_key,
        &SigningKey::random(&mut OsRng),
        &subject("北京市公安局公安交通管理局 DS (test)"),
        now - Duration::days(20),
        now + Duration::days(365),
        [2; 16],
    )
    .unwrap();
    let device = SigningKey::random(&mut OsRng);
    let licence = licence_core::testdata::sample_licence();
    let elements = licence_elements(
        &licence,
        &romanise("张伟"),
        b"\xff\xd8\xff\xe0jpeg",
        now.date(),
    );
    let issued = IssuerSigned::issue(
        &elements,
        device.verifying_key(),
        &MsoValidity {
            signed: now + mso_from,
            valid_from: now + mso_from,
            valid_until: now + mso_until,
        },
        Some(&StatusReference {
            index: 3,
            uri: "https://122.gov.cn/api/v1/status-lists/test".into(),
        }),
        &signer,
        &mut OsRng,
    )
    .unwrap();
    Issuer {
        root,
        issued,
        device,
    }
}

fn transcript(tag: u8) -> SessionTranscript {
    // A DeviceEngagement-shaped and an EReaderKey-shaped item; only their bytes matter here.
    SessionTranscript::for_qr(&[0xa1, 0x00, 0x63, b'1', b'.', b'0'], &[0xa1, 0x01, tag])
}

/// A path into a DeviceResponse's first document.
fn document_mut(response: &mut Value) -> &mut Vec<(Value, Value)> {
    let Value::Map(top) = response else {
        panic!("a map")
    };
    let docs = top
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("documents"))
        .unwrap();
    let Value::Array(docs) = &mut docs.1 else {
        panic!("an array")
    };
    let Value::Map(doc) = &mut docs[0] else {
        panic!("a map")
    };
    doc
}

fn field<'v>(map: &'v mut [(Value, Value)], key: &str) -> &'v mut Value {
    &mut map
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .unwrap()
        .1
}

/// The response with the value of one element changed and re-wrapped, its digest left alone.
fn change_element(response: &[u8], identifier: &str, new: Value) -> Vec<u8> {
    let mut value: Value = ciborium::from_reader(response).unwrap();
    let doc = document_mut(&mut value);
    let Value::Map(signed) = field(doc, "issuerSigned") else {
        panic!()
    };
    let Value::Map(namespaces) = field(signed, "nameSpaces") else {
        panic!()
    };
    let mut changed = false;
    for (_, items) in namespaces.iter_mut() {
        let Value::Array(items) = items else { panic!() };
        for item in items.iter_mut() {
            let Value::Tag(24, inner) = item else {
                panic!()
            };
            let Value::Bytes(bytes) = inner.as_ref() else {
                panic!()
            };
            let mut opened: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
            let Value::Map(fields) = &mut opened else {
                panic!()
            };
            if field(fields, "elementIdentifier").as_text() == Some(identifier) {
                let value = field(fields, "elementValue");
                assert_ne!(*value, new, "a forgery changes the value");
                *value = new.clone();
                let mut again = Vec::new();
                ciborium::into_writer(&opened, &mut again).unwrap();
                *item = Value::Tag(24, Box::new(Value::Bytes(again)));
                changed = true;
            }
        }
    }
    assert!(changed, "{identifier} is in the response");
    let mut out = Vec::new();
    ciborium::into_writer(&value, &mut out).unwrap();
    out
}

/// The response with one bit of the issuer's signature flipped.
fn flip_issuer_signature(response: &[u8]) -> Vec<u8> {
    let mut value: Value = ciborium::from_reader(response).unwrap();
    let doc = document_mut(&mut value);
    let Value::Map(signed) = field(doc, "issuerSigned") else {
        panic!()
    };
    let Value::Array(sign1) = field(signed, "issuerAuth") else {
        panic!()
    };
    let Value::Bytes(signature) = &mut sign1[3] else {
        panic!()
    };
    signature[10] ^= 0x01;
    let mut out = Vec::new();
    ciborium::into_writer(&value, &mut out).unwrap();
    out
}

#[derive(serde::Deserialize, Debug)]
struct PeerVerdict {
    file: String,
    valid: bool,
    code: Option<String>,
    message: Option<String>,
    disclosed: std::collections::BTreeMap<String, Vec<String>>,
}

#[test]
#[ignore = "needs the Node peer: cargo xtask test contract"]
fn the_peer_reader_accepts_our_genuine_responses_and_refuses_each_forgery() {
    let dir = work_dir("ours");
    let ours = our_issuer(Duration::days(-1), Duration::days(30));
    let session = transcript(1);
    std::fs::write(dir.join("iaca.pem"), ours.root.pem()).unwrap();
    std::fs::write(dir.join("transcript.cbor"), session.to_bytes()).unwrap();
    let respond = |choice, device: &SigningKey, session: &SessionTranscript| {
        DeviceResponse::build(&ours.issued, None, choice, device, session)
            .unwrap()
            .0
    };
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(format!("{name}.response.cbor")), bytes).unwrap()
    };
    let everything = respond(Disclosure::Everything, &ours.device, &session);
    write("genuine-everything", &everything);
    write(
        "genuine-rental",
        &respond(Disclosure::RentalDesk, &ours.device, &session),
    );
    write(
        "genuine-age",
        &respond(Disclosure::AgeOver18, &ours.device, &session),
    );
    write(
        "forged-points",
        // The sample has no points: a forger who wants to look worse, or anything else, changes it.
        &change_element(&everything, "cumulative_points", Value::Integer(6.into())),
    );
    write(
        "forged-name",
        &change_element(&everything, "family_name", Value::Text("LI".into())),
    );
    write(
        "forged-age",
        &change_element(
            &respond(Disclosure::AgeOver18, &ours.device, &session),
            "age_over_18",
            Value::Bool(false),
        ),
    );
    write(
        "forged-issuer-signature",
        &flip_issuer_signature(&everything),
    );
    write(
        "forged-other-device",
        &respond(
            Disclosure::Everything,
            &SigningKey::random(&mut OsRng),
            &session,
        ),
    );
    write(
        "forged-replayed",
        &respond(Disclosure::Everything, &ours.device, &transcript(2)),
    );
    let expired = our_issuer(Duration::days(-10), Duration::days(-1));
    let expired_response = DeviceResponse::build(
        &expired.issued,
        None,
        Disclosure::Everything,
        &expired.device,
        &session,
    )
    .unwrap()
    .0;
    // Under its own root, which this reader does not trust: refused for that first.
    write("forged-other-root", &expired_response);

    let verdicts: Vec<PeerVerdict> = node("verify", &dir)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), 10, "{verdicts:?}");
    let verdict = |name: &str| {
        verdicts
            .iter()
            .find(|v| v.file == format!("{name}.response.cbor"))
            .unwrap_or_else(|| panic!("a verdict for {name}"))
    };
    for name in ["genuine-everything", "genuine-rental", "genuine-age"] {
        let v = verdict(name);
        assert!(v.valid, "{name}: {:?} {:?}", v.code, v.message);
    }
    // The peer sees what was chosen, no more.
    assert_eq!(
        verdict("genuine-age").disclosed[ISO_NAMESPACE],
        ["age_over_18"]
    );
    let rental = &verdict("genuine-rental").disclosed;
    assert!(rental[ISO_NAMESPACE].contains(&"portrait".to_owned()));
    assert!(!rental[ISO_NAMESPACE].contains(&"document_number".to_owned()));
    assert_eq!(rental[CN_NAMESPACE], ["licence_status", "vehicle_classes"]);
    assert_eq!(
        verdict("genuine-everything").disclosed[ISO_NAMESPACE].len(),
        18
    );

    for (name, check) in [
        ("forged-points", "ATTRIBUTE_DIGEST_MATCH"),
        ("forged-name", "ATTRIBUTE_DIGEST_MATCH"),
        ("forged-age", "ATTRIBUTE_DIGEST_MATCH"),
        ("forged-issuer-signature", "ISSUER_SIGNATURE_VALIDITY"),
        ("forged-other-device", "DEVICE_SIGNATURE_VALIDITY"),
        ("forged-replayed", "DEVICE_SIGNATURE_VALIDITY"),
        ("forged-other-root", "ISSUER_CERTIFICATE_VALIDITY"),
    ] {
        let v = verdict(name);
        assert!(!v.valid, "{name} was accepted");
        assert_eq!(v.code.as_deref(), Some(check), "{name}: {:?}", v.message);
    }
    // Our own reader agrees on every file.
    for v in &verdicts {
        let bytes = std::fs::read(dir.join(&v.file)).unwrap();
        let ours = verify_response(
            &bytes,
            &session,
            std::slice::from_ref(&ours.root),
            OffsetDateTime::now_utc(),
        );
        assert_eq!(ours.is_ok(), v.valid, "{}: {ours:?}", v.file);
    }
}

#[test]
#[ignore = "needs the Node peer: cargo xtask test contract"]
fn our_reader_verifies_an_mdl_the_peer_issued_with_its_own_keys() {
    let dir = work_dir("theirs");
    let session = transcript(3);
    std::fs::write(dir.join("transcript.cbor"), session.to_bytes()).unwrap();
    node("issue", &dir);
    let root =
        IacaRoot::from_pem(&std::fs::read_to_string(dir.join("peer-iaca.pem")).unwrap()).unwrap();
    let response = std::fs::read(dir.join("peer.response.cbor")).unwrap();
    let now = OffsetDateTime::now_utc();
    let docs = verify_response(&response, &session, std::slice::from_ref(&root), now).unwrap();
    let doc = &docs[0];
    assert_eq!(doc.signer.country.as_deref(), Some("DE"));
    assert_eq!(
        doc.element(ISO_NAMESPACE, "family_name"),
        Some(&Value::Text("Mustermann".into()))
    );
    assert_eq!(
        doc.element(ISO_NAMESPACE, "age_over_18"),
        Some(&Value::Bool(true))
    );
    assert_eq!(doc.element(ISO_NAMESPACE, "document_number"), None);

    // Tampered, replayed, or under a root we do not trust: refused, each for its reason.
    let forged = change_element(&response, "family_name", Value::Text("Musterfrau".into()));
    assert_eq!(
        verify_response(&forged, &session, std::slice::from_ref(&root), now).unwrap_err(),
        MdocError::DigestMismatch(format!("{ISO_NAMESPACE}/family_name"))
    );
    assert_eq!(
        verify_response(&response, &transcript(4), std::slice::from_ref(&root), now).unwrap_err(),
        MdocError::BadDeviceSignature
    );
    assert_eq!(
        verify_response(
            &flip_issuer_signature(&response),
            &session,
            std::slice::from_ref(&root),
            now
        )
        .unwrap_err(),
        MdocError::BadIssuerSignature
    );
    let ours = our_issuer(Duration::days(-1), Duration::days(30));
    assert_eq!(
        verify_response(&response, &session, &[ours.root], now).unwrap_err(),
        MdocError::UntrustedIssuer
    );
}
