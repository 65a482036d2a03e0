//! The e-licence credential and its offline verification (R4.2, R4.3).
//!
//! The issuer signs the licence's fields, a small portrait, the holder device's public key, a
//! validity window and a status-list index ([`Credential`], CBOR in COSE_Sign1 with ES256).
//! The holder's device wraps that credential in a [`Presentation`] every 30 seconds, signed
//! with its own key and stamped with the time, and shows it as QR text (`DL1:` + base45 of the
//! deflated CBOR). An officer's verifier checks it with no network: issuer signature against a
//! [`TrustList`], the credential's validity, the device signature, the presentation's age, and
//! the licence's standing in a cached, signed [`StatusList`]; every outcome has its own
//! [`VerdictCode`]. The exact schema is in docs/credential.md.
//!
//! No I/O: keys come in as values, time as Unix seconds, randomness as a parameter.

pub mod base45;
mod credential;
mod keys;
pub mod portrait;
mod presentation;
pub mod qr;
mod status;
mod verify;

pub use credential::Credential;
pub use keys::{DeviceKey, IssuerKey, TrustList, TrustedIssuer};
pub use presentation::{Presentation, MAX_INFLATED_BYTES, MAX_TEXT_CHARS, PREFIX};
pub use status::StatusList;
pub use verify::{
    verify, StatusReport, VerdictCode, Verification, VerifyOptions, CLOCK_SKEW, DEFAULT_MAX_AGE,
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
}
