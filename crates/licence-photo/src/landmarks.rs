//! 468 face landmarks in 3-D from MediaPipe's Face Mesh model, on a square around a face
//! BlazeFace found, turned upright by its eye line (as MediaPipe's own pipeline does). What
//! the check reads from them: the chin, how open the eyes are, and how far the face is turned.

use std::sync::Arc;

use image::RgbImage;

use crate::blazeface::{sample, FaceKeypoints, Point, Square};
use crate::face_box::FaceBox;
use crate::tflite::{compiled_model, Model, SharedModel};

pub(crate) static MODEL: SharedModel = compiled_model!(
    "face_landmark.tflite",
    "c603fa6149219a3e9487dc9abd7a0c24474c77263273d24868378cdf40aa26d1"
);

/// The model's input side, in pixels.
const SIDE: usize = 192;
/// The crop is this many times the face box (MediaPipe's setting for this model).
const CROP_SCALE: f64 = 1.5;
/// Below this the model says there is no face in the crop.
const MIN_PRESENCE: f64 = 0.5;

/// Indices into the 468 points (MediaPipe's canonical face mesh). "Right" is the person's.
mod index {
    pub const FOREHEAD: usize = 10;
    pub const CHIN: usize = 152;
    pub const RIGHT_CHEEK: usize = 234;
    pub const LEFT_CHEEK: usize = 454;
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const RIGHT_EYE_INNER: usize = 133;
    pub const LEFT_EYE_OUTER: usize = 263;
    pub const LEFT_EYE_INNER: usize = 362;
}

/// The landmarks of one face, in the picture's own pixels (z in pixels too, larger further
/// from the camera), with what the check reads from them.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceLandmarks {
    pub points: Vec<(f64, f64, f64)>,
    /// How sure the model is that the crop holds a face, 0-1.
    pub presence: f64,
    /// Turn of the face about the vertical axis, in degrees, from the depth of the two cheeks'
    /// edges: positive when the face turns towards the photo's left, negative towards its
    /// right (checked against faces of the Solvay photo labelled by eye).
    pub yaw_degrees: f64,
    /// Nod about the horizontal axis, from the depth of forehead and chin: positive when the
    /// chin is raised.
    pub pitch_degrees: f64,
}

impl FaceLandmarks {
    pub fn point(&self, i: usize) -> Point {
        let (x, y, _) = self.points[i];
        (x, y)
    }

    /// The same landmarks in another picture's pixels (see `FaceKeypoints::mapped`).
    pub fn mapped(&self, map: impl Fn(Point) -> Point, scale: f64) -> FaceLandmarks {
        FaceLandmarks {
            points: self
                .points
                .iter()
                .map(|&(x, y, z)| {
                    let (x, y) = map((x, y));
                    (x, y, z * scale)
                })
                .collect(),
            ..self.clone()
        }
    }

    /// The box the head's geometry is measured from: a square 1.05 outline widths across,
    /// centred on the outline's middle, its top 0.51 eye-to-chin heights above the eyes,
    /// measured along the face's own axes (a leaning face gets the box of the same face
    /// upright, around the same centre). These are the proportions of the frontal cascade's
    /// box (SeetaFace) that the measurements were first calibrated on, fitted on the astronaut
    /// at seven sizes and three framed head lengths (0.48-0.55 above; 1.00-1.09 wide,
    /// quantised by its search) and grace_hopper.jpg (docs/photo.md). `score` is the mesh's
    /// presence.
    pub fn face_box(&self) -> FaceBox {
        let ((rx, ry), (lx, ly)) = self.outline_at_ears();
        let width = (lx - rx).hypot(ly - ry);
        let side = 1.05 * width;
        // The face's own axes: across from the right cheek's edge to the left's, and down.
        let across = ((lx - rx) / width.max(1e-9), (ly - ry) / width.max(1e-9));
        let down = (-across.1, across.0);
        let middle = ((rx + lx) / 2.0, (ry + ly) / 2.0);
        let depth = |p: Point| (p.0 - middle.0) * down.0 + (p.1 - middle.1) * down.1;
        let corners = [
            index::RIGHT_EYE_OUTER,
            index::RIGHT_EYE_INNER,
            index::LEFT_EYE_INNER,
            index::LEFT_EYE_OUTER,
        ];
        let eyes = corners.iter().map(|&i| depth(self.point(i))).sum::<f64>() / 4.0;
        let top = eyes - 0.51 * (depth(self.chin()) - eyes);
        // The box's centre, along the face's axis from the outline's middle.
        let centre_depth = top + side / 2.0;
        let centre = (
            middle.0 + down.0 * centre_depth,
            middle.1 + down.1 * centre_depth,
        );
        FaceBox {
            x: centre.0 - side / 2.0,
            y: centre.1 - side / 2.0,
            width: side,
            height: side,
            score: self.presence,
        }
    }

    /// The lowest point of the chin.
    pub fn chin(&self) -> Point {
        self.point(index::CHIN)
    }

    /// The top of the forehead, in the middle (at or just below the hairline).
    pub fn forehead(&self) -> Point {
        self.point(index::FOREHEAD)
    }

    /// The face outline's widest points, beside the ears: the person's right, then left.
    pub fn outline_at_ears(&self) -> (Point, Point) {
        (
            self.point(index::RIGHT_CHEEK),
            self.point(index::LEFT_CHEEK),
        )
    }

    /// The corners of each eye as the picture shows them, left to right: the person's right
    /// eye (outer, inner), then the left eye (inner, outer).
    pub fn eye_corners(&self) -> ((Point, Point), (Point, Point)) {
        use index::*;
        (
            (self.point(RIGHT_EYE_OUTER), self.point(RIGHT_EYE_INNER)),
            (self.point(LEFT_EYE_INNER), self.point(LEFT_EYE_OUTER)),
        )
    }
}

/// The landmark model. Build once.
pub struct FaceMesh {
    model: Arc<Model>,
}

impl std::fmt::Debug for FaceMesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceMesh(468)")
    }
}

impl Default for FaceMesh {
    fn default() -> Self {
        Self::new()
    }
}

impl FaceMesh {
    pub fn new() -> FaceMesh {
        FaceMesh {
            model: MODEL.get().expect("the bundled face landmark model loads"),
        }
    }

    /// The landmarks of the face BlazeFace found at `face`; `None` when the model sees no
    /// face in the crop.
    pub fn landmarks(&self, picture: &RgbImage, face: &FaceKeypoints) -> Option<FaceLandmarks> {
        let b = face.face;
        // The box's centre is the face's; the crop is turned so the eyes are level.
        let square = Square {
            centre: (b.x + b.width / 2.0, b.y + b.height / 2.0),
            side: b.width.max(b.height) * CROP_SCALE,
            angle: face.roll_degrees().to_radians(),
            mirrored: false,
        };
        let outputs = self
            .model
            .run(sample(picture, square, SIDE, (0.0, 1.0)))
            .ok()?;
        let [points, presence] = &outputs[..] else {
            return None;
        };
        let presence = 1.0 / (1.0 + (-f64::from(*presence.data.first()?)).exp());
        if presence < MIN_PRESENCE || points.data.len() != 468 * 3 {
            return None;
        }
        // In the crop's own frame (eyes level), in its pixels.
        let crop: Vec<(f64, f64, f64)> = points
            .data
            .chunks_exact(3)
            .map(|p| (f64::from(p[0]), f64::from(p[1]), f64::from(p[2])))
            .collect();
        let angle = |a: usize, b: usize, along: fn(&(f64, f64, f64)) -> f64| {
            let (p, q) = (crop[a], crop[b]);
            (q.2 - p.2).atan2(along(&q) - along(&p)).to_degrees()
        };
        let yaw_degrees = angle(index::RIGHT_CHEEK, index::LEFT_CHEEK, |p| p.0);
        let pitch_degrees = -angle(index::FOREHEAD, index::CHIN, |p| p.1);
        let to_picture = square.mapping();
        let scale = square.side / SIDE as f64;
        let points = crop
            .iter()
            .map(|&(x, y, z)| {
                let (px, py) = to_picture(x / SIDE as f64, y / SIDE as f64);
                (px, py, z * scale)
            })
            .collect();
        Some(FaceLandmarks {
            points,
            presence,
            yaw_degrees,
            pitch_degrees,
        })
    }
}
