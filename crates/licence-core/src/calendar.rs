//! The working-day calendar behind "the police review within 1 working day" (R3.4).
//!
//! Weekends and public holidays do not count; official make-up working days (调休) do. The
//! holiday data is text (see `assets/calendar/cn-working-days.txt`), validated when loaded, so
//! a new year's notice is a data change, not a code change. Asking about a day outside the
//! data is an explicit error, never a guess.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::macros::{format_description, time};
use time::{Date, Duration, OffsetDateTime, Weekday};

use crate::{Problem, CHINA_OFFSET};

/// The same calendar day `months` later (earlier if negative), or the month's last day where
/// that month is shorter (31 August + 6 months = 28 or 29 February).
pub fn add_months(date: Date, months: i32) -> Date {
    let total = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
    let (year, month) = (
        total.div_euclid(12),
        time::Month::try_from((total.rem_euclid(12) + 1) as u8).expect("1-12"),
    );
    let day = date.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).expect("valid by construction")
}

/// The calendar data shipped with the code, as of its last update.
pub const BUNDLED_DATA: &str = include_str!("../../../assets/calendar/cn-working-days.txt");

/// What a day is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday with no holiday.
    Weekday,
    /// Saturday or Sunday with no make-up work.
    Weekend,
    /// A public holiday (or a day of its block), with its name.
    Holiday(String),
    /// A Saturday or Sunday that is worked to make up for a holiday (调休).
    MakeUpWorkday(String),
}

impl DayKind {
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Weekday | DayKind::MakeUpWorkday(_))
    }
}

/// A validated working-day calendar covering whole, consecutive years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    first_year: i32,
    last_year: i32,
    provisional_years: BTreeSet<i32>,
    holidays: BTreeMap<Date, String>,
    workdays: BTreeMap<Date, String>,
}

/// A question the calendar cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("The working-day calendar covers {first} to {last}; {date} is outside it and the calendar data needs updating")]
    OutOfRange { date: Date, first: Date, last: Date },
}

impl Problem for CalendarError {
    fn code(&self) -> &'static str {
        "calendar_out_of_range"
    }

    fn message_zh(&self) -> String {
        let CalendarError::OutOfRange { date, first, last } = self;
        format!("工作日历只覆盖{first}至{last}，{date}不在其中，需更新节假日数据")
    }
}

/// Calendar data that cannot be used, with the line where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar data line {line}: {problem}")]
pub struct CalendarDataError {
    /// 1-based; 0 when the problem is with the whole file.
    pub line: usize,
    pub problem: String,
}

impl Problem for CalendarDataError {
    fn code(&self) -> &'static str {
        "calendar_data_invalid"
    }

    fn message_zh(&self) -> String {
        format!("节假日数据第{}行有误：{}", self.line, self.problem)
    }
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl WorkingCalendar {
    /// The calendar shipped with the code ([`BUNDLED_DATA`]).
    pub fn mainland_china() -> Result<WorkingCalendar, CalendarDataError> {
        Self::parse(BUNDLED_DATA)
    }

    /// Parses and validates calendar data in the format described at the top of the shipped file.
    pub fn parse(text: &str) -> Result<WorkingCalendar, CalendarDataError> {
        let mut years: Vec<(i32, bool)> = Vec::new();
        let mut holidays = BTreeMap::new();
        let mut workdays = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let fail = |problem: String| CalendarDataError { line, problem };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut words = content.split_whitespace();
            let directive = words.next().unwrap_or("");
            let arg = words
                .next()
                .ok_or_else(|| fail(format!("'{directive}' needs a value")))?;
            let rest: Vec<&str> = words.collect();
            match directive {
                "year" => {
                    let year: i32 = arg
                        .parse()
                        .ok()
                        .filter(|y| (1900..=9999).contains(y))
                        .ok_or_else(|| fail(format!("'{arg}' is not a year")))?;
                    let provisional = match rest.first() {
                        Some(&"official") => false,
                        Some(&"provisional") => true,
                        _ => return Err(fail("a year is 'official' or 'provisional'".into())),
                    };
                    if let Some(&(prev, _)) = years.last() {
                        if year != prev + 1 {
                            return Err(fail(format!("year {year} does not follow {prev}")));
                        }
                    }
                    years.push((year, provisional));
                }
                "holiday" | "workday" => {
                    let &(year, _) = years
                        .last()
                        .ok_or_else(|| fail("a 'year' line must come first".into()))?;
                    let name = rest.join(" ");
                    if name.is_empty() {
                        return Err(fail("the day needs a name".into()));
                    }
                    let (from, to) = match arg.split_once("..") {
                        Some((a, b)) if directive == "holiday" => (a, b),
                        Some(_) => {
                            return Err(fail("a make-up working day is a single date".into()))
                        }
                        None => (arg, arg),
                    };
                    let from =
                        parse_date(from).ok_or_else(|| fail(format!("'{from}' is not a date")))?;
                    let to = parse_date(to).ok_or_else(|| fail(format!("'{to}' is not a date")))?;
                    if from > to {
                        return Err(fail(format!("the range {from}..{to} runs backwards")));
                    }
                    if from.year() != year || to.year() != year {
                        return Err(fail(format!("{arg} is not in year {year}")));
                    }
                    let mut day = from;
                    loop {
                        if holidays.contains_key(&day) || workdays.contains_key(&day) {
                            return Err(fail(format!("{day} is listed twice")));
                        }
                        if directive == "workday" {
                            if !is_weekend(day) {
                                return Err(fail(format!(
                                    "{day} is a {}; a make-up working day is a Saturday or Sunday",
                                    day.weekday()
                                )));
                            }
                            workdays.insert(day, name.clone());
                        } else {
                            holidays.insert(day, name.clone());
                        }
                        if day == to {
                            break;
                        }
                        day = day.next_day().expect("within 1900-9999");
                    }
                }
                other => return Err(fail(format!("unknown entry '{other}'"))),
            }
        }
        let (&(first_year, _), &(last_year, _)) =
            years.first().zip(years.last()).ok_or(CalendarDataError {
                line: 0,
                problem: "the data has no 'year' line".into(),
            })?;
        Ok(WorkingCalendar {
            first_year,
            last_year,
            provisional_years: years.iter().filter(|y| y.1).map(|y| y.0).collect(),
            holidays,
            workdays,
        })
    }

    /// The first and last day the calendar knows.
    pub fn range(&self) -> (Date, Date) {
        let first = Date::from_ordinal_date(self.first_year, 1).expect("valid year");
        let last = Date::from_ordinal_date(self.last_year + 1, 1)
            .expect("valid year")
            .previous_day()
            .expect("valid day");
        (first, last)
    }

    fn check(&self, date: Date) -> Result<(), CalendarError> {
        let (first, last) = self.range();
        if date < first || date > last {
            return Err(CalendarError::OutOfRange { date, first, last });
        }
        Ok(())
    }

    pub fn day_kind(&self, date: Date) -> Result<DayKind, CalendarError> {
        self.check(date)?;
        Ok(if let Some(name) = self.holidays.get(&date) {
            DayKind::Holiday(name.clone())
        } else if let Some(name) = self.workdays.get(&date) {
            DayKind::MakeUpWorkday(name.clone())
        } else if is_weekend(date) {
            DayKind::Weekend
        } else {
            DayKind::Weekday
        })
    }

    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        self.check(date)?;
        Ok(self.workdays.contains_key(&date)
            || (!is_weekend(date) && !self.holidays.contains_key(&date)))
    }

    /// Whether the data for `date`'s year is provisional (its official notice not yet published).
    pub fn is_provisional(&self, date: Date) -> bool {
        self.provisional_years.contains(&date.year())
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day_after(&self, date: Date) -> Result<Date, CalendarError> {
        let mut day = date;
        loop {
            day = day.next_day().ok_or(CalendarError::OutOfRange {
                date,
                first: self.range().0,
                last: self.range().1,
            })?;
            if self.is_working_day(day)? {
                return Ok(day);
            }
        }
    }

    /// The review deadline for an application submitted at `submitted_at`: one full working
    /// day of elapsed time in China Standard Time. Submitted at 10:00 on a working day, it is
    /// due at 10:00 on the next working day; submitted on a rest day, the clock starts at the
    /// beginning of the next working day and the deadline is the end of that day (00:00 of the
    /// day after it). The result is in UTC+8.
    pub fn due_by(&self, submitted_at: OffsetDateTime) -> Result<OffsetDateTime, CalendarError> {
        let local = submitted_at.to_offset(CHINA_OFFSET);
        let day = local.date();
        if self.is_working_day(day)? {
            let next = self.next_working_day_after(day)?;
            Ok(next.with_time(local.time()).assume_offset(CHINA_OFFSET))
        } else {
            let start = self.next_working_day_after(day)?;
            Ok(start.with_time(time!(0:00)).assume_offset(CHINA_OFFSET) + Duration::DAY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn cal() -> WorkingCalendar {
        WorkingCalendar::mainland_china().expect("the bundled data is valid")
    }

    #[test]
    fn the_bundled_data_covers_2024_to_2027() {
        let c = cal();
        assert_eq!(c.range(), (date!(2024 - 01 - 01), date!(2027 - 12 - 31)));
        assert!(!c.is_provisional(date!(2026 - 11 - 24)));
        assert!(c.is_provisional(date!(2027 - 03 - 01)));
    }

    #[test]
    fn the_bundled_official_years_have_the_notices_day_counts() {
        // Days off on Monday-Friday and make-up Saturdays/Sundays, per the notices.
        let c = cal();
        for (year, weekday_holidays, makeup) in [(2024, 19, 8), (2025, 18, 5), (2026, 19, 6)] {
            let days = (1..=366).filter_map(|n| Date::from_ordinal_date(year, n).ok());
            let (mut h, mut w) = (0, 0);
            for d in days {
                match c.day_kind(d).unwrap() {
                    DayKind::Holiday(_) if !is_weekend(d) => h += 1,
                    DayKind::MakeUpWorkday(_) => w += 1,
                    _ => {}
                }
            }
            assert_eq!((h, w), (weekday_holidays, makeup), "{year}");
        }
    }

    #[test]
    fn classifies_days_with_their_names() {
        let c = cal();
        assert_eq!(c.day_kind(date!(2026 - 11 - 24)).unwrap(), DayKind::Weekday);
        assert_eq!(c.day_kind(date!(2026 - 11 - 28)).unwrap(), DayKind::Weekend);
        assert_eq!(
            c.day_kind(date!(2026 - 02 - 16)).unwrap(),
            DayKind::Holiday("春节".into())
        );
        assert_eq!(
            c.day_kind(date!(2026 - 02 - 28)).unwrap(),
            DayKind::MakeUpWorkday("春节调休".into())
        );
        assert!(c.is_working_day(date!(2026 - 02 - 28)).unwrap());
        assert!(!c.is_working_day(date!(2025 - 10 - 06)).unwrap());
    }

    #[test]
    fn a_weekday_submission_is_due_at_the_same_time_next_working_day() {
        let c = cal();
        assert_eq!(
            c.due_by(datetime!(2026 - 11 - 24 10:30 +8)).unwrap(),
            datetime!(2026 - 11 - 25 10:30 +8)
        );
        // Friday → Monday.
        assert_eq!(
            c.due_by(datetime!(2026 - 11 - 27 16:00 +8)).unwrap(),
            datetime!(2026 - 11 - 30 16:00 +8)
        );
    }

    #[test]
    fn deadlines_are_reckoned_in_china_time_whatever_the_input_offset() {
        // 2026-11-27 18:00 UTC is Saturday 02:00 in Beijing: a rest day, so due at the end of Monday.
        let due = cal().due_by(datetime!(2026 - 11 - 27 18:00 UTC)).unwrap();
        assert_eq!(due, datetime!(2026 - 12 - 01 00:00 +8));
        assert_eq!(due.offset(), CHINA_OFFSET);
    }

    #[test]
    fn holidays_do_not_count_and_make_up_days_do() {
        let c = cal();
        // Before the 2026 Spring Festival: Friday 13 Feb → Saturday 14 Feb is a make-up working day.
        assert_eq!(
            c.due_by(datetime!(2026 - 02 - 13 09:00 +8)).unwrap(),
            datetime!(2026 - 02 - 14 09:00 +8)
        );
        // Saturday 14 Feb (worked) → the festival runs 15-23 Feb, so Tuesday 24 Feb.
        assert_eq!(
            c.due_by(datetime!(2026 - 02 - 14 09:00 +8)).unwrap(),
            datetime!(2026 - 02 - 24 09:00 +8)
        );
        // Submitted during the holiday: the clock starts on 24 Feb, due at its end.
        assert_eq!(
            c.due_by(datetime!(2026 - 02 - 18 12:00 +8)).unwrap(),
            datetime!(2026 - 02 - 25 00:00 +8)
        );
        // National Day 2025 (with Mid-Autumn): 30 Sep → 9 Oct.
        assert_eq!(
            c.due_by(datetime!(2025 - 09 - 30 17:00 +8)).unwrap(),
            datetime!(2025 - 10 - 09 17:00 +8)
        );
    }

    #[test]
    fn the_year_boundary_is_crossed_and_the_edge_of_the_data_is_an_error() {
        let c = cal();
        // 31 Dec 2025 (Wed) → 1-3 Jan 2026 off, 4 Jan (Sun) worked.
        assert_eq!(
            c.due_by(datetime!(2025 - 12 - 31 11:00 +8)).unwrap(),
            datetime!(2026 - 01 - 04 11:00 +8)
        );
        let err = c.due_by(datetime!(2027 - 12 - 31 11:00 +8)).unwrap_err();
        assert_eq!(err.code(), "calendar_out_of_range");
        assert!(matches!(
            c.day_kind(date!(2023 - 12 - 31)),
            Err(CalendarError::OutOfRange { .. })
        ));
        assert!(c.is_working_day(date!(2028 - 01 - 03)).is_err());
    }

    #[test]
    fn bad_data_is_refused_with_its_line_number() {
        let cases = [
            ("", 0, "no 'year' line"),
            ("holiday 2024-01-01 元旦", 1, "must come first"),
            (
                "year 2024 official\nyear 2026 official",
                2,
                "does not follow",
            ),
            ("year 2024", 1, "'official' or 'provisional'"),
            ("year 20x4 official", 1, "not a year"),
            ("year 2024 official\nholiday 2024-02-30 x", 2, "not a date"),
            (
                "year 2024 official\nholiday 2025-01-01 x",
                2,
                "not in year 2024",
            ),
            (
                "year 2024 official\nholiday 2024-02-17..2024-02-10 春节",
                2,
                "backwards",
            ),
            ("year 2024 official\nholiday 2024-01-01", 2, "needs a name"),
            (
                "year 2024 official\nworkday 2024-02-05 x",
                2,
                "Saturday or Sunday",
            ),
            (
                "year 2024 official\nworkday 2024-02-03..2024-02-04 x",
                2,
                "single date",
            ),
            (
                "year 2024 official\nholiday 2024-01-01 a\nholiday 2024-01-01 b",
                3,
                "listed twice",
            ),
            (
                "year 2024 official\nholiday 2024-02-04 a\nworkday 2024-02-04 b",
                3,
                "listed twice",
            ),
            (
                "year 2024 official\nfestival 2024-01-01 a",
                2,
                "unknown entry",
            ),
        ];
        for (text, line, needle) in cases {
            let err = WorkingCalendar::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.problem.contains(needle), "{text:?}: {err}");
            assert_eq!(err.code(), "calendar_data_invalid");
        }
    }

    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let c = WorkingCalendar::parse(
            "# header\n\nyear 2024 official # inline\nholiday 2024-01-01 元旦 # new year\n",
        )
        .unwrap();
        assert_eq!(
            c.day_kind(date!(2024 - 01 - 01)).unwrap(),
            DayKind::Holiday("元旦".into())
        );
    }
}
