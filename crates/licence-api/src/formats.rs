//! Field rules JSON Schema cannot state with its own keywords, named as string formats, and
//! the few schemas written by hand because a derive cannot say them.
//!
//! | format | rule |
//! |---|---|
//! | `gb11643` | 18-character resident ID number: province code, real date of birth, right check character |
//! | `cn-mobile` | 11-digit mainland mobile number with a prefix in use (13x-19x) |
//! | `licence-password` | 8-32 characters, at least one letter and one digit, no control characters |
//! | `licence-login` | an ID number (`gb11643`), a mobile number (`cn-mobile`) or a unit's credit code (GB 32100) |
//! | `id-card-validity` | `起始日期至终止日期` or `起始日期至长期`, a 5/10/20-year term, in force today |
//! | `jpeg-base64` | a JPEG image, base64 |
//! | `image-base64` | a JPEG or PNG image, base64 |
//! | `p256-public-key` | a P-256 public key, SEC1 (compressed or uncompressed), base64 |
//!
//! `tests/contract/hooks.py` teaches the contract tester (schemathesis) to draw values of each.

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

use crate::PhotoSource;

/// One camera frame: a JPEG, base64, at most 1 MB.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = "jpeg-base64")]
pub struct JpegFrame(#[allow(dead_code)] String);

/// A string that is one of an enum's names, as strum (and serde, which agrees) spells them:
/// for a response field kept as `String` whose values are a Rust enum's, so the document lists
/// the enum itself rather than a copy. Used as `#[schema(schema_with = names_of::<E>)]`; the
/// field's doc comment is then not its description (utoipa takes the schema whole), which
/// costs nothing where the comment only listed the names.
pub fn names_of<E: strum::VariantNames>() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(E::VARIANTS.iter().copied()))
}

/// A boolean that must be `true` (a consent).
pub fn must_be_true() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Boolean))
        .enum_values(Some([true]))
}

/// An integer, also when a client writes it as a float with nothing after the point
/// (`7.0`): JSON Schema counts that an integer, so the server takes it as one.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    // 2^63 is exactly representable as f64; every whole float in [-2^63, 2^63) fits an i64.
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (-TWO_TO_63..TWO_TO_63).contains(&f) => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!(
            "{number} is not a whole number of 64 bits"
        ))),
    }
}

/// What the platform takes as a photo, as far as a pattern can say it: canonical standard
/// base64 (padded, no stray bits) whose bytes begin as a JPEG (`FF D8`) or a PNG (its
/// 8-byte signature) does: the first characters pin those bytes, the rest are whole groups
/// of four with a canonical end. The format `image-base64` says the rest (a real picture).
pub const IMAGE_BASE64: &str = concat!(
    "^(?:/9(?:g=|[g-j][A-Za-z0-9+/]",
    "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?)",
    "|iVBORw0KGg(?:o=|[o-r][A-Za-z0-9+/]",
    "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?))$"
);

/// The photo of an application: `photo_source` `on_file` (or left out) with no `photo`, or
/// `album`/`camera` with one. `extra` adds the other fields of the body.
pub(crate) fn photo_choice(extra: &[(&str, RefOr<Schema>)], description: &str) -> RefOr<Schema> {
    let source = |values: &[PhotoSource]| {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(values.iter().map(|v| v.as_str())))
    };
    let photo = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .format(Some(utoipa::openapi::SchemaFormat::Custom(
            "image-base64".into(),
        )))
        .pattern(Some(IMAGE_BASE64))
        .description(Some("The photo (JPEG or PNG), base64, at most 6 MB."));
    let mut on_file = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .description(Some("The photo the traffic police hold (档案照片)."))
        .property("photo_source", source(&[PhotoSource::OnFile]))
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    let mut upload = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .description(Some("A photo from the album or taken with the camera now."))
        .property(
            "photo_source",
            source(&[PhotoSource::Album, PhotoSource::Camera]),
        )
        .property("photo", photo)
        .required("photo_source")
        .required("photo")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    for (name, schema) in extra {
        on_file = on_file.property(*name, schema.clone()).required(*name);
        upload = upload.property(*name, schema.clone()).required(*name);
    }
    OneOfBuilder::new()
        .item(on_file)
        .item(upload)
        .description(Some(description))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Body {
        #[serde(deserialize_with = "whole_number")]
        n: i64,
    }

    /// Response fields that hold an enum's name list exactly that enum's names.
    #[test]
    fn enum_names_come_from_the_enums() {
        use strum::VariantNames;
        use utoipa::PartialSchema;
        let property = |schema: RefOr<Schema>, field: &str| {
            serde_json::to_value(schema).unwrap()["properties"][field].clone()
        };
        let names = |v: &serde_json::Value| v["enum"].clone();
        let status = property(crate::ApplicationView::schema(), "status");
        assert_eq!(
            names(&status),
            json!(licence_core::ApplicationStatus::VARIANTS)
        );
        assert_eq!(status["type"], "string");
        let source = property(crate::ApplicationView::schema(), "photo_source");
        assert_eq!(names(&source), json!(["on_file", "album", "camera"]));
        let state = property(crate::IdCardReviewView::schema(), "state");
        assert_eq!(names(&state), json!(["pending", "approved", "rejected"]));
        let verdict = property(crate::CheckResult::schema(), "verdict");
        assert_eq!(
            names(&verdict),
            json!(licence_core::verdict::VerdictCode::VARIANTS)
        );
        let function = property(crate::FunctionView::schema(), "function");
        assert_eq!(
            names(&function),
            json!(licence_core::BusinessFunction::VARIANTS)
        );
    }

    /// The pattern takes exactly what the server's sniff takes: canonical base64 of bytes
    /// that begin as a JPEG or a PNG.
    #[test]
    fn the_photo_pattern_is_the_servers_rule() {
        let pattern = regex::Regex::new(IMAGE_BASE64).unwrap();
        for taken in [
            "/9g=",                     // FF D8
            "/9j/4AAQ",                 // FF D8 FF E0 00 10: a JFIF header begins
            "/9j/4A==",                 // FF D8 FF E0
            "iVBORw0KGgo=",             // the PNG signature alone
            "iVBORw0KGgoAAAANSUhEUg==", // and an IHDR chunk begins
        ] {
            assert!(pattern.is_match(taken), "{taken}");
        }
        for refused in [
            "",
            "A",
            "/9g",          // not padded
            "/9h=",         // stray bits after FF D8
            "iVBORw0KGgp=", // stray bits after the signature
            "abcd",         // neither JPEG nor PNG
            "/9j/4AAQ\n",   // not base64
        ] {
            assert!(!pattern.is_match(refused), "{refused}");
        }
    }

    #[test]
    fn whole_numbers_in_either_spelling() {
        let n = |text: &str| serde_json::from_str::<Body>(text).map(|b| b.n);
        assert_eq!(n(r#"{"n": 7}"#).unwrap(), 7);
        assert_eq!(n(r#"{"n": -190.0}"#).unwrap(), -190);
        assert_eq!(n(r#"{"n": -9223372036854775808}"#).unwrap(), i64::MIN);
        assert!(n(r#"{"n": 1.5}"#).is_err());
        assert!(n(r#"{"n": 9223372036854775808}"#).is_err());
        assert!(n(r#"{"n": 1e300}"#).is_err());
        assert!(n(r#"{"n": "7"}"#).is_err());
    }
}
