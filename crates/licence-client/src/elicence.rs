//! 出示使用 (R4.1, R4.2): the e-licence on the driver's device.
//!
//! After approval the app registers this device's public key with the platform and receives
//! the signed credential bound to it. From then on the page needs no network: every
//! [`QR_REFRESH_SECONDS`] the device signs a fresh presentation with its key and draws the QR
//! code, black when the licence is in normal standing and red when it is not. When a network
//! is there, [`DriverApp::refresh_elicence`] fetches the trust list and the signed status list,
//! the live licence record, and renews the credential well before it ends or when the
//! registry's record of the licence has changed.
//!
//! The credential itself (the device key, the device's registration, issuing and renewing)
//! is `elicence/credential.rs`'s; the lists it is checked with are [`crate::verifier_data`]'s.

use base64::Engine;
use image::ImageEncoder;
use licence_core::{DrivingLicence, LicenceStatus, Standing};
use licence_credential::{qr, Credential, Presentation, StatusList};

use crate::app::{now, today, Cached, DriverApp};
use crate::views::{AppError, ElicenceView, HolderView, RefreshView, StandingView};
use crate::ClientError;
pub(crate) use share::ShareSlot;

mod credential;
mod share;

/// A new QR code this often, on the device (two periods are what a verifier accepts).
pub const QR_REFRESH_SECONDS: u32 = 30;
/// The credential is renewed when less than this remains of it (it is issued for 7 days).
pub const RENEW_BEFORE: i64 = 3 * 86_400;
/// Status information older than this cannot be relied on (the platform's maximum age).
const STANDING_MAX_AGE: i64 = 24 * 3600;

fn no_elicence() -> AppError {
    AppError {
        next: Some("apply".into()),
        ..AppError::new(
            "no_elicence",
            "本机还没有电子驾驶证：申请审核通过后，联网打开此页即可自动领取",
            "There is no e-licence on this device yet: once your application is approved, open \
             this page with a network and it is fetched automatically",
        )
    }
}

fn store_error(e: impl std::fmt::Display) -> AppError {
    ClientError::Store(e.to_string()).into()
}

/// The QR text as a PNG with one pixel per module (the quiet zone included), and its width
/// in modules: the screen scales it by a whole number, so every module stays sharp.
pub fn qr_png(text: &str, red: bool) -> Result<(Vec<u8>, u32), AppError> {
    let colour = if red {
        qr::QrColour::Red
    } else {
        qr::QrColour::Black
    };
    let image = qr::render(text, colour, 1).map_err(store_error)?;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut png,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgb8,
    )
    .map_err(store_error)?;
    Ok((png, image.width()))
}

/// The newest word on the licence's standing: the signed status list or the registry's
/// record as last fetched, whichever the platform said last; the credential's own record at
/// issuance when there is nothing else. Older than a day, it is `unknown`.
pub fn standing(
    credential: &Credential,
    issued_at: i64,
    list: Option<&StatusList>,
    live: Option<(&DrivingLicence, i64)>,
    now: i64,
) -> StandingView {
    let day = today();
    let from_list = list.and_then(|l| {
        let (standing, codes) = l.get(credential.status_index)?;
        let codes = match standing {
            Standing::Normal => LicenceStatus::NORMAL,
            _ => codes?,
        };
        Some((codes, l.issued_at))
    });
    let from_record = live
        .filter(|(l, _)| l.number() == credential.licence.number())
        .map(|(l, at)| (l.status_on(day), at));
    // The newer word wins; on a tie, the signed list (the last of equal maxima is taken).
    let (status, as_of) = [from_record, from_list]
        .into_iter()
        .flatten()
        .max_by_key(|(_, at)| *at)
        .unwrap_or_else(|| (credential.licence.status_on(day), issued_at));
    if now - as_of > STANDING_MAX_AGE {
        return StandingView {
            standing: "unknown".into(),
            codes: String::new(),
            text: "状态未知：超过一天未联网更新".into(),
            text_en: "Unknown: not updated online for over a day".into(),
            as_of,
        };
    }
    StandingView {
        standing: status.standing().as_str().into(),
        codes: status.to_string(),
        text: status.names_zh(),
        text_en: status.names_en(),
        as_of,
    }
}

impl DriverApp {
    /// Brings the e-licence up to date when there is a network: the lists, the live record,
    /// and the credential (fetched after approval, renewed before it ends, when the registry's
    /// record changed, or when this device's key is not the one it is bound to). The app's
    /// background loop calls this; the page calls it when opened.
    pub async fn refresh_elicence(&self) -> Result<RefreshView, AppError> {
        let quiet = RefreshView {
            changed: false,
            issued: false,
            problem: None,
        };
        let Ok(session) = self.session() else {
            return Ok(quiet);
        };
        let stored = self.store.credential(session.account_id)?;
        // Nothing to show until an application is approved: ask for nothing more.
        if stored.is_none() && !self.has_approval().await {
            return Ok(quiet);
        }
        let (mut changed, mut problem) = match self.refresh_verifier_data().await {
            Ok(changed) => (changed, None),
            Err(e) => (false, Some(e)),
        };
        // The live record, for the fields and the standing.
        let before = self.store.cached_licence()?.map(|(l, _)| l);
        let _ = self.my_licence().await;
        changed |= self.store.cached_licence()?.map(|(l, _)| l) != before;
        let key = self.device_key()?;
        let now = now();
        let needed = match (&stored, self.cached_trust_list()?) {
            (None, Some(_)) => true,
            (Some(c), Some((trust, _))) => self.needs_renewal(c, &trust, &key, now)?,
            // Nothing to check it with yet.
            (_, None) => false,
        };
        let mut issued = false;
        if needed {
            match self.issue_credential(session.account_id, &key, now).await {
                Ok(()) => {
                    issued = true;
                    changed = true;
                }
                Err(e) => problem = Some(e),
            }
        }
        if problem.is_none() {
            self.keep(Cached::ElicenceRefreshedAt, &now)?;
        }
        Ok(RefreshView {
            changed,
            issued,
            problem,
        })
    }

    /// Whether the account has an approved (or issued) application, as the platform says now.
    async fn has_approval(&self) -> bool {
        self.applications().await.is_ok_and(|list| {
            list.iter()
                .any(|a| matches!(a.status.as_str(), "approved" | "issued"))
        })
    }

    /// The e-licence page now: see [`DriverApp::elicence_at`].
    pub fn elicence(&self) -> Result<ElicenceView, AppError> {
        self.elicence_at(now())
    }

    /// The e-licence page at `now`, made on the device alone: the fields and portrait as
    /// signed, the standing, and a QR code freshly signed by this device's key.
    pub fn elicence_at(&self, now: i64) -> Result<ElicenceView, AppError> {
        // A lapsed session still shows the licence: the credential is bound to the device.
        let account = self
            .store
            .session()?
            .ok_or_else(crate::app::not_signed_in)?
            .account_id;
        let stored = self.store.credential(account)?.ok_or_else(no_elicence)?;
        let (trust, _) = self.cached_trust_list()?.ok_or_else(no_elicence)?;
        let (credential, kid) =
            Credential::open_with_kid(&stored.signed, &trust).map_err(|_| no_elicence())?;
        let key = self.device_key()?;
        // Only the list of the key that signed this credential speaks for it.
        let list = self
            .cached_status_lists(&trust)?
            .into_iter()
            .find(|l| l.issuer() == Some(kid.as_str()));
        let live = self.store.cached_licence()?;
        let standing = standing(
            &credential,
            stored.fetched_at,
            list.as_ref(),
            live.as_ref().map(|(l, at)| (l, *at)),
            now,
        );
        // Revoked, annulled or cancelled (吊销、撤销、注销): the licence no longer exists, so
        // the e-licence is not shown at all; the driver is told why and where to ask.
        if standing.standing == Standing::Invalid.as_str() {
            return Err(AppError::new(
                "licence_withdrawn",
                &format!(
                    "您的驾驶证状态为“{}”，电子驾驶证已停止使用、不再显示；如有疑问，请携带身份证到车管所窗口咨询",
                    standing.text
                ),
                &format!(
                    "Your driving licence is {}: the e-licence is withdrawn and no longer shown. \
                     Ask at a vehicle management office counter with your ID card",
                    standing.text_en
                ),
            ));
        }
        let refreshed_at = self.cached(Cached::ElicenceRefreshedAt)?;
        let red = matches!(
            standing.standing.parse(),
            Ok(Standing::Abnormal | Standing::Invalid)
        );
        let mut notice = None;
        let usable = if credential.device_key != key.public_key() {
            notice = Some(AppError::new(
                "device_key_changed",
                "本机密钥已更换，电子驾驶证需重新领取：请联网后重新打开此页",
                "This device's key has changed; the e-licence must be fetched again: open this \
                 page with a network",
            ));
            false
        } else if now > stored.not_after {
            notice = Some(AppError::new(
                "elicence_expired",
                "电子驾驶证已过期，未能自动更新：请联网后重新打开此页",
                "The e-licence has expired and could not be renewed: open this page with a network",
            ));
            false
        } else {
            if stored.not_after - now < RENEW_BEFORE / 3 {
                let until = time::OffsetDateTime::from_unix_timestamp(stored.not_after)
                    .map(|t| t.to_offset(licence_core::CHINA_OFFSET))
                    .map(|t| format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute()))
                    .unwrap_or_default();
                notice = Some(AppError::new(
                    "elicence_expiring",
                    &format!("电子驾驶证将于 {until} 到期，尚未能更新：请尽快联网"),
                    &format!("The e-licence ends at {until} and could not be renewed yet: go online soon"),
                ));
            }
            true
        };
        let (qr_png_base64, qr_modules) = if usable {
            let text = Presentation::generate(&stored.signed, &key, now).to_text();
            let (png, modules) = qr_png(&text, red)?;
            (
                Some(base64::engine::general_purpose::STANDARD.encode(png)),
                modules,
            )
        } else {
            (None, 0)
        };
        Ok(ElicenceView {
            holder: HolderView::of(&credential),
            photo_jpeg_base64: stored
                .photo
                .as_ref()
                .map(|p| base64::engine::general_purpose::STANDARD.encode(p)),
            standing,
            qr_png_base64,
            qr_modules,
            qr_red: red,
            generated_at: now,
            refresh_seconds: QR_REFRESH_SECONDS,
            valid_until: stored.not_after,
            refreshed_at,
            notice,
            key_storage: self.vault.kind().into(),
        })
    }
}
