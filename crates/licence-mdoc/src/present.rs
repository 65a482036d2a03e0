//! The holder's side: what a reader asks for ([`DeviceRequest`]) and the answer
//! ([`DeviceResponse`]): the issuer's items the holder chose to show, unchanged, and the
//! device's signature over the session transcript.

use ciborium::Value;
use coset::{iana, CoseSign1Builder, HeaderBuilder};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

use crate::cbor::{self, tag24, text_key};
use crate::elements::Disclosure;
use crate::issue::{open_item, IssuerSigned};
use crate::session::SessionTranscript;
use crate::{MdocError, DOC_TYPE};

/// What a reader asks of one document: elements by namespace, each with whether the reader
/// means to keep it (intent to retain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsRequest {
    pub doc_type: String,
    pub items: Vec<(String, String, bool)>,
}

/// A reader's DeviceRequest (version 1.0, no reader authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    pub documents: Vec<ItemsRequest>,
}

impl DeviceRequest {
    /// A request for the mDL's elements named `(namespace, identifier)`, none retained.
    pub fn for_mdl(items: &[(&str, &str)]) -> DeviceRequest {
        DeviceRequest {
            documents: vec![ItemsRequest {
                doc_type: DOC_TYPE.into(),
                items: items
                    .iter()
                    .map(|(ns, id)| ((*ns).to_owned(), (*id).to_owned(), false))
                    .collect(),
            }],
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let requests = self
            .documents
            .iter()
            .map(|d| {
                let mut namespaces: Vec<(Value, Value)> = Vec::new();
                for (ns, id, retain) in &d.items {
                    let entry = (Value::Text(id.clone()), Value::Bool(*retain));
                    match namespaces.iter_mut().find(|(k, _)| k.as_text() == Some(ns)) {
                        Some((_, Value::Map(m))) => m.push(entry),
                        _ => namespaces.push((Value::Text(ns.clone()), Value::Map(vec![entry]))),
                    }
                }
                Value::Map(vec![text_key(
                    "itemsRequest",
                    tag24(&Value::Map(vec![
                        text_key("docType", Value::Text(d.doc_type.clone())),
                        text_key("nameSpaces", Value::Map(namespaces)),
                    ])),
                )])
            })
            .collect();
        cbor::encode(&Value::Map(vec![
            text_key("version", Value::Text("1.0".into())),
            text_key("docRequests", Value::Array(requests)),
        ]))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DeviceRequest, MdocError> {
        let value = cbor::decode(bytes)?;
        let entries = cbor::map(&value, "DeviceRequest is a map")?;
        let version = cbor::need(entries, "version", "DeviceRequest without version")?;
        if !version.as_text().is_some_and(|v| v.starts_with("1.")) {
            return Err(MdocError::Unsupported("DeviceRequest version"));
        }
        let requests = cbor::need(entries, "docRequests", "DeviceRequest without docRequests")?
            .as_array()
            .ok_or(MdocError::Malformed("docRequests is an array"))?;
        let mut documents = Vec::new();
        for request in requests {
            let r = cbor::map(request, "a DocRequest is a map")?;
            let items = cbor::open24(
                cbor::need(r, "itemsRequest", "a DocRequest without itemsRequest")?,
                "ItemsRequestBytes is #6.24",
            )?;
            let items = cbor::map(&items, "ItemsRequest is a map")?;
            let doc_type = cbor::need(items, "docType", "ItemsRequest without docType")?
                .as_text()
                .ok_or(MdocError::Malformed("docType is text"))?
                .to_owned();
            let mut wanted = Vec::new();
            for (ns, elements) in cbor::map(
                cbor::need(items, "nameSpaces", "ItemsRequest without nameSpaces")?,
                "nameSpaces is a map",
            )? {
                let ns = ns
                    .as_text()
                    .ok_or(MdocError::Malformed("a namespace is text"))?;
                for (id, retain) in cbor::map(elements, "a namespace's request is a map")? {
                    let id = id
                        .as_text()
                        .ok_or(MdocError::Malformed("an element identifier is text"))?;
                    let retain = retain
                        .as_bool()
                        .ok_or(MdocError::Malformed("intent to retain is a boolean"))?;
                    wanted.push((ns.to_owned(), id.to_owned(), retain));
                }
            }
            documents.push(ItemsRequest {
                doc_type,
                items: wanted,
            });
        }
        Ok(DeviceRequest { documents })
    }

    /// The request for the mDL, if any.
    pub fn mdl(&self) -> Option<&ItemsRequest> {
        self.documents.iter().find(|d| d.doc_type == DOC_TYPE)
    }
}

/// `#6.24(DeviceAuthentication)` bytes: what the device signs.
pub(crate) fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    device_namespaces: &Value,
) -> Vec<u8> {
    cbor::encode(&tag24(&Value::Array(vec![
        Value::Text("DeviceAuthentication".into()),
        transcript.0.clone(),
        Value::Text(doc_type.into()),
        device_namespaces.clone(),
    ])))
}

/// An element by `(namespace, identifier)`.
pub type ElementName = (String, String);

/// The holder's answer.
pub struct DeviceResponse;

impl DeviceResponse {
    /// A DeviceResponse showing, of `issued`, the elements the holder's `choice` allows and the
    /// reader asked for (all the choice allows when `request` is `None`), signed by the device
    /// over `transcript`. Returns the bytes and the `(namespace, identifier)` pairs shown.
    pub fn build(
        issued: &IssuerSigned,
        request: Option<&ItemsRequest>,
        choice: Disclosure,
        device_key: &SigningKey,
        transcript: &SessionTranscript,
    ) -> Result<(Vec<u8>, Vec<ElementName>), MdocError> {
        let mut shown = Vec::new();
        let mut namespaces = Vec::new();
        for (ns, items) in &issued.namespaces {
            let mut kept = Vec::new();
            for item in items {
                let id = open_item(item)?.identifier;
                let asked =
                    request.is_none_or(|r| r.items.iter().any(|(n, i, _)| n == ns && *i == id));
                if asked && choice.allows(ns, &id) {
                    kept.push(item.clone());
                    shown.push((ns.clone(), id));
                }
            }
            if !kept.is_empty() {
                namespaces.push((Value::Text(ns.clone()), Value::Array(kept)));
            }
        }
        let device_namespaces = tag24(&Value::Map(Vec::new()));
        let signed = device_authentication_bytes(transcript, DOC_TYPE, &device_namespaces);
        let signature = CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .build(),
            )
            // coset takes the detached payload first, then the external AAD (none).
            .create_detached_signature(&signed, &[], |tbs| {
                let signature: Signature = device_key.sign(tbs);
                signature.to_bytes().to_vec()
            })
            .build();
        let device_signature = coset::AsCborValue::to_cbor_value(signature)
            .map_err(|_| MdocError::Malformed("COSE encoding failed"))?;
        let document = Value::Map(vec![
            text_key("docType", Value::Text(DOC_TYPE.into())),
            text_key(
                "issuerSigned",
                Value::Map(vec![
                    text_key("nameSpaces", Value::Map(namespaces)),
                    text_key("issuerAuth", issued.issuer_auth.clone()),
                ]),
            ),
            text_key(
                "deviceSigned",
                Value::Map(vec![
                    text_key("nameSpaces", device_namespaces),
                    text_key(
                        "deviceAuth",
                        Value::Map(vec![text_key("deviceSignature", device_signature)]),
                    ),
                ]),
            ),
        ]);
        let response = Value::Map(vec![
            text_key("version", Value::Text("1.0".into())),
            text_key("documents", Value::Array(vec![document])),
            text_key("status", Value::Integer(0.into())),
        ]);
        Ok((cbor::encode(&response), shown))
    }
}

#[cfg(all(test, feature = "issuer"))]
mod tests {
    use super::*;
    use crate::issue::tests::{device, issued};
    use crate::{CN_NAMESPACE, ISO_NAMESPACE};

    fn transcript() -> SessionTranscript {
        SessionTranscript::for_qr(b"\xa0", b"\xa0")
    }

    #[test]
    fn a_request_round_trips_and_only_what_is_both_asked_and_allowed_is_shown() {
        let request = DeviceRequest::for_mdl(&[
            (ISO_NAMESPACE, "family_name"),
            (ISO_NAMESPACE, "portrait"),
            (ISO_NAMESPACE, "document_number"),
            (CN_NAMESPACE, "licence_status"),
        ]);
        let back = DeviceRequest::from_bytes(&request.to_bytes()).unwrap();
        assert_eq!(back, request);
        let (_, shown) = DeviceResponse::build(
            &issued(),
            back.mdl(),
            Disclosure::RentalDesk,
            &device(),
            &transcript(),
        )
        .unwrap();
        let ids: Vec<&str> = shown.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["family_name", "portrait", "licence_status"]);
        // With no request, the choice alone decides.
        let (_, shown) = DeviceResponse::build(
            &issued(),
            None,
            Disclosure::AgeOver18,
            &device(),
            &transcript(),
        )
        .unwrap();
        assert_eq!(
            shown,
            [(ISO_NAMESPACE.to_owned(), "age_over_18".to_owned())]
        );
    }

    #[test]
    fn a_request_that_is_not_one_is_refused_with_what_is_wrong() {
        assert!(DeviceRequest::from_bytes(b"\xa0").is_err());
        let wrong_version = cbor::encode(&Value::Map(vec![
            text_key("version", Value::Text("2.0".into())),
            text_key("docRequests", Value::Array(vec![])),
        ]));
        assert_eq!(
            DeviceRequest::from_bytes(&wrong_version).unwrap_err(),
            MdocError::Unsupported("DeviceRequest version")
        );
    }
}
