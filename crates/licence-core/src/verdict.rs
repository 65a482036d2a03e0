//! The verdict of an offline check of an e-licence presentation (核验结果): a stable code for
//! each outcome and the light an officer's screen shows. licence-credential reaches them;
//! they live here so that the API's schema can list the codes without the crypto.

use serde::Serialize;

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
    /// Decodable, but not in the one encoding the format allows (deterministic CBOR: a map key
    /// twice, an indefinite length, a long-form integer, bytes after the end …).
    NonCanonicalEncoding,
    /// A signature in its high-S form: the twin of a valid one, never what an issuer or a
    /// holder's app makes.
    NonCanonicalSignature,
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
            VerdictCode::NonCanonicalEncoding => ("无法识别：二维码内容的编码不合规范（可能被改动过）",
                "Not in the e-licence's one encoding: the code was re-encoded or altered"),
            VerdictCode::NonCanonicalSignature => ("签名格式不合规范：二维码可能被改动过",
                "A signature not in its canonical form: the code may have been altered"),
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
