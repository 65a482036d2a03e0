//! The e-licence's and the officer's tables: this device's registration per account, the
//! credential as issued, the public verifier data, an officer's session.

use rusqlite::{params, OptionalExtension};

use super::LocalStore;
use crate::ClientError;

/// The e-licence credential as the platform issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub account_id: i64,
    /// COSE_Sign1, exactly as issued.
    pub signed: Vec<u8>,
    /// Unix seconds; renewed well before.
    pub not_after: i64,
    pub fetched_at: i64,
    /// The approved full-colour photo, when the credential signs its digest and it matched.
    pub photo: Option<Vec<u8>>,
    /// The same licence as an ISO 18013-5 mDL (IssuerSigned), when the platform issued one.
    pub mdoc: Option<Vec<u8>>,
}

/// An officer's session on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerSession {
    pub token: String,
    pub expires_at: i64,
    pub name: String,
    pub username: String,
}

impl LocalStore {
    /// The platform's id for this device under `account`, and the key it was registered with.
    pub fn device_registration(&self, account: i64) -> Result<Option<(i64, Vec<u8>)>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT device_id, public_key FROM device_registration WHERE account_id = ?1",
                [account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn save_device_registration(
        &self,
        account: i64,
        device_id: i64,
        public_key: &[u8],
    ) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO device_registration (account_id, device_id, public_key)
             VALUES (?1, ?2, ?3) ON CONFLICT (account_id) DO UPDATE SET
               device_id = excluded.device_id, public_key = excluded.public_key",
            params![account, device_id, public_key],
        )?;
        Ok(())
    }

    pub fn forget_device_registration(&self, account: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "DELETE FROM device_registration WHERE account_id = ?1",
            [account],
        )?;
        Ok(())
    }

    pub fn save_credential(&self, c: &StoredCredential) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO credential (only, account_id, signed, not_after, fetched_at, photo, mdoc)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (only) DO UPDATE SET
               account_id = excluded.account_id, signed = excluded.signed,
               not_after = excluded.not_after, fetched_at = excluded.fetched_at,
               photo = excluded.photo, mdoc = excluded.mdoc",
            params![
                c.account_id,
                c.signed,
                c.not_after,
                c.fetched_at,
                c.photo,
                c.mdoc
            ],
        )?;
        Ok(())
    }

    /// The credential kept for `account` (another account's is never returned).
    pub fn credential(&self, account: i64) -> Result<Option<StoredCredential>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT account_id, signed, not_after, fetched_at, photo, mdoc FROM credential
                 WHERE account_id = ?1",
                [account],
                |r| {
                    Ok(StoredCredential {
                        account_id: r.get(0)?,
                        signed: r.get(1)?,
                        not_after: r.get(2)?,
                        fetched_at: r.get(3)?,
                        photo: r.get(4)?,
                        mdoc: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn forget_credential(&self) -> Result<(), ClientError> {
        self.conn().execute("DELETE FROM credential", [])?;
        Ok(())
    }

    /// Keeps public verifier data (`trust_list`, `status_list`) as fetched.
    pub fn put_verifier_data(&self, kind: &str, bytes: &[u8], now: i64) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO verifier_data (kind, bytes, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind) DO UPDATE SET bytes = excluded.bytes,
               fetched_at = excluded.fetched_at",
            params![kind, bytes, now],
        )?;
        Ok(())
    }

    pub fn verifier_data(&self, kind: &str) -> Result<Option<(Vec<u8>, i64)>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT bytes, fetched_at FROM verifier_data WHERE kind = ?1",
                [kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn save_officer_session(&self, s: &OfficerSession) -> Result<(), ClientError> {
        self.conn().execute(
            "INSERT INTO officer_session (only, token, expires_at, name, username)
             VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (only) DO UPDATE SET
               token = excluded.token, expires_at = excluded.expires_at,
               name = excluded.name, username = excluded.username",
            params![s.token, s.expires_at, s.name, s.username],
        )?;
        Ok(())
    }

    pub fn officer_session(&self) -> Result<Option<OfficerSession>, ClientError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT token, expires_at, name, username FROM officer_session",
                [],
                |r| {
                    Ok(OfficerSession {
                        token: r.get(0)?,
                        expires_at: r.get(1)?,
                        name: r.get(2)?,
                        username: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn clear_officer_session(&self) -> Result<(), ClientError> {
        self.conn().execute("DELETE FROM officer_session", [])?;
        Ok(())
    }
}
