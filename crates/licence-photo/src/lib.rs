//! The portrait photo of the e-licence (R3.2, R3.3): is it to spec, what exactly is wrong, and
//! a crop to spec when it can be made.
//!
//! Bytes (JPEG, PNG, WebP) or a raw camera frame go in; a [`Verdict`] comes out: problems with
//! stable codes and zh/en messages that say how to fix them, measurements in the 260×378 output
//! frame, and, when the photo can be used, the cropped 300 dpi JPEG, which has itself been
//! checked again. Everything runs offline: the face models are compiled in.
//!
//! ```
//! use licence_photo::{PhotoChecker, ProblemCode};
//! use time::macros::date;
//!
//! let mut checker = PhotoChecker::new(); // build once, reuse
//! // A blank white picture: readable, large enough, but nobody in it.
//! let mut png = Vec::new();
//! image::RgbImage::from_pixel(600, 800, image::Rgb([250, 250, 250]))
//!     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
//!     .unwrap();
//! let verdict = checker.check(&png, date!(2026 - 11 - 24));
//! assert!(!verdict.compliant);
//! assert_eq!(verdict.problems[0].code, ProblemCode::NoFace);
//! assert_eq!(verdict.problems[0].message, "未检测到人脸，请正对镜头、露出完整面部");
//!
//! // Bytes that are not an image at all are unusable input (exit code 2 of the CLI).
//! assert!(checker.check(b"%PDF-1.7", date!(2026 - 11 - 24)).unusable_input());
//! ```
//!
//! Two modes, decided by the input's size. A picture of exactly 260×378 is judged as it is (it
//! is what the driver wants to submit). Any other picture is auto-cropped: the head is scaled
//! to the middle of the spec and framed, never enlarged (a too-small head is "move closer").

mod blazeface;
mod face_box;
mod framing;
mod intake;
mod iris;
mod landmarks;
mod measure;
mod parallel;
mod problem;
mod resample;
#[cfg(feature = "testdata")]
pub mod testdata;
mod tflite;

use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};
use serde::Serialize;
use time::Date;

pub use blazeface::{BlazeFace, FaceKeypoints};
pub use face_box::FaceBox;
pub use framing::{FramingAdvice, FramingGuide};
pub use intake::{
    decode, decode_reduced, sniff, Decoded, Refusal, Sniffed, MAX_FILE_BYTES, MAX_PIXELS,
};
pub use iris::{EyeLook, Eyes, IrisModel};
pub use landmarks::{FaceLandmarks, FaceMesh};
pub use measure::HeadEdges;
pub use problem::{PhotoProblem, ProblemCode, Severity};
pub use tflite::{model_files_usable, read_models_with, ModelFileError};

use blazeface::Point;
use measure::Rect;

/// The spec of R3.3 in pixels at 300 dpi.
pub mod spec {
    use std::ops::RangeInclusive;

    /// 22 mm.
    pub const WIDTH: u32 = 260;
    /// 32 mm.
    pub const HEIGHT: u32 = 378;
    /// 19-22 mm, top of hair to chin.
    pub const HEAD_LENGTH: RangeInclusive<u32> = 224..=260;
    /// 14-16 mm.
    pub const HEAD_WIDTH: RangeInclusive<u32> = 165..=189;
    /// Top of hair below the top edge.
    pub const TOP_MARGIN: RangeInclusive<u32> = 10..=20;
    /// How far the head's centre may be from the frame's centre line.
    pub const MAX_CENTRE_OFFSET: u32 = 8;
    /// What auto-crop aims for: the middle of each range.
    pub const TARGET_HEAD_LENGTH: f64 = 242.0;
    pub const TARGET_TOP_MARGIN: f64 = 15.0;
    /// Largest roll of the head accepted, in degrees.
    pub const MAX_ROLL_DEGREES: f64 = 8.0;
    /// Largest turn of the face to either side (yaw) accepted, in degrees (docs/photo.md).
    pub const MAX_YAW_DEGREES: f64 = 15.0;
    /// Output JPEG: quality floor, and the size auto-crop tries to stay under.
    pub const MIN_JPEG_QUALITY: u8 = 70;
    pub const MAX_JPEG_BYTES: usize = 30 * 1024;
    /// A photo taken longer ago than this many months is refused.
    pub const MAX_AGE_MONTHS: u8 = 6;

    /// Whether a head `width` wide and `length` long can be framed with both in their bands:
    /// its width-to-length proportion is between the bands' extremes (165/260 and 189/224).
    /// A head outside them (a narrow or bald head, hair as white as the backdrop, a large
    /// hairstyle) cannot be, at any distance from the camera.
    pub fn head_can_fit(length: f64, width: f64) -> bool {
        let ratio = width / length;
        let (len, wid) = (&HEAD_LENGTH, &HEAD_WIDTH);
        ratio >= f64::from(*wid.start()) / f64::from(*len.end())
            && ratio <= f64::from(*wid.end()) / f64::from(*len.start())
    }

    /// The head length auto-crop aims for: `TARGET_HEAD_LENGTH`, moved within the length band
    /// (4 px inside it, for the re-check's own error) as far as a measured `width` needs to
    /// land 4 px inside its band too, or as near to that as the length band allows.
    pub fn crop_head_length(length: f64, width: Option<f64>) -> f64 {
        const INSIDE: f64 = 4.0;
        let Some(width) = width.filter(|&w| length > 0.0 && w > 0.0) else {
            return TARGET_HEAD_LENGTH;
        };
        let ratio = width / length;
        let (len, wid) = (&HEAD_LENGTH, &HEAD_WIDTH);
        let (low, high) = (
            f64::from(*len.start()) + INSIDE,
            f64::from(*len.end()) - INSIDE,
        );
        // The lengths at which the width is inside its band.
        let (narrowest, widest) = (
            (f64::from(*wid.start()) + INSIDE) / ratio,
            (f64::from(*wid.end()) - INSIDE) / ratio,
        );
        if narrowest > high {
            high
        } else if widest < low {
            low
        } else {
            TARGET_HEAD_LENGTH.clamp(low.max(narrowest), high.min(widest))
        }
    }
}

/// Thresholds of the photometric checks (calibrated; see docs/photo.md). Public so that what
/// the reviewer reads beside a measurement is the bound the check used.
pub mod thresholds {
    /// Background: at least this bright (0-255 luma) and at most this colourful.
    pub const BACKGROUND_MIN_LUMA: f32 = 200.0;
    pub const BACKGROUND_MAX_CHROMA: f32 = 20.0;
    /// Background: difference between its parts, and spread within it.
    pub const BACKGROUND_MAX_SIDE_DIFFERENCE: f32 = 14.0;
    pub const BACKGROUND_MAX_STD: f32 = 12.0;
    /// Face: mean luma range, and the share of blown highlights. The floor depends on the
    /// backdrop: where it is white (`BACKGROUND_MIN_LUMA` or brighter) the photo as a whole is
    /// exposed right, and the face's own brightness is mostly its skin's: the deepest skin
    /// reflects about a fifth of the light the lightest does, about 0.45 of its value once
    /// encoded (a face at 168, as on the labelled portrait, would be about 75 under the same
    /// light), so only a face below `FACE_MIN_LUMA_ON_WHITE` is too dark there: one in shadow
    /// or lit from behind. Against a backdrop that is not white (the photo dark as a whole),
    /// `FACE_MIN_LUMA` (docs/photo.md, "Exposure and skin tone").
    pub const FACE_MIN_LUMA: f32 = 75.0;
    pub const FACE_MIN_LUMA_ON_WHITE: f32 = 45.0;
    pub const FACE_MAX_LUMA: f32 = 225.0;
    pub const FACE_MAX_CLIPPED: f32 = 0.15;

    /// Whether a face of mean luma `face` is too dark in front of a backdrop of luma `backdrop`
    /// (`FACE_MIN_LUMA`: the floor is lower where the backdrop is white).
    pub fn face_too_dark(face: f32, backdrop: f32) -> bool {
        let floor = if backdrop >= BACKGROUND_MIN_LUMA {
            FACE_MIN_LUMA_ON_WHITE
        } else {
            FACE_MIN_LUMA
        };
        face < floor
    }

    /// Face: mean chroma below this is a greyscale photo.
    pub const FACE_MIN_CHROMA: f32 = 8.0;
    /// Face: contrast-normalised variance of the Laplacian below this is blurred. Sharp
    /// portraits measure 18-21 here, a blur of 3.5 px measures 1.
    pub const MIN_SHARPNESS: f64 = 6.0;
    /// How far outside the spec's head length and width a measurement may be before the photo
    /// is refused, in pixels of the frame: the measurement's own error (against hand labels,
    /// -3 to +1 px on the labelled set's 80 frames of two people, 224-260 px), which is not
    /// the driver's, nor a reason to refuse a head at the band's edge (docs/photo.md).
    pub const HEAD_SIZE_TOLERANCE: u32 = 3;
    /// The same for a measured head width, whose own error is larger: its edges are ears and
    /// the sides of the hair, and hair that fades into the backdrop is only partly seen (her
    /// white hair on a pure-white backdrop measured 155 px on a 221 px head whose width with
    /// its hair is about 163). 10 px is 0.85 mm on the printed photo.
    pub const HEAD_WIDTH_TOLERANCE: u32 = 10;
    /// Eyes: the gap between the lids of the more open eye, in iris diameters, below which
    /// the eyes are closed. Open eyes measure 0.50-0.99 on every real face the project has,
    /// eyes painted shut 0.21-0.27 (docs/photo.md).
    pub const MIN_EYE_OPENING: f64 = 0.35;
    /// Eyes: the share of either eye, between its lids, that may be blown out (every channel
    /// at least 245) before a reflection on glasses is said to hide it. Real eyes here: 0 %;
    /// the astronaut made 40 levels brighter: 4-5 %; a painted reflection: 81-91 %.
    pub const MAX_EYE_GLARE: f64 = 0.3;
    /// Eyes: dark glasses hide them when the skin under both eyes is darker than this share
    /// of the cheek below (`Eyes::lens_shade`: about a lens's transmission once encoded). Faces
    /// without glasses, with clear glasses and with thick dark rims measure 0.54-1.21 (the
    /// lowest on the 1927 group photo's faces, eye bags in sunlight from above); sunglasses
    /// pass 8-18 % of the light (category 3), 0.32-0.46 encoded, so this catches the darker
    /// part of them and every darker lens (docs/photo.md).
    pub const MIN_LENS_SHADE: f64 = 0.42;
    /// Head covering: the share of the crown (above the forehead) in colours hair and skin do
    /// not take (blue, green, purple, pink, a saturated red) from which the head is covered.
    /// Hair of every colour the project has measures 0 %; hats painted in such colours
    /// 99-100 %, drawn hats of several colours (a purple one with an orange band) 50-94 %
    /// (docs/photo.md, "Bare-headed").
    pub const MAX_CROWN_CLOTH: f64 = 0.35;
    /// Head covering: how far the silhouette above the forehead may reach past the head
    /// beside the eyes, on both sides, as a share of the face's width, before it is a brim.
    /// Bare heads measure 0-5 % (20-23 % with the hair cut close below the temples), caps and
    /// beanies 4-24 %, brims at a real hat's size 31-72 % (docs/photo.md).
    pub const MAX_BRIM_OVERHANG: f64 = 0.3;
}

/// Measurements in the 260×378 output frame (design.md's contract names the first three).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurements {
    pub head_length_px: u32,
    pub head_width_px: u32,
    pub top_margin_px: u32,
    /// Head centre minus frame centre; negative is left.
    pub centre_offset_px: i32,
    /// Source pixels per output pixel; 1.0 when judged as is.
    pub scale: f64,
    /// What was measured on the finished frame; absent when no frame could be made (the head
    /// too small, or too near an edge), so that no value is reported that was not measured.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub frame: Option<FrameMeasurements>,
}

/// Measurements of a finished 260×378 frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameMeasurements {
    pub roll_degrees: Option<f64>,
    /// Turn of the face to one side (Face Mesh); absent when the mesh found no face.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaw_degrees: Option<f64>,
    /// How far the more open eye is open: the gap between its lids as a percentage of its
    /// iris's diameter (the iris model); absent when the eyes were not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eye_opening_percent: Option<f64>,
    /// How much of the more affected eye is blown out, in percent: a reflection on glasses
    /// (the iris model's lids outline the eye); absent when the eyes were not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eye_glare_percent: Option<f64>,
    /// How dark the skin under the less shaded eye is against the cheek below it, in percent:
    /// about the transmission of any lens over it (`Eyes::lens_shade`); absent when the eyes
    /// were not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens_shade_percent: Option<f64>,
    /// How much of the crown (above the forehead) is in colours hair and skin do not take, in
    /// percent: a hat or a head covering; absent when too little stands above the forehead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crown_cloth_percent: Option<f64>,
    /// How far the silhouette above the forehead stands out past the head beside the eyes,
    /// on both sides, in percent of the face's width: a hat's brim.
    pub brim_overhang_percent: f64,
    pub background_luma: f32,
    pub background_chroma: f32,
    pub background_side_difference: f32,
    pub background_std: f32,
    pub face_luma: f32,
    pub face_chroma: f32,
    pub sharpness: f64,
}

/// The outcome of checking one photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub compliant: bool,
    pub problems: Vec<PhotoProblem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurements: Option<Measurements>,
    /// The 260×378, 300 dpi JPEG as it would be submitted, whenever a crop could be made, so
    /// the app can show the driver what is wrong with it. Submit it only if `compliant`.
    #[serde(skip)]
    pub cropped_jpeg: Option<Vec<u8>>,
}

impl Verdict {
    /// The verdict for input refused before looking at it (e.g. a file too large to read).
    pub fn refused(code: ProblemCode) -> Verdict {
        Verdict::from_problems(&[(code, String::new())], None, None)
    }

    fn from_problems(
        codes: &[(ProblemCode, String)],
        measurements: Option<Measurements>,
        jpeg: Option<Vec<u8>>,
    ) -> Verdict {
        let problems: Vec<PhotoProblem> = codes.iter().map(|(c, d)| c.problem(d)).collect();
        let compliant = problems.iter().all(|p| p.severity == Severity::Warning);
        Verdict {
            compliant,
            problems,
            measurements,
            cropped_jpeg: jpeg,
        }
    }

    /// Whether the input itself could not be used (exit code 2 of `licence photo check`).
    pub fn unusable_input(&self) -> bool {
        self.problems.iter().any(|p| p.code.is_unusable_input())
    }

    pub fn has(&self, code: ProblemCode) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }
}

/// A raw camera frame: tightly packed RGB8 rows, and how the sensor was turned.
#[derive(Debug, Clone, Copy)]
pub struct RgbFrame<'a> {
    pub width: u32,
    pub height: u32,
    pub rgb: &'a [u8],
    pub orientation: Orientation,
}

/// Checks photos. Holds the face models (one copy of each per process while any checker holds
/// it): make one and reuse it. Not shared between threads: make one per thread.
#[derive(Debug, Default)]
pub struct PhotoChecker {
    /// BlazeFace: how many people (it sees turned and tilted faces too), and the eyes (roll).
    keypoints: BlazeFace,
    /// Face Mesh: the chin, and how far the face is turned.
    mesh: FaceMesh,
    /// The iris model: whether the eyes are open.
    iris: IrisModel,
}

type Found = Vec<(ProblemCode, String)>;

fn found(code: ProblemCode) -> (ProblemCode, String) {
    (code, String::new())
}

/// A large JPEG is decoded at ½, ¼ or ⅛ of its size while its shorter side stays at least
/// this long (`intake::decode_reduced`): a 12-megapixel phone photo at 1500×2000, in about
/// 0.6 of the decoding time. Its head is then measured and the frame cut from that picture,
/// unless the picture holds too few of its pixels for that (`MIN_REDUCED_FILL`), when the
/// photo is decoded again at full size.
pub const REDUCED_MIN_SHORT_SIDE: u32 = 1200;

/// The frame is cut from a reduced picture only where it spans at least this many of the
/// picture's pixels per frame pixel: the head 1.25 × its length in the frame (about 303 px;
/// in a 12 MP photo decoded at ½, a head over 15 % of the photo's height). The head's top,
/// chin and sides are found to a pixel of the picture they are measured in, here 0.8 of a
/// frame pixel. Cut from the half-size picture at ten sizes (1.04-1.75), the frame's
/// measurements came out within a pixel of a full-size decode's from 1.24 up, and up to 2 px
/// off below 1.2 (docs/photo.md).
const MIN_REDUCED_FILL: f64 = 1.25;

/// Sent back by `assess` for a reduced picture that holds too few pixels for the frame.
#[derive(Debug)]
struct NeedsFullSize;

/// The longer side of the copy of a large photo the models look at: a portrait's face is then
/// a few hundred pixels, more than their inputs (128 and 192 px) take.
const MODEL_COPY_SIDE: u32 = 1024;

/// Who is looked for in a picture: a photo may show a group far away, which costs more looks
/// to see; a finished 260×378 frame is framed on one head.
#[derive(Debug, Clone, Copy)]
enum People {
    Near,
    NearOrFar,
}

/// Beyond this roll a photo is refused as tilted and nothing else is judged (the frontal
/// cascade this check used before found faces up to about this lean).
const MAX_MEASURABLE_ROLL_DEGREES: f64 = 20.0;

/// What BlazeFace, Face Mesh and the iris model found of one face, in one picture's pixels.
#[derive(Debug, Clone)]
struct FaceModels {
    eyes: FaceKeypoints,
    landmarks: FaceLandmarks,
    /// The gap between the lids of the more open eye, in iris diameters (`Eyes::opening`):
    /// the same in any copy of the picture.
    eye_opening: Option<f64>,
    /// The blown-out share of the more affected eye (`Eyes::glare`): a reflection on glasses.
    eye_glare: Option<f64>,
    /// The skin under the eyes against the cheeks (`Eyes::lens_shade`): dark glasses.
    lens_shade: Option<f64>,
}

impl FaceModels {
    /// The same findings in another picture's pixels (see `FaceKeypoints::mapped`).
    fn mapped(self, map: impl Fn(Point) -> Point + Copy, scale: f64) -> FaceModels {
        FaceModels {
            eyes: self.eyes.mapped(map, scale),
            landmarks: self.landmarks.mapped(map, scale),
            eye_opening: self.eye_opening,
            eye_glare: self.eye_glare,
            lens_shade: self.lens_shade,
        }
    }
}

/// Where the head is in a picture, in its own pixels: what the checks and the crop build on.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadGeometry {
    pub face: FaceBox,
    pub background: [f32; 3],
    pub hair_top: u32,
    pub chin: f64,
    /// The head's edges at ear level.
    pub edges: measure::HeadEdges,
}

impl PhotoChecker {
    pub fn new() -> PhotoChecker {
        PhotoChecker {
            keypoints: BlazeFace::new(),
            mesh: FaceMesh::new(),
            iris: IrisModel::new(),
        }
    }

    /// The head geometry of the one person in `picture`, if there is one (for calibration
    /// and tools).
    pub fn geometry(&mut self, picture: &RgbImage) -> Option<HeadGeometry> {
        let (face, models) = self.one_face(picture, 1.0, People::NearOrFar).ok()?;
        Some(head_geometry(picture, face, &models.landmarks))
    }

    /// Checks an encoded photo (JPEG, PNG or WebP) from the driver's album or camera. `today`
    /// dates the 6-month rule: a photo whose EXIF date is older is refused (a photo with no
    /// date cannot be dated and is judged on its content).
    pub fn check(&mut self, bytes: &[u8], today: Date) -> Verdict {
        self.check_dated(bytes, Some(today))
    }

    /// Checks a photo the 6-month rule does not apply to: the traffic police's photo on file.
    pub fn check_on_file(&mut self, bytes: &[u8]) -> Verdict {
        self.check_dated(bytes, None)
    }

    fn check_dated(&mut self, bytes: &[u8], today: Option<Date>) -> Verdict {
        let refused =
            |r: intake::Refusal| Verdict::from_problems(&[(r.code, r.detail)], None, None);
        // The models' copy is made while the photo decodes, where it can be.
        let copy = |w, h, mut rows: intake::Rows<'_>| {
            blazeface::Reducer::new(w, h, MODEL_COPY_SIDE)?.make(|r| rows.row(r))
        };
        match intake::decode_reduced_with_copy(bytes, REDUCED_MIN_SHORT_SIDE, Some(copy)) {
            Err(refusal) => refused(refusal),
            Ok((decoded, copy)) => {
                let old = match (decoded.taken, today) {
                    (Some(taken), Some(today)) => {
                        taken < months_before(today, spec::MAX_AGE_MONTHS)
                    }
                    _ => false,
                };
                let mut verdict = match self.assess(decoded.rgb, decoded.reduction, copy) {
                    Ok(verdict) => verdict,
                    // The reduced picture holds too few pixels to cut the frame from: the
                    // photo's own pixels decide, as for a photo decoded at full size.
                    Err(NeedsFullSize) => match intake::decode(bytes) {
                        Ok(full) => self.assess_full_size(full.rgb),
                        Err(refusal) => refused(refusal),
                    },
                };
                if old {
                    // First: whatever else is wrong, this photo cannot be used; the rest is
                    // still reported, for the next photo.
                    verdict
                        .problems
                        .insert(0, ProblemCode::OlderThan6Months.problem(""));
                    verdict.compliant = false;
                }
                verdict
            }
        }
    }

    /// Checks a raw camera frame, skipping encoding. A camera capture is recent by construction.
    pub fn check_frame(&mut self, frame: RgbFrame<'_>) -> Verdict {
        let expected = u64::from(frame.width) * u64::from(frame.height) * 3;
        if frame.width == 0 || frame.height == 0 || frame.rgb.len() as u64 != expected {
            let detail = format!(
                "frame of {}×{} with {} bytes",
                frame.width,
                frame.height,
                frame.rgb.len()
            );
            return Verdict::from_problems(&[(ProblemCode::Unreadable, detail)], None, None);
        }
        if u64::from(frame.width) * u64::from(frame.height) > MAX_PIXELS {
            return Verdict::from_problems(&[found(ProblemCode::TooLarge)], None, None);
        }
        let rgb = RgbImage::from_raw(frame.width, frame.height, frame.rgb.to_vec())
            .expect("length checked");
        let mut picture = DynamicImage::ImageRgb8(rgb);
        picture.apply_orientation(frame.orientation);
        self.assess_full_size(picture.into_rgb8())
    }

    fn assess_full_size(&mut self, picture: RgbImage) -> Verdict {
        match self.assess(picture, 1, None) {
            Ok(verdict) => verdict,
            Err(NeedsFullSize) => unreachable!("a picture at full size is never sent back"),
        }
    }

    /// The verdict on a photo decoded at 1/`reduction` of its size; `Err` when the picture
    /// is reduced and holds too few pixels to cut the frame from (`MIN_REDUCED_FILL`).
    /// `copy`: the models' copy of this picture (`blazeface::reduced`), if made already.
    fn assess(
        &mut self,
        picture: RgbImage,
        reduction: u32,
        copy: Option<RgbImage>,
    ) -> Result<Verdict, NeedsFullSize> {
        let mut problems = Found::new();
        let (w, h) = picture.dimensions();
        if w < spec::WIDTH || h < spec::HEIGHT {
            problems.push((ProblemCode::ImageTooSmall, format!("{w}×{h}")));
            return Ok(Verdict::from_problems(&problems, None, None));
        }
        if (w, h) == (spec::WIDTH, spec::HEIGHT) {
            let (measurements, mut own) = self.assess_frame(&picture, None);
            problems.append(&mut own);
            let jpeg = measurements.as_ref().map(|_| encode_jpeg(&picture));
            return Ok(Verdict::from_problems(&problems, measurements, jpeg));
        }
        // The models look at a smaller copy of a large photo, and their findings are carried
        // back into the photo's pixels.
        let copy = copy.or_else(|| blazeface::reduced(&picture, MODEL_COPY_SIDE));
        let (seen, back) = match &copy {
            Some(c) => (c, f64::from(picture.width()) / f64::from(c.width())),
            None => (&picture, 1.0),
        };
        let (face, models) = match self.one_face(seen, back, People::NearOrFar) {
            Ok(found) => found,
            Err(problem) => {
                problems.push(problem);
                return Ok(Verdict::from_problems(&problems, None, None));
            }
        };
        // The background beside the head, at eye level, decides first: the head is measured
        // against it, and a flag or a blue wall is what the driver must fix.
        if source_background_clearly_not_white(&picture, &face) {
            problems.push(found(ProblemCode::BackgroundNotWhite));
            return Ok(Verdict::from_problems(&problems, None, None));
        }
        let geometry = head_geometry(&picture, face, &models.landmarks);
        let top = f64::from(geometry.hair_top);
        let head_length = geometry.chin - top;
        // Centre on the head as measured, which is what the re-check will measure too.
        let centre = f64::from(geometry.edges.left + geometry.edges.right) / 2.0;
        // Never enlarge: a head smaller than the spec in the source cannot be cropped to it.
        let width = geometry
            .edges
            .measured
            .then(|| f64::from(geometry.edges.width()));
        let fill = head_length / spec::crop_head_length(head_length, width);
        if reduction > 1 && fill < MIN_REDUCED_FILL {
            return Err(NeedsFullSize);
        }
        let scale = fill.max(1.0);
        let (ww, wh) = (
            f64::from(spec::WIDTH) * scale,
            f64::from(spec::HEIGHT) * scale,
        );
        let x0 = centre - ww / 2.0;
        let y0 = top - spec::TARGET_TOP_MARGIN * scale;
        let fits = x0 >= -1.0
            && y0 >= -1.0
            && x0 + ww <= f64::from(w) + 1.0
            && y0 + wh <= f64::from(h) + 1.0;
        if head_length / scale < f64::from(*spec::HEAD_LENGTH.start()) {
            let in_photo = head_length * f64::from(reduction);
            problems.push((ProblemCode::HeadTooSmall, format!("{in_photo:.0}")));
        }
        if !fits {
            problems.push(found(ProblemCode::NotEnoughMargin));
        }
        if !problems
            .iter()
            .all(|(c, _)| c.severity() == Severity::Warning)
        {
            // No frame to judge: a face turned away or leaning is still said, and first, since
            // holding the head right changes its size and place too.
            let mut pose = Found::new();
            if models.landmarks.yaw_degrees.abs() > spec::MAX_YAW_DEGREES {
                pose.push(found(ProblemCode::FaceTurned));
            }
            if models.eyes.roll_degrees().abs() > spec::MAX_ROLL_DEGREES {
                pose.push(found(ProblemCode::Tilted));
            }
            problems.splice(0..0, pose);
            let measurements = Measurements {
                head_length_px: (head_length / scale).round() as u32,
                head_width_px: (f64::from(geometry.edges.width()) / scale).round() as u32,
                top_margin_px: ((top - y0) / scale).round() as u32,
                centre_offset_px: 0,
                scale: scale * f64::from(reduction),
                frame: None,
            };
            return Ok(Verdict::from_problems(&problems, Some(measurements), None));
        }
        // `fits` allows a pixel of rounding either way: clamp the window into the picture.
        let (win_w, win_h) = ((ww.round() as u32).min(w), (wh.round() as u32).min(h));
        let place = |v: f64, size: u32, max: u32| (v.round().max(0.0) as u32).min(max - size);
        let (cx, cy) = (place(x0, win_w, w), place(y0, win_h, h));
        let framed = downscale(
            &picture,
            (cx, cy, win_w, win_h),
            (spec::WIDTH, spec::HEIGHT),
        );
        // Re-check what will actually be submitted: the encoded JPEG, decoded again.
        let jpeg = encode_jpeg(&framed);
        let reread = intake::decode(&jpeg).expect("our own JPEG decodes").rgb;
        // The eyes and landmarks found on the photo, carried into the frame: the same face at
        // more pixels, and the frame need not be looked at by the models again.
        let (sx, sy) = (
            f64::from(spec::WIDTH) / f64::from(win_w),
            f64::from(spec::HEIGHT) / f64::from(win_h),
        );
        let into_frame = |(x, y): (f64, f64)| ((x - f64::from(cx)) * sx, (y - f64::from(cy)) * sy);
        let known = models.mapped(into_frame, sx);
        let (measurements, mut own) = self.assess_frame(&reread, Some(known));
        problems.append(&mut own);
        let measurements = measurements.map(|m| Measurements {
            scale: scale * f64::from(reduction),
            ..m
        });
        Ok(Verdict::from_problems(&problems, measurements, Some(jpeg)))
    }

    /// The one person in `seen` (the picture itself, or a copy `1 / back` its size) and what
    /// the models find of them, in the picture's pixels, with the face box the head's
    /// geometry is measured from; or the problem that stops the check there.
    fn one_face(
        &self,
        seen: &RgbImage,
        back: f64,
        look_for: People,
    ) -> Result<(FaceBox, FaceModels), (ProblemCode, String)> {
        let people = match look_for {
            People::NearOrFar => self.keypoints.people_near_or_far(seen),
            People::Near => self.keypoints.people(seen),
        };
        let person = match people.as_slice() {
            [] => return Err(found(ProblemCode::NoFace)),
            [person] => person,
            _ => return Err((ProblemCode::MultipleFaces, people.len().to_string())),
        };
        let eyes = self.keypoints.refine(seen, person);
        // A head leaning this far is measured along the wrong axes: its size, its place and
        // the background beside it mean nothing until it is held straight.
        if eyes.roll_degrees().abs() > MAX_MEASURABLE_ROLL_DEGREES {
            return Err(found(ProblemCode::Tilted));
        }
        let Some(models) = self.look(seen, eyes) else {
            // A face BlazeFace sees and the mesh cannot follow: one lying on its side says
            // "hold it straight", anything else "face the camera".
            return Err(found(
                if eyes.roll_degrees().abs() > spec::MAX_ROLL_DEGREES {
                    ProblemCode::Tilted
                } else {
                    ProblemCode::NoFace
                },
            ));
        };
        let models = models.mapped(|(x, y)| (x * back, y * back), back);
        Ok((models.landmarks.face_box(), models))
    }

    /// The mesh and the iris model on the face whose refined eyes are `eyes`; `None` when the
    /// mesh sees no face there.
    fn look(&self, picture: &RgbImage, eyes: FaceKeypoints) -> Option<FaceModels> {
        let landmarks = self.mesh.landmarks(picture, &eyes)?;
        let looks = self.iris.eyes(picture, &landmarks);
        Some(FaceModels {
            eyes,
            eye_opening: looks.as_ref().map(Eyes::opening),
            eye_glare: looks.as_ref().map(|l| l.glare(picture)),
            lens_shade: looks.as_ref().and_then(|l| l.lens_shade(picture)),
            landmarks,
        })
    }

    /// Every check on a 260×378 frame, as it stands. `known`: what the models found on the
    /// photo the frame was cut from, in the frame's pixels; looked for on the frame if `None`.
    fn assess_frame(
        &mut self,
        frame: &RgbImage,
        known: Option<FaceModels>,
    ) -> (Option<Measurements>, Found) {
        use thresholds::*;
        let mut problems = Found::new();
        let (face, models) = match known {
            Some(models) => (models.landmarks.face_box(), models),
            None => match self.one_face(frame, 1.0, People::Near) {
                Ok(found) => found,
                Err(problem) => return (None, vec![problem]),
            },
        };
        let (w, h) = frame.dimensions();
        let HeadGeometry {
            background: bg,
            hair_top: top,
            chin,
            edges,
            ..
        } = head_geometry(frame, face, &models.landmarks);
        let head_length = (chin - f64::from(top)).round().max(0.0) as u32;
        let (left, right, head_width) = (edges.left, edges.right, edges.width());
        let centre_offset = ((f64::from(left + right) / 2.0) - f64::from(w) / 2.0).round() as i32;

        // Background: the strip above the head and the two sides beside it, clear of the head.
        let side_bottom = face.y + face.height * 0.5;
        let (outer_l, outer_r) =
            measure::silhouette_extent(frame, &face, bg, top, side_bottom.max(0.0) as u32);
        let left_side = Rect::clipped(
            2.0,
            f64::from(top),
            f64::from(outer_l) - 6.0,
            side_bottom,
            w,
            h,
        );
        let right_side = Rect::clipped(
            f64::from(outer_r) + 6.0,
            f64::from(top),
            f64::from(w) - 2.0,
            side_bottom,
            w,
            h,
        );
        // The strip above the head in two halves, so that a shadow or gradient on one side
        // shows as a difference between them.
        let mid = (f64::from(left) + f64::from(right)) / 2.0;
        let above_left = Rect::clipped(2.0, 1.0, mid, f64::from(top) - 3.0, w, h);
        let above_right = Rect::clipped(mid, 1.0, f64::from(w) - 2.0, f64::from(top) - 3.0, w, h);
        let regions: Vec<measure::Stats> = [above_left, above_right, left_side, right_side]
            .into_iter()
            .flatten()
            .filter(|r| r.area() >= 40)
            .map(|r| measure::stats(frame, r))
            .collect();
        let total: u32 = regions.iter().map(|s| s.pixels).sum::<u32>().max(1);
        let weighted = |f: fn(&measure::Stats) -> f32| {
            regions.iter().map(|s| f(s) * s.pixels as f32).sum::<f32>() / total as f32
        };
        let background_luma = weighted(|s| s.mean_luma);
        let background_chroma = weighted(|s| s.mean_chroma);
        let background_std = weighted(|s| s.std_luma);
        let lumas: Vec<f32> = regions.iter().map(|s| s.mean_luma).collect();
        let side_difference = lumas.iter().copied().fold(f32::MIN, f32::max)
            - lumas.iter().copied().fold(f32::MAX, f32::min);
        let side_difference = if lumas.len() > 1 {
            side_difference
        } else {
            0.0
        };

        let inner = Rect::clipped(
            face.x + face.width * 0.2,
            face.y + face.height * 0.15,
            face.x + face.width * 0.8,
            face.y + face.height * 0.95,
            w,
            h,
        )
        .unwrap_or(Rect {
            x0: 0,
            y0: 0,
            x1: w,
            y1: h,
        });
        let face_stats = measure::stats(frame, inner);
        let gray = image::imageops::grayscale(frame);
        let sharpness = measure::sharpness(&gray, inner);
        // Roll from the eye line BlazeFace sees.
        let roll = models.eyes.roll_degrees();

        let background_ok = if regions.is_empty()
            || background_luma < BACKGROUND_MIN_LUMA
            || background_chroma > BACKGROUND_MAX_CHROMA
        {
            problems.push(found(ProblemCode::BackgroundNotWhite));
            false
        } else if side_difference > BACKGROUND_MAX_SIDE_DIFFERENCE
            || background_std > BACKGROUND_MAX_STD
        {
            problems.push(found(ProblemCode::BackgroundUneven));
            false
        } else {
            true
        };
        if face_stats.mean_chroma < FACE_MIN_CHROMA {
            problems.push(found(ProblemCode::NotColour));
        }
        // Dark glasses before the exposure (their lenses darken the face's mean, and taking
        // them off is what to do) and before the eyes (behind them, how open the eyes are
        // means little).
        let lens_shade = models.lens_shade;
        let dark_glasses = lens_shade.is_some_and(|s| s < MIN_LENS_SHADE);
        if dark_glasses {
            problems.push(found(ProblemCode::DarkGlasses));
        }
        if face_too_dark(face_stats.mean_luma, background_luma) {
            problems.push(found(ProblemCode::TooDark));
        } else if face_stats.mean_luma > FACE_MAX_LUMA || face_stats.clipped > FACE_MAX_CLIPPED {
            problems.push(found(ProblemCode::TooBright));
        }
        if sharpness < MIN_SHARPNESS {
            problems.push(found(ProblemCode::Blurry));
        }
        // Turned first: a face seen three-quarters also seems to lean, and facing the camera
        // is what fixes both.
        let yaw = models.landmarks.yaw_degrees;
        if yaw.abs() > spec::MAX_YAW_DEGREES {
            problems.push(found(ProblemCode::FaceTurned));
        }
        let eye_opening = models.eye_opening;
        if !dark_glasses && eye_opening.is_some_and(|o| o < MIN_EYE_OPENING) {
            problems.push(found(ProblemCode::EyesClosed));
        }
        let eye_glare = models.eye_glare;
        if eye_glare.is_some_and(|g| g > MAX_EYE_GLARE) {
            problems.push(found(ProblemCode::GlassesGlare));
        }
        let covering = HeadCovering::of(
            frame,
            &face,
            &models.landmarks,
            (bg, top, chin),
            face_stats.mean,
        );
        let tilted = roll.abs() > spec::MAX_ROLL_DEGREES;
        if tilted {
            problems.push(found(ProblemCode::Tilted));
        }
        // Measured against the backdrop and along the vertical, like the head's size; before
        // the size, which taking the hat off changes.
        if background_ok && !tilted && covering.covered() {
            problems.push(found(ProblemCode::HeadCovered));
        }
        // The head is measured against the background and along the vertical: with a bad
        // background or a tilted head its size and place are not worth reporting until those
        // are fixed.
        if background_ok && !tilted {
            // The width is judged only where it was measured (a width estimated from the
            // face's proportions says nothing the head's length has not), and only where the
            // head's proportions let some framing put both in their bands: otherwise moving
            // cannot fix it, and the length decides (docs/photo.md).
            let (len, width) = (&spec::HEAD_LENGTH, &spec::HEAD_WIDTH);
            let below = |v: u32, bound: u32, tolerance: u32| v + tolerance < bound;
            let above = |v: u32, bound: u32, tolerance: u32| v > bound + tolerance;
            let judged =
                edges.measured && spec::head_can_fit(f64::from(head_length), f64::from(head_width));
            let (narrow, wide) = (
                judged && below(head_width, *width.start(), HEAD_WIDTH_TOLERANCE),
                judged && above(head_width, *width.end(), HEAD_WIDTH_TOLERANCE),
            );
            if below(head_length, *len.start(), HEAD_SIZE_TOLERANCE) || narrow {
                problems.push(found(ProblemCode::HeadTooSmall));
            } else if above(head_length, *len.end(), HEAD_SIZE_TOLERANCE) || wide {
                problems.push(found(ProblemCode::HeadTooLarge));
            }
            if top < *spec::TOP_MARGIN.start() {
                problems.push(found(ProblemCode::HeadTooHigh));
            } else if top > *spec::TOP_MARGIN.end() {
                problems.push(found(ProblemCode::HeadTooLow));
            }
            if centre_offset.unsigned_abs() > spec::MAX_CENTRE_OFFSET {
                problems.push(found(ProblemCode::HeadOffCentre));
            }
        }
        let measurements = Measurements {
            head_length_px: head_length,
            head_width_px: head_width,
            top_margin_px: top,
            centre_offset_px: centre_offset,
            scale: 1.0,
            frame: Some(FrameMeasurements {
                roll_degrees: Some((roll * 10.0).round() / 10.0),
                yaw_degrees: Some((yaw * 10.0).round() / 10.0),
                eye_opening_percent: eye_opening.map(|o| (o * 100.0).round()),
                eye_glare_percent: eye_glare.map(|g| (g * 100.0).round()),
                lens_shade_percent: lens_shade.map(|s| (s * 100.0).round()),
                crown_cloth_percent: covering.crown_cloth.map(|s| (s * 100.0).round()),
                brim_overhang_percent: (covering.brim_overhang * 100.0).round(),
                background_luma,
                background_chroma,
                background_side_difference: side_difference,
                background_std,
                face_luma: face_stats.mean_luma,
                face_chroma: face_stats.mean_chroma,
                sharpness: sharpness.round(),
            }),
        };
        (Some(measurements), problems)
    }
}

/// Whether the background beside the head (0.95-1.6 face widths either side of its centre, at
/// eye level) is clearly not white, judged on a photo before it is cropped: the medians of each
/// visible side (so stray hair does not count), averaged as the frame check averages. Only when
/// the face itself is normally exposed: in a dark photo a white wall looks grey, and exposure is
/// what to fix.
fn source_background_clearly_not_white(picture: &RgbImage, face: &FaceBox) -> bool {
    use thresholds::*;
    let (w, h) = picture.dimensions();
    let (cx, fw) = (face.centre_x(), face.width);
    let (y0, y1) = (face.y - face.height * 0.3, face.y + face.height * 0.5);
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let sides: Vec<(f32, f32)> = [
        Rect::clipped(cx - 1.6 * fw, y0, cx - 0.95 * fw, y1, w, h),
        Rect::clipped(cx + 0.95 * fw, y0, cx + 1.6 * fw, y1, w, h),
    ]
    .into_iter()
    .flatten()
    .filter(|r| r.area() >= 100)
    .map(|r| {
        let step = ((f64::from(r.area()) / 4000.0).sqrt() as usize).max(1);
        let pixels: Vec<image::Rgb<u8>> = (r.y0..r.y1)
            .step_by(step)
            .flat_map(|y| (r.x0..r.x1).step_by(step).map(move |x| (x, y)))
            .map(|(x, y)| *picture.get_pixel(x, y))
            .collect();
        (
            median(pixels.iter().map(|p| measure::luma(*p)).collect()),
            median(pixels.iter().map(|p| measure::chroma(*p)).collect()),
        )
    })
    .collect();
    let inner = Rect::clipped(
        face.x + fw * 0.2,
        face.y + face.height * 0.15,
        face.x + fw * 0.8,
        face.y + face.height * 0.95,
        w,
        h,
    );
    let face_lit = inner
        .map(|r| measure::stats(picture, r))
        .is_some_and(|s| (FACE_MIN_LUMA..=FACE_MAX_LUMA).contains(&s.mean_luma));
    if sides.is_empty() || !face_lit {
        return false;
    }
    let n = sides.len() as f32;
    let luma = sides.iter().map(|s| s.0).sum::<f32>() / n;
    let chroma = sides.iter().map(|s| s.1).sum::<f32>() / n;
    luma < BACKGROUND_MIN_LUMA || chroma > BACKGROUND_MAX_CHROMA
}

/// What may cover the head (R3.3: bare-headed), measured above the forehead: the share of the
/// crown in colours hair and skin do not take, and how far a brim stands out on both sides.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HeadCovering {
    crown_cloth: Option<f64>,
    brim_overhang: f64,
}

impl HeadCovering {
    /// On an upright picture with a backdrop of colour `bg`, the head's top at row `top` and
    /// its chin at `chin`; `skin`: the face's mean colour.
    fn of(
        picture: &RgbImage,
        face: &FaceBox,
        landmarks: &FaceLandmarks,
        (bg, top, chin): ([f32; 3], u32, f64),
        skin: [f32; 3],
    ) -> HeadCovering {
        let skin_hue = measure::hue(image::Rgb(skin.map(|c| c as u8)));
        let forehead_y = landmarks.forehead().1;
        let ((a, b), (c, d)) = landmarks.eye_corners();
        let eyes_y = (a.1 + b.1 + c.1 + d.1) / 4.0;
        HeadCovering {
            crown_cloth: measure::crown_cloth_share(picture, face, forehead_y, top, bg, skin_hue),
            brim_overhang: measure::brim_overhang(
                picture,
                face,
                bg,
                top,
                (forehead_y, eyes_y, chin),
            ),
        }
    }

    fn covered(&self) -> bool {
        use thresholds::{MAX_BRIM_OVERHANG, MAX_CROWN_CLOTH};
        self.crown_cloth.is_some_and(|s| s >= MAX_CROWN_CLOTH)
            || self.brim_overhang > MAX_BRIM_OVERHANG
    }
}

fn head_geometry(picture: &RgbImage, face: FaceBox, landmarks: &FaceLandmarks) -> HeadGeometry {
    let background = measure::background_colour(picture);
    HeadGeometry {
        face,
        background,
        hair_top: measure::hair_top(picture, &face, background),
        chin: measure::chin_near(picture, &face, landmarks.chin()),
        edges: measure::head_edges(picture, landmarks.outline_at_ears(), background),
    }
}

/// Scales the window `(x, y, w, h)` of a picture down to `to`. Shrinking by 2× or more, an
/// area average is free of aliasing and sharp enough (the check's sharpness measure stays
/// within 10 %), at a fifth of the cost of a Catmull-Rom pass; smaller factors use
/// Catmull-Rom.
fn downscale(picture: &RgbImage, (x, y, w, h): (u32, u32, u32, u32), to: (u32, u32)) -> RgbImage {
    if w >= 2 * to.0 && h >= 2 * to.1 {
        image::imageops::thumbnail(&*image::imageops::crop_imm(picture, x, y, w, h), to.0, to.1)
    } else {
        resample::window(picture, (x, y, w, h), to)
    }
}

/// The same calendar day `months` earlier (the month's last day where it is shorter).
fn months_before(date: Date, months: u8) -> Date {
    let total = date.year() * 12 + i32::from(u8::from(date.month())) - 1 - i32::from(months);
    let (year, month) = (
        total.div_euclid(12),
        time::Month::try_from((total.rem_euclid(12) + 1) as u8).expect("1-12"),
    );
    let day = date.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).expect("valid by construction")
}

/// Encodes at 300 dpi, lowering the quality (not below the floor) until the file is small
/// enough for upload.
fn encode_jpeg(frame: &RgbImage) -> Vec<u8> {
    let mut quality = 90;
    loop {
        let mut out = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
        encoder.set_pixel_density(PixelDensity::dpi(300));
        encoder
            .encode_image(frame)
            .expect("encoding to memory does not fail");
        if out.len() <= spec::MAX_JPEG_BYTES || quality <= spec::MIN_JPEG_QUALITY {
            return out;
        }
        quality = quality.saturating_sub(5).max(spec::MIN_JPEG_QUALITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn six_months_before_clamps_to_the_end_of_the_month() {
        assert_eq!(
            months_before(date!(2026 - 11 - 24), 6),
            date!(2026 - 05 - 24)
        );
        assert_eq!(
            months_before(date!(2026 - 08 - 31), 6),
            date!(2026 - 02 - 28)
        );
        assert_eq!(
            months_before(date!(2026 - 03 - 15), 6),
            date!(2025 - 09 - 15)
        );
    }

    #[test]
    fn the_jpeg_is_300_dpi_and_within_the_upload_size() {
        let frame = RgbImage::from_fn(spec::WIDTH, spec::HEIGHT, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
        });
        let jpeg = encode_jpeg(&frame);
        assert!(jpeg.len() <= spec::MAX_JPEG_BYTES || jpeg.len() < 80_000);
        // JFIF APP0: units = 1 (dots per inch), then X and Y density.
        assert_eq!(&jpeg[6..11], b"JFIF\0");
        assert_eq!(jpeg[13], 1);
        assert_eq!(u16::from_be_bytes([jpeg[14], jpeg[15]]), 300);
        assert_eq!(u16::from_be_bytes([jpeg[16], jpeg[17]]), 300);
    }

    #[test]
    fn frames_with_the_wrong_length_are_unreadable() {
        let mut checker = PhotoChecker::new();
        let v = checker.check_frame(RgbFrame {
            width: 10,
            height: 10,
            rgb: &[0; 299],
            orientation: Orientation::NoTransforms,
        });
        assert_eq!(v.problems[0].code, ProblemCode::Unreadable);
        assert!(v.unusable_input());
    }
}
