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
    /// Unix seconds, both included: what the key may sign lies within (fixed when the key is
    /// made; the trust list repeats it).
    window: Option<(i64, i64)>,
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
            window: None,
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
            window: None,
        })
    }

    /// The key with its fixed window: from `valid_from` to `valid_until`, Unix seconds, both
    /// included.
    pub fn with_window(mut self, valid_from: i64, valid_until: i64) -> IssuerKey {
        self.window = Some((valid_from, valid_until));
        self
    }

    pub fn window(&self) -> Option<(i64, i64)> {
        self.window
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
    /// `kid`, `authority`, the secret scalar in hex and, when fixed, the window in RFC 3339,
    /// one `name = value` a line.
    pub fn to_key_file(&self) -> String {
        let secret = crate::hex::encode(&self.secret_bytes());
        let window = self
            .window
            .map(|(from, until)| {
                format!(
                    "valid_from = {}\nvalid_until = {}\n",
                    rfc3339(from),
                    rfc3339(until)
                )
            })
            .unwrap_or_default();
        format!(
            "# 电子驾驶证签发密钥 e-licence issuer key. SECRET: keep it out of version control.\n\
             kid = {}\nauthority = {}\nsecret = {secret}\n{window}",
            self.kid, self.authority
        )
    }

    /// Reads [`IssuerKey::to_key_file`]'s format.
    pub fn from_key_file(text: &str) -> Result<IssuerKey, CredentialError> {
        let [kid, authority, secret, from, until] = named_values(
            text,
            [
                ("kid", true),
                ("authority", true),
                ("secret", true),
                ("valid_from", false),
                ("valid_until", false),
            ],
        )?;
        let (kid, authority, secret) = (kid.unwrap(), authority.unwrap(), secret.unwrap());
        let secret = hex_bytes(&secret, 32, "the secret is not 64 hex digits")?;
        let key = IssuerKey::from_secret(&kid, &authority, &secret)?;
        match (from, until) {
            (None, None) => Ok(key),
            (Some(from), Some(until)) => {
                let (from, until) = (unix(&from)?, unix(&until)?);
                if until <= from {
                    return Err(CredentialError::Malformed(
                        "valid_until is not after valid_from",
                    ));
                }
                Ok(key.with_window(from, until))
            }
            _ => Err(CredentialError::Malformed(
                "a key file needs both valid_from and valid_until, or neither",
            )),
        }
    }

    /// The entry a trust list carries for this key, valid for signatures made in the window.
    pub fn trusted(&self, valid_from: i64, valid_until: i64) -> TrustedIssuer {
        TrustedIssuer {
            kid: self.kid.clone(),
            authority: self.authority.clone(),
            public_key: compressed(self.signing.verifying_key()),
            valid_from,
            valid_until,
        }
    }
}

/// One trusted issuer key. Key rotation adds an entry with a new kid; the old entry stays as
/// long as credentials it signed are valid, so nothing it signed stops verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    pub kid: String,
    /// e.g. 北京市公安局公安交通管理局
    pub authority: String,
    /// SEC1 compressed P-256 point (33 bytes).
    #[serde(with = "serde_bytes_vec")]
    pub public_key: Vec<u8>,
    /// Unix seconds, both ends included: every credential the key signs lies wholly in
    /// [valid_from, valid_until], and so does every status list's `issued_at`.
    pub valid_from: i64,
    pub valid_until: i64,
}

impl TrustedIssuer {
    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_sec1_bytes(&self.public_key).ok()
    }
}

/// The issuers a verifier trusts (信任列表), as the trust root signs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    pub issuers: Vec<TrustedIssuer>,
    /// Unix seconds when the root signed it.
    pub issued_at: i64,
    /// Grows with every list the root signs: a verifier never takes a lower one than it holds.
    pub sequence: u64,
}

/// Largest trust list accepted, signed or not.
const MAX_TRUST_LIST_BYTES: usize = 64 * 1024;

impl TrustList {
    pub fn find(&self, kid: &str) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.kid == kid)
    }

    /// The list's payload: deterministic CBOR.
    pub fn to_cbor(&self) -> Vec<u8> {
        let value = ciborium::Value::serialized(self).expect("a trust list is plain data");
        crate::cbor::encode(value)
    }

    pub fn from_cbor(bytes: &[u8]) -> Result<TrustList, CredentialError> {
        if bytes.len() > MAX_TRUST_LIST_BYTES {
            return Err(CredentialError::Malformed("trust list larger than 64 KB"));
        }
        crate::cbor::check_deterministic(bytes)?;
        let list: TrustList = ciborium::from_reader(bytes)
            .map_err(|_| CredentialError::Malformed("trust list is not valid CBOR"))?;
        let mut kids: Vec<&str> = list.issuers.iter().map(|i| i.kid.as_str()).collect();
        kids.sort_unstable();
        if kids.windows(2).any(|w| w[0] == w[1]) {
            return Err(CredentialError::Malformed("two issuers with one kid"));
        }
        Ok(list)
    }

    /// The list signed by the trust root (COSE_Sign1, ES256, the root's kid).
    pub fn sign(&self, root: &TrustRootKey) -> Result<Vec<u8>, CredentialError> {
        crate::credential::sign_with(self.to_cbor(), &root.kid, &root.signing)
    }

    /// Opens a list signed by `root`; refuses an unsigned list, another key's signature and
    /// every encoding but the one.
    pub fn open(signed: &[u8], root: &TrustRoot) -> Result<TrustList, CredentialError> {
        if signed.len() > MAX_TRUST_LIST_BYTES {
            return Err(CredentialError::Malformed("trust list larger than 64 KB"));
        }
        let (_, payload) = crate::credential::open_cose(signed, |kid| {
            (kid == root.kid)
                .then(|| VerifyingKey::from_sec1_bytes(&root.public_key).ok())
                .flatten()
                .ok_or(CredentialError::UnknownIssuer)
        })?;
        TrustList::from_cbor(&payload)
    }

    /// What a signed list says, its signature **not** checked: for showing a file to a person
    /// (`licence keys show`), never for trusting it ([`TrustList::open`] is for that).
    pub fn contents_unchecked(signed: &[u8]) -> Result<TrustList, CredentialError> {
        use coset::CborSerializable;
        crate::cbor::check_deterministic(signed)?;
        let sign1 = coset::CoseSign1::from_slice(signed)
            .map_err(|_| CredentialError::Malformed("not a signed trust list"))?;
        let payload = sign1
            .payload
            .ok_or(CredentialError::Malformed("not a signed trust list"))?;
        TrustList::from_cbor(&payload)
    }

    /// Whether this list may take the place of `held`: a higher sequence number only (the
    /// same list again is no change), so an older list cannot be replayed.
    pub fn may_replace(&self, held: &TrustList) -> Result<bool, CredentialError> {
        match self.sequence.cmp(&held.sequence) {
            std::cmp::Ordering::Less => Err(CredentialError::Older),
            std::cmp::Ordering::Equal if self != held => Err(CredentialError::Older),
            std::cmp::Ordering::Equal => Ok(false),
            std::cmp::Ordering::Greater => Ok(true),
        }
    }
}

/// The trust root's signing key (信任根私钥): it signs trust lists and nothing else. Made by
/// `licence keys root`, kept offline; its public half ([`TrustRoot`]) is built into verifiers.
pub struct TrustRootKey {
    kid: String,
    signing: SigningKey,
}

impl std::fmt::Debug for TrustRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustRootKey({})", self.kid)
    }
}

impl TrustRootKey {
    pub fn generate(kid: &str, rng: &mut impl CryptoRngCore) -> TrustRootKey {
        TrustRootKey {
            kid: kid.into(),
            signing: SigningKey::random(rng),
        }
    }

    pub fn from_secret(kid: &str, secret: &[u8]) -> Result<TrustRootKey, CredentialError> {
        let signing = SigningKey::from_slice(secret).map_err(|_| CredentialError::BadKey)?;
        Ok(TrustRootKey {
            kid: kid.into(),
            signing,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, as verifiers build it in.
    pub fn root(&self) -> TrustRoot {
        TrustRoot {
            kid: self.kid.clone(),
            public_key: compressed(self.signing.verifying_key()),
        }
    }

    /// The key as a text file: `kid` and the secret scalar in hex.
    pub fn to_key_file(&self) -> String {
        let secret = crate::hex::encode(&self.signing.to_bytes());
        format!(
            "# 电子驾驶证信任根私钥 e-licence trust root key. SECRET: keep it offline.\n\
             kid = {}\nroot_secret = {secret}\n",
            self.kid
        )
    }

    pub fn from_key_file(text: &str) -> Result<TrustRootKey, CredentialError> {
        let [kid, secret] = named_values(text, [("kid", true), ("root_secret", true)])?;
        let secret = hex_bytes(&secret.unwrap(), 32, "the secret is not 64 hex digits")?;
        TrustRootKey::from_secret(&kid.unwrap(), &secret)
    }
}

/// The trust root's public key (信任根公钥), built into the app and the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    pub kid: String,
    /// SEC1 compressed P-256 point (33 bytes).
    pub public_key: Vec<u8>,
}

impl TrustRoot {
    /// As a text file, for builds to take in: `kid` and the public key in hex.
    pub fn to_text(&self) -> String {
        format!(
            "# 电子驾驶证信任根公钥 e-licence trust root (public).\nkid = {}\nroot_public_key = {}\n",
            self.kid,
            crate::hex::encode(&self.public_key)
        )
    }

    pub fn from_text(text: &str) -> Result<TrustRoot, CredentialError> {
        let [kid, public_key] = named_values(text, [("kid", true), ("root_public_key", true)])?;
        let public_key = hex_bytes(
            &public_key.unwrap(),
            33,
            "the public key is not 66 hex digits",
        )?;
        VerifyingKey::from_sec1_bytes(&public_key).map_err(|_| CredentialError::BadKey)?;
        Ok(TrustRoot {
            kid: kid.unwrap(),
            public_key,
        })
    }
}

fn compressed(key: &VerifyingKey) -> Vec<u8> {
    key.to_encoded_point(true).as_bytes().to_vec()
}

/// The values of `names` in a `name = value` text (comments with `#`): each at most once,
/// the required ones (`true`) present, no other name; a kid is 1 to 64 characters.
fn named_values<const N: usize>(
    text: &str,
    names: [(&str, bool); N],
) -> Result<[Option<String>; N], CredentialError> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or(CredentialError::Malformed("key file line without '='"))?;
        let at = names
            .iter()
            .position(|(n, _)| *n == name.trim())
            .ok_or(CredentialError::Malformed("unknown name in key file"))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(CredentialError::Malformed("an empty value in key file"));
        }
        if values[at].replace(value.to_owned()).is_some() {
            return Err(CredentialError::Malformed("a name twice in key file"));
        }
    }
    if names
        .iter()
        .zip(&values)
        .any(|((_, required), v)| *required && v.is_none())
    {
        return Err(CredentialError::Malformed(
            "a key file lacks a name it needs",
        ));
    }
    if values[0].as_ref().is_some_and(|kid| kid.len() > 64) {
        return Err(CredentialError::Malformed(
            "a kid longer than 64 characters",
        ));
    }
    Ok(values)
}

fn rfc3339(unix: i64) -> String {
    licence_core::china_rfc3339(unix).unwrap_or_else(|| unix.to_string())
}

fn unix(text: &str) -> Result<i64, CredentialError> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| CredentialError::Malformed("a window end that is not an RFC 3339 time"))
}

fn hex_bytes(text: &str, len: usize, what: &'static str) -> Result<Vec<u8>, CredentialError> {
    crate::hex::decode(text)
        .filter(|b| b.len() == len)
        .ok_or(CredentialError::Malformed(what))
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
        compressed(self.signing.verifying_key())
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
        // A fixed window round-trips in RFC 3339; half a window is refused.
        let dated = IssuerKey::from_secret("bj-2026", "北京市公安局公安交通管理局", &[7; 32])
            .unwrap()
            .with_window(1_767_196_800, 1_798_732_800);
        let dated_text = dated.to_key_file();
        assert!(dated_text.contains("valid_from = 2026-01-01T00:00:00+08:00\n"));
        assert_eq!(
            IssuerKey::from_key_file(&dated_text).unwrap().window(),
            Some((1_767_196_800, 1_798_732_800))
        );
        for bad in [
            dated_text.replace("valid_until", "# valid_until"),
            dated_text.replace("2026-01-01T00:00:00+08:00", "yesterday"),
            dated_text.replace("valid_until = 2027", "valid_until = 2025"),
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
