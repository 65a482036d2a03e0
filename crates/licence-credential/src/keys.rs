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
