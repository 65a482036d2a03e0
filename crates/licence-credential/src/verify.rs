//! Offline verification of a presentation, step by step, each failure with its own verdict.

pub use licence_core::verdict::{Light, VerdictCode};
use licence_core::{LicenceStatus, Standing};
use p256::ecdsa::VerifyingKey;
use serde::Serialize;

use crate::credential::{check_signature, open_signed, Credential};
use crate::keys::TrustList;
use crate::presentation::{signed_digest, Presentation};
use crate::status::StatusList;
use crate::CredentialError;

/// How far a device's clock may run ahead of the verifier's, in seconds.
pub const CLOCK_SKEW: i64 = 10;
/// Oldest presentation accepted by default, in seconds: two refresh periods of 30 s.
pub const DEFAULT_MAX_AGE: i64 = 60;

/// What the status list said, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StatusReport {
    Normal,
    Abnormal {
        codes: Option<String>,
    },
    Invalid {
        codes: Option<String>,
    },
    /// No list, a list older than its maximum age, or the index outside it.
    Unknown {
        reason: &'static str,
    },
    /// Not looked up: an earlier step failed.
    NotChecked,
}

/// The result of verifying one presentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub verdict: VerdictCode,
    /// The signed credential, once the issuer's signature is good (even if a later step fails,
    /// so the officer can see whose QR it is).
    pub credential: Option<Credential>,
    pub issuer_authority: Option<String>,
    pub status: StatusReport,
    pub generated_at: Option<i64>,
    /// For `non_canonical_encoding`: the rule the bytes break (`cbor::EncodingError::code`,
    /// e.g. `duplicate_key`, `indefinite_length`, `trailing_bytes`).
    pub detail: Option<&'static str>,
}

impl Verification {
    pub fn valid(&self) -> bool {
        self.verdict == VerdictCode::Valid
    }

    fn fail(verdict: VerdictCode) -> Verification {
        Verification {
            verdict,
            credential: None,
            issuer_authority: None,
            status: StatusReport::NotChecked,
            generated_at: None,
            detail: None,
        }
    }

    /// Refused for `error`, with the rule broken when it is one of the encoding's.
    fn refused(error: &CredentialError) -> Verification {
        Verification {
            detail: match error {
                CredentialError::NotDeterministic(rule) => Some(rule.code()),
                _ => None,
            },
            ..Verification::fail(refusal(error))
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Oldest presentation accepted, in seconds.
    pub max_age: i64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            max_age: DEFAULT_MAX_AGE,
        }
    }
}

/// Verifies QR text at `now` (Unix seconds) against a trust list and the cached status lists
/// (already opened with [`StatusList::verify`]; only a list of the credential's own issuer
/// speaks for it). Never reports "invalid" or "abnormal" unless the status list or the
/// credential's own record says so: without a fresh list of its issuer the answer is
/// `status_unknown`. The order of the checks, and so which verdict wins, is docs/credential.md's.
pub fn verify(
    text: &str,
    trust: &TrustList,
    lists: &[StatusList],
    now: i64,
    options: VerifyOptions,
) -> Verification {
    let presentation = match Presentation::from_text(text) {
        Ok(presentation) => presentation,
        Err(e) => return Verification::refused(&e),
    };
    let (issuer, payload) = match open_signed(&presentation.credential, trust) {
        Ok(opened) => opened,
        Err(e) => return Verification::refused(&e),
    };
    let Ok(credential) = Credential::from_cbor(&payload) else {
        return Verification::fail(VerdictCode::Malformed);
    };
    let mut result = Verification {
        verdict: VerdictCode::Valid,
        credential: Some(credential.clone()),
        issuer_authority: Some(issuer.authority.clone()),
        status: StatusReport::NotChecked,
        generated_at: Some(presentation.generated_at),
        detail: None,
    };
    let verdict = 'checks: {
        // The whole validity lies within the key's window: a retired key cannot sign for
        // years to come.
        if credential.not_before < issuer.valid_from || credential.not_after > issuer.valid_until {
            break 'checks VerdictCode::IssuerKeyOutOfPeriod;
        }
        if now < credential.not_before.saturating_sub(CLOCK_SKEW) {
            break 'checks VerdictCode::NotYetValid;
        }
        if now > credential.not_after {
            break 'checks VerdictCode::Expired;
        }
        let device = VerifyingKey::from_sec1_bytes(&credential.device_key);
        let digest = signed_digest(&presentation.credential, presentation.generated_at);
        match device.map(|key| check_signature(&key, &digest, &presentation.device_signature)) {
            Ok(Ok(())) => {}
            Ok(Err(CredentialError::HighS)) => break 'checks VerdictCode::NonCanonicalSignature,
            _ => break 'checks VerdictCode::BadDeviceSignature,
        }
        if presentation.generated_at > now.saturating_add(CLOCK_SKEW) {
            break 'checks VerdictCode::PresentationFromFuture;
        }
        if now.saturating_sub(presentation.generated_at) > options.max_age {
            break 'checks VerdictCode::PresentationTooOld;
        }
        let from_list = list_report(&credential, &issuer.kid, lists, now);
        result.status = worse(own_report(&credential, now), from_list);
        match result.status {
            StatusReport::Normal => VerdictCode::Valid,
            StatusReport::Abnormal { .. } => VerdictCode::StatusAbnormal,
            StatusReport::Invalid { .. } => VerdictCode::StatusInvalid,
            _ => VerdictCode::StatusUnknown,
        }
    };
    result.verdict = verdict;
    result
}

/// The verdict for a presentation or credential that could not be opened.
fn refusal(error: &CredentialError) -> VerdictCode {
    match error {
        CredentialError::NotDeterministic(_) => VerdictCode::NonCanonicalEncoding,
        CredentialError::HighS => VerdictCode::NonCanonicalSignature,
        CredentialError::UnknownIssuer | CredentialError::BadKey => VerdictCode::UnknownIssuer,
        CredentialError::BadSignature => VerdictCode::BadIssuerSignature,
        CredentialError::KeyOutOfPeriod => VerdictCode::IssuerKeyOutOfPeriod,
        CredentialError::Malformed(_) | CredentialError::Older => VerdictCode::Malformed,
    }
}

/// What the status list of the credential's issuer says at `now`.
fn list_report(credential: &Credential, kid: &str, lists: &[StatusList], now: i64) -> StatusReport {
    let Some(list) = lists
        .iter()
        .filter(|list| list.issuer() == Some(kid))
        .max_by_key(|list| list.issued_at)
    else {
        return StatusReport::Unknown {
            reason: if lists.is_empty() {
                "no status list"
            } else {
                "no status list of this credential's issuer"
            },
        };
    };
    if !list.is_fresh(now) {
        return StatusReport::Unknown {
            reason: "status list older than its maximum age",
        };
    }
    match list.get(credential.status_index) {
        None => StatusReport::Unknown {
            reason: "index outside the status list",
        },
        Some((standing, codes)) => report(standing, codes),
    }
}

/// What the credential's own record says on the day of `now` in China: 12 points or a
/// validity that has ended are not normal whatever the list says.
fn own_report(credential: &Credential, now: i64) -> StatusReport {
    let date = time::OffsetDateTime::from_unix_timestamp(now)
        .map(|t| t.to_offset(licence_core::CHINA_OFFSET).date())
        .unwrap_or(time::Date::MAX);
    let status = credential.licence.status_on(date);
    let codes = (!status.is_normal()).then_some(status);
    report(status.standing(), codes)
}

fn report(standing: Standing, codes: Option<LicenceStatus>) -> StatusReport {
    let codes = codes.map(|c| c.to_string());
    match standing {
        Standing::Normal => StatusReport::Normal,
        Standing::Abnormal => StatusReport::Abnormal { codes },
        Standing::Invalid => StatusReport::Invalid { codes },
    }
}

/// The worse of two reports: invalid, then abnormal, then unknown, then normal; on a tie the
/// list's (the fresher word).
fn worse(own: StatusReport, list: StatusReport) -> StatusReport {
    let rank = |r: &StatusReport| match r {
        StatusReport::Normal | StatusReport::NotChecked => 0,
        StatusReport::Unknown { .. } => 1,
        StatusReport::Abnormal { .. } => 2,
        StatusReport::Invalid { .. } => 3,
    };
    if rank(&own) > rank(&list) {
        own
    } else {
        list
    }
}
