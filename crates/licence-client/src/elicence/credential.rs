//! The credential on this device: its key (from the vault), the device's registration with
//! the platform, and the credential fetched after approval and renewed before it ends, when
//! the registry's record changed, or when this device's key is not the one it is bound to.

use std::sync::Arc;

use base64::Engine;
use licence_api::endpoint::Devices;
use licence_api::{CredentialRequest, NewDevice};
use licence_credential::{Credential, DeviceKey, TrustList};
use sha2::Digest;

use crate::app::DriverApp;
use crate::store::StoredCredential;
use crate::views::AppError;
use crate::ClientError;

use super::RENEW_BEFORE;

/// A credential whose licence record differs from the registry's is renewed, but not more
/// often than this.
const RENEW_ON_CHANGE_AFTER: i64 = 60;

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

    pub(super) fn needs_renewal(
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
        let request = NewDevice {
            public_key: encoded.clone(),
            name: device_name(),
        };
        let id = match self.api.request(&request, Some(token)).await {
            Ok(device) => device.id,
            // Registered before, but this device forgot the id (its data was restored).
            Err(e) if e.code() == "device_already_registered" => {
                let list = self.api.request(&Devices, Some(token)).await?;
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

    pub(super) async fn issue_credential(
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
            let request = CredentialRequest { device_id: device };
            match self.api.request(&request, Some(&session.token)).await {
                // Removed on the platform: register this device again, once.
                Err(e) if e.code() == "device_not_found" && !retried => {
                    self.store.forget_device_registration(account)?;
                    retried = true;
                }
                other => break other.map_err(|e| self.forget_if_unauthorised(e))?,
            }
        };
        let issued = answer;
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
        // The full-colour photo is kept only if it is the one the credential signs.
        let photo = match credential.photo_digest {
            None => None,
            Some(digest) => {
                let photo = base64::engine::general_purpose::STANDARD
                    .decode(issued.photo.as_bytes())
                    .map_err(|e| {
                        ClientError::Unexpected(format!("the photo is not base64: {e}"))
                    })?;
                if <[u8; 32]>::from(sha2::Sha256::digest(&photo)) != digest {
                    return Err(ClientError::Unexpected(
                        "the photo is not the one the credential signs".into(),
                    )
                    .into());
                }
                Some(photo)
            }
        };
        // The mDL is kept if it is one; a malformed one is dropped (the QR works without it).
        let mdoc = issued
            .mdoc
            .as_deref()
            .and_then(|m| base64::engine::general_purpose::STANDARD.decode(m).ok())
            .filter(|m| licence_mdoc::IssuerSigned::from_bytes(m).is_ok());
        self.store.save_credential(&StoredCredential {
            account_id: account,
            signed,
            not_after: issued.not_after,
            fetched_at: now,
            photo,
            mdoc,
        })?;
        Ok(())
    }
}

/// The name this device is registered under (shown in the account's device list).
fn device_name() -> String {
    std::env::var("LICENCE_DEVICE_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty() && n.chars().count() <= 64)
        .unwrap_or_else(|| "电子驾驶证 App".into())
}
