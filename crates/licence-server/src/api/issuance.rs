//! Issuance (R4): the signed e-licence credential, bound to one of the holder's registered
//! device keys, for an approved application. The trust list and status lists verifiers
//! cache are in [`super::published`].

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use licence_api::{CredentialRequest, IssuedCredential};
use licence_core::{ApplicationEvent, ApplicationState, BusinessFunction, Standing};
use licence_credential::Credential;
use sha2::Digest;

use super::{require, with_store, SignedInAccount};
use crate::error::{ApiError, ApiJson};
use crate::store::Effects;
use crate::{now, AppState};

/// How long a credential is valid; the app renews it well before (issue 8).
pub const CREDENTIAL_DAYS: i64 = 7;
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
    // A revoked, annulled or cancelled licence (吊销、撤销、注销) no longer exists: no credential
    // is issued or renewed for it (the status list already tells verifiers it is invalid).
    let status = licence.status_on(crate::today());
    if status.standing() == Standing::Invalid {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "licence_withdrawn",
            format!(
                "您的驾驶证状态为“{}”，不能领取电子驾驶证；如有疑问，请携带身份证到车管所窗口咨询",
                status.names_zh()
            ),
            format!(
                "Your driving licence is {}: no e-licence can be issued. Ask at a vehicle management office counter",
                status.names_en()
            ),
        ));
    }
    let photo = application
        .cropped
        .clone()
        .unwrap_or_else(|| application.photo.clone());
    let photo_digest: [u8; 32] = sha2::Sha256::digest(&photo).into();
    let (portrait_jpeg, photo) =
        tokio::task::spawn_blocking(move || thumbnail(&photo).map(|portrait| (portrait, photo)))
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
        photo_digest: Some(photo_digest),
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
    let mdoc = issue_mdoc(&state, &credential, &photo, issued_at);
    Ok((
        StatusCode::CREATED,
        ApiJson(IssuedCredential {
            mdoc,
            credential: base64::engine::general_purpose::STANDARD.encode(signed),
            kid: state.issuer.kid().to_owned(),
            not_before: credential.not_before,
            not_after: credential.not_after,
            status_index,
            photo: base64::engine::general_purpose::STANDARD.encode(photo),
        }),
    ))
}

/// The same licence as an ISO 18013-5 mDL (IssuerSigned, base64), for the same device and
/// window, cut short where the document signer's certificate ends sooner. `None`, with a
/// warning in the log, when the signer cannot sign now: the credential is issued regardless.
fn issue_mdoc(
    state: &AppState,
    credential: &Credential,
    photo: &[u8],
    issued_at: i64,
) -> Option<String> {
    let (_, signer_until) = state.mdoc.signer.period();
    let at = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).ok();
    let validity = licence_mdoc::MsoValidity {
        signed: at(issued_at)?,
        valid_from: at(credential.not_before)?,
        valid_until: at(credential.not_after.min(signer_until))?,
    };
    match licence_mdoc::issue_licence(
        &credential.licence,
        photo,
        &credential.device_key,
        &validity,
        None,
        &state.mdoc.signer,
        &mut rand::rngs::OsRng,
    ) {
        Ok(issued) => Some(base64::engine::general_purpose::STANDARD.encode(issued.to_bytes())),
        Err(e) => {
            tracing::warn!(code = e.code(), "no mDL issued with the credential: {e}");
            None
        }
    }
}

/// The issuer key's window (the server loads only keys that have one).
fn issuer_window(state: &AppState) -> (i64, i64) {
    state
        .issuer
        .window()
        .expect("load_or_create_issuer_key refuses a key without a window")
}
