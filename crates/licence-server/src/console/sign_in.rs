//! The way in and out: the sign-in page (argon2, locked for a while after repeated failures)
//! and signing out.
//!
//! The sign-in form carries its own CSRF token (a double-submit: the same random value in a
//! `Strict` cookie and in the form), so that another site cannot sign a browser in to an
//! account of its choosing. Cookies are `Secure`: the platform is served over HTTPS, and
//! browsers treat plain HTTP on loopback (development only) as secure too.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{audit, render, store, Anyone, ConsoleError, Flash, Layout, Submitted};
use crate::store::StaffSessionKind;
use crate::{now, security, AppState};

/// A console session lasts one working day.
const SESSION_SECONDS: i64 = 10 * 3600;
const STAFF_FAILURE: &str = "staff_sign_in_failure";
/// The sign-in form's CSRF cookie.
const SIGN_IN_COOKIE: &str = "console_sign_in";

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
}

/// The sign-in page with a fresh form token, in the form and in its cookie.
fn sign_in_form(status: StatusCode, error: Option<&str>) -> Result<Response, ConsoleError> {
    let flash = error.map(|e| Flash::Refused {
        zh: e.into(),
        en: None,
    });
    let csrf = security::new_id();
    let page = render(SignInPage {
        layout: Layout::anonymous("工作人员登录").with_flash(flash),
        csrf: csrf.clone(),
    })?;
    let mut response = (status, page).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(SIGN_IN_COOKIE, &csrf, 3600)?);
    Ok(response)
}

pub(super) async fn page() -> Result<Response, ConsoleError> {
    sign_in_form(StatusCode::OK, None)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
}

fn cookie(name: &str, value: &str, max_age: i64) -> Result<HeaderValue, ConsoleError> {
    format!("{name}={value}; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}")
        .parse()
        .map_err(|_| ConsoleError::Internal("a console cookie is not a header value"))
}

fn session_cookie(value: &str, max_age: i64) -> Result<HeaderValue, ConsoleError> {
    cookie(super::COOKIE, value, max_age)
}

/// The form's token matches its cookie (both present, compared in constant time).
fn sign_in_token_matches(headers: &HeaderMap, sent: &str) -> bool {
    super::cookie(headers, SIGN_IN_COOKIE).is_some_and(|expected| {
        !sent.is_empty() && security::same_digest(expected.as_bytes(), sent.as_bytes())
    })
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    if !sign_in_token_matches(&headers, &form.csrf) {
        return sign_in_form(
            StatusCode::FORBIDDEN,
            Some("登录页面已过期，请重新输入后登录（The page expired: sign in again）"),
        );
    }
    let username = form.username.trim().to_owned();
    let window = state.policy.sign_in_window.as_secs() as i64;
    let limit = state.policy.sign_in_failures;
    let attempt = store(&state, move |s| {
        security::reserve_staff_attempt(s, STAFF_FAILURE, &username, now() - window, limit, now())
    })
    .await?;
    if !attempt.within_limit {
        return sign_in_form(
            StatusCode::TOO_MANY_REQUESTS,
            Some("密码错误次数过多，请 15 分钟后再试"),
        );
    }
    // An unknown name is checked against a dummy hash: the same time either way.
    let password = form.password;
    let hash = attempt.staff.as_ref().map(|s| s.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || {
        security::account_password_matches(&password, hash.as_deref())
    })
    .await?;
    let (Some(staff), true) = (attempt.staff, matches) else {
        return sign_in_form(StatusCode::UNAUTHORIZED, Some("用户名或密码错误"));
    };
    let (limit_key, at) = (attempt.limit_key, attempt.reserved_at);
    let (token, digest) = security::new_token();
    let csrf = security::new_id();
    let staff_id = staff.id;
    store(&state, move |s| {
        security::release_attempt(s, STAFF_FAILURE, &limit_key, at)?;
        s.put_staff_session(
            &digest,
            StaffSessionKind::Console,
            staff_id,
            &csrf,
            now() + SESSION_SECONDS,
        )
    })
    .await?;
    audit::record(&state, &staff.username, "sign_in", "console".into()).await?;
    let cookie = session_cookie(&token, SESSION_SECONDS)?;
    let mut response = Redirect::to("/console").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    // The sign-in form's token has served its turn.
    response
        .headers_mut()
        .append(header::SET_COOKIE, self::cookie(SIGN_IN_COOKIE, "", 0)?);
    Ok(response)
}

/// Signing out sends the form token only.
#[derive(Deserialize)]
pub(super) struct SignOutForm {}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    Submitted { console, .. }: Submitted<Anyone, SignOutForm>,
) -> Result<Response, ConsoleError> {
    let digest = console.token_hash.clone();
    store(&state, move |s| s.delete_staff_session(&digest)).await?;
    audit::record(&state, &console.actor(), "sign_out", "console".into()).await?;
    let mut response = Redirect::to("/console/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", 0)?);
    Ok(response)
}
