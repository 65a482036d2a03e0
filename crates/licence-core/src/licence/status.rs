//! 驾驶证状态: the licence's status as a set of codes, and whether it is normal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Problem;

/// One status code of the public-security traffic management system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StatusCode {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
    N,
    P,
    R,
    S,
    T,
    U,
    Z,
}

/// How a verifier should treat a licence: the QR is black only for `Normal`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Standing {
    /// 正常: may drive.
    Normal,
    /// Not normal but still a licence (12 points, withheld, overdue review …): a red QR.
    Abnormal,
    /// Annulled, revoked or cancelled: the licence no longer exists as such.
    Invalid,
}

impl Standing {
    /// The stable name (`normal`, `abnormal`, `invalid`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl StatusCode {
    pub const ALL: [StatusCode; 20] = {
        use StatusCode::*;
        [A, B, C, D, E, F, G, H, I, J, K, L, M, N, P, R, S, T, U, Z]
    };

    pub fn letter(self) -> char {
        format!("{self:?}").chars().next().expect("one letter")
    }

    pub fn from_letter(c: char) -> Option<StatusCode> {
        Self::ALL
            .into_iter()
            .find(|s| s.letter() == c.to_ascii_uppercase())
    }

    pub fn name_zh(self) -> &'static str {
        use StatusCode::*;
        match self {
            A => "正常",
            B => "超分",
            C => "转出",
            D => "暂扣",
            E => "撤销",
            F => "吊销",
            G => "注销",
            H => "违法未处理",
            I => "事故未处理",
            J => "停止使用",
            K => "扣押",
            L => "锁定",
            M => "逾期未换证",
            N => "延期换证",
            P => "延期体检",
            R => "注销可恢复",
            S => "逾期未审验",
            T => "延期审验",
            U => "扣留",
            Z => "其他",
        }
    }

    pub fn name_en(self) -> &'static str {
        use StatusCode::*;
        match self {
            A => "normal",
            B => "12-point limit reached",
            C => "transferred out",
            D => "temporarily withheld",
            E => "annulled",
            F => "revoked",
            G => "cancelled",
            H => "unresolved traffic violation",
            I => "unresolved accident",
            J => "suspended from use",
            K => "seized",
            L => "locked",
            M => "overdue for renewal",
            N => "renewal deferred",
            P => "medical check deferred",
            R => "cancelled (recoverable)",
            S => "overdue for periodic review",
            T => "periodic review deferred",
            U => "detained",
            Z => "other",
        }
    }

    /// A (正常) is normal; E 撤销, F 吊销 and G 注销 end the licence; every other code is abnormal.
    /// R (注销可恢复) is abnormal, not invalid: it can be restored without a new licence.
    pub fn standing(self) -> Standing {
        match self {
            StatusCode::A => Standing::Normal,
            StatusCode::E | StatusCode::F | StatusCode::G => Standing::Invalid,
            _ => Standing::Abnormal,
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// The licence's status as printed, e.g. "A" or "HI" (two states at once). Never empty, and
/// "A" (normal) stands alone.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LicenceStatus(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceStatusError {
    #[error("No status code given: a licence's status is at least one code, A for normal")]
    Empty,
    #[error(
        "'{found}' at character {position} is not a licence status code (A-H, I-N, P, R-U, Z)"
    )]
    Unknown { position: usize, found: char },
    #[error("Status code {0} is listed twice")]
    Duplicate(StatusCode),
    #[error("Status A (normal) cannot be combined with other codes")]
    NormalCombined,
}

impl Problem for LicenceStatusError {
    fn code(&self) -> &'static str {
        match self {
            LicenceStatusError::Empty => "status_empty",
            LicenceStatusError::Unknown { .. } => "status_unknown",
            LicenceStatusError::Duplicate(_) => "status_duplicate",
            LicenceStatusError::NormalCombined => "status_normal_combined",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            LicenceStatusError::Empty => "未填写驾驶证状态，正常状态为A".into(),
            LicenceStatusError::Unknown { position, found } => {
                format!("第{position}个字符“{found}”不是驾驶证状态代码")
            }
            LicenceStatusError::Duplicate(s) => format!("状态代码{s}重复"),
            LicenceStatusError::NormalCombined => "状态A（正常）不能与其他状态同时出现".into(),
        }
    }
}

impl LicenceStatus {
    /// 正常.
    pub const NORMAL: LicenceStatus = LicenceStatus(1);

    /// The status with exactly these codes.
    pub fn from_codes(codes: &[StatusCode]) -> Result<Self, LicenceStatusError> {
        let mut bits = 0;
        for code in codes {
            if bits & code.bit() != 0 {
                return Err(LicenceStatusError::Duplicate(*code));
            }
            bits |= code.bit();
        }
        if bits == 0 {
            return Err(LicenceStatusError::Empty);
        }
        if bits & StatusCode::A.bit() != 0 && bits != StatusCode::A.bit() {
            return Err(LicenceStatusError::NormalCombined);
        }
        Ok(LicenceStatus(bits))
    }

    pub fn codes(&self) -> impl Iterator<Item = StatusCode> + '_ {
        StatusCode::ALL
            .into_iter()
            .filter(|c| self.0 & c.bit() != 0)
    }

    pub fn contains(&self, code: StatusCode) -> bool {
        self.0 & code.bit() != 0
    }

    /// Whether the status is exactly A (正常): the one test behind a black or a red QR code.
    pub fn is_normal(&self) -> bool {
        *self == Self::NORMAL
    }

    /// The worst standing among the codes.
    pub fn standing(&self) -> Standing {
        self.codes()
            .map(StatusCode::standing)
            .max()
            .unwrap_or(Standing::Normal)
    }

    /// The codes' names joined for display: "违法未处理、事故未处理".
    pub fn names_zh(&self) -> String {
        self.codes()
            .map(StatusCode::name_zh)
            .collect::<Vec<_>>()
            .join("、")
    }

    pub fn names_en(&self) -> String {
        self.codes()
            .map(StatusCode::name_en)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl FromStr for LicenceStatus {
    type Err = LicenceStatusError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut codes = Vec::new();
        for (i, c) in input.trim().chars().enumerate() {
            let code = StatusCode::from_letter(c)
                .filter(|_| c.is_ascii_alphabetic())
                .ok_or(LicenceStatusError::Unknown {
                    position: i + 1,
                    found: c,
                })?;
            codes.push(code);
        }
        Self::from_codes(&codes)
    }
}

impl fmt::Display for LicenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.codes().try_for_each(|c| write!(f, "{c}"))
    }
}

impl fmt::Debug for LicenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenceStatus({self})")
    }
}

crate::text_conversions!(LicenceStatus, LicenceStatusError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hi_is_two_states_and_not_normal() {
        let s: LicenceStatus = "HI".parse().unwrap();
        assert_eq!(
            s.codes().collect::<Vec<_>>(),
            [StatusCode::H, StatusCode::I]
        );
        assert!(!s.is_normal());
        assert_eq!(s.standing(), Standing::Abnormal);
        assert_eq!(s.names_zh(), "违法未处理、事故未处理");
        assert_eq!(s.to_string(), "HI");
    }

    #[test]
    fn only_a_is_normal() {
        assert!("A".parse::<LicenceStatus>().unwrap().is_normal());
        assert!(" a ".parse::<LicenceStatus>().unwrap().is_normal());
        for code in StatusCode::ALL.into_iter().filter(|c| *c != StatusCode::A) {
            let s = LicenceStatus::from_codes(&[code]).unwrap();
            assert!(!s.is_normal(), "{code}");
            assert_ne!(s.standing(), Standing::Normal, "{code}");
        }
    }

    #[test]
    fn revoked_cancelled_and_annulled_are_invalid_and_outrank_abnormal() {
        for text in ["E", "F", "G", "BF", "HG"] {
            assert_eq!(
                text.parse::<LicenceStatus>().unwrap().standing(),
                Standing::Invalid,
                "{text}"
            );
        }
        assert_eq!(
            "R".parse::<LicenceStatus>().unwrap().standing(),
            Standing::Abnormal
        );
    }

    #[test]
    fn canonical_order_round_trips() {
        assert_eq!("IH".parse::<LicenceStatus>().unwrap().to_string(), "HI");
        for code in StatusCode::ALL {
            let text = code.to_string();
            assert_eq!(text.parse::<LicenceStatus>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_status_strings() {
        let cases = [
            ("", "status_empty"),
            ("O", "status_unknown"),
            ("Q", "status_unknown"),
            ("HV", "status_unknown"),
            ("H1", "status_unknown"),
            ("HH", "status_duplicate"),
            ("AH", "status_normal_combined"),
            ("HA", "status_normal_combined"),
        ];
        for (input, code) in cases {
            let err = input.parse::<LicenceStatus>().unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
    }
}
