//! Issuance (R4): the signed e-licence credential, bound to one of the holder's registered
//! device keys, for an approved application; and the public trust list and status list that
//! verifiers cache, so that a red QR appears when the licence's standing changes.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use licence_api::{CredentialRequest, IssuedCredential};
use licence_core::{ApplicationEvent, ApplicationState, BusinessFunction};
use licence_credential::{Credential, StatusList};

use super::{require, with_store, SignedInAccount};
use crate::error::{ApiError, ApiJson};
use crate::store::Effects;
use crate::{now, AppState};

/// How long a credential is valid; the app renews it well before (issue 8).
pub const CREDENTIAL_DAYS: i64 = 7;
/// How long a verifier may rely on a status list offline before the status is "unknown".
pub const STATUS_MAX_AGE: i64 = 24 * 3600;
/// How long caches keep the status list: verifiers online see a change within this.
const STATUS_CACHE_SECONDS: u32 = 60;
/// The list never reveals how many credentials exist below this size.
const MIN_STATUS_LIST: u32 = 1024;
/// The portrait carried in the credential (fits a version-25 QR, docs/credential.md).
const PORTRAIT: (u32, u32, u8) = (32, 46, 40);

/// The small greyscale portrait the credential carries, from the approved 260×378 crop.
fn thumbnail(photo: &[u8]) -> Result<Vec<u8>, ApiError> {
    let decoded = licence_photo::decode(photo)
        .map_err(|e| ApiError::internal(format!("approved photo: {e:?}")))?;
    let (w, h, quality) = PORTRAIT;
    let small = image::DynamicImage::ImageRgb8(decoded.rgb)
        .resize_exact(w, h, image::imageops::FilterType::Lanczos3)
        .into_luma8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(&small)
        .map_err(ApiError::internal)?;
    licence_credential::portrait::compact_jpeg(&jpeg).map_err(ApiError::internal)
}

/// Issue (or renew) the e-licence credential for an approved application, bound to a device.
#[utoipa::path(post, operation_id = "issue_credential", path = "/me/credential", request_body = CredentialRequest, security(("session" = [])),
    responses((status = 201, body = IssuedCredential), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 503, description = "the issuing key is outside its window", body = crate::error::ErrorBody)))]
pub async fn issue(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiJson(req): ApiJson<CredentialRequest>,
) -> Result<(StatusCode, ApiJson<IssuedCredential>), ApiError> {
    let account = signed_in.account;
    require(&account, BusinessFunction::ElectronicLicence)?;
    let id_number = account
        .id_number
        .ok_or_else(|| ApiError::internal("a person's account without an ID number"))?;
    let account_id = account.id;
    let (device, application, entry) = with_store(&state, move |s| {
        let device = s
            .devices(account_id)?
            .into_iter()
            .find(|d| d.id == req.device_id);
        let application = s.applications_of(account_id)?.into_iter().find(|a| {
            matches!(
                a.state,
                ApplicationState::Approved | ApplicationState::Issued
            )
        });
        Ok((device, application, s.registry_entry(&id_number)?))
    })
    .await?;
    let device = device.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "device_not_found",
            "没有这台已登记的设备",
            "No such registered device of yours",
        )
    })?;
    let application = application.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_approved_application",
            "您还没有审核通过的驾驶证电子版申请",
            "You have no approved e-licence application yet",
        )
        .next("apply")
    })?;
    let licence = entry.and_then(|e| e.licence).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_licence",
            "未查询到您的机动车驾驶证",
            "The traffic police hold no driving licence for you",
        )
    })?;
    let photo = application
        .cropped
        .clone()
        .unwrap_or_else(|| application.photo.clone());
    let portrait_jpeg = tokio::task::spawn_blocking(move || thumbnail(&photo))
        .await
        .map_err(ApiError::internal)??;
    let status_index = with_store(&state, move |s| s.status_index(account_id)).await?;
    let issued_at = now();
    // A minute of slack for the verifier's clock; never past the key's window.
    let (from, until) = issuer_window(&state);
    let not_before = (issued_at - 60).max(from);
    let not_after = (issued_at + CREDENTIAL_DAYS * 86_400).min(until);
    if issued_at < from || not_after - issued_at < 86_400 {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "issuer_key_out_of_window",
            "签发密钥不在有效期内，暂时无法签发电子驾驶证，请稍后再试",
            "The issuing key is outside its window; the e-licence cannot be issued now, try again later",
        ));
    }
    let credential = Credential {
        licence,
        portrait_jpeg,
        device_key: device.public_key,
        not_before,
        not_after,
        status_index,
    };
    let signed = credential.sign(&state.issuer).map_err(ApiError::internal)?;
    if application.state == ApplicationState::Approved {
        let to = application
            .state
            .apply(&ApplicationEvent::Issue)
            .map_err(|e| ApiError::problem(StatusCode::CONFLICT, &e))?;
        let (id, from) = (application.id, application.state.clone());
        // A concurrent issuance may have moved it already; either way it is issued.
        with_store(&state, move |s| {
            s.transition(id, &from, &to, "issuance", None, &Effects::NONE, issued_at)
        })
        .await?;
    }
    Ok((
        StatusCode::CREATED,
        ApiJson(IssuedCredential {
            credential: base64::engine::general_purpose::STANDARD.encode(signed),
            kid: state.issuer.kid().to_owned(),
            not_before: credential.not_before,
            not_after: credential.not_after,
            status_index,
        }),
    ))
}

/// The issuers verifiers trust, signed by the trust root (COSE_Sign1, `licence verify
/// --trust`). Public.
#[utoipa::path(get, path = "/trust-list",
    responses((status = 200, content_type = "application/cose", description = "the trust list, signed by the trust root")))]
pub async fn trust_list(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/cose"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.trust.signed.clone(),
    )
        .into_response()
}

/// The trust list the platform serves, as it reads.
pub fn current_trust_list(state: &AppState) -> licence_credential::TrustList {
    state.trust.list.clone()
}

/// The issuer key's window (the server loads only keys that have one).
fn issuer_window(state: &AppState) -> (i64, i64) {
    state
        .issuer
        .window()
        .expect("load_or_create_issuer_key refuses a key without a window")
}

/// The status lists as of now, from the registry: one for each issuer key whose window is
/// open (the signing key's first), each speaking for that key's credentials.
pub async fn current_status_lists(state: &AppState) -> Result<Vec<StatusList>, ApiError> {
    let list = current_status_list(state).await?;
    Ok(state
        .issuers()
        .filter(|key| {
            key.window()
                .is_some_and(|(from, until)| (from..=until).contains(&now()))
        })
        .map(|key| list.clone().with_issuer(key.kid()))
        .collect())
}

/// The status list as of now, from the registry, as the signing key's.
async fn current_status_list(state: &AppState) -> Result<StatusList, ApiError> {
    let today = crate::today();
    let entries = with_store(state, move |s| s.status_entries(today)).await?;
    let needed = entries.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
    let len = needed.max(MIN_STATUS_LIST).next_power_of_two();
    let mut list = StatusList::new(len, now(), STATUS_MAX_AGE).with_issuer(state.issuer.kid());
    for (index, status) in entries {
        // A licence no longer held counts as invalid: the credential must not pass.
        let status = status.unwrap_or_else(|| "G".parse().expect("G is a status code"));
        list.set(index, status).map_err(ApiError::internal)?;
    }
    Ok(list)
}

/// Which issuer key's status list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusListQuery {
    /// The issuer key (kid) whose credentials the list speaks for; default: the key that signs
    /// credentials now. During a key rotation the previous key's list is served too.
    #[param(max_length = 64)]
    pub kid: Option<String>,
}

/// The signed status list (COSE_Sign1) of one issuer key: each issued credential's standing
/// now. Public, cached for a minute.
#[utoipa::path(get, path = "/status-list", params(StatusListQuery),
    responses((status = 200, content_type = "application/cose", description = "the signed status list"),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, description = "no issuer key of this platform with this kid signs now", body = crate::error::ErrorBody)))]
pub async fn status_list(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<StatusListQuery>,
) -> Result<Response, ApiError> {
    let kid = query.kid.unwrap_or_else(|| state.issuer.kid().to_owned());
    let key = state
        .issuers()
        .find(|key| key.kid() == kid)
        .filter(|key| {
            key.window()
                .is_some_and(|(from, until)| (from..=until).contains(&now()))
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_issuer_key",
                "本平台没有此签发密钥，或其有效期已过",
                "No issuer key of this platform with this kid signs now",
            )
        })?;
    let list = current_status_list(&state).await?.with_issuer(key.kid());
    let signed = list.sign(key).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/cose".to_owned()),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={STATUS_CACHE_SECONDS}"),
            ),
        ],
        signed,
    )
        .into_response())
}
