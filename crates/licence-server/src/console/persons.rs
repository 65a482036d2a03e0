//! 窗口面签 (R2.8): a clerk face-signs a person who shows the original ID card. A new person
//! gets a face-signed (counter) account; an online-registered one is upgraded.

use askama::Template;
use axum::extract::State;
use axum::response::IntoResponse;
use licence_core::{FaceSignChannel, IdNumber, MobileNumber, PersonName, Problem, UserKind};
use serde::Deserialize;

use super::{
    audit, checked, create, hash_password, render, store, unprocessable, Answer, Console, Counter,
    Flash, Page, Submitted,
};
use crate::store::{NewAccount, Store, StoreError};
use crate::{now, security, AppState};

/// Values typed into the form, shown again with the problems when it is refused.
#[derive(Deserialize, Default)]
pub(super) struct PersonForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    password: String,
    original_checked: Option<String>,
}

#[derive(Template)]
#[template(path = "console/persons.html")]
struct PersonPage<'a> {
    layout: super::Layout,
    form: &'a PersonForm,
}

fn person_page(console: &Console<Counter>, form: &PersonForm, flash: Flash) -> Page {
    render(PersonPage {
        layout: console.layout("窗口面签（个人）").with_flash(Some(flash)),
        form,
    })
}

/// The form again, with every problem found (422).
fn refused(console: &Console<Counter>, form: &PersonForm, problems: Vec<String>) -> Answer {
    unprocessable(person_page(console, form, Flash::Problems(problems)))
}

pub(super) async fn page(console: Console<Counter>) -> Page {
    render(PersonPage {
        layout: console.layout("窗口面签（个人）"),
        form: &PersonForm::default(),
    })
}

/// What the clerk asked for, once every field is valid.
struct Checked {
    name: PersonName,
    id: IdNumber,
    mobile: MobileNumber,
}

fn check(form: &PersonForm, problems: &mut Vec<String>) -> Option<Checked> {
    let name = checked("姓名", form.name.trim().parse::<PersonName>(), problems);
    let id = IdNumber::parse(form.id_number.trim(), crate::today());
    let id = checked("身份证号码", id, problems);
    let mobile = checked(
        "手机号码",
        form.mobile.trim().parse::<MobileNumber>(),
        problems,
    );
    if form.original_checked.is_none() {
        problems.push("请确认已当面核验身份证原件".into());
    }
    Some(Checked {
        name: name?,
        id: id?,
        mobile: mobile?,
    })
}

pub(super) async fn register(
    State(state): State<AppState>,
    Submitted { console, form }: Submitted<Counter, PersonForm>,
) -> Answer {
    let mut problems = Vec::new();
    let Some(Checked { name, id, mobile }) = check(&form, &mut problems) else {
        return refused(&console, &form, problems);
    };
    let (entry, existing) = store(&state, move |s| {
        Ok((s.registry_entry(&id)?, s.account_by_id_number(&id)?))
    })
    .await?;
    if entry.as_ref().is_none_or(|e| e.name != name) {
        problems.push("姓名与身份证号码不一致，或该人员未在公安交通管理信息系统中登记".into());
    }
    let upgrade = match existing {
        Some(a) => match a.kind.face_sign(FaceSignChannel::Counter) {
            Ok(kind) => Some((a.id, kind)),
            Err(e) => {
                problems.push(e.message_zh());
                None
            }
        },
        None => {
            if let Err(e) = security::check_password(&form.password) {
                problems.push(format!("登录密码：{}", e.body.message));
            }
            None
        }
    };
    if !problems.is_empty() {
        return refused(&console, &form, problems);
    }
    let (done, detail) = if let Some((account, kind)) = upgrade {
        store(&state, move |s| s.set_account_kind(account, kind, None)).await?;
        (
            "已升级为面签用户",
            format!("upgraded account {account} ({})", id.masked()),
        )
    } else {
        let new = face_signed_at_counter(id, &name, mobile, hash_password(&form.password).await?);
        let Some(account) = create(&state, move |s| s.create_account(&new)).await? else {
            return refused(&console, &form, vec!["该身份证号已注册".into()]);
        };
        (
            "已注册为面签用户",
            format!("created account {account} ({})", id.masked()),
        )
    };
    audit::record(&state, &console.actor(), "counter_face_sign", detail).await?;
    let done = format!("{} {}：{done}", name.as_str(), id.masked());
    Ok(person_page(&console, &PersonForm::default(), Flash::Done(done))?.into_response())
}

/// The account a person gets at the counter.
fn face_signed_at_counter(
    id: IdNumber,
    name: &PersonName,
    mobile: MobileNumber,
    password_hash: String,
) -> NewAccount {
    NewAccount {
        kind: UserKind::FaceSigned {
            via: FaceSignChannel::Counter,
        },
        id_number: Some(id),
        unit_code: None,
        name: name.as_str().into(),
        mobile,
        password_hash,
        created_at: now(),
    }
}

/// Registers a person of the registry as a face-signed driver (what the counter's 面签 does,
/// without the console): for development and demos. Returns the account and the reserved
/// mobile number, masked, with which the driver signs in.
pub fn add_driver(
    store: &dyn Store,
    id_number: &str,
    password: &str,
) -> anyhow::Result<(i64, String)> {
    let id = IdNumber::parse(id_number.trim(), crate::today())
        .map_err(|e| anyhow::anyhow!("{}", e.message_en()))?;
    let entry = store
        .registry_entry(&id)?
        .ok_or_else(|| anyhow::anyhow!("{} is not in the registry", id.masked()))?;
    security::check_password(password).map_err(|e| anyhow::anyhow!("{}", e.body.message_en))?;
    let hash =
        security::hash_password(password).map_err(|e| anyhow::anyhow!("{}", e.body.message_en))?;
    let account = store
        .create_account(&face_signed_at_counter(
            id,
            &entry.name,
            entry.reserved_mobile,
            hash,
        ))
        .map_err(|e| match e {
            StoreError::Duplicate(_) => anyhow::anyhow!("{} already has an account", id.masked()),
            e => e.into(),
        })?;
    Ok((account, entry.reserved_mobile.masked()))
}
