//! 线上申请驾驶证电子版 (R3): applying for the e-licence, following, withdrawing, resubmitting.

use licence_core::{ApplicationStatus, Rejection, RejectionCode};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::formats::names_of;

/// Where the application's photo comes from.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PhotoSource {
    /// 档案照片: the photo the traffic police hold (the default).
    #[default]
    OnFile,
    /// 相册: a picture the driver picked.
    Album,
    /// 拍照: taken with the camera.
    Camera,
}

impl PhotoSource {
    /// The stable string (`on_file`, `album`, `camera`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// `POST /applications`: apply (idempotent on `idempotency_key`). Its schema is written by
/// hand ([`formats::photo_choice`](crate::formats)): a photo goes with `album` and `camera`
/// and only with them, which a derive cannot say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    /// Chosen by the app once per application and sent again on every retry (1-64 printable
    /// ASCII characters).
    pub idempotency_key: String,
    #[serde(default)]
    pub photo_source: PhotoSource,
    /// For `album` and `camera` (and only for them): the photo (JPEG or PNG), base64, at most
    /// 6 MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
}

impl PartialSchema for NewApplication {
    fn schema() -> RefOr<Schema> {
        let key = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some("^[!-~]{1,64}$"))
            .description(Some(
                "Chosen by the app once per application and sent again on every retry \
                 (1-64 printable ASCII characters).",
            ));
        crate::formats::photo_choice(
            &[("idempotency_key", key.into())],
            "An application for the e-licence, with the photo on file or a new one.",
        )
    }
}

impl ToSchema for NewApplication {}

/// `POST /applications/{id}/resubmit`: apply again after a rejection, with another photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resubmission {
    #[serde(default)]
    pub photo_source: PhotoSource,
    /// For `album` and `camera` (and only for them): the photo (JPEG or PNG), base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
}

impl PartialSchema for Resubmission {
    fn schema() -> RefOr<Schema> {
        crate::formats::photo_choice(&[], "The photo for the application's next round.")
    }
}

impl ToSchema for Resubmission {}

/// A reviewer's reason for returning an application, with its words (as `status_name` gives
/// the status's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RejectionView {
    #[schema(schema_with = names_of::<RejectionCode>)]
    pub code: String,
    /// 照片不符合要求 / …
    pub text: String,
    /// The reviewer's note, when there is one.
    pub note: Option<String>,
}

impl From<&Rejection> for RejectionView {
    fn from(r: &Rejection) -> Self {
        RejectionView {
            code: r.code.as_str().into(),
            text: r.code.name_zh().into(),
            note: r.note.clone(),
        }
    }
}

/// An application as its applicant sees it (and as the app shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApplicationView {
    pub id: i64,
    /// submitted / under_review / approved / rejected / issued / withdrawn
    #[schema(schema_with = names_of::<ApplicationStatus>)]
    pub status: String,
    /// 已提交 / 审核中 / …
    pub status_name: String,
    /// `on_file`, `album` or `camera`.
    #[schema(schema_with = names_of::<PhotoSource>)]
    pub photo_source: String,
    /// Unix seconds.
    pub submitted_at: i64,
    /// Review deadline (1 working day), Unix seconds.
    pub due_at: i64,
    /// The deadline has passed without a decision.
    pub overdue: bool,
    /// Why it was rejected, when it was.
    #[serde(default)]
    pub reasons: Vec<RejectionView>,
    /// (Not shown by the app, which checks the photo itself before sending it.)
    /// The server's check of the photo, once done: `{compliant, problems, measurements}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub photo_check: Option<serde_json::Value>,
}
