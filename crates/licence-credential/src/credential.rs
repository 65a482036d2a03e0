//! The e-licence credential: the licence's fields, the portrait thumbnail, the holder device's
//! key, the validity window and the status-list index, as an integer-keyed CBOR map signed by
//! the issuer in a COSE_Sign1 (ES256). The schema is in docs/credential.md.

use ciborium::Value;
use coset::{iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder};
use licence_core::licence::LicenceRecord;
use licence_core::DrivingLicence;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

use crate::keys::{IssuerKey, TrustList};
use crate::{CredentialError, MAX_PORTRAIT_BYTES};

/// What the issuer signs.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub licence: DrivingLicence,
    /// The approved portrait: a small JPEG compacted by [`crate::portrait::compact_jpeg`]
    /// (at most `MAX_PORTRAIT_BYTES`); [`Credential::portrait_for_display`] restores it.
    pub portrait_jpeg: Vec<u8>,
    /// The holder device's public key, SEC1 compressed.
    pub device_key: Vec<u8>,
    /// Unix seconds: the credential is valid in [not_before, not_after].
    pub not_before: i64,
    pub not_after: i64,
    /// Where the licence's standing is in the issuer's status list.
    pub status_index: u32,
    /// SHA-256 of the approved full-colour photo (the 260×378 JPEG) that the holder's own
    /// screen shows: the app fetches the photo apart and shows it only if it matches. The
    /// portrait above stays in the QR for the officer. Absent in credentials issued before it.
    pub photo_digest: Option<[u8; 32]>,
}

mod key {
    pub const NUMBER: i64 = 1;
    pub const NAME: i64 = 2;
    pub const NATIONALITY: i64 = 3;
    pub const ADDRESS: i64 = 4;
    pub const FIRST_ISSUED: i64 = 5;
    pub const CLASSES: i64 = 6;
    pub const VALIDITY: i64 = 7;
    pub const POINTS: i64 = 8;
    pub const STATUS: i64 = 9;
    pub const AUTHORITY: i64 = 10;
    pub const FILE_NUMBER: i64 = 11;
    pub const PORTRAIT: i64 = 12;
    pub const DEVICE_KEY: i64 = 13;
    pub const NOT_BEFORE: i64 = 14;
    pub const NOT_AFTER: i64 = 15;
    pub const STATUS_INDEX: i64 = 16;
    pub const PHOTO_DIGEST: i64 = 17;
}

fn text(k: i64, v: impl ToString) -> (Value, Value) {
    (Value::Integer(k.into()), Value::Text(v.to_string()))
}

fn int(k: i64, v: i64) -> (Value, Value) {
    (Value::Integer(k.into()), Value::Integer(v.into()))
}

fn bytes(k: i64, v: &[u8]) -> (Value, Value) {
    (Value::Integer(k.into()), Value::Bytes(v.to_vec()))
}

impl Credential {
    /// The portrait as a complete JPEG, ready to decode and show.
    pub fn portrait_for_display(&self) -> Vec<u8> {
        crate::portrait::expand_jpeg(&self.portrait_jpeg)
    }

    pub fn to_cbor(&self) -> Vec<u8> {
        let r = self.licence.record();
        let mut fields = vec![
            text(key::NUMBER, r.number),
            text(key::NAME, &r.name),
            text(key::NATIONALITY, &r.nationality),
            text(key::ADDRESS, &r.address),
            text(key::FIRST_ISSUED, r.first_issued),
            text(key::CLASSES, r.classes),
            text(key::VALIDITY, r.validity),
            int(key::POINTS, i64::from(r.points.value())),
            text(key::STATUS, r.status),
            text(key::AUTHORITY, &r.issuing_authority),
            text(key::FILE_NUMBER, r.file_number),
            bytes(key::PORTRAIT, &self.portrait_jpeg),
            bytes(key::DEVICE_KEY, &self.device_key),
            int(key::NOT_BEFORE, self.not_before),
            int(key::NOT_AFTER, self.not_after),
            int(key::STATUS_INDEX, i64::from(self.status_index)),
        ];
        if let Some(digest) = &self.photo_digest {
            fields.push(bytes(key::PHOTO_DIGEST, digest));
        }
        crate::cbor::encode(Value::Map(fields))
    }

    pub fn from_cbor(data: &[u8]) -> Result<Credential, CredentialError> {
        let bad = |what: &'static str| CredentialError::Malformed(what);
        crate::cbor::check_deterministic(data)?;
        let value: Value =
            ciborium::from_reader(data).map_err(|_| bad("credential is not CBOR"))?;
        let map = value
            .into_map()
            .map_err(|_| bad("credential is not a map"))?;
        let get = |k: i64| {
            map.iter()
                .find(|(key, _)| key.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(k))
                .map(|(_, v)| v)
                .ok_or(bad("credential field missing"))
        };
        let get_text = |k: i64| get(k)?.as_text().ok_or(bad("credential field is not text"));
        let get_int = |k: i64| {
            get(k)?
                .as_integer()
                .and_then(|i| i64::try_from(i).ok())
                .ok_or(bad("credential field is not an integer"))
        };
        let get_bytes = |k: i64| {
            get(k)?
                .as_bytes()
                .cloned()
                .ok_or(bad("credential field is not bytes"))
        };
        let record = LicenceRecord {
            number: get_text(key::NUMBER)?
                .parse()
                .map_err(|_| bad("licence number"))?,
            name: get_text(key::NAME)?.parse().map_err(|_| bad("name"))?,
            nationality: get_text(key::NATIONALITY)?.to_owned(),
            address: get_text(key::ADDRESS)?.to_owned(),
            first_issued: time::Date::parse(
                get_text(key::FIRST_ISSUED)?,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| bad("first-issue date"))?,
            classes: get_text(key::CLASSES)?
                .parse()
                .map_err(|_| bad("vehicle classes"))?,
            validity: get_text(key::VALIDITY)?
                .parse()
                .map_err(|_| bad("validity"))?,
            points: u32::try_from(get_int(key::POINTS)?)
                .ok()
                .and_then(|p| licence_core::Points::new(p).ok())
                .ok_or(bad("points"))?,
            status: get_text(key::STATUS)?.parse().map_err(|_| bad("status"))?,
            issuing_authority: get_text(key::AUTHORITY)?.to_owned(),
            file_number: get_text(key::FILE_NUMBER)?
                .parse()
                .map_err(|_| bad("file number"))?,
        };
        let photo_digest = match get(key::PHOTO_DIGEST) {
            Err(_) => None,
            Ok(v) => Some(
                v.as_bytes()
                    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                    .ok_or(bad("photo digest"))?,
            ),
        };
        let portrait_jpeg = get_bytes(key::PORTRAIT)?;
        if portrait_jpeg.len() > MAX_PORTRAIT_BYTES {
            return Err(bad("portrait too large"));
        }
        Ok(Credential {
            licence: DrivingLicence::new(record).map_err(|_| bad("licence fields inconsistent"))?,
            portrait_jpeg,
            device_key: get_bytes(key::DEVICE_KEY)?,
            not_before: get_int(key::NOT_BEFORE)?,
            not_after: get_int(key::NOT_AFTER)?,
            status_index: u32::try_from(get_int(key::STATUS_INDEX)?)
                .map_err(|_| bad("status index"))?,
            photo_digest,
        })
    }

    /// Signs the credential: COSE_Sign1 with ES256 and the issuer's kid in the protected header.
    /// A key with a fixed window refuses to sign a credential that does not lie wholly in it
    /// (a verifier would refuse it as `issuer_key_out_of_period`).
    pub fn sign(&self, issuer: &IssuerKey) -> Result<Vec<u8>, CredentialError> {
        if self.portrait_jpeg.len() > MAX_PORTRAIT_BYTES {
            return Err(CredentialError::Malformed("portrait too large"));
        }
        if let Some((from, until)) = issuer.window() {
            if self.not_before < from || self.not_after > until {
                return Err(CredentialError::KeyOutOfPeriod);
            }
        }
        sign_payload(self.to_cbor(), issuer)
    }
}

/// Signs a payload as a COSE_Sign1 (untagged) with ES256, the signer's kid in the protected
/// header, the signature in its low-S form.
pub(crate) fn sign_payload(
    payload: Vec<u8>,
    issuer: &IssuerKey,
) -> Result<Vec<u8>, CredentialError> {
    sign_with(payload, issuer.kid(), issuer.signing())
}

pub(crate) fn sign_with(
    payload: Vec<u8>,
    kid: &str,
    key: &SigningKey,
) -> Result<Vec<u8>, CredentialError> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.as_bytes().to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(&[], |tbs| low_s_signature(key, tbs).to_bytes().to_vec())
        .build()
        .to_vec()
        .map_err(|_| CredentialError::Malformed("COSE encoding failed"))
}

/// An ES256 signature in its low-S form, the only form a verifier here accepts (p256 does not
/// normalise by itself).
pub(crate) fn low_s_signature(key: &SigningKey, message: &[u8]) -> Signature {
    let signature: Signature = key.sign(message);
    signature.normalize_s().unwrap_or(signature)
}

/// Checks an ES256 signature (r‖s) over `message`, refusing the high-S twin of a valid one.
pub(crate) fn check_signature(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CredentialError> {
    let signature = Signature::from_slice(signature).map_err(|_| CredentialError::BadSignature)?;
    if signature.normalize_s().is_some() {
        return Err(CredentialError::HighS);
    }
    key.verify(message, &signature)
        .map_err(|_| CredentialError::BadSignature)
}

impl Credential {
    /// Opens a credential as issued, as the holder's app does on receiving it: the issuer must
    /// be on the trust list and its signature good.
    pub fn open(signed: &[u8], trust: &TrustList) -> Result<Credential, CredentialError> {
        Credential::open_with_kid(signed, trust).map(|(credential, _)| credential)
    }

    /// [`Credential::open`], with the kid of the key that signed it (whose status list speaks
    /// for it).
    pub fn open_with_kid(
        signed: &[u8],
        trust: &TrustList,
    ) -> Result<(Credential, String), CredentialError> {
        let (issuer, payload) = open_signed(signed, trust)?;
        Ok((Credential::from_cbor(&payload)?, issuer.kid.clone()))
    }
}

/// Opens a COSE_Sign1 made by a trusted issuer: returns the issuer and the payload once every
/// layer is deterministic CBOR, the algorithm is ES256, the kid is on the trust list and the
/// signature verifies.
pub(crate) fn open_signed<'t>(
    bytes: &[u8],
    trust: &'t TrustList,
) -> Result<(&'t crate::keys::TrustedIssuer, Vec<u8>), CredentialError> {
    let (kid, payload) = open_cose(bytes, |kid| {
        let issuer = trust.find(kid).ok_or(CredentialError::UnknownIssuer)?;
        let key = issuer
            .verifying_key()
            .ok_or(CredentialError::UnknownIssuer)?;
        Ok(key)
    })?;
    let issuer = trust.find(&kid).ok_or(CredentialError::UnknownIssuer)?;
    Ok((issuer, payload))
}

/// Opens a COSE_Sign1 whose key `key_of` finds by kid; returns the kid and the payload.
pub(crate) fn open_cose(
    bytes: &[u8],
    key_of: impl FnOnce(&str) -> Result<VerifyingKey, CredentialError>,
) -> Result<(String, Vec<u8>), CredentialError> {
    let malformed = CredentialError::Malformed("not a COSE_Sign1 with ES256 and a kid");
    crate::cbor::check_deterministic(bytes)?;
    let sign1 = CoseSign1::from_slice(bytes).map_err(|_| malformed.clone())?;
    if let Some(protected) = &sign1.protected.original_data {
        crate::cbor::check_deterministic(protected)?;
    }
    let kid = std::str::from_utf8(&sign1.protected.header.key_id)
        .map_err(|_| malformed.clone())?
        .to_owned();
    // Exactly what sign_payload writes: nothing unsigned beside it, no other parameter.
    let expected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.as_bytes().to_vec())
        .build();
    if kid.is_empty() || sign1.protected.header != expected || !sign1.unprotected.is_empty() {
        return Err(malformed);
    }
    let key = key_of(&kid)?;
    sign1.verify_signature(&[], |signature, data| {
        check_signature(&key, data, signature)
    })?;
    let payload = sign1.payload.ok_or(malformed)?;
    crate::cbor::check_deterministic(&payload)?;
    Ok((kid, payload))
}
