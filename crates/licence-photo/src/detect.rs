//! Face detection with the SeetaFace frontal cascade (rustface), fully offline: the model is
//! compiled into the binary.

use image::{GrayImage, RgbImage};
use rustface::{Detector, ImageData};

static MODEL: &[u8] = include_bytes!("../../../assets/models/seeta_fd_frontal_v1.0.bin");

/// Longest side of the copy detection runs on. Faces in a portrait are large, so a small copy
/// finds them as well as the full picture does, at a fraction of the time.
pub const DETECT_SIDE: u32 = 320;
/// When nothing is found at `DETECT_SIDE`, a second look this large finds the small faces of a
/// group photo, so the driver hears "more than one person", not "no face".
pub const SECOND_LOOK_SIDE: u32 = 960;
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
        let faces = self.faces_at(picture, DETECT_SIDE);
        if faces.is_empty() && picture.width().max(picture.height()) > DETECT_SIDE {
            return self.faces_at(picture, SECOND_LOOK_SIDE);
        }
        faces
    }

    fn faces_at(&mut self, picture: &RgbImage, side: u32) -> Vec<FaceBox> {
        let (w, h) = picture.dimensions();
        let scale = (f64::from(side) / f64::from(w.max(h))).min(1.0);
        let (sw, sh) = (
            ((f64::from(w) * scale).round() as u32).max(1),
            ((f64::from(h) * scale).round() as u32).max(1),
        );
        let small = image::imageops::thumbnail(picture, sw, sh);
        let gray: GrayImage = image::DynamicImage::ImageRgb8(small).into_luma8();
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

impl Default for FaceDetector {
    fn default() -> Self {
        Self::new()
    }
}
