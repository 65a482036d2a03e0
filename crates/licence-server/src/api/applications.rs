//! 线上申请驾驶证电子版 (R3): a face-signed driver applies for their own e-licence with the
//! photo on file or an uploaded one; the submission is idempotent and on disk before the
//! reply; the server re-checks the photo in the background (never trusting the app's check);
//! the driver follows, withdraws, or resubmits after a rejection.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use base64::Engine;
use licence_api::{ApplicationView, NewApplication, PhotoSource, Resubmission};
use licence_core::{
    ApplicantRecord, ApplicationEvent, ApplicationRefusal, ApplicationState, BusinessFunction,
};

use super::{
    admit_account, bearer_digest, live_session, require, session_ended, with_store, SignedInAccount,
};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::store::{
    Account, ApplicantStanding, Application, Effects, Resubmitted, SignedInApplicant, Submitted,
};
use crate::{now, AppState};

/// Largest uploaded photo (before the checker's own 20 MB limit, the body limit applies).
const MAX_PHOTO_BYTES: usize = 6 << 20;

pub fn application_view(a: &Application) -> ApplicationView {
    let status = a.state.status();
    let open = matches!(
        a.state,
        ApplicationState::Submitted | ApplicationState::UnderReview
    );
    ApplicationView {
        id: a.id,
        status: status.to_string(),
        status_name: status.name_zh().into(),
        photo_source: a.photo_source.clone(),
        submitted_at: a.submitted_at,
        due_at: a.due_at,
        overdue: open && now() > a.due_at,
        reasons: match &a.state {
            ApplicationState::Rejected { reasons } => reasons.iter().map(Into::into).collect(),
            _ => Vec::new(),
        },
        photo_check: a
            .check
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok()),
    }
}

/// The photo for an application: the one on file (read with the applicant's standing), or
/// the upload (only sniffed here; the full check runs in the background).
fn photo(
    on_file: Option<Vec<u8>>,
    source: PhotoSource,
    upload: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let bad = |code: &str, zh: &str, en: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, zh, en)
    };
    match (source, upload) {
        (PhotoSource::OnFile, None) => {
            // The request is well formed; the driver's file is what stands in the way: 409.
            on_file.ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "no_photo_on_file",
                    "公安交管部门没有您的档案照片，请从相册选择或现场拍摄一张照片",
                    "The traffic police hold no photo of you; choose one from the album or take one",
                )
                .next("upload_photo")
            })
        }
        (PhotoSource::Album | PhotoSource::Camera, Some(b64)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| {
                    bad(
                        "bad_photo",
                        "照片数据格式有误",
                        "The photo is not valid base64",
                    )
                })?;
            if bytes.len() > MAX_PHOTO_BYTES {
                return Err(bad(
                    "bad_photo",
                    "照片不能超过 6 MB",
                    "The photo is larger than 6 MB",
                ));
            }
            let jpeg = bytes.starts_with(&[0xFF, 0xD8]);
            let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
            if !jpeg && !png {
                return Err(bad(
                    "bad_photo",
                    "照片须为 JPEG 或 PNG 格式",
                    "The photo must be a JPEG or PNG",
                ));
            }
            Ok(bytes)
        }
        (PhotoSource::OnFile, Some(_)) => Err(bad(
            "bad_photo_source",
            "使用档案照片时不需要上传照片",
            "photo_source on_file takes no photo",
        )),
        (PhotoSource::Album | PhotoSource::Camera, None) => Err(bad(
            "bad_photo",
            "请选择或拍摄一张照片",
            "photo_source album or camera needs the photo",
        )),
    }
}

/// What applying with a photo from `source` needs to know of the account, once the holder
/// may apply at all (face-signed, R2.7), and whether they hold a licence (their own, R3.1):
/// there is nothing to issue otherwise.
async fn standing(
    state: &AppState,
    account: &Account,
    source: PhotoSource,
) -> Result<ApplicantStanding, ApiError> {
    // Refused before the store is asked, where the account may not apply at all.
    require(account, BusinessFunction::ElectronicLicence)?;
    let standing = match account.id_number {
        Some(id_number) => {
            let (id, with_photo) = (account.id, source == PhotoSource::OnFile);
            Some(
                with_store(state, move |s| {
                    s.applicant_standing(id, &id_number, with_photo)
                })
                .await?,
            )
        }
        None => None,
    };
    holding_licence(standing)
}

/// The standing read for an account that may apply (see [`standing`]), if it holds a
/// licence to issue as an e-licence.
fn holding_licence(standing: Option<ApplicantStanding>) -> Result<ApplicantStanding, ApiError> {
    let standing =
        standing.ok_or_else(|| ApiError::internal("a person's account without an ID number"))?;
    if !standing.holds_licence {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_licence",
            "未查询到您的机动车驾驶证，无法申领电子版",
            "The traffic police hold no driving licence for you, so there is nothing to issue",
        ));
    }
    Ok(standing)
}

/// A submission as its handler takes it: the signed-in account with its standing as an
/// applicant, read together with the session in one look at the store (one round trip on
/// PostgreSQL, where a submission made three), and the request. It is refused as any
/// signed-in request is, in the same order: no live session (401), the account's limit
/// (429), then a body that is not a [`NewApplication`].
pub struct Submitting {
    account: Account,
    standing: Option<ApplicantStanding>,
    request: NewApplication,
}

impl FromRequest<AppState> for Submitting {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let token_hash = bearer_digest(req.headers())?;
        let notes = crate::request_log::notes_of(req.extensions());
        // The body says whether the photo on file is read; its faults wait for the session's.
        let body = ApiJson::<NewApplication>::from_request(req, state).await;
        let with_photo = body
            .as_ref()
            .is_ok_and(|b| b.0.photo_source == PhotoSource::OnFile);
        let found = with_store(state, move |s| {
            let found = s.signed_in_applicant(&token_hash, with_photo)?;
            live_session(s, &token_hash, found, |f| &f.session)
        })
        .await?;
        let Some(SignedInApplicant {
            account, standing, ..
        }) = found
        else {
            return Err(session_ended());
        };
        admit_account(state, notes.as_deref(), &account)?;
        Ok(Submitting {
            account,
            standing,
            request: body?.0,
        })
    }
}

/// The service's rules for applying online: after three rejected reviews the driver is sent
/// to a counter; the photo of the driver's own may change once in six months (the photo on
/// file is always allowed).
fn rules_allow(record: &ApplicantRecord, source: PhotoSource) -> Result<(), ApiError> {
    record
        .may_apply(source != PhotoSource::OnFile, crate::today())
        .map_err(|refusal| {
            let next = match refusal {
                ApplicationRefusal::GoToCounter { .. } => "visit_counter",
                ApplicationRefusal::PhotoChangedRecently { .. } => "use_photo_on_file",
            };
            ApiError::problem(StatusCode::CONFLICT, &refusal).next(next)
        })
}

/// The photo to store, once the rules allow applying with a photo from `source`: the rules
/// first, so that a driver who must go to a counter is told so whatever the photo.
fn allowed_photo(
    standing: ApplicantStanding,
    source: PhotoSource,
    upload: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    rules_allow(&standing.record, source)?;
    photo(standing.photo_on_file, source, upload)
}

fn review_deadline(state: &AppState, submitted_at: i64) -> Result<i64, ApiError> {
    let at = time::OffsetDateTime::from_unix_timestamp(submitted_at).map_err(ApiError::internal)?;
    state
        .calendar
        .due_by(at)
        .map(|d| d.unix_timestamp())
        .map_err(ApiError::internal)
}

/// Apply for the e-licence. The same `idempotency_key` again answers 200 with the first
/// application; a second open application is refused.
#[utoipa::path(post, operation_id = "submit_application", path = "/applications", request_body = NewApplication, security(("session" = [])),
    responses((status = 201, body = ApplicationView), (status = 200, body = ApplicationView, description = "a retry of the same submission"),
              (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    Submitting {
        account,
        standing,
        request: req,
    }: Submitting,
) -> Result<(StatusCode, ApiJson<ApplicationView>), ApiError> {
    require(&account, BusinessFunction::ElectronicLicence)?;
    let standing = holding_licence(standing)?;
    // Exactly what the schema says: 1-64 printable ASCII characters, no spaces.
    let key = req.idempotency_key;
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_idempotency_key",
            "申请编号无效",
            "idempotency_key must be 1 to 64 printable ASCII characters without spaces",
        ));
    }
    let photo = allowed_photo(standing, req.photo_source, req.photo.as_deref())?;
    let submitted_at = now();
    let application = Application {
        id: 0,
        account: account.id,
        idempotency_key: key,
        photo_source: req.photo_source.as_str().to_owned(),
        photo,
        cropped: None,
        check: None,
        state: ApplicationState::Submitted,
        submitted_at,
        due_at: review_deadline(&state, submitted_at)?,
        updated_at: submitted_at,
    };
    let outcome = with_store(&state, move |s| s.submit_application(application)).await?;
    match outcome {
        Submitted::Created(a) => {
            state.photo_checks.notify_one();
            Ok((StatusCode::CREATED, ApiJson(application_view(&a))))
        }
        Submitted::Replayed(a) => Ok((StatusCode::OK, ApiJson(application_view(&a)))),
        Submitted::OpenExists(a) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "application_open",
            format!(
                "您已有一份{}的申请，请等待审核结果",
                a.state.status().name_zh()
            ),
            format!(
                "You already have an application that is {}",
                a.state.status()
            ),
        )
        .next("view_application")),
    }
}

async fn own(state: &AppState, account: &Account, id: i64) -> Result<Application, ApiError> {
    let found = with_store(state, move |s| s.application(id)).await?;
    found.filter(|a| a.account == account.id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "application_not_found",
            "没有这份申请",
            "There is no such application of yours",
        )
    })
}

/// The account's applications, newest first.
#[utoipa::path(get, operation_id = "list_applications", path = "/applications", security(("session" = [])),
    responses((status = 200, body = [ApplicationView])))]
pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
) -> Result<ApiJson<Vec<ApplicationView>>, ApiError> {
    let id = signed_in.account.id;
    let apps = with_store(&state, move |s| s.applications_of(id)).await?;
    Ok(ApiJson(apps.iter().map(application_view).collect()))
}

/// One application and where it stands.
#[utoipa::path(get, operation_id = "get_application", path = "/applications/{id}",
    params(("id" = i64, Path, description = "The id, as the list gives it")), security(("session" = [])),
    responses((status = 200, body = ApplicationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<ApplicationView>, ApiError> {
    Ok(ApiJson(application_view(
        &own(&state, &signed_in.account, id).await?,
    )))
}

async fn move_on(
    state: &AppState,
    app: &Application,
    event: ApplicationEvent,
    new_photo: Option<(String, Vec<u8>)>,
) -> Result<Application, ApiError> {
    let at = now();
    let due_at = review_deadline(state, at)?;
    let to = app
        .state
        .apply(&event)
        .map_err(|e| ApiError::problem(StatusCode::CONFLICT, &e))?;
    let (id, from) = (app.id, app.state.clone());
    let moved = with_store(state, move |s| {
        let resubmitted = new_photo.as_ref().map(|(source, photo)| Resubmitted {
            photo_source: source,
            photo,
            due_at,
        });
        match s.transition(id, &from, &to, "applicant", resubmitted, &Effects::NONE, at) {
            Ok(true) => s.application(id).map(Ok),
            Ok(false) => Ok(Ok(None)),
            Err(crate::store::StoreError::Duplicate("open application")) => Ok(Err(())),
            Err(e) => Err(e),
        }
    })
    .await?
    .map_err(|()| {
        ApiError::new(
            StatusCode::CONFLICT,
            "application_open",
            "您已有另一份申请在办理中，请等待其结果后再重新提交",
            "Another application of yours is still open; wait for its result before resubmitting this one",
        )
        .next("view_application")
    })?;
    moved.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "application_changed",
            "申请状态刚刚发生了变化，请刷新后再试",
            "The application changed meanwhile; reload it and try again",
        )
    })
}

/// Withdraw an application that has no final decision yet.
#[utoipa::path(post, operation_id = "withdraw_application", path = "/applications/{id}/withdraw",
    params(("id" = i64, Path, description = "The id, as the list gives it")), security(("session" = [])),
    responses((status = 200, body = ApplicationView), (status = 409, body = crate::error::ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<ApplicationView>, ApiError> {
    let app = own(&state, &signed_in.account, id).await?;
    let moved = move_on(&state, &app, ApplicationEvent::Withdraw, None).await?;
    Ok(ApiJson(application_view(&moved)))
}

/// Resubmit a rejected application, with a new photo or the one on file.
#[utoipa::path(post, operation_id = "resubmit_application", path = "/applications/{id}/resubmit",
    params(("id" = i64, Path, description = "The id, as the list gives it")), request_body = Resubmission, security(("session" = [])),
    responses((status = 404, body = crate::error::ErrorBody), (status = 200, body = ApplicationView), (status = 409, body = crate::error::ErrorBody)))]
pub async fn resubmit(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Resubmission>,
) -> Result<ApiJson<ApplicationView>, ApiError> {
    let account = signed_in.account;
    let standing = standing(&state, &account, req.photo_source).await?;
    let app = own(&state, &account, id).await?;
    let photo = allowed_photo(standing, req.photo_source, req.photo.as_deref())?;
    let moved = move_on(
        &state,
        &app,
        ApplicationEvent::Submit,
        Some((req.photo_source.as_str().to_owned(), photo)),
    )
    .await?;
    state.photo_checks.notify_one();
    Ok(ApiJson(application_view(&moved)))
}
