//! Every parser of typed text meets a megabyte of it, as a hostile client sends: each answers
//! with its usual error (the scans are linear; a quadratic one took minutes for 5 MB of an
//! organisation code, with the request's thread held all that time).

use licence_core::{IdNumber, MobileNumber, OrganisationCode, PersonName, UnifiedSocialCreditCode};

const MEGABYTE: usize = 1 << 20;

#[test]
fn a_megabyte_of_digits_or_letters_is_refused_by_every_parser() {
    let today = time::macros::date!(2026 - 12 - 05);
    for filler in ["1", "A", "X"] {
        let huge = filler.repeat(MEGABYTE);
        assert!(IdNumber::parse(&huge, today).is_err(), "{filler}");
        assert!(huge.parse::<MobileNumber>().is_err(), "{filler}");
        assert!(huge.parse::<UnifiedSocialCreditCode>().is_err(), "{filler}");
        assert!(huge.parse::<OrganisationCode>().is_err(), "{filler}");
        assert!(huge.parse::<PersonName>().is_err(), "{filler}");
    }
    // The ID number names the length when every character is a digit.
    let digits = "1".repeat(MEGABYTE);
    assert_eq!(
        IdNumber::parse(&digits, today).unwrap_err().to_string(),
        licence_core::IdNumberError::WrongLength(MEGABYTE).to_string()
    );
}
