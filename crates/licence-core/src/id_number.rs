//! The 18-character resident identity number (公民身份号码, GB 11643-1999).
//!
//! Layout: 6-digit administrative region code, 8-digit date of birth (YYYYMMDD), 3-digit
//! sequence (odd for men, even for women), and an ISO 7064 MOD 11-2 check character (0-9 or X).
//! The same number is the driving licence number (证号).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::text::fold;
use crate::Problem;

/// A valid second-generation resident identity number. Personal data: its `Debug` output is
/// masked, and [`IdNumber::masked`] is what logs may carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber([u8; 18]);

/// 性别, as encoded by the parity of the sequence code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

impl Sex {
    /// 男 / 女, as printed on the licence.
    pub fn name_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

/// The province-level division named by the first two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Province {
    code: u8,
    name_zh: &'static str,
    name_en: &'static str,
}

impl Province {
    /// Province-level codes of GB/T 2260 that appear in issued numbers: the 31 mainland
    /// divisions, plus 81/82/83 used by residence permits for Hong Kong, Macao and Taiwan
    /// residents (港澳台居民居住证), who may hold a mainland driving licence. GB/T 2260's 71
    /// (Taiwan) is left out: no issued number begins with it.
    const ALL: [Province; 34] = [
        Province::new(11, "北京市", "Beijing"),
        Province::new(12, "天津市", "Tianjin"),
        Province::new(13, "河北省", "Hebei"),
        Province::new(14, "山西省", "Shanxi"),
        Province::new(15, "内蒙古自治区", "Inner Mongolia"),
        Province::new(21, "辽宁省", "Liaoning"),
        Province::new(22, "吉林省", "Jilin"),
        Province::new(23, "黑龙江省", "Heilongjiang"),
        Province::new(31, "上海市", "Shanghai"),
        Province::new(32, "江苏省", "Jiangsu"),
        Province::new(33, "浙江省", "Zhejiang"),
        Province::new(34, "安徽省", "Anhui"),
        Province::new(35, "福建省", "Fujian"),
        Province::new(36, "江西省", "Jiangxi"),
        Province::new(37, "山东省", "Shandong"),
        Province::new(41, "河南省", "Henan"),
        Province::new(42, "湖北省", "Hubei"),
        Province::new(43, "湖南省", "Hunan"),
        Province::new(44, "广东省", "Guangdong"),
        Province::new(45, "广西壮族自治区", "Guangxi"),
        Province::new(46, "海南省", "Hainan"),
        Province::new(50, "重庆市", "Chongqing"),
        Province::new(51, "四川省", "Sichuan"),
        Province::new(52, "贵州省", "Guizhou"),
        Province::new(53, "云南省", "Yunnan"),
        Province::new(54, "西藏自治区", "Xizang"),
        Province::new(61, "陕西省", "Shaanxi"),
        Province::new(62, "甘肃省", "Gansu"),
        Province::new(63, "青海省", "Qinghai"),
        Province::new(64, "宁夏回族自治区", "Ningxia"),
        Province::new(65, "新疆维吾尔自治区", "Xinjiang"),
        Province::new(
            81,
            "香港特别行政区（居住证）",
            "Hong Kong (residence permit)",
        ),
        Province::new(82, "澳门特别行政区（居住证）", "Macao (residence permit)"),
        Province::new(83, "台湾地区（居住证）", "Taiwan (residence permit)"),
    ];

    const fn new(code: u8, name_zh: &'static str, name_en: &'static str) -> Self {
        Province {
            code,
            name_zh,
            name_en,
        }
    }

    /// The province for a two-digit code, if it is one.
    pub fn from_code(code: u8) -> Option<Province> {
        Self::ALL.iter().copied().find(|p| p.code == code)
    }

    /// Every province-level code accepted in an ID number.
    pub fn all() -> &'static [Province] {
        &Self::ALL
    }

    pub fn code(self) -> u8 {
        self.code
    }

    pub fn name_zh(self) -> &'static str {
        self.name_zh
    }

    pub fn name_en(self) -> &'static str {
        self.name_en
    }
}

/// Why text is not a valid ID number. Messages never repeat the whole number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("The ID number is empty: enter the 18 characters on your resident identity card")]
    Empty,
    #[error("This is a 15-digit first-generation ID number: a second-generation card (18 characters) is required")]
    FirstGeneration,
    #[error("The ID number has {0} characters; it must have 18")]
    WrongLength(usize),
    #[error("Character {position} ('{found}') is not allowed: the first 17 must be digits, the last a digit or X")]
    InvalidCharacter { position: usize, found: char },
    #[error(
        "The number begins with {0}, which is not a province code: check the first two digits"
    )]
    UnknownRegion(String),
    #[error("Digits 7-14 ({0}) are not a real date of birth: check them against your card")]
    InvalidBirthDate(String),
    #[error("The date of birth {0} is in the future: check digits 7-14")]
    BirthDateInFuture(Date),
    #[error("The check character does not match: a character is wrong, check the number against your card")]
    CheckMismatch,
}

impl Problem for IdNumberError {
    fn code(&self) -> &'static str {
        match self {
            IdNumberError::Empty => "id_empty",
            IdNumberError::FirstGeneration => "id_first_generation",
            IdNumberError::WrongLength(_) => "id_wrong_length",
            IdNumberError::InvalidCharacter { .. } => "id_invalid_character",
            IdNumberError::UnknownRegion(_) => "id_unknown_region",
            IdNumberError::InvalidBirthDate(_) => "id_invalid_birth_date",
            IdNumberError::BirthDateInFuture(_) => "id_birth_date_in_future",
            IdNumberError::CheckMismatch => "id_check_mismatch",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            IdNumberError::Empty => "请输入身份证上的18位公民身份号码".into(),
            IdNumberError::FirstGeneration => {
                "这是15位的第一代身份证号码，须使用第二代居民身份证（18位）".into()
            }
            IdNumberError::WrongLength(n) => format!("身份证号码应为18位，您输入了{n}位"),
            IdNumberError::InvalidCharacter { position, found } => {
                format!("第{position}位字符“{found}”无效：前17位须为数字，最后一位为数字或X")
            }
            IdNumberError::UnknownRegion(code) => {
                format!("号码开头“{code}”不是有效的省级行政区划代码，请核对前两位")
            }
            IdNumberError::InvalidBirthDate(digits) => {
                format!("第7至14位“{digits}”不是有效的出生日期，请与证件核对")
            }
            IdNumberError::BirthDateInFuture(date) => {
                format!("出生日期{date}晚于今天，请核对第7至14位")
            }
            IdNumberError::CheckMismatch => "校验码不符：号码中有字符有误，请与证件核对".into(),
        }
    }
}

/// ISO 7064 MOD 11-2 weights for the first 17 digits: 2^(17-i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const CHECK: [u8; 11] = *b"10X98765432";

/// The earliest birth year accepted: older dates are typing errors, not people.
const EARLIEST_BIRTH_YEAR: i32 = 1900;

impl IdNumber {
    /// Parses user input, rejecting a date of birth after `today`. Accepts surrounding and
    /// internal spaces, full-width digits, and `x` for `X`.
    pub fn parse(input: &str, today: Date) -> Result<IdNumber, IdNumberError> {
        let id = Self::parse_structure(input)?;
        if id.birth_date() > today {
            return Err(IdNumberError::BirthDateInFuture(id.birth_date()));
        }
        Ok(id)
    }

    /// Builds the number for a region, date of birth and sequence, computing the check
    /// character (for counter registration tools, demo data and tests).
    pub fn from_parts(region: &str, birth: Date, sequence: u16) -> Result<IdNumber, IdNumberError> {
        if sequence > 999 {
            return Err(IdNumberError::WrongLength(21));
        }
        let body = format!(
            "{region}{:04}{:02}{:02}{sequence:03}",
            birth.year(),
            u8::from(birth.month()),
            birth.day()
        );
        if body.len() != 17 {
            return Err(IdNumberError::WrongLength(body.chars().count() + 1));
        }
        let check =
            Self::check_character(body.as_bytes()).ok_or(IdNumberError::InvalidCharacter {
                position: 1,
                found: body.chars().find(|c| !c.is_ascii_digit()).unwrap_or('?'),
            })?;
        Self::parse_structure(&format!("{body}{}", check as char))
    }

    /// The check character for 17 ASCII digits, or `None` if they are not all digits.
    pub fn check_character(first17: &[u8]) -> Option<u8> {
        if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = first17
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        Some(CHECK[(sum % 11) as usize])
    }

    /// Everything but the "not in the future" check, which needs today's date.
    fn parse_structure(input: &str) -> Result<IdNumber, IdNumberError> {
        let text = fold(input, &[' ', '\t']).to_ascii_uppercase();
        let len = text.chars().count();
        if len == 0 {
            return Err(IdNumberError::Empty);
        }
        if len == 15 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdNumberError::FirstGeneration);
        }
        // Positions counted as the scan goes: linear however long the input.
        if let Some((n, c)) = text
            .chars()
            .enumerate()
            .find(|&(n, c)| !(c.is_ascii_digit() || (n + 1 == 18 && c == 'X')))
        {
            return Err(IdNumberError::InvalidCharacter {
                position: n + 1,
                found: c,
            });
        }
        if len != 18 {
            return Err(IdNumberError::WrongLength(len));
        }
        let bytes: [u8; 18] = text.as_bytes().try_into().expect("18 ASCII characters");
        if Province::from_code(two_digits(&bytes[0..2])).is_none() {
            return Err(IdNumberError::UnknownRegion(text[0..2].to_owned()));
        }
        birth_date(&bytes)
            .ok_or_else(|| IdNumberError::InvalidBirthDate(text[6..14].to_owned()))?;
        if Self::check_character(&bytes[..17]) != Some(bytes[17]) {
            return Err(IdNumberError::CheckMismatch);
        }
        Ok(IdNumber(bytes))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// 出生日期, digits 7-14.
    pub fn birth_date(&self) -> Date {
        birth_date(&self.0).expect("validated at construction")
    }

    /// 性别, from the parity of digit 17.
    pub fn sex(&self) -> Sex {
        if (self.0[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    pub fn province(&self) -> Province {
        Province::from_code(two_digits(&self.0[0..2])).expect("validated at construction")
    }

    /// The 6-digit administrative region code where the number was first issued.
    pub fn region_code(&self) -> &str {
        &self.as_str()[0..6]
    }

    /// Full years of age on `date` (0 before the first birthday).
    pub fn age_on(&self, date: Date) -> u32 {
        let birth = self.birth_date();
        let mut age = date.year() - birth.year();
        if (date.month(), date.day()) < (birth.month(), birth.day()) {
            age -= 1;
        }
        age.max(0) as u32
    }

    /// The form that may appear in logs and on shared screens: first 4 and last 4 kept.
    pub fn masked(&self) -> String {
        let s = self.as_str();
        format!("{}**********{}", &s[..4], &s[14..])
    }
}

fn two_digits(b: &[u8]) -> u8 {
    (b[0] - b'0') * 10 + (b[1] - b'0')
}

fn birth_date(b: &[u8; 18]) -> Option<Date> {
    let digits =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let year = i32::try_from(digits(6..10)).ok()?;
    if year < EARLIEST_BIRTH_YEAR {
        return None;
    }
    let month = Month::try_from(u8::try_from(digits(10..12)).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(digits(12..14)).ok()?).ok()
}

/// Parses a number already accepted once (from the store or the wire). It checks everything
/// [`IdNumber::parse`] does except that the date of birth is not in the future, which needs
/// today's date: user input goes through `parse`.
impl FromStr for IdNumber {
    type Err = IdNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_structure(s)
    }
}

crate::text_conversions!(IdNumber, IdNumberError);

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Masked, so that a stray `{:?}` never logs a whole ID number.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);
    // Standard worked example of GB 11643 (Beijing, Chaoyang; born 1949-12-31).
    const VALID: &str = "11010519491231002X";

    #[test]
    fn parses_a_valid_number_and_exposes_its_parts() {
        let id = IdNumber::parse(VALID, TODAY).unwrap();
        assert_eq!(id.as_str(), VALID);
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.province().name_zh(), "北京市");
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.age_on(TODAY), 76);
        assert_eq!(id.age_on(date!(2026 - 12 - 31)), 77);
    }

    #[test]
    fn normalises_lower_case_x_spaces_and_full_width_input() {
        let expected = IdNumber::parse(VALID, TODAY).unwrap();
        for input in [
            "11010519491231002x",
            " 110105 19491231 002X ",
            "１１０１０５１９４９１２３１００２ｘ",
        ] {
            assert_eq!(IdNumber::parse(input, TODAY).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn computes_every_check_character() {
        // Expected values computed independently of this code (a separate script).
        for (body, check) in [
            ("11010519491231002", 'X'),
            ("44052418800101001", '4'),
            ("32010619900307123", '4'),
        ] {
            assert_eq!(
                IdNumber::check_character(body.as_bytes()),
                Some(check as u8),
                "{body}"
            );
        }
        assert_eq!(IdNumber::check_character(b"1101051949123100A"), None);
        assert_eq!(IdNumber::check_character(b"110105"), None);
    }

    #[test]
    fn rejects_each_kind_of_mistake_with_its_own_code() {
        let cases = [
            ("", "id_empty"),
            ("   ", "id_empty"),
            ("110105491231002", "id_first_generation"),
            ("1101051949123100", "id_wrong_length"),
            ("11010519491231002X1", "id_wrong_length"),
            ("1101051949123100XX", "id_invalid_character"),
            ("X1010519491231002X", "id_invalid_character"),
            ("11010519491231002Y", "id_invalid_character"),
            ("110105194912310-2X", "id_invalid_character"),
            ("71010519491231002X", "id_unknown_region"),
            ("00010519491231002X", "id_unknown_region"),
            ("110105199002300021", "id_invalid_birth_date"),
            ("110105199013010021", "id_invalid_birth_date"),
            ("110105189912310021", "id_invalid_birth_date"),
            ("110105190002290021", "id_invalid_birth_date"),
            ("110105194912310021", "id_check_mismatch"),
        ];
        for (input, code) in cases {
            let err = IdNumber::parse(input, TODAY).unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
            assert!(!err.message_zh().is_empty());
        }
    }

    #[test]
    fn reports_where_a_bad_character_is() {
        let err = IdNumber::parse("1101051949123100AX", TODAY).unwrap_err();
        assert_eq!(
            err,
            IdNumberError::InvalidCharacter {
                position: 17,
                found: 'A'
            }
        );
        assert_eq!(
            err.message_zh(),
            "第17位字符“A”无效：前17位须为数字，最后一位为数字或X"
        );
    }

    #[test]
    fn leap_day_births_exist_only_in_leap_years() {
        let leap = IdNumber::from_parts("110105", date!(2000 - 02 - 29), 12).unwrap();
        assert_eq!(leap.birth_date(), date!(2000 - 02 - 29));
        let text = format!("{}", leap).replace("20000229", "19000229");
        assert_eq!(
            IdNumber::parse(&text, TODAY).unwrap_err().code(),
            "id_invalid_birth_date"
        );
    }

    #[test]
    fn rejects_a_birth_date_after_today_but_accepts_today() {
        let born_today = IdNumber::from_parts("310104", TODAY, 1).unwrap();
        assert!(IdNumber::parse(born_today.as_str(), TODAY).is_ok());
        let err = IdNumber::parse(born_today.as_str(), date!(2026 - 11 - 23)).unwrap_err();
        assert_eq!(err, IdNumberError::BirthDateInFuture(TODAY));
        assert_eq!(err.code(), "id_birth_date_in_future");
    }

    #[test]
    fn sex_follows_the_parity_of_digit_17() {
        let man = IdNumber::from_parts("440524", date!(1988 - 01 - 01), 13).unwrap();
        let woman = IdNumber::from_parts("440524", date!(1988 - 01 - 01), 14).unwrap();
        assert_eq!((man.sex(), woman.sex()), (Sex::Male, Sex::Female));
    }

    #[test]
    fn debug_and_masked_forms_hide_the_middle() {
        let id = IdNumber::parse(VALID, TODAY).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(1101**********002X)");
        assert_eq!(id.to_string(), VALID);
    }

    #[test]
    fn serde_round_trips_as_a_string_and_validates() {
        let id = IdNumber::parse(VALID, TODAY).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{VALID}\""));
        assert_eq!(serde_json::from_str::<IdNumber>(&json).unwrap(), id);
        assert!(serde_json::from_str::<IdNumber>("\"110105194912310021\"").is_err());
    }

    #[test]
    fn from_parts_rejects_bad_regions_and_sequences() {
        assert_eq!(
            IdNumber::from_parts("990105", date!(1990 - 01 - 01), 1)
                .unwrap_err()
                .code(),
            "id_unknown_region"
        );
        assert!(IdNumber::from_parts("11010", date!(1990 - 01 - 01), 1).is_err());
        assert!(IdNumber::from_parts("110105", date!(1990 - 01 - 01), 1000).is_err());
    }
}
