//! The licence's fields as mdoc data elements, and what the holder chooses to show.
//!
//! The table with the reasons is in docs/credential.md ("The e-licence as an mdoc"). In short:
//! the standard's mandatory elements from the licence and the ID number (birth date, sex), the
//! name in pinyin (the standard's names are Latin) and as written, the 准驾车型 as the
//! international categories they correspond to, and what has no place in the standard in our
//! namespace: 累积记分, 驾驶证状态, 档案编号, the national classes and the first-issue date.

use ciborium::Value;
use licence_core::licence::VehicleClass;
use licence_core::{DrivingLicence, Sex};
use time::macros::date;
use time::Date;

use crate::cbor::{full_date, text_key};
use crate::{CN_NAMESPACE, ISO_NAMESPACE};

/// One data element: its namespace, its identifier and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub namespace: String,
    pub identifier: String,
    pub value: Value,
}

impl Element {
    fn new(namespace: &str, identifier: &str, value: Value) -> Element {
        Element {
            namespace: namespace.into(),
            identifier: identifier.into(),
            value,
        }
    }
}

/// A person's name split as the standard wants it: family name and given names, as written
/// and in Latin letters (the standard's `family_name` and `given_name` are Latin; the
/// `*_national_character` elements carry the Chinese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts {
    pub family: String,
    pub given: String,
    pub family_latin: String,
    pub given_latin: String,
}

/// Two-character surnames (复姓): the name's first two characters are the family name when
/// they are one of these; otherwise the first character is.
const COMPOUND_SURNAMES: [&str; 24] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "澹台", "公冶",
];

/// Splits a name into family and given names as written. A name with a middle dot (a
/// transliterated name, e.g. 买买提·艾力) is given names first, the family name last, as the
/// dot separates them; otherwise the surname comes first.
pub fn split_name(name: &str) -> (String, String) {
    if let Some((given, family)) = name.rsplit_once(['·', '•', '・']) {
        return (family.to_owned(), given.to_owned());
    }
    let chars: Vec<char> = name.chars().collect();
    let two: String = chars.iter().take(2).collect();
    let surname_chars = if chars.len() > 2 && COMPOUND_SURNAMES.contains(&two.as_str()) {
        2
    } else {
        1
    };
    (
        chars[..surname_chars.min(chars.len())].iter().collect(),
        chars[surname_chars.min(chars.len())..].iter().collect(),
    )
}

/// Surnames read otherwise than their character's commonest reading (单 Shan, not Dan).
#[cfg(feature = "issuer")]
const SURNAME_READINGS: [(&str, &str); 24] = [
    ("单", "SHAN"),
    ("曾", "ZENG"),
    ("区", "OU"),
    ("仇", "QIU"),
    ("解", "XIE"),
    ("朴", "PIAO"),
    ("查", "ZHA"),
    ("盖", "GE"),
    ("乐", "YUE"),
    ("覃", "QIN"),
    ("缪", "MIAO"),
    ("召", "SHAO"),
    ("翟", "ZHAI"),
    ("员", "YUN"),
    ("种", "CHONG"),
    ("折", "SHE"),
    ("秘", "BI"),
    ("尉迟", "YUCHI"),
    ("万俟", "MOQI"),
    ("长孙", "ZHANGSUN"),
    ("澹台", "TANTAI"),
    ("繁", "PO"),
    ("句", "GOU"),
    ("宿", "SU"),
];

/// Pinyin in capitals, as a Chinese passport writes it: no tones, ü as YU (吕 LYU), syllables
/// run together. A character with no reading is kept as it is.
#[cfg(feature = "issuer")]
fn pinyin_caps(text: &str) -> String {
    use pinyin::ToPinyin;
    text.chars()
        .zip(text.to_pinyin())
        .map(|(c, p)| match p {
            Some(p) => p.plain().replace(['ü', 'v'], "yu").to_uppercase(),
            None => c.to_string(),
        })
        .collect()
}

/// The name's parts, in characters and in pinyin.
#[cfg(feature = "issuer")]
pub fn romanise(name: &str) -> NameParts {
    let (family, given) = split_name(name);
    let family_latin = SURNAME_READINGS
        .iter()
        .find(|(s, _)| *s == family)
        .map_or_else(|| pinyin_caps(&family), |(_, r)| (*r).to_owned());
    NameParts {
        given_latin: pinyin_caps(&given),
        family_latin,
        family,
        given,
    }
}

/// The international category (ISO/IEC 18013-1 Annex A, as in the Vienna Convention and the
/// EU directive) a national class corresponds to, and the harmonised restriction code it
/// carries (78: automatic transmission only). `None` for classes with no counterpart
/// (wheeled machinery, trolleybus, tram): they are in our namespace's `vehicle_classes` only.
pub fn international_category(class: VehicleClass) -> Option<(&'static str, Option<&'static str>)> {
    use VehicleClass::*;
    Some(match class {
        A1 | A3 => ("D", None),
        A2 => ("CE", None),
        B1 => ("D1", None),
        B2 => ("C", None),
        C1 | C3 => ("B", None),
        C2 | C5 => ("B", Some("78")),
        C4 => ("B1", None),
        C6 => ("BE", None),
        D | E => ("A", None),
        F => ("AM", None),
        M | N | P => return None,
    })
}

/// `driving_privileges`: one entry per international category the licence permits (the
/// classes held and those they include), without a restriction when any class grants the
/// category without one.
fn driving_privileges(licence: &DrivingLicence) -> Value {
    let mut categories: Vec<(&str, Option<&str>)> = Vec::new();
    for class in licence.record().classes.permitted().held() {
        let Some((category, code)) = international_category(class) else {
            continue;
        };
        match categories.iter_mut().find(|(c, _)| *c == category) {
            Some(entry) => {
                if code.is_none() {
                    entry.1 = None;
                }
            }
            None => categories.push((category, code)),
        }
    }
    Value::Array(
        categories
            .into_iter()
            .map(|(category, code)| {
                let mut entry = vec![text_key(
                    "vehicle_category_code",
                    Value::Text(category.into()),
                )];
                if let Some(code) = code {
                    entry.push(text_key(
                        "codes",
                        Value::Array(vec![Value::Map(vec![text_key(
                            "code",
                            Value::Text(code.into()),
                        )])]),
                    ));
                }
                Value::Map(entry)
            })
            .collect(),
    )
}

/// What a licence with no end date (长期) says as `expiry_date`, which the standard requires.
pub const NO_EXPIRY: Date = date!(9999 - 12 - 31);

/// Whole years between `birth` and `on`.
fn age_on(birth: Date, on: Date) -> i32 {
    let had_birthday = (on.month(), on.day()) >= (birth.month(), birth.day());
    on.year() - birth.year() - i32::from(!had_birthday)
}

/// Every element of the licence, as issued on `today`. `portrait_jpeg` is the approved photo.
pub fn licence_elements(
    licence: &DrivingLicence,
    name: &NameParts,
    portrait_jpeg: &[u8],
    today: Date,
) -> Vec<Element> {
    let r = licence.record();
    let iso = |id: &str, v: Value| Element::new(ISO_NAMESPACE, id, v);
    let cn = |id: &str, v: Value| Element::new(CN_NAMESPACE, id, v);
    let text = |s: &str| Value::Text(s.to_owned());
    let age = age_on(licence.birth_date(), today);
    let mut elements = vec![
        iso("family_name", text(&name.family_latin)),
        iso("given_name", text(&name.given_latin)),
        iso("family_name_national_character", text(&name.family)),
        iso("given_name_national_character", text(&name.given)),
        iso("birth_date", full_date(licence.birth_date())),
        iso("issue_date", full_date(r.validity.start())),
        iso(
            "expiry_date",
            full_date(r.validity.end().unwrap_or(NO_EXPIRY)),
        ),
        iso("issuing_country", text("CN")),
        iso("issuing_authority", text(&r.issuing_authority)),
        iso("document_number", text(r.number.as_str())),
        iso("portrait", Value::Bytes(portrait_jpeg.to_vec())),
        iso("driving_privileges", driving_privileges(licence)),
        iso("un_distinguishing_sign", text("CHN")),
        iso(
            "sex",
            Value::Integer(match licence.sex() {
                Sex::Male => 1.into(),
                Sex::Female => 2.into(),
            }),
        ),
        iso("resident_address", text(&r.address)),
        iso("age_over_18", Value::Bool(age >= 18)),
        iso("age_over_21", Value::Bool(age >= 21)),
        cn("cumulative_points", Value::Integer(r.points.value().into())),
        cn("licence_status", text(&r.status.to_string())),
        cn("file_number", text(&r.file_number.to_string())),
        cn("vehicle_classes", text(&r.classes.to_string())),
        cn("first_issue_date", full_date(r.first_issued)),
    ];
    if r.nationality == "中国" {
        elements.push(iso("nationality", text("CN")));
    }
    elements
}

/// What the holder chooses to show a verifier (出示给其他核验方).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disclosure {
    /// A traffic officer at the roadside: everything.
    Everything,
    /// A car-rental desk or an insurer: name, portrait, categories, validity and standing.
    RentalDesk,
    /// An age check: only whether the holder is over 18.
    AgeOver18,
}

const RENTAL_DESK: [(&str, &str); 13] = [
    (ISO_NAMESPACE, "family_name"),
    (ISO_NAMESPACE, "given_name"),
    (ISO_NAMESPACE, "family_name_national_character"),
    (ISO_NAMESPACE, "given_name_national_character"),
    (ISO_NAMESPACE, "portrait"),
    (ISO_NAMESPACE, "driving_privileges"),
    (ISO_NAMESPACE, "issue_date"),
    (ISO_NAMESPACE, "expiry_date"),
    (ISO_NAMESPACE, "issuing_country"),
    (ISO_NAMESPACE, "issuing_authority"),
    (ISO_NAMESPACE, "un_distinguishing_sign"),
    (CN_NAMESPACE, "licence_status"),
    (CN_NAMESPACE, "vehicle_classes"),
];

impl Disclosure {
    pub const ALL: [Disclosure; 3] = [
        Disclosure::Everything,
        Disclosure::RentalDesk,
        Disclosure::AgeOver18,
    ];

    /// Whether this choice shows the element.
    pub fn allows(self, namespace: &str, identifier: &str) -> bool {
        match self {
            Disclosure::Everything => true,
            Disclosure::RentalDesk => RENTAL_DESK.contains(&(namespace, identifier)),
            Disclosure::AgeOver18 => namespace == ISO_NAMESPACE && identifier == "age_over_18",
        }
    }

    /// The stable code (API, UI).
    pub fn code(self) -> &'static str {
        match self {
            Disclosure::Everything => "everything",
            Disclosure::RentalDesk => "rental_desk",
            Disclosure::AgeOver18 => "age_over_18",
        }
    }

    pub fn from_code(code: &str) -> Option<Disclosure> {
        Disclosure::ALL.into_iter().find(|d| d.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Disclosure::Everything => "全部信息（交警核查）",
            Disclosure::RentalDesk => "姓名、照片、准驾车型、有效期和状态（租车、保险）",
            Disclosure::AgeOver18 => "仅“已满18周岁”",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Disclosure::Everything => "Everything (traffic police)",
            Disclosure::RentalDesk => {
                "Name, photo, categories, validity and standing (rental, insurance)"
            }
            Disclosure::AgeOver18 => "Only \"aged 18 or over\"",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use licence_core::licence::LicenceRecord;
    use licence_core::testdata::sample_record;

    fn get<'e>(elements: &'e [Element], id: &str) -> &'e Value {
        &elements
            .iter()
            .find(|e| e.identifier == id)
            .unwrap_or_else(|| panic!("{id} is there"))
            .value
    }

    fn name() -> NameParts {
        NameParts {
            family: "张".into(),
            given: "伟".into(),
            family_latin: "ZHANG".into(),
            given_latin: "WEI".into(),
        }
    }

    #[test]
    fn names_split_at_the_surname_a_compound_one_or_a_middle_dot() {
        assert_eq!(split_name("张伟"), ("张".into(), "伟".into()));
        assert_eq!(split_name("欧阳娜娜"), ("欧阳".into(), "娜娜".into()));
        // Two characters that start like a compound surname are a surname and a given name.
        assert_eq!(split_name("司马"), ("司".into(), "马".into()));
        assert_eq!(split_name("买买提·艾力"), ("艾力".into(), "买买提".into()));
    }

    #[cfg(feature = "issuer")]
    #[test]
    fn names_are_romanised_as_a_passport_writes_them() {
        let n = romanise("张伟");
        assert_eq!(
            (n.family_latin.as_str(), n.given_latin.as_str()),
            ("ZHANG", "WEI")
        );
        assert_eq!(romanise("单田芳").family_latin, "SHAN");
        assert_eq!(romanise("吕小军").family_latin, "LYU");
        assert_eq!(romanise("欧阳娜娜").given_latin, "NANA");
    }

    #[test]
    fn the_sample_licence_gives_the_standards_mandatory_elements() {
        let licence = licence_core::testdata::sample_licence();
        let elements = licence_elements(&licence, &name(), b"jpeg", date!(2026 - 12 - 06));
        for id in [
            "family_name",
            "given_name",
            "birth_date",
            "issue_date",
            "expiry_date",
            "issuing_country",
            "issuing_authority",
            "document_number",
            "portrait",
            "driving_privileges",
            "un_distinguishing_sign",
        ] {
            get(&elements, id);
        }
        assert_eq!(
            get(&elements, "birth_date"),
            &full_date(date!(1990 - 03 - 07))
        );
        assert_eq!(
            get(&elements, "expiry_date"),
            &full_date(date!(2028 - 06 - 18))
        );
        assert_eq!(get(&elements, "age_over_18"), &Value::Bool(true));
        assert_eq!(
            get(&elements, "cumulative_points"),
            &Value::Integer(0.into())
        );
        assert_eq!(get(&elements, "licence_status"), &Value::Text("A".into()));
        // C1 permits C2, C3 and C4 as well: B (C1 and C3 without a restriction) and B1 (C4).
        let categories: Vec<String> = get(&elements, "driving_privileges")
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let m = p.as_map().unwrap();
                let code = m[0].1.as_text().unwrap().to_owned();
                if m.len() > 1 {
                    format!("{code}+restricted")
                } else {
                    code
                }
            })
            .collect();
        assert_eq!(categories, ["B", "B1"]);
    }

    #[test]
    fn an_automatic_only_licence_carries_code_78_and_a_long_term_one_no_end() {
        let licence = DrivingLicence::new(LicenceRecord {
            classes: "C2".parse().unwrap(),
            validity: "2020-01-01至长期".parse().unwrap(),
            ..sample_record()
        })
        .unwrap();
        let elements = licence_elements(&licence, &name(), b"", date!(2026 - 12 - 06));
        assert_eq!(get(&elements, "expiry_date"), &full_date(NO_EXPIRY));
        let privileges = get(&elements, "driving_privileges").as_array().unwrap();
        assert_eq!(privileges.len(), 1);
        let entry = privileges[0].as_map().unwrap();
        assert_eq!(entry[0].1, Value::Text("B".into()));
        let codes = entry[1].1.as_array().unwrap();
        assert_eq!(codes[0].as_map().unwrap()[0].1, Value::Text("78".into()));
    }

    #[test]
    fn age_is_counted_in_whole_years_to_the_birthday() {
        assert_eq!(age_on(date!(2008 - 12 - 07), date!(2026 - 12 - 06)), 17);
        assert_eq!(age_on(date!(2008 - 12 - 06), date!(2026 - 12 - 06)), 18);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 02 - 28)), 17);
    }

    #[test]
    fn each_choice_shows_what_it_says_and_no_more() {
        assert!(Disclosure::Everything.allows(CN_NAMESPACE, "file_number"));
        assert!(Disclosure::RentalDesk.allows(ISO_NAMESPACE, "portrait"));
        assert!(!Disclosure::RentalDesk.allows(ISO_NAMESPACE, "document_number"));
        assert!(!Disclosure::RentalDesk.allows(ISO_NAMESPACE, "resident_address"));
        assert!(!Disclosure::RentalDesk.allows(CN_NAMESPACE, "cumulative_points"));
        assert!(Disclosure::AgeOver18.allows(ISO_NAMESPACE, "age_over_18"));
        assert!(!Disclosure::AgeOver18.allows(ISO_NAMESPACE, "portrait"));
        for d in Disclosure::ALL {
            assert_eq!(Disclosure::from_code(d.code()), Some(d));
        }
    }
}
