//! The driving licence (机动车驾驶证) as the police registry holds it and the e-licence shows it.

mod status;
mod validity;
mod vehicle_class;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

pub use status::{LicenceStatus, LicenceStatusError, Standing, StatusCode};
pub use validity::{Points, PointsError, ScoringCycle, Validity, ValidityError, ValidityTerm};
pub use vehicle_class::{VehicleClass, VehicleClassError, VehicleClasses};

use crate::id_number::{IdNumber, Sex};
use crate::person::PersonName;
use crate::Problem;

/// 档案编号: the 12-digit file number of the licence record.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileNumber([u8; 12]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileNumberError {
    #[error("The file number (档案编号) must be 12 digits; {0} characters were given")]
    WrongLength(usize),
    #[error("Character {position} ('{found}') of the file number is not a digit")]
    InvalidCharacter { position: usize, found: char },
}

impl Problem for FileNumberError {
    fn code(&self) -> &'static str {
        match self {
            FileNumberError::WrongLength(_) => "file_number_wrong_length",
            FileNumberError::InvalidCharacter { .. } => "file_number_invalid_character",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            FileNumberError::WrongLength(n) => format!("档案编号应为12位数字，您输入了{n}位"),
            FileNumberError::InvalidCharacter { position, found } => {
                format!("档案编号第{position}位“{found}”不是数字")
            }
        }
    }
}

impl FileNumber {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }
}

impl FromStr for FileNumber {
    type Err = FileNumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = crate::text::fold(input, &[' ']);
        if let Some((i, c)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(FileNumberError::InvalidCharacter {
                position: i + 1,
                found: c,
            });
        }
        let digits: [u8; 12] = text
            .as_bytes()
            .try_into()
            .map_err(|_| FileNumberError::WrongLength(text.len()))?;
        Ok(FileNumber(digits))
    }
}

impl fmt::Display for FileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileNumber({self})")
    }
}

crate::text_conversions!(FileNumber, FileNumberError);

/// The fields of a licence as stored and sent; [`DrivingLicence::new`] checks that they
/// agree with each other. Sex and date of birth are not fields: they are read from the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceRecord {
    /// 证号 (the holder's ID number).
    pub number: IdNumber,
    /// 姓名
    pub name: PersonName,
    /// 国籍, e.g. 中国
    pub nationality: String,
    /// 住址
    pub address: String,
    /// 初次领证日期
    pub first_issued: Date,
    /// 准驾车型
    pub classes: VehicleClasses,
    /// 有效期限
    pub validity: Validity,
    /// 累积记分
    pub points: Points,
    /// 状态
    pub status: LicenceStatus,
    /// 发证机关, e.g. 北京市公安局公安交通管理局
    pub issuing_authority: String,
    /// 档案编号
    pub file_number: FileNumber,
}

/// A licence whose fields are consistent. Built only by [`DrivingLicence::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LicenceRecord", into = "LicenceRecord")]
pub struct DrivingLicence(LicenceRecord);

/// The minimum age for every licence class (机动车驾驶证申领和使用规定).
pub const MINIMUM_AGE: u32 = 18;
const MAX_TEXT_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    #[error("The {0} is empty")]
    FieldEmpty(&'static str),
    #[error("The {field} is longer than {max} characters", max = MAX_TEXT_CHARS)]
    FieldTooLong { field: &'static str },
    #[error("The {0} contains a control character")]
    FieldControlCharacter(&'static str),
    #[error("The first-issue date {first_issued} is before the holder turned {min}", min = MINIMUM_AGE)]
    IssuedUnderAge { first_issued: Date },
    #[error("The validity period starts on {start}, before the first-issue date {first_issued}")]
    ValidityBeforeFirstIssue { start: Date, first_issued: Date },
}

impl Problem for LicenceError {
    fn code(&self) -> &'static str {
        match self {
            LicenceError::FieldEmpty(_) => "licence_field_empty",
            LicenceError::FieldTooLong { .. } => "licence_field_too_long",
            LicenceError::FieldControlCharacter(_) => "licence_field_control_character",
            LicenceError::IssuedUnderAge { .. } => "licence_issued_under_age",
            LicenceError::ValidityBeforeFirstIssue { .. } => "licence_validity_before_first_issue",
        }
    }

    fn message_zh(&self) -> String {
        let zh = |field: &str| match field {
            "nationality" => "国籍",
            "address" => "住址",
            _ => "发证机关",
        };
        match self {
            LicenceError::FieldEmpty(f) => format!("{}不能为空", zh(f)),
            LicenceError::FieldTooLong { field } => {
                format!("{}超过{MAX_TEXT_CHARS}个字", zh(field))
            }
            LicenceError::FieldControlCharacter(f) => format!("{}含有控制字符", zh(f)),
            LicenceError::IssuedUnderAge { first_issued } => {
                format!("初次领证日期{first_issued}时持证人未满{MINIMUM_AGE}周岁")
            }
            LicenceError::ValidityBeforeFirstIssue {
                start,
                first_issued,
            } => {
                format!("有效期起始日{start}早于初次领证日期{first_issued}")
            }
        }
    }
}

fn check_text(field: &'static str, value: &str) -> Result<(), LicenceError> {
    if value.trim().is_empty() {
        return Err(LicenceError::FieldEmpty(field));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(LicenceError::FieldTooLong { field });
    }
    if value.chars().any(char::is_control) {
        return Err(LicenceError::FieldControlCharacter(field));
    }
    Ok(())
}

impl DrivingLicence {
    pub fn new(record: LicenceRecord) -> Result<Self, LicenceError> {
        check_text("nationality", &record.nationality)?;
        check_text("address", &record.address)?;
        check_text("issuing authority", &record.issuing_authority)?;
        if record.number.age_on(record.first_issued) < MINIMUM_AGE {
            return Err(LicenceError::IssuedUnderAge {
                first_issued: record.first_issued,
            });
        }
        if record.validity.start() < record.first_issued {
            return Err(LicenceError::ValidityBeforeFirstIssue {
                start: record.validity.start(),
                first_issued: record.first_issued,
            });
        }
        Ok(DrivingLicence(record))
    }

    pub fn record(&self) -> &LicenceRecord {
        &self.0
    }

    /// 证号
    pub fn number(&self) -> &IdNumber {
        &self.0.number
    }

    /// 性别, from the number.
    pub fn sex(&self) -> Sex {
        self.0.number.sex()
    }

    /// 出生日期, from the number.
    pub fn birth_date(&self) -> Date {
        self.0.number.birth_date()
    }

    /// The licence's standing on `date`, which decides the QR colour (R4.2): the status codes,
    /// and also 12 points reached or validity ended even before the registry has set B or M,
    /// so an officer never sees a black QR on a licence that is not in order.
    pub fn standing_on(&self, date: Date) -> Standing {
        self.status_on(date).standing()
    }

    /// The status as a verifier should see it on `date`: the registry's codes, with B (超分)
    /// added when 12 points are reached and M (逾期未换证) when the validity has ended but the
    /// registry still says A. The status list is built from this, so the platform's list and
    /// the app's own screen agree.
    pub fn status_on(&self, date: Date) -> LicenceStatus {
        let status = self.0.status;
        if !status.is_normal() {
            return status;
        }
        let mut codes = Vec::new();
        if self.0.points.reached_limit() {
            codes.push(StatusCode::B);
        }
        if !self.0.validity.covers(date) {
            codes.push(StatusCode::M);
        }
        if codes.is_empty() {
            return status;
        }
        LicenceStatus::from_codes(&codes).expect("distinct codes other than A")
    }

    pub fn is_normal_on(&self, date: Date) -> bool {
        self.standing_on(date) == Standing::Normal
    }
}

impl TryFrom<LicenceRecord> for DrivingLicence {
    type Error = LicenceError;

    fn try_from(record: LicenceRecord) -> Result<Self, Self::Error> {
        DrivingLicence::new(record)
    }
}

impl From<DrivingLicence> for LicenceRecord {
    fn from(l: DrivingLicence) -> LicenceRecord {
        l.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn record() -> LicenceRecord {
        LicenceRecord {
            number: IdNumber::from_parts("110105", date!(1990 - 03 - 07), 123).unwrap(),
            name: "张伟".parse().unwrap(),
            nationality: "中国".into(),
            address: "北京市朝阳区建国路88号".into(),
            first_issued: date!(2012 - 06 - 18),
            classes: "C1".parse().unwrap(),
            validity: "2018-06-18至2028-06-18".parse().unwrap(),
            points: Points::new(0).unwrap(),
            status: LicenceStatus::NORMAL,
            issuing_authority: "北京市公安局公安交通管理局".into(),
            file_number: "110100123456".parse().unwrap(),
        }
    }

    #[test]
    fn sex_and_birth_date_come_from_the_number() {
        let l = DrivingLicence::new(record()).unwrap();
        assert_eq!(l.sex(), Sex::Male);
        assert_eq!(l.birth_date(), date!(1990 - 03 - 07));
    }

    #[test]
    fn the_qr_is_black_only_when_everything_is_in_order() {
        let today = date!(2026 - 11 - 24);
        assert!(DrivingLicence::new(record()).unwrap().is_normal_on(today));

        let twelve = DrivingLicence::new(LicenceRecord {
            points: Points::new(12).unwrap(),
            ..record()
        })
        .unwrap();
        assert_eq!(twelve.standing_on(today), Standing::Abnormal);
        // What the status list carries for it: 超分, though the registry still says A.
        assert_eq!(twelve.status_on(today).to_string(), "B");

        let expired = DrivingLicence::new(record()).unwrap();
        assert_eq!(
            expired.standing_on(date!(2028 - 06 - 19)),
            Standing::Abnormal
        );
        assert_eq!(expired.status_on(date!(2028 - 06 - 19)).to_string(), "M");
        assert_eq!(expired.status_on(today), LicenceStatus::NORMAL);

        let hi = DrivingLicence::new(LicenceRecord {
            status: "HI".parse().unwrap(),
            ..record()
        })
        .unwrap();
        assert_eq!(hi.standing_on(today), Standing::Abnormal);

        let revoked = DrivingLicence::new(LicenceRecord {
            status: "F".parse().unwrap(),
            points: Points::new(12).unwrap(),
            ..record()
        })
        .unwrap();
        assert_eq!(revoked.standing_on(today), Standing::Invalid);
        assert_eq!(revoked.status_on(today).to_string(), "F");
    }

    #[test]
    fn rejects_inconsistent_records() {
        let young = LicenceRecord {
            first_issued: date!(2008 - 03 - 06),
            ..record()
        };
        assert_eq!(
            DrivingLicence::new(young).unwrap_err().code(),
            "licence_issued_under_age"
        );
        let on_birthday = LicenceRecord {
            first_issued: date!(2008 - 03 - 07),
            validity: "2008-03-07至2014-03-07".parse().unwrap(),
            ..record()
        };
        assert!(DrivingLicence::new(on_birthday).is_ok());
        let early = LicenceRecord {
            validity: "2010-06-18至2016-06-18".parse().unwrap(),
            ..record()
        };
        assert_eq!(
            DrivingLicence::new(early).unwrap_err().code(),
            "licence_validity_before_first_issue"
        );
        let blank = LicenceRecord {
            address: "  ".into(),
            ..record()
        };
        assert_eq!(
            DrivingLicence::new(blank).unwrap_err(),
            LicenceError::FieldEmpty("address")
        );
        let long = LicenceRecord {
            issuing_authority: "局".repeat(129),
            ..record()
        };
        assert_eq!(
            DrivingLicence::new(long).unwrap_err().code(),
            "licence_field_too_long"
        );
        let control = LicenceRecord {
            nationality: "中\n国".into(),
            ..record()
        };
        assert_eq!(
            DrivingLicence::new(control).unwrap_err().message_zh(),
            "国籍含有控制字符"
        );
    }

    #[test]
    fn serde_round_trips_and_validates_on_the_way_in() {
        let l = DrivingLicence::new(record()).unwrap();
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(json["classes"], "C1");
        assert_eq!(json["validity"], "2018-06-18至2028-06-18");
        assert_eq!(json["status"], "A");
        let back: DrivingLicence = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, l);
        let mut young = json;
        young["first_issued"] = serde_json::to_value(date!(2001 - 01 - 01)).unwrap();
        assert!(serde_json::from_value::<DrivingLicence>(young).is_err());
    }

    #[test]
    fn file_numbers_are_twelve_digits() {
        assert_eq!(
            "1101 0012 3456".parse::<FileNumber>().unwrap().as_str(),
            "110100123456"
        );
        assert_eq!(
            "11010012345".parse::<FileNumber>().unwrap_err().code(),
            "file_number_wrong_length"
        );
        assert_eq!(
            "11010012345X".parse::<FileNumber>().unwrap_err(),
            FileNumberError::InvalidCharacter {
                position: 12,
                found: 'X'
            }
        );
    }
}
