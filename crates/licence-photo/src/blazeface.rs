//! Faces and six keypoints (eyes, nose tip, mouth, ear tragions) from MediaPipe's BlazeFace
//! short-range model, run offline by our own interpreter (`tflite.rs`); the model is compiled in.
//!
//! It sees faces turned three-quarters or leaning, which a frontal detector misses, so it
//! decides how many people are in a photo, and its eye keypoints give the head's roll from the
//! eye line, which does not depend on the background.

use std::sync::Arc;

use image::RgbImage;

use crate::face_box::FaceBox;
use crate::tflite::{compiled_model, Model, SharedModel};

pub(crate) static MODEL: SharedModel = compiled_model!(
    "face_detection_short_range.tflite",
    "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
);

/// The model's input side, in pixels.
const SIDE: usize = 128;
/// Scores below this are not faces (MediaPipe's own setting for this model).
const MIN_SCORE: f32 = 0.5;
/// Pictures at least this much longer than they are wide are looked at in squares too.
const WIDE: f64 = 1.6;
/// A face at least this fraction of the picture's long side needs no closer look.
const CLOSE_ENOUGH: f64 = 0.15;
/// When the whole picture shows no face, it is looked at again in squares this fraction of
/// its shorter side (half overlapping): a distant group's faces are then large enough for the
/// model. Faces down to about a thirtieth of the shorter side are found.
const TILE: f64 = 1.0 / 3.0;
/// Faces besides the best-scored one count as people from this score on.
const PERSON_SCORE: f64 = 0.75;
/// Boxes overlapping more than this are one face (MediaPipe's weighted suppression).
const MIN_SUPPRESSION_IOU: f64 = 0.3;
/// The square a face is looked at again in, as a multiple of its box's larger side: the
/// keypoints of a face that fills most of the model's input are the most precise.
const REFINE_SPAN: f64 = 2.2;

/// A point in the picture's own pixels.
pub type Point = (f64, f64);

/// A face found by BlazeFace: its box and keypoints, in the picture's own pixels. "Right" is the
/// person's right, on the left of an unmirrored photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceKeypoints {
    pub face: FaceBox,
    pub right_eye: Point,
    pub left_eye: Point,
    pub nose_tip: Point,
    pub mouth: Point,
    pub right_ear: Point,
    pub left_ear: Point,
}

impl FaceKeypoints {
    /// Roll of the head in degrees, from the line through the eyes; positive when the person's
    /// left eye (on the right of the photo) is lower.
    pub fn roll_degrees(&self) -> f64 {
        let (dx, dy) = (
            self.left_eye.0 - self.right_eye.0,
            self.left_eye.1 - self.right_eye.1,
        );
        dy.atan2(dx).to_degrees()
    }

    /// The mean of two views of the same face, point by point.
    fn mean(&self, other: &FaceKeypoints) -> FaceKeypoints {
        let m = |a: Point, b: Point| ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let f = |a: f64, b: f64| (a + b) / 2.0;
        FaceKeypoints {
            face: FaceBox {
                x: f(self.face.x, other.face.x),
                y: f(self.face.y, other.face.y),
                width: f(self.face.width, other.face.width),
                height: f(self.face.height, other.face.height),
                score: self.face.score.min(other.face.score),
            },
            right_eye: m(self.right_eye, other.right_eye),
            left_eye: m(self.left_eye, other.left_eye),
            nose_tip: m(self.nose_tip, other.nose_tip),
            mouth: m(self.mouth, other.mouth),
            right_ear: m(self.right_ear, other.right_ear),
            left_ear: m(self.left_ear, other.left_ear),
        }
    }

    /// The same face in another picture's pixels: `map` carries a point over, `scale` is its
    /// enlargement (a crop and resize, as the checker's frame is made).
    pub fn mapped(&self, map: impl Fn(Point) -> Point, scale: f64) -> FaceKeypoints {
        let (x, y) = map((self.face.x, self.face.y));
        FaceKeypoints {
            face: FaceBox {
                x,
                y,
                width: self.face.width * scale,
                height: self.face.height * scale,
                score: self.face.score,
            },
            right_eye: map(self.right_eye),
            left_eye: map(self.left_eye),
            nose_tip: map(self.nose_tip),
            mouth: map(self.mouth),
            right_ear: map(self.right_ear),
            left_ear: map(self.left_ear),
        }
    }

    /// Distance between the eye centres.
    pub fn eye_distance(&self) -> f64 {
        (self.left_eye.0 - self.right_eye.0).hypot(self.left_eye.1 - self.right_eye.1)
    }

    /// How far the nose tip sits beside the middle of the eyes, along the eye line, as a
    /// fraction of the eye distance: 0 for a face turned straight to the camera, positive when
    /// the nose points to the photo's right (the person turned to their left).
    pub fn yaw_ratio(&self) -> f64 {
        let mid = (
            (self.left_eye.0 + self.right_eye.0) / 2.0,
            (self.left_eye.1 + self.right_eye.1) / 2.0,
        );
        let d = self.eye_distance().max(1e-6);
        let axis = (
            (self.left_eye.0 - self.right_eye.0) / d,
            (self.left_eye.1 - self.right_eye.1) / d,
        );
        ((self.nose_tip.0 - mid.0) * axis.0 + (self.nose_tip.1 - mid.1) * axis.1) / d
    }
}

/// The detector. Build once: loading the model takes a few milliseconds.
pub struct BlazeFace {
    model: Arc<Model>,
    /// Anchor centres, in the input's 0-1 coordinates, in the model's output order.
    anchors: Vec<(f32, f32)>,
}

impl std::fmt::Debug for BlazeFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlazeFace(short range)")
    }
}

impl Default for BlazeFace {
    fn default() -> Self {
        Self::new()
    }
}

/// A square of the picture that is scaled to the model's input: its centre and side in the
/// picture's pixels, turned by `angle` (radians, clockwise on screen) and optionally mirrored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Square {
    pub centre: Point,
    pub side: f64,
    pub angle: f64,
    pub mirrored: bool,
}

impl Square {
    /// The upright square, centred, whose side is the picture's longer side.
    pub fn whole(picture: &RgbImage) -> Square {
        let (w, h) = (f64::from(picture.width()), f64::from(picture.height()));
        Square {
            centre: (w / 2.0, h / 2.0),
            side: w.max(h),
            angle: 0.0,
            mirrored: false,
        }
    }

    /// The picture point under a point of the model's input (0-1 coordinates), with the
    /// angle's sine and cosine worked out once.
    pub fn mapping(&self) -> impl Fn(f64, f64) -> Point + '_ {
        let (s, c) = self.angle.sin_cos();
        move |u, v| {
            let u = if self.mirrored { 1.0 - u } else { u };
            let (du, dv) = ((u - 0.5) * self.side, (v - 0.5) * self.side);
            (
                self.centre.0 + du * c - dv * s,
                self.centre.1 + du * s + dv * c,
            )
        }
    }
}

impl BlazeFace {
    pub fn new() -> BlazeFace {
        let model = MODEL.get().expect("the bundled BlazeFace model loads");
        // MediaPipe's SSD anchors for this model: strides 8 and 16 (three layers merged) over a
        // 128 px input, two and six anchors per cell, all of one fixed size.
        let mut anchors = Vec::with_capacity(896);
        for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
            for y in 0..grid {
                for x in 0..grid {
                    let centre = (
                        (x as f32 + 0.5) / grid as f32,
                        (y as f32 + 0.5) / grid as f32,
                    );
                    anchors.extend(std::iter::repeat_n(centre, per_cell));
                }
            }
        }
        BlazeFace { model, anchors }
    }

    /// Every face in the picture, the largest first, with its keypoints looked at again in a
    /// square around it (`refine`). For tools and tests: the checker refines only the face it
    /// measures.
    pub fn faces(&self, picture: &RgbImage) -> Vec<FaceKeypoints> {
        self.people(picture)
            .iter()
            .map(|f| self.refine(picture, f))
            .collect()
    }

    /// Every face in the picture, the largest first, with rough keypoints. The whole picture is
    /// looked at, and in a wide picture with small faces each square of its shorter side along
    /// the longer one, half overlapping: each face of a wide group photo is then large enough
    /// for the model (faces under about a tenth of its input are not found). Faces smaller
    /// than a fifth of the largest are left out (a poster, a passer-by far behind).
    pub fn people(&self, picture: &RgbImage) -> Vec<FaceKeypoints> {
        self.people_looking(picture, false)
    }

    /// The same, and when that finds nobody, a grid of squares a third of the shorter side
    /// (half overlapping) is looked at too: a group photographed from across a room then says
    /// "more than one person", not "no face". For a photo submitted as the licence photo; it
    /// costs 20-40 more looks when nobody is near, too many for every preview frame.
    pub fn people_near_or_far(&self, picture: &RgbImage) -> Vec<FaceKeypoints> {
        self.people_looking(picture, true)
    }

    fn people_looking(&self, picture: &RgbImage, far: bool) -> Vec<FaceKeypoints> {
        let (w, h) = (f64::from(picture.width()), f64::from(picture.height()));
        let square = |centre, side| Square {
            centre,
            side,
            angle: 0.0,
            mirrored: false,
        };
        let mut found = self.detect(picture, Square::whole(picture));
        let (short, long) = (w.min(h), w.max(h));
        // The squares of the shorter side enlarge faces by long / short: worth two more looks
        // only for a wide picture (a 4:3 photo would gain a third) whose faces are all small
        // (under 15 % of its long side: a group, people far away). Small faces in other
        // photos are looked for in a grid of smaller squares below, when nothing else is
        // found.
        let largest = found.iter().map(|f| f.face.width).fold(0.0, f64::max);
        if long > short * WIDE && largest < long * CLOSE_ENOUGH {
            let steps = ((long - short) / (short / 2.0)).ceil() as usize;
            for i in 0..=steps {
                let along = short / 2.0 + (long - short) * i as f64 / steps as f64;
                let centre = if w > h {
                    (along, h / 2.0)
                } else {
                    (w / 2.0, along)
                };
                found.extend(self.detect(picture, square(centre, short)));
            }
        }
        if far && found.is_empty() {
            let side = (short * TILE).max(SIDE as f64);
            let steps = |length: f64| ((length - side).max(0.0) / (side / 2.0)).ceil() as usize;
            let (across, down) = (steps(w), steps(h));
            // The centre of the k-th of n + 1 squares along a side `length` long.
            let at = |k: usize, n: usize, length: f64| {
                side / 2.0 + (length - side).max(0.0) * k as f64 / n.max(1) as f64
            };
            for j in 0..=down {
                for i in 0..=across {
                    found.extend(
                        self.detect(picture, square((at(i, across, w), at(j, down, h)), side)),
                    );
                }
            }
        }
        // The same face seen in several squares is one: keep the best-scored of overlapping
        // boxes.
        found.sort_by(|a, b| b.face.score.total_cmp(&a.face.score));
        let mut faces: Vec<FaceKeypoints> = Vec::new();
        for f in found {
            if faces
                .iter()
                .all(|k| k.face.iou(&f.face) <= MIN_SUPPRESSION_IOU)
            {
                faces.push(f);
            }
        }
        // A second person must be seen clearly: a shoulder or a fold of cloth at the edge of a
        // square can pass the model's own 0.5, real faces score over 0.9 (docs/photo.md).
        if let Some(best) = faces.first().map(|f| f.face.score) {
            faces.retain(|f| f.face.score == best || f.face.score >= PERSON_SCORE);
        }
        faces.sort_by(|a, b| b.face.width.total_cmp(&a.face.width));
        if let Some(largest) = faces.first().map(|f| f.face.width) {
            faces.retain(|f| f.face.width >= largest * 0.2);
        }
        faces
    }

    /// The same face looked at again where it fills the model's input, turned upright by its
    /// roll so far (the model's keypoints are most precise on an upright face): first as it
    /// is, then, turned by that better roll, as it is and mirrored, averaged (the mean of a
    /// view and its mirror image cancels the model's own left-right bias). Roll then follows
    /// an applied rotation within about a degree.
    pub fn refine(&self, picture: &RgbImage, face: &FaceKeypoints) -> FaceKeypoints {
        let mut current = *face;
        for round in 0..2 {
            let b = current.face;
            let centre = (b.x + b.width / 2.0, b.y + b.height / 2.0);
            let square = |mirrored| Square {
                centre,
                side: b.width.max(b.height) * REFINE_SPAN,
                angle: current.roll_degrees().to_radians(),
                mirrored,
            };
            let nearest = |square: Square| {
                self.detect(picture, square).into_iter().min_by(|p, q| {
                    let d = |f: &FaceKeypoints| {
                        (f.face.x + f.face.width / 2.0 - centre.0)
                            .hypot(f.face.y + f.face.height / 2.0 - centre.1)
                    };
                    d(p).total_cmp(&d(q))
                })
            };
            let (plain, mirror) = if round == 0 {
                (nearest(square(false)), None)
            } else {
                crate::parallel::join(|| nearest(square(false)), || nearest(square(true)))
            };
            current = match (plain, mirror) {
                (Some(plain), Some(mirror)) => plain.mean(&mirror),
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => return current,
            };
        }
        current
    }

    fn detect(&self, picture: &RgbImage, square: Square) -> Vec<FaceKeypoints> {
        let input = sample(picture, square, SIDE, (-1.0, 1.0));
        let Ok(outputs) = self.model.run(input) else {
            return Vec::new();
        };
        let [regressors, scores] = &outputs[..] else {
            return Vec::new();
        };
        let mut found: Vec<Raw> = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let (Some(&score), Some(r)) =
                (scores.data.get(i), regressors.data.get(i * 16..i * 16 + 16))
            else {
                break;
            };
            let score = 1.0 / (1.0 + (-score.clamp(-100.0, 100.0)).exp());
            if score < MIN_SCORE {
                continue;
            }
            let s = SIDE as f32;
            let mut values = [0.0f32; 16];
            values[0] = r[0] / s + anchor.0;
            values[1] = r[1] / s + anchor.1;
            values[2] = r[2] / s;
            values[3] = r[3] / s;
            for k in 0..6 {
                values[4 + 2 * k] = r[4 + 2 * k] / s + anchor.0;
                values[5 + 2 * k] = r[5 + 2 * k] / s + anchor.1;
            }
            found.push(Raw { score, values });
        }
        weighted_suppression(found)
            .into_iter()
            .map(|raw| raw.in_picture(square))
            .collect()
    }
}

/// A detection in the input's 0-1 coordinates: centre x, y, width, height, then six (x, y).
#[derive(Debug, Clone, Copy)]
struct Raw {
    score: f32,
    values: [f32; 16],
}

impl Raw {
    /// The box in the input's 0-1 coordinates.
    fn face_box(&self) -> FaceBox {
        let v = self.values.map(f64::from);
        FaceBox {
            x: v[0] - v[2] / 2.0,
            y: v[1] - v[3] / 2.0,
            width: v[2],
            height: v[3],
            score: f64::from(self.score),
        }
    }

    fn in_picture(&self, square: Square) -> FaceKeypoints {
        let v = self.values.map(f64::from);
        let at = square.mapping();
        // The box's size is kept; its centre is carried over (turned or mirrored, it is no
        // longer the box of the picture, but near enough for what it is used for).
        let (w, h) = (v[2] * square.side, v[3] * square.side);
        let (cx, cy) = at(v[0], v[1]);
        // In a mirrored view the person's right eye is on the view's right.
        let (right, left) = if square.mirrored { (1, 0) } else { (0, 1) };
        let (right_ear, left_ear) = if square.mirrored { (5, 4) } else { (4, 5) };
        let point = |k: usize| at(v[4 + 2 * k], v[5 + 2 * k]);
        FaceKeypoints {
            face: FaceBox {
                x: cx - w / 2.0,
                y: cy - h / 2.0,
                width: w,
                height: h,
                score: f64::from(self.score),
            },
            right_eye: point(right),
            left_eye: point(left),
            nose_tip: point(2),
            mouth: point(3),
            right_ear: point(right_ear),
            left_ear: point(left_ear),
        }
    }
}

/// MediaPipe's weighted non-maximum suppression: each cluster of overlapping detections
/// becomes one, its coordinates averaged by score, its score the best one's.
fn weighted_suppression(mut found: Vec<Raw>) -> Vec<Raw> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    while let Some(best) = found.first().copied() {
        let (cluster, rest): (Vec<Raw>, Vec<Raw>) = found
            .into_iter()
            .partition(|r| r.face_box().iou(&best.face_box()) > MIN_SUPPRESSION_IOU);
        found = rest;
        let total: f32 = cluster.iter().map(|r| r.score).sum();
        let mut values = [0.0f32; 16];
        for r in &cluster {
            for (v, x) in values.iter_mut().zip(r.values) {
                *v += x * r.score / total;
            }
        }
        kept.push(Raw {
            score: best.score,
            values,
        });
    }
    kept
}

/// A copy of a large picture at most `max_side` on its longer side, for the models to look
/// at many times: reading a 12 MP photo for every look cost more than the looks themselves.
/// `None` when the picture is small enough already.
pub(crate) fn reduced(picture: &RgbImage, max_side: u32) -> Option<RgbImage> {
    let (w, h) = picture.dimensions();
    let (raw, row_len) = (picture.as_raw(), w as usize * 3);
    Reducer::new(w, h, max_side)?.make(|r| raw.get(r * row_len..(r + 1) * row_len))
}

/// Makes `reduced`'s copy of a `w`×`h` picture from its rows, top to bottom, so that it can
/// be made while the picture is still being decoded (`intake::Rows`). Each pixel averages
/// 2×2 points of its footprint (the models then average again).
pub(crate) struct Reducer {
    size: (u32, u32),
    step: f64,
    /// Of the copy.
    out: (u32, u32),
}

impl Reducer {
    /// `None` when the picture is no more than `max_side` on its longer side.
    pub(crate) fn new(w: u32, h: u32, max_side: u32) -> Option<Reducer> {
        let long = w.max(h);
        if long <= max_side || w == 0 || h == 0 {
            return None;
        }
        let step = f64::from(long) / f64::from(max_side);
        let out = (
            ((f64::from(w) / step) as u32).max(1),
            ((f64::from(h) / step) as u32).max(1),
        );
        Some(Reducer {
            size: (w, h),
            step,
            out,
        })
    }

    /// Source row or column of output `i`'s point a `quarter` into its footprint.
    fn at(&self, i: u32, quarter: f64, limit: u32) -> usize {
        (((f64::from(i) + quarter) * self.step) as u32).min(limit - 1) as usize
    }

    /// The copy, from `row(r)`, each source row of 3 × `w` bytes (asked for in increasing
    /// order); `None` if a row is missing.
    pub(crate) fn make<'a>(
        &self,
        mut row: impl FnMut(usize) -> Option<&'a [u8]>,
    ) -> Option<RgbImage> {
        let ((w, h), (rw, rh)) = (self.size, self.out);
        // The source columns of each output pixel's points, worked out once.
        let columns: Vec<[usize; 2]> = (0..rw)
            .map(|x| [self.at(x, 0.25, w) * 3, self.at(x, 0.75, w) * 3])
            .collect();
        let row_len = w as usize * 3;
        let mut out = Vec::with_capacity(rw as usize * rh as usize * 3);
        for y in 0..rh {
            let rows = [row(self.at(y, 0.25, h))?, row(self.at(y, 0.75, h))?];
            if rows.iter().any(|r| r.len() != row_len) {
                return None;
            }
            for [a, b] in &columns {
                for c in 0..3 {
                    let sum = u16::from(rows[0][a + c])
                        + u16::from(rows[0][b + c])
                        + u16::from(rows[1][a + c])
                        + u16::from(rows[1][b + c]);
                    out.push((sum / 4) as u8);
                }
            }
        }
        RgbImage::from_raw(rw, rh, out)
    }
}

/// Samples per input pixel, along each axis, at most.
const MAX_SAMPLES: usize = 3;

/// The square scaled to a model's input of `side`², RGB mapped to `range`. Each input pixel
/// averages up to 3×3 samples of its footprint: enough against aliasing for these models, and
/// a look at a 12 MP photo costs about 150 000 reads, not millions (4×4 took a third of the
/// keypoints' time; 2×2 moved the astronaut's roll by 1°). Outside the picture is mid-grey.
pub(crate) fn sample(
    picture: &RgbImage,
    square: Square,
    side: usize,
    (low, high): (f32, f32),
) -> Vec<f32> {
    let (w, h) = picture.dimensions();
    let n = ((square.side / side as f64).ceil() as usize).clamp(1, MAX_SAMPLES);
    let fine = (side * n) as f64;
    let per_level = (high - low) / 255.0;
    let grey = (low + high) / 2.0;
    // `Square::mapping` taken apart: its terms that depend on the column alone, and on the
    // row alone, worked out once per sample column and row (the same arithmetic in the same
    // order, so the same points to the bit).
    let (sin, cos) = square.angle.sin_cos();
    let offset = |k: usize, mirrored: bool| {
        let t = (k as f64 + 0.5) / fine;
        let t = if mirrored { 1.0 - t } else { t };
        (t - 0.5) * square.side
    };
    let (x0, y0) = square.centre;
    let columns: Vec<(f64, f64)> = (0..side * n)
        .map(|k| offset(k, square.mirrored))
        .map(|du| (x0 + du * cos, y0 + du * sin))
        .collect();
    let rows: Vec<(f64, f64)> = (0..side * n)
        .map(|k| offset(k, false))
        .map(|dv| (dv * sin, dv * cos))
        .collect();
    let (raw, stride) = (picture.as_raw(), w as usize * 3);
    let mut out = Vec::with_capacity(side * side * 3);
    for sample_rows in rows.chunks_exact(n) {
        for sample_columns in columns.chunks_exact(n) {
            let mut sum = [0u32; 3];
            let mut count = 0u32;
            for &(row_x, row_y) in sample_rows {
                for &(column_x, column_y) in sample_columns {
                    let (x, y) = (column_x - row_x, column_y + row_y);
                    if x >= 0.0 && y >= 0.0 && x < f64::from(w) && y < f64::from(h) {
                        let p = &raw[y as usize * stride + x as usize * 3..][..3];
                        for (s, &c) in sum.iter_mut().zip(p) {
                            *s += u32::from(c);
                        }
                        count += 1;
                    }
                }
            }
            for s in sum {
                out.push(if count == 0 {
                    grey
                } else {
                    low + s as f32 / count as f32 * per_level
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_is_sampled_at_the_points_its_mapping_gives() {
        let picture = RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([
                (x % 256) as u8,
                (y % 256) as u8,
                ((x * 7 + y * 3) % 256) as u8,
            ])
        });
        for (centre, side, angle, mirrored) in [
            ((150.0, 100.0), 120.0, 0.0, false),
            ((140.5, 90.25), 250.0, 0.3, true),
            ((20.0, 180.0), 90.0, -1.2, false),
            ((299.0, 0.0), 400.0, 2.5, true),
        ] {
            let square = Square {
                centre,
                side,
                angle,
                mirrored,
            };
            // The plain way: every point through the mapping.
            let (side_px, n) = (16, ((side / 16.0).ceil() as usize).clamp(1, MAX_SAMPLES));
            let (fine, to_picture) = ((side_px * n) as f64, square.mapping());
            let mut want = Vec::new();
            for v in 0..side_px {
                for u in 0..side_px {
                    let (mut sum, mut count) = ([0u32; 3], 0u32);
                    for j in 0..n {
                        for i in 0..n {
                            let (x, y) = to_picture(
                                ((u * n + i) as f64 + 0.5) / fine,
                                ((v * n + j) as f64 + 0.5) / fine,
                            );
                            if x >= 0.0 && y >= 0.0 && x < 300.0 && y < 200.0 {
                                let p = picture.get_pixel(x as u32, y as u32);
                                sum.iter_mut()
                                    .zip(p.0)
                                    .for_each(|(s, c)| *s += u32::from(c));
                                count += 1;
                            }
                        }
                    }
                    want.extend(sum.map(|s| match count {
                        0 => 0.0,
                        _ => -1.0 + s as f32 / count as f32 * (2.0 / 255.0),
                    }));
                }
            }
            assert_eq!(
                sample(&picture, square, side_px, (-1.0, 1.0)),
                want,
                "{square:?}"
            );
        }
    }

    #[test]
    fn the_anchors_match_the_model_outputs() {
        let detector = BlazeFace::new();
        assert_eq!(detector.anchors.len(), 896);
        assert_eq!(detector.model.input_shape(), &[1, 128, 128, 3]);
        let outputs = detector.model.run(vec![0.0; SIDE * SIDE * 3]).unwrap();
        assert_eq!(outputs[0].shape, vec![1, 896, 16]);
        assert_eq!(outputs[1].shape, vec![1, 896, 1]);
    }

    #[test]
    fn a_blank_picture_has_no_face() {
        let detector = BlazeFace::new();
        let white = RgbImage::from_pixel(300, 400, image::Rgb([245, 245, 245]));
        assert!(detector.faces(&white).is_empty());
    }
}
