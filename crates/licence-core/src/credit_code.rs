//! Codes that identify a unit (单位) at the counter (R2.9): the 18-character unified social
//! credit code (统一社会信用代码, GB 32100-2015) and the older 9-character organisation code
//! (组织机构代码, GB 11714-1997) still printed on some certificates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::{fold, position};
use crate::Problem;

/// The 31 characters of GB 32100: digits and capitals without I, O, Z, S and V.
const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights 3^i mod 31 for the first 17 characters.
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// GB 11714 weights for the 8 body characters.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why text is not a valid unit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitCodeError {
    #[error("The code is empty: enter it as printed on the business licence")]
    Empty,
    #[error("The code has {found} characters; a {kind} has {expected}")]
    WrongLength {
        kind: UnitCodeKind,
        found: usize,
        expected: usize,
    },
    #[error("Character {position} ('{found}') is not allowed here: {rule}")]
    InvalidCharacter {
        position: usize,
        found: char,
        rule: CharRule,
    },
    #[error("The check character does not match: a character is wrong, compare the code with the certificate")]
    CheckMismatch,
}

impl Problem for UnitCodeError {
    fn code(&self) -> &'static str {
        match self {
            UnitCodeError::Empty => "unit_code_empty",
            UnitCodeError::WrongLength { .. } => "unit_code_wrong_length",
            UnitCodeError::InvalidCharacter { .. } => "unit_code_invalid_character",
            UnitCodeError::CheckMismatch => "unit_code_check_mismatch",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            UnitCodeError::Empty => "请按营业执照上的内容输入代码".into(),
            UnitCodeError::WrongLength {
                kind,
                found,
                expected,
            } => {
                let kind = match kind {
                    UnitCodeKind::CreditCode => "统一社会信用代码",
                    UnitCodeKind::OrganisationCode => "组织机构代码",
                };
                format!("{kind}应为{expected}位，您输入了{found}位")
            }
            UnitCodeError::InvalidCharacter {
                position,
                found,
                rule,
            } => {
                format!("第{position}位字符“{found}”无效：{}", rule.message_zh())
            }
            UnitCodeError::CheckMismatch => "校验码不符：有字符输入错误，请与证照核对".into(),
        }
    }
}

/// Which rule a character broke, so the message can say what is allowed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharRule {
    /// GB 32100's character set.
    CreditCharset,
    /// Characters 3-8 of a credit code.
    RegionDigits,
    /// The 8 body characters of an organisation code.
    OrganisationBody,
    /// The check character of an organisation code.
    OrganisationCheck,
}

impl fmt::Display for CharRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CharRule::CreditCharset => {
                "only digits and capital letters other than I, O, Z, S and V are used"
            }
            CharRule::RegionDigits => "characters 3-8 are a region code and must be digits",
            CharRule::OrganisationBody => "the first 8 characters are digits or capital letters",
            CharRule::OrganisationCheck => "the check character is a digit or X",
        })
    }
}

impl CharRule {
    fn message_zh(self) -> &'static str {
        match self {
            CharRule::CreditCharset => "统一社会信用代码只使用数字和除I、O、Z、S、V以外的大写字母",
            CharRule::RegionDigits => "第3至8位是行政区划代码，须为数字",
            CharRule::OrganisationBody => "组织机构代码前8位为数字或大写字母",
            CharRule::OrganisationCheck => "组织机构代码的校验码为数字或X",
        }
    }
}

/// Which kind of code a length error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitCodeKind {
    CreditCode,
    OrganisationCode,
}

impl fmt::Display for UnitCodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnitCodeKind::CreditCode => "unified social credit code",
            UnitCodeKind::OrganisationCode => "organisation code",
        })
    }
}

/// 统一社会信用代码: registration authority (1), unit category (1), region code (6),
/// organisation code (9), check character (1, MOD 31).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnifiedSocialCreditCode([u8; 18]);

impl UnifiedSocialCreditCode {
    /// The MOD 31 check character for 17 characters of the GB 32100 set, if they are.
    pub fn check_character(first17: &[u8]) -> Option<u8> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in first17.iter().zip(CREDIT_WEIGHTS) {
            sum += credit_value(*c)? * w;
        }
        Some(CREDIT_CHARSET[((31 - sum % 31) % 31) as usize])
    }

    /// Builds the code from its first 17 characters, computing the check character.
    pub fn from_body(first17: &str) -> Result<Self, UnitCodeError> {
        let check = Self::check_character(first17.as_bytes()).unwrap_or(b'?');
        format!("{first17}{}", check as char).parse()
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// 登记管理部门代码 (e.g. `9` for market regulation) and 机构类别代码 (e.g. `1` for an enterprise).
    pub fn registration_authority(&self) -> char {
        self.0[0] as char
    }

    pub fn unit_category(&self) -> char {
        self.0[1] as char
    }

    /// 登记管理机关行政区划码: the 6-digit region of the registering authority.
    pub fn region_code(&self) -> &str {
        &self.as_str()[2..8]
    }

    /// The 9-character body that carries the unit's organisation code. Its own GB 11714 check
    /// is not enforced: for some unit categories (e.g. individual businesses) it is assigned
    /// without one.
    pub fn organisation_part(&self) -> &str {
        &self.as_str()[8..17]
    }
}

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_CHARSET
        .iter()
        .position(|&x| x == c)
        .map(|i| i as u32)
}

impl FromStr for UnifiedSocialCreditCode {
    type Err = UnitCodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = fold(input, &[' ', '\t']).to_ascii_uppercase();
        if text.is_empty() {
            return Err(UnitCodeError::Empty);
        }
        // Positions counted as the scan goes: linear however long the input.
        for (n, c) in text.chars().enumerate() {
            let pos = n + 1;
            let ok = if (3..=8).contains(&pos) {
                c.is_ascii_digit()
            } else {
                c.is_ascii() && credit_value(c as u8).is_some()
            };
            if !ok {
                let rule = if (3..=8).contains(&pos) && credit_value(c as u8).is_some() {
                    CharRule::RegionDigits
                } else {
                    CharRule::CreditCharset
                };
                return Err(UnitCodeError::InvalidCharacter {
                    position: pos,
                    found: c,
                    rule,
                });
            }
        }
        let bytes: [u8; 18] =
            text.as_bytes()
                .try_into()
                .map_err(|_| UnitCodeError::WrongLength {
                    kind: UnitCodeKind::CreditCode,
                    found: text.len(),
                    expected: 18,
                })?;
        if Self::check_character(&bytes[..17]) != Some(bytes[17]) {
            return Err(UnitCodeError::CheckMismatch);
        }
        Ok(UnifiedSocialCreditCode(bytes))
    }
}

/// 组织机构代码: 8 body characters and a MOD 11 check character, written `XXXXXXXX-X`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganisationCode([u8; 9]);

impl OrganisationCode {
    /// The check character for 8 body characters (digits or capitals), if they are.
    pub fn check_character(body: &[u8]) -> Option<u8> {
        if body.len() != 8 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in body.iter().zip(ORG_WEIGHTS) {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => return None,
            };
            sum += v * w;
        }
        Some(match 11 - sum % 11 {
            10 => b'X',
            11 => b'0',
            n => b'0' + n as u8,
        })
    }
}

impl FromStr for OrganisationCode {
    type Err = UnitCodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = fold(input, &[' ', '\t']).to_ascii_uppercase();
        if text.is_empty() {
            return Err(UnitCodeError::Empty);
        }
        // The hyphen is optional but, if present, stands before the check character.
        let compact: String = match text.char_indices().filter(|&(_, c)| c == '-').count() {
            0 => text.clone(),
            1 if text.find('-') == Some(8) => text.replacen('-', "", 1),
            _ => {
                let i = text.rfind('-').expect("a hyphen");
                return Err(UnitCodeError::InvalidCharacter {
                    position: position(&text, i),
                    found: '-',
                    rule: CharRule::OrganisationBody,
                });
            }
        };
        for (n, c) in compact.chars().enumerate() {
            let pos = n + 1;
            let (ok, rule) = if pos <= 8 {
                (
                    c.is_ascii_digit() || c.is_ascii_uppercase(),
                    CharRule::OrganisationBody,
                )
            } else {
                (c.is_ascii_digit() || c == 'X', CharRule::OrganisationCheck)
            };
            if !ok {
                return Err(UnitCodeError::InvalidCharacter {
                    position: pos,
                    found: c,
                    rule,
                });
            }
        }
        let bytes: [u8; 9] =
            compact
                .as_bytes()
                .try_into()
                .map_err(|_| UnitCodeError::WrongLength {
                    kind: UnitCodeKind::OrganisationCode,
                    found: compact.len(),
                    expected: 9,
                })?;
        if Self::check_character(&bytes[..8]) != Some(bytes[8]) {
            return Err(UnitCodeError::CheckMismatch);
        }
        Ok(OrganisationCode(bytes))
    }
}

impl fmt::Display for UnifiedSocialCreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for UnifiedSocialCreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnifiedSocialCreditCode({self})")
    }
}

impl fmt::Display for OrganisationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = std::str::from_utf8(&self.0).expect("ASCII by construction");
        write!(f, "{}-{}", &s[..8], &s[8..])
    }
}

impl fmt::Debug for OrganisationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrganisationCode({self})")
    }
}

crate::text_conversions!(UnifiedSocialCreditCode, UnitCodeError);
crate::text_conversions!(OrganisationCode, UnitCodeError);

#[cfg(test)]
mod tests {
    use super::*;

    // Published codes of two listed companies (Sinopec, Tencent), whose embedded
    // organisation codes are 71092609-4 and 70846113-6.
    const SINOPEC: &str = "91110000710926094P";
    const TENCENT: &str = "91440300708461136T";

    #[test]
    fn parses_real_credit_codes_and_exposes_their_parts() {
        let code: UnifiedSocialCreditCode = SINOPEC.parse().unwrap();
        assert_eq!(code.to_string(), SINOPEC);
        assert_eq!(code.registration_authority(), '9');
        assert_eq!(code.unit_category(), '1');
        assert_eq!(code.region_code(), "110000");
        assert_eq!(code.organisation_part(), "710926094");
        let lower: UnifiedSocialCreditCode = " 91440300708461136t ".parse().unwrap();
        assert_eq!(lower.as_str(), TENCENT);
    }

    #[test]
    fn the_embedded_organisation_codes_are_valid_too() {
        for code in [SINOPEC, TENCENT] {
            let code: UnifiedSocialCreditCode = code.parse().unwrap();
            let org: OrganisationCode = code.organisation_part().parse().unwrap();
            assert_eq!(org.to_string().replace('-', ""), code.organisation_part());
        }
    }

    #[test]
    fn rejects_credit_code_mistakes_with_precise_codes() {
        let cases = [
            ("", "unit_code_empty"),
            ("91110000710926094", "unit_code_wrong_length"),
            ("91110000710926094PP", "unit_code_wrong_length"),
            ("91110000710926094Q", "unit_code_check_mismatch"),
            ("9111000071092609IP", "unit_code_invalid_character"),
            ("91110000710926O94P", "unit_code_invalid_character"),
            ("911A0000710926094P", "unit_code_invalid_character"),
            ("91110000710926094-", "unit_code_invalid_character"),
        ];
        for (input, code) in cases {
            let err = input.parse::<UnifiedSocialCreditCode>().unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
    }

    #[test]
    fn explains_the_excluded_letters_and_the_region_digits() {
        let err = "9111000071092609SP"
            .parse::<UnifiedSocialCreditCode>()
            .unwrap_err();
        assert_eq!(
            err.message_zh(),
            "第17位字符“S”无效：统一社会信用代码只使用数字和除I、O、Z、S、V以外的大写字母"
        );
        let err = "911A0000710926094P"
            .parse::<UnifiedSocialCreditCode>()
            .unwrap_err();
        assert_eq!(
            err.message_zh(),
            "第4位字符“A”无效：第3至8位是行政区划代码，须为数字"
        );
    }

    #[test]
    fn from_body_computes_the_check_character() {
        assert_eq!(
            UnifiedSocialCreditCode::from_body("91110000710926094")
                .unwrap()
                .as_str(),
            SINOPEC
        );
        assert!(UnifiedSocialCreditCode::from_body("9111000071092609I").is_err());
    }

    #[test]
    fn organisation_codes_parse_with_or_without_the_hyphen() {
        for input in ["71092609-4", "710926094", " m000100y-4 "] {
            let code: OrganisationCode = input.parse().unwrap();
            assert_eq!(code.to_string().len(), 10, "{input}");
        }
        let code: OrganisationCode = "D2143612-3".parse().unwrap();
        assert_eq!(code.to_string(), "D2143612-3");
        assert_eq!(
            "00000000-0"
                .parse::<OrganisationCode>()
                .unwrap()
                .to_string(),
            "00000000-0"
        );
    }

    #[test]
    fn rejects_organisation_code_mistakes() {
        let cases = [
            ("", "unit_code_empty"),
            ("71092609-5", "unit_code_check_mismatch"),
            ("7109260-94", "unit_code_invalid_character"),
            ("71092609-A", "unit_code_invalid_character"),
            ("7109260*-4", "unit_code_invalid_character"),
            ("71092609", "unit_code_wrong_length"),
            ("710926091234", "unit_code_wrong_length"),
        ];
        for (input, code) in cases {
            let err = input.parse::<OrganisationCode>().unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
    }
}
