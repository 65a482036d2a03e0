//! 居民身份证有效期限: the validity period printed on the back of the resident ID card, which
//! 实人认证 from 我的 asks for (R2.5).
//!
//! Cards are issued for 5 years (under 16), 10 years (16-25), 20 years (26-45) or long-term
//! (46 and over): the end is the same calendar day that many years on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::Date;

use crate::Problem;

/// The validity period of a resident ID card, checked to be a real term and not expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdCardValidity {
    start: Date,
    /// `None`: 长期.
    end: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdCardValidityError {
    #[error("'{0}' is not an ID card validity period: write it as 2015-03-01至2035-03-01 or 2015-03-01至长期")]
    Malformed(String),
    #[error("An ID card is valid for 5, 10 or 20 years or long-term, not {start} to {end}")]
    NonStandardTerm { start: Date, end: Date },
    #[error("The ID card period starts in the future ({0})")]
    StartsInFuture(Date),
    #[error("The ID card expired on {0}: renew it at the police station first")]
    Expired(Date),
}

impl Problem for IdCardValidityError {
    fn code(&self) -> &'static str {
        match self {
            IdCardValidityError::Malformed(_) => "id_card_validity_malformed",
            IdCardValidityError::NonStandardTerm { .. } => "id_card_validity_non_standard_term",
            IdCardValidityError::StartsInFuture(_) => "id_card_validity_in_future",
            IdCardValidityError::Expired(_) => "id_card_expired",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            IdCardValidityError::Malformed(t) => {
                format!("“{t}”不是身份证有效期限，应写作2015-03-01至2035-03-01或2015-03-01至长期")
            }
            IdCardValidityError::NonStandardTerm { start, end } => {
                format!("身份证有效期限应为5年、10年、20年或长期，{start}至{end}都不是，请与证件背面核对")
            }
            IdCardValidityError::StartsInFuture(d) => {
                format!("身份证有效期限的起始日期{d}晚于今天，请与证件背面核对")
            }
            IdCardValidityError::Expired(d) => {
                format!("您的身份证已于{d}过期，请先到公安机关换领新证")
            }
        }
    }
}

const TERMS: [i32; 3] = [5, 10, 20];

impl IdCardValidity {
    /// Checks the term and that the card is in force on `today`.
    pub fn new(start: Date, end: Option<Date>, today: Date) -> Result<Self, IdCardValidityError> {
        let validity = Self::with_term_checked(start, end)?;
        if start > today {
            return Err(IdCardValidityError::StartsInFuture(start));
        }
        match end {
            Some(end) if end < today => Err(IdCardValidityError::Expired(end)),
            _ => Ok(validity),
        }
    }

    fn with_term_checked(start: Date, end: Option<Date>) -> Result<Self, IdCardValidityError> {
        if let Some(end) = end {
            let standard = TERMS.iter().any(|&years| {
                let year = start.year() + years;
                // A card issued on 29 February ends on 28 February in a common year.
                let expected = start
                    .replace_year(year)
                    .or_else(|_| Date::from_calendar_date(year, start.month(), 28));
                expected.ok() == Some(end)
            });
            if !standard {
                return Err(IdCardValidityError::NonStandardTerm { start, end });
            }
        }
        Ok(IdCardValidity { start, end })
    }

    /// Parses `2015-03-01至2035-03-01` or `2015-03-01至长期`; dots inside the dates and a
    /// hyphen between them (`2015.03.01-2035.03.01`, as printed on the card) are accepted.
    pub fn parse(input: &str, today: Date) -> Result<Self, IdCardValidityError> {
        let (start, end) = parts(input)?;
        Self::new(start, end, today)
    }

    pub fn start(&self) -> Date {
        self.start
    }

    pub fn end(&self) -> Option<Date> {
        self.end
    }
}

fn parts(input: &str) -> Result<(Date, Option<Date>), IdCardValidityError> {
    let malformed = || IdCardValidityError::Malformed(input.to_owned());
    let text = input.trim().replace('.', "-");
    let (start, end) = match text.split_once('至') {
        Some(split) => split,
        // "2015-03-01-2035-03-01": the first date is ten characters.
        None if text.len() > 11 && text.as_bytes()[10] == b'-' && text.is_char_boundary(10) => {
            (&text[..10], &text[11..])
        }
        None => return Err(malformed()),
    };
    let date = |s: &str| {
        Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| malformed())
    };
    let end = match end.trim() {
        "长期" => None,
        other => Some(date(other)?),
    };
    Ok((date(start)?, end))
}

impl fmt::Display for IdCardValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}至{}", self.start, end),
            None => write!(f, "{}至长期", self.start),
        }
    }
}

/// For stored values: checks the form and the term, not whether the card is in force
/// (which needs today's date; user input goes through [`IdCardValidity::parse`]).
impl FromStr for IdCardValidity {
    type Err = IdCardValidityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (start, end) = parts(s)?;
        Self::with_term_checked(start, end)
    }
}

crate::text_conversions!(IdCardValidity, IdCardValidityError);

/// Where a manual ID-card review (人工审核身份证) stands (R2.6). Stored and sent as
/// `pending`, `approved`, `rejected`: never rename a variant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::AsRefStr,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum IdCardReviewState {
    Pending,
    Approved,
    Rejected,
}

impl IdCardReviewState {
    /// The stable spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    #[test]
    fn standard_terms_in_force_are_accepted() {
        for text in [
            "2015-03-01至2035-03-01",
            "2020-01-10至2030-01-10",
            "2024-06-01至2029-06-01",
            "1999-01-01至长期",
        ] {
            let v = IdCardValidity::parse(text, TODAY).unwrap();
            assert_eq!(v.to_string(), text);
        }
        // As printed on the card.
        let v = IdCardValidity::parse("2015.03.01-2035.03.01", TODAY).unwrap();
        assert_eq!(v.to_string(), "2015-03-01至2035-03-01");
    }

    #[test]
    fn wrong_terms_expired_and_future_cards_are_refused() {
        let code = |t: &str| IdCardValidity::parse(t, TODAY).unwrap_err().code();
        assert_eq!(
            code("2015-03-01至2036-03-01"),
            "id_card_validity_non_standard_term"
        );
        assert_eq!(code("2010-03-01至2020-03-01"), "id_card_expired");
        assert_eq!(code("2027-01-01至2037-01-01"), "id_card_validity_in_future");
        assert_eq!(code("2015-03-01"), "id_card_validity_malformed");
        assert_eq!(code("yesterday至长期"), "id_card_validity_malformed");
    }

    #[test]
    fn a_stored_expired_period_still_reads_back() {
        let v: IdCardValidity = "2010-03-01至2020-03-01".parse().unwrap();
        assert_eq!(v.end(), Some(date!(2020 - 03 - 01)));
    }
}
