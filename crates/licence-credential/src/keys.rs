//! Issuer keys (ES256 over P-256) with key ids, the trust list a verifier loads, and the holder
//! device's key.

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::CredentialError;

/// An issuing authority's signing key (发证机关的签名密钥). Private: never serialised here; the
/// edge that stores it decides how.
pub struct IssuerKey {
    kid: String,
    authority: String,
    signing: SigningKey,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKey({}, {})", self.kid, self.authority)
    }
}

impl IssuerKey {
    pub fn generate(kid: &str, authority: &str, rng: &mut impl CryptoRngCore) -> IssuerKey {
        IssuerKey {
            kid: kid.into(),
            authority: authority.into(),
            signing: SigningKey::random(rng),
        }
    }

    /// From the 32-byte secret scalar, as stored by whoever keeps the key.
    pub fn from_secret(
        kid: &str,
        authority: &str,
        secret: &[u8],
    ) -> Result<IssuerKey, CredentialError> {
        let signing = SigningKey::from_slice(secret).map_err(|_| CredentialError::BadKey)?;
        Ok(IssuerKey {
            kid: kid.into(),
            authority: authority.into(),
            signing,
        })
    }

    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes().into()
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn authority(&self) -> &str {
        &self.authority
    }

    pub(crate) fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// The key as a text file for whoever keeps it (the platform, `licence keys`):
    /// `kid`, `authority` and the secret scalar in hex, one `name = value` a line.
    pub fn to_key_file(&self) -> String {
        let secret = crate::hex::encode(&self.secret_bytes());
        format!(
            "# 电子驾驶证签发密钥 e-licence issuer key. SECRET: keep it out of version control.\n\
             kid = {}\nauthority = {}\nsecret = {secret}\n",
            self.kid, self.authority
        )
    }

    /// Reads [`IssuerKey::to_key_file`]'s format.
    pub fn from_key_file(text: &str) -> Result<IssuerKey, CredentialError> {
        let mut kid = None;
        let mut authority = None;
        let mut secret = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or(CredentialError::Malformed("key file line without '='"))?;
            let value = value.trim().to_owned();
            match name.trim() {
                "kid" => kid = Some(value),
                "authority" => authority = Some(value),
                "secret" => secret = Some(value),
                _ => return Err(CredentialError::Malformed("unknown name in key file")),
            }
        }
        let (Some(kid), Some(authority), Some(secret)) = (kid, authority, secret) else {
            return Err(CredentialError::Malformed(
                "a key file needs kid, authority and secret",
            ));
        };
        if kid.is_empty() || kid.len() > 64 || authority.is_empty() {
            return Err(CredentialError::Malformed(
                "empty or overlong kid or authority",
            ));
        }
        let bytes = crate::hex::decode(&secret)
            .filter(|b| b.len() == 32)
            .ok_or(CredentialError::Malformed(
                "the secret is not 64 hex digits",
            ))?;
        IssuerKey::from_secret(&kid, &authority, &bytes)
    }

    /// The entry a trust list carries for this key, valid for signatures made in the window.
    pub fn trusted(&self, valid_from: i64, valid_until: i64) -> TrustedIssuer {
        TrustedIssuer {
            kid: self.kid.clone(),
            authority: self.authority.clone(),
            public_key: self
                .signing
                .verifying_key()
                .to_encoded_point(true)
                .as_bytes()
                .to_vec(),
            valid_from,
            valid_until,
        }
    }
}

/// One trusted issuer key. Key rotation adds an entry with a new kid; the old entry stays as
/// long as credentials it signed are valid, so nothing it signed stops verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    pub kid: String,
    /// e.g. 北京市公安局公安交通管理局
    pub authority: String,
    /// SEC1 compressed P-256 point (33 bytes).
    #[serde(with = "serde_bytes_vec")]
    pub public_key: Vec<u8>,
    /// Unix seconds: the key may sign credentials issued in [valid_from, valid_until].
    pub valid_from: i64,
    pub valid_until: i64,
}

impl TrustedIssuer {
    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_sec1_bytes(&self.public_key).ok()
    }
}

/// The issuers a verifier trusts (信任列表).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {
    pub issuers: Vec<TrustedIssuer>,
}

impl TrustList {
    pub fn find(&self, kid: &str) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.kid == kid)
    }

    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out).expect("writing to memory");
        out
    }

    pub fn from_cbor(bytes: &[u8]) -> Result<TrustList, CredentialError> {
        if bytes.len() > 64 * 1024 {
            return Err(CredentialError::Malformed("trust list larger than 64 KB"));
        }
        ciborium::from_reader(bytes)
            .map_err(|_| CredentialError::Malformed("trust list is not valid CBOR"))
    }
}

/// The holder device's key (设备密钥): signs each presentation, never leaves the device.
pub struct DeviceKey {
    signing: SigningKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(…)")
    }
}

impl DeviceKey {
    pub fn generate(rng: &mut impl CryptoRngCore) -> DeviceKey {
        DeviceKey {
            signing: SigningKey::random(rng),
        }
    }

    pub fn from_secret(secret: &[u8]) -> Result<DeviceKey, CredentialError> {
        SigningKey::from_slice(secret)
            .map(|signing| DeviceKey { signing })
            .map_err(|_| CredentialError::BadKey)
    }

    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes().into()
    }

    /// SEC1 compressed public key (33 bytes), as the credential binds it.
    pub fn public_key(&self) -> Vec<u8> {
        self.signing
            .verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec()
    }

    pub(crate) fn signing(&self) -> &SigningKey {
        &self.signing
    }
}

/// Byte strings as CBOR byte strings (not arrays of integers).
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let v = ciborium::Value::deserialize(d)?;
        v.into_bytes()
            .map_err(|_| serde::de::Error::custom("expected a byte string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_key_file_round_trips_and_bad_files_are_refused() {
        let key =
            IssuerKey::from_secret("bj-2026", "北京市公安局公安交通管理局", &[7; 32]).unwrap();
        let text = key.to_key_file();
        let back = IssuerKey::from_key_file(&text).unwrap();
        assert_eq!(
            (back.kid(), back.authority()),
            ("bj-2026", "北京市公安局公安交通管理局")
        );
        assert_eq!(back.secret_bytes(), [7; 32]);
        for bad in [
            text.replace("secret = ", "secret = zz"),
            text.replace("kid = bj-2026\n", ""),
            text.replace("kid", "key id"),
            format!("{text}colour = red\n"),
            "not a key file".to_owned(),
        ] {
            assert!(IssuerKey::from_key_file(&bad).is_err(), "{bad}");
        }
        // The zero scalar is not a key.
        let zero = text.replace(&"07".repeat(32), &"00".repeat(32));
        assert!(matches!(
            IssuerKey::from_key_file(&zero),
            Err(CredentialError::BadKey)
        ));
    }
}
