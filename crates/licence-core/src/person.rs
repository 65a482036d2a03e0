//! 姓名: a person's name as the police hold it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Problem;

/// A person's name: 1-64 characters after trimming, letters (any script), the middle dot of
/// minority and foreign names (·), and single spaces between Latin words. Personal data, but
/// printed on the licence; `Debug` keeps only the first character.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("The name is empty: enter the name exactly as on your ID card")]
    Empty,
    #[error("The name is {0} characters long; at most {max} are allowed", max = PersonName::MAX_CHARS)]
    TooLong(usize),
    #[error("Character {position} ('{found}') cannot be part of a name: use the name as on your ID card")]
    InvalidCharacter { position: usize, found: char },
}

impl Problem for PersonNameError {
    fn code(&self) -> &'static str {
        match self {
            PersonNameError::Empty => "name_empty",
            PersonNameError::TooLong(_) => "name_too_long",
            PersonNameError::InvalidCharacter { .. } => "name_invalid_character",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            PersonNameError::Empty => "请按身份证上的姓名填写".into(),
            PersonNameError::TooLong(n) => {
                format!("姓名有{n}个字，最多{}个", PersonName::MAX_CHARS)
            }
            PersonNameError::InvalidCharacter { position, found } => {
                format!("第{position}个字符“{found}”不能用于姓名，请按身份证填写")
            }
        }
    }
}

impl PersonName {
    pub const MAX_CHARS: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PersonName {
    type Err = PersonNameError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        // Fold the look-alike dots people type for the separator in names like 阿依古丽·买买提.
        let name: String = input
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .map(|c| {
                if matches!(c, '.' | '•' | '・' | '．') {
                    '·'
                } else {
                    c
                }
            })
            .collect();
        let count = name.chars().count();
        if count == 0 {
            return Err(PersonNameError::Empty);
        }
        if count > Self::MAX_CHARS {
            return Err(PersonNameError::TooLong(count));
        }
        if let Some((i, c)) = name.chars().enumerate().find(|(_, c)| {
            !(c.is_alphabetic() || *c == '·' || *c == ' ' || *c == '\'' || *c == '-')
        }) {
            return Err(PersonNameError::InvalidCharacter {
                position: i + 1,
                found: c,
            });
        }
        Ok(PersonName(name))
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first: String = self.0.chars().take(1).collect();
        write!(f, "PersonName({first}**)")
    }
}

crate::text_conversions!(PersonName, PersonNameError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_han_minority_and_latin_names() {
        for (input, stored) in [
            ("张三", "张三"),
            ("  欧阳 娜娜 ", "欧阳 娜娜"),
            ("阿依古丽·买买提", "阿依古丽·买买提"),
            ("阿依古丽.买买提", "阿依古丽·买买提"),
            ("Anna  Maria O'Neil-Smith", "Anna Maria O'Neil-Smith"),
        ] {
            assert_eq!(
                input.parse::<PersonName>().unwrap().as_str(),
                stored,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_empty_long_and_odd_names() {
        assert_eq!("  ".parse::<PersonName>().unwrap_err().code(), "name_empty");
        assert_eq!(
            "张".repeat(65).parse::<PersonName>().unwrap_err(),
            PersonNameError::TooLong(65)
        );
        assert_eq!(
            "张3".parse::<PersonName>().unwrap_err(),
            PersonNameError::InvalidCharacter {
                position: 2,
                found: '3'
            }
        );
        assert_eq!(
            "张\u{0}三".parse::<PersonName>().unwrap_err().code(),
            "name_invalid_character"
        );
        assert_eq!(
            "<script>".parse::<PersonName>().unwrap_err().code(),
            "name_invalid_character"
        );
    }

    #[test]
    fn debug_hides_all_but_the_family_name() {
        let n: PersonName = "张三丰".parse().unwrap();
        assert_eq!(format!("{n:?}"), "PersonName(张**)");
    }
}
