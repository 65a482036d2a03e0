//! 有效期限 and 累积记分: how long a licence is valid, and the 12-point scoring cycle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::Date;

use crate::Problem;

/// The three terms a licence is issued for, in the order a clean record earns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityTerm {
    /// 六年: a first licence.
    SixYears,
    /// 十年
    TenYears,
    /// 长期
    LongTerm,
}

impl ValidityTerm {
    pub fn years(self) -> Option<i32> {
        match self {
            ValidityTerm::SixYears => Some(6),
            ValidityTerm::TenYears => Some(10),
            ValidityTerm::LongTerm => None,
        }
    }

    /// The term of the licence issued on renewal. A driver who never reached 12 points in any
    /// scoring cycle of the term moves up (6 → 10 → long-term); otherwise the term repeats.
    pub fn after_renewal(self, reached_12_points_in_term: bool) -> ValidityTerm {
        match (self, reached_12_points_in_term) {
            (term, true) => term,
            (ValidityTerm::SixYears, false) => ValidityTerm::TenYears,
            (ValidityTerm::TenYears | ValidityTerm::LongTerm, false) => ValidityTerm::LongTerm,
        }
    }
}

/// 有效期限: a start date and a term. The end is the same calendar day `years` later
/// (28 February when the start is 29 February and the end year is not a leap year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Validity {
    start: Date,
    term: ValidityTerm,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    #[error(
        "'{0}' is not a validity period: write it as 2020-01-01至2026-01-01 or 2020-01-01至长期"
    )]
    Malformed(String),
    #[error("'{0}' is not a real date (YYYY-MM-DD)")]
    InvalidDate(String),
    #[error(
        "A validity period runs 6 years, 10 years or long-term; {start} to {end} is none of these"
    )]
    NonStandardTerm { start: Date, end: Date },
}

impl Problem for ValidityError {
    fn code(&self) -> &'static str {
        match self {
            ValidityError::Malformed(_) => "validity_malformed",
            ValidityError::InvalidDate(_) => "validity_invalid_date",
            ValidityError::NonStandardTerm { .. } => "validity_non_standard_term",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ValidityError::Malformed(t) => {
                format!("“{t}”不是有效期限，应写作2020-01-01至2026-01-01或2020-01-01至长期")
            }
            ValidityError::InvalidDate(t) => format!("“{t}”不是有效日期（年-月-日）"),
            ValidityError::NonStandardTerm { start, end } => {
                format!("有效期限应为六年、十年或长期，{start}至{end}都不是")
            }
        }
    }
}

fn add_years(date: Date, years: i32) -> Date {
    let year = date.year() + years;
    date.replace_year(year)
        .or_else(|_| Date::from_calendar_date(year, date.month(), 28))
        .expect("28th exists in every month")
}

impl Validity {
    pub fn new(start: Date, term: ValidityTerm) -> Self {
        Validity { start, term }
    }

    pub fn start(&self) -> Date {
        self.start
    }

    pub fn term(&self) -> ValidityTerm {
        self.term
    }

    /// The last day of validity, or `None` for long-term.
    pub fn end(&self) -> Option<Date> {
        self.term.years().map(|y| add_years(self.start, y))
    }

    /// Whether the licence is within its validity on `date` (both ends included).
    pub fn covers(&self, date: Date) -> bool {
        date >= self.start && self.end().is_none_or(|end| date <= end)
    }
}

fn parse_date(text: &str) -> Result<Date, ValidityError> {
    let text = text.trim();
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| ValidityError::InvalidDate(text.to_owned()))
}

impl FromStr for Validity {
    type Err = ValidityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (start, end) = input
            .split_once('至')
            .ok_or_else(|| ValidityError::Malformed(input.trim().to_owned()))?;
        let start = parse_date(start)?;
        let end = end.trim();
        if end == "长期" {
            return Ok(Validity::new(start, ValidityTerm::LongTerm));
        }
        let end = parse_date(end)?;
        [ValidityTerm::SixYears, ValidityTerm::TenYears]
            .into_iter()
            .map(|term| Validity::new(start, term))
            .find(|v| v.end() == Some(end))
            .ok_or(ValidityError::NonStandardTerm { start, end })
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end() {
            Some(end) => write!(f, "{}至{}", self.start, end),
            None => write!(f, "{}至长期", self.start),
        }
    }
}

crate::text_conversions!(Validity, ValidityError);

/// 累积记分: points in the current scoring cycle. Reaching 12 means the licence is 超分.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Points(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} points is not possible in one cycle: the count is 0-{max}", max = Points::MAX)]
pub struct PointsError(pub u32);

impl Problem for PointsError {
    fn code(&self) -> &'static str {
        "points_out_of_range"
    }

    fn message_zh(&self) -> String {
        format!("累积记分{}分超出范围（0至{}分）", self.0, Points::MAX)
    }
}

impl Points {
    /// The points at which a licence is full (记满12分).
    pub const LIMIT: u8 = 12;
    /// A ceiling well above anything one cycle can collect, to catch corrupt data.
    pub const MAX: u8 = 99;

    pub fn new(points: u32) -> Result<Self, PointsError> {
        u8::try_from(points)
            .ok()
            .filter(|p| *p <= Self::MAX)
            .map(Points)
            .ok_or(PointsError(points))
    }

    pub fn value(self) -> u8 {
        self.0
    }

    pub fn reached_limit(self) -> bool {
        self.0 >= Self::LIMIT
    }
}

impl TryFrom<u8> for Points {
    type Error = PointsError;

    fn try_from(p: u8) -> Result<Self, Self::Error> {
        Points::new(p.into())
    }
}

impl From<Points> for u8 {
    fn from(p: Points) -> u8 {
        p.0
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// 记分周期: twelve months counted from the first-issue date (初次领证日期) and each of its
/// anniversaries; points reset at the start of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringCycle {
    /// First day of the cycle.
    pub start: Date,
    /// Last day of the cycle.
    pub end: Date,
}

impl ScoringCycle {
    /// The cycle containing `date`, or `None` before the licence was first issued.
    pub fn containing(first_issued: Date, date: Date) -> Option<ScoringCycle> {
        if date < first_issued {
            return None;
        }
        let mut years = date.year() - first_issued.year();
        if add_years(first_issued, years) > date {
            years -= 1;
        }
        let start = add_years(first_issued, years);
        let end = add_years(first_issued, years + 1)
            .previous_day()
            .expect("not the first day of time");
        Some(ScoringCycle { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn parses_and_formats_each_term() {
        for (text, term, end) in [
            (
                "2020-01-15至2026-01-15",
                ValidityTerm::SixYears,
                Some(date!(2026 - 01 - 15)),
            ),
            (
                "2014-07-01至2024-07-01",
                ValidityTerm::TenYears,
                Some(date!(2024 - 07 - 01)),
            ),
            ("2010-03-09至长期", ValidityTerm::LongTerm, None),
        ] {
            let v: Validity = text.parse().unwrap();
            assert_eq!((v.term(), v.end()), (term, end), "{text}");
            assert_eq!(v.to_string(), text);
        }
        let spaced: Validity = " 2020-01-15 至 2026-01-15 ".parse().unwrap();
        assert_eq!(spaced.to_string(), "2020-01-15至2026-01-15");
    }

    #[test]
    fn a_leap_day_start_ends_on_28_february() {
        let v = Validity::new(date!(2024 - 02 - 29), ValidityTerm::SixYears);
        assert_eq!(v.end(), Some(date!(2030 - 02 - 28)));
        assert_eq!(v.to_string().parse::<Validity>().unwrap(), v);
    }

    #[test]
    fn covers_includes_both_ends() {
        let v: Validity = "2020-01-15至2026-01-15".parse().unwrap();
        assert!(!v.covers(date!(2020 - 01 - 14)));
        assert!(v.covers(date!(2020 - 01 - 15)));
        assert!(v.covers(date!(2026 - 01 - 15)));
        assert!(!v.covers(date!(2026 - 01 - 16)));
        let long: Validity = "2010-03-09至长期".parse().unwrap();
        assert!(long.covers(date!(2099 - 12 - 31)));
    }

    #[test]
    fn rejects_bad_validity_text() {
        let cases = [
            ("2020-01-15", "validity_malformed"),
            ("2020-01-15 to 2026-01-15", "validity_malformed"),
            ("2020-02-30至2026-02-28", "validity_invalid_date"),
            ("2020-01-15至永久", "validity_invalid_date"),
            ("2020-01-15至2025-01-15", "validity_non_standard_term"),
            ("2020-01-15至2026-01-16", "validity_non_standard_term"),
        ];
        for (input, code) in cases {
            let err = input.parse::<Validity>().unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
    }

    #[test]
    fn a_clean_record_earns_a_longer_term() {
        use ValidityTerm::*;
        assert_eq!(SixYears.after_renewal(false), TenYears);
        assert_eq!(TenYears.after_renewal(false), LongTerm);
        assert_eq!(LongTerm.after_renewal(false), LongTerm);
        assert_eq!(SixYears.after_renewal(true), SixYears);
        assert_eq!(TenYears.after_renewal(true), TenYears);
    }

    #[test]
    fn points_are_bounded_and_twelve_is_the_limit() {
        assert!(!Points::new(11).unwrap().reached_limit());
        assert!(Points::new(12).unwrap().reached_limit());
        assert!(Points::new(99).is_ok());
        assert_eq!(Points::new(100).unwrap_err().code(), "points_out_of_range");
        assert_eq!(Points::new(300).unwrap_err(), PointsError(300));
        assert!(serde_json::from_str::<Points>("100").is_err());
    }

    #[test]
    fn scoring_cycles_run_from_the_first_issue_anniversary() {
        let first = date!(2018 - 05 - 20);
        assert_eq!(ScoringCycle::containing(first, date!(2018 - 05 - 19)), None);
        let c = ScoringCycle::containing(first, date!(2026 - 05 - 19)).unwrap();
        assert_eq!(
            (c.start, c.end),
            (date!(2025 - 05 - 20), date!(2026 - 05 - 19))
        );
        let c = ScoringCycle::containing(first, date!(2026 - 05 - 20)).unwrap();
        assert_eq!(
            (c.start, c.end),
            (date!(2026 - 05 - 20), date!(2027 - 05 - 19))
        );
        let c = ScoringCycle::containing(first, first).unwrap();
        assert_eq!(c.start, first);
    }
}
