//! A reader's checks of a DeviceResponse (ISO/IEC 18013-5 §9.3), in this order, each failure
//! with its own [`MdocError`]:
//!
//! 1. the shape: version 1.x, status 0, documents;
//! 2. the document signer's certificate (`x5chain`) chains to a trusted IACA root, both valid
//!    now, with the document signer's key usage and the root's country;
//! 3. the issuer's signature over the MSO (ES256);
//! 4. the MSO: version 1.0, its doc type the document's, signed within the certificate's
//!    validity, valid now;
//! 5. each disclosed element's digest (over its `#6.24` bytes as received) is in the MSO under
//!    its namespace and digest ID; no digest ID or element twice; `issuing_country` repeats the
//!    certificate's country;
//! 6. the device's signature over DeviceAuthentication (the session transcript, the doc type
//!    and the device's namespaces) with the key the MSO binds.

use ciborium::Value;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use time::OffsetDateTime;

use crate::cbor;
use crate::certificate::{check_chain, IacaRoot, SignerInfo};
use crate::elements::Element;
use crate::issue::{item_digest, open_item, read_cose_key, read_sign1, StatusReference, X5CHAIN};
use crate::present::device_authentication_bytes;
use crate::session::SessionTranscript;
use crate::{MdocError, ISO_NAMESPACE};

/// A document that passed every check: what it disclosed and who vouches for it.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    pub doc_type: String,
    pub elements: Vec<Element>,
    pub signer: SignerInfo,
    pub signed: OffsetDateTime,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    /// Where the issuer publishes the document's standing, if the MSO says.
    pub status: Option<StatusReference>,
}

impl VerifiedDocument {
    pub fn element(&self, namespace: &str, identifier: &str) -> Option<&Value> {
        self.elements
            .iter()
            .find(|e| e.namespace == namespace && e.identifier == identifier)
            .map(|e| &e.value)
    }
}

fn check_es256(sign1: &coset::CoseSign1) -> Result<(), MdocError> {
    let es256 = coset::Algorithm::Assigned(coset::iana::Algorithm::ES256);
    if sign1.protected.header.alg != Some(es256) {
        return Err(MdocError::Unsupported("only ES256 signatures"));
    }
    Ok(())
}

fn signature_ok(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    // Any valid ECDSA signature: other implementations do not normalise s.
    Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
}

/// The document signer's certificate from `x5chain`: one certificate, or the first of several
/// (the signer's, then the chain towards the root, which the reader already holds).
fn signer_certificate(sign1: &coset::CoseSign1) -> Result<Vec<u8>, MdocError> {
    let value = sign1
        .unprotected
        .rest
        .iter()
        .chain(sign1.protected.header.rest.iter())
        .find(|(label, _)| *label == coset::Label::Int(X5CHAIN))
        .map(|(_, v)| v)
        .ok_or(MdocError::Malformed("issuerAuth without x5chain"))?;
    match value {
        Value::Bytes(der) => Ok(der.clone()),
        Value::Array(chain) => {
            chain
                .first()
                .and_then(|c| c.as_bytes())
                .cloned()
                .ok_or(MdocError::Malformed(
                    "x5chain's first entry is a certificate",
                ))
        }
        _ => Err(MdocError::Malformed(
            "x5chain is a certificate or an array of them",
        )),
    }
}

fn read_status(mso: &[(Value, Value)]) -> Option<StatusReference> {
    let list = cbor::map(cbor::get(mso, "status")?, "status").ok()?;
    let list = cbor::map(cbor::get(list, "status_list")?, "status_list").ok()?;
    Some(StatusReference {
        index: u32::try_from(cbor::uint(cbor::get(list, "idx")?, "idx").ok()?).ok()?,
        uri: cbor::get(list, "uri")?.as_text()?.to_owned(),
    })
}

fn verify_document(
    document: &Value,
    transcript: &SessionTranscript,
    roots: &[IacaRoot],
    now: OffsetDateTime,
) -> Result<VerifiedDocument, MdocError> {
    let doc = cbor::map(document, "a Document is a map")?;
    let doc_type = cbor::need(doc, "docType", "a Document without docType")?
        .as_text()
        .ok_or(MdocError::Malformed("docType is text"))?
        .to_owned();
    let issuer_signed = cbor::map(
        cbor::need(doc, "issuerSigned", "a Document without issuerSigned")?,
        "issuerSigned is a map",
    )?;

    // 2-3. The signer's certificate, then its signature.
    let sign1 = read_sign1(cbor::need(
        issuer_signed,
        "issuerAuth",
        "issuerSigned without issuerAuth",
    )?)?;
    check_es256(&sign1)?;
    let signer = check_chain(roots, &signer_certificate(&sign1)?, now)?;
    sign1.verify_signature(&[], |signature, data| {
        signature_ok(&signer.key, data, signature)
            .then_some(())
            .ok_or(MdocError::BadIssuerSignature)
    })?;

    // 4. The MSO.
    let payload = sign1
        .payload
        .as_ref()
        .ok_or(MdocError::Malformed("issuerAuth without its MSO"))?;
    let mso_value = cbor::decode(payload)?;
    let mso_value = match &mso_value {
        Value::Tag(24, _) => cbor::open24(&mso_value, "MobileSecurityObjectBytes")?,
        _ => mso_value,
    };
    let mso = cbor::map(&mso_value, "the MSO is a map")?;
    if cbor::need(mso, "version", "an MSO without version")?.as_text() != Some("1.0") {
        return Err(MdocError::Unsupported("MSO version"));
    }
    if cbor::need(mso, "docType", "an MSO without docType")?.as_text() != Some(doc_type.as_str()) {
        return Err(MdocError::DocTypeMismatch);
    }
    let validity = cbor::map(
        cbor::need(mso, "validityInfo", "an MSO without validityInfo")?,
        "validityInfo is a map",
    )?;
    let date = |key, what| cbor::read_tdate(cbor::need(validity, key, what)?, what);
    let signed = date("signed", "validityInfo.signed is a tdate")?;
    let valid_from = date("validFrom", "validityInfo.validFrom is a tdate")?;
    let valid_until = date("validUntil", "validityInfo.validUntil is a tdate")?;
    if !(signer.not_before..=signer.not_after).contains(&signed.unix_timestamp()) {
        return Err(MdocError::SignedOutsideCertificate);
    }
    if now < valid_from || now > valid_until {
        return Err(MdocError::MsoOutOfPeriod);
    }
    let algorithm = cbor::need(mso, "digestAlgorithm", "an MSO without digestAlgorithm")?
        .as_text()
        .ok_or(MdocError::Malformed("digestAlgorithm is text"))?;
    let value_digests = cbor::map(
        cbor::need(mso, "valueDigests", "an MSO without valueDigests")?,
        "valueDigests is a map",
    )?;
    let device_key = read_cose_key(cbor::need(
        cbor::map(
            cbor::need(mso, "deviceKeyInfo", "an MSO without deviceKeyInfo")?,
            "deviceKeyInfo is a map",
        )?,
        "deviceKey",
        "deviceKeyInfo without deviceKey",
    )?)?;

    // 5. Each element against its digest.
    let mut elements = Vec::new();
    if let Some(namespaces) = cbor::get(issuer_signed, "nameSpaces") {
        for (ns, items) in cbor::map(namespaces, "nameSpaces is a map")? {
            let ns = ns
                .as_text()
                .ok_or(MdocError::Malformed("a namespace is text"))?;
            let digests = cbor::get(value_digests, ns)
                .map(|d| cbor::map(d, "a namespace's digests are a map"))
                .transpose()?;
            let mut seen_ids = Vec::new();
            for item in items
                .as_array()
                .ok_or(MdocError::Malformed("a namespace's items are an array"))?
            {
                let opened = open_item(item)?;
                let name = format!("{ns}/{}", opened.identifier);
                if seen_ids.contains(&opened.digest_id)
                    || elements
                        .iter()
                        .any(|e: &Element| e.namespace == ns && e.identifier == opened.identifier)
                {
                    return Err(MdocError::Malformed("an element or digest ID twice"));
                }
                seen_ids.push(opened.digest_id);
                let expected = digests
                    .and_then(|d| {
                        d.iter()
                            .find(|(k, _)| {
                                k.as_integer().and_then(|i| u64::try_from(i).ok())
                                    == Some(opened.digest_id)
                            })
                            .map(|(_, v)| v)
                    })
                    .and_then(|v| v.as_bytes())
                    .ok_or_else(|| MdocError::MissingDigest(name.clone()))?;
                if item_digest(item, algorithm)? != *expected {
                    return Err(MdocError::DigestMismatch(name));
                }
                elements.push(Element {
                    namespace: ns.to_owned(),
                    identifier: opened.identifier,
                    value: opened.value,
                });
            }
        }
    }
    let country = elements
        .iter()
        .find(|e| e.namespace == ISO_NAMESPACE && e.identifier == "issuing_country")
        .map(|e| e.value.as_text().map(str::to_owned));
    if let Some(country) = country {
        if country != signer.country {
            return Err(MdocError::CountryMismatch);
        }
    }

    // 6. The device's signature over this session.
    let device_signed = cbor::map(
        cbor::need(doc, "deviceSigned", "a Document without deviceSigned")?,
        "deviceSigned is a map",
    )?;
    let device_namespaces = cbor::need(
        device_signed,
        "nameSpaces",
        "deviceSigned without nameSpaces",
    )?;
    cbor::untag24(device_namespaces, "DeviceNameSpacesBytes is #6.24")?;
    let device_auth = cbor::map(
        cbor::need(
            device_signed,
            "deviceAuth",
            "deviceSigned without deviceAuth",
        )?,
        "deviceAuth is a map",
    )?;
    let Some(device_signature) = cbor::get(device_auth, "deviceSignature") else {
        return Err(if cbor::get(device_auth, "deviceMac").is_some() {
            MdocError::Unsupported("device MAC (only device signatures)")
        } else {
            MdocError::Malformed("deviceAuth without a signature")
        });
    };
    let device_sign1 = read_sign1(device_signature)?;
    check_es256(&device_sign1)?;
    if device_sign1.payload.is_some() {
        // Detached by the standard (and coset would refuse to check it otherwise).
        return Err(MdocError::Malformed(
            "the device signature's payload is detached",
        ));
    }
    let signed_bytes = device_authentication_bytes(transcript, &doc_type, device_namespaces);
    device_sign1.verify_detached_signature(&signed_bytes, &[], |signature, data| {
        signature_ok(&device_key, data, signature)
            .then_some(())
            .ok_or(MdocError::BadDeviceSignature)
    })?;

    Ok(VerifiedDocument {
        doc_type,
        elements,
        signer,
        signed,
        valid_from,
        valid_until,
        status: read_status(mso),
    })
}

/// Verifies a DeviceResponse received in the session `transcript`, against the IACA roots the
/// reader trusts, at `now`. Every document must pass.
pub fn verify_response(
    response: &[u8],
    transcript: &SessionTranscript,
    roots: &[IacaRoot],
    now: OffsetDateTime,
) -> Result<Vec<VerifiedDocument>, MdocError> {
    let value = cbor::decode(response)?;
    let entries = cbor::map(&value, "a DeviceResponse is a map")?;
    let version = cbor::need(entries, "version", "a DeviceResponse without version")?;
    if !version.as_text().is_some_and(|v| v.starts_with("1.")) {
        return Err(MdocError::Unsupported("DeviceResponse version"));
    }
    let status = cbor::uint(
        cbor::need(entries, "status", "a DeviceResponse without status")?,
        "status is an unsigned integer",
    )?;
    if status != 0 {
        return Err(MdocError::ResponseStatus(status));
    }
    let documents = cbor::get(entries, "documents")
        .and_then(|d| d.as_array())
        .filter(|d| !d.is_empty())
        .ok_or(MdocError::Malformed("a DeviceResponse without documents"))?;
    documents
        .iter()
        .map(|d| verify_document(d, transcript, roots, now))
        .collect()
}

#[cfg(all(test, feature = "issuer"))]
mod tests {
    use super::*;
    use crate::certificate::tests::{pki, NOW};
    use crate::elements::Disclosure;
    use crate::issue::tests::{device, issued};
    use crate::present::{DeviceRequest, DeviceResponse};
    use crate::session::{HolderSession, ReaderSession};
    use crate::{CN_NAMESPACE, DOC_TYPE};
    use rand_core::OsRng;

    fn transcript() -> SessionTranscript {
        SessionTranscript::for_qr(b"\xa1\x00\x631.0", b"\xa0")
    }

    fn respond(choice: Disclosure) -> Vec<u8> {
        DeviceResponse::build(&issued(), None, choice, &device(), &transcript())
            .unwrap()
            .0
    }

    fn roots() -> Vec<IacaRoot> {
        vec![pki().0]
    }

    #[test]
    fn a_genuine_response_verifies_and_shows_only_what_was_chosen() {
        let docs = verify_response(
            &respond(Disclosure::RentalDesk),
            &transcript(),
            &roots(),
            NOW,
        )
        .unwrap();
        let doc = &docs[0];
        assert_eq!(doc.doc_type, DOC_TYPE);
        assert_eq!(
            doc.element(ISO_NAMESPACE, "family_name"),
            Some(&Value::Text("ZHANG".into()))
        );
        assert_eq!(
            doc.element(CN_NAMESPACE, "licence_status"),
            Some(&Value::Text("A".into()))
        );
        assert_eq!(doc.element(ISO_NAMESPACE, "document_number"), None);
        assert_eq!(doc.element(CN_NAMESPACE, "cumulative_points"), None);
        assert_eq!(doc.status.as_ref().map(|s| s.index), Some(7));
        let age = verify_response(
            &respond(Disclosure::AgeOver18),
            &transcript(),
            &roots(),
            NOW,
        )
        .unwrap();
        assert_eq!(age[0].elements.len(), 1);
        assert_eq!(
            age[0].element(ISO_NAMESPACE, "age_over_18"),
            Some(&Value::Bool(true))
        );
    }

    /// The first document's `issuerSigned` entries, in a decoded response as built here.
    fn issuer_signed_mut(response: &mut Value) -> &mut Vec<(Value, Value)> {
        let Value::Map(top) = response else { panic!() };
        let Value::Array(docs) = &mut top[1].1 else {
            panic!()
        };
        let Value::Map(doc) = &mut docs[0] else {
            panic!()
        };
        let Value::Map(signed) = &mut doc[1].1 else {
            panic!()
        };
        signed
    }

    /// The response with one element's value changed (its digest no longer matches).
    fn with_value(response: &[u8], identifier: &str, new: Value) -> Vec<u8> {
        let mut value = cbor::decode(response).unwrap();
        let signed = issuer_signed_mut(&mut value);
        let Value::Map(namespaces) = &mut signed[0].1 else {
            panic!()
        };
        for (_, items) in namespaces.iter_mut() {
            let Value::Array(items) = items else { panic!() };
            for item in items.iter_mut() {
                let mut inner = cbor::open24(item, "item").unwrap();
                let Value::Map(fields) = &mut inner else {
                    panic!()
                };
                if fields[2].1.as_text() == Some(identifier) {
                    fields[3].1 = new.clone();
                    *item = crate::cbor::tag24(&inner);
                }
            }
        }
        cbor::encode(&value)
    }

    #[test]
    fn each_forgery_is_refused_with_its_own_reason() {
        let genuine = respond(Disclosure::Everything);
        let check = |bytes: &[u8]| verify_response(bytes, &transcript(), &roots(), NOW);

        // An element changed: 12 points become 0, a name changed.
        let forged = with_value(&genuine, "cumulative_points", Value::Integer(12.into()));
        assert_eq!(
            check(&forged).unwrap_err(),
            MdocError::DigestMismatch(format!("{CN_NAMESPACE}/cumulative_points"))
        );
        let forged = with_value(&genuine, "family_name", Value::Text("LI".into()));
        assert!(matches!(
            check(&forged).unwrap_err(),
            MdocError::DigestMismatch(_)
        ));

        // The same response in another session (a replay to another reader).
        let other = SessionTranscript::for_qr(b"\xa0", b"\xa1\x01\x02");
        assert_eq!(
            verify_response(&genuine, &other, &roots(), NOW).unwrap_err(),
            MdocError::BadDeviceSignature
        );

        // Another device's key signing: the MSO binds this one.
        let (stolen, _) = DeviceResponse::build(
            &issued(),
            None,
            Disclosure::Everything,
            &p256::ecdsa::SigningKey::from_slice(&[10; 32]).unwrap(),
            &transcript(),
        )
        .unwrap();
        assert_eq!(check(&stolen).unwrap_err(), MdocError::BadDeviceSignature);

        // A reader that trusts only another root.
        let other_root = crate::certificate::make_iaca_root(
            &p256::ecdsa::SigningKey::from_slice(&[11; 32]).unwrap(),
            &crate::certificate::tests::subject("Other IACA"),
            NOW - time::Duration::days(1),
            NOW + time::Duration::days(100),
            [3; 16],
        )
        .unwrap();
        assert_eq!(
            verify_response(&genuine, &transcript(), &[other_root], NOW).unwrap_err(),
            MdocError::UntrustedIssuer
        );

        // Too late: the MSO expired (30 days) while the certificates are still valid.
        assert_eq!(
            verify_response(
                &genuine,
                &transcript(),
                &roots(),
                NOW + time::Duration::days(31)
            )
            .unwrap_err(),
            MdocError::MsoOutOfPeriod
        );

        // A flipped bit in the issuer's signature.
        let mut value = cbor::decode(&genuine).unwrap();
        let signed = issuer_signed_mut(&mut value);
        let Value::Array(sign1) = &mut signed[1].1 else {
            panic!()
        };
        let Value::Bytes(sig) = &mut sign1[3] else {
            panic!()
        };
        sig[5] ^= 1;
        assert_eq!(
            check(&cbor::encode(&value)).unwrap_err(),
            MdocError::BadIssuerSignature
        );

        // Not CBOR, or huge.
        assert!(matches!(
            check(b"not cbor").unwrap_err(),
            MdocError::Malformed(_)
        ));
        assert!(matches!(
            check(&vec![0u8; crate::MAX_MESSAGE_BYTES + 1]).unwrap_err(),
            MdocError::TooLarge(_)
        ));
    }

    #[test]
    fn a_whole_proximity_session_from_qr_to_verified_elements() {
        let mut holder = HolderSession::start(&mut OsRng);
        let mut reader = ReaderSession::from_qr(&holder.qr_text(), &mut OsRng).unwrap();
        let request = DeviceRequest::for_mdl(&[
            (ISO_NAMESPACE, "family_name"),
            (ISO_NAMESPACE, "portrait"),
            (ISO_NAMESPACE, "resident_address"),
        ]);
        let asked = holder
            .establish(&reader.request(&request.to_bytes()).unwrap())
            .unwrap();
        let asked = DeviceRequest::from_bytes(&asked).unwrap();
        let (response, shown) = DeviceResponse::build(
            &issued(),
            asked.mdl(),
            Disclosure::RentalDesk,
            &device(),
            holder.transcript().unwrap(),
        )
        .unwrap();
        assert_eq!(shown.len(), 2, "the address was asked but not chosen");
        let received = reader.open(&holder.answer(&response).unwrap()).unwrap();
        let docs = verify_response(&received, reader.transcript(), &roots(), NOW).unwrap();
        assert!(docs[0].element(ISO_NAMESPACE, "portrait").is_some());
        assert!(docs[0].element(ISO_NAMESPACE, "resident_address").is_none());
    }
}
