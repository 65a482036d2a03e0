//! What a console page could not do. A handler returns `Result<_, ConsoleError>` and uses
//! `?`; the error answers for itself: to the sign-in page, or the error page (in Chinese, with
//! the English beneath) with its status.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use licence_core::application::TransitionError;
use licence_core::Problem;

use super::{Flash, Layout, Viewer};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session, or an expired one: the sign-in page.
    #[error("not signed in")]
    SignInFirst,
    /// A request the console refuses, shown to the member of staff who made it.
    #[error("{refusal}")]
    Refused {
        refusal: Refusal,
        /// Whose header and navigation the error page shows (none: the bare page).
        viewer: Option<Box<Viewer>>,
    },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("a page could not be rendered: {0}")]
    Template(#[from] askama::Error),
    #[error("{0}")]
    Internal(&'static str),
    /// A form the browser could not have sent: axum's own answer (400, 415 or 422).
    #[error(transparent)]
    Form(#[from] FormRejection),
}

/// Why a request was refused; the English is the `Display`, the Chinese [`Refusal::message_zh`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "This form has expired or did not come from the console; reload the page and submit again"
    )]
    FormExpired,
    #[error("Your role may not do this")]
    RoleNotAllowed,
    #[error("No such review")]
    NoSuchReview,
    #[error("No such application")]
    NoSuchApplication,
    #[error("No such picture")]
    NoSuchPicture,
    #[error("Someone already decided this review")]
    ReviewDecided,
    #[error("Someone already decided this application")]
    ApplicationDecided,
    #[error("Choose a reason when rejecting")]
    RejectWithoutReason,
    #[error("Choose a reason when returning an application")]
    ReturnWithoutReason,
    #[error("Choose approve or reject")]
    NoReviewDecision,
    #[error("Choose approve or return")]
    NoApplicationDecision,
    #[error("Choose a role")]
    NoRole,
    #[error("{}", .0.message_en())]
    Transition(TransitionError),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::FormExpired | Refusal::RoleNotAllowed => StatusCode::FORBIDDEN,
            Refusal::NoSuchReview | Refusal::NoSuchApplication | Refusal::NoSuchPicture => {
                StatusCode::NOT_FOUND
            }
            Refusal::ReviewDecided
            | Refusal::ApplicationDecided
            | Refusal::Transition(TransitionError::Illegal { .. }) => StatusCode::CONFLICT,
            Refusal::RejectWithoutReason
            | Refusal::ReturnWithoutReason
            | Refusal::NoReviewDecision
            | Refusal::NoApplicationDecision
            | Refusal::NoRole
            | Refusal::Transition(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            Refusal::FormExpired => "页面已过期，请返回后刷新页面重新提交".into(),
            Refusal::RoleNotAllowed => "您的岗位无权办理此项业务".into(),
            Refusal::NoSuchReview => "没有这件审核".into(),
            Refusal::NoSuchApplication => "没有这份申请".into(),
            Refusal::NoSuchPicture => "没有这张照片".into(),
            Refusal::ReviewDecided | Refusal::ApplicationDecided => "该申请已由他人处理".into(),
            Refusal::RejectWithoutReason => "不予通过时请选择原因".into(),
            Refusal::ReturnWithoutReason => "退回时请选择原因".into(),
            Refusal::NoReviewDecision | Refusal::NoApplicationDecision => "请选择审核结果".into(),
            Refusal::NoRole => "请选择岗位".into(),
            Refusal::Transition(e) => e.message_zh(),
        }
    }
}

/// A refusal with no signed-in header (the bare error page).
impl From<Refusal> for ConsoleError {
    fn from(refusal: Refusal) -> ConsoleError {
        ConsoleError::Refused {
            refusal,
            viewer: None,
        }
    }
}

/// The error page: the base layout with the error box and nothing else.
#[derive(Template)]
#[template(path = "console/base.html")]
struct ErrorPage {
    layout: Layout,
}

fn error_page(status: StatusCode, viewer: Option<Viewer>, zh: String, en: String) -> Response {
    let page = ErrorPage {
        layout: Layout {
            title: "无法完成",
            viewer,
            flash: Some(Flash::Refused { zh, en: Some(en) }),
        },
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: the error page could not be rendered");
            status.into_response()
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignInFirst => Redirect::to("/console/sign-in").into_response(),
            ConsoleError::Form(rejection) => rejection.into_response(),
            ConsoleError::Refused { refusal, viewer } => error_page(
                refusal.status(),
                viewer.map(|v| *v),
                refusal.message_zh(),
                refusal.to_string(),
            ),
            ConsoleError::Store(StoreError::Unavailable(detail)) => {
                tracing::warn!(%detail, "console: the database is unavailable");
                let mut page = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "系统正在恢复，请稍后重试".into(),
                    "The platform is recovering; please try again in a moment".into(),
                );
                page.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("1"),
                );
                page
            }
            internal => {
                tracing::error!(detail = %internal, "console: internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "系统繁忙，请稍后再试".into(),
                    "Something went wrong on our side; please try again".into(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_and_both_languages() {
        let illegal = Refusal::Transition(TransitionError::Illegal {
            from: licence_core::ApplicationStatus::Approved,
            event: licence_core::application::EventKind::Approve,
        });
        assert_eq!(illegal.status(), StatusCode::CONFLICT);
        assert!(illegal.message_zh().contains("不能"));
        assert_eq!(
            Refusal::Transition(TransitionError::OtherWithoutNote).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(Refusal::FormExpired.status(), StatusCode::FORBIDDEN);
        assert_eq!(Refusal::NoSuchPicture.status(), StatusCode::NOT_FOUND);
        assert_eq!(Refusal::NoRole.to_string(), "Choose a role");
    }

    #[test]
    fn not_signed_in_goes_to_the_sign_in_page() {
        let r = ConsoleError::SignInFirst.into_response();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/console/sign-in");
    }

    #[test]
    fn internal_errors_say_nothing_of_the_cause() {
        let r = ConsoleError::Internal("password hashing failed").into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
