//! 民警账号: the administrator opens accounts for counter clerks, reviewers and the officers on
//! duty who verify e-licences in the app (R4.3), and sees who has which role. The CLI's
//! `staff add` opens them the same way.

use askama::Template;
use axum::extract::State;
use serde::Deserialize;

use super::{
    audit, render, role_name, store, Administration, Console, Flash, Layout, Page, Submitted,
};
use crate::error::ApiError;
use crate::store::{Staff, StaffRole, Store, StoreError};
use crate::{security, AppState};

/// The roles offered, in the order the form lists them.
const ROLES: [StaffRole; 4] = [
    StaffRole::Officer,
    StaffRole::Reviewer,
    StaffRole::Clerk,
    StaffRole::Admin,
];

/// One member of staff in the list.
struct Member {
    username: String,
    name: String,
    role: &'static str,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    layout: Layout,
    /// (value, text) of each role.
    roles: Vec<(&'static str, &'static str)>,
    members: Vec<Member>,
}

pub(super) async fn page(State(state): State<AppState>, console: Console<Administration>) -> Page {
    listing(&state, &console, None).await
}

async fn listing(
    state: &AppState,
    console: &Console<Administration>,
    flash: Option<Flash>,
) -> Page {
    let staff = store(state, |s| s.staff_list()).await?;
    render(StaffPage {
        layout: console.layout("民警账号").with_flash(flash),
        roles: ROLES.iter().map(|r| (r.as_str(), role_name(*r))).collect(),
        members: staff
            .into_iter()
            .map(|m| Member {
                role: role_name(m.role),
                username: m.username,
                name: m.name,
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub(super) struct NewStaffForm {
    username: String,
    name: String,
    role: String,
    password: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    Submitted { console, form }: Submitted<Administration, NewStaffForm>,
) -> Page {
    let role =
        StaffRole::parse(&form.role).ok_or_else(|| console.refuse(super::Refusal::NoRole))?;
    let username = form.username.trim().to_owned();
    let (new, name, password) = (username.clone(), form.name.clone(), form.password);
    let added = tokio::task::spawn_blocking({
        let store = state.store.clone();
        move || add_staff(store.as_ref(), &new, &name, role, &password)
    })
    .await?;
    let flash = match added {
        Ok(_) => {
            let detail = format!("{username} · {}", role.as_str());
            audit::record(&state, &console.actor(), "add_staff", detail).await?;
            Flash::Done(format!(
                "已开通{} {}（{username}）。",
                role_name(role),
                form.name.trim()
            ))
        }
        Err(NewStaffError::Store(e)) => return Err(e.into()),
        Err(e) => Flash::Refused {
            zh: e.message_zh(),
            en: Some(e.to_string()),
        },
    };
    listing(&state, &console, Some(flash)).await
}

/// Why a member of staff could not be added; shown in the console and by the CLI.
#[derive(Debug, thiserror::Error)]
pub enum NewStaffError {
    #[error("the username must be 1-32 letters, digits, '_' or '.'")]
    BadUsername,
    #[error("the name must be 1-32 characters")]
    BadName,
    #[error("{en}")]
    WeakPassword { zh: String, en: String },
    #[error("the username {0} is taken")]
    Taken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NewStaffError {
    pub fn message_zh(&self) -> String {
        match self {
            NewStaffError::BadUsername => "账号须为 1-32 位字母、数字、“_”或“.”".into(),
            NewStaffError::BadName => "姓名须为 1-32 个字符".into(),
            NewStaffError::WeakPassword { zh, .. } => zh.clone(),
            NewStaffError::Taken(u) => format!("账号 {u} 已被使用"),
            NewStaffError::Store(_) => "系统繁忙，请稍后再试".into(),
        }
    }
}

/// Adds a member of staff (the CLI's `staff add`, and the administrator's page).
pub fn add_staff(
    store: &dyn Store,
    username: &str,
    name: &str,
    role: StaffRole,
    password: &str,
) -> Result<i64, NewStaffError> {
    let username_ok = !username.is_empty()
        && username.len() <= 32
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if !username_ok {
        return Err(NewStaffError::BadUsername);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 32 || name.chars().any(char::is_control) {
        return Err(NewStaffError::BadName);
    }
    let weak = |e: ApiError| NewStaffError::WeakPassword {
        zh: e.body.message.clone(),
        en: e.body.message_en.clone(),
    };
    security::check_password(password).map_err(weak)?;
    let hash = security::hash_password(password).map_err(weak)?;
    let staff = Staff {
        id: 0,
        username: username.into(),
        name: name.trim().into(),
        role,
        password_hash: hash,
    };
    match store.create_staff(&staff) {
        Ok(id) => Ok(id),
        Err(StoreError::Duplicate(_)) => Err(NewStaffError::Taken(username.into())),
        Err(e) => Err(e.into()),
    }
}
