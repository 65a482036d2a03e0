//! 出示使用 (R4.1, R4.2): the e-licence on the driver's device.
//!
//! After approval the app registers this device's public key with the platform and receives
//! the signed credential bound to it. From then on the page needs no network: every
//! [`QR_REFRESH_SECONDS`] the device signs a fresh presentation with its key and draws the QR
//! code, black when the licence is in normal standing and red when it is not. When a network
//! is there, [`DriverApp::refresh_elicence`] fetches the trust list and the signed status list,
//! the live licence record, and renews the credential well before it ends or when the
//! registry's record of the licence has changed.

use std::sync::Arc;

use base64::Engine;
use image::ImageEncoder;
use licence_core::{DrivingLicence, LicenceStatus, Standing};
use licence_credential::{qr, Credential, DeviceKey, Presentation, StatusList, TrustList};
use serde::Deserialize;

use crate::api::decode;
use crate::app::{now, today, DriverApp};
use crate::store::StoredCredential;
use crate::views::{AppError, ElicenceView, HolderView, RefreshView, StandingView};
use crate::ClientError;

pub(crate) const TRUST_LIST: &str = "trust_list";
pub(crate) const STATUS_LIST: &str = "status_list";
/// A new QR code this often, on the device (two periods are what a verifier accepts).
pub const QR_REFRESH_SECONDS: u32 = 30;
/// The credential is renewed when less than this remains of it (it is issued for 7 days).
pub const RENEW_BEFORE: i64 = 3 * 86_400;
/// The trust list changes rarely; it is fetched again after this long.
const TRUST_LIST_REFRESH: i64 = 3600;
/// A credential whose licence record differs from the registry's is renewed, but not more
/// often than this.
const RENEW_ON_CHANGE_AFTER: i64 = 60;
/// Status information older than this cannot be relied on (the platform's maximum age).
const STANDING_MAX_AGE: i64 = 24 * 3600;
const REFRESHED_AT: &str = "elicence_refreshed_at";

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
        standing: match status.standing() {
            Standing::Normal => "normal",
            Standing::Abnormal => "abnormal",
            Standing::Invalid => "invalid",
        }
        .into(),
        codes: status.to_string(),
        text: status.names_zh(),
        text_en: status.names_en(),
        as_of,
    }
}

#[derive(Deserialize)]
struct Issued {
    credential: String,
    not_after: i64,
}

#[derive(Deserialize)]
struct RegisteredDevice {
    id: i64,
    public_key: String,
}

impl DriverApp {
    /// This device's key, from the vault (made and saved there on first use); kept in memory
    /// afterwards, so that a QR refresh never waits for the key store.
    pub(crate) fn device_key(&self) -> Result<Arc<DeviceKey>, AppError> {
        let mut cached = self.device.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = cached.as_ref() {
            return Ok(key.clone());
        }
        let key = Arc::new(crate::device::device_key(self.vault.as_ref())?);
        *cached = Some(key.clone());
        Ok(key)
    }

    /// The trust list as last fetched, and when.
    pub(crate) fn cached_trust_list(&self) -> Result<Option<(TrustList, i64)>, AppError> {
        Ok(self
            .store
            .verifier_data(TRUST_LIST)?
            .and_then(|(bytes, at)| TrustList::from_cbor(&bytes).ok().map(|t| (t, at))))
    }

    /// The status list as last fetched, its signature checked again against `trust`.
    pub(crate) fn cached_status_list(
        &self,
        trust: &TrustList,
    ) -> Result<Option<StatusList>, AppError> {
        Ok(self
            .store
            .verifier_data(STATUS_LIST)?
            .and_then(|(bytes, _)| StatusList::verify(&bytes, trust).ok()))
    }

    /// Fetches the trust list (when older than an hour) and the signed status list, and keeps
    /// them once they check out. Public data: no sign-in needed. Whether anything changed.
    pub async fn refresh_verifier_data(&self) -> Result<bool, AppError> {
        let now = now();
        let mut changed = false;
        let trust = match self.cached_trust_list()? {
            Some((trust, at)) if now - at < TRUST_LIST_REFRESH => trust,
            old => {
                let bytes = self.api.get_bytes("/api/v1/trust-list").await?;
                let trust = TrustList::from_cbor(&bytes).map_err(|e| {
                    ClientError::Unexpected(format!("the platform's trust list: {e}"))
                })?;
                changed |= old.map(|(t, _)| t) != Some(trust.clone());
                self.store.put_verifier_data(TRUST_LIST, &bytes, now)?;
                trust
            }
        };
        let bytes = self.api.get_bytes("/api/v1/status-list").await?;
        let list = StatusList::verify(&bytes, &trust).map_err(|e| {
            ClientError::Unexpected(format!("the platform's status list does not verify: {e}"))
        })?;
        // A new list every fetch: changed only when what it says changed.
        let before = self.cached_status_list(&trust)?.map(|mut b| {
            b.issued_at = list.issued_at;
            b
        });
        changed |= before.as_ref() != Some(&list);
        self.store.put_verifier_data(STATUS_LIST, &bytes, now)?;
        Ok(changed)
    }

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
            self.store.put_cached(REFRESHED_AT, &now.to_string(), now)?;
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

    fn needs_renewal(
        &self,
        stored: &StoredCredential,
        trust: &TrustList,
        key: &DeviceKey,
        now: i64,
    ) -> Result<bool, AppError> {
        let Ok(credential) = Credential::open(&stored.signed, trust) else {
            return Ok(true);
        };
        if credential.device_key != key.public_key() || stored.not_after - now < RENEW_BEFORE {
            return Ok(true);
        }
        let changed = self
            .store
            .cached_licence()?
            .is_some_and(|(live, _)| live.record() != credential.licence.record());
        Ok(changed && now - stored.fetched_at > RENEW_ON_CHANGE_AFTER)
    }

    /// This device's id on the platform for `account`, registering its public key if needed.
    async fn device_id(&self, account: i64, key: &DeviceKey, token: &str) -> Result<i64, AppError> {
        let public = key.public_key();
        if let Some((id, registered)) = self.store.device_registration(account)? {
            if registered == public {
                return Ok(id);
            }
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(&public);
        let body = serde_json::json!({"public_key": encoded, "name": device_name()});
        let id = match self
            .api
            .call(
                "POST",
                "/api/v1/me/devices",
                Some(token),
                Some(body.to_string()),
            )
            .await
        {
            Ok(answer) => decode::<RegisteredDevice>(answer)?.id,
            // Registered before, but this device forgot the id (its data was restored).
            Err(e) if e.code() == "device_already_registered" => {
                let list: Vec<RegisteredDevice> = decode(
                    self.api
                        .call("GET", "/api/v1/me/devices", Some(token), None)
                        .await?,
                )?;
                list.into_iter()
                    .find(|d| d.public_key == encoded)
                    .map(|d| d.id)
                    .ok_or_else(|| ClientError::Unexpected("the device is not listed".into()))?
            }
            Err(e) => return Err(self.forget_if_unauthorised(e)),
        };
        self.store.save_device_registration(account, id, &public)?;
        Ok(id)
    }

    async fn issue_credential(
        &self,
        account: i64,
        key: &DeviceKey,
        now: i64,
    ) -> Result<(), AppError> {
        let session = self.session()?;
        let trust = self
            .cached_trust_list()?
            .map(|(t, _)| t)
            .ok_or_else(|| ClientError::Network("the trust list is not here yet".into()))?;
        let mut retried = false;
        let answer = loop {
            let device = self.device_id(account, key, &session.token).await?;
            let body = serde_json::json!({ "device_id": device }).to_string();
            match self
                .api
                .call(
                    "POST",
                    "/api/v1/me/credential",
                    Some(&session.token),
                    Some(body),
                )
                .await
            {
                // Removed on the platform: register this device again, once.
                Err(e) if e.code() == "device_not_found" && !retried => {
                    self.store.forget_device_registration(account)?;
                    retried = true;
                }
                other => break other.map_err(|e| self.forget_if_unauthorised(e))?,
            }
        };
        let issued: Issued = decode(answer)?;
        let signed = base64::engine::general_purpose::STANDARD
            .decode(issued.credential.as_bytes())
            .map_err(|e| ClientError::Unexpected(format!("the credential is not base64: {e}")))?;
        // Checked before it is kept: the issuer on the trust list, bound to this device.
        let credential = Credential::open(&signed, &trust)
            .map_err(|e| ClientError::Unexpected(format!("the credential does not verify: {e}")))?;
        if credential.device_key != key.public_key() {
            return Err(ClientError::Unexpected(
                "the credential is bound to another device".into(),
            )
            .into());
        }
        self.store.save_credential(&StoredCredential {
            account_id: account,
            signed,
            not_after: issued.not_after,
            fetched_at: now,
        })?;
        Ok(())
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
        let credential = Credential::open(&stored.signed, &trust).map_err(|_| no_elicence())?;
        let key = self.device_key()?;
        let list = self.cached_status_list(&trust)?;
        let live = self.store.cached_licence()?;
        let standing = standing(
            &credential,
            stored.fetched_at,
            list.as_ref(),
            live.as_ref().map(|(l, at)| (l, *at)),
            now,
        );
        let refreshed_at = self
            .store
            .cached(REFRESHED_AT)?
            .and_then(|(v, _)| v.parse().ok());
        let red = matches!(standing.standing.as_str(), "abnormal" | "invalid");
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

/// The name this device is registered under (shown in the account's device list).
fn device_name() -> String {
    std::env::var("LICENCE_DEVICE_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty() && n.chars().count() <= 64)
        .unwrap_or_else(|| "电子驾驶证 App".into())
}
