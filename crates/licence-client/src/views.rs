//! What the app's screens show, as the UI receives it. Every type here crosses to the
//! TypeScript side: `ui/src/generated/types.ts` is generated from them (see
//! [`typescript_declarations`]), so the two sides cannot drift apart.

use licence_core::{DrivingLicence, Problem, Sex, Standing};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{ItemState, OutboxItem};
use crate::ClientError;

/// An error as the UI shows it: a stable `code`, the driver's message in Chinese and English,
/// and what to do next when the platform said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppError {
    pub code: String,
    pub message: String,
    pub message_en: String,
    /// Seconds to wait before trying again (a surge).
    pub retry_after: Option<u64>,
    /// The step to offer, e.g. `online_registration` after repeated face failures (R2.2).
    pub next: Option<String>,
}

impl AppError {
    pub fn new(code: &str, message: &str, message_en: &str) -> AppError {
        AppError {
            code: code.into(),
            message: message.into(),
            message_en: message_en.into(),
            retry_after: None,
            next: None,
        }
    }

    /// A domain rule broken by what was typed (licence-core's bilingual problems).
    pub fn of_problem(p: &dyn Problem) -> AppError {
        AppError::new(p.code(), &p.message_zh(), &p.message_en())
    }
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> AppError {
        match e {
            ClientError::Network(detail) => AppError {
                message_en: format!(
                    "Cannot reach the traffic police platform; check the network and try again ({detail})"
                ),
                ..AppError::new("network", "无法连接交管平台，请检查网络后重试", "")
            },
            ClientError::Server {
                status,
                code,
                message,
                message_en,
                retry_after,
                next,
            } => AppError {
                message: if message.is_empty() {
                    format!("交管平台暂时无法处理（HTTP {status}），请稍后重试")
                } else {
                    message
                },
                message_en: if message_en.is_empty() {
                    format!("The platform could not handle this (HTTP {status}); try again later")
                } else {
                    message_en
                },
                code,
                retry_after,
                next,
            },
            ClientError::Store(detail) => AppError::new(
                "local_store",
                "本机数据保存失败，请检查存储空间后重试",
                &format!("The app could not save on this device; check free space ({detail})"),
            ),
            ClientError::Unexpected(detail) => AppError::new(
                "unexpected_answer",
                "收到无法识别的数据，请更新应用或稍后重试",
                &format!("An answer the app does not understand; update the app or try later ({detail})"),
            ),
        }
    }
}

/// Why a business is not open to the account, and how to change that (R2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Denial {
    pub code: String,
    pub message: String,
    pub message_en: String,
}

/// One business and whether this account may use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FunctionView {
    /// e.g. `electronic_licence`
    pub function: String,
    pub name: String,
    pub name_en: String,
    pub allowed: bool,
    pub denial: Option<Denial>,
}

/// The signed-in account (我的).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountView {
    pub id: i64,
    /// `face_signed` (面签用户), `online_registered` (在线注册用户) or `unit` (单位用户).
    pub kind: String,
    pub kind_name: String,
    pub name: String,
    pub id_number_masked: Option<String>,
    pub mobile_masked: String,
    pub functions: Vec<FunctionView>,
}

/// A reviewer's reason for a rejection, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReasonView {
    pub code: String,
    pub text: String,
    pub note: Option<String>,
}

/// An application and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApplicationView {
    pub id: i64,
    /// submitted / under_review / approved / rejected / issued / withdrawn
    pub status: String,
    pub status_name: String,
    pub photo_source: String,
    pub submitted_at: i64,
    /// The review deadline (1 working day), Unix seconds.
    pub due_at: i64,
    pub overdue: bool,
    pub reasons: Vec<ReasonView>,
}

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
                    severity: match p.severity {
                        licence_photo::Severity::Warning => "warning",
                        _ => "error",
                    }
                    .into(),
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
        let (state, application_id) = match item.state {
            ItemState::Waiting => ("waiting", None),
            ItemState::Sent { application_id } => ("sent", Some(application_id)),
            ItemState::Failed => ("failed", None),
        };
        OutboxView {
            id: item.id,
            state: state.into(),
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

/// A message in 消息.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InboxMessageView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub created_at: i64,
    pub read: bool,
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

/// A camera preview frame (small JPEG, base64) and whether a face is framed within the guide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PreviewFrame {
    pub jpeg_base64: String,
    pub width: u32,
    pub height: u32,
}

/// An ID card review (R2.6) and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IdCardReviewView {
    pub id: i64,
    /// pending / approved / rejected
    pub state: String,
    pub reason: Option<String>,
    pub submitted_at: i64,
    pub decided_at: Option<i64>,
}

/// The licence's fields as signed in the credential, in full: what the e-licence page and an
/// officer's verifier show (R4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HolderView {
    /// 证号 (= the ID number).
    pub number: String,
    pub name: String,
    pub sex: String,
    pub nationality: String,
    pub birth_date: String,
    pub address: String,
    pub first_issued: String,
    pub classes: String,
    pub validity: String,
    pub points: u8,
    /// The status codes at issuance, e.g. `A`; the live standing is told apart.
    pub status: String,
    pub issuing_authority: String,
    pub file_number: String,
    /// The signed portrait (small greyscale JPEG, base64).
    pub portrait_jpeg_base64: String,
}

impl HolderView {
    pub fn of(credential: &licence_credential::Credential) -> HolderView {
        use base64::Engine;
        let licence = &credential.licence;
        let r = licence.record();
        HolderView {
            number: r.number.to_string(),
            name: r.name.as_str().to_owned(),
            sex: licence.sex().name_zh().into(),
            nationality: r.nationality.clone(),
            birth_date: licence.birth_date().to_string(),
            address: r.address.clone(),
            first_issued: r.first_issued.to_string(),
            classes: r.classes.to_string(),
            validity: r.validity.to_string(),
            points: r.points.value(),
            status: r.status.to_string(),
            issuing_authority: r.issuing_authority.clone(),
            file_number: r.file_number.to_string(),
            portrait_jpeg_base64: base64::engine::general_purpose::STANDARD
                .encode(credential.portrait_for_display()),
        }
    }
}

/// A licence's standing as the app can tell it, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StandingView {
    /// `normal`, `abnormal` (a red QR), `invalid`, or `unknown`.
    pub standing: String,
    /// The status codes, e.g. `B`.
    pub codes: String,
    /// e.g. `正常`, `超分`.
    pub text: String,
    pub text_en: String,
    /// Unix seconds: when the platform last said so.
    pub as_of: i64,
}

/// 出示使用: the e-licence page, made on the device with no network needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ElicenceView {
    pub holder: HolderView,
    pub standing: StandingView,
    /// The QR code (PNG, one pixel per module with the quiet zone, base64), or none when
    /// the credential has expired and could not be renewed.
    pub qr_png_base64: Option<String>,
    /// The QR image's width in modules, for drawing it at a whole number of pixels a module.
    pub qr_modules: u32,
    /// Red when the licence is not in normal standing (R4.2).
    pub qr_red: bool,
    /// Unix seconds: when this QR was made; it is remade every `refresh_seconds`.
    pub generated_at: i64,
    pub refresh_seconds: u32,
    /// Unix seconds: the credential's end; the app renews it well before.
    pub valid_until: i64,
    /// When the status and credential were last refreshed from the platform.
    pub refreshed_at: Option<i64>,
    /// Something the driver must know: renewal failed, expired, key changed.
    pub notice: Option<AppError>,
    /// Where the device key rests: `system_keyring` or `file`.
    pub key_storage: String,
}

/// What a refresh of the e-licence data did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RefreshView {
    /// Something shown changed (a new credential, a new status): show again.
    pub changed: bool,
    /// The credential was issued or renewed just now.
    pub issued: bool,
    /// Why part of it could not be done (no network, not approved yet …).
    pub problem: Option<AppError>,
}

/// An officer signed in on this device, and how fresh the verifier's data is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfficerView {
    pub signed_in: bool,
    pub name: Option<String>,
    pub username: Option<String>,
    pub session_expires_at: Option<i64>,
    /// When the trust list was fetched; none: verification cannot work yet.
    pub trust_list_at: Option<i64>,
    /// When the status list was issued by the platform.
    pub status_list_issued_at: Option<i64>,
    /// The status list may still be relied on (within its maximum age).
    pub status_list_fresh: bool,
}

/// A verdict and its light (green / amber / red), in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VerdictView {
    pub light: String,
    /// licence-credential's code, e.g. `valid`, `presentation_too_old`.
    pub verdict: String,
    pub text: String,
    pub text_en: String,
}

impl VerdictView {
    pub fn of(code: licence_credential::VerdictCode) -> VerdictView {
        let (text, text_en) = code.describe();
        VerdictView {
            light: code.light().as_str().into(),
            verdict: code.as_str().into(),
            text: text.into(),
            text_en: text_en.into(),
        }
    }
}

/// The platform's online check of the same QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OnlineCheckView {
    pub result: VerdictView,
    /// The registry's status now, e.g. `B`, in words, and the points.
    pub live_status: Option<String>,
    pub live_status_text: Option<String>,
    pub live_points: Option<u32>,
}

/// What an officer sees after scanning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VerificationView {
    /// The result to act on: the online check's when there was one, else the offline one.
    pub result: VerdictView,
    /// The verification on this device with the cached lists (works with no network).
    pub offline: VerdictView,
    pub online: Option<OnlineCheckView>,
    /// Why there is no online check (no network, not signed in online).
    pub online_problem: Option<AppError>,
    /// Whose licence it is, when the issuer's signature is good (even if a later step fails).
    pub holder: Option<HolderView>,
    /// The licence's standing in the status list, when it was looked up.
    pub status_codes: Option<String>,
    pub status_text: Option<String>,
    /// When the QR code was made on the holder's phone.
    pub generated_at: Option<i64>,
    /// How fresh the offline status information is.
    pub status_list_issued_at: Option<i64>,
    pub status_list_fresh: bool,
    pub checked_at: i64,
}

/// What a camera scan came to: a verification, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScanOutcome {
    pub verification: Option<VerificationView>,
    pub error: Option<AppError>,
}

/// Every declaration of this module, in one TypeScript file (numbers are JSON numbers).
pub fn typescript_declarations() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        AppError::decl(&cfg),
        Denial::decl(&cfg),
        FunctionView::decl(&cfg),
        AccountView::decl(&cfg),
        ReasonView::decl(&cfg),
        ApplicationView::decl(&cfg),
        LicenceView::decl(&cfg),
        PhotoProblemView::decl(&cfg),
        PhotoCheckView::decl(&cfg),
        OutboxView::decl(&cfg),
        JourneyStep::decl(&cfg),
        HomeView::decl(&cfg),
        InboxMessageView::decl(&cfg),
        CodeSentView::decl(&cfg),
        SubmitView::decl(&cfg),
        Progress::decl(&cfg),
        PreviewFrame::decl(&cfg),
        IdCardReviewView::decl(&cfg),
        HolderView::decl(&cfg),
        StandingView::decl(&cfg),
        ElicenceView::decl(&cfg),
        RefreshView::decl(&cfg),
        OfficerView::decl(&cfg),
        VerdictView::decl(&cfg),
        OnlineCheckView::decl(&cfg),
        VerificationView::decl(&cfg),
        ScanOutcome::decl(&cfg),
        crate::app::RegistrationPath::decl(&cfg),
        crate::app::PhotoSource::decl(&cfg),
        crate::app::Field::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/licence-client/src/views.rs by\n\
         // `UPDATE_TS=1 cargo test -p licence-client --lib views`. Do not edit.\n",
    );
    for d in decls {
        out.push_str("\nexport ");
        out.push_str(&d);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI's copy is what the Rust types say; `UPDATE_TS=1` rewrites it after a change.
    #[test]
    fn the_ui_types_are_generated_from_these() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ui/src/generated/types.ts");
        let expected = typescript_declarations();
        if std::env::var_os("UPDATE_TS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &expected).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == expected,
            "ui/src/generated/types.ts is out of date: run \
             `UPDATE_TS=1 cargo test -p licence-client --lib views`"
        );
    }

    #[test]
    fn errors_carry_the_platform_message_or_a_plain_one() {
        let e = AppError::from(ClientError::Network("connection refused".into()));
        assert_eq!(e.code, "network");
        assert_eq!(e.message, "无法连接交管平台，请检查网络后重试");
        assert!(e.message_en.contains("connection refused"));
        let e = AppError::from(ClientError::Server {
            status: 503,
            code: "busy".into(),
            message: String::new(),
            message_en: String::new(),
            retry_after: Some(3),
            next: None,
        });
        assert_eq!(
            (e.code.as_str(), e.retry_after, e.message.as_str()),
            (
                "busy",
                Some(3),
                "交管平台暂时无法处理（HTTP 503），请稍后重试"
            )
        );
    }
}
