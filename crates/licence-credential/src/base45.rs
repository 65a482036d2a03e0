//! Base45 (RFC 9285): binary in the QR code's alphanumeric alphabet, 3 characters per 2 bytes.

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() / 2 * 3 + 2);
    for chunk in data.chunks(2) {
        let mut n = chunk.iter().fold(0u32, |n, b| n * 256 + u32::from(*b));
        for _ in 0..chunk.len() + 1 {
            out.push(ALPHABET[(n % 45) as usize] as char);
            n /= 45;
        }
    }
    out
}

/// Decodes base45, or `None` if a character is outside the alphabet, the length is impossible
/// (a single trailing character) or a group encodes more than its bytes can hold.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let values: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).map(|i| i as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for group in values.chunks(3) {
        match *group {
            [a, b, c] => {
                let n = a + b * 45 + c * 45 * 45;
                if n > 0xFFFF {
                    return None;
                }
                out.extend_from_slice(&[(n >> 8) as u8, n as u8]);
            }
            [a, b] => {
                let n = a + b * 45;
                if n > 0xFF {
                    return None;
                }
                out.push(n as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").as_deref(), Some(&b"ietf!"[..]));
    }

    #[test]
    fn round_trips_every_length_and_byte() {
        let data: Vec<u8> = (0..=255).collect();
        for len in 0..data.len() {
            assert_eq!(decode(&encode(&data[..len])).as_deref(), Some(&data[..len]));
        }
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(
            decode("GGW"),
            None,
            "GGW encodes 65 536, one more than two bytes hold"
        );
        assert_eq!(decode("A"), None);
        assert_eq!(decode("ab"), None, "lower case is not base45");
        assert_eq!(decode(":::"), None);
    }
}
