//! MediaPipe's iris landmark model: the lids and the iris of one eye, on a 64 px crop around
//! the eye corners the face mesh found, as MediaPipe's own pipeline crops it.
//!
//! Why a third model: the mesh follows a closed lid only part of the way (docs/photo.md), and
//! how wide an eye opens differs between people. The iris is about 11.7 mm across in every
//! adult, so the lids' gap measured in iris diameters says "closed" the same way for a narrow
//! eye and a wide one.

use std::sync::Arc;

use image::RgbImage;

use crate::blazeface::{sample, Point, Square};
use crate::landmarks::FaceLandmarks;
use crate::tflite::{compiled_model, Model, SharedModel};

pub(crate) static MODEL: SharedModel = compiled_model!(
    "iris_landmark.tflite",
    "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"
);

/// The model's input side, in pixels.
const SIDE: usize = 64;
/// The crop's side, in eye widths (corner to corner; MediaPipe's setting for this model).
const CROP_SCALE: f64 = 2.3;

/// Indices into the model's 71 eye points: the first 16 are the lid contour, the outer corner,
/// the lower lid from outer to inner, the inner corner, then the upper lid from outer to inner
/// (the mesh's points 33, 7 ... 155, 133, 246 ... 173 for the person's right eye).
mod index {
    pub const LOWER_LID: std::ops::Range<usize> = 1..8;
    pub const UPPER_LID: std::ops::Range<usize> = 9..16;
    pub const OUTER_CORNER: usize = 0;
    pub const INNER_CORNER: usize = 8;
}

/// What the model sees of one eye, in the picture's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct EyeLook {
    /// The lid contour: outer corner, the lower lid, inner corner, the upper lid, each lid from
    /// outer to inner (16 points).
    pub lids: Vec<Point>,
    /// The iris: centre, then four points on its rim.
    pub iris: [Point; 5],
}

impl EyeLook {
    /// The iris's diameter: the mean of its two diameters through the rim points (the model
    /// places the whole circle, even where the lids cover it).
    pub fn iris_diameter(&self) -> f64 {
        let d = |a: Point, b: Point| (a.0 - b.0).hypot(a.1 - b.1);
        (d(self.iris[1], self.iris[3]) + d(self.iris[2], self.iris[4])) / 2.0
    }

    /// The widest gap between the lids, across the eye (perpendicular to the corner line), in
    /// iris diameters: about 0.6-1.0 for an eye open normally, near 0 for a closed one.
    pub fn openness(&self) -> f64 {
        let (outer, inner) = (
            self.lids[index::OUTER_CORNER],
            self.lids[index::INNER_CORNER],
        );
        let length = (inner.0 - outer.0).hypot(inner.1 - outer.1).max(1e-6);
        // Unit normal to the corner line: the distance across the eye.
        let normal = (-(inner.1 - outer.1) / length, (inner.0 - outer.0) / length);
        let across = |p: Point| (p.0 - outer.0) * normal.0 + (p.1 - outer.1) * normal.1;
        let upper: Vec<f64> = self.lids[index::UPPER_LID]
            .iter()
            .map(|&p| across(p))
            .collect();
        let lower: Vec<f64> = self.lids[index::LOWER_LID]
            .iter()
            .map(|&p| across(p))
            .collect();
        // Both lids run from the outer corner to the inner one, point for point.
        let gap = upper
            .iter()
            .zip(&lower)
            .map(|(u, l)| (l - u).abs())
            .fold(0.0, f64::max);
        gap / self.iris_diameter().max(1e-6)
    }

    /// How dark the skin just under the eye is against the cheek below it: the 75th
    /// percentile of the luma under the lower lid (0.3 to 0.65 eye widths below the eye's
    /// middle, across 0.6 of its width) over the median of the cheek (1.1 to 1.5 eye widths
    /// below). Under a tinted lens or sunglasses the first is behind the lens and the second
    /// is not: about the lens's transmission. The percentile passes over a dark frame rim or
    /// lashes crossing the patch. `None` when either patch is outside the picture.
    pub fn lens_shade(&self, picture: &RgbImage) -> Option<f64> {
        let (outer, inner) = (
            self.lids[index::OUTER_CORNER],
            self.lids[index::INNER_CORNER],
        );
        let width = (inner.0 - outer.0).hypot(inner.1 - outer.1).max(1e-6);
        let along = ((inner.0 - outer.0) / width, (inner.1 - outer.1) / width);
        // Perpendicular to the corner line, pointing down the face.
        let down = if along.0 >= 0.0 {
            (-along.1, along.0)
        } else {
            (along.1, -along.0)
        };
        let middle = ((outer.0 + inner.0) / 2.0, (outer.1 + inner.1) / 2.0);
        let patch = |from: f64, to: f64| -> Option<Vec<f32>> {
            let (w, h) = picture.dimensions();
            let mut lumas = Vec::new();
            let steps = (width / 1.5).ceil().max(4.0) as usize;
            for i in 0..=steps {
                let depth = width * (from + (to - from) * i as f64 / steps as f64);
                for j in 0..=steps {
                    let side = width * 0.6 * (j as f64 / steps as f64 - 0.5);
                    let x = middle.0 + down.0 * depth + along.0 * side;
                    let y = middle.1 + down.1 * depth + along.1 * side;
                    if x < 0.0 || y < 0.0 || x >= f64::from(w) || y >= f64::from(h) {
                        return None;
                    }
                    lumas.push(crate::measure::luma(*picture.get_pixel(x as u32, y as u32)));
                }
            }
            lumas.sort_by(f32::total_cmp);
            Some(lumas)
        };
        let under = patch(0.3, 0.65)?;
        let cheek = patch(1.1, 1.5)?;
        let under = under[under.len() * 3 / 4];
        let cheek = cheek[cheek.len() / 2];
        Some(f64::from(under) / f64::from(cheek.max(1.0)))
    }

    /// The share of the eye between its lids that is blown out (every channel at least
    /// `BLOWN`): a reflection on glasses that hides the eye. The cornea's own catchlight is a
    /// few pixels of it.
    pub fn blown_share(&self, picture: &RgbImage) -> f64 {
        let (w, h) = picture.dimensions();
        // The outline in order: along the lower lid to the inner corner, back along the upper.
        let ring: Vec<Point> = self.lids[..=index::INNER_CORNER]
            .iter()
            .chain(self.lids[index::UPPER_LID].iter().rev())
            .copied()
            .collect();
        let xs = ring.iter().map(|p| p.0);
        let ys = ring.iter().map(|p| p.1);
        let (x0, x1) = (
            xs.clone().fold(f64::MAX, f64::min),
            xs.fold(f64::MIN, f64::max),
        );
        let (y0, y1) = (
            ys.clone().fold(f64::MAX, f64::min),
            ys.fold(f64::MIN, f64::max),
        );
        let clamp = |v: f64, max: u32| (v.max(0.0) as u32).min(max);
        let (mut inside, mut blown) = (0u32, 0u32);
        for y in clamp(y0.floor(), h)..clamp(y1.ceil(), h) {
            for x in clamp(x0.floor(), w)..clamp(x1.ceil(), w) {
                if !contains(&ring, (f64::from(x) + 0.5, f64::from(y) + 0.5)) {
                    continue;
                }
                inside += 1;
                if picture.get_pixel(x, y).0.iter().all(|&c| c >= BLOWN) {
                    blown += 1;
                }
            }
        }
        if inside == 0 {
            0.0
        } else {
            f64::from(blown) / f64::from(inside)
        }
    }
}

/// Both eyes of a face: the person's right, then left.
#[derive(Debug, Clone, PartialEq)]
pub struct Eyes {
    pub right: EyeLook,
    pub left: EyeLook,
}

impl Eyes {
    /// How far the more open eye is open (`EyeLook::openness`): a drooping lid on one side, or
    /// an eye half hidden by a turned face, does not make a closed pair.
    pub fn opening(&self) -> f64 {
        self.right.openness().max(self.left.openness())
    }

    /// The blown-out share of the more affected eye (`EyeLook::blown_share`): a reflection
    /// over either eye hides it.
    pub fn glare(&self, picture: &RgbImage) -> f64 {
        self.right
            .blown_share(picture)
            .max(self.left.blown_share(picture))
    }

    /// The lens shade of the less shaded eye (`EyeLook::lens_shade`): dark glasses cover both,
    /// while a shadow or a dark rim of glasses may fall over one. `None` when neither could
    /// be measured.
    pub fn lens_shade(&self, picture: &RgbImage) -> Option<f64> {
        match (
            self.right.lens_shade(picture),
            self.left.lens_shade(picture),
        ) {
            (Some(r), Some(l)) => Some(r.max(l)),
            (one, other) => one.or(other),
        }
    }
}

/// A channel at least this bright is blown out.
const BLOWN: u8 = 245;

/// Whether `p` is inside the polygon (even-odd rule).
fn contains(polygon: &[Point], p: Point) -> bool {
    let mut inside = false;
    for (i, &a) in polygon.iter().enumerate() {
        let b = polygon[(i + 1) % polygon.len()];
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < a.0 + (p.1 - a.1) / (b.1 - a.1) * (b.0 - a.0) {
            inside = !inside;
        }
    }
    inside
}

/// The iris model. Build once (its weights are shared with every other holder in the
/// process).
pub struct IrisModel {
    model: Arc<Model>,
}

impl std::fmt::Debug for IrisModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IrisModel(71 + 5)")
    }
}

impl Default for IrisModel {
    fn default() -> Self {
        IrisModel::new()
    }
}

impl IrisModel {
    pub fn new() -> IrisModel {
        IrisModel {
            model: MODEL.get().expect("the bundled iris model loads"),
        }
    }

    /// Both eyes of a face the mesh found.
    pub fn eyes(&self, picture: &RgbImage, face: &FaceLandmarks) -> Option<Eyes> {
        let (right, left) = face.eye_corners();
        let (right, left) = crate::parallel::join(
            || self.eye(picture, right, false),
            || self.eye(picture, left, true),
        );
        Some(Eyes {
            right: right?,
            left: left?,
        })
    }

    /// One eye, from its corners as the picture shows them left to right. The model knows the
    /// eye on the picture's left (the person's right); the other is looked at mirrored.
    fn eye(
        &self,
        picture: &RgbImage,
        (start, end): (Point, Point),
        mirrored: bool,
    ) -> Option<EyeLook> {
        let square = Square {
            centre: ((start.0 + end.0) / 2.0, (start.1 + end.1) / 2.0),
            side: CROP_SCALE * (end.0 - start.0).abs().max((end.1 - start.1).abs()),
            angle: (end.1 - start.1).atan2(end.0 - start.0),
            mirrored,
        };
        if square.side < 4.0 {
            return None;
        }
        let outputs = self
            .model
            .run(sample(picture, square, SIDE, (0.0, 1.0)))
            .ok()?;
        let [contour, iris] = &outputs[..] else {
            return None;
        };
        if contour.data.len() != 71 * 3 || iris.data.len() != 5 * 3 {
            return None;
        }
        let to_picture = square.mapping();
        let point =
            |p: &[f32]| to_picture(f64::from(p[0]) / SIDE as f64, f64::from(p[1]) / SIDE as f64);
        let lids: Vec<Point> = contour.data.chunks_exact(3).take(16).map(point).collect();
        let rim: Vec<Point> = iris.data.chunks_exact(3).map(point).collect();
        Some(EyeLook {
            lids,
            iris: rim.try_into().ok()?,
        })
    }
}
