//! 注册: the three ways a person registers (R2.1 face-sign, R2.3 online, R2.4 Alipay), the
//! SMS codes they use, and the upgrade of an online account to face-signed (R2.8).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::formats::JpegFrame;

/// `POST /registrations/{face-sign,online}/codes`: send an SMS code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// 姓名, as on the ID card (1-64 characters).
    #[schema(pattern = "^[一-龥A-Za-z][一-龥A-Za-z·' -]{0,63}$")]
    pub name: String,
    /// 18-digit resident ID number (GB 11643).
    #[schema(format = "gb11643", example = "110105199003071239")]
    pub id_number: String,
    /// Face-sign (R2.1): the number the person uses now. Online registration (R2.3): the
    /// number the traffic police hold (预留手机号).
    #[schema(format = "cn-mobile", example = "13800138000")]
    pub mobile: String,
}

/// A code was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CodeSent {
    pub challenge_id: String,
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code may be asked for.
    pub resend_after: u64,
    pub mobile_masked: String,
}

/// `POST /registrations/face-sign`: 面签 with the liveness check (R2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaceSignRegistration {
    /// 姓名 (1-64 characters).
    #[schema(pattern = "^[一-龥A-Za-z][一-龥A-Za-z·' -]{0,63}$")]
    pub name: String,
    /// 18-digit resident ID number (GB 11643).
    #[schema(format = "gb11643", example = "110105199003071239")]
    pub id_number: String,
    #[schema(format = "cn-mobile", example = "13800138000")]
    pub mobile: String,
    /// From `POST /registrations/face-sign/codes`: proves the mobile number is the person's.
    #[schema(min_length = 1, max_length = 64)]
    pub challenge_id: String,
    /// The six digits sent to `mobile`.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// The person agreed to the face check and the user agreement: `true`, or there is
    /// nothing to register.
    #[schema(schema_with = crate::formats::must_be_true)]
    pub consent: bool,
    /// 8-32 characters with at least one letter and one digit.
    #[schema(format = "licence-password")]
    pub password: String,
    /// 1-8 JPEG camera frames of the liveness check, base64, each at most 1 MB.
    #[schema(min_items = 1, max_items = 8, inline, value_type = Vec<JpegFrame>)]
    pub frames: Vec<String>,
}

/// `POST /registrations/online`: online registration with the code sent to the number the
/// traffic police hold (R2.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnlineRegistration {
    #[schema(min_length = 1, max_length = 64)]
    pub challenge_id: String,
    /// The six digits received by SMS.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// 8-32 characters with at least one letter and one digit.
    #[schema(format = "licence-password")]
    pub password: String,
}

/// `POST /registrations/alipay`: registration with an Alipay authorisation (R2.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlipayRegistration {
    #[schema(pattern = "^[一-龥A-Za-z][一-龥A-Za-z·' -]{0,63}$")]
    pub name: String,
    #[schema(format = "gb11643", example = "110105199003071239")]
    pub id_number: String,
    /// The one-time code the Alipay app returned when the person authorised.
    #[schema(min_length = 1, max_length = 256)]
    pub auth_code: String,
    /// 8-32 characters with at least one letter and one digit.
    #[schema(format = "licence-password")]
    pub password: String,
}

/// `POST /me/face-sign`: an online account becomes face-signed with the liveness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaceSignUpgrade {
    /// The period on the back of the ID card: `2015-03-01至2035-03-01` or `2015-03-01至长期`.
    #[schema(format = "id-card-validity", example = "2015-03-01至2035-03-01")]
    pub id_card_validity: String,
    /// 1-8 JPEG camera frames, base64, each at most 1 MB.
    #[schema(min_items = 1, max_items = 8, inline, value_type = Vec<JpegFrame>)]
    pub frames: Vec<String>,
}

/// `POST /me/id-card-reviews`: photographs of the ID card for a clerk to review instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdCardReviewRequest {
    #[schema(format = "id-card-validity", example = "2015-03-01至2035-03-01")]
    pub id_card_validity: String,
    /// Photograph of the front (portrait side), JPEG, base64, at most 4 MB.
    #[schema(format = "jpeg-base64")]
    pub front: String,
    /// Photograph of the back (national emblem side), JPEG, base64, at most 4 MB.
    #[schema(format = "jpeg-base64")]
    pub back: String,
}

/// An ID card review (R2.6) and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IdCardReviewView {
    pub id: i64,
    /// pending / approved / rejected
    #[schema(schema_with = crate::formats::names_of::<licence_core::IdCardReviewState>)]
    pub state: String,
    pub reason: Option<String>,
    pub submitted_at: i64,
    pub decided_at: Option<i64>,
}
