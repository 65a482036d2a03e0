//! The commands the window may call: each takes the state, calls licence-client, and returns
//! its view or its `AppError` (`{code, message, message_en, retry_after, next}`).
//!
//! Every command that does I/O is `async`, so that none runs on the main thread; the ones
//! whose work blocks (the camera, SQLite, face detection, signing) hand it to
//! [`blocking`], tauri's blocking pool, so that the async threads stay free for the network.

use std::sync::Arc;

use base64::Engine;
use licence_client::app::{check_field as check, Field, PhotoSource, RegistrationPath};
use licence_client::registration::Person;
use licence_client::views::*;
use tauri::State;

use crate::events::{AppEvent, EventBatch, LONGEST_WAIT};
use crate::Shared;

type Result<T> = std::result::Result<T, AppError>;
type App<'a> = State<'a, Arc<Shared>>;

/// Runs `work` on the blocking pool with the app's state.
async fn blocking<T: Send + 'static>(
    state: &App<'_>,
    work: impl FnOnce(&Arc<Shared>) -> Result<T> + Send + 'static,
) -> Result<T> {
    let shared = state.inner().clone();
    tauri::async_runtime::spawn_blocking(move || work(&shared))
        .await
        .map_err(|e| {
            AppError::new(
                "internal",
                "应用内部错误，请重试",
                &format!("Internal error in the app; try again ({e})"),
            )
        })?
}

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
        next_events,
        camera_start,
        camera_capture,
        camera_stop,
        elicence,
        refresh_elicence,
        mdoc_share,
        mdoc_share_status,
        mdoc_share_stop,
        mdoc_exchange,
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

/// Signs out of this device, or (`everywhere`) of every device of the account.
#[tauri::command]
async fn sign_out(state: App<'_>, everywhere: Option<bool>) -> Result<()> {
    state.app.sign_out(everywhere.unwrap_or(false)).await
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
    let frames = blocking(&state, liveness).await?;
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
    let frames = blocking(&state, liveness).await?;
    state.app.upgrade_by_face(&id_card_validity, frames).await
}

/// The liveness frames of a face-sign from the camera, which is then let go.
fn liveness(shared: &Arc<Shared>) -> Result<Vec<Vec<u8>>> {
    let frames = shared.camera.liveness();
    shared.camera.stop();
    frames
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
    // Face detection takes a moment.
    blocking(&state, move |s| s.app.check_photo(source, &photo)).await
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

/// Submits the checked photo; its progress goes to the window as events.
#[tauri::command]
async fn submit(state: App<'_>, source: PhotoSource) -> Result<SubmitView> {
    let events = state.events.clone();
    let progress = move |p: Progress| events.send(AppEvent::Progress(p));
    state.app.submit(source, &progress).await
}

/// What happened after event number `after` (none: from now on), waiting up to 20 s for it:
/// the window keeps one of these open (see [`crate::events`]).
#[tauri::command]
async fn next_events(state: App<'_>, after: Option<u64>) -> Result<EventBatch> {
    Ok(state.events.next(after, LONGEST_WAIT).await)
}

#[tauri::command]
async fn outbox(state: App<'_>) -> Result<Vec<OutboxView>> {
    blocking(&state, |s| s.app.outbox()).await
}

#[tauri::command]
async fn inbox(state: App<'_>, after: i64) -> Result<Vec<InboxMessageView>> {
    state.app.inbox(after, 0).await
}

#[tauri::command]
async fn mark_read(state: App<'_>, id: i64) -> Result<()> {
    state.app.mark_read(id).await
}

/// Opening a camera can take seconds (nokhwa waits up to 10 s for the first answer). The
/// preview's frames go to the window as events, for as long as it watches.
#[tauri::command]
async fn camera_start(state: App<'_>) -> Result<()> {
    blocking(&state, move |s| s.camera.start(preview_to(s))).await
}

/// Sends a preview frame to the window; false (the preview stops) once nobody watches.
fn preview_to(state: &Shared) -> impl Fn(PreviewFrame) -> bool + Send + 'static {
    let events = state.events.clone();
    move |frame| {
        events.send(AppEvent::PreviewFrame(frame));
        events.watched()
    }
}

/// Takes the picture on the preview and checks it as the application photo.
#[tauri::command]
async fn camera_capture(state: App<'_>) -> Result<PhotoCheckView> {
    blocking(&state, |s| {
        let jpeg = s.camera.capture()?;
        s.camera.stop();
        s.app.check_photo(PhotoSource::Camera, &jpeg)
    })
    .await
}

/// Waits for the preview thread to let go of the device (it may be inside a frame read).
#[tauri::command]
async fn camera_stop(state: App<'_>) -> Result<()> {
    blocking(&state, |s| {
        s.camera.stop();
        Ok(())
    })
    .await
}

/// 出示使用: the e-licence with a QR code signed on the device just now (no network needed).
#[tauri::command]
async fn elicence(state: App<'_>) -> Result<ElicenceView> {
    blocking(&state, |s| s.app.elicence()).await
}

/// 出示给其他核验方: a new engagement QR for the holder's choice, and what it will show.
#[tauri::command]
async fn mdoc_share(state: App<'_>, choice: String) -> Result<MdocShareView> {
    blocking(&state, move |s| s.app.mdoc_share(&choice)).await
}

/// The share in progress, with what was shown once a reader has asked.
#[tauri::command]
async fn mdoc_share_status(state: App<'_>) -> Result<MdocShareView> {
    blocking(&state, |s| s.app.mdoc_share_status()).await
}

/// The share page was left: a later message finds no share.
#[tauri::command]
async fn mdoc_share_stop(state: App<'_>) -> Result<()> {
    blocking(&state, |s| {
        s.app.mdoc_share_stop();
        Ok(())
    })
    .await
}

/// The reader's message (base64) from the data channel in, the device's answer out. On a
/// phone the BLE transport calls it (docs/app.md); on a desktop the end-to-end test carries
/// the bytes in its place.
#[tauri::command]
async fn mdoc_exchange(state: App<'_>, message_base64: String) -> Result<MdocExchangeView> {
    blocking(&state, move |s| s.app.mdoc_exchange(&message_base64)).await
}

/// Fetches the lists, the live record and (after approval, or to renew) the credential.
#[tauri::command]
async fn refresh_elicence(state: App<'_>) -> Result<RefreshView> {
    state.app.refresh_elicence().await
}

#[tauri::command]
async fn officer(state: App<'_>) -> Result<OfficerView> {
    blocking(&state, |s| s.app.officer()).await
}

#[tauri::command]
async fn officer_sign_in(
    state: App<'_>,
    username: String,
    password: String,
) -> Result<OfficerView> {
    state.app.officer_sign_in(&username, &password).await
}

/// The officer signs out of this device, or (`everywhere`) of every device.
#[tauri::command]
async fn officer_sign_out(state: App<'_>, everywhere: Option<bool>) -> Result<()> {
    blocking(&state, |s| {
        s.camera.stop();
        Ok(())
    })
    .await?;
    state
        .app
        .officer_sign_out(everywhere.unwrap_or(false))
        .await
}

/// Verifies the QR code in a picture the officer chose (the file's bytes, base64).
#[tauri::command]
async fn verify_picture(state: App<'_>, picture_base64: String) -> Result<VerificationView> {
    state.app.verify_picture_base64(&picture_base64).await
}

/// The officer's camera: preview frames, then the first QR code read is verified and its
/// result (or why it could not be) follows; all as events.
#[tauri::command]
async fn scan_start(state: App<'_>) -> Result<()> {
    blocking(&state, scan).await
}

fn scan(state: &Arc<Shared>) -> Result<()> {
    if !state.app.officer()?.signed_in {
        return Err(licence_client::officer::officer_required());
    }
    let shared = state.clone();
    state.camera.scan(preview_to(state), move |text| {
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
            shared.events.send(AppEvent::ScanOutcome(Box::new(outcome)));
        });
    })
}
