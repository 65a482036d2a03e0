//! The officer's online check (民警核验).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /officer/sessions`: an officer signs in for a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficerSignIn {
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

/// An officer's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfficerSession {
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub name: String,
}

/// `POST /officer/checks`: check a QR code against the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The text the QR code holds (`DL1:…`).
    #[schema(min_length = 1, max_length = 4096)]
    pub qr_text: String,
}

/// The licence holder a valid QR code shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Holder {
    pub name: String,
    pub id_number: String,
    pub classes: String,
    pub validity: String,
    pub file_number: String,
    pub issuing_authority: String,
}

/// The check's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    pub valid: bool,
    /// licence-credential's verdict code, e.g. `valid`, `presentation_too_old`.
    #[schema(schema_with = crate::formats::names_of::<licence_core::verdict::VerdictCode>)]
    pub verdict: String,
    pub holder: Option<Holder>,
    /// The licence's status in the registry now, e.g. `A` or `B`, and its points.
    pub live_status: Option<String>,
    pub live_points: Option<u32>,
    /// Unix seconds.
    pub generated_at: Option<i64>,
}
