//! At the roadside: the e-licence page (出示使用) and the officer's verifier (执勤民警核验).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::AppError;

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
    /// Every class the licence permits (those held and all they include), for the 副页.
    pub permitted: Vec<VehicleClassView>,
}

/// One 准驾车型 code with what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VehicleClassView {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// Printed on the licence (not only included by another class).
    pub held: bool,
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
            permitted: r
                .classes
                .permitted()
                .held()
                .map(|c| VehicleClassView {
                    code: c.code().into(),
                    name: c.name_zh().into(),
                    name_en: c.name_en().into(),
                    held: r.classes.holds(c),
                })
                .collect(),
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
    /// The approved photo in full colour (JPEG, base64) for the holder's own screen, checked
    /// against the digest the credential signs; none for a credential without one (then the
    /// holder's small portrait is shown).
    pub photo_jpeg_base64: Option<String>,
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
    pub live_status_text_en: Option<String>,
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
    pub status_text_en: Option<String>,
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

/// One element a verifier is shown (出示给其他核验方). `kind` tells the page how to word
/// `text`: `text`, `date` (YYYY-MM-DD), `bool` (`true`/`false`), `number`, `photo` (no text),
/// `list` (driving categories, e.g. `B (78), B1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MdocElementView {
    pub namespace: String,
    /// The standard's element identifier, e.g. `family_name`, `age_over_18`.
    pub identifier: String,
    pub kind: String,
    pub text: String,
}

/// The page that shows the e-licence to another verifier: the holder's choice, the
/// device-engagement QR, what it will show, and what was shown once the reader asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MdocShareView {
    /// `everything`, `rental_desk` or `age_over_18`.
    pub choice: String,
    pub qr_png_base64: String,
    pub qr_modules: u32,
    /// `mdoc:` + base64url of the DeviceEngagement.
    pub qr_text: String,
    pub shown: Vec<MdocElementView>,
    pub shared: Option<Vec<MdocElementView>>,
}

/// The device's answer to a reader's message: SessionData, base64, and what it showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MdocExchangeView {
    pub message_base64: String,
    pub shown: Vec<MdocElementView>,
}
