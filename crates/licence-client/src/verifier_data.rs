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
/// Where the status list of issuer key `kid` is kept.
fn status_list_kind(kid: &str) -> String {
    format!("status_list:{kid}")
}

/// A kid that goes into a query string as it is (the platform's are letters, digits, `-`,
/// `_` and `.`); another is not asked for.
fn plain_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
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

    /// The status lists as last fetched, one for each key on the trust list, each signature
    /// checked again against `trust`.
    pub(crate) fn cached_status_lists(
        &self,
        trust: &TrustList,
    ) -> Result<Vec<StatusList>, AppError> {
        let mut lists = Vec::new();
        for issuer in &trust.issuers {
            if let Some((bytes, _)) = self.store.verifier_data(&status_list_kind(&issuer.kid))? {
                lists.extend(StatusList::verify(&bytes, trust).ok());
            }
        }
        Ok(lists)
    }

    /// Fetches the trust list (when older than an hour) and the signed status list, and keeps
    /// them once they check out. Public data: no sign-in needed. Whether anything changed.
    pub async fn refresh_verifier_data(&self) -> Result<bool, AppError> {
        let now = now();
        let mut changed = false;
        let trust = match self.cached_trust_list()? {
            Some((trust, at)) if now - at < TRUST_LIST_REFRESH => trust,
            old => {
                let held = self
                    .store
                    .verifier_data(TRUST_LIST)?
                    .map(|(bytes, _)| bytes);
                let fetched = self
                    .api
                    .get_document(endpoint::TRUST_LIST_PATH, held.as_deref())
                    .await?;
                let bytes = match fetched {
                    Some(bytes) => bytes,
                    // Unchanged (304): the copy held is current, and is kept again as of now.
                    None => held.ok_or_else(|| {
                        ClientError::Unexpected(
                            "the platform said the trust list was unchanged, but none is held"
                                .into(),
                        )
                    })?,
                };
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
        // The list of every key whose window is open: each speaks for its own credentials.
        for issuer in &trust.issuers {
            if now < issuer.valid_from || now > issuer.valid_until || !plain_kid(&issuer.kid) {
                continue;
            }
            let path = format!("{}?kid={}", endpoint::STATUS_LIST_PATH, issuer.kid);
            // Read once: its bytes name it to the platform (If-None-Match), and checked
            // again, it is what a fetched list must not be older than.
            let held_bytes = self
                .store
                .verifier_data(&status_list_kind(&issuer.kid))?
                .map(|(bytes, _)| bytes);
            let kept = held_bytes
                .as_deref()
                .and_then(|bytes| StatusList::verify(bytes, &trust).ok());
            let bytes = match self.api.get_document(&path, held_bytes.as_deref()).await {
                Ok(Some(bytes)) => bytes,
                // The list held is the current one (304): nothing changed.
                Ok(None) => continue,
                // A key the platform no longer signs with (its window just closed).
                Err(ClientError::Server { status: 404, .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let list = StatusList::verify(&bytes, &trust).map_err(|e| {
                ClientError::Unexpected(format!("the platform's status list does not verify: {e}"))
            })?;
            if list.issuer() != Some(issuer.kid.as_str()) {
                return Err(ClientError::Unexpected(format!(
                    "asked for the status list of {}, the platform sent another",
                    issuer.kid
                ))
                .into());
            }
            // An older list (a replay, or an instance that lags): keep the newer one.
            if kept
                .as_ref()
                .is_some_and(|kept| list.may_replace(kept).is_err())
            {
                continue;
            }
            // A new list every fetch: changed only when what it says changed.
            let before = kept.map(|mut b| {
                b.issued_at = list.issued_at;
                b
            });
            changed |= before.as_ref() != Some(&list);
            self.store
                .put_verifier_data(&status_list_kind(&issuer.kid), &bytes, now)?;
        }
        Ok(changed)
    }
}
