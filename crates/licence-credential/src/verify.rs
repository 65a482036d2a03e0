//! Offline verification of a presentation, step by step, each failure with its own verdict.

pub use licence_core::verdict::{Light, VerdictCode};
use licence_core::{LicenceStatus, Standing};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Serialize;

use crate::credential::{open_signed, Credential, IssuerCheck};
use crate::keys::TrustList;
use crate::presentation::{signed_digest, Presentation};
use crate::status::StatusList;

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

/// Verifies QR text at `now` (Unix seconds) against a trust list and, if there is one, the
/// cached status list (already opened with [`StatusList::verify`]). Never reports "invalid"
/// or "abnormal" unless the status list says so: without a fresh list the answer is
/// `status_unknown`.
pub fn verify(
    text: &str,
    trust: &TrustList,
    status: Option<&StatusList>,
    now: i64,
    options: VerifyOptions,
) -> Verification {
    let Ok(presentation) = Presentation::from_text(text) else {
        return Verification::fail(VerdictCode::Malformed);
    };
    let (issuer, payload) = match open_signed(&presentation.credential, trust) {
        Ok(opened) => opened,
        Err(IssuerCheck::Malformed) => return Verification::fail(VerdictCode::Malformed),
        Err(IssuerCheck::UnknownIssuer) => return Verification::fail(VerdictCode::UnknownIssuer),
        Err(IssuerCheck::BadSignature) => {
            return Verification::fail(VerdictCode::BadIssuerSignature)
        }
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
    };
    let verdict = 'checks: {
        if credential.not_before < issuer.valid_from || credential.not_before > issuer.valid_until {
            break 'checks VerdictCode::IssuerKeyOutOfPeriod;
        }
        if now < credential.not_before - CLOCK_SKEW {
            break 'checks VerdictCode::NotYetValid;
        }
        if now > credential.not_after {
            break 'checks VerdictCode::Expired;
        }
        let device_ok = VerifyingKey::from_sec1_bytes(&credential.device_key)
            .ok()
            .zip(Signature::from_slice(&presentation.device_signature).ok())
            .is_some_and(|(key, sig)| {
                key.verify(
                    &signed_digest(&presentation.credential, presentation.generated_at),
                    &sig,
                )
                .is_ok()
            });
        if !device_ok {
            break 'checks VerdictCode::BadDeviceSignature;
        }
        if presentation.generated_at > now + CLOCK_SKEW {
            break 'checks VerdictCode::PresentationFromFuture;
        }
        if now - presentation.generated_at > options.max_age {
            break 'checks VerdictCode::PresentationTooOld;
        }
        result.status = match status {
            None => StatusReport::Unknown {
                reason: "no status list",
            },
            Some(list) if !list.is_fresh(now) => StatusReport::Unknown {
                reason: "status list older than its maximum age",
            },
            Some(list) => match list.get(credential.status_index) {
                None => StatusReport::Unknown {
                    reason: "index outside the status list",
                },
                Some((Standing::Normal, _)) => StatusReport::Normal,
                Some((Standing::Abnormal, codes)) => StatusReport::Abnormal {
                    codes: codes.map(|c: LicenceStatus| c.to_string()),
                },
                Some((Standing::Invalid, codes)) => StatusReport::Invalid {
                    codes: codes.map(|c| c.to_string()),
                },
            },
        };
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
