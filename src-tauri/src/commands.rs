//! The commands the window may call: each takes the state, calls licence-client, and returns
//! its view or its `AppError` (`{code, message, message_en, retry_after, next}`).

use std::sync::Arc;

use base64::Engine;
use licence_client::app::{check_field as check, Field, PhotoSource, RegistrationPath};
use licence_client::registration::Person;
use licence_client::views::*;
use tauri::ipc::Channel;
use tauri::State;

use crate::Shared;

type Result<T> = std::result::Result<T, AppError>;
type App<'a> = State<'a, Arc<Shared>>;

/// Every command, for `invoke_handler`.
pub fn handlers<R: tauri::Runtime>(
) -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        home,
        account,
        check_field,
        sign_in,
        sign_out,
        registration_code,
        face_sign,
        register_online,
        register_alipay,
        upgrade_by_face,
        id_card_review,
        id_card_reviews,
        my_licence,
        applications,
        check_photo,
        submit,
        outbox,
        inbox,
        mark_read,
        camera_start,
        camera_capture,
        camera_stop,
        elicence,
        refresh_elicence,
        officer,
        officer_sign_in,
        officer_sign_out,
        verify_picture,
        scan_start,
    ]
}

#[tauri::command]
async fn home(state: App<'_>) -> Result<HomeView> {
    state.app.home().await
}

#[tauri::command]
async fn account(state: App<'_>) -> Result<AccountView> {
    state.app.account().await
}

#[tauri::command]
fn check_field(field: Field, value: String) -> Option<AppError> {
    check(field, &value)
}

#[tauri::command]
async fn sign_in(state: App<'_>, login: String, password: String) -> Result<AccountView> {
    state.app.sign_in(&login, &password).await
}

#[tauri::command]
async fn sign_out(state: App<'_>) -> Result<()> {
    state.app.sign_out().await
}

#[tauri::command]
async fn registration_code(
    state: App<'_>,
    path: RegistrationPath,
    person: Person,
) -> Result<CodeSentView> {
    state.app.registration_code(path, &person).await
}

#[tauri::command]
async fn face_sign(
    state: App<'_>,
    person: Person,
    challenge_id: String,
    code: String,
    password: String,
    consent: bool,
) -> Result<AccountView> {
    let frames = state.camera.liveness()?;
    state.camera.stop();
    state
        .app
        .face_sign(&person, &challenge_id, &code, &password, consent, frames)
        .await
}

#[tauri::command]
async fn register_online(
    state: App<'_>,
    challenge_id: String,
    code: String,
    password: String,
) -> Result<AccountView> {
    state
        .app
        .register_online(&challenge_id, &code, &password)
        .await
}

#[tauri::command]
async fn register_alipay(
    state: App<'_>,
    person: Person,
    alipay_account: Person,
    password: String,
) -> Result<AccountView> {
    state
        .app
        .register_alipay(&person, &alipay_account, &password)
        .await
}

#[tauri::command]
async fn upgrade_by_face(state: App<'_>, id_card_validity: String) -> Result<AccountView> {
    let frames = state.camera.liveness()?;
    state.camera.stop();
    state.app.upgrade_by_face(&id_card_validity, frames).await
}

/// Both sides of the ID card, as picked (the files' bytes, base64).
#[tauri::command]
async fn id_card_review(
    state: App<'_>,
    id_card_validity: String,
    front_base64: String,
    back_base64: String,
) -> Result<IdCardReviewView> {
    let (front, back) = (decode_picked(&front_base64)?, decode_picked(&back_base64)?);
    state
        .app
        .submit_id_card_review(&id_card_validity, &front, &back)
        .await
}

#[tauri::command]
async fn id_card_reviews(state: App<'_>) -> Result<Vec<IdCardReviewView>> {
    state.app.id_card_reviews().await
}

#[tauri::command]
async fn my_licence(state: App<'_>) -> Result<LicenceView> {
    state.app.my_licence().await
}

#[tauri::command]
async fn applications(state: App<'_>) -> Result<Vec<ApplicationView>> {
    state.app.applications().await
}

/// A photo from the album (the file's bytes, base64).
#[tauri::command]
async fn check_photo(
    state: App<'_>,
    source: PhotoSource,
    photo_base64: String,
) -> Result<PhotoCheckView> {
    let photo = decode_picked(&photo_base64)?;
    let state = state.inner().clone();
    // Face detection takes a moment: off the async threads.
    tauri::async_runtime::spawn_blocking(move || state.app.check_photo(source, &photo))
        .await
        .map_err(|e| AppError::new("internal", "检查照片时出错，请重试", &e.to_string()))?
}

/// A picked file's bytes, sent by the window as base64.
fn decode_picked(base64_text: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(base64_text.as_bytes())
        .map_err(|_| {
            AppError::new(
                "photo_unreadable",
                "无法读取所选文件，请重新选择照片",
                "The chosen file cannot be read; choose the photo again",
            )
        })
}

#[tauri::command]
async fn submit(
    state: App<'_>,
    source: PhotoSource,
    on_progress: Channel<Progress>,
) -> Result<SubmitView> {
    let progress = move |p: Progress| {
        let _ = on_progress.send(p);
    };
    state.app.submit(source, &progress).await
}

#[tauri::command]
fn outbox(state: App<'_>) -> Result<Vec<OutboxView>> {
    state.app.outbox()
}

#[tauri::command]
async fn inbox(state: App<'_>, after: i64) -> Result<Vec<InboxMessageView>> {
    state.app.inbox(after, 0).await
}

#[tauri::command]
async fn mark_read(state: App<'_>, id: i64) -> Result<()> {
    state.app.mark_read(id).await
}

#[tauri::command]
fn camera_start(state: App<'_>, on_frame: Channel<PreviewFrame>) -> Result<()> {
    state
        .camera
        .start(move |frame| on_frame.send(frame).is_ok())
}

/// Takes the picture on the preview and checks it as the application photo.
#[tauri::command]
async fn camera_capture(state: App<'_>) -> Result<PhotoCheckView> {
    let state = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || {
        let jpeg = state.camera.capture()?;
        state.camera.stop();
        state.app.check_photo(PhotoSource::Camera, &jpeg)
    })
    .await
    .map_err(|e| AppError::new("internal", "拍照时出错，请重试", &e.to_string()))?
}

#[tauri::command]
fn camera_stop(state: App<'_>) {
    state.camera.stop();
}

/// 出示使用: the e-licence with a QR code signed on the device just now (no network needed).
#[tauri::command]
async fn elicence(state: App<'_>) -> Result<ElicenceView> {
    state.app.elicence()
}

/// Fetches the lists, the live record and (after approval, or to renew) the credential.
#[tauri::command]
async fn refresh_elicence(state: App<'_>) -> Result<RefreshView> {
    state.app.refresh_elicence().await
}

#[tauri::command]
async fn officer(state: App<'_>) -> Result<OfficerView> {
    state.app.officer()
}

#[tauri::command]
async fn officer_sign_in(
    state: App<'_>,
    username: String,
    password: String,
) -> Result<OfficerView> {
    state.app.officer_sign_in(&username, &password).await
}

#[tauri::command]
async fn officer_sign_out(state: App<'_>) -> Result<()> {
    state.camera.stop();
    state.app.officer_sign_out()
}

/// Verifies the QR code in a picture the officer chose (the file's bytes, base64).
#[tauri::command]
async fn verify_picture(state: App<'_>, picture_base64: String) -> Result<VerificationView> {
    state.app.verify_picture_base64(&picture_base64).await
}

/// The officer's camera: preview frames to `on_frame`; the first QR code read is verified and
/// its result (or why it could not be) goes to `on_result`.
#[tauri::command]
fn scan_start(
    state: App<'_>,
    on_frame: Channel<PreviewFrame>,
    on_result: Channel<ScanOutcome>,
) -> Result<()> {
    if !state.app.officer()?.signed_in {
        return Err(licence_client::officer::officer_required());
    }
    let shared = state.inner().clone();
    state.camera.scan(
        move |frame| on_frame.send(frame).is_ok(),
        move |text| {
            tauri::async_runtime::spawn(async move {
                let outcome = match shared.app.verify_qr_text(&text).await {
                    Ok(view) => ScanOutcome {
                        verification: Some(view),
                        error: None,
                    },
                    Err(e) => ScanOutcome {
                        verification: None,
                        error: Some(e),
                    },
                };
                let _ = on_result.send(outcome);
            });
        },
    )
}
