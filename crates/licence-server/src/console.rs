//! The back-office console for counter clerks and reviewers: server-rendered pages under
//! `/console`. Staff sign in with a password (argon2) and get a session cookie (HttpOnly,
//! SameSite=Strict); every form carries the session's CSRF token. Counter face-sign of
//! persons (R2.8), counter registration of units (R2.9), the manual ID-card review queue
//! (R2.6) and the audit log of every staff action.

// Console helpers fail with the finished page to send (a `Response`); boxing it would only add
// noise to every handler.
#![allow(clippy::result_large_err)]

use axum::extract::{FromRequestParts, Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use licence_core::{
    FaceSignChannel, IdNumber, MobileNumber, OrganisationCode, PersonName, Problem,
    UnifiedSocialCreditCode, UserKind,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::store::{
    AuditEntry, NewAccount, ReviewState, Staff, StaffRole, StaffSession, Store, StoreError,
    UnitPapers,
};
use crate::{now, security, AppState};

const COOKIE: &str = "console_session";
/// A console session lasts one working day.
const SESSION_SECONDS: i64 = 10 * 3600;
const STAFF_FAILURE: &str = "staff_sign_in_failure";
/// Largest power-of-attorney scan.
const MAX_ATTORNEY_BYTES: usize = 6 << 20;

/// Reasons a reviewer can give for rejecting ID card photographs.
const REJECT_REASONS: [(&str, &str); 5] = [
    ("unclear", "照片模糊或反光，无法辨认证件信息"),
    ("incomplete", "证件未完整拍摄（四角须完整可见）"),
    ("mismatch", "证件信息与注册信息不一致"),
    ("expired", "身份证已过期或有效期限填写有误"),
    ("not_original", "疑似翻拍、复印件或非原件"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/persons", get(person_form).post(register_person))
        .route("/units", get(unit_form).post(register_unit))
        .route("/reviews", get(review_queue))
        .route("/reviews/{id}", get(review_page).post(decide))
        .route("/reviews/{id}/{picture}", get(review_picture))
        .route("/applications", get(application_queue))
        .route(
            "/applications/{id}",
            get(application_page).post(decide_application),
        )
        .route("/applications/{id}/{picture}", get(application_picture))
        .route("/audit", get(audit_page))
        .route("/staff", get(staff_page).post(create_staff))
}

/// HTML-escapes text for element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{margin:0;font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;background:#f2f4f7;color:#222}\
header{background:#0b4fa8;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}\
header h1{font-size:18px;margin:0}header form{display:inline}header button{background:none;border:1px solid #fff;color:#fff;padding:4px 10px;cursor:pointer}\
nav{background:#fff;padding:8px 24px;border-bottom:1px solid #dde}nav a{margin-right:18px;color:#0b4fa8;text-decoration:none}\
main{padding:24px;max-width:960px}section{background:#fff;border:1px solid #dde;border-radius:6px;padding:20px;margin-bottom:16px}\
label{display:block;margin:10px 0 4px}input[type=text],input[type=password],select,textarea{width:320px;padding:6px;border:1px solid #bbc;border-radius:4px}\
button.primary{background:#0b4fa8;color:#fff;border:0;padding:8px 20px;border-radius:4px;margin-top:14px;cursor:pointer}\
button.reject{background:#c0392b}.error{color:#c0392b;background:#fdecea;padding:8px 12px;border-radius:4px}\
.ok{color:#1e7e34;background:#e8f5e9;padding:8px 12px;border-radius:4px}table{border-collapse:collapse;width:100%}\
td,th{border-bottom:1px solid #eee;padding:6px 8px;text-align:left}.pictures{display:flex;gap:16px;flex-wrap:wrap}.pictures img{max-width:300px;border:1px solid #ccc}\
.overdue{color:#c0392b;font-weight:bold}";

fn page(title: &str, session: Option<&StaffSession>, body: &str) -> Html<String> {
    let (user, nav) = match session {
        Some(s) => (
            format!(
                "<span>{} · {}</span> <form method=post action=/console/sign-out><input type=hidden name=csrf value=\"{}\"><button id=sign-out>退出</button></form>",
                esc(&s.staff.name),
                role_name(s.staff.role),
                esc(&s.csrf)
            ),
            nav(s.staff.role),
        ),
        None => (String::new(), String::new()),
    };
    Html(format!(
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>{} · 电子驾驶证管理后台</title><style>{STYLE}</style></head>\
         <body><header><h1>公安交通管理 · 电子驾驶证管理后台</h1><div>{user}</div></header>{nav}<main><h2>{}</h2>{body}</main></body></html>",
        esc(title),
        esc(title)
    ))
}

/// Only the pages this role may use.
fn nav(role: StaffRole) -> String {
    let mut links = vec![("/console", "首页")];
    if role.can_register() {
        links.extend([
            ("/console/persons", "窗口面签"),
            ("/console/units", "单位注册"),
        ]);
    }
    if role.can_review() {
        links.push(("/console/applications", "电子驾驶证审核"));
        links.push(("/console/reviews", "身份证人工审核"));
    }
    if role == StaffRole::Admin {
        links.push(("/console/staff", "民警账号"));
        links.push(("/console/audit", "操作日志"));
    }
    let links: String = links
        .iter()
        .map(|(href, text)| format!("<a href={href}>{text}</a>"))
        .collect();
    format!("<nav>{links}</nav>")
}

fn role_name(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Clerk => "窗口民警",
        StaffRole::Reviewer => "审核民警",
        StaffRole::Admin => "管理员",
        StaffRole::Officer => "执勤民警",
    }
}

fn error_page(status: StatusCode, session: Option<&StaffSession>, zh: &str, en: &str) -> Response {
    (
        status,
        page(
            "无法完成",
            session,
            &format!(
                "<p class=error>{} <br><small>{}</small></p>",
                esc(zh),
                esc(en)
            ),
        ),
    )
        .into_response()
}

fn internal(detail: impl std::fmt::Display) -> Response {
    eprintln!("console: internal error: {detail}");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "系统繁忙，请稍后再试",
        "Something went wrong on our side; please try again",
    )
}

async fn store<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let s = state.store.clone();
    tokio::task::spawn_blocking(move || op(s.as_ref()))
        .await
        .map_err(internal)?
        .map_err(internal)
}

async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    detail: String,
) -> Result<(), Response> {
    let entry = AuditEntry {
        at: now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        detail,
    };
    store(state, move |s| s.audit(&entry)).await
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The signed-in member of staff; anyone else is sent to the sign-in page.
pub struct Console {
    session: StaffSession,
    token_hash: Vec<u8>,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let token = cookie_token(&parts.headers).ok_or_else(to_sign_in)?;
        let token_hash = security::token_digest(&token);
        let lookup = token_hash.clone();
        let session = store(state, move |s| s.staff_session(&lookup))
            .await?
            .filter(|s| s.expires_at > now())
            .ok_or_else(to_sign_in)?;
        Ok(Console {
            session,
            token_hash,
        })
    }
}

impl Console {
    /// A POST must carry this session's form token.
    fn check_csrf(&self, csrf: &str) -> Result<(), Response> {
        if security::same_digest(csrf.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                Some(&self.session),
                "页面已过期，请返回后刷新页面重新提交",
                "This form has expired or did not come from the console; reload the page and submit again",
            ))
        }
    }

    fn require(&self, allowed: bool) -> Result<(), Response> {
        if allowed {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                Some(&self.session),
                "您的岗位无权办理此项业务",
                "Your role may not do this",
            ))
        }
    }

    fn actor(&self) -> String {
        self.session.staff.username.clone()
    }
}

async fn sign_in_page() -> Html<String> {
    sign_in_form(None)
}

fn sign_in_form(error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| format!("<p class=error id=error>{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        "工作人员登录",
        None,
        &format!(
            "<section>{error}<form method=post action=/console/sign-in>\
             <label for=username>用户名</label><input type=text id=username name=username autocomplete=username required>\
             <label for=password>密码</label><input type=password id=password name=password autocomplete=current-password required>\
             <br><button class=primary id=submit>登录</button></form></section>"
        ),
    )
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: String,
}

async fn sign_in(State(state): State<AppState>, Form(form): Form<SignInForm>) -> Response {
    match try_sign_in(&state, form).await {
        Ok(r) | Err(r) => r,
    }
}

async fn try_sign_in(state: &AppState, form: SignInForm) -> Result<Response, Response> {
    let username = form.username.trim().to_owned();
    let key = username.clone();
    let window = state.policy.sign_in_window.as_secs() as i64;
    let (staff, failures) = store(state, move |s| {
        Ok((
            s.staff_by_username(&key)?,
            s.count_events(STAFF_FAILURE, &key, now() - window)?,
        ))
    })
    .await?;
    if failures >= state.policy.sign_in_failures {
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            sign_in_form(Some("密码错误次数过多，请 15 分钟后再试")),
        )
            .into_response());
    }
    let password = form.password;
    let matched = match staff {
        Some(staff) => {
            let hash = staff.password_hash.clone();
            let ok =
                tokio::task::spawn_blocking(move || security::password_matches(&password, &hash))
                    .await
                    .map_err(internal)?;
            ok.then_some(staff)
        }
        None => None,
    };
    let Some(staff) = matched else {
        let key = username.clone();
        store(state, move |s| s.record_event(STAFF_FAILURE, &key, now())).await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            sign_in_form(Some("用户名或密码错误")),
        )
            .into_response());
    };
    let (token, digest) = security::new_token();
    let csrf = security::new_id();
    let staff_id = staff.id;
    let key = username.clone();
    store(state, move |s| {
        s.clear_events(STAFF_FAILURE, &key)?;
        s.put_staff_session(&digest, staff_id, &csrf, now() + SESSION_SECONDS)
    })
    .await?;
    audit(state, &staff.username, "sign_in", "console".into()).await?;
    let mut response = Redirect::to("/console").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        format!(
            "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
        )
        .parse()
        .map_err(internal)?,
    );
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = console.check_csrf(&form.csrf) {
        return r;
    }
    let digest = console.token_hash.clone();
    if let Err(r) = store(&state, move |s| s.delete_staff_session(&digest)).await {
        return r;
    }
    if let Err(r) = audit(&state, &console.actor(), "sign_out", "console".into()).await {
        return r;
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    if let Ok(v) = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0").parse()
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

async fn dashboard(State(state): State<AppState>, console: Console) -> Response {
    let (pending, applications, overdue) = match store(&state, |s| {
        let queue = s.review_queue()?;
        let overdue = queue.iter().filter(|a| a.due_at < now()).count();
        Ok((s.pending_reviews()?.len(), queue.len(), overdue))
    })
    .await
    {
        Ok(counts) => counts,
        Err(r) => return r,
    };
    page(
        "首页",
        Some(&console.session),
        &format!(
            "<section><p>您好，{}。</p><ul>\
             <li><a href=/console/persons>窗口面签</a>：核验身份证原件后为驾驶人注册或升级为面签用户</li>\
             <li><a href=/console/units>单位注册</a>：凭营业执照和授权委托书为单位注册账号</li>\
             <li><a href=/console/applications>电子驾驶证审核</a>：待审核 <strong id=application-count>{applications}</strong> 件，其中超时 <strong id=overdue-count>{overdue}</strong> 件</li>
             <li><a href=/console/reviews>身份证人工审核</a>：待审核 <strong id=pending-count>{pending}</strong> 件</li>\
             <li><a href=/console/audit>操作日志</a></li></ul></section>",
            esc(&console.session.staff.name)
        ),
    )
    .into_response()
}

/// Values typed into a form, shown again with the problems when it is refused.
#[derive(Deserialize, Default)]
struct PersonForm {
    #[serde(default)]
    csrf: String,
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

fn field_error(field: &str, e: &impl Problem) -> String {
    format!("{field}：{}", e.message_zh())
}

fn person_page(console: &Console, form: &PersonForm, message: &str) -> Html<String> {
    page(
        "窗口面签（个人）",
        Some(&console.session),
        &format!(
            "<section>{message}<form method=post action=/console/persons>\
             <input type=hidden name=csrf value=\"{}\">\
             <label for=name>姓名</label><input type=text id=name name=name value=\"{}\" required>\
             <label for=id_number>身份证号码</label><input type=text id=id_number name=id_number value=\"{}\" maxlength=18 required>\
             <label for=mobile>手机号码</label><input type=text id=mobile name=mobile value=\"{}\" maxlength=11 required>\
             <label for=password>登录密码（由驾驶人本人设置，8-32 位字母和数字）</label><input type=password id=password name=password>\
             <label><input type=checkbox id=original_checked name=original_checked value=yes> 已当面核验居民身份证原件，人证一致</label>\
             <button class=primary id=submit>办理面签</button></form></section>",
            esc(&console.session.csrf),
            esc(&form.name),
            esc(&form.id_number),
            esc(&form.mobile)
        ),
    )
}

async fn person_form(console: Console) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_register()) {
        return r;
    }
    person_page(&console, &PersonForm::default(), "").into_response()
}

/// R2.8: a clerk face-signs a person who shows the original ID. A new person gets a
/// face-signed account; an online-registered one is upgraded.
async fn register_person(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<PersonForm>,
) -> Response {
    if let Err(r) = console
        .require(console.session.staff.role.can_register())
        .and_then(|()| console.check_csrf(&form.csrf))
    {
        return r;
    }
    let mut problems = Vec::new();
    let name = form
        .name
        .trim()
        .parse::<PersonName>()
        .map_err(|e| problems.push(field_error("姓名", &e)))
        .ok();
    let id = IdNumber::parse(form.id_number.trim(), crate::today())
        .map_err(|e| problems.push(field_error("身份证号码", &e)))
        .ok();
    let mobile = form
        .mobile
        .trim()
        .parse::<MobileNumber>()
        .map_err(|e| problems.push(field_error("手机号码", &e)))
        .ok();
    if form.original_checked.is_none() {
        problems.push("请确认已当面核验身份证原件".into());
    }
    let (Some(name), Some(id), Some(mobile)) = (name, id, mobile) else {
        return refused_person(&console, &form, &problems);
    };
    let lookup = id;
    let (entry, existing) = match store(&state, move |s| {
        Ok((s.registry_entry(&lookup)?, s.account_by_id_number(&lookup)?))
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
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
        return refused_person(&console, &form, &problems);
    }
    let actor = console.actor();
    let (done, detail) = if let Some((account, kind)) = upgrade {
        if let Err(r) = store(&state, move |s| s.set_account_kind(account, kind, None)).await {
            return r;
        }
        (
            "已升级为面签用户",
            format!("upgraded account {account} ({})", id.masked()),
        )
    } else {
        let password = form.password.clone();
        let hash =
            match tokio::task::spawn_blocking(move || security::hash_password(&password)).await {
                Ok(Ok(h)) => h,
                Ok(Err(_)) | Err(_) => return internal("password hashing failed"),
            };
        let new = NewAccount {
            kind: UserKind::FaceSigned {
                via: FaceSignChannel::Counter,
            },
            id_number: Some(id),
            unit_code: None,
            name: name.as_str().into(),
            mobile,
            password_hash: hash,
            created_at: now(),
        };
        match store(&state, move |s| match s.create_account(&new) {
            Ok(id) => Ok(Some(id)),
            Err(StoreError::Duplicate(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .await
        {
            Ok(Some(account)) => (
                "已注册为面签用户",
                format!("created account {account} ({})", id.masked()),
            ),
            Ok(None) => return refused_person(&console, &form, &["该身份证号已注册".into()]),
            Err(r) => return r,
        }
    };
    if let Err(r) = audit(&state, &actor, "counter_face_sign", detail).await {
        return r;
    }
    person_page(
        &console,
        &PersonForm::default(),
        &format!(
            "<p class=ok id=result>{} {}：{}</p>",
            esc(name.as_str()),
            esc(&id.masked()),
            done
        ),
    )
    .into_response()
}

fn refused_person(console: &Console, form: &PersonForm, problems: &[String]) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        person_page(console, form, &problem_list(problems)),
    )
        .into_response()
}

fn problem_list(problems: &[String]) -> String {
    format!(
        "<div class=error id=error><ul>{}</ul></div>",
        problems
            .iter()
            .map(|p| format!("<li>{}</li>", esc(p)))
            .collect::<String>()
    )
}

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
    attorney_type: String,
}

fn unit_page(console: &Console, form: &UnitForm, message: &str) -> Html<String> {
    page(
        "单位注册",
        Some(&console.session),
        &format!(
            "<section>{message}<form method=post action=/console/units enctype=multipart/form-data>\
             <input type=hidden name=csrf value=\"{}\">\
             <label for=unit_name>单位名称</label><input type=text id=unit_name name=unit_name value=\"{}\" required>\
             <label for=unit_code>统一社会信用代码（或组织机构代码）</label><input type=text id=unit_code name=unit_code value=\"{}\" maxlength=18 required>\
             <label for=agent_name>经办人姓名</label><input type=text id=agent_name name=agent_name value=\"{}\" required>\
             <label for=agent_id_number>经办人身份证号码</label><input type=text id=agent_id_number name=agent_id_number value=\"{}\" maxlength=18 required>\
             <label for=agent_mobile>经办人手机号码</label><input type=text id=agent_mobile name=agent_mobile value=\"{}\" maxlength=11 required>\
             <label for=password>单位账号登录密码（8-32 位字母和数字）</label><input type=password id=password name=password>\
             <label for=attorney>授权委托书扫描件（PDF 或 JPEG，不超过 6 MB）</label><input type=file id=attorney name=attorney accept=\".pdf,.jpg,.jpeg\">\
             <label><input type=checkbox id=licence_checked name=licence_checked value=yes> 已核验营业执照原件（或加盖公章的复印件）</label>\
             <button class=primary id=submit>办理单位注册</button></form></section>",
            esc(&console.session.csrf),
            esc(&form.unit_name),
            esc(&form.unit_code),
            esc(&form.agent_name),
            esc(&form.agent_id_number),
            esc(&form.agent_mobile)
        ),
    )
}

async fn unit_form(console: Console) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_register()) {
        return r;
    }
    unit_page(&console, &UnitForm::default(), "").into_response()
}

async fn read_unit_form(mut multipart: Multipart) -> Result<UnitForm, String> {
    let mut form = UnitForm::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("表单无法读取：{e}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attorney" {
            let content_type = field.content_type().unwrap_or_default().to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| format!("委托书无法读取：{e}"))?;
            form.attorney = bytes.to_vec();
            form.attorney_type = content_type;
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| format!("表单无法读取：{e}"))?;
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

/// R2.9: a unit registers at the counter only, through its agent.
async fn register_unit(
    State(state): State<AppState>,
    console: Console,
    multipart: Multipart,
) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_register()) {
        return r;
    }
    let form = match read_unit_form(multipart).await {
        Ok(f) => f,
        Err(problem) => return refused_unit(&console, &UnitForm::default(), &[problem]),
    };
    if let Err(r) = console.check_csrf(&form.csrf) {
        return r;
    }
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
    let agent_name = form
        .agent_name
        .trim()
        .parse::<PersonName>()
        .map_err(|e| problems.push(field_error("经办人姓名", &e)))
        .ok();
    let agent_id = IdNumber::parse(form.agent_id_number.trim(), crate::today())
        .map_err(|e| problems.push(field_error("经办人身份证号码", &e)))
        .ok();
    let mobile = form
        .agent_mobile
        .trim()
        .parse::<MobileNumber>()
        .map_err(|e| problems.push(field_error("经办人手机号码", &e)))
        .ok();
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
    let (
        Some(unit_code),
        Some(agent_name),
        Some(agent_id),
        Some(mobile),
        Some(attorney_type),
        true,
    ) = (
        unit_code,
        agent_name,
        agent_id,
        mobile,
        attorney_type,
        problems.is_empty(),
    )
    else {
        return refused_unit(&console, &form, &problems);
    };
    let password = form.password.clone();
    let hash = match tokio::task::spawn_blocking(move || security::hash_password(&password)).await {
        Ok(Ok(h)) => h,
        _ => return internal("password hashing failed"),
    };
    let new = NewAccount {
        kind: UserKind::Unit,
        id_number: None,
        unit_code: Some(unit_code.clone()),
        name: unit_name.clone(),
        mobile,
        password_hash: hash,
        created_at: now(),
    };
    let papers = UnitPapers {
        agent_name,
        agent_id_number: agent_id,
        attorney: form.attorney.clone(),
        attorney_type: attorney_type.into(),
    };
    let created = store(&state, move |s| match s.create_unit(&new, &papers) {
        Ok(id) => Ok(Some(id)),
        Err(StoreError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e),
    })
    .await;
    let account = match created {
        Ok(Some(id)) => id,
        Ok(None) => return refused_unit(&console, &form, &["该单位已注册".into()]),
        Err(r) => return r,
    };
    if let Err(r) = audit(
        &state,
        &console.actor(),
        "unit_registration",
        format!(
            "created unit account {account} ({unit_code}), agent {}",
            agent_id.masked()
        ),
    )
    .await
    {
        return r;
    }
    unit_page(
        &console,
        &UnitForm::default(),
        &format!(
            "<p class=ok id=result>{}（{}）已注册为单位用户，可用统一社会信用代码和密码登录</p>",
            esc(&unit_name),
            esc(&unit_code)
        ),
    )
    .into_response()
}

fn refused_unit(console: &Console, form: &UnitForm, problems: &[String]) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        unit_page(console, form, &problem_list(problems)),
    )
        .into_response()
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

/// Each queued item with the account it belongs to, for the queue pages.
fn with_accounts<T>(
    s: &dyn Store,
    items: Vec<T>,
    account_of: impl Fn(&T) -> crate::store::AccountId,
) -> Result<Vec<(T, Option<crate::store::Account>)>, StoreError> {
    items
        .into_iter()
        .map(|item| {
            let account = s.account(account_of(&item))?;
            Ok((item, account))
        })
        .collect()
}

async fn review_queue(State(state): State<AppState>, console: Console) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_review()) {
        return r;
    }
    let rows = match store(&state, |s| {
        with_accounts(s, s.pending_reviews()?, |r| r.account)
    })
    .await
    {
        Ok(rows) => rows,
        Err(r) => return r,
    };
    let body = if rows.is_empty() {
        "<section><p id=empty>没有待审核的申请。</p></section>".to_owned()
    } else {
        let items: String = rows
            .iter()
            .map(|(r, a)| {
                let (name, id) = a
                    .as_ref()
                    .map(|a| (a.name.clone(), a.id_number.as_ref().map(IdNumber::masked).unwrap_or_default()))
                    .unwrap_or_default();
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><a class=open-review href=/console/reviews/{}>审核</a></td></tr>",
                    china_time(r.submitted_at),
                    esc(&name),
                    esc(&id),
                    r.id
                )
            })
            .collect();
        format!("<section><table id=queue><tr><th>提交时间</th><th>姓名</th><th>身份证号</th><th></th></tr>{items}</table></section>")
    };
    page("身份证人工审核", Some(&console.session), &body).into_response()
}

async fn review_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_review()) {
        return r;
    }
    let found = match store(&state, move |s| {
        let Some(review) = s.review(id)? else {
            return Ok(None);
        };
        let account = s.account(review.account)?;
        let on_file = match account.as_ref().and_then(|a| a.id_number) {
            Some(id) => s.registry_entry(&id)?.and_then(|e| e.photo).is_some(),
            None => false,
        };
        Ok(Some((review, account, on_file)))
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((review, Some(account), on_file)) = found else {
        return error_page(
            StatusCode::NOT_FOUND,
            Some(&console.session),
            "没有这件审核",
            "No such review",
        );
    };
    let on_file = if on_file {
        format!("<figure><img src=/console/reviews/{id}/on-file alt=档案照片><figcaption>档案照片</figcaption></figure>")
    } else {
        "<p>（档案中无照片）</p>".into()
    };
    let decision = if review.state == ReviewState::Pending {
        let reasons: String = REJECT_REASONS
            .iter()
            .map(|(code, text)| format!("<option value={code}>{}</option>", esc(text)))
            .collect();
        format!(
            "<form method=post action=/console/reviews/{id}><input type=hidden name=csrf value=\"{}\">\
             <label for=reason>不通过原因</label><select id=reason name=reason><option value=\"\">（通过时不选）</option>{reasons}</select>\
             <label for=note>补充说明</label><textarea id=note name=note rows=2></textarea><br>\
             <button class=primary name=decision value=approve id=approve>审核通过</button> \
             <button class=\"primary reject\" name=decision value=reject id=reject>不予通过</button></form>",
            esc(&console.session.csrf)
        )
    } else {
        format!(
            "<p class=ok id=decided>已处理：{}{}</p>",
            review.state.as_str(),
            review
                .reason
                .as_deref()
                .map(|r| format!("（{}）", esc(r)))
                .unwrap_or_default()
        )
    };
    page(
        "身份证人工审核",
        Some(&console.session),
        &format!(
            "<section><p>姓名：<strong id=person-name>{}</strong>　身份证号：{}　有效期限：{}　提交：{}</p>\
             <div class=pictures><figure><img src=/console/reviews/{id}/front alt=人像面><figcaption>人像面</figcaption></figure>\
             <figure><img src=/console/reviews/{id}/back alt=国徽面><figcaption>国徽面</figcaption></figure>{on_file}</div>{decision}</section>",
            esc(&account.name),
            esc(&account.id_number.map(|i| i.to_string()).unwrap_or_default()),
            esc(&review.validity.to_string()),
            china_time(review.submitted_at)
        ),
    )
    .into_response()
}

async fn review_picture(
    State(state): State<AppState>,
    console: Console,
    Path((id, picture)): Path<(i64, String)>,
) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_review()) {
        return r;
    }
    let bytes = match store(&state, move |s| {
        let Some(review) = s.review(id)? else {
            return Ok(None);
        };
        Ok(match picture.as_str() {
            "front" => Some(review.front),
            "back" => Some(review.back),
            "on-file" => match s.account(review.account)?.and_then(|a| a.id_number) {
                Some(id) => s.registry_entry(&id)?.and_then(|e| e.photo),
                None => None,
            },
            _ => None,
        })
    })
    .await
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    match bytes {
        // Personal data: never cached anywhere.
        Some(b) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            b,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A reviewer's decision on an ID card review or an application.
#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// Approve (the account becomes face-signed) or reject with a reason; the person is told
/// by SMS either way.
async fn decide(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    if let Err(r) = console
        .require(console.session.staff.role.can_review())
        .and_then(|()| console.check_csrf(&form.csrf))
    {
        return r;
    }
    let note = form.note.trim().chars().take(200).collect::<String>();
    let (state_after, reason) = match form.decision.as_str() {
        "approve" => (ReviewState::Approved, None),
        "reject" => match REJECT_REASONS.iter().find(|(code, _)| *code == form.reason) {
            Some((_, text)) => (
                ReviewState::Rejected,
                Some(if note.is_empty() {
                    (*text).to_owned()
                } else {
                    format!("{text}；{note}")
                }),
            ),
            None => {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(&console.session),
                    "不予通过时请选择原因",
                    "Choose a reason when rejecting",
                )
            }
        },
        _ => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&console.session),
                "请选择审核结果",
                "Choose approve or reject",
            )
        }
    };
    let actor = console.actor();
    let by = actor.clone();
    let why = reason.clone();
    let decided = store(&state, move |s| {
        let Some(review) = s.review(id)? else {
            return Ok(None);
        };
        if !s.decide_review(id, state_after, why.as_deref(), &by, now())? {
            return Ok(Some((review, None)));
        }
        let account = s.account(review.account)?;
        if state_after == ReviewState::Approved {
            if let Some(a) = &account {
                if let Ok(kind) = a.kind.face_sign(FaceSignChannel::ManualIdReview) {
                    s.set_account_kind(a.id, kind, Some(review.validity))?;
                }
            }
        }
        Ok(Some((review, account)))
    })
    .await;
    let (review, account) = match decided {
        Ok(Some((review, Some(account)))) => (review, account),
        Ok(Some((_, None))) => {
            return error_page(
                StatusCode::CONFLICT,
                Some(&console.session),
                "该申请已由他人处理",
                "Someone already decided this review",
            )
        }
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                Some(&console.session),
                "没有这件审核",
                "No such review",
            )
        }
        Err(r) => return r,
    };
    let text = match &reason {
        None => "【交管12123】您提交的身份证照片已审核通过，您已成为面签用户，可办理驾驶证电子版等全部业务。".to_owned(),
        Some(r) => format!("【交管12123】您提交的身份证照片未通过审核：{r}。请重新拍摄后提交。"),
    };
    // Told by SMS through the durable outbox: sent once, retried while the gateway fails.
    let event = format!("id_card_review:{}:{}", review.id, state_after.as_str());
    if let Err(e) = state
        .notify(account.id, account.mobile, event, "实人认证审核结果", text)
        .await
    {
        return internal(e);
    }
    let detail = format!(
        "review {} of account {}: {}{}; sms queued",
        review.id,
        account.id,
        state_after.as_str(),
        reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
    );
    if let Err(r) = audit(&state, &actor, "id_card_review", detail).await {
        return r;
    }
    let sms_note = "申请人将收到短信通知。";
    page(
        "身份证人工审核",
        Some(&console.session),
        &format!(
            "<section><p class=ok id=result>{} 的申请{}。{sms_note}</p><p><a href=/console/reviews>返回待审核列表</a></p></section>",
            esc(&account.name),
            if state_after == ReviewState::Approved { "已审核通过" } else { "未予通过" }
        ),
    )
    .into_response()
}

async fn audit_page(State(state): State<AppState>, console: Console) -> Response {
    if let Err(r) = console.require(console.session.staff.role == StaffRole::Admin) {
        return r;
    }
    let entries = match store(&state, |s| s.audit_log(200)).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let rows: String = entries
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                china_time(e.at),
                esc(&e.actor),
                esc(&e.action),
                esc(&e.detail)
            )
        })
        .collect();
    page(
        "操作日志",
        Some(&console.session),
        &format!("<section><table id=audit><tr><th>时间</th><th>工作人员</th><th>操作</th><th>内容</th></tr>{rows}</table></section>"),
    )
    .into_response()
}

/// 民警账号: the administrator opens accounts for counter clerks, reviewers and the officers on
/// duty who verify e-licences in the app (R4.3), and sees who has which role.
async fn staff_page(State(state): State<AppState>, console: Console) -> Response {
    staff_listing(&state, &console, None).await
}

async fn staff_listing(state: &AppState, console: &Console, notice: Option<String>) -> Response {
    if let Err(r) = console.require(console.session.staff.role == StaffRole::Admin) {
        return r;
    }
    let staff = match store(state, |s| s.staff_list()).await {
        Ok(list) => list,
        Err(r) => return r,
    };
    let rows: String = staff
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.username),
                esc(&m.name),
                role_name(m.role)
            )
        })
        .collect();
    let options: String = [
        StaffRole::Officer,
        StaffRole::Reviewer,
        StaffRole::Clerk,
        StaffRole::Admin,
    ]
    .iter()
    .map(|r| format!("<option value={}>{}</option>", r.as_str(), role_name(*r)))
    .collect();
    page(
        "民警账号",
        Some(&console.session),
        &format!(
            "{}<section><h3>开通账号</h3><form method=post action=/console/staff>             <input type=hidden name=csrf value=\"{}\">             <label for=username>账号（警号）</label><input type=text id=username name=username required>             <label for=name>姓名</label><input type=text id=name name=name required>             <label for=role>岗位</label><select id=role name=role>{options}</select>             <label for=password>初始密码（至少 8 位）</label><input type=password id=password name=password autocomplete=new-password required>             <br><button class=primary id=create-staff>开通</button></form>             <p>执勤民警用此账号登录电子驾驶证 App 的“执勤民警核验”，扫码核验电子驾驶证。</p></section>             <section><table id=staff><tr><th>账号</th><th>姓名</th><th>岗位</th></tr>{rows}</table></section>",
            notice.unwrap_or_default(),
            esc(&console.session.csrf),
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
struct NewStaffForm {
    csrf: String,
    username: String,
    name: String,
    role: String,
    password: String,
}

async fn create_staff(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<NewStaffForm>,
) -> Response {
    if let Err(r) = console
        .require(console.session.staff.role == StaffRole::Admin)
        .and_then(|()| console.check_csrf(&form.csrf))
    {
        return r;
    }
    let Some(role) = StaffRole::parse(&form.role) else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&console.session),
            "请选择岗位",
            "Choose a role",
        );
    };
    let username = form.username.trim().to_owned();
    let (new, name, password) = (username.clone(), form.name.clone(), form.password);
    let added = tokio::task::spawn_blocking({
        let store = state.store.clone();
        move || add_staff(store.as_ref(), &new, &name, role, &password)
    })
    .await;
    let notice = match added {
        Ok(Ok(_)) => {
            let detail = format!("{username} · {}", role.as_str());
            if let Err(r) = audit(&state, &console.actor(), "add_staff", detail).await {
                return r;
            }
            format!(
                "<p class=ok id=result>已开通{} {}（{}）。</p>",
                role_name(role),
                esc(form.name.trim()),
                esc(&username)
            )
        }
        Ok(Err(NewStaffError::Store(e))) => return internal(e),
        Ok(Err(e)) => format!(
            "<p class=error id=error>{}<br><small>{}</small></p>",
            esc(&e.message_zh()),
            esc(&e.to_string())
        ),
        Err(e) => return internal(e),
    };
    staff_listing(&state, &console, Some(notice)).await
}

/// E-licence applications waiting for review, the nearest deadline first; overdue ones are
/// flagged (R3.4).
async fn application_queue(State(state): State<AppState>, console: Console) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_review()) {
        return r;
    }
    let rows = match store(&state, |s| {
        with_accounts(s, s.review_queue()?, |a| a.account)
    })
    .await
    {
        Ok(rows) => rows,
        Err(r) => return r,
    };
    if rows.is_empty() {
        return page(
            "电子驾驶证审核",
            Some(&console.session),
            "<section><p id=empty>没有待审核的申请。</p></section>",
        )
        .into_response();
    }
    let items: String = rows
        .iter()
        .map(|(a, account)| {
            let late = a.due_at < now();
            let name = account.as_ref().map(|a| a.name.clone()).unwrap_or_default();
            format!(
                "<tr{}><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td><a class=open-application href=/console/applications/{}>审核</a></td></tr>",
                if late { " class=overdue" } else { "" },
                china_time(a.due_at),
                if late { "（已超时）" } else { "" },
                esc(&name),
                china_time(a.submitted_at),
                photo_source_name(&a.photo_source),
                a.id
            )
        })
        .collect();
    page(
        "电子驾驶证审核",
        Some(&console.session),
        &format!("<section><table id=applications><tr><th>审核期限</th><th>姓名</th><th>提交时间</th><th>照片来源</th><th></th></tr>{items}</table></section>"),
    )
    .into_response()
}

fn photo_source_name(source: &str) -> &'static str {
    match source {
        "on_file" => "档案照片",
        "album" => "相册",
        "camera" => "现场拍摄",
        _ => "其他",
    }
}

/// One application: the photo beside the photo on file, the automatic check's measurements
/// and problems, and the decision form.
async fn application_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_review()) {
        return r;
    }
    let found = match store(&state, move |s| {
        let Some(app) = s.application(id)? else {
            return Ok(None);
        };
        let account = s.account(app.account)?;
        let entry = match account.as_ref().and_then(|a| a.id_number) {
            Some(id) => s.registry_entry(&id)?,
            None => None,
        };
        Ok(Some((app, account, entry)))
    })
    .await
    {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((app, Some(account), entry)) = found else {
        return error_page(
            StatusCode::NOT_FOUND,
            Some(&console.session),
            "没有这份申请",
            "No such application",
        );
    };
    let check: serde_json::Value = app
        .check
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let problems: String = check["problems"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    format!(
                        "<li>{}</li>",
                        esc(p["message"].as_str().unwrap_or_default())
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let measurements = check["measurements"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let value = v
                        .as_f64()
                        .map_or_else(|| v.to_string(), |f| format!("{f:.1}"));
                    format!("{}={}", esc(k), esc(&value))
                })
                .collect::<Vec<_>>()
                .join("，")
        })
        .unwrap_or_default();
    let licence = entry
        .as_ref()
        .and_then(|e| e.licence.as_ref())
        .map(|l| {
            format!(
                "准驾车型 {}，状态 {}，有效期限 {}",
                l.record().classes,
                l.record().status,
                l.record().validity
            )
        })
        .unwrap_or_else(|| "无驾驶证".into());
    let on_file = if entry.as_ref().is_some_and(|e| e.photo.is_some()) {
        format!("<figure><img src=/console/applications/{id}/on-file alt=档案照片><figcaption>档案照片</figcaption></figure>")
    } else {
        "<p>（档案中无照片）</p>".into()
    };
    let decision = if app.state == licence_core::ApplicationState::UnderReview {
        let reasons: String = [
            licence_core::RejectionCode::PhotoNotCompliant,
            licence_core::RejectionCode::PhotoNotThePerson,
            licence_core::RejectionCode::LicenceNotEligible,
            licence_core::RejectionCode::InformationMismatch,
            licence_core::RejectionCode::Other,
        ]
        .iter()
        .map(|c| {
            let code = serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("<option value={code}>{}</option>", c.name_zh())
        })
        .collect();
        format!(
            "<form method=post action=/console/applications/{id}><input type=hidden name=csrf value=\"{}\">\
             <label for=reason>退回原因</label><select id=reason name=reason><option value=\"\">（通过时不选）</option>{reasons}</select>\
             <label for=note>说明（选“其他”时必填）</label><textarea id=note name=note rows=2></textarea><br>\
             <button class=primary name=decision value=approve id=approve>审核通过</button> \
             <button class=\"primary reject\" name=decision value=reject id=reject>退回</button></form>",
            esc(&console.session.csrf)
        )
    } else {
        format!(
            "<p class=ok id=decided>当前状态：{}</p>",
            app.state.status().name_zh()
        )
    };
    page(
        "电子驾驶证审核",
        Some(&console.session),
        &format!(
            "<section><p>姓名：<strong id=person-name>{}</strong>　身份证号：{}　{}</p>\
             <p>提交：{}　审核期限：{}{}　照片来源：{}</p>\
             <div class=pictures><figure><img src=/console/applications/{id}/photo alt=申请照片><figcaption>申请照片（自动裁剪）</figcaption></figure>{on_file}</div>\
             <p>自动检测：{}{}</p><ul id=problems>{problems}</ul>{decision}</section>",
            esc(&account.name),
            esc(&account.id_number.map(|i| i.to_string()).unwrap_or_default()),
            esc(&licence),
            china_time(app.submitted_at),
            china_time(app.due_at),
            if app.due_at < now() { "（已超时）" } else { "" },
            photo_source_name(&app.photo_source),
            if check["compliant"] == true { "符合要求" } else { "不符合要求" },
            if measurements.is_empty() { String::new() } else { format!("（{measurements}）") },
        ),
    )
    .into_response()
}

async fn application_picture(
    State(state): State<AppState>,
    console: Console,
    Path((id, picture)): Path<(i64, String)>,
) -> Response {
    if let Err(r) = console.require(console.session.staff.role.can_review()) {
        return r;
    }
    let bytes = match store(&state, move |s| {
        let Some(app) = s.application(id)? else {
            return Ok(None);
        };
        Ok(match picture.as_str() {
            "photo" => Some(app.cropped.unwrap_or(app.photo)),
            "on-file" => match s.account(app.account)?.and_then(|a| a.id_number) {
                Some(id) => s.registry_entry(&id)?.and_then(|e| e.photo),
                None => None,
            },
            _ => None,
        })
    })
    .await
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    match bytes {
        Some(b) => {
            let kind = if b.starts_with(b"\x89PNG") {
                "image/png"
            } else {
                "image/jpeg"
            };
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                b,
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Approve, or return with a reason from the list plus a note; the driver is told by SMS.
async fn decide_application(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    use licence_core::{ApplicationEvent, Rejection, RejectionCode};
    if let Err(r) = console
        .require(console.session.staff.role.can_review())
        .and_then(|()| console.check_csrf(&form.csrf))
    {
        return r;
    }
    let event = match form.decision.as_str() {
        "approve" => ApplicationEvent::Approve,
        "reject" => {
            let Ok(code) = serde_json::from_value::<RejectionCode>(serde_json::Value::String(
                form.reason.clone(),
            )) else {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(&console.session),
                    "退回时请选择原因",
                    "Choose a reason when returning an application",
                );
            };
            let note = form.note.trim();
            ApplicationEvent::Reject {
                reasons: vec![Rejection {
                    code,
                    note: (!note.is_empty()).then(|| note.to_owned()),
                }],
            }
        }
        _ => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&console.session),
                "请选择审核结果",
                "Choose approve or return",
            )
        }
    };
    let app = match store(&state, move |s| s.application(id)).await {
        Ok(Some(app)) => app,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                Some(&console.session),
                "没有这份申请",
                "No such application",
            )
        }
        Err(r) => return r,
    };
    let to = match app.state.apply(&event) {
        Ok(to) => to,
        Err(e) => {
            let status = if matches!(
                e,
                licence_core::application::TransitionError::Illegal { .. }
            ) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return error_page(
                status,
                Some(&console.session),
                &e.message_zh(),
                &e.message_en(),
            );
        }
    };
    let actor = console.actor();
    let (from, to_saved, by) = (app.state.clone(), to.clone(), actor.clone());
    let moved = match store(&state, move |s| {
        if !s.transition(id, &from, &to_saved, &by, None, now())? {
            return Ok(None);
        }
        s.account(app.account)
    })
    .await
    {
        Ok(Some(account)) => account,
        Ok(None) => {
            return error_page(
                StatusCode::CONFLICT,
                Some(&console.session),
                "该申请已由他人处理",
                "Someone already decided this application",
            )
        }
        Err(r) => return r,
    };
    // Told by SMS through the durable outbox: sent once, retried while the gateway fails.
    if let Err(e) = state
        .notify_application_result(moved.id, moved.mobile, id, &to)
        .await
    {
        return internal(e);
    }
    let detail = format!(
        "application {id} of account {}: {}; sms queued",
        moved.id,
        to.status()
    );
    if let Err(r) = audit(&state, &actor, "application_review", detail).await {
        return r;
    }
    page(
        "电子驾驶证审核",
        Some(&console.session),
        &format!(
            "<section><p class=ok id=result>{} 的申请{}。{}</p><p><a href=/console/applications>返回待审核列表</a></p></section>",
            esc(&moved.name),
            to.status().name_zh(),
            "申请人将收到短信通知。"
        ),
    )
    .into_response()
}

/// Creates a member of staff (the `licence-server staff add` command).
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
        .create_account(&NewAccount {
            kind: UserKind::FaceSigned {
                via: FaceSignChannel::Counter,
            },
            id_number: Some(id),
            unit_code: None,
            name: entry.name.as_str().into(),
            mobile: entry.reserved_mobile,
            password_hash: hash,
            created_at: now(),
        })
        .map_err(|e| match e {
            StoreError::Duplicate(_) => anyhow::anyhow!("{} already has an account", id.masked()),
            e => e.into(),
        })?;
    Ok((account, entry.reserved_mobile.masked()))
}

/// Why a member of staff could not be added; shown in the console and by the CLI.
#[derive(Debug, thiserror::Error)]
pub enum NewStaffError {
    #[error("the username must be 1-32 letters, digits, '_' or '.'")]
    BadUsername,
    #[error("the name is empty")]
    NoName,
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
            NewStaffError::NoName => "请填写姓名".into(),
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
    if name.trim().is_empty() {
        return Err(NewStaffError::NoName);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
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
}
