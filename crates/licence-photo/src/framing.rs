//! Live framing advice for the camera preview: from one preview frame, what the driver should
//! change before taking the photo (closer, further, centred, more light), so that the photo
//! they take can be cropped to the licence's 260×378 frame and passes the check. Complaints
//! about the national app include face checks that fail in dim light without saying why.

use image::RgbImage;
use serde::Serialize;

use crate::blazeface::BlazeFace;
use crate::face_box::FaceBox;
use crate::iris::IrisModel;
use crate::landmarks::FaceMesh;
use crate::measure;
use crate::thresholds::{
    BACKGROUND_MIN_LUMA, FACE_MAX_LUMA, MAX_EYE_GLARE, MIN_EYE_OPENING, MIN_LENS_SHADE,
};

/// What the driver should do now, the first thing wrong first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FramingAdvice {
    /// No face in the frame.
    FaceTheCamera,
    /// Someone else is in the picture.
    OnlyYou,
    MoreLight,
    LessLight,
    /// The head leans to one side.
    HoldStraight,
    /// The face is turned to one side.
    LookStraight,
    /// Dark glasses hide the eyes.
    TakeOffDarkGlasses,
    /// The eyes are closed.
    OpenYourEyes,
    /// A reflection on glasses hides an eye.
    AvoidGlare,
    /// A hat or head covering.
    TakeOffHat,
    MoveCloser,
    MoveBack,
    CentreYourFace,
    /// Framed well: take the photo.
    Ready,
}

/// The face box's height as a share of the frame's: between these the head can be cropped to
/// the spec's size without enlarging and with margin around it (the box spans eyebrows to
/// chin, about 0.7 of the head's length; the head is 64 % of the 378 px frame).
const MIN_FACE_SHARE: f64 = 0.22;
const MAX_FACE_SHARE: f64 = 0.5;
/// The face's centre may be this share of the frame's width from the middle, and its centre
/// must be within this band of the frame's height (hair above, shoulders below).
const MAX_CENTRE_OFFSET: f64 = 0.12;
const CENTRE_BAND: (f64, f64) = (0.25, 0.65);
/// Mean luma of the face: the check's own bounds (`thresholds::FACE_MIN_LUMA` and the rest:
/// the floor is lower in front of a white backdrop, so that deep skin in good light is lit),
/// each with this margin, so that what the preview calls lit the photo's check calls lit too.
const LUMA_MARGIN: f32 = 10.0;
/// Roll of the head, in degrees, from which the preview says "hold your head straight": the
/// check refuses from 8°, and a preview frame is smaller, so its roll is less precise.
const MAX_ROLL_DEGREES: f64 = 6.0;
/// The same for the face turned to one side ("look straight at the camera"): the check
/// refuses from 15°.
const MAX_YAW_DEGREES: f64 = 12.0;

impl FramingAdvice {
    /// The stable code (`move_closer` …).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// (zh, en): what to do.
    pub fn messages(self) -> (&'static str, &'static str) {
        use FramingAdvice::*;
        match self {
            FaceTheCamera => (
                "请正对镜头，露出完整面部",
                "Face the camera with your whole face visible",
            ),
            OnlyYou => ("画面中只能有您一个人", "Only you should be in the picture"),
            MoreLight => (
                "光线太暗，请到明亮处或打开灯",
                "Too dark: move to better light or turn a light on",
            ),
            LessLight => (
                "光线太强，请避开强光直射",
                "Too bright: move out of strong direct light",
            ),
            HoldStraight => (
                "请保持头部端正，不要歪头",
                "Hold your head straight, not tilted to one side",
            ),
            LookStraight => (
                "请正面直视镜头，不要侧脸",
                "Look straight at the camera, not to one side",
            ),
            TakeOffDarkGlasses => (
                "请摘下墨镜或深色眼镜，露出双眼",
                "Take off your dark glasses so that your eyes show",
            ),
            OpenYourEyes => (
                "请睁开双眼，自然正视镜头",
                "Open your eyes and look at the camera",
            ),
            AvoidGlare => (
                "眼镜反光，请调整眼镜或灯光角度",
                "Your glasses reflect the light: tilt them or move the light",
            ),
            TakeOffHat => (
                "请摘下帽子或头巾，免冠拍摄",
                "Take off your hat or head covering",
            ),
            MoveCloser => ("请靠近一些", "Move closer"),
            MoveBack => ("请离远一些", "Move back a little"),
            CentreYourFace => (
                "请把脸移到框的中间",
                "Put your face in the middle of the frame",
            ),
            Ready => (
                "很好，保持不动，可以拍照",
                "Good: hold still and take the photo",
            ),
        }
    }
}

/// The camera's framing guide: the photo check's own models (shared with any checker alive
/// in the process), held for the preview.
#[derive(Debug, Default)]
pub struct FramingGuide {
    keypoints: BlazeFace,
    mesh: FaceMesh,
    iris: IrisModel,
}

impl FramingGuide {
    pub fn new() -> FramingGuide {
        FramingGuide::default()
    }

    /// The advice for one preview frame (any size; a small copy is searched).
    pub fn advice(&mut self, frame: &RgbImage) -> FramingAdvice {
        let people = self.keypoints.people(frame);
        let person = match people.as_slice() {
            [] => return FramingAdvice::FaceTheCamera,
            [person] => person,
            _ => return FramingAdvice::OnlyYou,
        };
        let eyes = self.keypoints.refine(frame, person);
        let Some(landmarks) = self.mesh.landmarks(frame, &eyes) else {
            // A face the mesh cannot follow: lying on its side, or turned away.
            return if eyes.roll_degrees().abs() > MAX_ROLL_DEGREES {
                FramingAdvice::HoldStraight
            } else {
                FramingAdvice::FaceTheCamera
            };
        };
        // How the head is held and whether the eyes are open, from BlazeFace's eyes, the mesh
        // and the iris model (one look for each eye, only when needed).
        let pose = || {
            // Turned first: a face seen three-quarters also seems to lean, and turning to the
            // camera is what fixes both.
            if landmarks.yaw_degrees.abs() > MAX_YAW_DEGREES {
                return Some(FramingAdvice::LookStraight);
            }
            if eyes.roll_degrees().abs() > MAX_ROLL_DEGREES {
                return Some(FramingAdvice::HoldStraight);
            }
            let looks = self.iris.eyes(frame, &landmarks)?;
            if looks.lens_shade(frame).is_some_and(|s| s < MIN_LENS_SHADE) {
                return Some(FramingAdvice::TakeOffDarkGlasses);
            }
            if looks.opening() < MIN_EYE_OPENING {
                return Some(FramingAdvice::OpenYourEyes);
            }
            if looks.glare(frame) > MAX_EYE_GLARE {
                return Some(FramingAdvice::AvoidGlare);
            }
            head_covered(frame, &landmarks).then_some(FramingAdvice::TakeOffHat)
        };
        framing_of(frame, &landmarks.face_box(), pose)
    }
}

/// Whether a hat or head covering is on the head, as the photo check judges it; only in front
/// of a white backdrop (elsewhere a wall or a shelf above the head is not told from a hat).
fn head_covered(frame: &RgbImage, landmarks: &crate::FaceLandmarks) -> bool {
    let bg = measure::background_colour(frame);
    if 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] < BACKGROUND_MIN_LUMA {
        return false;
    }
    let face = landmarks.face_box();
    let (w, h) = frame.dimensions();
    let Some(inner) = measure::Rect::clipped(
        face.x + face.width * 0.25,
        face.y + face.height * 0.25,
        face.x + face.width * 0.75,
        face.y + face.height * 0.75,
        w,
        h,
    ) else {
        return false;
    };
    let top = measure::hair_top(frame, &face, bg);
    let skin = measure::stats(frame, inner).mean;
    crate::HeadCovering::of(frame, &face, landmarks, (bg, top, landmarks.chin().1), skin).covered()
}

fn framing_of(
    frame: &RgbImage,
    face: &FaceBox,
    pose: impl Fn() -> Option<FramingAdvice>,
) -> FramingAdvice {
    let face = *face;
    let luma = face_luma(frame, &face) as f32;
    // The backdrop must clear the white bound by the margin too to lower the floor.
    if crate::thresholds::face_too_dark(
        luma - LUMA_MARGIN,
        backdrop_luma(frame) as f32 - LUMA_MARGIN,
    ) {
        return FramingAdvice::MoreLight;
    }
    if luma > FACE_MAX_LUMA - LUMA_MARGIN {
        return FramingAdvice::LessLight;
    }
    if let Some(advice) = pose() {
        return advice;
    }
    let (w, h) = (f64::from(frame.width()), f64::from(frame.height()));
    let share = face.height / h;
    if share < MIN_FACE_SHARE {
        return FramingAdvice::MoveCloser;
    }
    if share > MAX_FACE_SHARE {
        return FramingAdvice::MoveBack;
    }
    let centre_y = (face.y + face.height / 2.0) / h;
    if (face.centre_x() / w - 0.5).abs() > MAX_CENTRE_OFFSET
        || !(CENTRE_BAND.0..=CENTRE_BAND.1).contains(&centre_y)
    {
        return FramingAdvice::CentreYourFace;
    }
    FramingAdvice::Ready
}

/// Mean luma of the frame's two top corners (squares a sixth of its width), where the
/// backdrop shows beside a head that is framed well.
fn backdrop_luma(frame: &RgbImage) -> f64 {
    let (w, h) = frame.dimensions();
    let side = (w / 6).min(h).max(1);
    let columns = (0..side).step_by(2).chain((w - side..w).step_by(2));
    sampled_luma(frame, columns, 0..side)
}

/// Mean luma of the middle of the face box (cheeks, nose, eyes; not hair or background).
fn face_luma(frame: &RgbImage, face: &FaceBox) -> f64 {
    let (w, h) = frame.dimensions();
    let clamp = |v: f64, max: u32| (v.max(0.0) as u32).min(max);
    let (x0, x1) = (
        clamp(face.x + face.width * 0.25, w),
        clamp(face.x + face.width * 0.75, w),
    );
    let (y0, y1) = (
        clamp(face.y + face.height * 0.25, h),
        clamp(face.y + face.height * 0.75, h),
    );
    sampled_luma(frame, (x0..x1).step_by(2), y0..y1)
}

/// Mean luma of every second row of `rows` at `columns` (a preview needs no more); 0 when
/// there is no pixel.
fn sampled_luma(
    frame: &RgbImage,
    columns: impl Iterator<Item = u32> + Clone,
    rows: std::ops::Range<u32>,
) -> f64 {
    let (mut sum, mut n) = (0.0, 0u32);
    for y in rows.step_by(2) {
        for x in columns.clone() {
            let p = frame.get_pixel(x, y);
            sum += 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / f64::from(n)
    }
}

#[cfg(all(test, feature = "testdata"))]
mod tests {
    use super::*;
    use crate::testdata::{place, portrait, rotate, WHITE};
    use image::imageops;

    /// A 640×480 preview with the astronaut's head at `scale` (her head is 162 px at 1.0),
    /// its left edge at `x`, top at `y`.
    fn preview(scale: f64, x: i64, y: i64) -> RgbImage {
        let (img, _) = portrait(scale);
        place(&img, 640, 480, x, y, WHITE)
    }

    fn advice(frame: &RgbImage) -> FramingAdvice {
        FramingGuide::new().advice(frame)
    }

    #[test]
    fn a_well_framed_face_is_ready_and_each_fault_says_what_to_do() {
        // Head about 190 px of 480: the box about 125 px, 26 %.
        let (img, _) = portrait(1.2);
        let x = (640 - i64::from(img.width())) / 2;
        let good = place(&img, 640, 480, x, 30, WHITE);
        assert_eq!(advice(&good), FramingAdvice::Ready);
        assert_eq!(advice(&preview(0.6, 250, 100)), FramingAdvice::MoveCloser);
        let (big, _) = portrait(3.0);
        let bx = (640 - i64::from(big.width())) / 2;
        assert_eq!(
            advice(&place(&big, 640, 480, bx, -60, WHITE)),
            FramingAdvice::MoveBack
        );
        assert_eq!(
            advice(&place(&img, 640, 480, 0, 30, WHITE)),
            FramingAdvice::CentreYourFace
        );
        let dark = RgbImage::from_fn(640, 480, |x, y| {
            let p = good.get_pixel(x, y);
            image::Rgb([p[0] / 4, p[1] / 4, p[2] / 4])
        });
        assert_eq!(advice(&dark), FramingAdvice::MoreLight);
        // Deep skin in front of a white backdrop is lit (her face at 0.4: 66 where the check
        // measures); a face in shadow is not.
        let framed = |factor: f64| {
            let img = crate::testdata::resize(&crate::testdata::astronaut_darker(factor), 1.2);
            place(&img, 640, 480, x, 30, WHITE)
        };
        assert_eq!(advice(&framed(0.4)), FramingAdvice::Ready);
        assert_eq!(advice(&framed(0.2)), FramingAdvice::MoreLight);
        assert_eq!(
            advice(&RgbImage::from_pixel(640, 480, WHITE)),
            FramingAdvice::FaceTheCamera
        );
        // Two people: only you.
        let (pair, _) = portrait(2.0);
        let mut two = RgbImage::from_pixel(1400, 1000, WHITE);
        imageops::overlay(&mut two, &pair, 100, 0);
        imageops::overlay(&mut two, &pair, 800, 0);
        assert_eq!(advice(&two), FramingAdvice::OnlyYou);
        // A leaning head: straighten it, a little or a lot.
        for degrees in [12.0, 40.0] {
            assert_eq!(
                advice(&rotate(&good, degrees, WHITE)),
                FramingAdvice::HoldStraight,
                "{degrees}°"
            );
        }
        assert_eq!(advice(&rotate(&good, 3.0, WHITE)), FramingAdvice::Ready);
    }

    #[test]
    fn a_face_turned_away_hears_look_straight() {
        // Faces of the 1927 Solvay photo labelled by eye (tests/keypoints.rs), each cut out and
        // enlarged into a preview: one turned three-quarters, one turned to the camera.
        let photo = crate::testdata::load("solvay-1927.png");
        let preview = |(cx, cy): (u32, u32)| {
            let crop = imageops::crop_imm(&photo, cx - 80, cy - 60, 160, 120).to_image();
            imageops::resize(&crop, 640, 480, imageops::FilterType::CatmullRom)
        };
        assert_eq!(advice(&preview((1164, 120))), FramingAdvice::LookStraight);
        assert_ne!(advice(&preview((1190, 274))), FramingAdvice::LookStraight);
    }

    #[test]
    fn closed_eyes_glare_and_dark_glasses_each_hear_what_to_do() {
        use crate::testdata::{
            astronaut_on, eyes_closed, glasses, glasses_glare, place, resize, WHITE,
        };
        let open = resize(&astronaut_on(|_, _| WHITE), 1.2);
        let closed = resize(&eyes_closed(&astronaut_on(|_, _| WHITE)), 1.2);
        let preview = |img: &RgbImage| {
            let x = (640 - i64::from(img.width())) / 2;
            place(img, 640, 480, x, 30, WHITE)
        };
        assert_eq!(advice(&preview(&closed)), FramingAdvice::OpenYourEyes);
        assert_eq!(advice(&preview(&open)), FramingAdvice::Ready);
        let glare = resize(&glasses_glare(&astronaut_on(|_, _| WHITE)), 1.2);
        assert_eq!(advice(&preview(&glare)), FramingAdvice::AvoidGlare);
        let dark = resize(&glasses(&astronaut_on(|_, _| WHITE), 2.0, 0.3), 1.2);
        assert_eq!(advice(&preview(&dark)), FramingAdvice::TakeOffDarkGlasses);
    }

    #[test]
    fn a_hat_hears_take_it_off() {
        use crate::testdata::{astronaut_on, in_hat, place, resize, Hat, WHITE};
        let preview = |img: &RgbImage| {
            let x = (640 - i64::from(img.width())) / 2;
            place(img, 640, 480, x, 10, WHITE)
        };
        let cut = astronaut_on(|_, _| WHITE);
        for (hat, colour) in [
            (Hat::Beanie, image::Rgb([182, 32, 38])),
            (Hat::Brimmed, image::Rgb([205, 185, 150])),
        ] {
            let hatted = resize(&in_hat(&cut, hat, colour), 1.2);
            assert_eq!(
                advice(&preview(&hatted)),
                FramingAdvice::TakeOffHat,
                "{hat:?}"
            );
        }
    }

    #[test]
    fn a_second_real_person_is_guided_as_the_first() {
        // Obama's portrait (deep skin, a broad smile that narrows his eyes), at the size the
        // astronaut's head is ready at, then too small, eyes painted shut, and in a cap.
        use crate::testdata::{Hat, OBAMA};
        let cut = OBAMA.on(|_, _| WHITE);
        let preview = |img: &RgbImage, scale: f64, y: i64| {
            let img = OBAMA.photo(img, scale);
            let x = (640 - i64::from(img.width())) / 2;
            place(&img, 640, 480, x, y, WHITE)
        };
        assert_eq!(advice(&preview(&cut, 1.2, 30)), FramingAdvice::Ready);
        assert_eq!(advice(&preview(&cut, 0.6, 100)), FramingAdvice::MoveCloser);
        assert_eq!(
            advice(&preview(&OBAMA.eyes_closed(&cut), 1.2, 30)),
            FramingAdvice::OpenYourEyes
        );
        let cap = OBAMA.in_hat(&cut, Hat::Cap, image::Rgb([182, 32, 38]));
        assert_eq!(advice(&preview(&cap, 1.2, 10)), FramingAdvice::TakeOffHat);
    }

    #[test]
    fn every_advice_has_both_languages() {
        use strum::VariantArray;
        for a in FramingAdvice::VARIANTS {
            let (zh, en) = a.messages();
            assert!(!zh.is_empty() && !en.is_empty() && !a.as_str().is_empty());
        }
    }

    #[test]
    fn tiny_and_odd_frames_are_no_face_not_a_panic() {
        for (w, h) in [(1, 1), (4000, 10), (10, 4000), (19, 19)] {
            assert_eq!(advice(&RgbImage::new(w, h)), FramingAdvice::FaceTheCamera);
        }
    }
}
