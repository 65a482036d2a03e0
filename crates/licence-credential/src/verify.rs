//! Offline verification of a presentation, step by step, each failure with its own verdict.

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

/// The verdict, a stable code for each outcome.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum VerdictCode {
    /// Genuine, fresh, from the holder's device, and the licence's status is normal.
    Valid,
    Malformed,
    UnknownIssuer,
    /// The issuer's key was not valid when the credential was issued.
    IssuerKeyOutOfPeriod,
    BadIssuerSignature,
    NotYetValid,
    Expired,
    /// Not signed by the device the credential is bound to (a copy on another phone).
    BadDeviceSignature,
    /// Generated too long ago: a screenshot or a recording.
    PresentationTooOld,
    /// Generated in the future beyond the clock-skew allowance.
    PresentationFromFuture,
    /// Genuine, but the licence is not normal (12 points, withheld, overdue …): red.
    StatusAbnormal,
    /// Genuine, but the licence is revoked or cancelled.
    StatusInvalid,
    /// Genuine and fresh, but no status list fresh enough to say the licence's status.
    StatusUnknown,
}

impl VerdictCode {
    /// Every verdict, in declaration order.
    pub const ALL: &'static [VerdictCode] = <Self as strum::VariantArray>::VARIANTS;

    /// The verdict with this code (as an online check reports it).
    pub fn from_code(code: &str) -> Option<VerdictCode> {
        code.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an officer's screen shows at a glance: green (trust it), red (do not), amber (the
/// credential is genuine and fresh, but its status cannot be confirmed offline).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Light {
    Green,
    Amber,
    Red,
}

impl Light {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl VerdictCode {
    pub fn light(self) -> Light {
        match self {
            VerdictCode::Valid => Light::Green,
            VerdictCode::StatusUnknown => Light::Amber,
            _ => Light::Red,
        }
    }

    /// The verdict in words for the officer, Chinese and English: what it means and, where it
    /// helps, what to do.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            VerdictCode::Valid => ("有效：证件真实，由持证人手机刚刚生成，驾驶证状态正常",
                "Valid: genuine, generated just now on the holder's phone, licence in normal standing"),
            VerdictCode::Malformed => ("无法识别：不是电子驾驶证二维码，或内容被改动",
                "Not an e-licence QR code, or its content was altered"),
            VerdictCode::UnknownIssuer => ("签发机关不在信任列表中：请更新信任列表或核对证件",
                "Issued by an authority not on the trust list: update the list or check the licence"),
            VerdictCode::IssuerKeyOutOfPeriod => ("签发密钥不在有效期内",
                "The issuer's key was not valid when this was issued"),
            VerdictCode::BadIssuerSignature => ("签名无效：证件内容被篡改",
                "The issuer's signature does not verify: the content was tampered with"),
            VerdictCode::NotYetValid => ("电子驾驶证尚未生效", "The e-licence is not valid yet"),
            VerdictCode::Expired => ("电子驾驶证已过期：请持证人联网更新",
                "The e-licence has expired: the holder must go online to renew it"),
            VerdictCode::BadDeviceSignature => ("二维码不是由持证人本人的手机生成（复制的证件）",
                "Not generated on the holder's own phone (a copied licence)"),
            VerdictCode::PresentationTooOld => ("二维码已过期：可能是截图或录屏，请持证人当场出示",
                "The QR code is too old: probably a screenshot or recording; ask for the live screen"),
            VerdictCode::PresentationFromFuture => ("二维码时间异常：持证人手机时间不正确",
                "The QR code's time is in the future: the holder's phone clock is wrong"),
            VerdictCode::StatusAbnormal => ("驾驶证状态异常：不得放行驾驶",
                "The licence is not in normal standing: do not let them drive"),
            VerdictCode::StatusInvalid => ("驾驶证已失效（撤销、吊销或注销）",
                "The licence is no longer valid (withdrawn, revoked or cancelled)"),
            VerdictCode::StatusUnknown => ("证件真实，但无法确认当前状态：状态信息已过期，请联网核验",
                "Genuine, but the current status cannot be confirmed: the status information is out of date; check online"),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// strum's name is serde's name for every variant: `as_str`, `from_code` and the JSON
    /// never drift apart.
    #[test]
    fn strum_and_serde_agree() {
        fn check<T>()
        where
            T: strum::VariantArray + Serialize + Copy + Into<&'static str> + std::str::FromStr,
            T: std::fmt::Debug + PartialEq,
        {
            for v in T::VARIANTS {
                let name: &'static str = (*v).into();
                assert_eq!(serde_json::to_value(v).unwrap(), name, "{v:?}");
                assert!(name.parse::<T>().is_ok_and(|back| back == *v), "{v:?}");
            }
        }
        check::<VerdictCode>();
        check::<Light>();
        assert_eq!(
            VerdictCode::IssuerKeyOutOfPeriod.as_str(),
            "issuer_key_out_of_period"
        );
    }
}
