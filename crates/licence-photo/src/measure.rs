//! Measurements on an upright RGB picture, given the face the models found.
//!
//! The constants here were calibrated on labelled images; docs/photo.md says how.

use image::{GrayImage, Rgb, RgbImage};

use crate::face_box::FaceBox;

/// Weakest chin edge believed: the luma drop over 4 rows, averaged across the chin, as a share
/// of the chin's own brightness (25 levels on the labelled portrait's chin at 196; a fixed
/// number of levels would miss the edge under a dark chin, whose every contrast is smaller),
/// and never less than a few levels of noise.
const MIN_CHIN_EDGE_SHARE: f32 = 0.13;
const MIN_CHIN_EDGE: f32 = 6.0;
/// Ear-to-ear width as a multiple of the face mesh's outline width at the ears (landmarks 234
/// to 454), calibrated in docs/photo.md.
pub const EAR_OUTLINE_FACTOR: f64 = 1.3;
/// A pixel is background when every channel is within this of the background colour.
const BACKGROUND_TOLERANCE: f32 = 28.0;
/// The chin near where the face landmarks put it: the first clear bright-to-dark edge (chin
/// to the shadow under it) across the middle of the chin, looked for only from a little above
/// the landmark to a little below it, so that a collar or a neckline further down is never
/// taken for the chin. The landmark itself when no edge stands out (it sits on the skin at
/// the chin's lowest point, 1-2 px above the edge on the labelled photo).
pub fn chin_near(img: &RgbImage, face: &FaceBox, landmark: (f64, f64)) -> f64 {
    let (w, h) = img.dimensions();
    let Some(band) = Rect::clipped(
        landmark.0 - face.width * 0.12,
        landmark.1 - face.height * 0.05 - 2.0,
        landmark.0 + face.width * 0.12,
        landmark.1 + face.height * 0.08 + 2.0,
        w,
        h,
    ) else {
        return landmark.1;
    };
    first_drop(img, band).unwrap_or(landmark.1)
}

/// The first row of `band` where the brightness falls by `MIN_CHIN_EDGE_SHARE` of the chin's
/// over 4 rows, at a local maximum of the fall.
fn first_drop(img: &RgbImage, band: Rect) -> Option<f64> {
    let profile: Vec<f32> = (band.y0..band.y1)
        .map(|y| {
            (band.x0..band.x1)
                .map(|x| luma(*img.get_pixel(x, y)))
                .sum::<f32>()
                / (band.x1 - band.x0) as f32
        })
        .collect();
    // drop[i] = brightness 2 rows above minus 2 rows below row band.y0 + i.
    let drop = |i: usize| profile[i - 2] - profile[i + 2];
    // The chin's skin is the brightest part of the band's upper half: the edge is a share of
    // it, so that a dark chin's edge counts as a light one's does.
    let skin = profile[..profile.len() / 2]
        .iter()
        .copied()
        .fold(0.0, f32::max);
    let least = (MIN_CHIN_EDGE_SHARE * skin).max(MIN_CHIN_EDGE);
    (3..profile.len().saturating_sub(3))
        .find(|&i| drop(i) >= least && drop(i) >= drop(i - 1) && drop(i) >= drop(i + 1))
        .map(|i| f64::from(band.y0) + i as f64)
}

/// Consecutive non-background pixels (or rows) that mark where the head begins.
const RUN: u32 = 3;

/// A rectangle, half-open, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Rect {
    /// The rectangle clipped to a `w`×`h` picture; `None` if nothing is left.
    pub fn clipped(x0: f64, y0: f64, x1: f64, y1: f64, w: u32, h: u32) -> Option<Rect> {
        let c = |v: f64, max: u32| v.round().clamp(0.0, f64::from(max)) as u32;
        let r = Rect {
            x0: c(x0, w),
            y0: c(y0, h),
            x1: c(x1, w),
            y1: c(y1, h),
        };
        (r.x1 > r.x0 && r.y1 > r.y0).then_some(r)
    }

    pub fn area(&self) -> u32 {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }
}

pub fn luma(p: Rgb<u8>) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

pub fn chroma(p: Rgb<u8>) -> f32 {
    let max = p.0.iter().max().copied().unwrap_or(0);
    let min = p.0.iter().min().copied().unwrap_or(0);
    f32::from(max - min)
}

/// Brightness and colour statistics of a region.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub mean_luma: f32,
    pub std_luma: f32,
    pub mean_chroma: f32,
    /// Fraction of pixels with luma ≥ 250 (blown highlights).
    pub clipped: f32,
    pub mean: [f32; 3],
    pub pixels: u32,
}

/// Statistics of region `r`. Large regions are sampled on a grid of at most ~20 000 points
/// (a 12-megapixel photo's corners would otherwise cost more than the rest of the geometry).
pub fn stats(img: &RgbImage, r: Rect) -> Stats {
    let step = ((f64::from(r.area()) / 20_000.0).sqrt().floor() as usize).max(1);
    let (mut sum, mut sum2, mut sum_c, mut clipped, mut rgb, mut n) =
        (0f64, 0f64, 0f64, 0u32, [0f64; 3], 0u32);
    for y in (r.y0..r.y1).step_by(step) {
        for x in (r.x0..r.x1).step_by(step) {
            let p = *img.get_pixel(x, y);
            let l = f64::from(luma(p));
            sum += l;
            sum2 += l * l;
            sum_c += f64::from(chroma(p));
            clipped += u32::from(l >= 250.0);
            for c in 0..3 {
                rgb[c] += f64::from(p[c]);
            }
            n += 1;
        }
    }
    let n = f64::from(n.max(1));
    let mean = sum / n;
    Stats {
        mean_luma: mean as f32,
        std_luma: (sum2 / n - mean * mean).max(0.0).sqrt() as f32,
        mean_chroma: (sum_c / n) as f32,
        clipped: clipped as f32 / n as f32,
        mean: rgb.map(|v| (v / n) as f32),
        pixels: r.area(),
    }
}

/// The background colour, from the top corners and the strip along the top edge: the brightest
/// of those that are uniform (a flag or a lamp in one corner must not set the reference, and a
/// proper background is the brightest thing there), else the most uniform.
pub fn background_colour(img: &RgbImage) -> [f32; 3] {
    let (w, h) = img.dimensions();
    let (fw, fh) = (f64::from(w), f64::from(h));
    let (cw, ch) = ((fw / 8.0).max(2.0), (fh / 12.0).max(2.0));
    let candidates: Vec<Stats> = [
        Rect::clipped(0.0, 0.0, cw, ch, w, h),
        Rect::clipped(fw - cw, 0.0, fw, ch, w, h),
        Rect::clipped(fw * 0.2, 0.0, fw * 0.8, (fh / 50.0).max(2.0), w, h),
    ]
    .into_iter()
    .flatten()
    .map(|r| stats(img, r))
    .collect();
    let uniform = candidates
        .iter()
        .filter(|s| s.std_luma < 20.0)
        .max_by(|a, b| a.mean_luma.total_cmp(&b.mean_luma));
    uniform
        .or_else(|| {
            candidates
                .iter()
                .min_by(|a, b| a.std_luma.total_cmp(&b.std_luma))
        })
        .map(|s| s.mean)
        .unwrap_or([255.0; 3])
}

fn is_background(p: Rgb<u8>, bg: [f32; 3]) -> bool {
    (0..3).all(|c| (f32::from(p[c]) - bg[c]).abs() <= BACKGROUND_TOLERANCE)
}

/// The background colour to compare with near region `r`: its own mean where that is close to
/// the picture's background (a gentle gradient or fall-off is followed), else the picture's
/// (the region is not background at all, e.g. hair touching the edge).
fn local_background(img: &RgbImage, r: Option<Rect>, global: [f32; 3]) -> [f32; 3] {
    let Some(r) = r else { return global };
    let local = stats(img, r).mean;
    let close = (0..3).all(|c| (local[c] - global[c]).abs() <= 2.0 * BACKGROUND_TOLERANCE);
    if close {
        local
    } else {
        global
    }
}

/// The top of the hair: scanning down from the top edge through the middle half of the head,
/// the first of `RUN` rows in which at least a tenth of the pixels are not background.
/// 0 if the head touches the top edge. Each column is judged against its own top where that
/// looks like background, so a shadow or a gradient on the backdrop beside the crown, which
/// runs from the top edge down, is not taken for hair.
pub fn hair_top(img: &RgbImage, face: &FaceBox, global: [f32; 3]) -> u32 {
    let (w, h) = img.dimensions();
    let (x0, x1) = (
        face.centre_x() - face.width / 4.0,
        face.centre_x() + face.width / 4.0,
    );
    let Some(cols) = Rect::clipped(x0, 0.0, x1, 3.0, w, h) else {
        return 0;
    };
    let bg = local_background(img, Some(cols), global);
    let column_bg: Vec<[f32; 3]> = (cols.x0..cols.x1)
        .map(|x| {
            let top = Rect {
                x0: x,
                y0: 0,
                x1: x + 1,
                y1: 3.min(h),
            };
            local_background(img, Some(top), bg)
        })
        .collect();
    let bottom = (face.y.max(0.0) as u32).min(h);
    let mut run = 0;
    for y in 0..bottom {
        let fg = (cols.x0..cols.x1)
            .zip(&column_bg)
            .filter(|&(x, bg)| !is_background(*img.get_pixel(x, y), *bg))
            .count();
        if fg * 10 >= (cols.x1 - cols.x0) as usize {
            run += 1;
            if run == RUN {
                return y + 1 - RUN;
            }
        } else {
            run = 0;
        }
    }
    bottom
}

/// Walks along row `y` from `from` towards `to` and returns the first pixel of a run of `RUN`
/// non-background pixels (the edge of the head), or `to` if there is none. The reference is
/// the background beside the picture's edge on this row.
fn edge_on_row(img: &RgbImage, y: u32, from: i64, to: i64, global: [f32; 3]) -> u32 {
    let (w, h) = img.dimensions();
    let side = if from < to { 0.0 } else { f64::from(w) - 3.0 };
    let bg = local_background(
        img,
        Rect::clipped(
            side,
            f64::from(y) - 1.0,
            side + 3.0,
            f64::from(y) + 2.0,
            w,
            h,
        ),
        global,
    );
    let step = if from < to { 1 } else { -1 };
    // The face box may hang over the picture's edge: keep both ends inside it.
    let to = to.clamp(0, i64::from(w) - 1);
    let mut x = from.clamp(0, i64::from(w) - 1);
    let mut run = 0;
    while x != to {
        if !is_background(*img.get_pixel(x as u32, y.min(h - 1)), bg) {
            run += 1;
            if run == RUN {
                return (x - step * (i64::from(RUN) - 1)) as u32;
            }
        } else {
            run = 0;
        }
        x += step;
    }
    to.max(0) as u32
}

/// Left and right edges of the silhouette on row `y`, found from the picture's edges inwards,
/// so that highlights on the face cannot end it early.
pub fn silhouette(img: &RgbImage, face: &FaceBox, bg: [f32; 3], y: u32) -> (u32, u32) {
    let cx = face.centre_x().round() as i64;
    let w = i64::from(img.width());
    (
        edge_on_row(img, y, 0, cx, bg),
        edge_on_row(img, y, w - 1, cx, bg),
    )
}

/// Left and right edges of the head at ear level: the silhouette on the row of the face mesh's
/// outline at its widest points beside the ears (`outline`, the person's right first), found
/// walking in from `EAR_OUTLINE_FACTOR` outline widths around its middle, because the rules
/// want the ears visible and hair volume is not head width. The outline is the face's own
/// width; a detector's box is quantised by its search (the frontal cascade's this check used
/// before was up to 10 % off).
pub fn head_edges(img: &RgbImage, outline: ((f64, f64), (f64, f64)), bg: [f32; 3]) -> HeadEdges {
    let ((rx, ry), (lx, ly)) = outline;
    let width = (lx - rx).hypot(ly - ry);
    edges_within(
        img,
        (ry + ly) / 2.0,
        (rx + lx) / 2.0,
        width * EAR_OUTLINE_FACTOR / 2.0,
        bg,
    )
}

/// The head's edges on one row, and whether they are the silhouette's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadEdges {
    pub left: u32,
    pub right: u32,
    /// False when hair (or the picture's edge) reaches past where the ears would be on either
    /// side: the edge there is the face's proportion, an estimate, not a measurement, and a
    /// width the driver cannot change by moving is not a reason to refuse the photo.
    pub measured: bool,
}

impl HeadEdges {
    pub fn width(&self) -> u32 {
        self.right - self.left
    }
}

/// The silhouette's edges on row `y`, looked for from `reach` either side of `cx` inwards.
fn edges_within(img: &RgbImage, y: f64, cx: f64, reach: f64, bg: [f32; 3]) -> HeadEdges {
    let y = (y.round().max(0.0) as u32).min(img.height().saturating_sub(1));
    let w = i64::from(img.width());
    let centre = (cx.round() as i64).clamp(0, w - 1);
    let (from_l, from_r) = (
        ((cx - reach).round() as i64).clamp(0, w - 1),
        ((cx + reach).round() as i64).clamp(0, w - 1),
    );
    let l = edge_on_row(img, y, from_l, centre, bg);
    let r = edge_on_row(img, y, from_r, centre, bg).max(l);
    HeadEdges {
        left: l,
        right: r,
        measured: i64::from(l) != from_l && i64::from(r) != from_r,
    }
}

/// The widest extent of the silhouette over rows `y0..y1`: background samples beside the head
/// must stay outside it.
pub fn silhouette_extent(
    img: &RgbImage,
    face: &FaceBox,
    bg: [f32; 3],
    y0: u32,
    y1: u32,
) -> (u32, u32) {
    (y0..y1.max(y0 + 1))
        .map(|y| silhouette(img, face, bg, y))
        .fold((u32::MAX, 0), |(l, r), (a, b)| (l.min(a), r.max(b)))
}

/// Variance of the Laplacian over a region divided by the region's own variance (×100): low
/// when the picture is blurred, and independent of exposure, which scales both alike.
pub fn sharpness(gray: &GrayImage, r: Rect) -> f64 {
    let (w, h) = gray.dimensions();
    let (x0, y0, x1, y1) = (r.x0.max(1), r.y0.max(1), r.x1.min(w - 1), r.y1.min(h - 1));
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let px = |x: u32, y: u32| f64::from(gray.get_pixel(x, y)[0]);
    let (mut sum, mut sum2, mut v, mut v2, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let lap = 4.0 * px(x, y) - px(x - 1, y) - px(x + 1, y) - px(x, y - 1) - px(x, y + 1);
            sum += lap;
            sum2 += lap * lap;
            v += px(x, y);
            v2 += px(x, y) * px(x, y);
            n += 1.0;
        }
    }
    let lap_var = sum2 / n - (sum / n).powi(2);
    let var = (v2 / n - (v / n).powi(2)).max(1.0);
    100.0 * lap_var / var
}
