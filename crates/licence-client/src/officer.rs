//! 执勤民警核验 (R4.3): the officer's verifier in the same app.
//!
//! An officer signs in once (accounts are made by an administrator in the console), which
//! also fetches the trust list and the signed status list. From then on a QR code — read
//! from a camera frame or a picture file — is verified **on the device**: the issuer's
//! signature, the holder device's signature and the code's age, and the licence's standing
//! in the cached status list. When there is a network the platform's online check of the same
//! code is asked too, with the registry's live status; the officer is shown the worse of the
//! two ([`shown_verdict`]): a network answer never turns a local red green.
//! Finding the code in a frame or a picture is `officer/reading.rs`'s.

use base64::Engine;
use licence_credential::{StatusList, StatusReport, TrustList, VerdictCode, Verification};

use crate::app::{now, DriverApp};
use crate::store::OfficerSession;
use crate::views::{
    AppError, HolderView, OfficerView, OnlineCheckView, VerdictView, VerificationView,
};
use crate::ClientError;

mod reading;

use reading::picture_unreadable;
pub use reading::{read_frame, read_picture, MAX_PICTURE_BYTES};

/// The answer when no officer is signed in on this device.
pub fn officer_required() -> AppError {
    AppError::new(
        "officer_sign_in_required",
        "请先以执勤民警身份登录（需联网一次）",
        "Sign in as an officer first (needs a network once)",
    )
}

/// Offline verification: what the officer's device says with its cached lists at `now` (the
/// status list of each issuer key; each speaks for its own key's credentials).
pub fn verify_offline(
    text: &str,
    trust: &TrustList,
    lists: &[StatusList],
    now: i64,
) -> Verification {
    licence_credential::verify(
        text,
        trust,
        lists,
        now,
        licence_credential::VerifyOptions::default(),
    )
}

/// What the officer is shown: the worse light of the offline and the online verdict, the
/// offline one on a tie, so a network answer (forged, or from a lagging server) never turns a
/// red code green or amber. The one exception is an amber offline verdict (genuine, status
/// unknown for want of a fresh list): its own words say "check online", and the online answer,
/// with the registry's live status, settles it either way.
pub fn shown_verdict(offline: VerdictCode, online: Option<VerdictCode>) -> VerdictCode {
    let rank = |v: VerdictCode| match v.light() {
        licence_credential::Light::Green => 0,
        licence_credential::Light::Amber => 1,
        licence_credential::Light::Red => 2,
    };
    match online {
        Some(online) if offline == VerdictCode::StatusUnknown => online,
        Some(online) if rank(online) > rank(offline) => online,
        _ => offline,
    }
}

/// The newest of the status lists held: how fresh the device's word on standing is.
fn newest(lists: &[StatusList]) -> Option<&StatusList> {
    lists.iter().max_by_key(|l| l.issued_at)
}

/// A status, e.g. `B`, in words, Chinese and English: `超分`, `12-point limit reached`.
fn status_words(codes: &str) -> Option<(String, String)> {
    codes
        .parse::<licence_core::LicenceStatus>()
        .ok()
        .map(|s| (s.names_zh(), s.names_en()))
}

impl DriverApp {
    /// Signs an officer in on this device, then fetches the lists for offline checks.
    pub async fn officer_sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<OfficerView, AppError> {
        let username = username.trim();
        if username.is_empty() || password.is_empty() {
            return Err(AppError::new(
                "missing_credentials",
                "请输入警号（账号）和密码",
                "Enter the officer account and the password",
            ));
        }
        let request = licence_api::OfficerSignIn {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let signed_in = self.api.request(&request, None).await?;
        self.store.save_officer_session(&OfficerSession {
            token: self.token_seal()?.seal(&signed_in.token),
            expires_at: signed_in.expires_at,
            name: signed_in.name,
            username: username.to_owned(),
        })?;
        self.refresh_verifier_data().await?;
        self.officer()
    }

    /// Signs the officer out of this device, and on the platform of this session or
    /// (`everywhere`) of every officer session of theirs (best effort: without a network,
    /// only here). The lists stay: they are public.
    pub async fn officer_sign_out(&self, everywhere: bool) -> Result<(), AppError> {
        if let Ok(session) = self.on_duty() {
            let _ = if everywhere {
                self.quick
                    .exchange_with(
                        &licence_api::endpoint::OfficerSignOutEverywhere,
                        Some(&session.token),
                    )
                    .await
            } else {
                self.quick
                    .exchange_with(&licence_api::endpoint::OfficerSignOut, Some(&session.token))
                    .await
            };
        }
        Ok(self.store.clear_officer_session()?)
    }

    /// Who is signed in as an officer here, and how fresh the verifier's data is.
    pub fn officer(&self) -> Result<OfficerView, AppError> {
        let session = self
            .store
            .officer_session()?
            .filter(|s| s.expires_at > now());
        let trust = self.cached_trust_list()?;
        let lists = match &trust {
            Some((t, _)) => self.cached_status_lists(t)?,
            None => Vec::new(),
        };
        let list = newest(&lists);
        Ok(OfficerView {
            signed_in: session.is_some(),
            name: session.as_ref().map(|s| s.name.clone()),
            username: session.as_ref().map(|s| s.username.clone()),
            session_expires_at: session.as_ref().map(|s| s.expires_at),
            trust_list_at: trust.map(|(_, at)| at),
            status_list_issued_at: list.as_ref().map(|l| l.issued_at),
            status_list_fresh: list.is_some_and(|l| l.is_fresh(now())),
        })
    }

    /// Verifies QR text: offline on this device, and online too when the platform answers.
    pub async fn verify_qr_text(&self, text: &str) -> Result<VerificationView, AppError> {
        let session = self.on_duty()?;
        let (trust, _) = self.cached_trust_list()?.ok_or_else(|| {
            AppError::new(
                "no_trust_list",
                "本机还没有信任列表：请联网后重新登录",
                "No trust list on this device yet: sign in again with a network",
            )
        })?;
        let lists = self.cached_status_lists(&trust)?;
        let status = newest(&lists);
        let checked_at = now();
        let text = text.trim();
        let verification = verify_offline(text, &trust, &lists, checked_at);
        let (online, online_problem) = match self.online_check(&session, text).await {
            Ok(online) => (Some(online), None),
            Err(e) => (None, Some(e)),
        };
        let offline = VerdictView::of(verification.verdict);
        let (status_codes, words) = match &verification.status {
            StatusReport::Normal => (
                Some("A".to_owned()),
                Some(("正常".to_owned(), "normal".to_owned())),
            ),
            StatusReport::Abnormal { codes } | StatusReport::Invalid { codes } => {
                (codes.clone(), codes.as_deref().and_then(status_words))
            }
            _ => (None, None),
        };
        let (status_text, status_text_en) = words.unzip();
        let shown = shown_verdict(
            verification.verdict,
            online
                .as_ref()
                .and_then(|o| VerdictCode::from_code(&o.result.verdict)),
        );
        Ok(VerificationView {
            result: VerdictView::of(shown),
            offline,
            online,
            online_problem,
            holder: verification.credential.as_ref().map(HolderView::of),
            status_codes,
            status_text,
            status_text_en,
            generated_at: verification.generated_at,
            status_list_issued_at: status.as_ref().map(|l| l.issued_at),
            status_list_fresh: status.is_some_and(|l| l.is_fresh(checked_at)),
            checked_at,
        })
    }

    /// The officer signed in on this device, whose session has not ended, with the token
    /// opened (it rests sealed, see [`crate::sealed`]).
    fn on_duty(&self) -> Result<OfficerSession, AppError> {
        let mut session = self
            .store
            .officer_session()?
            .filter(|s| s.expires_at > now())
            .ok_or_else(officer_required)?;
        match self.token_seal()?.open(&session.token) {
            Ok(token) => session.token = token,
            Err(_) => {
                self.store.clear_officer_session()?;
                return Err(officer_required());
            }
        }
        Ok(session)
    }

    /// Verifies the QR code in a picture file.
    pub async fn verify_picture(&self, bytes: &[u8]) -> Result<VerificationView, AppError> {
        self.on_duty()?;
        let text = read_picture(bytes)?;
        self.verify_qr_text(&text).await
    }

    /// The same picture's base64 form, as the window sends a file.
    pub async fn verify_picture_base64(&self, picture: &str) -> Result<VerificationView, AppError> {
        self.on_duty()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(picture.trim())
            .map_err(|_| picture_unreadable())?;
        self.verify_picture(&bytes).await
    }

    async fn online_check(
        &self,
        session: &OfficerSession,
        text: &str,
    ) -> Result<OnlineCheckView, AppError> {
        let request = licence_api::CheckRequest {
            qr_text: text.to_owned(),
        };
        let answer = self.quick.request(&request, Some(&session.token)).await;
        let check = match answer {
            Ok(check) => check,
            Err(ClientError::Server { status: 401, .. }) => {
                return Err(AppError::new(
                    "officer_session_lapsed",
                    "联网核验需要重新登录；离线核验结果仍然有效",
                    "Sign in again for online checks; the offline result stands",
                ))
            }
            Err(ClientError::Network(_)) => {
                return Err(AppError::new(
                    "offline",
                    "无网络：以上为离线核验结果",
                    "No network: the result above is the offline check",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let code = VerdictCode::from_code(&check.verdict).ok_or_else(|| {
            ClientError::Unexpected(format!("an unknown verdict {}", check.verdict))
        })?;
        let (live_status_text, live_status_text_en) =
            check.live_status.as_deref().and_then(status_words).unzip();
        Ok(OnlineCheckView {
            result: VerdictView::of(code),
            live_status_text,
            live_status_text_en,
            live_status: check.live_status,
            live_points: check.live_points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_officer_sees_the_worse_of_the_two_checks() {
        use VerdictCode::*;
        for (offline, online, shown) in [
            // A forged or stale "valid" from the network cannot turn a local red green.
            (BadDeviceSignature, Some(Valid), BadDeviceSignature),
            (StatusAbnormal, Some(Valid), StatusAbnormal),
            (PresentationTooOld, Some(StatusUnknown), PresentationTooOld),
            // A revocation the device's list has not heard of yet turns green red.
            (Valid, Some(StatusInvalid), StatusInvalid),
            (Valid, Some(StatusUnknown), StatusUnknown),
            (Valid, Some(Valid), Valid),
            // On a tie of reds, the device's own finding.
            (StatusAbnormal, Some(StatusInvalid), StatusAbnormal),
            // Amber offline means "check online": the online answer settles it.
            (StatusUnknown, Some(Valid), Valid),
            (StatusUnknown, Some(StatusInvalid), StatusInvalid),
            (StatusUnknown, None, StatusUnknown),
            (Valid, None, Valid),
        ] {
            assert_eq!(
                shown_verdict(offline, online),
                shown,
                "{offline} + {online:?}"
            );
        }
    }
}
