//! 出示给其他核验方: the e-licence shown as an ISO 18013-5 mDL to a verifier that is not the
//! traffic police (a rental desk, an insurer, an age check, a reader abroad), with only what
//! the holder chooses.
//!
//! The holder picks a [`Disclosure`]; the page shows the device-engagement QR (`mdoc:` …) and
//! what that choice will show. The reader scans it and sends its request over the data
//! channel; [`DriverApp::mdoc_exchange`] takes the reader's message and returns the device's
//! answer. The channel is the caller's: BLE on a phone (docs/app.md), the test's stand-in on
//! a desktop. Everything on it is encrypted with the session's keys and the answer is signed
//! by this device's key over the session, so a relay learns nothing and cannot replay it.

use std::sync::Mutex;

use base64::Engine;
use ciborium::Value;
use licence_mdoc::session::HolderSession;
use licence_mdoc::{DeviceRequest, DeviceResponse, Disclosure, Element, IssuerSigned};

use crate::app::{now, DriverApp};
use crate::views::{AppError, MdocElementView, MdocExchangeView, MdocShareView};

use super::qr_png;

/// A share in progress: one engagement, one answer. The page's view is made once, when the
/// share starts; the answer adds what was shown to it.
pub(crate) struct Sharing {
    session: HolderSession,
    choice: Disclosure,
    view: MdocShareView,
}

/// Where the app keeps the share in progress.
pub(crate) type ShareSlot = Mutex<Option<Sharing>>;

fn no_mdoc() -> AppError {
    AppError::new(
        "no_mdoc",
        "此电子驾驶证尚不能向其他核验方出示：请联网后重新打开电子驾驶证页面以更新",
        "This e-licence cannot be shown to other verifiers yet: open the e-licence page online to update it",
    )
}

fn no_share() -> AppError {
    AppError::new(
        "no_share_in_progress",
        "没有正在进行的出示：请重新选择出示内容",
        "No share is in progress: choose what to show again",
    )
}

/// An element as the page lists it: the kind tells the UI how to word the value.
fn element_view(e: &Element) -> MdocElementView {
    let (kind, text) = match &e.value {
        Value::Text(t) => ("text", t.clone()),
        Value::Tag(1004 | 0, inner) => ("date", inner.as_text().unwrap_or_default().to_owned()),
        Value::Bool(b) => ("bool", b.to_string()),
        Value::Integer(i) => ("number", i128::from(*i).to_string()),
        Value::Bytes(_) => ("photo", String::new()),
        Value::Array(items) => (
            "list",
            items
                .iter()
                .filter_map(|item| {
                    let entries = item.as_map()?;
                    let field = |k: &str| entries.iter().find(|(key, _)| key.as_text() == Some(k));
                    let category = field("vehicle_category_code")?.1.as_text()?.to_owned();
                    let codes: Vec<String> = field("codes")
                        .and_then(|(_, c)| c.as_array())
                        .map(|codes| {
                            codes
                                .iter()
                                .filter_map(|c| {
                                    c.as_map()?.iter().find_map(|(k, v)| {
                                        (k.as_text() == Some("code")).then(|| v.as_text())?
                                    })
                                })
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    Some(if codes.is_empty() {
                        category
                    } else {
                        format!("{category} ({})", codes.join(", "))
                    })
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => ("other", String::new()),
    };
    MdocElementView {
        namespace: e.namespace.clone(),
        identifier: e.identifier.clone(),
        kind: kind.into(),
        text,
    }
}

impl DriverApp {
    /// The mDL kept with this account's credential, once the e-licence itself may be shown
    /// (the same rules as the QR: not withdrawn, this device's key, not expired).
    fn shareable(&self) -> Result<IssuerSigned, AppError> {
        let shown = self.elicence_at(now())?;
        if shown.qr_png_base64.is_none() {
            return Err(shown.notice.unwrap_or_else(no_mdoc));
        }
        let account = self
            .store
            .session()?
            .ok_or_else(crate::app::not_signed_in)?
            .account_id;
        let mdoc = self
            .store
            .credential(account)?
            .and_then(|c| c.mdoc)
            .ok_or_else(no_mdoc)?;
        IssuerSigned::from_bytes(&mdoc).map_err(|_| no_mdoc())
    }

    /// Starts showing the e-licence to another verifier with `choice` (`everything`,
    /// `rental_desk`, `age_over_18`): a fresh engagement, its QR, and what it will show.
    pub fn mdoc_share(&self, choice: &str) -> Result<MdocShareView, AppError> {
        let choice = Disclosure::from_code(choice).ok_or_else(|| {
            AppError::new(
                "bad_disclosure_choice",
                "请选择出示内容：全部信息、租车保险或仅年龄",
                "Choose what to show: everything, rental and insurance, or age only",
            )
        })?;
        let issued = self.shareable()?;
        let session = HolderSession::start(&mut rand::rngs::OsRng);
        let view = share_view(&issued, choice, &session.qr_text())?;
        *self.sharing.lock().unwrap_or_else(|e| e.into_inner()) = Some(Sharing {
            session,
            choice,
            view: view.clone(),
        });
        Ok(view)
    }

    /// The share in progress, and what was shown once the reader has asked.
    pub fn mdoc_share_status(&self) -> Result<MdocShareView, AppError> {
        self.shareable()?;
        let slot = self.sharing.lock().unwrap_or_else(|e| e.into_inner());
        Ok(slot.as_ref().ok_or_else(no_share)?.view.clone())
    }

    /// Ends the share (the page was left): a later message finds none.
    pub fn mdoc_share_stop(&self) {
        *self.sharing.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The reader's SessionEstablishment (base64) in, the device's SessionData (base64) out:
    /// of what the reader asked, what the holder's choice allows, signed by this device over
    /// the session. One answer per engagement: a second message needs a new share.
    pub fn mdoc_exchange(&self, message_base64: &str) -> Result<MdocExchangeView, AppError> {
        let message = base64::engine::general_purpose::STANDARD
            .decode(message_base64.trim())
            .map_err(|_| session_failed())?;
        let issued = self.shareable()?;
        let key = self.device_key()?;
        let signing = p256::ecdsa::SigningKey::from_slice(&key.secret_bytes())
            .map_err(|_| session_failed())?;
        let mut slot = self.sharing.lock().unwrap_or_else(|e| e.into_inner());
        let sharing = slot.as_mut().ok_or_else(no_share)?;
        if sharing.view.shared.is_some() {
            return Err(AppError::new(
                "share_already_answered",
                "本次出示已完成：如需再次出示，请重新选择出示内容",
                "This share has been answered: choose what to show again to share once more",
            ));
        }
        let request = sharing
            .session
            .establish(&message)
            .map_err(|_| session_failed())?;
        let request = DeviceRequest::from_bytes(&request).map_err(|_| session_failed())?;
        let transcript = sharing
            .session
            .transcript()
            .ok_or_else(session_failed)?
            .clone();
        let (response, shown) = DeviceResponse::build(
            &issued,
            request.mdl(),
            sharing.choice,
            &signing,
            &transcript,
        )
        .map_err(|_| session_failed())?;
        let answer = sharing
            .session
            .answer(&response)
            .map_err(|_| session_failed())?;
        let shown: Vec<MdocElementView> = issued
            .elements()
            .iter()
            .filter(|e| shown.contains(&(e.namespace.clone(), e.identifier.clone())))
            .map(element_view)
            .collect();
        sharing.view.shared = Some(shown.clone());
        Ok(MdocExchangeView {
            message_base64: base64::engine::general_purpose::STANDARD.encode(answer),
            shown,
        })
    }
}

fn session_failed() -> AppError {
    AppError::new(
        "mdoc_session_failed",
        "核验设备发来的请求无法识别：请让对方重新扫码",
        "The verifier's request could not be read: ask them to scan again",
    )
}

fn share_view(
    issued: &IssuerSigned,
    choice: Disclosure,
    qr_text: &str,
) -> Result<MdocShareView, AppError> {
    let (png, modules) = qr_png(qr_text, false)?;
    Ok(MdocShareView {
        choice: choice.code().into(),
        qr_png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        qr_modules: modules,
        qr_text: qr_text.to_owned(),
        shown: issued
            .elements()
            .iter()
            .filter(|e| choice.allows(&e.namespace, &e.identifier))
            .map(element_view)
            .collect(),
        shared: None,
    })
}
