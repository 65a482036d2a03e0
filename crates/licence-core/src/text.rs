//! Input folding shared by the parsers.

/// Folds full-width forms (as Chinese input methods type them: `１２３Ｘ`, the ideographic
/// space) to ASCII, trims, and drops every character in `separators`.
pub(crate) fn fold(input: &str, separators: &[char]) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !separators.contains(c))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The 1-based character position of `index` in `s`, for messages a person reads.
pub(crate) fn position(s: &str, byte_index: usize) -> usize {
    s[..byte_index].chars().count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_digits_and_drops_separators() {
        assert_eq!(fold("　１３８ 0013-8000 ", &[' ', '-']), "13800138000");
        assert_eq!(fold("１１０１０５ｘ", &[]), "110105x");
    }

    #[test]
    fn position_counts_characters_not_bytes() {
        let s = "中文1";
        assert_eq!(position(s, s.find('1').unwrap()), 3);
    }
}
