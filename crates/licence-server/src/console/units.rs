//! 单位注册 (R2.9): a unit registers at the counter only, through its agent, with the power of
//! attorney scanned and the business licence seen.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::IntoResponse;
use licence_core::{
    IdNumber, MobileNumber, OrganisationCode, PersonName, UnifiedSocialCreditCode, UserKind,
};

use super::{
    audit, checked, create, field_error, hash_password, render, unprocessable, Answer, Console,
    Counter, Flash, Layout, Page,
};
use crate::store::{NewAccount, UnitPapers};
use crate::{now, security, AppState};

/// Largest power-of-attorney scan.
const MAX_ATTORNEY_BYTES: usize = 6 << 20;

/// Values sent with the form, shown again with the problems when it is refused.
#[derive(Default)]
struct UnitForm {
    csrf: String,
    unit_name: String,
    unit_code: String,
    agent_name: String,
    agent_id_number: String,
    agent_mobile: String,
    password: String,
    licence_checked: bool,
    attorney: Vec<u8>,
}

#[derive(Template)]
#[template(path = "console/units.html")]
struct UnitPage<'a> {
    layout: Layout,
    form: &'a UnitForm,
}

fn unit_page(console: &Console<Counter>, form: &UnitForm, flash: Option<Flash>) -> Page {
    render(UnitPage {
        layout: console.layout("单位注册").with_flash(flash),
        form,
    })
}

/// The form again, with every problem found (422).
fn refused(console: &Console<Counter>, form: &UnitForm, problems: Vec<String>) -> Answer {
    unprocessable(unit_page(console, form, Some(Flash::Problems(problems))))
}

pub(super) async fn page(console: Console<Counter>) -> Page {
    unit_page(&console, &UnitForm::default(), None)
}

async fn read_form(mut multipart: Multipart) -> Result<UnitForm, String> {
    let unreadable = |e: axum::extract::multipart::MultipartError| format!("表单无法读取：{e}");
    let mut form = UnitForm::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attorney" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| format!("委托书无法读取：{e}"))?;
            form.attorney = bytes.to_vec();
            continue;
        }
        let text = field.text().await.map_err(unreadable)?;
        match name.as_str() {
            "csrf" => form.csrf = text,
            "unit_name" => form.unit_name = text,
            "unit_code" => form.unit_code = text,
            "agent_name" => form.agent_name = text,
            "agent_id_number" => form.agent_id_number = text,
            "agent_mobile" => form.agent_mobile = text,
            "password" => form.password = text,
            "licence_checked" => form.licence_checked = true,
            _ => {}
        }
    }
    Ok(form)
}

/// What kind of file the scan is, by its first bytes (the browser's content type is a hint
/// only).
fn attorney_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The registration, once every field is valid.
struct Checked {
    unit_name: String,
    unit_code: String,
    agent_name: PersonName,
    agent_id: IdNumber,
    mobile: MobileNumber,
    attorney_type: &'static str,
}

/// Every problem of the form, or what it registers.
fn check(form: &UnitForm) -> Result<Checked, Vec<String>> {
    let mut problems = Vec::new();
    let unit_name = form.unit_name.trim().to_owned();
    if unit_name.is_empty()
        || unit_name.chars().count() > 100
        || unit_name.chars().any(char::is_control)
    {
        problems.push("单位名称：请填写营业执照上的单位名称（不超过 100 字）".into());
    }
    let code = form.unit_code.trim().to_uppercase();
    let unit_code = match code.len() {
        18 => code
            .parse::<UnifiedSocialCreditCode>()
            .map(|c| c.as_str().to_owned())
            .map_err(|e| field_error("统一社会信用代码", &e)),
        _ => code
            .parse::<OrganisationCode>()
            .map(|c| c.to_string())
            .map_err(|e| field_error("组织机构代码", &e)),
    }
    .map_err(|p| problems.push(p))
    .ok();
    let agent_name = form.agent_name.trim().parse::<PersonName>();
    let agent_name = checked("经办人姓名", agent_name, &mut problems);
    let agent_id = IdNumber::parse(form.agent_id_number.trim(), crate::today());
    let agent_id = checked("经办人身份证号码", agent_id, &mut problems);
    let mobile = form.agent_mobile.trim().parse::<MobileNumber>();
    let mobile = checked("经办人手机号码", mobile, &mut problems);
    if let Err(e) = security::check_password(&form.password) {
        problems.push(format!("登录密码：{}", e.body.message));
    }
    let attorney_type = if form.attorney.is_empty() {
        problems.push("请上传授权委托书扫描件".into());
        None
    } else if form.attorney.len() > MAX_ATTORNEY_BYTES {
        problems.push("授权委托书扫描件不能超过 6 MB".into());
        None
    } else {
        let kind = attorney_kind(&form.attorney);
        if kind.is_none() {
            problems.push("授权委托书须为 PDF 或完整的 JPEG 文件".into());
        }
        kind
    };
    if !form.licence_checked {
        problems.push("请确认已核验营业执照".into());
    }
    match (unit_code, agent_name, agent_id, mobile, attorney_type) {
        (Some(unit_code), Some(agent_name), Some(agent_id), Some(mobile), Some(attorney_type))
            if problems.is_empty() =>
        {
            Ok(Checked {
                unit_name,
                unit_code,
                agent_name,
                agent_id,
                mobile,
                attorney_type,
            })
        }
        _ => Err(problems),
    }
}

pub(super) async fn register(
    State(state): State<AppState>,
    console: Console<Counter>,
    multipart: Multipart,
) -> Answer {
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(problem) => return refused(&console, &UnitForm::default(), vec![problem]),
    };
    console.check_csrf(&form.csrf)?;
    let checked = match check(&form) {
        Ok(checked) => checked,
        Err(problems) => return refused(&console, &form, problems),
    };
    let new = NewAccount {
        kind: UserKind::Unit,
        id_number: None,
        unit_code: Some(checked.unit_code.clone()),
        name: checked.unit_name.clone(),
        mobile: checked.mobile,
        password_hash: hash_password(&form.password).await?,
        created_at: now(),
    };
    let papers = UnitPapers {
        agent_name: checked.agent_name,
        agent_id_number: checked.agent_id,
        attorney: form.attorney.clone(),
        attorney_type: checked.attorney_type.into(),
    };
    let Some(account) = create(&state, move |s| s.create_unit(&new, &papers)).await? else {
        return refused(&console, &form, vec!["该单位已注册".into()]);
    };
    let detail = format!(
        "created unit account {account} ({}), agent {}",
        checked.unit_code,
        checked.agent_id.masked()
    );
    audit::record(&state, &console.actor(), "unit_registration", detail).await?;
    let done = format!(
        "{}（{}）已注册为单位用户，可用统一社会信用代码和密码登录",
        checked.unit_name, checked.unit_code
    );
    let page = unit_page(&console, &UnitForm::default(), Some(Flash::Done(done)))?;
    Ok(page.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attorney_scans_are_recognised_by_their_bytes() {
        assert_eq!(attorney_kind(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(
            attorney_kind(&[0xFF, 0xD8, 0, 0xFF, 0xD9]),
            Some("image/jpeg")
        );
        assert_eq!(attorney_kind(&[0xFF, 0xD8, 0]), None);
        assert_eq!(attorney_kind(b"GIF89a"), None);
    }

    #[test]
    fn every_problem_of_a_unit_form_is_named() {
        let problems = check(&UnitForm::default()).err().unwrap();
        for expected in [
            "单位名称：",
            "组织机构代码：",
            "经办人姓名：",
            "经办人身份证号码：",
            "经办人手机号码：",
            "登录密码：",
            "请上传授权委托书扫描件",
            "请确认已核验营业执照",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(expected)),
                "{expected} in {problems:?}"
            );
        }
    }
}
