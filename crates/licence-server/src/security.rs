//! Passwords (argon2), session tokens and one-time codes. Nothing secret is stored in the
//! clear: passwords as argon2id hashes, tokens and codes as SHA-256 digests.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::http::StatusCode;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{Limit, Staff, Store, StoreError};

/// 8 to 32 characters with at least one letter and one digit, as 12123 asks.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    let letters = password.chars().any(|c| c.is_ascii_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !(8..=32).contains(&chars) || !letters || !digits || password.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
            "密码须为 8-32 位，且同时包含字母和数字",
            "The password must be 8 to 32 characters with at least one letter and one digit",
        ));
    }
    Ok(())
}

/// An argon2id hash in PHC format. CPU-heavy: call on the blocking pool.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// CPU-heavy: call on the blocking pool.
/// A hash no password matches in practice, checked against for an account that does not
/// exist: a sign-in then takes as long for an unknown account as for a known one, so the time
/// does not say who is registered.
pub fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret: [u8; 32] = rand::random();
        Argon2::default()
            .hash_password(&secret, &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks `password` against an account's `hash`, or, when there is no such account, against
/// [`dummy_password_hash`] (and then never matches): the same time either way. CPU-heavy:
/// call on the blocking pool.
pub fn account_password_matches(password: &str, hash: Option<&str>) -> bool {
    let matches = password_matches(password, hash.unwrap_or(dummy_password_hash()));
    hash.is_some() && matches
}

pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh bearer token (256 random bits, URL-safe base64) and the digest that is stored.
pub fn new_token() -> (String, Vec<u8>) {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_digest(&token);
    (token, digest)
}

pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A random six-digit code, its salt and salted digest.
pub fn new_code() -> (String, Vec<u8>, Vec<u8>) {
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let salt: [u8; 16] = rand::thread_rng().gen();
    let digest = code_digest(&code, &salt);
    (code, salt.to_vec(), digest)
}

pub fn code_digest(code: &str, salt: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(code.as_bytes());
    h.finalize().to_vec()
}

/// Compares digests in time independent of where they differ.
pub fn same_digest(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The longest staff username looked up; longer ones belong to no one.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A member of staff's sign-in attempt (console or officer), reserved against the limit.
pub struct StaffAttempt {
    /// Who the name is, if anyone.
    pub staff: Option<Staff>,
    /// What the failures count under: the member of staff, or for a name no one has a short
    /// digest of it, so that what is stored stays small however long the name sent.
    pub limit_key: String,
    /// False when the limit was full: nothing was recorded, and the password is not checked.
    pub within_limit: bool,
    /// When the attempt was reserved (what [`release_attempt`] takes back).
    pub reserved_at: i64,
}

/// Looks `username` up and reserves the attempt against `kind`'s limit (at most `limit` since
/// `since`) in one go, before the password is checked: attempts released together cannot all
/// pass. Call on the blocking pool.
pub fn reserve_staff_attempt(
    store: &dyn Store,
    kind: &str,
    username: &str,
    since: i64,
    limit: u32,
    at: i64,
) -> Result<StaffAttempt, StoreError> {
    let staff = if username.chars().count() > MAX_USERNAME_CHARS {
        None
    } else {
        store.staff_by_username(username)?
    };
    let limit_key = staff.as_ref().map_or_else(
        || format!("unknown:{}", short_digest(username)),
        |s| format!("staff:{}", s.id),
    );
    let within_limit = store
        .reserve_event(kind, &limit_key, since, limit, at)?
        .is_some();
    Ok(StaffAttempt {
        staff,
        limit_key,
        within_limit,
        reserved_at: at,
    })
}

/// Takes back one sign-in attempt reserved at `at` under `kind` and `key`: it was the right
/// password, so it is no failure. The failures before it still count for the rest of their
/// window: a right password does not forgive them, or guesses released together with the
/// owner's own sign-in (or arriving just after it) would get a fresh allowance each time the
/// owner signs in.
pub fn release_attempt(
    store: &dyn Store,
    kind: &str,
    key: &str,
    at: i64,
) -> Result<(), StoreError> {
    store.release_events(
        &[Limit {
            kind,
            key,
            since: at,
            limit: 0,
        }],
        at,
    )
}

/// Every run of six digits or more in `text` (a mobile or ID number, perhaps) replaced by
/// `mask` of it; shorter runs and everything else kept.
pub fn mask_digit_runs(text: &str, mask: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    for c in text.chars().map(Some).chain([None]) {
        if let Some(d) = c.filter(char::is_ascii_digit) {
            digits.push(d);
            continue;
        }
        if digits.len() >= 6 {
            out.push_str(&mask(&digits));
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        out.extend(c);
    }
    out
}

/// A short digest of something typed (16 hex digits): what is stored in its place when it
/// names no account, so that storage stays small however much was sent.
pub fn short_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An unguessable identifier for a challenge.
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_letters_digits_and_length() {
        for weak in ["short1", "onlyletters", "1234567890", "", &"a1".repeat(17)] {
            assert_eq!(
                check_password(weak).unwrap_err().body.code,
                "weak_password",
                "{weak}"
            );
        }
        check_password("Licence2026").unwrap();
    }

    #[test]
    fn a_password_hash_verifies_only_its_password() {
        let hash = hash_password("Licence2026").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("Licence2026", &hash));
        assert!(!password_matches("Licence2027", &hash));
        assert!(!password_matches("Licence2026", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_costs_what_an_account_hash_costs() {
        // The same algorithm and parameters (memory, passes, lanes): verifying against it is the
        // same work, so an unknown account's sign-in takes as long as a known one's.
        let params = |hash: &str| {
            let parsed = PasswordHash::new(hash).unwrap();
            let mut params: Vec<String> = parsed
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            params.sort();
            (parsed.algorithm.to_string(), parsed.version, params)
        };
        let account = hash_password("Licence2026").unwrap();
        assert_eq!(params(dummy_password_hash()), params(&account));
        assert!(!account_password_matches("Licence2026", None));
        assert!(account_password_matches("Licence2026", Some(&account)));
    }

    #[test]
    fn codes_are_six_digits_and_salted() {
        let (code, salt, digest) = new_code();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
        assert!(same_digest(&code_digest(&code, &salt), &digest));
        assert!(!same_digest(&code_digest(&code, b"other salt"), &digest));
    }
}
