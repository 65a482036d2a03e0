//! Sign-in (password or SMS code), sign-out, the account, its devices and its licence.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use licence_api::{DeviceView, NewDevice, SignInCodeRequest, SignInRequest, SignInSmsRequest};
use licence_core::{
    BusinessFunction, DrivingLicence, IdNumber, MobileNumber, OrganisationCode,
    UnifiedSocialCreditCode,
};
use p256::elliptic_curve::sec1::ToEncodedPoint;

use super::codes::{redeem_code, send_code, CodeFor, Delivery};
use super::{
    account_view, cpu, mobile, open_session, require, with_store, AccountView, Requester, SignedIn,
    SignedInAccount,
};
use crate::error::{ApiError, ApiJson};
use crate::store::{Account, CodePurpose, Device, StoreError};
use crate::{now, security, AppState};
use licence_api::CodeSent;

const SIGN_IN_FAILURE: &str = "sign_in_failure";
/// Devices one account may register (a phone and a tablet, with room to replace them).
const MAX_DEVICES: usize = 5;
/// Longer than any ID number, mobile number or credit code.
const MAX_LOGIN_CHARS: usize = 32;

/// Sign in with a password. Wrong password and unknown account get the same answer.
#[utoipa::path(post, path = "/sessions", request_body = SignInRequest,
    responses((status = 201, body = SignedIn), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<(StatusCode, ApiJson<SignedIn>), ApiError> {
    // Every way to sign in is a short code: anything long is none of them, and is not
    // parsed (or stored) at all.
    let login = req.login.trim();
    let login = if login.chars().count() <= MAX_LOGIN_CHARS {
        login.to_uppercase()
    } else {
        String::new()
    };
    let by_id = IdNumber::parse(&login, crate::today()).ok();
    let by_mobile = login.parse::<MobileNumber>().ok();
    // Units sign in with their unified social credit code (or organisation code).
    let by_unit = (by_id.is_none() && by_mobile.is_none())
        .then(|| {
            login
                .parse::<UnifiedSocialCreditCode>()
                .map(|c| c.as_str().to_owned())
                .or_else(|_| login.parse::<OrganisationCode>().map(|c| c.to_string()))
                .ok()
        })
        .flatten();
    if by_id.is_none() && by_mobile.is_none() && by_unit.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_login",
            "请输入 18 位身份证号、11 位手机号或单位的统一社会信用代码",
            "Enter your 18-digit ID number, 11-digit mobile number, or your unit's credit code",
        ));
    }
    let key = by_id
        .as_ref()
        .map(|i| i.as_str().to_owned())
        .or_else(|| by_mobile.as_ref().map(|m| m.as_str().to_owned()))
        .or_else(|| by_unit.clone())
        .unwrap_or_default();
    let window = state.policy.sign_in_window.as_secs() as i64;
    let limit = state.policy.sign_in_failures;
    let account = with_store(&state, move |s| match (&by_id, &by_mobile, &by_unit) {
        (Some(id), _, _) => s.account_by_id_number(id),
        (None, Some(m), _) => s.account_by_mobile(m),
        (None, None, Some(code)) => s.account_by_unit_code(code),
        (None, None, None) => Ok(None),
    })
    .await?;
    // Failures count against the account, however it was named (ID number, mobile number),
    // and against what was typed when there is no such account.
    let limit_key = account
        .as_ref()
        .map_or_else(|| format!("login:{key}"), |a| format!("account:{}", a.id));
    // This attempt is reserved before the password is checked: requests released together
    // cannot all pass the limit, and a right password in a burst over it is refused too.
    let reserved_at = now();
    let reserved = {
        let limit_key = limit_key.clone();
        with_store(&state, move |s| {
            s.reserve_event(
                SIGN_IN_FAILURE,
                &limit_key,
                reserved_at - window,
                limit,
                reserved_at,
            )
        })
        .await?
    };
    let Some(attempt) = reserved else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_sign_in_failures",
            "密码错误次数过多，请 15 分钟后再试，或使用短信验证码登录",
            "Too many wrong passwords; try again in 15 minutes or sign in with an SMS code",
        )
        .next("sign_in_sms")
        .retry_after(window as u64));
    };
    // An unknown account is checked against a dummy hash: the same time either way.
    let password = req.password;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let matches =
        cpu(move || security::account_password_matches(&password, hash.as_deref())).await?;
    let (Some(account), true) = (account, matches) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "账号或密码错误",
            "The account or the password is wrong",
        )
        .attempts_left(limit.saturating_sub(attempt)));
    };
    // A right password is no failure; those before it still count (see release_attempt).
    with_store(&state, move |s| {
        security::release_attempt(s, SIGN_IN_FAILURE, &limit_key, reserved_at)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(open_session(&state, account).await?),
    ))
}

/// Send a sign-in code to the account's mobile number. A number no account uses gets the
/// same answer, as late, and no text (so the answer does not tell who has an account); its
/// code then simply never matches.
#[utoipa::path(post, path = "/sessions/codes", request_body = SignInCodeRequest,
    responses((status = 201, body = CodeSent),
              (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn sign_in_code(
    State(state): State<AppState>,
    requester: Requester,
    ApiJson(req): ApiJson<SignInCodeRequest>,
) -> Result<(StatusCode, ApiJson<CodeSent>), ApiError> {
    let mobile = mobile(&req.mobile)?;
    let lookup = mobile;
    let account = with_store(&state, move |s| s.account_by_mobile(&lookup)).await?;
    let text =
        |code: &str| format!("【交管12123】您的登录验证码为{code}，5分钟内有效，请勿告诉他人。");
    // Limits count by the number, known or not, so that they too answer alike.
    let (subject, name, delivery) = match &account {
        Some(a) => (a.id.to_string(), a.name.clone(), Delivery::Send),
        None => (String::new(), String::new(), Delivery::Withhold),
    };
    let sent = send_code(
        &state,
        &requester,
        CodeFor {
            purpose: CodePurpose::SignIn,
            subject: &subject,
            counted_as: mobile.as_str(),
            name: &name,
            mobile: &mobile,
            delivery,
        },
        text,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(sent)))
}

/// Sign in with the code.
#[utoipa::path(post, path = "/sessions/sms", request_body = SignInSmsRequest,
    responses((status = 404, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 201, body = SignedIn), (status = 410, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn sign_in_sms(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SignInSmsRequest>,
) -> Result<(StatusCode, ApiJson<SignedIn>), ApiError> {
    let challenge = redeem_code(&state, CodePurpose::SignIn, &req.challenge_id, &req.code).await?;
    let id: i64 = challenge
        .subject
        .parse()
        .map_err(|e| ApiError::internal(format!("challenge subject: {e}")))?;
    let account = with_store(&state, move |s| s.account(id))
        .await?
        .ok_or_else(|| ApiError::internal("the account of a sign-in code is gone"))?;
    Ok((
        StatusCode::CREATED,
        ApiJson(open_session(&state, account).await?),
    ))
}

/// End this session.
#[utoipa::path(delete, path = "/sessions/current", security(("session" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<StatusCode, ApiError> {
    let digest = signed_in.token_hash;
    with_store(&state, move |s| s.delete_session(&digest)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the account: each of its devices must sign in again (a lost phone).
#[utoipa::path(delete, operation_id = "sign_out_everywhere", path = "/sessions", security(("session" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<StatusCode, ApiError> {
    let account = signed_in.account.id;
    with_store(&state, move |s| s.delete_sessions(account)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account and what it may do.
#[utoipa::path(get, path = "/me", security(("session" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<ApiJson<AccountView>, ApiError> {
    Ok(ApiJson(account_view(&state, &signed_in.account).await?))
}

fn device_view(d: &Device) -> DeviceView {
    DeviceView {
        id: d.id,
        name: d.name.clone(),
        public_key: base64::engine::general_purpose::STANDARD.encode(&d.public_key),
        created_at: d.created_at,
    }
}

/// Register a device's public key; the e-licence credential is later bound to it.
#[utoipa::path(post, path = "/me/devices", request_body = NewDevice, security(("session" = [])),
    responses((status = 201, body = DeviceView), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_device(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiJson(req): ApiJson<NewDevice>,
) -> Result<(StatusCode, ApiJson<DeviceView>), ApiError> {
    let bad_key = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_device_key",
            "设备公钥无效",
            "The device public key is not a P-256 key in SEC1 form, base64",
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.public_key.trim())
        .map_err(|_| bad_key())?;
    let key = p256::PublicKey::from_sec1_bytes(&bytes).map_err(|_| bad_key())?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_device_name",
            "设备名称须为 1-64 个字符",
            "The device name must be 1 to 64 characters",
        ));
    }
    let device = Device {
        id: 0,
        account: signed_in.account.id,
        public_key: key.to_encoded_point(true).as_bytes().to_vec(),
        name,
        created_at: now(),
    };
    let stored = with_store(&state, move |s| {
        if s.devices(device.account)?.len() >= MAX_DEVICES {
            return Ok(Err("too_many"));
        }
        match s.add_device(&device) {
            Ok(id) => Ok(Ok(Device { id, ..device })),
            Err(StoreError::Duplicate(_)) => Ok(Err("duplicate")),
            Err(e) => Err(e),
        }
    })
    .await?;
    match stored {
        Ok(device) => Ok((StatusCode::CREATED, ApiJson(device_view(&device)))),
        Err("duplicate") => Err(ApiError::new(
            StatusCode::CONFLICT,
            "device_already_registered",
            "该设备已登记",
            "This device is already registered",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "too_many_devices",
            format!("最多登记 {MAX_DEVICES} 台设备，请先移除不用的设备"),
            format!("At most {MAX_DEVICES} devices; remove one you no longer use first"),
        )),
    }
}

/// The account's registered devices.
#[utoipa::path(get, operation_id = "list_devices", path = "/me/devices", security(("session" = [])),
    responses((status = 200, body = [DeviceView])))]
pub async fn devices(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<ApiJson<Vec<DeviceView>>, ApiError> {
    let id = signed_in.account.id;
    let devices = with_store(&state, move |s| s.devices(id)).await?;
    Ok(ApiJson(devices.iter().map(device_view).collect()))
}

/// 驾驶证电子版: the account holder's licence from the registry. Face-signed users only (R2.7):
/// others get 403 with the way to upgrade.
#[utoipa::path(get, operation_id = "my_licence", path = "/me/licence", security(("session" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn licence(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<ApiJson<DrivingLicence>, ApiError> {
    let account: Account = signed_in.account;
    require(&account, BusinessFunction::ElectronicLicence)?;
    let id = account
        .id_number
        .ok_or_else(|| ApiError::internal("a face-signed account without an ID number"))?;
    let entry = with_store(&state, move |s| s.registry_entry(&id)).await?;
    entry.and_then(|e| e.licence).map(ApiJson).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_licence",
            "未查询到您的机动车驾驶证信息",
            "The traffic police hold no driving licence for you",
        )
    })
}
