//! The mDL's decoders (licence-mdoc), as a reader and a holder meet them from a stranger:
//! arbitrary bytes as a DeviceResponse, a DeviceRequest, an IssuerSigned, a reader's
//! SessionEstablishment and an engagement QR; and the same bytes as the MSO of a response
//! whose issuer signature is genuine (a fixed document signer under a fixed root, as a forger
//! holding a signer's key could), so the fuzzer reaches the MSO and digest checks behind it.
#![no_main]

use std::sync::OnceLock;

use ciborium::Value;
use coset::{iana, CoseSign1Builder, HeaderBuilder};
use libfuzzer_sys::fuzz_target;
use licence_mdoc::certificate::{make_document_signer, make_iaca_root, CertificateSubject};
use licence_mdoc::session::{HolderSession, ReaderSession, SessionTranscript};
use licence_mdoc::{verify_response, DeviceRequest, DocumentSigner, IacaRoot, IssuerSigned};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-12-06 08:00 UTC);

fn pki() -> &'static (IacaRoot, DocumentSigner, SigningKey) {
    static PKI: OnceLock<(IacaRoot, DocumentSigner, SigningKey)> = OnceLock::new();
    PKI.get_or_init(|| {
        let subject = |name: &str| CertificateSubject {
            country: "CN".into(),
            common_name: name.into(),
            issuer_url: "https://122.gov.cn".into(),
        };
        let root_key = SigningKey::from_slice(&[3; 32]).expect("a fixed valid scalar");
        let signer_key = SigningKey::from_slice(&[4; 32]).expect("a fixed valid scalar");
        let root = make_iaca_root(
            &root_key,
            &subject("IACA"),
            NOW - Duration::days(1),
            NOW + Duration::days(100),
            [1; 16],
        )
        .expect("a root");
        let signer = make_document_signer(
            &root,
            &root_key,
            &signer_key,
            &subject("DS"),
            NOW - Duration::days(1),
            NOW + Duration::days(30),
            [2; 16],
        )
        .expect("a signer");
        (root, signer, signer_key)
    })
}

/// A DeviceResponse whose issuerAuth genuinely signs `mso` (any bytes).
fn response_with_mso(mso: &[u8]) -> Vec<u8> {
    let (_, signer, key) = pki();
    let sign1 = CoseSign1Builder::new()
        .protected(HeaderBuilder::new().algorithm(iana::Algorithm::ES256).build())
        .unprotected(
            HeaderBuilder::new()
                .value(33, Value::Bytes(signer.certificate_der().to_vec()))
                .build(),
        )
        .payload(mso.to_vec())
        .create_signature(&[], |tbs| {
            let signature: Signature = key.sign(tbs);
            signature.to_bytes().to_vec()
        })
        .build();
    let auth = coset::AsCborValue::to_cbor_value(sign1).expect("encodes");
    let text = |s: &str| Value::Text(s.into());
    let document = Value::Map(vec![
        (text("docType"), text("org.iso.18013.5.1.mDL")),
        (
            text("issuerSigned"),
            Value::Map(vec![(text("issuerAuth"), auth)]),
        ),
        (
            text("deviceSigned"),
            Value::Map(vec![(
                text("nameSpaces"),
                Value::Tag(24, Box::new(Value::Bytes(vec![0xa0]))),
            )]),
        ),
    ]);
    let response = Value::Map(vec![
        (text("version"), text("1.0")),
        (text("documents"), Value::Array(vec![document])),
        (text("status"), Value::Integer(0.into())),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&response, &mut out).expect("encodes");
    out
}

fuzz_target!(|data: &[u8]| {
    let (root, _, _) = pki();
    let roots = std::slice::from_ref(root);
    let transcript = SessionTranscript::for_qr(b"\xa0", b"\xa0");
    let _ = verify_response(data, &transcript, roots, NOW);
    let _ = verify_response(&response_with_mso(data), &transcript, roots, NOW);
    let _ = DeviceRequest::from_bytes(data);
    if let Ok(issued) = IssuerSigned::from_bytes(data) {
        let _ = issued.elements();
    }
    let _ = SessionTranscript::from_bytes(data);
    let _ = ReaderSession::from_qr(&String::from_utf8_lossy(data), &mut rand_core::OsRng);
    let mut holder = HolderSession::start(&mut rand_core::OsRng);
    let _ = holder.establish(data);
    let _ = IacaRoot::from_der(data);
});
