//! The issuer's side: every element salted and digested, the digests in a Mobile Security
//! Object bound to the holder device's key, signed by the document signer ([`IssuerSigned`]).

use ciborium::Value;
use coset::{iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::rand_core::CryptoRngCore;
use sha2::Digest;
use time::OffsetDateTime;

use crate::cbor::{self, int_key, tag24, tdate, text_key};
use crate::certificate::DocumentSigner;
use crate::elements::Element;
use crate::{MdocError, DOC_TYPE};

/// COSE header label of the certificate chain (RFC 9360 x5chain).
pub(crate) const X5CHAIN: i64 = 33;

/// When the MSO was signed and the window it is valid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsoValidity {
    pub signed: OffsetDateTime,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
}

/// Where the licence's standing is published: our issuer-bound status list, by index (the
/// MSO's `status` of the standard's second edition, after the IETF token status list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    pub index: u32,
    pub uri: String,
}

/// A P-256 public key as a COSE_Key (EC2): for the device's signatures with the algorithm
/// (ES256; readers that import it as a JWK need it), for ECDH without.
pub(crate) fn cose_key(key: &VerifyingKey, signs: bool) -> Value {
    let point = key.to_encoded_point(false);
    let mut entries = vec![int_key(1, Value::Integer(2.into()))];
    if signs {
        entries.push(int_key(3, Value::Integer((-7).into())));
    }
    let coordinate =
        |c: Option<&p256::FieldBytes>| Value::Bytes(c.map(|c| c.to_vec()).unwrap_or_default());
    entries.extend([
        int_key(-1, Value::Integer(1.into())),
        int_key(-2, coordinate(point.x())),
        int_key(-3, coordinate(point.y())),
    ]);
    Value::Map(entries)
}

/// Reads a COSE_Key that must be an EC2 P-256 public key.
pub(crate) fn read_cose_key(value: &Value) -> Result<VerifyingKey, MdocError> {
    let entries = cbor::map(value, "a COSE_Key is a map")?;
    let int = |label| {
        cbor::get_int(entries, label)
            .and_then(|v| v.as_integer())
            .and_then(|i| i64::try_from(i).ok())
    };
    if int(1) != Some(2) || int(-1) != Some(1) {
        return Err(MdocError::Unsupported("only EC2 P-256 device keys"));
    }
    let coordinate = |label| {
        cbor::get_int(entries, label)
            .and_then(|v| v.as_bytes())
            .filter(|b| b.len() == 32)
            .ok_or(MdocError::BadKey)
    };
    let mut sec1 = vec![0x04];
    sec1.extend(coordinate(-2)?);
    sec1.extend(coordinate(-3)?);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| MdocError::BadKey)
}

/// What the issuer gives the holder: the elements, each as signed (`#6.24` IssuerSignedItem),
/// and the issuer's signature over their digests (`issuerAuth`). The app keeps the bytes and
/// shows from them only what the holder chooses.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSigned {
    /// By namespace, each item as signed (`#6.24` wrapped), in the order issued.
    pub(crate) namespaces: Vec<(String, Vec<Value>)>,
    pub(crate) issuer_auth: Value,
}

/// One signed item, opened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SignedItem {
    pub digest_id: u64,
    pub identifier: String,
    pub value: Value,
}

pub(crate) fn open_item(item: &Value) -> Result<SignedItem, MdocError> {
    let inner = cbor::open24(item, "an IssuerSignedItem is #6.24 wrapped")?;
    let entries = cbor::map(&inner, "an IssuerSignedItem is a map")?;
    let random = cbor::need(entries, "random", "an item without its random salt")?;
    if random.as_bytes().is_none_or(|r| r.len() < 16) {
        return Err(MdocError::Malformed(
            "an item's random salt is at least 16 bytes",
        ));
    }
    Ok(SignedItem {
        digest_id: cbor::uint(
            cbor::need(entries, "digestID", "an item without its digestID")?,
            "a digestID is an unsigned integer",
        )?,
        identifier: cbor::need(
            entries,
            "elementIdentifier",
            "an item without its identifier",
        )?
        .as_text()
        .ok_or(MdocError::Malformed("an element identifier is text"))?
        .to_owned(),
        value: cbor::need(entries, "elementValue", "an item without its value")?.clone(),
    })
}

/// The digest of a signed item as received: over its whole `#6.24` encoding.
pub(crate) fn item_digest(item: &Value, algorithm: &str) -> Result<Vec<u8>, MdocError> {
    let bytes = cbor::encode(item);
    Ok(match algorithm {
        "SHA-256" => sha2::Sha256::digest(&bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(&bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(&bytes).to_vec(),
        _ => return Err(MdocError::Unsupported("digest algorithm")),
    })
}

impl IssuerSigned {
    /// Issues `elements` for the device key, valid as `validity` says, signed by `signer`.
    /// Each element gets 32 random bytes of salt (a verifier shown some elements cannot guess
    /// the others from their digests) and a random digest ID (their order tells nothing).
    pub fn issue(
        elements: &[Element],
        device_key: &VerifyingKey,
        validity: &MsoValidity,
        status: Option<&StatusReference>,
        signer: &DocumentSigner,
        rng: &mut impl CryptoRngCore,
    ) -> Result<IssuerSigned, MdocError> {
        let (from, until) = signer.period();
        if validity.signed.unix_timestamp() < from || validity.signed.unix_timestamp() > until {
            return Err(MdocError::SignedOutsideCertificate);
        }
        if validity.valid_until <= validity.valid_from {
            return Err(MdocError::Malformed(
                "an MSO valid until before it is valid from",
            ));
        }
        // Digest IDs: a random permutation of 0..n.
        let mut ids: Vec<u64> = (0..elements.len() as u64).collect();
        for i in (1..ids.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            ids.swap(i, j);
        }
        let mut namespaces: Vec<(String, Vec<Value>)> = Vec::new();
        let mut digests: Vec<(String, Vec<(Value, Value)>)> = Vec::new();
        for (element, id) in elements.iter().zip(ids) {
            let mut random = [0u8; 32];
            rng.fill_bytes(&mut random);
            let item = tag24(&Value::Map(vec![
                text_key("digestID", Value::Integer(id.into())),
                text_key("random", Value::Bytes(random.to_vec())),
                text_key("elementIdentifier", Value::Text(element.identifier.clone())),
                text_key("elementValue", element.value.clone()),
            ]));
            let digest = item_digest(&item, "SHA-256")?;
            match namespaces
                .iter()
                .position(|(ns, _)| *ns == element.namespace)
            {
                Some(i) => {
                    namespaces[i].1.push(item);
                    digests[i]
                        .1
                        .push((Value::Integer(id.into()), Value::Bytes(digest)));
                }
                None => {
                    namespaces.push((element.namespace.clone(), vec![item]));
                    digests.push((
                        element.namespace.clone(),
                        vec![(Value::Integer(id.into()), Value::Bytes(digest))],
                    ));
                }
            }
        }
        let mut mso = vec![
            text_key("version", Value::Text("1.0".into())),
            text_key("digestAlgorithm", Value::Text("SHA-256".into())),
            text_key(
                "valueDigests",
                Value::Map(
                    digests
                        .into_iter()
                        .map(|(ns, d)| (Value::Text(ns), Value::Map(d)))
                        .collect(),
                ),
            ),
            text_key(
                "deviceKeyInfo",
                Value::Map(vec![text_key("deviceKey", cose_key(device_key, true))]),
            ),
            text_key("docType", Value::Text(DOC_TYPE.into())),
            text_key(
                "validityInfo",
                Value::Map(vec![
                    text_key("signed", tdate(validity.signed)),
                    text_key("validFrom", tdate(validity.valid_from)),
                    text_key("validUntil", tdate(validity.valid_until)),
                ]),
            ),
        ];
        if let Some(status) = status {
            mso.push(text_key(
                "status",
                Value::Map(vec![text_key(
                    "status_list",
                    Value::Map(vec![
                        text_key("idx", Value::Integer(status.index.into())),
                        text_key("uri", Value::Text(status.uri.clone())),
                    ]),
                )]),
            ));
        }
        let payload = cbor::encode(&tag24(&Value::Map(mso)));
        let sign1 = CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .build(),
            )
            .unprotected(
                HeaderBuilder::new()
                    .value(X5CHAIN, Value::Bytes(signer.certificate_der().to_vec()))
                    .build(),
            )
            .payload(payload)
            .create_signature(&[], |tbs| {
                let signature: Signature = signer.key().sign(tbs);
                signature.to_bytes().to_vec()
            })
            .build();
        let issuer_auth = coset::AsCborValue::to_cbor_value(sign1)
            .map_err(|_| MdocError::Malformed("COSE encoding failed"))?;
        Ok(IssuerSigned {
            namespaces,
            issuer_auth,
        })
    }

    /// `IssuerSigned` as CBOR: `{nameSpaces, issuerAuth}`.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::encode(&self.to_value())
    }

    pub(crate) fn to_value(&self) -> Value {
        Value::Map(vec![
            text_key(
                "nameSpaces",
                Value::Map(
                    self.namespaces
                        .iter()
                        .map(|(ns, items)| (Value::Text(ns.clone()), Value::Array(items.clone())))
                        .collect(),
                ),
            ),
            text_key("issuerAuth", self.issuer_auth.clone()),
        ])
    }

    /// Reads `IssuerSigned` bytes (as the app stored them), checking their shape only; a
    /// reader's checks are [`crate::verify_response`]'s.
    pub fn from_bytes(bytes: &[u8]) -> Result<IssuerSigned, MdocError> {
        IssuerSigned::from_value(&cbor::decode(bytes)?)
    }

    pub(crate) fn from_value(value: &Value) -> Result<IssuerSigned, MdocError> {
        let entries = cbor::map(value, "IssuerSigned is a map")?;
        let issuer_auth = cbor::need(entries, "issuerAuth", "IssuerSigned without issuerAuth")?;
        let mut namespaces = Vec::new();
        if let Some(ns) = cbor::get(entries, "nameSpaces") {
            for (name, items) in cbor::map(ns, "nameSpaces is a map")? {
                let name = name
                    .as_text()
                    .ok_or(MdocError::Malformed("a namespace is named by text"))?;
                let items = items
                    .as_array()
                    .ok_or(MdocError::Malformed("a namespace's items are an array"))?;
                for item in items {
                    open_item(item)?;
                }
                namespaces.push((name.to_owned(), items.clone()));
            }
        }
        Ok(IssuerSigned {
            namespaces,
            issuer_auth: issuer_auth.clone(),
        })
    }

    /// Every element, for the holder's own screen.
    pub fn elements(&self) -> Vec<Element> {
        self.namespaces
            .iter()
            .flat_map(|(ns, items)| {
                items.iter().filter_map(move |item| {
                    open_item(item).ok().map(|i| Element {
                        namespace: ns.clone(),
                        identifier: i.identifier,
                        value: i.value,
                    })
                })
            })
            .collect()
    }
}

/// Issues a licence as an mDL: its elements (the name in pinyin, the approved photo as the
/// portrait), bound to the holder device's key (SEC1), as of `validity.signed` in China.
#[cfg(feature = "issuer")]
pub fn issue_licence(
    licence: &licence_core::DrivingLicence,
    photo_jpeg: &[u8],
    device_key: &[u8],
    validity: &MsoValidity,
    status: Option<&StatusReference>,
    signer: &DocumentSigner,
    rng: &mut impl CryptoRngCore,
) -> Result<IssuerSigned, MdocError> {
    let key = VerifyingKey::from_sec1_bytes(device_key).map_err(|_| MdocError::BadKey)?;
    let name = crate::elements::romanise(licence.record().name.as_str());
    let today = validity.signed.to_offset(licence_core::CHINA_OFFSET).date();
    let elements = crate::elements::licence_elements(licence, &name, photo_jpeg, today);
    IssuerSigned::issue(&elements, &key, validity, status, signer, rng)
}

/// A COSE_Sign1 from a decoded value (untagged as 18013-5 writes it, or tagged 18).
pub(crate) fn read_sign1(value: &Value) -> Result<CoseSign1, MdocError> {
    let value = match value {
        Value::Tag(18, inner) => inner.as_ref().clone(),
        other => other.clone(),
    };
    let bytes = cbor::encode(&value);
    CoseSign1::from_slice(&bytes).map_err(|_| MdocError::Malformed("not a COSE_Sign1"))
}

#[cfg(all(test, feature = "issuer"))]
pub(crate) mod tests {
    use super::*;
    use crate::certificate::tests::{pki, NOW};
    use crate::elements::{licence_elements, romanise};
    use p256::ecdsa::SigningKey;
    use rand_core::OsRng;

    pub(crate) fn validity() -> MsoValidity {
        MsoValidity {
            signed: NOW,
            valid_from: NOW,
            valid_until: NOW + time::Duration::days(30),
        }
    }

    pub(crate) fn device() -> SigningKey {
        SigningKey::from_slice(&[9; 32]).unwrap()
    }

    /// The sample licence issued to [`device`] under [`pki`].
    pub(crate) fn issued() -> IssuerSigned {
        let (_, _, signer) = pki();
        let licence = licence_core::testdata::sample_licence();
        let elements = licence_elements(&licence, &romanise("张伟"), b"\xff\xd8jpeg", NOW.date());
        let status = StatusReference {
            index: 7,
            uri: "https://122.gov.cn/api/v1/status-lists/bj-2026".into(),
        };
        IssuerSigned::issue(
            &elements,
            device().verifying_key(),
            &validity(),
            Some(&status),
            &signer,
            &mut OsRng,
        )
        .unwrap()
    }

    #[test]
    fn issued_elements_read_back_with_unique_digest_ids_and_salts() {
        let issued = issued();
        let back = IssuerSigned::from_bytes(&issued.to_bytes()).unwrap();
        assert_eq!(back, issued);
        let elements = back.elements();
        assert_eq!(elements.len(), 23);
        let family = elements
            .iter()
            .find(|e| e.identifier == "family_name")
            .unwrap();
        assert_eq!(family.value, Value::Text("ZHANG".into()));
        let mut ids: Vec<u64> = issued
            .namespaces
            .iter()
            .flat_map(|(_, items)| items.iter().map(|i| open_item(i).unwrap().digest_id))
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..23).collect::<Vec<_>>());
    }

    #[test]
    fn an_mso_is_not_signed_outside_its_signers_certificate() {
        let (_, _, signer) = pki();
        let late = MsoValidity {
            signed: NOW + time::Duration::days(400),
            ..validity()
        };
        assert_eq!(
            IssuerSigned::issue(
                &[],
                device().verifying_key(),
                &late,
                None,
                &signer,
                &mut OsRng
            )
            .unwrap_err(),
            MdocError::SignedOutsideCertificate
        );
    }

    #[test]
    fn a_device_key_round_trips_as_a_cose_key_and_other_curves_are_refused() {
        let key = *device().verifying_key();
        assert_eq!(read_cose_key(&cose_key(&key, true)).unwrap(), key);
        assert_eq!(read_cose_key(&cose_key(&key, false)).unwrap(), key);
        let mut other = cose_key(&key, false);
        if let Value::Map(m) = &mut other {
            m[1].1 = Value::Integer(2.into()); // P-384
        }
        assert!(matches!(
            read_cose_key(&other),
            Err(MdocError::Unsupported(_))
        ));
    }
}
