//! The status list (状态列表), in the style of the IETF Token Status List: two bits per
//! credential index (normal / abnormal / invalid), the status codes of the entries that are not
//! normal, its own issue time and maximum age, signed by the issuer as a COSE_Sign1. A list
//! opened from its signed form knows its issuer's kid, and speaks only for that issuer's
//! credentials: index spaces of two issuers are unrelated.

use std::collections::BTreeMap;

use ciborium::Value;
use licence_core::{LicenceStatus, Standing};

use crate::credential::{open_signed, sign_payload};
use crate::keys::{IssuerKey, TrustList};
use crate::CredentialError;

/// Most entries a list may have (a province's licences fit many times over).
pub const MAX_ENTRIES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    /// Unix seconds when the list was made.
    pub issued_at: i64,
    /// Seconds after `issued_at` that a verifier may rely on it.
    pub max_age: i64,
    /// Two bits per index: 0 normal, 1 abnormal, 2 invalid.
    bits: Vec<u8>,
    /// Status codes of the entries that are not normal (e.g. "HI").
    codes: BTreeMap<u32, String>,
    /// The kid of the key that signed it; `None` for a list made here and not signed.
    issuer: Option<String>,
}

fn standing_bits(s: Standing) -> u8 {
    match s {
        Standing::Normal => 0,
        Standing::Abnormal => 1,
        Standing::Invalid => 2,
    }
}

impl StatusList {
    pub fn new(len: u32, issued_at: i64, max_age: i64) -> StatusList {
        StatusList {
            issued_at,
            max_age,
            bits: vec![0; (len as usize).div_ceil(4)],
            codes: BTreeMap::new(),
            issuer: None,
        }
    }

    /// The list as its issuer holds it before signing: it speaks for `kid`'s credentials.
    pub fn with_issuer(mut self, kid: &str) -> StatusList {
        self.issuer = Some(kid.to_owned());
        self
    }

    /// The kid of the issuer key the list speaks for: its signer's, once opened with
    /// [`StatusList::verify`].
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    pub fn len(&self) -> u32 {
        (self.bits.len() * 4) as u32
    }

    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Records a licence's status at `index` (its standing decides the two bits).
    pub fn set(&mut self, index: u32, status: LicenceStatus) -> Result<(), CredentialError> {
        let byte = self
            .bits
            .get_mut(index as usize / 4)
            .ok_or(CredentialError::Malformed("status index out of range"))?;
        let shift = (index % 4) * 2;
        *byte = (*byte & !(0b11 << shift)) | (standing_bits(status.standing()) << shift);
        if status.is_normal() {
            self.codes.remove(&index);
        } else {
            self.codes.insert(index, status.to_string());
        }
        Ok(())
    }

    /// The standing at `index` and, when not normal, its status codes; `None` out of range.
    pub fn get(&self, index: u32) -> Option<(Standing, Option<LicenceStatus>)> {
        let byte = self.bits.get(index as usize / 4)?;
        let standing = match (byte >> ((index % 4) * 2)) & 0b11 {
            0 => Standing::Normal,
            1 => Standing::Abnormal,
            _ => Standing::Invalid,
        };
        Some((
            standing,
            self.codes.get(&index).and_then(|c| c.parse().ok()),
        ))
    }

    /// Whether this list may take the place of `held` on a device: not older (the same list
    /// again is no change; another made in the same second replaces it, as lists are stamped
    /// in whole seconds). An older list is refused, so a licence revoked since cannot be made
    /// to look normal by replaying yesterday's list.
    pub fn may_replace(&self, held: &StatusList) -> Result<bool, CredentialError> {
        if self.issuer != held.issuer {
            return Ok(true);
        }
        match self.issued_at.cmp(&held.issued_at) {
            std::cmp::Ordering::Less => Err(CredentialError::Older),
            std::cmp::Ordering::Equal => Ok(self != held),
            std::cmp::Ordering::Greater => Ok(true),
        }
    }

    pub fn is_fresh(&self, now: i64) -> bool {
        // Saturating: the times come from a signed list, but a panic on any input is a bug.
        now >= self.issued_at.saturating_sub(crate::verify::CLOCK_SKEW)
            && now <= self.issued_at.saturating_add(self.max_age)
    }

    pub fn sign(&self, issuer: &IssuerKey) -> Result<Vec<u8>, CredentialError> {
        if self
            .issuer
            .as_deref()
            .is_some_and(|kid| kid != issuer.kid())
        {
            return Err(CredentialError::Malformed(
                "a status list signed by another issuer",
            ));
        }
        // A key with a fixed window signs only within it (a verifier refuses it otherwise).
        if let Some((from, until)) = issuer.window() {
            if self.issued_at < from || self.issued_at > until {
                return Err(CredentialError::KeyOutOfPeriod);
            }
        }
        let map = Value::Map(vec![
            (
                Value::Integer(1.into()),
                Value::Integer(self.issued_at.into()),
            ),
            (
                Value::Integer(2.into()),
                Value::Integer(self.max_age.into()),
            ),
            (
                Value::Integer(3.into()),
                Value::Bytes(miniz_oxide::deflate::compress_to_vec(&self.bits, 9)),
            ),
            (
                Value::Integer(4.into()),
                Value::Map(
                    self.codes
                        .iter()
                        .map(|(i, c)| (Value::Integer((*i).into()), Value::Text(c.clone())))
                        .collect(),
                ),
            ),
        ]);
        sign_payload(crate::cbor::encode(map), issuer)
    }

    /// Opens a signed list from a trusted issuer: deterministic CBOR, signed by a key on the
    /// trust list, and issued within that key's window.
    pub fn verify(signed: &[u8], trust: &TrustList) -> Result<StatusList, CredentialError> {
        let bad = CredentialError::Malformed;
        let (issuer, payload) = open_signed(signed, trust)?;
        let value: Value = ciborium::from_reader(payload.as_slice())
            .map_err(|_| bad("status list is not CBOR"))?;
        let map = value
            .into_map()
            .map_err(|_| bad("status list is not a map"))?;
        let get = |k: u8| {
            map.iter()
                .find(|(key, _)| key.as_integer() == Some(k.into()))
                .map(|(_, v)| v.clone())
        };
        let int = |k: u8| {
            get(k)
                .and_then(|v| v.as_integer())
                .and_then(|i| i64::try_from(i).ok())
                .ok_or(bad("status list field"))
        };
        let bits = get(3)
            .and_then(|v| v.into_bytes().ok())
            .ok_or(bad("status list bits"))?;
        let bits = miniz_oxide::inflate::decompress_to_vec_with_limit(&bits, MAX_ENTRIES / 4)
            .map_err(|_| bad("status list bits too large"))?;
        let codes = get(4)
            .and_then(|v| v.into_map().ok())
            .ok_or(bad("status list codes"))?
            .into_iter()
            .map(|(k, v)| {
                let k = k.as_integer().and_then(|i| u32::try_from(i).ok());
                let v = v.into_text().ok();
                k.zip(v).ok_or(bad("status list code"))
            })
            .collect::<Result<BTreeMap<u32, String>, _>>()?;
        let issued_at = int(1)?;
        if issued_at < issuer.valid_from || issued_at > issuer.valid_until {
            return Err(CredentialError::KeyOutOfPeriod);
        }
        Ok(StatusList {
            issued_at,
            max_age: int(2)?,
            bits,
            codes,
            issuer: Some(issuer.kid.clone()),
        })
    }
}
