//! The driver's screens: the account, applications and the photo check, the outbox, the home
//! page, 消息, registration, 我的驾驶证.

use licence_core::{DrivingLicence, Sex, Standing};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::AppError;
use crate::store::{state_name, ItemState, OutboxItem};
pub use licence_api::{AccountView, ApplicationView, ErrorBody, FunctionView, RejectionView};

/// 驾驶证: the fields of the licence, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LicenceView {
    pub name: String,
    /// 证号 (the ID number), shown masked; the holder's own screen may reveal it.
    pub number_masked: String,
    pub sex: String,
    pub birth_date: String,
    pub nationality: String,
    pub address: String,
    pub first_issued: String,
    /// 准驾车型, e.g. `C1`
    pub classes: String,
    /// 有效期限, e.g. `2020-01-01至2026-01-01`
    pub validity: String,
    pub points: u8,
    /// 状态, e.g. `正常` or `违法未处理、…`
    pub status: String,
    pub status_en: String,
    /// The licence is in normal standing today.
    pub normal: bool,
    pub issuing_authority: String,
    pub file_number: String,
    /// Unix seconds when the platform last confirmed it.
    pub fetched_at: i64,
    /// Shown from the device because the platform could not be reached.
    pub offline: bool,
}

impl LicenceView {
    pub fn of(licence: &DrivingLicence, today: time::Date, fetched_at: i64, offline: bool) -> Self {
        let r = licence.record();
        let codes: Vec<_> = r.status.codes().collect();
        let (status, status_en) = if codes.is_empty() {
            ("正常".to_owned(), "Normal".to_owned())
        } else {
            (
                codes
                    .iter()
                    .map(|c| c.name_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
                codes
                    .iter()
                    .map(|c| c.name_en())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        LicenceView {
            name: r.name.as_str().to_owned(),
            number_masked: r.number.masked(),
            sex: match licence.sex() {
                Sex::Male => "男",
                Sex::Female => "女",
            }
            .into(),
            birth_date: licence.birth_date().to_string(),
            nationality: r.nationality.clone(),
            address: r.address.clone(),
            first_issued: r.first_issued.to_string(),
            classes: r.classes.to_string(),
            validity: r.validity.to_string(),
            points: r.points.value(),
            status,
            status_en,
            normal: licence.standing_on(today) == Standing::Normal,
            issuing_authority: r.issuing_authority.clone(),
            file_number: r.file_number.to_string(),
            fetched_at,
            offline,
        }
    }
}

/// One problem the photo check found, with how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PhotoProblemView {
    pub code: String,
    /// `error` (must be fixed) or `warning` (may be submitted).
    pub severity: String,
    pub message: String,
    pub message_en: String,
}

/// The check of a photo on the device, before the driver confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PhotoCheckView {
    pub compliant: bool,
    pub problems: Vec<PhotoProblemView>,
    /// The 260×378 crop as it would be submitted (JPEG, base64), whenever one could be made.
    pub crop_jpeg_base64: Option<String>,
}

impl PhotoCheckView {
    pub fn of(verdict: &licence_photo::Verdict) -> PhotoCheckView {
        use base64::Engine;
        PhotoCheckView {
            compliant: verdict.compliant,
            problems: verdict
                .problems
                .iter()
                .map(|p| PhotoProblemView {
                    code: p.code.as_str().into(),
                    severity: p.severity.to_string(),
                    message: p.message.clone(),
                    message_en: p.message_en.clone(),
                })
                .collect(),
            crop_jpeg_base64: verdict
                .cropped_jpeg
                .as_deref()
                .map(|j| base64::engine::general_purpose::STANDARD.encode(j)),
        }
    }
}

/// An application saved on the device and where its sending stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OutboxView {
    pub id: i64,
    /// `waiting` (saved, will be sent), `sent`, or `failed` (refused; the driver must act).
    pub state: String,
    pub photo_source: String,
    pub created_at: i64,
    pub attempts: u32,
    /// Unix seconds of the next try while waiting.
    pub next_attempt_at: i64,
    pub application_id: Option<i64>,
    pub last_error: Option<String>,
}

impl OutboxView {
    pub fn of(item: &OutboxItem) -> OutboxView {
        let body: serde_json::Value = serde_json::from_str(&item.body).unwrap_or_default();
        let application_id = match item.state {
            ItemState::Sent { application_id } => Some(application_id),
            ItemState::Waiting | ItemState::Failed => None,
        };
        OutboxView {
            id: item.id,
            state: state_name((&item.state).into()).into(),
            photo_source: body["photo_source"].as_str().unwrap_or_default().into(),
            created_at: item.created_at,
            attempts: item.attempts,
            next_attempt_at: item.next_attempt_at,
            application_id,
            last_error: item.last_error.clone(),
        }
    }
}

/// Where the driver stands in the three steps of the home page: 注册 → 线上申请 → 出示使用.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStep {
    /// Not signed in, or not registered yet.
    Register,
    /// Signed in; may apply (or apply again after a rejection).
    Apply,
    /// An application is saved, sent, or under review.
    Waiting,
    /// Approved or issued: the e-licence can be shown.
    Show,
}

/// The home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HomeView {
    pub account: Option<AccountView>,
    pub step: JourneyStep,
    pub latest: Option<ApplicationView>,
    /// Applications saved on the device and waiting to be sent.
    pub pending: Vec<OutboxView>,
    /// The account and applications are as last fetched (no network).
    pub offline: bool,
    /// The platform's address this app talks to.
    pub server: String,
}

/// The code is on its way (registration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CodeSentView {
    pub challenge_id: String,
    pub expires_in: u64,
    pub resend_after: u64,
    pub mobile_masked: String,
}

/// What became of "submit": sent, or saved and waiting (a surge or no network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SubmitView {
    pub item: OutboxView,
    pub application: Option<ApplicationView>,
    /// Why it is not sent yet, when it is not (shown as "saved, will be sent automatically").
    pub waiting_reason: Option<AppError>,
}

/// A stage of a long action, sent to the UI as it happens (Tauri Channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Checking,
    Saved,
    Sending,
    Done,
}

/// A camera preview frame (small JPEG, base64) and, for a face, what the driver should change
/// before taking the photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PreviewFrame {
    pub jpeg_base64: String,
    pub width: u32,
    pub height: u32,
    /// Live framing advice (none while scanning a code, or before the first look).
    pub advice: Option<FramingAdviceView>,
}

/// What to change now, from a recent preview frame (licence-photo's `FramingAdvice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FramingAdviceView {
    /// `face_the_camera`, `only_you`, `more_light`, `less_light`, `hold_straight`,
    /// `look_straight`, `take_off_dark_glasses`, `open_your_eyes`, `avoid_glare`,
    /// `take_off_hat`, `move_closer`, `move_back`, `centre_your_face`, `ready`.
    pub code: String,
    pub message: String,
    pub message_en: String,
    /// Framed well: the photo can be taken.
    pub ready: bool,
}

impl From<licence_photo::FramingAdvice> for FramingAdviceView {
    fn from(a: licence_photo::FramingAdvice) -> Self {
        let (zh, en) = a.messages();
        FramingAdviceView {
            code: a.as_str().into(),
            message: zh.into(),
            message_en: en.into(),
            ready: a == licence_photo::FramingAdvice::Ready,
        }
    }
}

/// Bodies of the platform the UI shows as they come: one definition, in licence-api.
pub use licence_api::{IdCardReviewView, InboxMessageView};
