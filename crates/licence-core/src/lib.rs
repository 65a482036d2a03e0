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

pub mod account;
pub mod application;
pub mod calendar;
pub mod credit_code;
pub mod id_number;
pub mod licence;
pub mod person;
pub mod phone;
mod text;

pub use account::{BusinessFunction, Denial, FaceSignChannel, UserKind};
pub use application::{
    ApplicationEvent, ApplicationState, ApplicationStatus, Rejection, RejectionCode,
};
pub use calendar::{CalendarError, WorkingCalendar};
pub use credit_code::{OrganisationCode, UnifiedSocialCreditCode};
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
