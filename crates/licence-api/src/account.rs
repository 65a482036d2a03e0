//! Sign-in, the session, the account and its devices.

use licence_core::UserKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ErrorBody;

/// `POST /sessions`: sign in with a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// ID number, mobile number, or a unit's unified social credit code.
    #[schema(format = "licence-login", example = "110105199003071239")]
    pub login: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

/// `POST /sessions/codes`: send a sign-in code to the account's mobile number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInCodeRequest {
    #[schema(format = "cn-mobile", example = "13800138000")]
    pub mobile: String,
}

/// `POST /sessions/sms`: sign in with the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInSmsRequest {
    /// From `POST /sessions/codes`.
    #[schema(min_length = 1, max_length = 64)]
    pub challenge_id: String,
    /// The six digits received by SMS.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// A new session, and what the client is told about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignedIn {
    /// Bearer token for `Authorization: Bearer …`. Shown once; only its digest is stored.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub account: AccountView,
}

/// An account as its owner sees it. ID and phone numbers are masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountView {
    pub id: i64,
    /// `{"kind": "face_signed", "via": "online_liveness"}`, `{"kind": "online_registered"}`
    /// or `{"kind": "unit"}`.
    #[schema(value_type = Object)]
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "{ kind: \"face_signed\", via: string } | { kind: \"online_registered\" } | { kind: \"unit\" }"
        )
    )]
    pub kind: UserKind,
    /// 面签用户 / 在线注册用户 / 单位用户
    pub kind_name: String,
    pub name: String,
    pub id_number_masked: Option<String>,
    pub mobile_masked: String,
    /// Every business and whether this account may use it (R2.7, R2.10).
    pub functions: Vec<FunctionView>,
}

/// One business (业务) and whether the account may use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FunctionView {
    /// e.g. `electronic_licence`
    #[schema(schema_with = crate::formats::names_of::<licence_core::BusinessFunction>)]
    pub function: String,
    pub name: String,
    pub name_en: String,
    pub allowed: bool,
    /// Why not, and how to change it.
    pub denial: Option<ErrorBody>,
}

/// `POST /me/devices`: register this device's key, which credentials are bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// The device's P-256 public key, SEC1 (uncompressed or compressed), base64.
    #[schema(format = "p256-public-key")]
    pub public_key: String,
    /// e.g. "张伟的 iPhone": 1-64 characters, not all blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub name: String,
    /// SEC1 compressed (33 bytes, as the credential carries it), base64.
    pub public_key: String,
    /// Unix seconds.
    pub created_at: i64,
}
