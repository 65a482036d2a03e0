//! Problems a photo can have, each with a stable code and a message that says how to fix it.

use serde::Serialize;

/// Stable codes of design.md's `licence photo check` contract (plus a few of our own).
/// serde and strum spell them alike (a test checks): never rename one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProblemCode {
    Unreadable,
    UnsupportedFormat,
    TooLarge,
    ImageTooSmall,
    NoFace,
    MultipleFaces,
    NotColour,
    BackgroundNotWhite,
    BackgroundUneven,
    HeadTooSmall,
    HeadTooLarge,
    /// The top of the hair is too close to, or too far from, the top edge.
    HeadTooHigh,
    HeadTooLow,
    HeadOffCentre,
    /// The head is so near an edge of the picture that no crop can frame it.
    NotEnoughMargin,
    Tilted,
    /// The face is turned to one side (yaw), not towards the camera.
    FaceTurned,
    /// Dark glasses (sunglasses, dark tinted lenses) hide the eyes.
    DarkGlasses,
    /// The eyes are closed (both of them).
    EyesClosed,
    /// A reflection on glasses hides an eye.
    GlassesGlare,
    /// A hat or head covering: the photo must be bare-headed (免冠).
    HeadCovered,
    TooDark,
    TooBright,
    Blurry,
    // snake_case alone would glue the digit to the word before it ("than6").
    #[serde(rename = "older_than_6_months")]
    #[strum(serialize = "older_than_6_months")]
    OlderThan6Months,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    /// The photo cannot be used.
    Error,
    /// The photo may be used, but the driver should know.
    Warning,
}

/// One problem as reported to a person and to tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoProblem {
    pub code: ProblemCode,
    pub severity: Severity,
    pub message: String,
    pub message_en: String,
}

impl ProblemCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn severity(self) -> Severity {
        // Every rule of the spec is a requirement; warnings are kept in the contract for
        // advice that does not refuse a photo.
        Severity::Error
    }

    /// Whether the problem is with the input itself (exit code 2 of `photo check`), not the photo.
    pub fn is_unusable_input(self) -> bool {
        matches!(
            self,
            ProblemCode::Unreadable | ProblemCode::UnsupportedFormat | ProblemCode::TooLarge
        )
    }

    /// (zh, en) messages; `detail` fills in what was found where a message names it.
    pub fn messages(self, detail: &str) -> (String, String) {
        use ProblemCode::*;
        let (zh, en): (&str, &str) = match self {
            Unreadable => ("无法读取该文件，请选择一张 JPEG、PNG 或 WebP 照片", "The file cannot be read: choose a JPEG, PNG or WebP photo"),
            UnsupportedFormat if detail == "HEIC" => ("暂不支持 HEIC 格式，请在相册中导出为 JPEG 后再选择", "HEIC photos are not supported: export the photo as JPEG and choose it again"),
            UnsupportedFormat => ("不支持该图片格式，请使用 JPEG、PNG 或 WebP 照片", "This image format is not supported: use a JPEG, PNG or WebP photo"),
            TooLarge => ("照片文件过大，请选择 20MB、4800万像素以内的照片", "The photo is too large: choose one under 20 MB and 48 megapixels"),
            ImageTooSmall => ("照片分辨率太低，至少需要 260×378 像素，请使用原图或重新拍摄", "The photo's resolution is too low (at least 260×378 pixels): use the original or take a new one"),
            NoFace => ("未检测到人脸，请正对镜头、露出完整面部", "No face was found: face the camera with your whole face visible"),
            MultipleFaces => ("照片中有多个人，请只拍摄本人", "There is more than one person in the photo: only you should be in it"),
            NotColour => ("须为彩色照片，请勿使用黑白照片", "The photo must be in colour, not black and white"),
            BackgroundNotWhite => ("背景不是白色，请站在白墙或白色背景布前拍摄", "The background is not white: stand in front of a white wall or backdrop"),
            BackgroundUneven => ("背景明暗不均或有阴影，请让光线均匀照在背景上", "The background is uneven or shadowed: light it evenly"),
            HeadTooSmall => ("头部太小，请靠近镜头（头部长度须占照片约三分之二）", "The head is too small: move closer to the camera"),
            HeadTooLarge => ("头部太大，请离镜头远一些", "The head is too large: move further from the camera"),
            HeadTooHigh => ("头顶离照片上边缘太近，请将头部放低一些", "The top of the head is too close to the top edge: lower the head in the frame"),
            HeadTooLow => ("头顶离照片上边缘太远，请将头部放高一些", "The top of the head is too far from the top edge: raise the head in the frame"),
            HeadOffCentre => ("头部没有居中，请将头部放在照片正中", "The head is not centred: put it in the middle of the frame"),
            NotEnoughMargin => ("头部离照片边缘太近，无法裁剪，请后退一些、在头部四周留出背景", "The head is too close to the picture's edge to crop: step back so there is background around the head"),
            Tilted => ("头部歪斜，请保持头部端正、正视镜头", "The head is tilted: hold it straight and look at the camera"),
            FaceTurned => ("脸部没有正对镜头，请正面直视镜头，不要侧脸", "The face is turned to one side: face the camera straight on"),
            EyesClosed => ("检测到闭眼，请睁开双眼、自然正视镜头后重新拍摄", "The eyes are closed: open your eyes, look at the camera and take the photo again"),
            DarkGlasses => ("墨镜或深色镜片遮挡了眼睛，请摘下眼镜后重新拍摄", "Dark glasses hide your eyes: take them off and take the photo again"),
            HeadCovered => ("检测到帽子或头巾，请摘下后免冠拍摄", "A hat or head covering was found: take it off, the photo must be bare-headed"),
            GlassesGlare => ("眼镜镜片反光遮挡了眼睛，请调整眼镜或灯光角度，或摘下眼镜后重新拍摄", "A reflection on your glasses hides an eye: tilt your glasses or move the light, or take them off"),
            TooDark => ("照片太暗，请在光线充足处拍摄", "The photo is too dark: take it in good light"),
            TooBright => ("照片过亮或曝光过度，请避免强光直射", "The photo is too bright or overexposed: avoid direct strong light"),
            Blurry => ("照片模糊，请保持相机稳定并对焦后拍摄", "The photo is blurred: hold the camera steady and focus"),
            OlderThan6Months => ("照片拍摄于6个月以前，请使用近6个月内拍摄的照片，或现场拍摄一张", "The photo was taken more than 6 months ago: use one taken in the last 6 months, or take one now"),
        };
        (zh.to_owned(), en.to_owned())
    }

    pub fn problem(self, detail: &str) -> PhotoProblem {
        let (message, message_en) = self.messages(detail);
        PhotoProblem {
            code: self,
            severity: self.severity(),
            message,
            message_en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_the_contract_spells_them() {
        assert_eq!(
            serde_json::to_string(&ProblemCode::OlderThan6Months).unwrap(),
            "\"older_than_6_months\""
        );
        assert_eq!(
            serde_json::to_string(&ProblemCode::HeadOffCentre).unwrap(),
            "\"head_off_centre\""
        );
        let p = ProblemCode::OlderThan6Months.problem("");
        assert_eq!(p.severity, Severity::Error);
        assert!(
            ProblemCode::TooLarge.is_unusable_input() && !ProblemCode::NoFace.is_unusable_input()
        );
    }

    /// strum's name is serde's name for every variant, so `as_str` and the JSON never drift.
    #[test]
    fn strum_and_serde_agree() {
        fn check<T>()
        where
            T: strum::VariantArray + Serialize + Copy + Into<&'static str> + std::str::FromStr,
            T: std::fmt::Debug + PartialEq,
        {
            for v in T::VARIANTS {
                let name: &'static str = (*v).into();
                assert_eq!(serde_json::to_value(v).unwrap(), name, "{v:?}");
                assert!(name.parse::<T>().is_ok_and(|back| back == *v), "{v:?}");
            }
        }
        check::<ProblemCode>();
        check::<Severity>();
        assert_eq!(
            <ProblemCode as strum::VariantNames>::VARIANTS.len(),
            <ProblemCode as strum::VariantArray>::VARIANTS.len()
        );
    }
}
