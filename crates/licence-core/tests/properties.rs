//! Property tests: generated valid identifiers always parse, any single-character change to
//! one is rejected, and every text form round-trips.

use licence_core::id_number::Province;
use licence_core::licence::StatusCode;
use licence_core::{
    IdNumber, LicenceStatus, MobileNumber, UnifiedSocialCreditCode, Validity, ValidityTerm,
    VehicleClass, VehicleClasses,
};
use proptest::prelude::*;
use time::macros::date;
use time::Date;

const TODAY: Date = date!(2026 - 11 - 24);
const CREDIT_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn birth_dates() -> impl Strategy<Value = Date> {
    let first = date!(1900 - 01 - 01).to_julian_day();
    (first..=TODAY.to_julian_day()).prop_map(|d| Date::from_julian_day(d).unwrap())
}

fn id_numbers() -> impl Strategy<Value = IdNumber> {
    (
        prop::sample::select(Province::all().to_vec()),
        0u32..10_000,
        birth_dates(),
        0u16..1000,
    )
        .prop_map(|(province, rest, birth, seq)| {
            IdNumber::from_parts(&format!("{:02}{rest:04}", province.code()), birth, seq).unwrap()
        })
}

fn credit_codes() -> impl Strategy<Value = UnifiedSocialCreditCode> {
    let c = || prop::sample::select(CREDIT_CHARSET.chars().collect::<Vec<_>>());
    (c(), c(), 0u32..1_000_000, prop::collection::vec(c(), 9)).prop_map(|(a, b, region, org)| {
        let body = format!("{a}{b}{region:06}{}", org.into_iter().collect::<String>());
        UnifiedSocialCreditCode::from_body(&body).unwrap()
    })
}

/// Replacement characters, mostly from the code's own alphabet so that most changes pass the
/// character checks and must be caught by the check character.
fn replacements(alphabet: &'static str) -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(alphabet.chars().collect::<Vec<_>>()),
        1 => prop::char::range('!', '~'),
    ]
}

/// `text` with the character at `index` replaced by a different printable ASCII character
/// (never merely the other case of the same letter, which the parsers fold).
fn substitute(text: &str, index: usize, replacement: char) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    if chars[index].eq_ignore_ascii_case(&replacement) {
        return None;
    }
    chars[index] = replacement;
    Some(chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn generated_id_numbers_parse_and_round_trip(id in id_numbers()) {
        let parsed = IdNumber::parse(id.as_str(), TODAY).unwrap();
        prop_assert_eq!(parsed, id);
        prop_assert_eq!(parsed.to_string().parse::<IdNumber>().unwrap(), id);
        prop_assert_eq!(IdNumber::parse(&id.as_str().to_lowercase(), TODAY).unwrap(), id);
    }

    #[test]
    fn any_single_character_change_to_an_id_number_is_rejected(
        id in id_numbers(),
        index in 0usize..18,
        replacement in replacements("0123456789X"),
    ) {
        if let Some(changed) = substitute(id.as_str(), index, replacement) {
            prop_assert!(IdNumber::parse(&changed, TODAY).is_err(), "{} accepted", changed);
        }
    }

    #[test]
    fn generated_credit_codes_parse_and_round_trip(code in credit_codes()) {
        let parsed: UnifiedSocialCreditCode = code.as_str().parse().unwrap();
        prop_assert_eq!(parsed, code);
        prop_assert_eq!(parsed.to_string(), code.as_str());
        prop_assert_eq!(code.as_str().to_lowercase().parse::<UnifiedSocialCreditCode>().unwrap(), code);
    }

    #[test]
    fn any_single_character_change_to_a_credit_code_is_rejected(
        code in credit_codes(),
        index in 0usize..18,
        replacement in replacements(CREDIT_CHARSET),
    ) {
        if let Some(changed) = substitute(code.as_str(), index, replacement) {
            prop_assert!(changed.parse::<UnifiedSocialCreditCode>().is_err(), "{} accepted", changed);
        }
    }

    #[test]
    fn mobile_numbers_round_trip(prefix in prop::sample::select(vec!["130", "139", "147", "158", "166", "177", "186", "199"]), rest in 0u32..100_000_000) {
        let text = format!("{prefix}{rest:08}");
        let n: MobileNumber = text.parse().unwrap();
        prop_assert_eq!(n.to_string(), text.clone());
        prop_assert_eq!(format!("+86 {text}").parse::<MobileNumber>().unwrap(), n);
    }

    #[test]
    fn vehicle_class_sets_round_trip_and_permit_what_they_hold(
        classes in prop::sample::subsequence(VehicleClass::ALL.to_vec(), 1..=17),
    ) {
        let set = VehicleClasses::new(&classes).unwrap();
        prop_assert_eq!(set.to_string().parse::<VehicleClasses>().unwrap(), set);
        for c in &classes {
            prop_assert!(set.holds(*c) && set.permits(*c));
        }
        // Permission only grows through inclusion: the closure is closed.
        prop_assert_eq!(set.permitted().permitted(), set.permitted());
    }

    #[test]
    fn status_sets_round_trip(codes in prop::sample::subsequence(StatusCode::ALL[1..].to_vec(), 1..=19)) {
        let status = LicenceStatus::from_codes(&codes).unwrap();
        prop_assert!(!status.is_normal());
        prop_assert_eq!(status.to_string().parse::<LicenceStatus>().unwrap(), status);
    }

    #[test]
    fn validity_round_trips(start in birth_dates(), term in prop::sample::select(vec![ValidityTerm::SixYears, ValidityTerm::TenYears, ValidityTerm::LongTerm])) {
        let v = Validity::new(start, term);
        prop_assert_eq!(v.to_string().parse::<Validity>().unwrap(), v);
        prop_assert!(v.covers(start));
    }
}
