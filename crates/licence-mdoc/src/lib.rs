//! The e-licence as an ISO/IEC 18013-5 mobile driving licence (mdoc), beside our own QR
//! credential (licence-credential), for verifiers abroad and for those that should see only
//! part of it (a car-rental desk, an age check).
//!
//! - [`elements`]: the licence's fields as the standard's data elements (namespace
//!   `org.iso.18013.5.1`) and ours (`cn.gov.122.elicence.1`: 累积记分, 驾驶证状态, 档案编号 …),
//!   and the holder's disclosure choices ([`Disclosure`]).
//! - [`issue`]: the issuer's signed object ([`IssuerSigned`]): every element salted and digested,
//!   the digests in a Mobile Security Object (MSO) bound to the holder device's key, signed
//!   (COSE_Sign1, ES256) by a document signer whose certificate chains to an IACA root
//!   ([`certificate`], ISO/IEC 18013-5 Annex B).
//! - [`present`]: the holder's DeviceResponse: only the chosen elements, and the device's
//!   signature over the session transcript (so a response cannot be replayed to another reader).
//! - [`session`]: device engagement (`mdoc:` QR) and session encryption (ECDH, HKDF, AES-GCM)
//!   as the standard says, over any [`session::Transport`].
//! - [`verify`]: a reader's checks, in the standard's order, each failure with its own code.
//!
//! No I/O: keys and certificates come in as values, time as a parameter, randomness as a
//! parameter. docs/credential.md has the mapping table.

pub(crate) mod cbor;
pub mod certificate;
pub mod elements;
pub mod issue;
pub mod present;
pub mod session;
pub mod verify;

pub use certificate::{DocumentSigner, IacaRoot};
pub use elements::{Disclosure, Element};
#[cfg(feature = "issuer")]
pub use issue::issue_licence;
pub use issue::{IssuerSigned, MsoValidity, StatusReference};
pub use present::{DeviceRequest, DeviceResponse, ItemsRequest};
pub use verify::{verify_response, VerifiedDocument};

/// The mDL's document type.
pub const DOC_TYPE: &str = "org.iso.18013.5.1.mDL";
/// The standard's namespace for the mDL's elements.
pub const ISO_NAMESPACE: &str = "org.iso.18013.5.1";
/// Our namespace: what the Chinese licence has and the standard does not.
pub const CN_NAMESPACE: &str = "cn.gov.122.elicence.1";

/// Largest CBOR message read from a peer (a DeviceResponse with a portrait fits well inside).
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;

/// Why an mdoc, a request or a response was refused. Each has a stable machine code
/// ([`MdocError::code`]) for the UI and the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MdocError {
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("too large: {0} bytes (at most {max})", max = MAX_MESSAGE_BYTES)]
    TooLarge(usize),
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    #[error("the key is not a valid P-256 key")]
    BadKey,
    #[error("the certificate is malformed: {0}")]
    BadCertificate(&'static str),
    #[error("the document signer's certificate does not chain to a trusted IACA root")]
    UntrustedIssuer,
    #[error("a certificate in the chain is not valid at this time")]
    CertificateOutOfPeriod,
    #[error("the certificate is not a document signer's (extended key usage 1.0.18013.5.1.2)")]
    NotADocumentSigner,
    #[error("the issuer's signature does not verify")]
    BadIssuerSignature,
    #[error("the document type is not the one signed")]
    DocTypeMismatch,
    #[error("the mobile security object is not valid at this time")]
    MsoOutOfPeriod,
    #[error("the MSO was signed outside its signer certificate's validity")]
    SignedOutsideCertificate,
    #[error("element {0} does not match its digest in the MSO")]
    DigestMismatch(String),
    #[error("element {0} has no digest in the MSO")]
    MissingDigest(String),
    #[error("the device's signature does not verify")]
    BadDeviceSignature,
    #[error("the issuing country does not match the signer's certificate")]
    CountryMismatch,
    #[error("the document status is not OK: {0}")]
    ResponseStatus(u64),
    #[error("the session message could not be decrypted")]
    Decryption,
    #[error("the certificate could not be made: {0}")]
    Certificate(String),
}

impl MdocError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            MdocError::Malformed(_) => "mdoc_malformed",
            MdocError::TooLarge(_) => "mdoc_too_large",
            MdocError::Unsupported(_) => "mdoc_unsupported",
            MdocError::BadKey => "mdoc_bad_key",
            MdocError::BadCertificate(_) => "mdoc_bad_certificate",
            MdocError::UntrustedIssuer => "mdoc_untrusted_issuer",
            MdocError::CertificateOutOfPeriod => "mdoc_certificate_out_of_period",
            MdocError::NotADocumentSigner => "mdoc_not_a_document_signer",
            MdocError::BadIssuerSignature => "mdoc_bad_issuer_signature",
            MdocError::DocTypeMismatch => "mdoc_doc_type_mismatch",
            MdocError::MsoOutOfPeriod => "mdoc_out_of_period",
            MdocError::SignedOutsideCertificate => "mdoc_signed_outside_certificate",
            MdocError::DigestMismatch(_) => "mdoc_digest_mismatch",
            MdocError::MissingDigest(_) => "mdoc_missing_digest",
            MdocError::BadDeviceSignature => "mdoc_bad_device_signature",
            MdocError::CountryMismatch => "mdoc_country_mismatch",
            MdocError::ResponseStatus(_) => "mdoc_response_status",
            MdocError::Decryption => "mdoc_decryption_failed",
            MdocError::Certificate(_) => "mdoc_certificate_not_made",
        }
    }
}
