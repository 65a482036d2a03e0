//! QR images of a presentation, and QR codes read back from photos and camera frames.

use image::{GrayImage, Rgb, RgbImage};
use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::{Color, EcLevel, Version};

use crate::CredentialError;

/// Module colour: black for a normal licence, red for any other (R4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrColour {
    Black,
    Red,
}

impl QrColour {
    fn rgb(self) -> Rgb<u8> {
        match self {
            QrColour::Black => Rgb([0, 0, 0]),
            // Dark enough for any scanner's greyscale threshold (luma 57).
            QrColour::Red => Rgb([190, 0, 0]),
        }
    }
}

/// The quiet zone the QR standard asks for, in modules.
const QUIET_ZONE: u32 = 4;

/// A QR symbol's modules, row by row, `true` for dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    version: u8,
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// The QR version, 1-40.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }
}

/// Whether a mask inverts the module in column `x`, row `y`.
type MaskRule = fn(usize, usize) -> bool;

/// The eight data masks in the standard's order (000 to 111), with their rules.
const MASKS: [(MaskPattern, MaskRule); 8] = [
    (MaskPattern::Checkerboard, |x, y| (x + y) % 2 == 0),
    (MaskPattern::HorizontalLines, |_, y| y % 2 == 0),
    (MaskPattern::VerticalLines, |x, _| x % 3 == 0),
    (MaskPattern::DiagonalLines, |x, y| (x + y) % 3 == 0),
    (MaskPattern::LargeCheckerboard, |x, y| {
        (y / 2 + x / 3) % 2 == 0
    }),
    (MaskPattern::Fields, |x, y| (x * y) % 2 + (x * y) % 3 == 0),
    (MaskPattern::Diamonds, |x, y| {
        ((x * y) % 2 + (x * y) % 3) % 2 == 0
    }),
    (MaskPattern::Meadow, |x, y| {
        ((x + y) % 2 + (x * y) % 3) % 2 == 0
    }),
];

/// Encodes QR text at error-correction level M (15 % of the code may be damaged).
///
/// The `qrcode` crate does the segmenting, the Reed-Solomon codewords and the drawing. Its
/// mask choice spends about 13 ms scoring the eight masks of a version-25 code, so the
/// masks are applied and scored here on a plain grid instead: the same rules with the same
/// tie-break, hence the same symbol as `QrCode::with_error_correction_level` (a test holds
/// us to it), in about a millisecond.
pub fn encode(text: &str) -> Result<QrMatrix, CredentialError> {
    let too_long = |_| CredentialError::Malformed("too long for a QR code");
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M).map_err(too_long)?;
    let version = bits.version();
    let Version::Normal(number) = version else {
        return Err(CredentialError::Malformed("unexpected micro QR"));
    };
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)
        .map_err(too_long)?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let width = version.width() as usize;
    // Each module's colour before masking, and whether a mask applies to it (data and
    // error-correction modules do; function patterns don't).
    let mut unmasked = Vec::with_capacity(width * width);
    let mut maskable = Vec::with_capacity(width * width);
    for y in 0..width as i16 {
        for x in 0..width as i16 {
            let (dark, data) = match canvas.get(x, y) {
                Module::Unmasked(c) => (c == Color::Dark, true),
                Module::Masked(c) => (c == Color::Dark, false),
                Module::Empty => (false, true),
            };
            unmasked.push(dark);
            maskable.push(data);
        }
    }
    let mut best: Option<(u32, Vec<bool>)> = None;
    for (pattern, inverts) in MASKS {
        let mut dark = unmasked.clone();
        for (y, (row, maskable)) in dark
            .chunks_exact_mut(width)
            .zip(maskable.chunks_exact(width))
            .enumerate()
        {
            for (x, (module, &maskable)) in row.iter_mut().zip(maskable).enumerate() {
                *module ^= maskable && inverts(x, y);
            }
        }
        draw_format_info(&mut dark, width, pattern);
        let score = penalty(&dark, width);
        // Strictly lower only: on a tie the earlier mask wins, as in `qrcode`.
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, dark));
        }
    }
    let (_, dark) = best.expect("eight masks were scored");
    Ok(QrMatrix {
        version: number as u8,
        width,
        dark,
    })
}

/// Writes the format information (error-correction level M and the mask) of a `width`-wide
/// symbol. It sits in the same places relative to the corners in every version, so it is
/// copied from a version-1 symbol that `qrcode` draws with the same mask: the block beside
/// the top-left finder, column 8 below the bottom-left finder, and row 8 left of the
/// top-right finder (the copied block also holds finder, separator and timing modules, which
/// are the same in every version).
fn draw_format_info(dark: &mut [bool], width: usize, pattern: MaskPattern) {
    const SMALL: usize = 21;
    let mut small = Canvas::new(Version::Normal(1), EcLevel::M);
    small.draw_all_functional_patterns();
    small.apply_mask(pattern);
    let shift = width - SMALL;
    for y in 0..SMALL {
        for x in 0..SMALL {
            let target = match (x, y) {
                (0..=8, 0..=8) => (x, y),
                (8, 13..) => (x, y + shift),
                (13.., 8) => (x + shift, y),
                _ => continue,
            };
            dark[target.1 * width + target.0] = small.get(x as i16, y as i16).is_dark();
        }
    }
}

/// The mask penalty of ISO/IEC 18004 §7.8.3 as `qrcode` 0.14 scores it: runs of five or
/// more, 2×2 blocks, finder-like 1:1:3:1:1 patterns without four light modules on one side
/// (minus the 2 × 9 real finder rows), and the dark/light balance.
fn penalty(dark: &[bool], width: usize) -> u32 {
    // One pass over the rows; each column keeps its own running state.
    let mut columns = vec![LineScore::default(); width];
    let mut score = 0;
    let mut above: Option<&[bool]> = None;
    for row in dark.chunks_exact(width) {
        let mut across = LineScore::default();
        for (&d, column) in row.iter().zip(&mut columns) {
            score += across.push(Some(d)) + column.push(Some(d));
        }
        score += across.finish();
        if let Some(above) = above {
            // Branch-free: the colours are as good as random, so branches mispredict.
            for (u, l) in above.windows(2).zip(row.windows(2)) {
                score += 3 * u32::from((u[0] == u[1]) & (l[0] == l[1]) & (u[0] == l[0]));
            }
        }
        above = Some(row);
    }
    score += columns.iter_mut().map(LineScore::finish).sum::<u32>();
    // Every finder pattern shows its 1:1:3:1:1 core in three rows and three columns.
    score = score.saturating_sub(2 * 360);
    let dark_count: usize = dark.iter().map(|&d| usize::from(d)).sum();
    let ratio = dark_count * 200 / dark.len();
    score + ratio.abs_diff(100) as u32
}

/// The penalties of one row or column, fed a module at a time: runs of five or more modules
/// of one colour (length − 2 points each), and 40 points for each dark-light-dark×3-light-dark
/// pattern lacking four light modules (beyond the edge counts as light) on one side or the
/// other.
#[derive(Debug, Clone, Copy, Default)]
struct LineScore {
    run: u32,
    previous: Option<bool>,
    /// The last 15 modules (4 before, the 7 of the pattern, 4 after), newest in bit 0; the
    /// line is padded with four light modules at each end.
    window: u32,
}

impl LineScore {
    const CORE: u32 = 0b1011101 << 4;
    const CORE_MASK: u32 = 0b111_1111 << 4;
    const AFTER: u32 = 0b1111;
    const BEFORE: u32 = 0b1111 << 11;

    /// Takes the next module (`None` past the end) and returns the points it completes.
    fn push(&mut self, module: Option<bool>) -> u32 {
        let same = u32::from(module.is_some() && module == self.previous);
        let ended = self.run * (1 - same);
        let mut points = if ended >= 5 { ended - 2 } else { 0 };
        self.run = self.run * same + 1;
        self.previous = module;
        self.window = ((self.window << 1) | u32::from(module == Some(true))) & 0x7fff;
        let w = self.window;
        if w & Self::CORE_MASK == Self::CORE && (w & Self::BEFORE == 0 || w & Self::AFTER == 0) {
            points += 40;
        }
        points
    }

    /// The points the end of the line completes.
    fn finish(&mut self) -> u32 {
        (0..4).map(|_| self.push(None)).sum()
    }
}

/// The QR version (1-40) the text needs at level M.
pub fn qr_version(text: &str) -> Result<u8, CredentialError> {
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M)
        .map_err(|_| CredentialError::Malformed("too long for a QR code"))?;
    match bits.version() {
        Version::Normal(v) => Ok(v as u8),
        Version::Micro(_) => Err(CredentialError::Malformed("unexpected micro QR")),
    }
}

/// Renders QR text with `module_px` pixels per module and the standard quiet zone.
pub fn render(text: &str, colour: QrColour, module_px: u32) -> Result<RgbImage, CredentialError> {
    let code = encode(text)?;
    let module_px = module_px.max(1) as usize;
    let side = (code.width + 2 * QUIET_ZONE as usize) * module_px;
    let ink = colour.rgb().0;
    let mut pixels = vec![255u8; side * side * 3];
    // One pixel row per module row, copied down `module_px` times.
    for (my, modules) in code.dark.chunks_exact(code.width).enumerate() {
        let top = (QUIET_ZONE as usize + my) * module_px;
        let first_row = &mut pixels[top * side * 3..(top + 1) * side * 3];
        for (mx, _) in modules.iter().enumerate().filter(|(_, &d)| d) {
            let left = (QUIET_ZONE as usize + mx) * module_px * 3;
            for px in first_row[left..left + module_px * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&ink);
            }
        }
        for r in 1..module_px {
            pixels.copy_within(top * side * 3..(top + 1) * side * 3, (top + r) * side * 3);
        }
    }
    Ok(RgbImage::from_raw(side as u32, side as u32, pixels).expect("buffer sized for the image"))
}

/// Longest side a picture is reduced to before searching it for a QR code: large camera
/// frames are scaled down first, which is faster and no less reliable for a code filling a
/// good part of the view.
pub const DECODE_MAX_SIDE: u32 = 1280;

/// Every QR text found in a greyscale picture (a photo or a camera frame).
///
/// quirc (here its Rust port, quircs) finds a dense code turned by a few degrees, as a
/// hand-held phone shows it, but then often misplaces the code's fourth corner and misreads
/// the modules. So a code that is found but not read is turned upright by the angle of its
/// top edge and read once more; and a picture where nothing is read is searched again at
/// two smaller scales, where the finder patterns fall differently on the pixels. A frame
/// with no code at all costs three quick passes (about 20 ms for 1280×720 here), which
/// leaves a live camera preview time for the next frame.
pub fn decode(picture: &GrayImage) -> Vec<String> {
    let (w, h) = picture.dimensions();
    let longest = w.max(h);
    for (attempt, factor) in SCALES.into_iter().enumerate() {
        let side = (f64::from(longest.min(DECODE_MAX_SIDE)) * factor) as u32;
        if attempt > 0 && side < MIN_SIDE {
            break;
        }
        let scaled;
        let img = if side < longest {
            let scale = f64::from(side) / f64::from(longest);
            let (sw, sh) = ((f64::from(w) * scale) as u32, (f64::from(h) * scale) as u32);
            scaled = image::imageops::resize(
                picture,
                sw.max(1),
                sh.max(1),
                image::imageops::FilterType::Triangle,
            );
            &scaled
        } else {
            picture
        };
        let Reading {
            texts,
            misread,
            finder_patterns,
        } = read(img);
        if !texts.is_empty() {
            return texts;
        }
        // Found but unreadable: usually one code, sometimes a false grouping beside it.
        if let Some(texts) = misread
            .iter()
            .take(MAX_RETRIES)
            .map(|corners| read(&upright(img, corners)).texts)
            .find(|texts| !texts.is_empty())
        {
            return texts;
        }
        if finder_patterns < 2 {
            // Not even part of a code in view: other scales won't find one either.
            break;
        }
    }
    Vec::new()
}

/// Sizes a picture is searched at, relative to `DECODE_MAX_SIDE`: quirc's finder-pattern
/// search misses some codes at one scale and finds them at another.
const SCALES: [f64; 3] = [1.0, 0.8, 0.65];

/// Pictures are not searched again below this size.
const MIN_SIDE: u32 = 320;

/// Codes found but not read that are given a second, upright reading.
const MAX_RETRIES: usize = 3;

fn read(img: &GrayImage) -> Reading {
    let mut decoder = quircs::Quirc::default();
    let mut reading = Reading::default();
    let codes = decoder.identify(img.width() as usize, img.height() as usize, img.as_raw());
    for code in codes.flatten() {
        match code.decode() {
            Ok(data) => reading.texts.extend(String::from_utf8(data.payload).ok()),
            Err(_) => reading.misread.push(code.corners),
        }
    }
    reading.finder_patterns = decoder.num_capstones();
    reading
}

/// What one pass over a picture found.
#[derive(Default)]
struct Reading {
    /// The texts read.
    texts: Vec<String>,
    /// The corners of codes that were found but could not be read.
    misread: Vec<[quircs::Point; 4]>,
    /// Finder patterns (the three large squares of a code) seen.
    finder_patterns: usize,
}

/// The part of the picture around a code's corners (top-left, top-right, bottom-right,
/// bottom-left), turned so that the code's top edge is level (bilinear, white outside).
fn upright(img: &GrayImage, corners: &[quircs::Point; 4]) -> GrayImage {
    let xs = corners.map(|p| f64::from(p.x));
    let ys = corners.map(|p| f64::from(p.y));
    let angle = (ys[1] - ys[0]).atan2(xs[1] - xs[0]);
    let (min_x, max_x) = (
        xs.iter().copied().fold(f64::MAX, f64::min),
        xs.iter().copied().fold(f64::MIN, f64::max),
    );
    let (min_y, max_y) = (
        ys.iter().copied().fold(f64::MAX, f64::min),
        ys.iter().copied().fold(f64::MIN, f64::max),
    );
    let (cx, cy) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
    // Room for the code turned level plus a quiet zone, bounded by the picture itself.
    let longest = f64::from(img.width().max(img.height()));
    let side = ((max_x - min_x).hypot(max_y - min_y) * 1.15)
        .min(longest * 1.5)
        .max(1.0) as u32;
    let half = f64::from(side) / 2.0;
    let (s, c) = angle.sin_cos();
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    GrayImage::from_fn(side, side, |x, y| {
        let (dx, dy) = (f64::from(x) - half, f64::from(y) - half);
        // The output's x axis runs along the code's top edge in the picture.
        let (sx, sy) = (cx + c * dx - s * dy, cy + s * dx + c * dy);
        if sx < 0.0 || sy < 0.0 || sx >= w - 1.0 || sy >= h - 1.0 {
            return image::Luma([255]);
        }
        let (x0, y0) = (sx as u32, sy as u32);
        let (fx, fy) = (sx - f64::from(x0), sy - f64::from(y0));
        let p = |x: u32, y: u32| f64::from(img.get_pixel(x, y)[0]);
        let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
        let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy).round() as u8])
    })
}
