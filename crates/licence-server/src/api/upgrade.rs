//! 实人认证 from 我的: an online-registered user becomes face-signed by liveness and face match
//! with the ID card's validity period (R2.5); if the face check keeps failing, by photographs
//! of both sides of the ID card that a reviewer approves at the console (R2.6).

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use licence_api::{FaceSignUpgrade, IdCardReviewRequest, IdCardReviewView};
use licence_core::{FaceSignChannel, IdCardValidity, UserKind};

use super::registration::{face_exhausted, face_failed, frames, provider_error};
use super::{account_view, with_store, AccountView, SignedInAccount};
use crate::error::{ApiError, ApiJson};
use crate::store::{Account, IdCardReview, ReviewState};
use crate::{now, AppState};

/// Face failures while upgrading, by account.
const UPGRADE_FAILURE: &str = "upgrade_face_failure";
/// Largest ID card photograph.
const MAX_CARD_PHOTO_BYTES: usize = 4 << 20;

/// Only an online-registered person can upgrade.
fn upgradable(account: &Account) -> Result<(), ApiError> {
    account
        .kind
        .face_sign(FaceSignChannel::OnlineLiveness)
        .map(|_| ())
        .map_err(|e| {
            let status = match e {
                licence_core::account::AccountError::AlreadyFaceSigned => StatusCode::CONFLICT,
                licence_core::account::AccountError::UnitCannotFaceSign => StatusCode::FORBIDDEN,
            };
            ApiError::problem(status, &e)
        })
}

fn card_validity(text: &str) -> Result<IdCardValidity, ApiError> {
    IdCardValidity::parse(text, crate::today()).map_err(|e| ApiError::field("id_card_validity", &e))
}

/// R2.5: 实人认证. Success makes the account face-signed at once. After `face_attempts`
/// failures the answer says `next: id_card_review` (R2.6).
#[utoipa::path(post, operation_id = "upgrade_to_face_signed", path = "/me/face-sign", request_body = FaceSignUpgrade, security(("session" = [])),
    responses((status = 200, body = AccountView), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn face_sign(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiJson(req): ApiJson<FaceSignUpgrade>,
) -> Result<ApiJson<AccountView>, ApiError> {
    let account = signed_in.account;
    upgradable(&account)?;
    let validity = card_validity(&req.id_card_validity)?;
    let frames = frames(&req.frames)?;
    let key = account.id.to_string();
    let limit = state.policy.face_attempts;
    let failures = {
        let key = key.clone();
        with_store(&state, move |s| {
            s.count_events(UPGRADE_FAILURE, &key, now() - 86_400)
        })
        .await?
    };
    if failures >= limit {
        return Err(upgrade_exhausted());
    }
    let id = account
        .id_number
        .ok_or_else(|| ApiError::internal("a person's account without an ID number"))?;
    let entry = with_store(&state, move |s| s.registry_entry(&id)).await?;
    let verdict = state
        .providers
        .verify_face(
            &account.name,
            id.as_str(),
            entry.as_ref().and_then(|e| e.photo.as_deref()),
            &frames,
        )
        .await
        .map_err(provider_error)?;
    if !verdict.passed() {
        return Err(face_failed(&state, UPGRADE_FAILURE, key, upgrade_exhausted()).await);
    }
    let kind = UserKind::FaceSigned {
        via: FaceSignChannel::OnlineLiveness,
    };
    let account_id = account.id;
    let upgraded = with_store(&state, move |s| {
        s.set_account_kind(account_id, kind, Some(validity))?;
        s.clear_events(UPGRADE_FAILURE, &account_id.to_string())?;
        s.account(account_id)
    })
    .await?
    .ok_or_else(|| ApiError::internal("the upgraded account is gone"))?;
    Ok(ApiJson(account_view(&state, &upgraded).await?))
}

fn upgrade_exhausted() -> ApiError {
    let base = face_exhausted();
    ApiError::new(
        StatusCode::CONFLICT,
        &base.body.code,
        "人脸识别多次未通过，请拍摄身份证正反面提交人工审核",
        "The face check failed too many times. Photograph the front and back of your ID card for a manual review",
    )
    .next("id_card_review")
}

fn review_view(r: &IdCardReview) -> IdCardReviewView {
    IdCardReviewView {
        id: r.id,
        state: r.state.as_str().into(),
        reason: r.reason.clone(),
        submitted_at: r.submitted_at,
        decided_at: r.decided_at,
    }
}

fn card_photo(field: &str, side_zh: &str, b64: &str) -> Result<Vec<u8>, ApiError> {
    let bad = |zh: String, en: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_id_card_photo",
            zh,
            en,
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            bad(
                format!("身份证{side_zh}照片数据格式有误"),
                format!("{field}: not base64"),
            )
        })?;
    if bytes.len() > MAX_CARD_PHOTO_BYTES {
        return Err(bad(
            format!("身份证{side_zh}照片不能超过 4 MB"),
            format!("{field}: larger than 4 MB"),
        ));
    }
    // A whole JPEG: start and end markers both present (a cut-off upload is refused).
    if !bytes.starts_with(&[0xFF, 0xD8]) || !bytes.ends_with(&[0xFF, 0xD9]) {
        return Err(bad(
            format!("身份证{side_zh}照片须为完整的 JPEG 图片，请重新拍摄"),
            format!("{field}: must be a complete JPEG photograph"),
        ));
    }
    Ok(bytes)
}

/// R2.6: submit both sides of the ID card for a manual review, once the face check has
/// failed `face_attempts` times. The reviewer's decision arrives by SMS.
#[utoipa::path(post, operation_id = "submit_id_card_review", path = "/me/id-card-reviews", request_body = IdCardReviewRequest, security(("session" = [])),
    responses((status = 201, body = IdCardReviewView), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn submit_review(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiJson(req): ApiJson<IdCardReviewRequest>,
) -> Result<(StatusCode, ApiJson<IdCardReviewView>), ApiError> {
    let account = signed_in.account;
    upgradable(&account)?;
    let validity = card_validity(&req.id_card_validity)?;
    let front = card_photo("front", "人像面", &req.front)?;
    let back = card_photo("back", "国徽面", &req.back)?;
    let key = account.id.to_string();
    let limit = state.policy.face_attempts;
    let account_id = account.id;
    let outcome = with_store(&state, move |s| {
        if s.count_events(UPGRADE_FAILURE, &key, now() - 86_400)? < limit {
            return Ok(Err("face_first"));
        }
        if s.reviews_of(account_id)?
            .iter()
            .any(|r| r.state == ReviewState::Pending)
        {
            return Ok(Err("pending"));
        }
        let mut review = IdCardReview {
            id: 0,
            account: account_id,
            front,
            back,
            validity,
            state: ReviewState::Pending,
            reason: None,
            submitted_at: now(),
            decided_at: None,
            decided_by: None,
        };
        review.id = s.add_review(&review)?;
        Ok(Ok(review))
    })
    .await?;
    match outcome {
        Ok(review) => Ok((StatusCode::CREATED, ApiJson(review_view(&review)))),
        Err("face_first") => Err(ApiError::new(
            StatusCode::CONFLICT,
            "try_face_sign_first",
            "请先完成实人认证（人脸识别）；多次未通过后可提交身份证照片人工审核",
            "Try the face check first; the ID card review is for when it keeps failing",
        )
        .next("face_sign")),
        Err(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "review_pending",
            "您已提交的身份证照片正在审核中，请耐心等待短信通知",
            "Your ID card photos are already being reviewed; you will be told by SMS",
        )),
    }
}

/// The account's ID card reviews and where each stands.
#[utoipa::path(get, operation_id = "list_id_card_reviews", path = "/me/id-card-reviews", security(("session" = [])),
    responses((status = 200, body = [IdCardReviewView])))]
pub async fn reviews(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<ApiJson<Vec<IdCardReviewView>>, ApiError> {
    let id = signed_in.account.id;
    let reviews = with_store(&state, move |s| s.reviews_of(id)).await?;
    Ok(ApiJson(reviews.iter().map(review_view).collect()))
}
