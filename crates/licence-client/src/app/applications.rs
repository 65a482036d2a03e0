//! 线上申请 and the home page: the photo checked on the device, the application saved in the
//! outbox and sent (see [`crate::outbox`]), and the account's applications as the platform
//! lists them (or as last fetched without a network).

use crate::api::Session;
use crate::app::{not_signed_in, now, today, Cached, DriverApp};
use crate::outbox::{queue_application, send_due, Delivery};
use crate::store::ItemState;
use crate::views::{
    AccountView, AppError, ApplicationView, ErrorBody, HomeView, JourneyStep, OutboxView,
    PhotoCheckView, Progress, SubmitView,
};
use crate::ClientError;
use licence_core::ApplicationStatus;

/// Where an application's photo comes from (licence-api's, sent as it is).
pub use licence_api::PhotoSource;

impl DriverApp {
    /// The home page: who is signed in and where they stand in the three steps. Without a
    /// network, as last fetched.
    pub async fn home(&self) -> Result<HomeView, AppError> {
        let pending: Vec<OutboxView> = self
            .store
            .items()?
            .iter()
            .filter(|item| item.state == ItemState::Waiting)
            .map(OutboxView::of)
            .collect();
        let Ok(session) = self.session() else {
            return Ok(HomeView {
                account: None,
                step: JourneyStep::Register,
                latest: None,
                pending,
                offline: false,
                server: self.server.clone(),
            });
        };
        let (account, applications, offline) = match self.fetch_account(&session).await {
            Ok(account) => (
                Some(account),
                self.fetch_applications(&session).await?,
                false,
            ),
            Err(e) if e.code == "network" => (
                self.cached::<AccountView>(Cached::Account)?,
                self.cached::<Vec<ApplicationView>>(Cached::Applications)?
                    .unwrap_or_default(),
                true,
            ),
            Err(e) => return Err(e),
        };
        let latest = applications.into_iter().next();
        let status = latest.as_ref().and_then(|a| a.status.parse().ok());
        let step = match status {
            _ if !pending.is_empty() => JourneyStep::Waiting,
            Some(ApplicationStatus::Submitted | ApplicationStatus::UnderReview) => {
                JourneyStep::Waiting
            }
            Some(ApplicationStatus::Approved | ApplicationStatus::Issued) => JourneyStep::Show,
            _ => JourneyStep::Apply,
        };
        Ok(HomeView {
            account,
            step,
            latest,
            pending,
            offline,
            server: self.server.clone(),
        })
    }

    /// The account's applications, newest first.
    pub async fn applications(&self) -> Result<Vec<ApplicationView>, AppError> {
        let session = self.session()?;
        match self.fetch_applications(&session).await {
            Err(e) if e.code == "network" => self.cached(Cached::Applications)?.ok_or(e),
            other => other,
        }
    }

    async fn fetch_applications(
        &self,
        session: &Session,
    ) -> Result<Vec<ApplicationView>, AppError> {
        let answer = self
            .api
            .applications(&session.token)
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        self.keep(Cached::Applications, &answer)?;
        Ok(answer)
    }

    /// Checks a photo from the album or the camera on the device. A compliant photo's crop is
    /// kept as the draft to confirm; a non-compliant one replaces nothing and says what to fix.
    pub fn check_photo(
        &self,
        source: PhotoSource,
        photo: &[u8],
    ) -> Result<PhotoCheckView, AppError> {
        if source == PhotoSource::OnFile {
            return Err(AppError::new(
                "photo_source_invalid",
                "档案照片无需检查，请直接提交",
                "The photo on file needs no check; submit directly",
            ));
        }
        let verdict = licence_photo::PhotoChecker::new().check(photo, today());
        if let (true, Some(crop)) = (verdict.compliant, verdict.cropped_jpeg.as_deref()) {
            self.store.save_draft_photo(source.as_str(), crop)?;
        }
        Ok(PhotoCheckView::of(&verdict))
    }

    /// 提交申请: saves the application on the device (the photo on file, or the confirmed
    /// draft photo), then tries to send it at once. A surge or no network leaves it saved and
    /// waiting; it is sent on its own later (see [`DriverApp::send_outbox`]).
    pub async fn submit(
        &self,
        source: PhotoSource,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<SubmitView, AppError> {
        let session = self.session()?;
        let eligible = self.account().await?;
        if let Some(f) = eligible
            .functions
            .iter()
            .find(|f| f.function == "electronic_licence" && !f.allowed)
        {
            let d = f.denial.clone().unwrap_or(ErrorBody {
                code: "function_not_allowed".into(),
                message: "当前账户不能办理此业务".into(),
                message_en: "This account may not use this business".into(),
                next: None,
                attempts_left: None,
                request_id: None,
            });
            return Err(AppError::new(&d.code, &d.message, &d.message_en));
        }
        progress(Progress::Checking);
        let photo = match source {
            PhotoSource::OnFile => None,
            _ => match self.store.draft_photo()? {
                Some((kept, jpeg)) if kept.parse() == Ok(source) => Some(jpeg),
                _ => {
                    return Err(AppError::new(
                        "no_checked_photo",
                        "请先选择或拍摄照片，检查通过后再提交",
                        "Choose or take a photo and pass the check before submitting",
                    ))
                }
            },
        };
        let item = queue_application(&self.store, source, photo.as_deref(), now())?;
        self.store.clear_draft_photo()?;
        progress(Progress::Saved);
        progress(Progress::Sending);
        let deliveries = send_due(&self.store, &self.api, &session.token, now()).await?;
        progress(Progress::Done);
        let mine = deliveries.into_iter().find(|d| delivery_item(d) == item);
        let saved = self
            .store
            .item(item)?
            .ok_or_else(|| ClientError::Store("the saved application is gone".into()))?;
        let (application, waiting_reason) = match mine {
            Some(Delivery::Sent { application_id, .. }) => (
                self.applications()
                    .await
                    .ok()
                    .and_then(|l| l.into_iter().find(|a| a.id == application_id)),
                None,
            ),
            Some(Delivery::Failed { error, .. }) => return Err(error.into()),
            Some(Delivery::Deferred { error, .. }) => (None, Some(AppError::from(error))),
            Some(Delivery::NeedsSignIn { .. }) => (None, Some(not_signed_in())),
            // An earlier item was in the way (it failed or waits): this one waits its turn.
            None => (None, None),
        };
        Ok(SubmitView {
            item: OutboxView::of(&saved),
            application,
            waiting_reason,
        })
    }

    /// Sends whatever is due (the background loop calls this). Returns what happened, for
    /// telling the UI; nothing when signed out.
    pub async fn send_outbox(&self) -> Result<Vec<Delivery>, AppError> {
        let Ok(session) = self.session() else {
            return Ok(Vec::new());
        };
        Ok(send_due(&self.store, &self.api, &session.token, now()).await?)
    }

    /// Applications saved on the device, newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxView>, AppError> {
        let mut items: Vec<OutboxView> = self.store.items()?.iter().map(OutboxView::of).collect();
        items.reverse();
        Ok(items)
    }
}

fn delivery_item(d: &Delivery) -> i64 {
    match d {
        Delivery::Sent { item, .. }
        | Delivery::Deferred { item, .. }
        | Delivery::NeedsSignIn { item }
        | Delivery::Failed { item, .. } => *item,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_sources_have_the_names_serde_gives_them() {
        for source in [PhotoSource::OnFile, PhotoSource::Album, PhotoSource::Camera] {
            let json = serde_json::to_value(source).unwrap();
            assert_eq!(json.as_str(), Some(source.as_str()));
            assert_eq!(source.as_str().parse(), Ok(source));
        }
        assert_eq!(PhotoSource::OnFile.as_str(), "on_file");
        assert!("on-file".parse::<PhotoSource>().is_err());
    }
}
