//! The way in and out: the sign-in page (argon2, locked for a while after repeated failures)
//! and signing out.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{audit, render, store, Anyone, ConsoleError, Flash, Layout, Submitted};
use crate::store::StaffSessionKind;
use crate::{now, security, AppState};

/// A console session lasts one working day.
const SESSION_SECONDS: i64 = 10 * 3600;
const STAFF_FAILURE: &str = "staff_sign_in_failure";

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    layout: Layout,
}

fn sign_in_form(error: Option<&str>) -> Result<Html<String>, ConsoleError> {
    let flash = error.map(|e| Flash::Refused {
        zh: e.into(),
        en: None,
    });
    render(SignInPage {
        layout: Layout::anonymous("工作人员登录").with_flash(flash),
    })
}

pub(super) async fn page() -> Result<Html<String>, ConsoleError> {
    sign_in_form(None)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    username: String,
    password: String,
}

fn session_cookie(value: &str, max_age: i64) -> Result<HeaderValue, ConsoleError> {
    format!(
        "{}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        super::COOKIE
    )
    .parse()
    .map_err(|_| ConsoleError::Internal("the session cookie is not a header value"))
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    Form(form): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    let username = form.username.trim().to_owned();
    let key = username.clone();
    let window = state.policy.sign_in_window.as_secs() as i64;
    let (staff, failures) = store(&state, move |s| {
        Ok((
            s.staff_by_username(&key)?,
            s.count_events(STAFF_FAILURE, &key, now() - window)?,
        ))
    })
    .await?;
    if failures >= state.policy.sign_in_failures {
        let page = sign_in_form(Some("密码错误次数过多，请 15 分钟后再试"))?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let password = form.password;
    let matched = match staff {
        Some(staff) => {
            let hash = staff.password_hash.clone();
            let ok =
                tokio::task::spawn_blocking(move || security::password_matches(&password, &hash))
                    .await?;
            ok.then_some(staff)
        }
        None => None,
    };
    let Some(staff) = matched else {
        let key = username.clone();
        store(&state, move |s| s.record_event(STAFF_FAILURE, &key, now())).await?;
        let page = sign_in_form(Some("用户名或密码错误"))?;
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let (token, digest) = security::new_token();
    let csrf = security::new_id();
    let staff_id = staff.id;
    store(&state, move |s| {
        s.clear_events(STAFF_FAILURE, &username)?;
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
