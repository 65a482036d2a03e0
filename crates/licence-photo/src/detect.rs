//! Face detection with the SeetaFace frontal cascade (rustface), fully offline: the model is
//! compiled into the binary.

use image::{GrayImage, RgbImage};
use rustface::{Detector, ImageData};

static MODEL: &[u8] = include_bytes!("../../../assets/models/seeta_fd_frontal_v1.0.bin");

/// Longest side of the copy detection runs on. Faces in a portrait are large, so a small copy
/// finds them as well as the full picture does, at a fraction of the time.
pub const DETECT_SIDE: u32 = 320;
/// Pictures up to this size are treated as a finished frame (260×378 and a little more).
const FRAME_MAX_SIDE: u32 = 400;
/// The same for a picture no larger than a 260×378 frame, whose face fills most of it: 7 ms
/// instead of 30 ms at full size, with the box still within 2-3 px.
pub const FRAME_DETECT_SIDE: u32 = 160;
/// When nothing is found at `DETECT_SIDE`, a second look this large finds the small faces of a
/// group photo, so the driver hears "more than one person", not "no face".
pub const SECOND_LOOK_SIDE: u32 = 960;
/// Smallest face looked for in a portrait, in pixels of the detection copy. The cascade's
/// window is 40 px: asking for smaller faces makes it enlarge the whole picture first, which
/// tripled the time on a 260×378 frame. Group photos get a second look at 20 px.
const PORTRAIT_MIN_FACE: u32 = 40;
/// Scores below this are not faces (rustface's examples use 2.0; calibrated in docs/photo.md).
const SCORE_THRESHOLD: f64 = 2.0;
/// A face smaller than this fraction of the largest one is a distant person, still a person.
const MIN_RELATIVE_FACE: f64 = 0.2;

/// A face box in the coordinates of the picture that was analysed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceBox {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub score: f64,
}

impl FaceBox {
    pub fn centre_x(&self) -> f64 {
        self.x + self.width / 2.0
    }

    /// Intersection over union: how much two boxes are one.
    pub fn iou(&self, other: &FaceBox) -> f64 {
        let iw = ((self.x + self.width).min(other.x + other.width) - self.x.max(other.x)).max(0.0);
        let ih =
            ((self.y + self.height).min(other.y + other.height) - self.y.max(other.y)).max(0.0);
        let inter = iw * ih;
        let union = self.width * self.height + other.width * other.height - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

pub struct FaceDetector {
    detector: Box<dyn Detector>,
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceDetector(SeetaFace frontal v1.0)")
    }
}

impl FaceDetector {
    pub fn new() -> FaceDetector {
        let model =
            rustface::read_model(std::io::Cursor::new(MODEL)).expect("the bundled model is valid");
        let mut detector = rustface::create_detector_with_model(model);
        detector.set_min_face_size(20);
        detector.set_score_thresh(SCORE_THRESHOLD);
        detector.set_pyramid_scale_factor(0.8);
        detector.set_slide_window_step(4, 4);
        FaceDetector { detector }
    }

    /// Faces in `picture`, largest first, in its own coordinates.
    pub fn faces(&mut self, picture: &RgbImage) -> Vec<FaceBox> {
        let side = picture.width().max(picture.height());
        // A 260×378 frame's face fills it: search a small copy, since the cascade's time grows
        // with the face's size in pixels. Anything larger: the usual copy.
        let first = if side <= FRAME_MAX_SIDE {
            FRAME_DETECT_SIDE
        } else {
            DETECT_SIDE
        };
        let faces = self.faces_at(picture, first, PORTRAIT_MIN_FACE);
        if faces.is_empty() && side > first {
            return self.faces_at(picture, SECOND_LOOK_SIDE, 20);
        }
        faces
    }

    fn faces_at(&mut self, picture: &RgbImage, side: u32, min_face: u32) -> Vec<FaceBox> {
        self.detector.set_min_face_size(min_face);
        let (w, h) = picture.dimensions();
        let scale = (f64::from(side) / f64::from(w.max(h))).min(1.0);
        let gray = luma_copy(picture, scale);
        let (sw, sh) = gray.dimensions();
        if sw < 20 || sh < 20 {
            return Vec::new();
        }
        let mut faces: Vec<FaceBox> = self
            .detector
            .detect(&ImageData::new(gray.as_raw(), sw, sh))
            .into_iter()
            .map(|f| {
                let b = f.bbox();
                FaceBox {
                    x: f64::from(b.x()) / scale,
                    y: f64::from(b.y()) / scale,
                    width: f64::from(b.width()) / scale,
                    height: f64::from(b.height()) / scale,
                    score: f.score(),
                }
            })
            .collect();
        faces.sort_by(|a, b| b.width.total_cmp(&a.width));
        if let Some(largest) = faces.first().map(|f| f.width) {
            faces.retain(|f| f.width >= largest * MIN_RELATIVE_FACE);
        }
        faces
    }
}

/// A grey copy at `scale` for the detector. Each output pixel averages a 2×2 block at the
/// centre of its footprint: enough against aliasing for detection, and it reads a few hundred
/// thousand pixels instead of all twelve million (a full area average took 33 ms).
fn luma_copy(picture: &RgbImage, scale: f64) -> GrayImage {
    let (w, h) = picture.dimensions();
    if scale >= 1.0 {
        return image::imageops::grayscale(picture);
    }
    let (sw, sh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let luma = |x: u32, y: u32| {
        let p = picture.get_pixel(x.min(w - 1), y.min(h - 1));
        299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])
    };
    GrayImage::from_fn(sw, sh, |x, y| {
        let sx = ((f64::from(x) + 0.5) / scale) as u32;
        let sy = ((f64::from(y) + 0.5) / scale) as u32;
        let sum = luma(sx, sy) + luma(sx + 1, sy) + luma(sx, sy + 1) + luma(sx + 1, sy + 1);
        image::Luma([(sum / 4000) as u8])
    })
}

impl Default for FaceDetector {
    fn default() -> Self {
        Self::new()
    }
}
