//! Mainland China mobile numbers (手机号码), to which one-time codes and results are sent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::{fold, position};
use crate::Problem;

/// An 11-digit mainland mobile number with an allocated prefix. Personal data: `Debug` is
/// masked, and [`MobileNumber::masked`] is what logs may carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MobileNumber([u8; 11]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileNumberError {
    #[error("The mobile number is empty: enter the 11-digit number you use now")]
    Empty,
    #[error("Character {position} ('{found}') is not a digit: enter the number as 11 digits")]
    InvalidCharacter { position: usize, found: char },
    #[error("The mobile number has {0} digits; a mainland mobile number has 11")]
    WrongLength(usize),
    #[error("Numbers beginning {0} are not mainland mobile numbers: check the first three digits")]
    UnknownPrefix(String),
}

impl Problem for MobileNumberError {
    fn code(&self) -> &'static str {
        match self {
            MobileNumberError::Empty => "phone_empty",
            MobileNumberError::InvalidCharacter { .. } => "phone_invalid_character",
            MobileNumberError::WrongLength(_) => "phone_wrong_length",
            MobileNumberError::UnknownPrefix(_) => "phone_unknown_prefix",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            MobileNumberError::Empty => "请输入您目前使用的11位手机号码".into(),
            MobileNumberError::InvalidCharacter { position, found } => {
                format!("第{position}位“{found}”不是数字，手机号码应为11位数字")
            }
            MobileNumberError::WrongLength(n) => format!("手机号码应为11位，您输入了{n}位"),
            MobileNumberError::UnknownPrefix(p) => {
                format!("“{p}”开头的不是大陆手机号码，请核对前三位")
            }
        }
    }
}

/// Whether the first three digits are a prefix allocated to mobile service (MIIT numbering
/// plan): 13x, 145-149, 150-153, 155-159, 162, 165-167, 170-178, 18x, 190-193, 195-199.
/// Prefixes for 13-digit IoT numbers (140, 141, 144) and unallocated ones are refused.
fn is_mobile_prefix(p: [u8; 3]) -> bool {
    let [a, b, c] = p.map(|d| d - b'0');
    a == 1
        && match b {
            3 | 8 => true,
            4 => (5..=9).contains(&c),
            5 => c != 4,
            6 => matches!(c, 2 | 5 | 6 | 7),
            7 => c <= 8,
            9 => c != 4,
            _ => false,
        }
}

impl MobileNumber {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// First 3 and last 4 digits kept, as SMS and banking apps show it: `138****8000`.
    pub fn masked(&self) -> String {
        let s = self.as_str();
        format!("{}****{}", &s[..3], &s[7..])
    }
}

impl FromStr for MobileNumber {
    type Err = MobileNumberError;

    /// Accepts `+86`/`0086` country prefixes, spaces, dashes, parentheses and full-width digits.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = fold(input, &[' ', '\t', '-', '(', ')']);
        if text.is_empty() {
            return Err(MobileNumberError::Empty);
        }
        let national = text
            .strip_prefix("+86")
            .or_else(|| text.strip_prefix("0086"))
            .or_else(|| {
                (text.len() == 13)
                    .then(|| text.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&text);
        if let Some((i, c)) = national.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(MobileNumberError::InvalidCharacter {
                position: position(national, i),
                found: c,
            });
        }
        let digits: [u8; 11] = national
            .as_bytes()
            .try_into()
            .map_err(|_| MobileNumberError::WrongLength(national.len()))?;
        if !is_mobile_prefix([digits[0], digits[1], digits[2]]) {
            return Err(MobileNumberError::UnknownPrefix(national[..3].to_owned()));
        }
        Ok(MobileNumber(digits))
    }
}

crate::text_conversions!(MobileNumber, MobileNumberError);

impl fmt::Display for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobileNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_ways_of_writing_a_number() {
        for input in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "008613800138000",
            "8613800138000",
            "(+86) 13800138000",
            "１３８００１３８０００",
        ] {
            let n: MobileNumber = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.as_str(), "13800138000");
        }
    }

    #[test]
    fn accepts_every_allocated_prefix_family() {
        for p in [
            "130", "139", "145", "149", "150", "153", "155", "159", "162", "165", "166", "167",
            "170", "178", "180", "189", "190", "193", "195", "199",
        ] {
            assert!(
                format!("{p}00001111").parse::<MobileNumber>().is_ok(),
                "{p}"
            );
        }
    }

    #[test]
    fn rejects_unallocated_and_non_mobile_prefixes() {
        for p in [
            "100", "120", "140", "141", "144", "154", "160", "164", "168", "179", "194", "200",
        ] {
            let err = format!("{p}00001111").parse::<MobileNumber>().unwrap_err();
            assert_eq!(err, MobileNumberError::UnknownPrefix(p.into()));
            assert_eq!(err.code(), "phone_unknown_prefix");
        }
    }

    #[test]
    fn rejects_malformed_input_with_precise_codes() {
        let cases = [
            ("", "phone_empty"),
            ("  ", "phone_empty"),
            ("1380013800", "phone_wrong_length"),
            ("138001380001", "phone_wrong_length"),
            ("+86 1380013800", "phone_wrong_length"),
            ("1380013800a", "phone_invalid_character"),
            ("138.0013.8000", "phone_invalid_character"),
        ];
        for (input, code) in cases {
            let err = input.parse::<MobileNumber>().unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
        assert_eq!(
            "1380013800a"
                .parse::<MobileNumber>()
                .unwrap_err()
                .message_zh(),
            "第11位“a”不是数字，手机号码应为11位数字"
        );
    }

    #[test]
    fn masks_in_debug_and_serialises_in_full() {
        let n: MobileNumber = "13800138000".parse().unwrap();
        assert_eq!(n.masked(), "138****8000");
        assert_eq!(format!("{n:?}"), "MobileNumber(138****8000)");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"13800138000\"");
        assert!(serde_json::from_str::<MobileNumber>("\"12800138000\"").is_err());
    }
}
