//! 准驾车型: the classes of vehicle a licence permits, and which classes include which.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Problem;

/// One 准驾车型 code, as printed on the licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VehicleClass {
    A1,
    A2,
    A3,
    B1,
    B2,
    C1,
    C2,
    C3,
    C4,
    C5,
    C6,
    D,
    E,
    F,
    M,
    N,
    P,
}

use VehicleClass::*;

impl VehicleClass {
    pub const ALL: [VehicleClass; 17] =
        [A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, E, F, M, N, P];

    pub fn code(self) -> &'static str {
        match self {
            A1 => "A1",
            A2 => "A2",
            A3 => "A3",
            B1 => "B1",
            B2 => "B2",
            C1 => "C1",
            C2 => "C2",
            C3 => "C3",
            C4 => "C4",
            C5 => "C5",
            C6 => "C6",
            D => "D",
            E => "E",
            F => "F",
            M => "M",
            N => "N",
            P => "P",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            A1 => "大型客车",
            A2 => "重型牵引挂车",
            A3 => "城市公交车",
            B1 => "中型客车",
            B2 => "大型货车",
            C1 => "小型汽车",
            C2 => "小型自动挡汽车",
            C3 => "低速载货汽车",
            C4 => "三轮汽车",
            C5 => "残疾人专用小型自动挡载客汽车",
            C6 => "轻型牵引挂车",
            D => "普通三轮摩托车",
            E => "普通二轮摩托车",
            F => "轻便摩托车",
            M => "轮式专用机械车",
            N => "无轨电车",
            P => "有轨电车",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            A1 => "large bus",
            A2 => "heavy tractor-trailer",
            A3 => "city bus",
            B1 => "medium bus",
            B2 => "large truck",
            C1 => "small car",
            C2 => "small automatic car",
            C3 => "low-speed truck",
            C4 => "three-wheeled vehicle",
            C5 => "small automatic car adapted for disabled drivers",
            C6 => "light tractor-trailer",
            D => "three-wheeled motorcycle",
            E => "two-wheeled motorcycle",
            F => "light motorcycle",
            M => "wheeled special machinery",
            N => "trolleybus",
            P => "tram",
        }
    }

    /// The classes this one includes directly (准驾的其他准驾车型), per the Ministry of Public
    /// Security's 机动车驾驶证申领和使用规定 (2022): e.g. A1 includes A3 B1 B2 C1 C2 C3 C4 M.
    pub fn directly_includes(self) -> &'static [VehicleClass] {
        match self {
            A1 => &[A3, B1, B2, C1, C2, C3, C4, M],
            A2 => &[B1, B2, C1, C2, C3, C4, C6, M],
            A3 => &[C1, C2, C3, C4],
            B1 | B2 => &[C1, C2, C3, C4, M],
            C1 => &[C2, C3, C4],
            C3 => &[C4],
            D => &[E, F],
            E => &[F],
            C2 | C4 | C5 | C6 | F | M | N | P => &[],
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The classes printed on one licence (e.g. "C1E" = C1 and E): never empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VehicleClasses(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VehicleClassError {
    #[error("No vehicle class given: enter the codes printed on the licence, e.g. C1 or C1E")]
    Empty,
    #[error("'{text}' at character {position} is not a vehicle class: valid codes are A1 A2 A3 B1 B2 C1-C6 D E F M N P")]
    Unknown { position: usize, text: String },
    #[error("Vehicle class {0} is listed twice")]
    Duplicate(VehicleClass),
}

impl Problem for VehicleClassError {
    fn code(&self) -> &'static str {
        match self {
            VehicleClassError::Empty => "vehicle_class_empty",
            VehicleClassError::Unknown { .. } => "vehicle_class_unknown",
            VehicleClassError::Duplicate(_) => "vehicle_class_duplicate",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            VehicleClassError::Empty => "请填写驾驶证上的准驾车型，例如C1或C1E".into(),
            VehicleClassError::Unknown { position, text } => format!(
                "第{position}个字符起的“{text}”不是准驾车型代号，有效代号为A1 A2 A3 B1 B2 C1至C6 D E F M N P"
            ),
            VehicleClassError::Duplicate(c) => format!("准驾车型{c}重复"),
        }
    }
}

impl VehicleClasses {
    /// A set of classes, or `None` if `classes` is empty.
    pub fn new(classes: &[VehicleClass]) -> Option<Self> {
        let bits = classes.iter().fold(0, |b, c| b | c.bit());
        (bits != 0).then_some(VehicleClasses(bits))
    }

    /// The classes printed on the licence, in canonical order.
    pub fn held(&self) -> impl Iterator<Item = VehicleClass> + '_ {
        VehicleClass::ALL
            .into_iter()
            .filter(|c| self.0 & c.bit() != 0)
    }

    /// Whether `class` is printed on the licence.
    pub fn holds(&self, class: VehicleClass) -> bool {
        self.0 & class.bit() != 0
    }

    /// Every class the licence permits: those held and all they include, transitively.
    pub fn permitted(&self) -> VehicleClasses {
        let mut bits = self.0;
        loop {
            let grown = VehicleClass::ALL
                .into_iter()
                .filter(|c| bits & c.bit() != 0)
                .flat_map(|c| c.directly_includes().iter())
                .fold(bits, |b, c| b | c.bit());
            if grown == bits {
                return VehicleClasses(bits);
            }
            bits = grown;
        }
    }

    /// Whether the licence permits driving a vehicle of `class`.
    pub fn permits(&self, class: VehicleClass) -> bool {
        self.permitted().holds(class)
    }
}

impl FromStr for VehicleClasses {
    type Err = VehicleClassError;

    /// Parses combined strings as printed ("C1E", "A1A2D"), allowing spaces, commas and
    /// lower case between codes.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let chars: Vec<char> = input.chars().collect();
        let mut bits = 0;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i].to_ascii_uppercase();
            if c.is_whitespace() || matches!(c, ',' | '，' | '、' | '/') {
                i += 1;
                continue;
            }
            let takes_digit = matches!(c, 'A' | 'B' | 'C');
            let len = if takes_digit && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                2
            } else {
                1
            };
            let text: String = chars[i..(i + len).min(chars.len())]
                .iter()
                .collect::<String>()
                .to_ascii_uppercase();
            let class = VehicleClass::ALL
                .into_iter()
                .find(|v| v.code() == text)
                .ok_or(VehicleClassError::Unknown {
                    position: i + 1,
                    text: text.clone(),
                })?;
            if bits & class.bit() != 0 {
                return Err(VehicleClassError::Duplicate(class));
            }
            bits |= class.bit();
            i += len;
        }
        if bits == 0 {
            return Err(VehicleClassError::Empty);
        }
        Ok(VehicleClasses(bits))
    }
}

impl fmt::Display for VehicleClasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.held().try_for_each(|c| f.write_str(c.code()))
    }
}

impl fmt::Debug for VehicleClasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VehicleClasses({self})")
    }
}

crate::text_conversions!(VehicleClasses, VehicleClassError);

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(s: &str) -> VehicleClasses {
        s.parse().unwrap()
    }

    #[test]
    fn parses_combined_strings_into_sets() {
        assert_eq!(classes("C1E").held().collect::<Vec<_>>(), [C1, E]);
        assert_eq!(classes("A1A2D").held().collect::<Vec<_>>(), [A1, A2, D]);
        assert_eq!(classes("e, c1").to_string(), "C1E");
        assert_eq!(classes("DA2").to_string(), "A2D");
        assert_eq!(classes("C1 C6").to_string(), "C1C6");
    }

    #[test]
    fn rejects_unknown_empty_and_repeated_codes() {
        let cases = [
            ("", "vehicle_class_empty"),
            (" , ", "vehicle_class_empty"),
            ("A", "vehicle_class_unknown"),
            ("A4", "vehicle_class_unknown"),
            ("C7", "vehicle_class_unknown"),
            ("C1G", "vehicle_class_unknown"),
            ("C1-E", "vehicle_class_unknown"),
            ("Q", "vehicle_class_unknown"),
            ("C1C1", "vehicle_class_duplicate"),
            ("EDE", "vehicle_class_duplicate"),
        ];
        for (input, code) in cases {
            let err = input.parse::<VehicleClasses>().unwrap_err();
            assert_eq!(err.code(), code, "{input:?}: {err}");
        }
        assert_eq!(
            "C1G".parse::<VehicleClasses>().unwrap_err(),
            VehicleClassError::Unknown {
                position: 3,
                text: "G".into()
            }
        );
    }

    #[test]
    fn a1_includes_exactly_what_the_regulation_says() {
        assert_eq!(classes("A1").permitted().to_string(), "A1A3B1B2C1C2C3C4M");
    }

    #[test]
    fn inclusion_follows_the_regulation_for_every_class() {
        let expected = [
            ("A1", "A1A3B1B2C1C2C3C4M"),
            ("A2", "A2B1B2C1C2C3C4C6M"),
            ("A3", "A3C1C2C3C4"),
            ("B1", "B1C1C2C3C4M"),
            ("B2", "B2C1C2C3C4M"),
            ("C1", "C1C2C3C4"),
            ("C2", "C2"),
            ("C3", "C3C4"),
            ("C4", "C4"),
            ("C5", "C5"),
            ("C6", "C6"),
            ("D", "DEF"),
            ("E", "EF"),
            ("F", "F"),
            ("M", "M"),
            ("N", "N"),
            ("P", "P"),
        ];
        for (held, permitted) in expected {
            assert_eq!(classes(held).permitted().to_string(), permitted, "{held}");
        }
    }

    #[test]
    fn permits_checks_inclusion_not_just_what_is_printed() {
        let c1e = classes("C1E");
        assert!(c1e.permits(C2) && c1e.permits(F) && c1e.permits(E));
        assert!(!c1e.permits(D) && !c1e.permits(B2) && !c1e.permits(C5) && !c1e.permits(C6));
        assert!(c1e.holds(E) && !c1e.holds(F));
    }

    #[test]
    fn new_refuses_an_empty_set() {
        assert!(VehicleClasses::new(&[]).is_none());
        assert_eq!(VehicleClasses::new(&[E, C1]).unwrap().to_string(), "C1E");
    }
}
