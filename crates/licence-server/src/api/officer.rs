//! 执勤民警核验: an officer signs in (staff with the officer role, created with `licence-server
//! staff add --role officer`) and checks a QR code online: the same verification as offline,
//! against the platform's own trust list and a status list as of this moment, plus the
//! licence's live standing from the registry.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use licence_api::{CheckRequest, CheckResult, Holder, OfficerSession, OfficerSignIn};

use super::published::{current_trust_list, live_status_lists};
use super::{bearer_digest, with_store};
use crate::error::{ApiError, ApiJson};
use crate::store::{Staff, StaffRole, StaffSessionKind};
use crate::{now, security, AppState};

/// An officer's session lasts a shift.
const SHIFT_SECONDS: i64 = 12 * 3600;
const OFFICER_FAILURE: &str = "officer_sign_in_failure";

/// Sign in as an officer; the token authorises online checks.
#[utoipa::path(post, operation_id = "officer_sign_in", path = "/officer/sessions", request_body = OfficerSignIn,
    responses((status = 201, body = OfficerSession), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<OfficerSignIn>,
) -> Result<(StatusCode, ApiJson<OfficerSession>), ApiError> {
    let username = req.username.trim().to_owned();
    let window = state.policy.sign_in_window.as_secs() as i64;
    let limit = state.policy.sign_in_failures;
    let attempt = with_store(&state, move |s| {
        security::reserve_staff_attempt(s, OFFICER_FAILURE, &username, now() - window, limit, now())
    })
    .await?;
    if !attempt.within_limit {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_sign_in_failures",
            "密码错误次数过多，请 15 分钟后再试",
            "Too many wrong passwords; try again in 15 minutes",
        )
        .retry_after(window as u64));
    }
    // Someone who is not an officer is checked against a dummy hash: the same time.
    let staff = attempt
        .staff
        .filter(|s| matches!(s.role, StaffRole::Officer | StaffRole::Admin));
    let hash = staff.as_ref().map(|s| s.password_hash.clone());
    let password = req.password;
    let matches =
        super::cpu(move || security::account_password_matches(&password, hash.as_deref())).await?;
    let (Some(officer), true) = (staff, matches) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "警号或密码错误",
            "The officer account or the password is wrong",
        ));
    };
    let (limit_key, at) = (attempt.limit_key, attempt.reserved_at);
    with_store(&state, move |s| {
        security::release_attempt(s, OFFICER_FAILURE, &limit_key, at)
    })
    .await?;
    let (token, digest) = security::new_token();
    let expires_at = now() + SHIFT_SECONDS;
    let (id, csrf) = (officer.id, security::new_id());
    with_store(&state, move |s| {
        s.put_staff_session(&digest, StaffSessionKind::Officer, id, &csrf, expires_at)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(OfficerSession {
            token,
            expires_at,
            name: officer.name,
        }),
    ))
}

/// A signed-in officer (or admin), and the digest of the session's token.
pub struct Officer(pub Staff, Vec<u8>);

impl FromRequestParts<AppState> for Officer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let digest = bearer_digest(&parts.headers)?;
        let lookup = digest.clone();
        let session = with_store(state, move |s| {
            s.staff_session(&lookup, StaffSessionKind::Officer)
        })
        .await?;
        match session {
            Some(s)
                if s.expires_at > now()
                    && matches!(s.staff.role, StaffRole::Officer | StaffRole::Admin) =>
            {
                crate::request_log::note_account(&parts.extensions, "officer", s.staff.id);
                Ok(Officer(s.staff, digest))
            }
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "officer_sign_in_required",
                "请以执勤民警身份登录",
                "Sign in as an officer",
            )),
        }
    }
}

/// Verify a QR code online: the verdict, the holder, and the live status.
#[utoipa::path(post, operation_id = "officer_check", path = "/officer/checks", request_body = CheckRequest, security(("session" = [])),
    responses((status = 200, body = CheckResult), (status = 401, body = crate::error::ErrorBody)))]
pub async fn check(
    State(state): State<AppState>,
    officer: Officer,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<ApiJson<CheckResult>, ApiError> {
    let trust = current_trust_list(&state);
    let at = now();
    let verify = |lists: &[licence_credential::StatusList]| {
        licence_credential::verify(
            &req.qr_text,
            &trust,
            lists,
            at,
            licence_credential::VerifyOptions::default(),
        )
    };
    // Checked first without lists: a QR that fails before its status is looked at is
    // answered without reading the store. Otherwise again, against the live status of its
    // credential's status-list position.
    let opened = verify(&[]);
    let result = match &opened.credential {
        Some(credential) if opened.status != licence_credential::StatusReport::NotChecked => {
            verify(&live_status_lists(&state, credential.status_index).await?)
        }
        _ => opened,
    };
    let holder = result.credential.as_ref().map(|c| {
        let r = c.licence.record();
        Holder {
            name: r.name.as_str().to_owned(),
            id_number: r.number.to_string(),
            classes: r.classes.to_string(),
            validity: r.validity.to_string(),
            file_number: r.file_number.to_string(),
            issuing_authority: r.issuing_authority.clone(),
        }
    });
    let live = match result.credential.as_ref() {
        Some(c) => {
            let id = c.licence.record().number;
            with_store(&state, move |s| s.registry_entry(&id))
                .await?
                .and_then(|e| e.licence)
                .map(|l| (l.record().status.to_string(), l.record().points.value()))
        }
        None => None,
    };
    let entry = crate::store::AuditEntry {
        at: now(),
        actor: officer.0.username.clone(),
        action: "online_check".into(),
        detail: format!("verdict {}", result.verdict.as_str()),
    };
    with_store(&state, move |s| s.audit(&entry)).await?;
    Ok(ApiJson(CheckResult {
        valid: result.valid(),
        verdict: result.verdict.as_str().into(),
        holder,
        live_status: live.as_ref().map(|(s, _)| s.clone()),
        live_points: live.map(|(_, p)| u32::from(p)),
        generated_at: result.generated_at,
    }))
}

/// The officer signs out on this device (the end of a shift).
#[utoipa::path(delete, operation_id = "officer_sign_out", path = "/officer/sessions/current", security(("session" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    officer: Officer,
) -> Result<StatusCode, ApiError> {
    let Officer(_, digest) = officer;
    with_store(&state, move |s| s.delete_staff_session(&digest)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The officer signs out on every device (a lost handset): each must sign in again. Console
/// sessions of the same member of staff are not touched.
#[utoipa::path(delete, operation_id = "officer_sign_out_everywhere", path = "/officer/sessions", security(("session" = [])),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    officer: Officer,
) -> Result<StatusCode, ApiError> {
    let id = officer.0.id;
    with_store(&state, move |s| {
        s.delete_staff_sessions(id, StaffSessionKind::Officer)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
