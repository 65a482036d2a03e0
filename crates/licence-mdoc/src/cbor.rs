//! CBOR as ISO/IEC 18013-5 writes it: text-keyed maps, `#6.24` for embedded CBOR, `#6.0`
//! date-times and `#6.1004` full dates.
//!
//! Unlike our own QR credential (one deterministic encoding, licence-credential's `cbor`),
//! an mdoc comes from any implementation, so the reader takes any valid encoding: what is
//! signed or digested is always the bytes as received (the `#6.24` wrappers), never a
//! re-encoding. What it does refuse is ambiguity: a map with a key twice, which two decoders
//! might read differently.

use ciborium::Value;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::{MdocError, MAX_MESSAGE_BYTES};

/// Nesting deeper than this is refused (the deepest structure, a DeviceResponse, needs 8).
const MAX_DEPTH: usize = 32;

pub(crate) fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for a Value.
    ciborium::into_writer(value, &mut out).expect("a CBOR value encodes into memory");
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Value, MdocError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(MdocError::TooLarge(bytes.len()));
    }
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|_| MdocError::Malformed("not CBOR"))?;
    if !reader.is_empty() {
        return Err(MdocError::Malformed("bytes after the CBOR item"));
    }
    Ok(value)
}

/// `#6.24(bstr .cbor value)`: embedded CBOR, whose bytes are what is signed or digested.
pub(crate) fn tag24(value: &Value) -> Value {
    Value::Tag(24, Box::new(Value::Bytes(encode(value))))
}

/// The bytes inside a `#6.24` wrapper.
pub(crate) fn untag24<'v>(value: &'v Value, what: &'static str) -> Result<&'v [u8], MdocError> {
    match value {
        Value::Tag(24, inner) => match inner.as_ref() {
            Value::Bytes(b) => Ok(b),
            _ => Err(MdocError::Malformed(what)),
        },
        _ => Err(MdocError::Malformed(what)),
    }
}

/// The value inside a `#6.24` wrapper, decoded.
pub(crate) fn open24(value: &Value, what: &'static str) -> Result<Value, MdocError> {
    decode(untag24(value, what)?)
}

/// `tdate`: `#6.0` RFC 3339 text, UTC, whole seconds (as 18013-5 asks).
pub(crate) fn tdate(at: OffsetDateTime) -> Value {
    let at = at.to_offset(time::UtcOffset::UTC);
    let text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    Value::Tag(0, Box::new(Value::Text(text)))
}

/// Reads a `tdate` (any RFC 3339 offset and precision a peer wrote).
pub(crate) fn read_tdate(value: &Value, what: &'static str) -> Result<OffsetDateTime, MdocError> {
    match value {
        Value::Tag(0, inner) => inner
            .as_text()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or(MdocError::Malformed(what)),
        _ => Err(MdocError::Malformed(what)),
    }
}

/// `full-date`: `#6.1004` "YYYY-MM-DD".
pub(crate) fn full_date(date: Date) -> Value {
    Value::Tag(
        1004,
        Box::new(Value::Text(format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ))),
    )
}

/// A map's entries, refusing a key that appears twice (two decoders might pick different ones).
pub(crate) fn map<'v>(
    value: &'v Value,
    what: &'static str,
) -> Result<&'v [(Value, Value)], MdocError> {
    let entries = value.as_map().ok_or(MdocError::Malformed(what))?;
    // By sorting the keys' encodings: a hostile map of many thousand keys costs n log n, not
    // a comparison of every pair.
    let mut keys: Vec<Vec<u8>> = entries.iter().map(|(k, _)| encode(k)).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(MdocError::Malformed("a map key twice"));
    }
    Ok(entries)
}

/// The value under a text key, if any.
pub(crate) fn get<'v>(entries: &'v [(Value, Value)], key: &str) -> Option<&'v Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// The value under a text key, which must be there.
pub(crate) fn need<'v>(
    entries: &'v [(Value, Value)],
    key: &str,
    what: &'static str,
) -> Result<&'v Value, MdocError> {
    get(entries, key).ok_or(MdocError::Malformed(what))
}

/// The value under an integer key (COSE), if any.
pub(crate) fn get_int(entries: &[(Value, Value)], key: i64) -> Option<&Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(key))
        .map(|(_, v)| v)
}

pub(crate) fn text_key(key: &str, value: Value) -> (Value, Value) {
    (Value::Text(key.to_owned()), value)
}

pub(crate) fn int_key(key: i64, value: Value) -> (Value, Value) {
    (Value::Integer(key.into()), value)
}

/// A non-negative integer value.
pub(crate) fn uint(value: &Value, what: &'static str) -> Result<u64, MdocError> {
    value
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or(MdocError::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn dates_are_written_as_the_standard_asks_and_read_in_any_offset() {
        let at = datetime!(2026-12-06 09:30:15.25 +08:00);
        let written = tdate(at);
        assert_eq!(
            written,
            Value::Tag(0, Box::new(Value::Text("2026-12-06T01:30:15Z".into())))
        );
        let peer = Value::Tag(0, Box::new(Value::Text("2026-12-06T09:30:15+08:00".into())));
        assert_eq!(
            read_tdate(&peer, "t").unwrap(),
            datetime!(2026-12-06 01:30:15 UTC)
        );
        assert!(read_tdate(&Value::Text("2026-12-06T01:30:15Z".into()), "t").is_err());
        assert_eq!(
            full_date(date!(1990 - 03 - 07)),
            Value::Tag(1004, Box::new(Value::Text("1990-03-07".into())))
        );
    }

    #[test]
    fn a_map_with_a_key_twice_and_trailing_bytes_are_refused() {
        let twice = Value::Map(vec![
            text_key("a", Value::Integer(1.into())),
            text_key("a", Value::Integer(2.into())),
        ]);
        assert_eq!(
            map(&twice, "m").unwrap_err(),
            MdocError::Malformed("a map key twice")
        );
        // Many keys, all different: accepted, and quickly (the check sorts, it does not
        // compare every pair).
        let many = Value::Map(
            (0..100_000)
                .map(|i| (Value::Integer(i.into()), Value::Null))
                .collect(),
        );
        assert_eq!(map(&many, "m").unwrap().len(), 100_000);
        let mut bytes = encode(&Value::Integer(1.into()));
        bytes.push(0);
        assert!(decode(&bytes).is_err());
        assert!(decode(&[0x9f]).is_err(), "an unfinished array");
    }

    #[test]
    fn embedded_cbor_round_trips_through_its_tag() {
        let inner = Value::Array(vec![Value::Text("x".into())]);
        let wrapped = tag24(&inner);
        assert_eq!(open24(&wrapped, "w").unwrap(), inner);
        assert!(untag24(&inner, "w").is_err());
    }
}
