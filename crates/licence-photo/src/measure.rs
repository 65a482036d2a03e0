//! Measurements on an upright RGB picture, given the face the detector found.
//!
//! The constants here were calibrated on labelled images; docs/photo.md says how.

use image::{GrayImage, Rgb, RgbImage};

use crate::detect::FaceBox;

/// Chin below the top of the detector's box, as a multiple of the box's height.
pub const CHIN_FACTOR: f64 = 1.16;
/// Ear-to-ear width as a multiple of the detector box's width: caps the silhouette where hair
/// volume, not the head, sets it.
pub const EAR_WIDTH_FACTOR: f64 = 1.2;
/// The row where head width is measured (about the ears), as a fraction of the box height.
pub const WIDTH_ROW_FACTOR: f64 = 0.45;
/// A pixel is background when every channel is within this of the background colour.
const BACKGROUND_TOLERANCE: f32 = 28.0;
/// Rows (or columns) of background in a row that end the head.
const GAP: u32 = 4;

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

pub fn stats(img: &RgbImage, r: Rect) -> Stats {
    let (mut sum, mut sum2, mut sum_c, mut clipped, mut rgb) = (0f64, 0f64, 0f64, 0u32, [0f64; 3]);
    for y in r.y0..r.y1 {
        for x in r.x0..r.x1 {
            let p = *img.get_pixel(x, y);
            let l = f64::from(luma(p));
            sum += l;
            sum2 += l * l;
            sum_c += f64::from(chroma(p));
            clipped += u32::from(l >= 250.0);
            for c in 0..3 {
                rgb[c] += f64::from(p[c]);
            }
        }
    }
    let n = f64::from(r.area().max(1));
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

/// The top of the hair: scanning up from the face box through the middle half of the head,
/// the last row with head in it before `GAP` rows of background. 0 if the head touches the top.
pub fn hair_top(img: &RgbImage, face: &FaceBox, bg: [f32; 3]) -> u32 {
    let (w, h) = img.dimensions();
    let Some(cols) = Rect::clipped(
        face.centre_x() - face.width / 4.0,
        0.0,
        face.centre_x() + face.width / 4.0,
        1.0,
        w,
        h,
    ) else {
        return 0;
    };
    let start = (face.y.max(0.0) as u32).min(h - 1);
    let mut top = start;
    let mut gap = 0;
    for y in (0..=start).rev() {
        let fg = (cols.x0..cols.x1)
            .filter(|&x| !is_background(*img.get_pixel(x, y), bg))
            .count();
        if fg * 10 >= (cols.x1 - cols.x0) as usize {
            top = y;
            gap = 0;
        } else {
            gap += 1;
            if gap >= GAP {
                break;
            }
        }
    }
    top
}

/// Left and right edges of the silhouette (whatever is not background) on row `y`, walking
/// out from the face's centre until `GAP` background pixels in a row.
pub fn silhouette(img: &RgbImage, face: &FaceBox, bg: [f32; 3], y: u32) -> (u32, u32) {
    let (w, h) = img.dimensions();
    let y = y.min(h - 1);
    let cx = (face.centre_x().round().max(0.0) as u32).min(w - 1);
    let walk = |step: i64| {
        let (mut x, mut edge, mut gap) = (i64::from(cx), i64::from(cx), 0);
        while x + step >= 0 && x + step < i64::from(w) {
            x += step;
            if !is_background(*img.get_pixel(x as u32, y), bg) {
                edge = x;
                gap = 0;
            } else {
                gap += 1;
                if gap >= GAP {
                    break;
                }
            }
        }
        edge as u32
    };
    (walk(-1), walk(1))
}

/// Left and right edges of the head at ear level: the silhouette, capped at
/// `EAR_WIDTH_FACTOR` face widths around the face's centre, because the rules want the ears
/// visible and hair volume is not head width.
pub fn head_edges(img: &RgbImage, face: &FaceBox, bg: [f32; 3]) -> (u32, u32) {
    let y = (face.y + face.height * WIDTH_ROW_FACTOR).round().max(0.0) as u32;
    let (l, r) = silhouette(img, face, bg, y);
    let reach = face.width * EAR_WIDTH_FACTOR / 2.0;
    let cx = face.centre_x();
    let l = f64::from(l).max(cx - reach).round().max(0.0) as u32;
    let r = f64::from(r).min(cx + reach).round().max(0.0) as u32;
    (l, r.max(l))
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

/// Head roll in degrees (positive: the head's right side lower in the picture), from the two
/// eyes found as the darkest spots in the upper-left and upper-right quarters of the face box.
/// `None` when the eyes cannot be told apart from their surroundings.
pub fn roll_degrees(gray: &GrayImage, face: &FaceBox) -> Option<f64> {
    let (w, h) = gray.dimensions();
    let eye = |x0: f64, x1: f64| -> Option<(f64, f64)> {
        let r = Rect::clipped(
            x0,
            face.y + face.height * 0.2,
            x1,
            face.y + face.height * 0.55,
            w,
            h,
        )?;
        let mut values: Vec<u8> = (r.y0..r.y1)
            .flat_map(|y| (r.x0..r.x1).map(move |x| (x, y)))
            .map(|(x, y)| gray.get_pixel(x, y)[0])
            .collect();
        values.sort_unstable();
        let cut = values[values.len() / 20];
        let median = values[values.len() / 2];
        if f32::from(median) - f32::from(cut) < 25.0 {
            return None;
        }
        let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
        for y in r.y0..r.y1 {
            for x in r.x0..r.x1 {
                if gray.get_pixel(x, y)[0] <= cut {
                    sx += f64::from(x);
                    sy += f64::from(y);
                    n += 1.0;
                }
            }
        }
        (n > 0.0).then(|| (sx / n, sy / n))
    };
    let left = eye(face.x + face.width * 0.1, face.x + face.width * 0.48)?;
    let right = eye(face.x + face.width * 0.52, face.x + face.width * 0.9)?;
    Some((right.1 - left.1).atan2(right.0 - left.0).to_degrees())
}

/// Variance of the Laplacian over a region: low when the picture is blurred.
pub fn sharpness(gray: &GrayImage, r: Rect) -> f64 {
    let (w, h) = gray.dimensions();
    let (x0, y0, x1, y1) = (r.x0.max(1), r.y0.max(1), r.x1.min(w - 1), r.y1.min(h - 1));
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let px = |x: u32, y: u32| f64::from(gray.get_pixel(x, y)[0]);
    let (mut sum, mut sum2, mut n) = (0.0, 0.0, 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let lap = 4.0 * px(x, y) - px(x - 1, y) - px(x + 1, y) - px(x, y - 1) - px(x, y + 1);
            sum += lap;
            sum2 += lap * lap;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sum2 / n - mean * mean
}
