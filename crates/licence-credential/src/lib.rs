//! The e-licence credential and its offline verification (R4.2, R4.3).
//!
//! The issuer signs the licence's fields, a small portrait, the holder device's public key, a
//! validity window and a status-list index ([`Credential`], CBOR in COSE_Sign1 with ES256).
//! The holder's device wraps that credential in a [`Presentation`] every 30 seconds, signed
//! with its own key and stamped with the time, and shows it as QR text (`DL1:` + base45 of the
//! deflated CBOR). An officer's verifier checks it with no network: issuer signature against a
//! [`TrustList`], the credential's validity, the device signature, the presentation's age, and
//! the licence's standing in its issuer's cached, signed [`StatusList`] and in its own record;
//! everything in the one deterministic encoding (see [`cbor`]); every outcome has its own
//! [`VerdictCode`]. The exact schema is in docs/credential.md.
//!
//! No I/O: keys come in as values, time as Unix seconds, randomness as a parameter.
//!
//! ```
//! use licence_core::LicenceStatus;
//! use licence_credential::*;
//! # let licence = licence_core::testdata::sample_licence();
//! let now = 1_795_485_600; // Unix seconds
//! // The police: a key, its trust-list entry, a signed credential bound to the device.
//! let issuer = IssuerKey::from_secret("bj-2026", "北京市公安局公安交通管理局", &[7; 32]).unwrap();
//! let trust = TrustList { issuers: vec![issuer.trusted(now - 86_400, now + 86_400)], ..Default::default() };
//! let device = DeviceKey::from_secret(&[9; 32]).unwrap();
//! let credential = Credential {
//!     licence, portrait_jpeg: Vec::new(), device_key: device.public_key(),
//!     not_before: now, not_after: now + 86_400, status_index: 0, photo_digest: None,
//! };
//! let signed = credential.sign(&issuer).unwrap();
//! // The holder's phone, every 30 s: the QR text.
//! let text = Presentation::generate(&signed, &device, now).to_text();
//! // The police sign the status list; the officer caches it and verifies offline.
//! let mut list = StatusList::new(16, now, 86_400);
//! list.set(0, LicenceStatus::NORMAL).unwrap();
//! let lists = [StatusList::verify(&list.sign(&issuer).unwrap(), &trust).unwrap()];
//! let v = verify(&text, &trust, &lists, now + 5, VerifyOptions::default());
//! assert_eq!(v.verdict, VerdictCode::Valid);
//! // The same QR a minute and a half later is a screenshot.
//! let v = verify(&text, &trust, &lists, now + 90, VerifyOptions::default());
//! assert_eq!(v.verdict, VerdictCode::PresentationTooOld);
//! ```

pub mod base45;
pub mod cbor;
mod credential;
pub mod hex;
mod keys;
pub mod portrait;
mod presentation;
pub mod qr;
mod status;
mod verify;

pub use credential::Credential;
pub use keys::{DeviceKey, IssuerKey, TrustList, TrustRoot, TrustRootKey, TrustedIssuer};
pub use presentation::{Presentation, MAX_INFLATED_BYTES, MAX_TEXT_CHARS, PREFIX};
pub use status::StatusList;

/// The HTTP entity tag the platform serves a signed document (the trust list, a status
/// list) with: a strong validator, the first 16 bytes of the document's SHA-256 in hex,
/// quoted. A device computes it from the copy it holds to ask "changed since?"
/// (`If-None-Match`) without keeping the tag; an unchanged document then costs a 304.
pub fn document_etag(signed: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(signed);
    format!("\"{}\"", hex::encode(&digest[..16]))
}
pub use verify::{
    verify, Light, StatusReport, VerdictCode, Verification, VerifyOptions, CLOCK_SKEW,
    DEFAULT_MAX_AGE,
};

/// Largest portrait thumbnail a credential may carry (compacted), so the QR stays scannable.
pub const MAX_PORTRAIT_BYTES: usize = 2048;

/// Errors building or reading credentials and status lists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("the key is not a valid P-256 secret")]
    BadKey,
    #[error("signed by an issuer not on the trust list")]
    UnknownIssuer,
    #[error("the issuer's signature does not verify")]
    BadSignature,
    /// An ECDSA signature whose `s` is in the upper half: a second encoding of a valid one.
    #[error("the signature is not in its low-S form")]
    HighS,
    #[error("not deterministic CBOR: {0}")]
    NotDeterministic(#[from] cbor::EncodingError),
    /// Signed outside the window its key may sign in.
    #[error("signed outside its key's window")]
    KeyOutOfPeriod,
    /// Older than the list already held (a replay).
    #[error("older than the list already held")]
    Older,
}
