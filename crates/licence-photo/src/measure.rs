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
/// The chin near where the face landmarks put it: the bottom of the first clear fall from
/// bright to dark (the chin's skin into the crease under it) across the middle of the chin,
/// looked for only from a little above the landmark to a little below it, so that a collar
/// or a neckline further down is never taken for the chin. The landmark itself when no edge
/// stands out.
///
/// The fall's bottom, not its steepest row: lit from above, the underside of a chin turns
/// away from the light over several rows and the chin's outline is where it meets the neck,
/// the darkest row. On the astronaut's chin the fall takes 8 rows and its steepest row is
/// 2 px above her labelled chin; on Obama's (obama.jpg), 15 rows and 10-14 px above, where the
/// mesh's chin point also sits (docs/photo.md).
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
    // The fall is looked for over a span that grows with the face: a chin's shading that
    // crosses 4 rows of a 260×378 frame crosses 20 of a 12 MP photo, where 4 rows of it
    // would never reach the edge's contrast.
    let half = ((face.height / CHIN_FACE_ROWS_PER_HALF_SPAN).round() as usize).max(2);
    bottom_of_first_fall(img, band, half).unwrap_or(landmark.1)
}

/// Face box rows per row of the chin edge's half-span: 2 rows either side (a 4-row fall) on
/// a face up to about 175 px high, as in a 260×378 frame, where it was set.
const CHIN_FACE_ROWS_PER_HALF_SPAN: f64 = 70.0;

/// The first row of `band` where the brightness falls by `MIN_CHIN_EDGE_SHARE` of the chin's
/// over `2 * half` rows (at a local maximum of the fall), followed down while it still falls
/// at half that rate, and the darkest row of that stretch. A fall that stops (a dark collar
/// or a turtleneck right under the chin, flat but for its noise) ends the chin there, not at
/// the darkest speck of the cloth below.
fn bottom_of_first_fall(img: &RgbImage, band: Rect, half: usize) -> Option<f64> {
    let profile: Vec<f32> = (band.y0..band.y1)
        .map(|y| {
            (band.x0..band.x1)
                .map(|x| luma(*img.get_pixel(x, y)))
                .sum::<f32>()
                / (band.x1 - band.x0) as f32
        })
        .collect();
    // drop[i] = brightness `half` rows above minus `half` rows below row band.y0 + i.
    let drop = |i: usize| profile[i - half] - profile[i + half];
    // The chin's skin is the brightest part of the band's upper half: the edge is a share of
    // it, so that a dark chin's edge counts as a light one's does.
    let skin = profile[..profile.len() / 2]
        .iter()
        .copied()
        .fold(0.0, f32::max);
    let least = (MIN_CHIN_EDGE_SHARE * skin).max(MIN_CHIN_EDGE);
    let steepest = (half + 1..profile.len().saturating_sub(half + 1))
        .find(|&i| drop(i) >= least && drop(i) >= drop(i - 1) && drop(i) >= drop(i + 1))?;
    let mut falling = steepest;
    while falling + half + 1 < profile.len() && drop(falling + 1) >= least / 2.0 {
        falling += 1;
    }
    let darkest = (steepest..=falling + half)
        .min_by(|&a, &b| profile[a].total_cmp(&profile[b]))
        .unwrap_or(steepest);
    Some(f64::from(band.y0) + darkest as f64)
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

/// Hue in degrees: 0 red, 60 yellow, 120 green, 240 blue (0 for a grey).
pub fn hue(p: Rgb<u8>) -> f32 {
    let [r, g, b] = p.0.map(f32::from);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let c = max - min;
    if c == 0.0 {
        return 0.0;
    }
    let sector = if max == r {
        ((g - b) / c).rem_euclid(6.0)
    } else if max == g {
        (b - r) / c + 2.0
    } else {
        (r - g) / c + 4.0
    };
    sector * 60.0
}

/// Below this chroma a colour is one hair takes whatever its hue: black, brown-black, grey
/// and white hair, with the tint a white balance or a lamp gives them.
const HAIR_NEUTRAL_CHROMA: f32 = 40.0;
/// The hues hair with colour takes, from auburn through brown and golden to blonde (and the
/// green cast of pool water in it), up to how colourful it gets (the deepest copper about 130).
const HAIR_HUES: std::ops::RangeInclusive<f32> = 8.0..=70.0;
const HAIR_MAX_CHROMA: f32 = 150.0;
/// Red hues beyond auburn (330-8°) are hair, wine-red dyes among them, below this chroma; a
/// red cap in the light is more saturated. Blue, green, purple and pink are cloth (or a dye
/// this rule cannot tell from it).
const RED_HAIR_MAX_CHROMA: f32 = 100.0;
/// A colour within this many degrees of the face's own hue is skin (a bald crown or a high
/// hairline), whatever the hair hues say (pink skin is about 0-10°).
const SKIN_HUE_TOLERANCE: f32 = 12.0;

/// Whether a colour could be hair or skin, given the face's skin hue.
fn hair_or_skin(p: Rgb<u8>, skin_hue: f32) -> bool {
    let c = chroma(p);
    if c < HAIR_NEUTRAL_CHROMA {
        return true;
    }
    let h = hue(p);
    let off_skin = (h - skin_hue).abs();
    let near_skin = off_skin.min(360.0 - off_skin) <= SKIN_HUE_TOLERANCE;
    let red = !(*HAIR_HUES.start()..330.0).contains(&h);
    c <= HAIR_MAX_CHROMA && (HAIR_HUES.contains(&h) || near_skin) || red && c < RED_HAIR_MAX_CHROMA
}

/// Fewest crown pixels, not background, that a share is taken of.
const MIN_CROWN_PIXELS: u32 = 40;

/// The share of the crown in colours that neither hair nor skin takes: cloth, a hat or a
/// head covering. The crown is the middle half of the head (as `hair_top` scans it) from the
/// top of the hair down 0.6 of the way to the forehead's top (the face mesh's point 10, which
/// sits at or just below the hairline): hair on a bare head, the hat's own crown on a covered
/// one. Backdrop pixels are passed over. `None` when fewer than `MIN_CROWN_PIXELS` are seen
/// (nothing stands above the forehead, or a covering as white as the backdrop).
pub fn crown_cloth_share(
    img: &RgbImage,
    face: &FaceBox,
    forehead_y: f64,
    top: u32,
    bg: [f32; 3],
    skin_hue: f32,
) -> Option<f64> {
    let (w, h) = img.dimensions();
    let top = f64::from(top);
    let r = Rect::clipped(
        face.centre_x() - face.width / 4.0,
        top + 1.0,
        face.centre_x() + face.width / 4.0,
        top + 0.6 * (forehead_y - top),
        w,
        h,
    )?;
    let (mut seen, mut cloth) = (0u32, 0u32);
    for y in r.y0..r.y1 {
        for x in r.x0..r.x1 {
            let p = *img.get_pixel(x, y);
            if is_background(p, bg) {
                continue;
            }
            seen += 1;
            cloth += u32::from(!hair_or_skin(p, skin_hue));
        }
    }
    (seen >= MIN_CROWN_PIXELS).then(|| f64::from(cloth) / f64::from(seen))
}

/// How far a brim stands out: the silhouette above the forehead reaching past anything of the
/// head beside and below the eyes (hair, ears), on the side where it reaches less, as a share
/// of the face box's width. A brim stands out on both sides above the head, by half a face
/// width or more on a real hat; hair is about as wide beside the eyes as above them, and a bun
/// or a strand stands out on one side only. "Above the forehead" runs from the top of the head
/// down to halfway between the forehead's top and the eyes (a brim sits across the forehead);
/// "below" from the eyes halfway to the chin, where the ears are and shoulders are not. 0 when
/// nothing reaches past.
pub fn brim_overhang(
    img: &RgbImage,
    face: &FaceBox,
    bg: [f32; 3],
    top: u32,
    (forehead_y, eyes_y, chin): (f64, f64, f64),
) -> f64 {
    let h = img.height();
    let row = |v: f64| (v.max(0.0) as u32).min(h);
    let (brow, eyes, mouth) = (
        row((forehead_y + eyes_y) / 2.0),
        row(eyes_y),
        row((eyes_y + chin) / 2.0),
    );
    let cx = face.centre_x();
    // How far out the silhouette reaches on each side, at most, over rows `y0..y1` (none: 0).
    let reach = |y0: u32, y1: u32| {
        if y1 <= y0 {
            return (0.0, 0.0);
        }
        let (l, r) = silhouette_extent(img, face, bg, y0, y1);
        ((cx - f64::from(l)).max(0.0), (f64::from(r) - cx).max(0.0))
    };
    let (above, below) = (reach(top, brow), reach(eyes, mouth));
    let overhang = (above.0 - below.0).min(above.1 - below.1);
    (overhang / face.width.max(1.0)).max(0.0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A chin 60 px wide whose rows have the brightness `rows` gives, from row 0 down.
    fn chin_of(rows: impl Fn(u32) -> u8, h: u32) -> (RgbImage, Rect) {
        let img = RgbImage::from_fn(60, h, |_, y| {
            let v = rows(y);
            Rgb([v, v, v])
        });
        (
            img,
            Rect {
                x0: 0,
                y0: 0,
                x1: 60,
                y1: h,
            },
        )
    }

    /// Rows of skin at 180 down to row 20, then `below` from row 20 on (plus a little noise).
    fn chin_over(below: impl Fn(u32) -> f32) -> (RgbImage, Rect) {
        chin_of(
            |y| {
                let noise = [0.0, 2.0, -1.0, 1.0, -2.0][y as usize % 5];
                (if y < 20 { 180.0 } else { below(y) } + noise) as u8
            },
            60,
        )
    }

    #[test]
    fn the_chin_is_the_bottom_of_its_fall_not_its_steepest_row() {
        // A sharp chin over a neck in shadow that lightens again: the darkest row, 22.
        let (img, band) = chin_over(|y| if y < 23 { 60.0 } else { 120.0 });
        assert_eq!(bottom_of_first_fall(&img, band, 2), Some(22.0));
        // A chin whose underside turns from the light over 10 rows (8 levels a row, as
        // Obama's in a frame) to a crease at row 29, over a neck lit again: the crease, not
        // the steepest row.
        let gradual = |per_row: f32, rows: u32| {
            move |y: u32| {
                if y < 20 + rows {
                    180.0 - per_row * (y - 19) as f32
                } else {
                    180.0 - per_row * rows as f32 + 40.0
                }
            }
        };
        let (img, band) = chin_over(gradual(8.0, 10));
        let chin = bottom_of_first_fall(&img, band, 2).unwrap();
        assert!((28.0..=30.0).contains(&chin), "{chin}");
        // The same chin 3 times larger, as in a large photo (3 levels a row over 30 rows):
        // a 4-row fall never reaches the edge's contrast; the span that grows with the face
        // does, and finds the crease.
        let (img, band) = chin_of(
            |y| (if y < 20 { 180.0 } else { gradual(3.0, 30)(y) }) as u8,
            90,
        );
        assert_eq!(bottom_of_first_fall(&img, band, 2), None);
        let chin = bottom_of_first_fall(&img, band, 6).unwrap();
        assert!((47.0..=50.0).contains(&chin), "{chin}");
        // A black turtleneck right under the chin, flat but for its noise, and darker still
        // further down: the chin ends where its fall stops.
        let (img, band) = chin_over(|y| 25.0 - (y as f32 - 20.0) * 0.2);
        let chin = bottom_of_first_fall(&img, band, 2).unwrap();
        assert!((19.0..=23.0).contains(&chin), "{chin}");
        // No edge at all (a beard, a low-contrast chin): none.
        let (img, band) = chin_over(|_| 176.0);
        assert_eq!(bottom_of_first_fall(&img, band, 2), None);
    }

    #[test]
    fn hues_are_in_degrees_round_the_colour_wheel() {
        for (rgb, degrees) in [
            ([255, 0, 0], 0.0),
            ([255, 255, 0], 60.0),
            ([0, 255, 0], 120.0),
            ([0, 255, 255], 180.0),
            ([0, 0, 255], 240.0),
            ([255, 0, 255], 300.0),
            ([128, 128, 128], 0.0),
        ] {
            assert_eq!(hue(Rgb(rgb)), degrees, "{rgb:?}");
        }
    }

    /// Hair of every natural colour, a wine-red dye and a bald crown are hair or skin; the
    /// colours of cloth are not. Skin hue 20° (a light face), or 4° (a pink one) where said.
    #[test]
    fn hair_and_skin_colours_are_told_from_cloth() {
        let hair = [
            ("black", [22, 20, 24]),
            ("blue-black in cold light", [24, 30, 52]),
            ("dark brown", [62, 44, 34]),
            ("chestnut", [120, 72, 40]),
            ("copper", [184, 92, 50]),
            ("golden blonde", [196, 160, 100]),
            ("platinum", [226, 220, 200]),
            ("grey", [150, 148, 146]),
            ("white", [232, 232, 228]),
            ("wine-red dye", [110, 30, 48]),
            ("a bald crown", [214, 168, 146]),
        ];
        for (what, rgb) in hair {
            assert!(hair_or_skin(Rgb(rgb), 20.0), "{what}");
        }
        assert!(hair_or_skin(Rgb([226, 160, 164]), 4.0), "a pink scalp");
        let cloth = [
            ("navy", [32, 42, 82]),
            ("royal blue", [45, 75, 170]),
            ("green", [45, 110, 62]),
            ("purple", [90, 40, 120]),
            ("pink", [230, 120, 170]),
            ("red cap", [182, 32, 38]),
        ];
        for (what, rgb) in cloth {
            assert!(!hair_or_skin(Rgb(rgb), 20.0), "{what}");
        }
    }
}
