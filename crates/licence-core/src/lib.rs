//! The domain of the electronic driving licence (电子驾驶证), with no I/O.
//!
//! Everything the app, the platform and the verifier must agree on lives here: resident ID
//! numbers (GB 11643), unified social credit codes (GB 32100) and organisation codes
//! (GB 11714), mainland mobile numbers, the licence itself (classes, validity, points, status),
//! the kinds of account and what each may do, the e-licence application lifecycle, and the
//! working-day calendar behind the "reviewed within 1 working day" promise.
//!
//! Types are built only through validating constructors, so an invalid value cannot exist.
//! Each parses from text with a precise error and formats back to the same text. Every error
//! implements [`Problem`]: a stable machine code plus a message in Chinese and in English.
//!
//! The crate reads no clock and no file: where "today" matters it is a parameter, and data
//! files (the holiday calendar) are passed in as text.
//!
//! ```
//! use licence_core::{IdNumber, LicenceStatus, Problem, VehicleClass, VehicleClasses, WorkingCalendar};
//! use time::macros::{date, datetime};
//!
//! let id = IdNumber::parse("11010519491231002x", date!(2026 - 11 - 24)).unwrap();
//! assert_eq!((id.as_str(), id.birth_date()), ("11010519491231002X", date!(1949 - 12 - 31)));
//!
//! let err = IdNumber::parse("110105194912310021", date!(2026 - 11 - 24)).unwrap_err();
//! assert_eq!(err.code(), "id_check_mismatch");
//!
//! let classes: VehicleClasses = "C1E".parse().unwrap();
//! assert!(classes.permits(VehicleClass::C2) && !classes.permits(VehicleClass::B2));
//!
//! let status: LicenceStatus = "HI".parse().unwrap();
//! assert!(!status.is_normal()); // a red QR code
//!
//! let calendar = WorkingCalendar::mainland_china().unwrap();
//! // Submitted on the Friday before the 2026 Spring Festival's make-up Saturday.
//! let due = calendar.due_by(datetime!(2026-02-13 09:00 +8)).unwrap();
//! assert_eq!(due, datetime!(2026-02-14 09:00 +8));
//! ```

/// `TryFrom<String>` through `FromStr` and `From<T> for String` through `Display`, so that serde
/// carries a validated type as its text (`#[serde(try_from = "String", into = "String")]`) and
/// checks it on the way in.
macro_rules! text_conversions {
    ($t:ty, $err:ty) => {
        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    };
}
pub(crate) use text_conversions;

pub mod account;
pub mod application;
pub mod calendar;
pub mod credit_code;
pub mod id_card;
pub mod id_number;
pub mod licence;
pub mod person;
pub mod phone;
#[cfg(feature = "testdata")]
pub mod testdata;
mod text;
pub mod verdict;

pub use account::{BusinessFunction, Denial, FaceSignChannel, UserKind};
pub use application::{
    ApplicantRecord, ApplicationEvent, ApplicationRefusal, ApplicationState, ApplicationStatus,
    Rejection, RejectionCode,
};
pub use calendar::{CalendarError, WorkingCalendar};
pub use credit_code::{OrganisationCode, UnifiedSocialCreditCode};
pub use id_card::{IdCardReviewState, IdCardValidity, IdCardValidityError};
pub use id_number::{IdNumber, IdNumberError, Province, Sex};
pub use licence::{
    DrivingLicence, FileNumber, LicenceRecord, LicenceStatus, Points, ScoringCycle, Standing,
    StatusCode, Validity, ValidityTerm, VehicleClass, VehicleClasses,
};
pub use person::PersonName;
pub use phone::MobileNumber;

/// An error a person may see: a stable machine code for programs and tests, and a message in
/// Chinese and in English that says what is wrong and what to do.
pub trait Problem: std::error::Error {
    /// Stable, lower_snake_case; never changes once published.
    fn code(&self) -> &'static str;
    /// The message in Chinese (zh-CN), shown first.
    fn message_zh(&self) -> String;
    /// The message in English; by default the error's `Display`.
    fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The mainland's civil time zone (China Standard Time, UTC+8), in which working days,
/// birth dates and deadlines are reckoned.
pub const CHINA_OFFSET: time::UtcOffset = time::macros::offset!(+8);

/// Unix seconds as an RFC 3339 time in China (`2026-11-24T10:00:00+08:00`); `None` outside
/// the years the `time` crate represents.
pub fn china_rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .to_offset(CHINA_OFFSET)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod wire_names {
    //! strum gives the names in code (`as_str`, `Display`, `FromStr`, `VARIANTS`), serde
    //! on the wire: they must be the same, variant by variant.

    use super::*;

    fn check<T>()
    where
        T: strum::VariantArray + serde::Serialize + Copy + Into<&'static str>,
        T: std::str::FromStr + std::fmt::Debug + PartialEq,
    {
        let names = T::VARIANTS
            .iter()
            .map(|v| (*v).into())
            .collect::<Vec<&str>>();
        for (v, name) in T::VARIANTS.iter().zip(&names) {
            assert_eq!(serde_json::to_value(v).unwrap(), *name, "{v:?}");
            assert!(name.parse::<T>().is_ok_and(|back| back == *v), "{v:?}");
        }
    }

    #[test]
    fn strum_names_are_serde_names() {
        check::<ApplicationStatus>();
        check::<RejectionCode>();
        check::<Standing>();
        check::<BusinessFunction>();
        check::<FaceSignChannel>();
        check::<IdCardReviewState>();
        check::<verdict::VerdictCode>();
        check::<verdict::Light>();
        assert_eq!(ApplicationStatus::UnderReview.to_string(), "under_review");
    }

    #[test]
    fn user_kind_names_are_serde_tags() {
        let kinds = [
            UserKind::FaceSigned {
                via: FaceSignChannel::Counter,
            },
            UserKind::OnlineRegistered,
            UserKind::Unit,
        ];
        for kind in kinds {
            assert_eq!(serde_json::to_value(kind).unwrap()["kind"], kind.as_str());
        }
        assert_eq!(
            <UserKind as strum::VariantNames>::VARIANTS,
            kinds.map(UserKind::as_str)
        );
    }
}
