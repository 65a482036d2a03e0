//! The one error shape of the API: `{code, message, message_en}` with the right HTTP status.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub use licence_api::ErrorBody;
use licence_core::Problem;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel in every handler's `Result`, and should stay small there.
    pub body: Box<ErrorBody>,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                code: code.to_owned(),
                message: zh.into(),
                message_en: en.into(),
                next: None,
                attempts_left: None,
                request_id: None,
            }),
            retry_after: None,
        }
    }

    /// A domain validation error from licence-core (422 unless said otherwise).
    pub fn problem(status: StatusCode, problem: &impl Problem) -> Self {
        Self::new(
            status,
            problem.code(),
            problem.message_zh(),
            problem.message_en(),
        )
    }

    /// A rejected field: the field is named, and the domain says what is wrong with it.
    pub fn field(field: &str, problem: &impl Problem) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            problem.code(),
            format!("{field}: {}", problem.message_zh()),
            format!("{field}: {}", problem.message_en()),
        )
    }

    pub fn next(mut self, next: &str) -> Self {
        self.body.next = Some(next.to_owned());
        self
    }

    pub fn attempts_left(mut self, left: u32) -> Self {
        self.body.attempts_left = Some(left);
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Something on our side failed. The detail goes to the log, never to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "系统繁忙，请稍后再试",
            "Something went wrong on our side; please try again later",
        )
    }

    /// A store operation failed: the database unreachable for a moment is 503 with
    /// `Retry-After` (the request may be sent again as it is: submissions carry their
    /// idempotency key); anything else is [`ApiError::internal`].
    pub fn from_store(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "the database is unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "系统正在恢复，请稍后重试",
                    "The platform is recovering; please try again in a moment",
                )
                .retry_after(1)
            }
            e => Self::internal(e),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            "请先登录",
            "Please sign in first",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "请求的地址不存在",
            "There is nothing at this address",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = *self.body;
        body.request_id = crate::request_log::current_request_id();
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Malformed JSON, wrong types, unknown fields, a missing content type or an oversized body:
/// each a 4xx that says what is wrong, never a 500.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("请求内容有误：{}", without_values(&e.body_text())),
                format!(
                    "The request has a wrong or missing field: {}",
                    without_values(&e.body_text())
                ),
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("请求不是有效的 JSON：{}", without_values(&e.body_text())),
                format!(
                    "The request is not valid JSON: {}",
                    without_values(&e.body_text())
                ),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "json_required",
                "请求须为 JSON（Content-Type: application/json）",
                "Send JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large()
            }
            other => ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "无法读取请求内容",
                format!("The request body could not be read: {}", other.body_text()),
            ),
        }
    }
}

/// serde's words about a field without the value that was sent (it may be a whole mobile or
/// ID number): "invalid type: integer `13800138000`, expected a string" becomes "invalid type:
/// (not repeated), expected a string"; any other run of six digits or more is masked too.
fn without_values(text: &str) -> String {
    let mut out = text.to_owned();
    for marker in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(start) = out.find(marker) {
            let from = start + marker.len();
            let end = out[from..]
                .find(", expected")
                .map_or(out.len(), |i| from + i);
            out.replace_range(from..end, "(not repeated)");
        }
    }
    crate::security::mask_digit_runs(&out, |digits| {
        format!(
            "{}{}{}",
            &digits[..3],
            "*".repeat(digits.len() - 5),
            &digits[digits.len() - 2..]
        )
    })
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "请求内容过大（上限 {} MB）",
            crate::MAX_BODY_BYTES / (1 << 20)
        ),
        format!(
            "The request is too large (at most {} MB)",
            crate::MAX_BODY_BYTES / (1 << 20)
        ),
    )
}

/// JSON in, with our error shape for every way it can be wrong.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A path parameter, with our error shape when it is not what the route needs (e.g. an id
/// that is not a 64-bit number): 400, never axum's plain-text answer.
#[derive(Debug, Clone, Copy, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("请求地址有误：{}", rejection.body_text()),
            format!("The address is wrong: {}", rejection.body_text()),
        )
    }
}

/// Query parameters, with our error shape when they do not parse: 400.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        let detail = rejection.body_text();
        ApiError::invalid_query(&detail, &detail)
    }
}

impl ApiError {
    /// 400 `invalid_query`: a query parameter that does not parse or is out of its bounds.
    pub fn invalid_query(zh: &str, en: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("查询参数有误：{zh}"),
            format!("A query parameter is wrong: {en}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn a_field_error_never_repeats_the_value_sent() {
        assert_eq!(
            without_values(
                "Failed to deserialize the JSON body into the target type: mobile: invalid type: \
                 integer `13800138000`, expected a string at line 1 column 22"
            ),
            "Failed to deserialize the JSON body into the target type: mobile: invalid type: \
             (not repeated), expected a string at line 1 column 22"
        );
        assert_eq!(
            without_values("unknown field `110105199003071234`, expected one of `login`"),
            "unknown field `110*************34`, expected one of `login`"
        );
        assert_eq!(without_values("line 12 column 345"), "line 12 column 345");
    }
}
