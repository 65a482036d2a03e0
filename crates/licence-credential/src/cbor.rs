//! One encoding only: core deterministic CBOR (RFC 8949 §4.2.1), checked on the bytes before
//! anything decodes them, and produced by [`encode`] for everything this crate signs.
//!
//! Why a check of our own before ciborium: ciborium (like most decoders) is lenient. It takes
//! the first of two equal map keys, indefinite lengths and over-long integers, so one signed
//! credential could have several encodings and two decoders could read different names from
//! the same bytes. The rules here are exactly those of RFC 8949 §4.2.1, and narrower where the
//! formats need nothing more (docs/credential.md, "Encoding"):
//!
//! - every length and integer in its shortest form; no indefinite lengths;
//! - map keys in the bytewise order of their encodings, so no key twice;
//! - one data item and nothing after it;
//! - text is UTF-8;
//! - no tags, no floating-point numbers and no simple values but `false`, `true` and `null`
//!   (none of the formats uses them);
//! - nested at most [`MAX_DEPTH`] deep.

use std::cmp::Ordering;

use ciborium::Value;

/// Deepest nesting of arrays and maps accepted (the formats need 3).
pub const MAX_DEPTH: usize = 16;

/// Which rule of deterministic CBOR the bytes break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("the CBOR ends in the middle of an item")]
    Truncated,
    #[error("bytes after the CBOR item")]
    TrailingBytes,
    #[error("an indefinite length")]
    IndefiniteLength,
    #[error("an integer or length not in its shortest form")]
    NotShortest,
    #[error("a map key twice")]
    DuplicateKey,
    #[error("map keys out of order")]
    KeysOutOfOrder,
    #[error("text that is not UTF-8")]
    NotUtf8,
    #[error("a tag, a floating-point number or a simple value the format does not use")]
    Unsupported,
    #[error("a reserved additional-information value")]
    Reserved,
    #[error("nested more than {MAX_DEPTH} deep")]
    TooDeep,
}

impl EncodingError {
    /// A stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            EncodingError::Truncated => "truncated",
            EncodingError::TrailingBytes => "trailing_bytes",
            EncodingError::IndefiniteLength => "indefinite_length",
            EncodingError::NotShortest => "not_shortest",
            EncodingError::DuplicateKey => "duplicate_key",
            EncodingError::KeysOutOfOrder => "keys_out_of_order",
            EncodingError::NotUtf8 => "not_utf8",
            EncodingError::Unsupported => "unsupported",
            EncodingError::Reserved => "reserved",
            EncodingError::TooDeep => "too_deep",
        }
    }
}

/// Checks that `bytes` are exactly one data item in core deterministic encoding.
pub fn check_deterministic(bytes: &[u8]) -> Result<(), EncodingError> {
    match item(bytes, 0, 0)? {
        end if end == bytes.len() => Ok(()),
        _ => Err(EncodingError::TrailingBytes),
    }
}

/// Checks the item that starts at `at`; returns where it ends.
fn item(bytes: &[u8], at: usize, depth: usize) -> Result<usize, EncodingError> {
    if depth > MAX_DEPTH {
        return Err(EncodingError::TooDeep);
    }
    let initial = *bytes.get(at).ok_or(EncodingError::Truncated)?;
    let (major, info) = (initial >> 5, initial & 0x1f);
    if major == 7 {
        // false, true, null; floats, `undefined`, other simple values and "break" are not
        // part of the formats.
        return match info {
            20..=22 => Ok(at + 1),
            _ => Err(EncodingError::Unsupported),
        };
    }
    if major == 6 {
        return Err(EncodingError::Unsupported);
    }
    let (argument, mut pos) = argument(bytes, at + 1, info)?;
    match major {
        0 | 1 => Ok(pos),
        2 | 3 => {
            let len = usize::try_from(argument)
                .ok()
                .filter(|len| *len <= bytes.len() - pos)
                .ok_or(EncodingError::Truncated)?;
            let content = &bytes[pos..pos + len];
            if major == 3 && std::str::from_utf8(content).is_err() {
                return Err(EncodingError::NotUtf8);
            }
            Ok(pos + len)
        }
        4 => {
            // Each element takes at least a byte, so a huge count ends as `Truncated`.
            for _ in 0..argument {
                pos = item(bytes, pos, depth + 1)?;
            }
            Ok(pos)
        }
        _ => {
            let mut previous: Option<&[u8]> = None;
            for _ in 0..argument {
                let key_end = item(bytes, pos, depth + 1)?;
                let key = &bytes[pos..key_end];
                match previous.map(|p| p.cmp(key)) {
                    Some(Ordering::Equal) => return Err(EncodingError::DuplicateKey),
                    Some(Ordering::Greater) => return Err(EncodingError::KeysOutOfOrder),
                    _ => {}
                }
                previous = Some(key);
                pos = item(bytes, key_end, depth + 1)?;
            }
            Ok(pos)
        }
    }
}

/// The argument of an item's head (its value, length or count) and where the head ends,
/// refusing an argument that would fit in a shorter head.
fn argument(bytes: &[u8], start: usize, info: u8) -> Result<(u64, usize), EncodingError> {
    let (width, least) = match info {
        0..=23 => return Ok((u64::from(info), start)),
        24 => (1, 24),
        25 => (2, 0x100),
        26 => (4, 0x1_0000),
        27 => (8, 0x1_0000_0000),
        31 => return Err(EncodingError::IndefiniteLength),
        _ => return Err(EncodingError::Reserved),
    };
    let head = bytes
        .get(start..start + width)
        .ok_or(EncodingError::Truncated)?;
    let value = head.iter().fold(0u64, |v, b| v << 8 | u64::from(*b));
    if value < least {
        return Err(EncodingError::NotShortest);
    }
    Ok((value, start + width))
}

/// Encodes a value deterministically: ciborium writes shortest heads and definite lengths;
/// map entries are put in the order of their keys' encodings first.
pub fn encode(value: Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(&sorted(value), &mut out).expect("writing to memory");
    debug_assert_eq!(check_deterministic(&out), Ok(()));
    out
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Map(entries) => {
            let mut keyed: Vec<(Vec<u8>, (Value, Value))> = entries
                .into_iter()
                .map(|(k, v)| {
                    let (k, v) = (sorted(k), sorted(v));
                    let mut key = Vec::new();
                    ciborium::into_writer(&k, &mut key).expect("writing to memory");
                    (key, (k, v))
                })
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(keyed.into_iter().map(|(_, entry)| entry).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).unwrap()
    }

    #[test]
    fn deterministic_items_pass() {
        for ok in [
            "00",                 // 0
            "17",                 // 23
            "1818",               // 24
            "190100",             // 256
            "20",                 // -1
            "3818",               // -25
            "40",                 // h''
            "6161",               // "a"
            "80",                 // []
            "a0",                 // {}
            "a201020304",         // {1: 2, 3: 4}
            "a2016161616102",     // {1: "a", "a": 2}: 0x01 < 0x61
            "a2616101626161f6",   // {"a": 1, "aa": null}: shorter first
            "83f4f5f6",           // [false, true, null]
            "1b0000000100000000", // 2^32
        ] {
            assert_eq!(check_deterministic(&hex(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn each_rule_is_refused_by_name() {
        use EncodingError::*;
        for (bad, why) in [
            ("", Truncated),
            ("18", Truncated),
            ("6261", Truncated),
            ("830102", Truncated),
            ("0000", TrailingBytes),
            ("9f01ff", IndefiniteLength),
            ("5f4101ff", IndefiniteLength),
            ("bf0102ff", IndefiniteLength),
            ("1817", NotShortest),
            ("190017", NotShortest),
            ("1a0000ffff", NotShortest),
            ("1b00000000ffffffff", NotShortest),
            ("5801ff", NotShortest),
            ("a201020103", DuplicateKey),
            ("a203040102", KeysOutOfOrder),
            ("a2616201616102", KeysOutOfOrder), // {"b": 1, "a": 2}
            ("62c328", NotUtf8),
            ("c24101", Unsupported), // a tag
            ("f93c00", Unsupported), // 1.0 as a half float
            ("f7", Unsupported),     // undefined
            ("ff", Unsupported),     // a lone "break"
            ("1c", Reserved),
        ] {
            assert_eq!(check_deterministic(&hex(bad)), Err(why), "{bad}");
        }
        let deep = [vec![0x81; MAX_DEPTH + 1], vec![0]].concat();
        assert_eq!(check_deterministic(&deep), Err(TooDeep));
        let deep_enough = [vec![0x81; MAX_DEPTH], vec![0]].concat();
        assert_eq!(check_deterministic(&deep_enough), Ok(()));
        // A count far beyond the bytes ends quickly.
        assert_eq!(
            check_deterministic(&hex("9bffffffffffffffff")),
            Err(Truncated)
        );
        assert_eq!(
            check_deterministic(&hex("5bffffffffffffffff")),
            Err(Truncated)
        );
    }

    #[test]
    fn encode_sorts_map_keys_by_their_encoding() {
        let value = Value::Map(vec![
            (Value::Text("aa".into()), Value::Integer(1.into())),
            (Value::Integer(300.into()), Value::Null),
            (Value::Text("b".into()), Value::Integer(2.into())),
            (Value::Integer(2.into()), Value::Array(vec![])),
        ]);
        // 2, 300, "b", "aa": 0x02 < 0x19.. < 0x61.. < 0x62..
        assert_eq!(
            crate::hex::encode(&encode(value)),
            "a4028019012cf661620262616101"
        );
    }
}
