//! The one error body every failed request answers with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a client gets when a request fails: a stable machine `code`, a message in Chinese
/// for the person and one in English, and, where there is one, the path the client should
/// take next (e.g. `online_registration` after repeated face failures, R2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    /// Stable, lower_snake_case.
    pub code: String,
    /// 中文提示
    pub message: String,
    pub message_en: String,
    /// The next step the client should offer, when the failure has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub next: Option<String>,
    /// Attempts left, when the failure counts against a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub attempts_left: Option<u32>,
    /// The request's id (also in `X-Request-Id`): quoted to support, it finds the request in
    /// the platform's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub request_id: Option<String>,
}
