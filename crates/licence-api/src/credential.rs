//! Issuance of the device-bound credential behind the QR code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /me/credential`: a credential bound to one of the account's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// One of the account's registered devices (`POST /me/devices`).
    #[serde(deserialize_with = "crate::formats::whole_number")]
    pub device_id: i64,
}

/// `GET /health`: the instance serves, and its store answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` in a 200 (a 503 says otherwise).
    #[schema(example = "ok")]
    pub status: String,
}

/// The issued credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedCredential {
    /// The COSE_Sign1 credential, base64.
    pub credential: String,
    /// The issuer key that signed it.
    pub kid: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The licence's index in the status list.
    pub status_index: u32,
    /// The same licence as an ISO/IEC 18013-5 mDL: its IssuerSigned (CBOR, base64), bound to
    /// the same device key, for verifiers that read mdocs (docs/credential.md). Absent when the
    /// platform's document signer cannot sign now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdoc: Option<String>,
    /// The approved photo (260×378 JPEG, full colour), base64, for the holder's own screen:
    /// the credential signs its SHA-256, so the app shows it only if it is this one.
    pub photo: String,
}
