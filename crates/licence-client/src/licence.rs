//! 我的驾驶证: the licence from the platform when there is a network, else as last fetched.

use licence_core::DrivingLicence;

use crate::api::Api;
use crate::app::{now, today, DriverApp};
use crate::store::LocalStore;
use crate::views::{AppError, LicenceView};
use crate::ClientError;

/// The licence to show, and how fresh it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLicence {
    pub licence: DrivingLicence,
    /// Unix seconds when the platform last confirmed it.
    pub fetched_at: i64,
    /// From the device because the platform could not be reached: the app says so, with
    /// `fetched_at`.
    pub offline: bool,
}

/// Fetches the licence and keeps it; without a network, the kept one. The platform's "you
/// hold no licence" also forgets the kept one, so a withdrawn licence is not shown offline.
pub async fn my_licence(
    store: &LocalStore,
    api: &Api,
    token: &str,
    now: i64,
) -> Result<ShownLicence, ClientError> {
    match api.licence(token).await {
        Ok(licence) => {
            store.save_licence(&licence, now)?;
            Ok(ShownLicence {
                licence,
                fetched_at: now,
                offline: false,
            })
        }
        Err(error @ ClientError::Network(_)) => match store.cached_licence()? {
            Some((licence, fetched_at)) => Ok(ShownLicence {
                licence,
                fetched_at,
                offline: true,
            }),
            None => Err(error),
        },
        Err(error) => {
            if error.code() == "no_licence" {
                store.forget_licence()?;
            }
            Err(error)
        }
    }
}

impl DriverApp {
    /// 我的驾驶证: from the platform, or as last fetched without a network.
    pub async fn my_licence(&self) -> Result<LicenceView, AppError> {
        let session = self.session()?;
        let shown = my_licence(&self.store, &self.api, &session.token, now())
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        Ok(LicenceView::of(
            &shown.licence,
            today(),
            shown.fetched_at,
            shown.offline,
        ))
    }
}
