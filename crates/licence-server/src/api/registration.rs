//! Registration (用户注册): online face-sign (R2.1, R2.2), online registration by SMS code to
//! the reserved number (R2.3), and by Alipay authorisation when the numbers differ (R2.4).

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use licence_api::{
    AlipayRegistration, CodeRequest, CodeSent, FaceSignRegistration, OnlineRegistration,
};
use licence_core::{FaceSignChannel, IdNumber, MobileNumber, PersonName, UserKind};

use super::codes::{check_code, redeem_code, send_code, too_many_codes, use_up, CodeFor, Delivery};
use super::{cpu, mobile, open_session, person, with_store, Requester, SignedIn};
use crate::error::{ApiError, ApiJson};
use crate::providers::{ProviderError, Service};
use crate::store::{CodePurpose, NewAccount, RegistryEntry, StoreError};
use crate::{now, security, AppState};

/// Counted against the face-sign limit (R2.2), by ID number.
pub(super) const FACE_FAILURE: &str = "face_failure";
/// Reserved-number comparisons at online registration, by person at one address.
const NUMBER_CHECK: &str = "reserved_number_check";
/// Most camera frames one liveness check sends, and the largest frame.
const MAX_FRAMES: usize = 8;
const MAX_FRAME_BYTES: usize = 1 << 20;

/// R2.1: register as a face-signed user by liveness and face match. After
/// `face_attempts` failures (3) the answer says `next: online_registration` (R2.2).
#[utoipa::path(post, operation_id = "register_face_sign", path = "/registrations/face-sign", request_body = FaceSignRegistration,
    responses((status = 410, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 201, body = SignedIn), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn face_sign(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<FaceSignRegistration>,
) -> Result<(StatusCode, ApiJson<SignedIn>), ApiError> {
    let (name, id) = person(&req.name, &req.id_number)?;
    let mobile = mobile(&req.mobile)?;
    if !req.consent {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_required",
            "请阅读并同意《用户服务协议》和人脸识别授权后再继续",
            "Please read and accept the user agreement and the face-check consent first",
        ));
    }
    security::check_password(&req.password)?;
    let frames = frames(&req.frames)?;
    // An existing account is told of (409) only once the face check has passed: before it,
    // the answer would tell anyone who has an account.
    // The code proves the number; it is used up only when the registration succeeds, so that
    // a failed face check can be tried again with it.
    let challenge = check_code(
        &state,
        CodePurpose::MobileCheck,
        &req.challenge_id,
        &req.code,
    )
    .await?;
    if challenge.subject != id.as_str() || challenge.mobile != mobile {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "code_for_other_number",
            "验证码不是发给该手机号的，请重新获取",
            "This code was sent for another number or person; please ask for a new one",
        )
        .next("request_code"));
    }
    let key = id.as_str().to_owned();
    let attempts = state.policy.face_attempts;
    let failures = {
        let key = key.clone();
        with_store(&state, move |s| {
            s.count_events(FACE_FAILURE, &key, now() - 86_400)
        })
        .await?
    };
    if failures >= attempts {
        return Err(face_exhausted());
    }
    let entry = in_registry(&state, &id, &name).await?;
    let verdict = state
        .providers
        .verify_face(name.as_str(), id.as_str(), entry.photo.as_deref(), &frames)
        .await
        .map_err(provider_error)?;
    if !verdict.passed() {
        return Err(face_failed(&state, FACE_FAILURE, key, face_exhausted()).await);
    }
    use_up(&state, &challenge).await?;
    let password = req.password;
    let hash = cpu(move || security::hash_password(&password)).await??;
    let account = create_account(
        &state,
        NewAccount {
            kind: UserKind::FaceSigned {
                via: FaceSignChannel::OnlineLiveness,
            },
            id_number: Some(id),
            unit_code: None,
            name: name.as_str().into(),
            mobile,
            password_hash: hash,
            created_at: now(),
        },
    )
    .await?;
    let key = id.as_str().to_owned();
    with_store(&state, move |s| s.clear_events(FACE_FAILURE, &key)).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(open_session(&state, account).await?),
    ))
}

/// R2.1, first step: a code to the mobile number the person gives, to prove it is theirs.
#[utoipa::path(post, operation_id = "send_face_sign_code", path = "/registrations/face-sign/codes", request_body = CodeRequest,
    responses((status = 404, body = crate::error::ErrorBody), (status = 201, body = CodeSent), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn face_sign_code(
    State(state): State<AppState>,
    requester: Requester,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<(StatusCode, ApiJson<CodeSent>), ApiError> {
    let (name, id) = person(&req.name, &req.id_number)?;
    let mobile = mobile(&req.mobile)?;
    // Whether the person has an account already is told only after the face check has
    // proved who is asking: here a code is sent either way.
    in_registry(&state, &id, &name).await?;
    let text = |code: &str| {
        format!("【交管12123】您正在进行实人认证注册，验证码{code}，5分钟内有效，请勿告诉他人。")
    };
    let sent = send_code(
        &state,
        &requester,
        CodeFor {
            purpose: CodePurpose::MobileCheck,
            subject: id.as_str(),
            counted_as: id.as_str(),
            name: name.as_str(),
            mobile: &mobile,
            delivery: Delivery::Send,
        },
        text,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(sent)))
}

/// Records a failed face check against `kind`'s limit for `key`; the answer says how many
/// tries are left, or, with none left, gives `exhausted` (which names the next path).
pub(super) async fn face_failed(
    state: &AppState,
    kind: &'static str,
    key: String,
    exhausted: ApiError,
) -> ApiError {
    let failures = with_store(state, move |s| {
        s.record_event(kind, &key, now())?;
        s.count_events(kind, &key, now() - 86_400)
    })
    .await;
    let left = match failures {
        Ok(failures) => state.policy.face_attempts.saturating_sub(failures),
        Err(e) => return e,
    };
    if left == 0 {
        return exhausted.attempts_left(0);
    }
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "face_not_matched",
        "人脸识别未通过：请正对屏幕、光线充足，按提示完成动作后重试",
        "The face check did not pass: face the screen in good light, follow the prompts and try again",
    )
    .attempts_left(left)
}

pub(super) fn face_exhausted() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "face_attempts_exhausted",
        "人脸识别多次未通过，请改用“在线注册”：用公安交管部门登记的预留手机号接收验证码完成注册",
        "The face check failed too many times. Register online instead, with a code sent to the mobile number the traffic police hold for you",
    )
    .next("online_registration")
}

/// Decodes the base64 camera frames, with limits on count and size.
pub(super) fn frames(frames: &[String]) -> Result<Vec<Vec<u8>>, ApiError> {
    let bad =
        |en: &str, zh: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_frames", zh, en);
    if frames.is_empty() || frames.len() > MAX_FRAMES {
        return Err(bad("Send 1 to 8 camera frames", "请提交 1 至 8 帧人脸图像"));
    }
    frames
        .iter()
        .map(|f| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(f)
                .map_err(|_| bad("A frame is not base64", "人脸图像数据格式有误"))?;
            if bytes.len() > MAX_FRAME_BYTES {
                return Err(bad(
                    "A frame is larger than 1 MB",
                    "单帧人脸图像不能超过 1 MB",
                ));
            }
            if !bytes.starts_with(&[0xFF, 0xD8]) {
                return Err(bad("Frames must be JPEG", "人脸图像须为 JPEG 格式"));
            }
            Ok(bytes)
        })
        .collect()
}

pub(super) fn provider_error(e: ProviderError) -> ApiError {
    match e {
        ProviderError::Unavailable(service) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            match service {
                Service::Identity => "identity_unavailable",
                Service::Sms => "sms_unavailable",
                Service::Alipay => "alipay_unavailable",
            },
            format!("{}暂时无法访问，请稍后再试，已填写的信息不会丢失", service.name_zh()),
            format!(
                "{} is not answering just now; please try again shortly. Nothing you entered is lost",
                capitalised(service.name_en())
            ),
        )
        .retry_after(30),
        ProviderError::Refused {
            service: Service::Identity,
            code,
        } => {
            tracing::warn!(%code, "identity platform refused a request");
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "face_frames_unusable",
                "人脸图像无法识别，请重新拍摄",
                "The camera frames could not be used; please take them again",
            )
        }
        ProviderError::Refused {
            service: Service::Alipay,
            ..
        } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "alipay_authorisation_invalid",
            "支付宝授权已失效或已使用，请重新授权",
            "The Alipay authorisation has expired or was already used; please authorise again",
        )
        .next("alipay"),
        other => ApiError::internal(other),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

async fn not_registered_yet(state: &AppState, id: &IdNumber) -> Result<(), ApiError> {
    let id = *id;
    if with_store(state, move |s| s.account_by_id_number(&id))
        .await?
        .is_some()
    {
        return Err(already_registered());
    }
    Ok(())
}

fn already_registered() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "already_registered",
        "该身份证号已注册，请直接登录；忘记密码可用短信验证码登录",
        "This ID number is already registered. Sign in, or sign in with an SMS code if you forgot the password",
    )
    .next("sign_in")
}

/// The person must be in the police registry under this name. One answer for "unknown" and
/// "wrong name", so that the endpoint does not reveal who is registered.
async fn in_registry(
    state: &AppState,
    id: &IdNumber,
    name: &PersonName,
) -> Result<RegistryEntry, ApiError> {
    let lookup = *id;
    let entry = with_store(state, move |s| s.registry_entry(&lookup)).await?;
    match entry {
        Some(entry) if entry.name == *name => Ok(entry),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "identity_not_found",
            "姓名与身份证号码不一致，或未在公安交通管理信息系统中登记，请核对后重试",
            "The name and ID number do not match a person the traffic police hold; please check them",
        )),
    }
}

async fn create_account(
    state: &AppState,
    new: NewAccount,
) -> Result<crate::store::Account, ApiError> {
    let created = with_store(state, move |s| match s.create_account(&new) {
        Ok(id) => s.account(id),
        Err(StoreError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e),
    })
    .await?;
    created.ok_or_else(already_registered)
}

/// R2.3: send a registration code to the reserved number. A different number gets
/// `mobile_mismatch` with `next: alipay` (R2.4).
#[utoipa::path(post, operation_id = "send_online_registration_code", path = "/registrations/online/codes", request_body = CodeRequest,
    responses((status = 404, body = crate::error::ErrorBody), (status = 201, body = CodeSent), (status = 409, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn online_code(
    State(state): State<AppState>,
    requester: Requester,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<(StatusCode, ApiJson<CodeSent>), ApiError> {
    let (name, id) = person(&req.name, &req.id_number)?;
    let mobile = mobile(&req.mobile)?;
    let entry = in_registry(&state, &id, &name).await?;
    // Whether this is the reserved number is told only against the code limits, so that the
    // answer cannot be asked for freely (it says no more than a code sent or not would).
    let key = format!("{}:{}@{}", NUMBER_CHECK, id.as_str(), requester.key());
    let (limit, window) = (state.policy.codes_per_day, 86_400);
    let reserved = with_store(&state, move |s| {
        s.reserve_event(NUMBER_CHECK, &key, now() - window, limit, now())
    })
    .await?;
    if reserved.is_none() {
        return Err(too_many_codes());
    }
    if entry.reserved_mobile != mobile {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "mobile_mismatch",
            "该手机号与公安交管部门登记的预留手机号不一致。可通过支付宝授权注册，或持身份证到车管所窗口变更预留手机号",
            "This is not the mobile number the traffic police hold for you. Register with Alipay authorisation, or change the number at a vehicle administration office",
        )
        .next("alipay"));
    }
    // Only the person (who holds the reserved number, and named themself) learns here that
    // they have an account already.
    not_registered_yet(&state, &id).await?;
    let text = |code: &str| {
        format!("【交管12123】您正在注册电子驾驶证账号，验证码{code}，5分钟内有效，请勿告诉他人。")
    };
    let sent = send_code(
        &state,
        &requester,
        CodeFor {
            purpose: CodePurpose::Registration,
            subject: id.as_str(),
            counted_as: id.as_str(),
            name: name.as_str(),
            mobile: &mobile,
            delivery: Delivery::Send,
        },
        text,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(sent)))
}

/// R2.3: finish online registration with the code; the account is online-registered
/// (实名认证) and may upgrade later by 实人认证 (R2.5).
#[utoipa::path(post, operation_id = "register_online", path = "/registrations/online", request_body = OnlineRegistration,
    responses((status = 404, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 201, body = SignedIn), (status = 410, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn online(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<OnlineRegistration>,
) -> Result<(StatusCode, ApiJson<SignedIn>), ApiError> {
    security::check_password(&req.password)?;
    let challenge = redeem_code(
        &state,
        CodePurpose::Registration,
        &req.challenge_id,
        &req.code,
    )
    .await?;
    let id: IdNumber = challenge
        .subject
        .parse()
        .map_err(|e| ApiError::internal(format!("challenge subject: {e}")))?;
    let password = req.password;
    let hash = cpu(move || security::hash_password(&password)).await??;
    let account = create_account(
        &state,
        NewAccount {
            kind: UserKind::OnlineRegistered,
            id_number: Some(id),
            unit_code: None,
            name: challenge.name,
            mobile: challenge.mobile,
            password_hash: hash,
            created_at: now(),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(open_session(&state, account).await?),
    ))
}

/// R2.4: register with the person and mobile number Alipay holds, accepted only when
/// Alipay's person is the same person (ID number and name).
#[utoipa::path(post, operation_id = "register_alipay", path = "/registrations/alipay", request_body = AlipayRegistration,
    responses((status = 409, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 201, body = SignedIn), (status = 422, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn alipay(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AlipayRegistration>,
) -> Result<(StatusCode, ApiJson<SignedIn>), ApiError> {
    let (name, id) = person(&req.name, &req.id_number)?;
    security::check_password(&req.password)?;
    if req.auth_code.is_empty() || req.auth_code.len() > 256 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "alipay_authorisation_invalid",
            "支付宝授权码无效，请重新授权",
            "The Alipay authorisation code is missing or malformed; please authorise again",
        ));
    }
    in_registry(&state, &id, &name).await?;
    let alipay = state
        .providers
        .alipay_person(&req.auth_code)
        .await
        .map_err(provider_error)?;
    if !alipay.cert_no.eq_ignore_ascii_case(id.as_str()) || alipay.name != name.as_str() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "alipay_person_mismatch",
            "支付宝实名信息与您填写的姓名、身份证号不一致，无法注册",
            "The person on the Alipay account is not the person entered here",
        ));
    }
    // Alipay has vouched for the person: only now is an existing account told of.
    not_registered_yet(&state, &id).await?;
    let mobile: MobileNumber = alipay.mobile.parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "alipay_mobile_unusable",
            "支付宝账户绑定的手机号无法使用，请到车管所窗口办理",
            "The mobile number on the Alipay account cannot be used; please register at a counter",
        )
    })?;
    let password = req.password;
    let hash = cpu(move || security::hash_password(&password)).await??;
    let account = create_account(
        &state,
        NewAccount {
            kind: UserKind::OnlineRegistered,
            id_number: Some(id),
            unit_code: None,
            name: name.as_str().into(),
            mobile,
            password_hash: hash,
            created_at: now(),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(open_session(&state, account).await?),
    ))
}
