//! The presentation the QR code carries: the signed credential, the time it was generated, and
//! the holder device's signature over both. Text form: `DL1:` + base45(deflate(CBOR)), all in
//! the QR alphanumeric alphabet.

use ciborium::Value;
use sha2::{Digest, Sha256};

use crate::credential::low_s_signature;
use crate::keys::DeviceKey;
use crate::{base45, CredentialError};

/// Version prefix of the QR text.
pub const PREFIX: &str = "DL1:";
/// Longest QR text accepted (the alphanumeric capacity of a version 40 code).
pub const MAX_TEXT_CHARS: usize = 4296;
/// Largest decompressed presentation accepted.
pub const MAX_INFLATED_BYTES: usize = 16 * 1024;
const DOMAIN: &[u8] = b"licence-presentation-v1";

/// A presentation as decoded from QR text (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    /// The issuer-signed COSE_Sign1, as the issuer made it.
    pub credential: Vec<u8>,
    /// Unix seconds when the device made this presentation.
    pub generated_at: i64,
    /// ES256 signature (r‖s) by the device key over `signed_digest`.
    pub device_signature: Vec<u8>,
}

/// What the device signs: SHA-256 over a domain tag, the credential and the generation time.
pub(crate) fn signed_digest(credential: &[u8], generated_at: i64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update((credential.len() as u64).to_be_bytes());
    h.update(credential);
    h.update(generated_at.to_be_bytes());
    h.finalize().into()
}

impl Presentation {
    /// Makes a fresh presentation of a signed credential, on the holder's device.
    pub fn generate(credential: &[u8], device: &DeviceKey, now: i64) -> Presentation {
        let sig = low_s_signature(device.signing(), &signed_digest(credential, now));
        Presentation {
            credential: credential.to_vec(),
            generated_at: now,
            device_signature: sig.to_bytes().to_vec(),
        }
    }

    /// The QR text.
    pub fn to_text(&self) -> String {
        let value = Value::Array(vec![
            Value::Integer(1.into()),
            Value::Bytes(self.credential.clone()),
            Value::Integer(self.generated_at.into()),
            Value::Bytes(self.device_signature.clone()),
        ]);
        let cbor = crate::cbor::encode(value);
        format!(
            "{PREFIX}{}",
            base45::encode(&miniz_oxide::deflate::compress_to_vec(&cbor, 9))
        )
    }

    /// Reads QR text, with a limit on every length before the next step allocates.
    pub fn from_text(text: &str) -> Result<Presentation, CredentialError> {
        let bad = CredentialError::Malformed;
        let text = text.trim();
        if text.len() > MAX_TEXT_CHARS {
            return Err(bad("QR text too long"));
        }
        let body = text
            .strip_prefix(PREFIX)
            .ok_or(bad("not an e-licence QR code (prefix)"))?;
        let deflated = base45::decode(body).ok_or(bad("not base45"))?;
        let cbor =
            miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_INFLATED_BYTES)
                .map_err(|_| bad("compressed data invalid or too large"))?;
        crate::cbor::check_deterministic(&cbor)?;
        let value: Value = ciborium::from_reader(cbor.as_slice()).map_err(|_| bad("not CBOR"))?;
        let items = value.into_array().map_err(|_| bad("not an array"))?;
        let [version, credential, generated_at, signature]: [Value; 4] =
            items.try_into().map_err(|_| bad("wrong number of parts"))?;
        if version.as_integer() != Some(1.into()) {
            return Err(bad("unknown presentation version"));
        }
        Ok(Presentation {
            credential: credential
                .into_bytes()
                .map_err(|_| bad("credential is not bytes"))?,
            generated_at: generated_at
                .as_integer()
                .and_then(|i| i64::try_from(i).ok())
                .ok_or(bad("generation time is not an integer"))?,
            device_signature: signature
                .into_bytes()
                .map_err(|_| bad("signature is not bytes"))?,
        })
    }
}
