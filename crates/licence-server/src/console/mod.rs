//! The back-office console for counter clerks and reviewers: server-rendered pages under
//! `/console`. Staff sign in with a password (argon2) and get a session cookie (HttpOnly,
//! SameSite=Strict); every form carries the session's CSRF token. One module a desk:
//! [`persons`] (counter face-sign, R2.8), [`units`] (counter registration of units, R2.9),
//! [`reviews`] (the manual ID-card review queue, R2.6), [`applications`] (the e-licence
//! review queue, R3), [`staff`] (民警账号) and [`audit`] (the log of every staff action);
//! [`sign_in`] is the way in and out; [`queue`] and [`picture`] are the one queue page and
//! the one picture handler both review desks use; [`layout`] is what every page shares;
//! [`error`] is what a page could not do. Here: the router, the store helpers, and the guard
//! ([`Console`] for a desk's role, [`Submitted`] for a posted form and its CSRF token).
//!
//! **Why askama.** The pages are askama templates under `crates/licence-server/templates/`.
//! askama compiles each template into Rust at build time: a misspelt field or a wrong type is a
//! compile error, not a blank in front of a clerk, and there are no template files to ship or
//! find at run time. Every `{{ value }}` is HTML-escaped by default, so a name, a note or an
//! audit line typed by anyone cannot become markup; nothing taken from a form or the store is
//! ever marked `|safe`. The templates stay plain HTML with a shared base layout
//! (`console/base.html`: head, styles, header, navigation, the result or error box) that
//! every page extends. maud would put the HTML inside Rust macros (harder to read beside the
//! screenshots); minijinja checks templates only when they run.

mod applications;
mod audit;
mod error;
mod layout;
mod persons;
mod picture;
mod queue;
mod reviews;
mod sign_in;
mod staff;
mod units;

use std::marker::PhantomData;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::routing::{get, post};
use axum::{Form, Router};
use licence_core::Problem;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::store::{
    Account, RegistryEntry, StaffRole, StaffSession, StaffSessionKind, Store, StoreError,
};

use crate::{now, security, AppState};

pub use error::{ConsoleError, Refusal};
use layout::{render, role_name, unprocessable, Answer, Decided, Page};
pub use layout::{Decision, Figure, Flash, Layout, Viewer};
pub use persons::add_driver;
pub use staff::{add_staff, NewStaffError};

const COOKIE: &str = "console_session";

pub fn router() -> Router<AppState> {
    use applications::ApplicationDesk;
    use reviews::IdCardDesk;
    Router::new()
        .route("/", get(dashboard))
        .route("/sign-in", get(sign_in::page).post(sign_in::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/persons", get(persons::page).post(persons::register))
        .route("/units", get(units::page).post(units::register))
        .route("/reviews", get(queue::serve::<IdCardDesk>))
        .route(
            "/reviews/{id}",
            get(queue::page::<IdCardDesk>).post(queue::decide::<IdCardDesk>),
        )
        .route("/reviews/{id}/{picture}", get(picture::serve::<IdCardDesk>))
        .route("/applications", get(queue::serve::<ApplicationDesk>))
        .route(
            "/applications/{id}",
            get(queue::page::<ApplicationDesk>).post(queue::decide::<ApplicationDesk>),
        )
        .route(
            "/applications/{id}/{picture}",
            get(picture::serve::<ApplicationDesk>),
        )
        .route("/audit", get(audit::page))
        .route("/staff", get(staff::page).post(staff::create))
        .layer(axum::middleware::map_response(security_headers))
}

/// Every console answer says what the browser may do with it: run no script, load nothing
/// from elsewhere, show it in no frame, guess no content type, send no referrer.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Runs `op` on the store off the async threads.
async fn store<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ConsoleError> {
    let s = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || op(s.as_ref())).await??)
}

/// The argon2 hash of a password the form has already checked, off the async threads.
async fn hash_password(password: &str) -> Result<String, ConsoleError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || security::hash_password(&password))
        .await?
        .map_err(|_| ConsoleError::Internal("password hashing failed"))
}

fn field_error(field: &str, e: &impl Problem) -> String {
    format!("{field}：{}", e.message_zh())
}

/// A form field's value once parsed; or none, and the problem named with the field's label.
fn checked<T, E: Problem>(
    label: &str,
    parsed: Result<T, E>,
    problems: &mut Vec<String>,
) -> Option<T> {
    parsed
        .map_err(|e| problems.push(field_error(label, &e)))
        .ok()
}

/// Midnight today in China, in Unix seconds: where "today" starts for the desks' figures.
fn start_of_today() -> i64 {
    crate::today()
        .midnight()
        .assume_offset(licence_core::CHINA_OFFSET)
        .unix_timestamp()
}

fn china_time(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| {
            let t = t.to_offset(licence_core::CHINA_OFFSET);
            format!(
                "{}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

/// Runs a store write that creates something; none when it exists already.
async fn create<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<Option<T>, ConsoleError> {
    store(state, move |s| match op(s) {
        Ok(created) => Ok(Some(created)),
        Err(StoreError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e),
    })
    .await
}

/// The registry's entry for a person's account (none for units and unknown accounts).
fn registry_entry_of(
    s: &dyn Store,
    account: Option<&Account>,
) -> Result<Option<RegistryEntry>, StoreError> {
    match account.and_then(|a| a.id_number) {
        Some(id) => s.registry_entry(&id),
        None => Ok(None),
    }
}

/// A reviewer's decision on an ID card review or an application.
#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

#[cfg(test)]
impl DecisionForm {
    /// A decision as the reviewer's browser sends it.
    fn of(decision: &str, reason: &str, note: &str) -> DecisionForm {
        DecisionForm {
            decision: decision.into(),
            reason: reason.into(),
            note: note.into(),
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `name`, if the request sent it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Who may use a desk: the guard [`Console`] refuses everyone else (403).
pub trait Desk: Send + Sync + 'static {
    fn open_to(role: StaffRole) -> bool;
}

/// Every member of staff: the home page, signing out.
pub struct Anyone;
/// 窗口: counter face-sign and unit registration.
pub struct Counter;
/// The two review desks and their pictures.
pub struct Reviewing;
/// Staff accounts and the audit log.
pub struct Administration;

impl Desk for Anyone {
    fn open_to(_: StaffRole) -> bool {
        true
    }
}

impl Desk for Counter {
    fn open_to(role: StaffRole) -> bool {
        role.can_register()
    }
}

impl Desk for Reviewing {
    fn open_to(role: StaffRole) -> bool {
        role.can_review()
    }
}

impl Desk for Administration {
    fn open_to(role: StaffRole) -> bool {
        role == StaffRole::Admin
    }
}

/// The signed-in member of staff at desk `D`: anyone not signed in is sent to the sign-in
/// page, a role the desk is not open to is refused.
pub struct Console<D = Anyone> {
    session: StaffSession,
    token_hash: Vec<u8>,
    desk: PhantomData<D>,
}

impl<D: Desk> FromRequestParts<AppState> for Console<D> {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let token = cookie_token(&parts.headers).ok_or(ConsoleError::SignInFirst)?;
        let token_hash = security::token_digest(&token);
        let lookup = token_hash.clone();
        let session = store(state, move |s| {
            s.staff_session(&lookup, StaffSessionKind::Console)
        })
        .await?
        .filter(|s| s.expires_at > now())
        .ok_or(ConsoleError::SignInFirst)?;
        let console = Console {
            session,
            token_hash,
            desk: PhantomData,
        };
        if D::open_to(console.session.staff.role) {
            Ok(console)
        } else {
            Err(console.refuse(Refusal::RoleNotAllowed))
        }
    }
}

/// What every console form sends: the session's form token beside the form's own fields.
#[derive(Deserialize)]
struct WithToken<F> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: F,
}

/// A form posted at desk `D` by a signed-in member of staff whose role the desk is open to,
/// let through only with this session's form token (403 otherwise): a handler that takes one
/// cannot forget the CSRF check.
pub struct Submitted<D, F> {
    pub console: Console<D>,
    pub form: F,
}

impl<D: Desk, F: DeserializeOwned + Send + 'static> FromRequest<AppState> for Submitted<D, F> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let console = Console::<D>::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(posted) = Form::<WithToken<F>>::from_request(request, state).await?;
        console.check_csrf(&posted.csrf)?;
        Ok(Submitted {
            console,
            form: posted.fields,
        })
    }
}

impl<D> Console<D> {
    /// A POST must carry this session's form token.
    fn check_csrf(&self, csrf: &str) -> Result<(), ConsoleError> {
        if security::same_digest(csrf.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(self.refuse(Refusal::FormExpired))
        }
    }

    /// A refusal shown on the error page, with this member of staff's header and navigation.
    fn refuse(&self, refusal: Refusal) -> ConsoleError {
        ConsoleError::Refused {
            refusal,
            viewer: Some(Box::new(Viewer::of(&self.session))),
        }
    }

    /// The layout of a page for this member of staff.
    fn layout(&self, title: &'static str) -> Layout {
        Layout {
            title,
            viewer: Some(Viewer::of(&self.session)),
            flash: None,
        }
    }

    fn actor(&self) -> String {
        self.session.staff.username.clone()
    }
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct Dashboard {
    layout: Layout,
    name: String,
    applications: i64,
    overdue: i64,
    pending: usize,
}

async fn dashboard(State(state): State<AppState>, console: Console) -> Page {
    let (pending, applications, overdue) = store(&state, |s| {
        let desk = s.desk_counts(now(), start_of_today())?;
        Ok((s.pending_reviews()?.len(), desk.waiting, desk.overdue))
    })
    .await?;
    render(Dashboard {
        layout: console.layout("首页"),
        name: console.session.staff.name.clone(),
        applications,
        overdue,
        pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKUP: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";

    fn nasty_viewer() -> Viewer {
        Viewer {
            name: MARKUP.into(),
            role: role_name(StaffRole::Admin),
            csrf: "\"><b>".into(),
            nav: vec![("/console", "首页")],
        }
    }

    #[test]
    fn the_layout_escapes_the_name_the_token_and_the_flash() {
        let page = Dashboard {
            layout: Layout {
                title: "首页",
                viewer: Some(nasty_viewer()),
                flash: Some(Flash::Refused {
                    zh: MARKUP.into(),
                    en: Some(MARKUP.into()),
                }),
            },
            name: MARKUP.into(),
            applications: 0,
            overdue: 0,
            pending: 0,
        }
        .render()
        .unwrap();
        assert!(
            !page.contains("<script>") && !page.contains("<img"),
            "{page}"
        );
        assert!(!page.contains("\"><b>"), "{page}");
        assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(page.contains("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"));
        assert!(page.contains("value=\"&#34;&#62;&#60;b&#62;\""), "{page}");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; console_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_token(&headers).as_deref(), Some("abc"));
        headers.insert(header::COOKIE, "console_session_x=1".parse().unwrap());
        assert_eq!(cookie_token(&headers), None);
    }
}
