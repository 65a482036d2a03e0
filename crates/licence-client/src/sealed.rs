//! Bearer tokens at rest: sealed (ChaCha20-Poly1305) under a key derived from the device key,
//! so that they rest where the device key rests — the operating system's key store, else the
//! owner-only fallback file — and the app's database holds nothing a copy of it could use.
//! A driver's or officer's token copied out of `app.sqlite` alone opens nothing.
//!
//! The sealed form is `sealed:v1:` and base64 of a random 12-byte nonce followed by the
//! ciphertext with its tag. A token stored before sealing existed (plain) is still read, and
//! sealed the next time it is saved.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use crate::ClientError;

const PREFIX: &str = "sealed:v1:";
/// Binds the derived key to its one use.
const INFO: &[u8] = b"licence-client bearer tokens at rest v1";

/// Seals and opens tokens with the key derived from the device's secret.
pub struct TokenSeal {
    cipher: ChaCha20Poly1305,
}

impl TokenSeal {
    /// The seal of the device whose key's secret (32 bytes) is `device_secret`.
    pub fn from_device_secret(device_secret: &[u8]) -> TokenSeal {
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(None, device_secret);
        let mut key = [0u8; 32];
        hkdf.expand(INFO, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        TokenSeal {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    pub fn seal(&self, token: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), token.as_bytes())
            .expect("ChaCha20-Poly1305 seals any token");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// The token in `stored`: opened when sealed, as it is when stored plain (before sealing).
    /// A seal that does not open (another device's key, a damaged row) is an error: the
    /// caller forgets the session and the person signs in again.
    pub fn open(&self, stored: &str) -> Result<String, ClientError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let unreadable = || ClientError::Store("a stored session token does not open".into());
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| unreadable())?;
        if bytes.len() < 12 + 16 {
            return Err(unreadable());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| unreadable())?;
        let token = self
            .cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| unreadable())?;
        String::from_utf8(token).map_err(|_| unreadable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_with_its_device_only() {
        let seal = TokenSeal::from_device_secret(&[7; 32]);
        let sealed = seal.seal("secret-token");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("secret-token"));
        assert_eq!(seal.open(&sealed).unwrap(), "secret-token");
        // Sealed twice, stored differently (a fresh nonce each time).
        assert_ne!(seal.seal("secret-token"), sealed);
        // Another device's key does not open it; nor does a damaged or cut row.
        let other = TokenSeal::from_device_secret(&[8; 32]);
        assert!(other.open(&sealed).is_err());
        let mut damaged = sealed.clone();
        damaged.pop();
        damaged.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(seal.open(&damaged).is_err());
        assert!(seal.open("sealed:v1:AAAA").is_err());
        assert!(seal.open("sealed:v1:!!").is_err());
        // A token stored before sealing is read as it is.
        assert_eq!(seal.open("plain-token").unwrap(), "plain-token");
    }
}
