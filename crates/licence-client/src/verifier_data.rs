//! The public data for verifying an e-licence offline, kept on the device: the trust list,
//! signed by the trust root (fetched again after an hour; checked against the root every time
//! it is read; an unsigned, wrongly signed or older list is never taken), and the signed status
//! list (checked against the trust list every time it is read). The driver's e-licence page
//! and the officer's verifier both use it.
//! A status list older than the one kept never replaces it: a replayed list must not make a
//! licence revoked since look normal again.

use licence_api::endpoint;
use licence_credential::{StatusList, TrustList, TrustRoot};

use crate::app::{now, DriverApp};
use crate::views::AppError;
use crate::ClientError;

pub(crate) const TRUST_LIST: &str = "trust_list";
pub(crate) const STATUS_LIST: &str = "status_list";
/// The trust list changes rarely; it is fetched again after this long.
const TRUST_LIST_REFRESH: i64 = 3600;

impl DriverApp {
    /// The trust list as last fetched, and when, its signature checked again against the
    /// trust root.
    pub(crate) fn cached_trust_list(&self) -> Result<Option<(TrustList, i64)>, AppError> {
        let Some(root) = &self.trust_root else {
            return Ok(None);
        };
        Ok(self
            .store
            .verifier_data(TRUST_LIST)?
            .and_then(|(bytes, at)| TrustList::open(&bytes, root).ok().map(|t| (t, at))))
    }

    fn trust_root(&self) -> Result<&TrustRoot, AppError> {
        self.trust_root.as_ref().ok_or_else(|| {
            AppError::new(
                "no_trust_root",
                "本应用未配置信任根，无法核验电子驾驶证",
                "This app has no trust root configured, so it cannot verify e-licences",
            )
        })
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
                let bytes = self.api.get_bytes(endpoint::TRUST_LIST_PATH).await?;
                let trust = TrustList::open(&bytes, self.trust_root()?).map_err(|e| {
                    ClientError::Unexpected(format!(
                        "the platform's trust list is not signed by the trust root: {e}"
                    ))
                })?;
                match old {
                    // An older list (a replay): keep the one held, and look again next time.
                    Some((held, _)) if trust.may_replace(&held).is_err() => held,
                    old => {
                        changed |= old.map(|(t, _)| t) != Some(trust.clone());
                        self.store.put_verifier_data(TRUST_LIST, &bytes, now)?;
                        trust
                    }
                }
            }
        };
        let bytes = self.api.get_bytes(endpoint::STATUS_LIST_PATH).await?;
        let list = StatusList::verify(&bytes, &trust).map_err(|e| {
            ClientError::Unexpected(format!("the platform's status list does not verify: {e}"))
        })?;
        let kept = self.cached_status_list(&trust)?;
        if let Some(kept) = &kept {
            // An older list (a replay, or an instance that lags): keep the newer one.
            if list.may_replace(kept).is_err() {
                return Ok(changed);
            }
        }
        // A new list every fetch: changed only when what it says changed.
        let before = kept.map(|mut b| {
            b.issued_at = list.issued_at;
            b
        });
        changed |= before.as_ref() != Some(&list);
        self.store.put_verifier_data(STATUS_LIST, &bytes, now)?;
        Ok(changed)
    }
}
