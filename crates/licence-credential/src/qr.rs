//! QR images of a presentation, and QR codes read back from photos and camera frames.

use image::{GrayImage, Rgb, RgbImage};
use qrcode::{Color, EcLevel, QrCode};

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

/// Encodes QR text at error-correction level M (15 % of the code may be damaged).
fn encode(text: &str) -> Result<QrCode, CredentialError> {
    QrCode::with_error_correction_level(text, EcLevel::M)
        .map_err(|_| CredentialError::Malformed("too long for a QR code"))
}

/// The QR version (1-40) the text needs at level M.
pub fn qr_version(text: &str) -> Result<u8, CredentialError> {
    match encode(text)?.version() {
        qrcode::Version::Normal(v) => Ok(v as u8),
        qrcode::Version::Micro(_) => Err(CredentialError::Malformed("unexpected micro QR")),
    }
}

/// Renders QR text with `module_px` pixels per module and the standard quiet zone.
pub fn render(text: &str, colour: QrColour, module_px: u32) -> Result<RgbImage, CredentialError> {
    let code = encode(text)?;
    let modules = code.width() as u32;
    let colours = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * module_px.max(1);
    let ink = colour.rgb();
    Ok(RgbImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / module_px.max(1), y / module_px.max(1));
        let inside = (QUIET_ZONE..QUIET_ZONE + modules).contains(&mx)
            && (QUIET_ZONE..QUIET_ZONE + modules).contains(&my);
        if inside
            && colours[((my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)) as usize] == Color::Dark
        {
            ink
        } else {
            Rgb([255, 255, 255])
        }
    }))
}

/// Longest side a picture is reduced to before searching it for a QR code: large camera
/// frames are scaled down first, which is faster and no less reliable for a code filling a
/// good part of the view.
pub const DECODE_MAX_SIDE: u32 = 1280;

/// Every QR text found in a greyscale picture (a photo or a camera frame). rqrr loses dense
/// codes turned more than a few degrees, as a hand-held phone often is: when nothing is found
/// the picture is searched again turned back in 2° steps up to ±8°.
pub fn decode(picture: &GrayImage) -> Vec<String> {
    let (w, h) = picture.dimensions();
    let scale = (f64::from(DECODE_MAX_SIDE) / f64::from(w.max(h))).min(1.0);
    let small;
    let img = if scale < 1.0 {
        let (sw, sh) = ((f64::from(w) * scale) as u32, (f64::from(h) * scale) as u32);
        small = image::imageops::resize(
            picture,
            sw.max(1),
            sh.max(1),
            image::imageops::FilterType::Triangle,
        );
        &small
    } else {
        picture
    };
    let found = decode_as_is(img);
    if !found.is_empty() {
        return found;
    }
    [2.0, -2.0, 4.0, -4.0, 6.0, -6.0, 8.0, -8.0]
        .into_iter()
        .map(|degrees| decode_as_is(&rotate(img, degrees)))
        .find(|f| !f.is_empty())
        .unwrap_or_default()
}

fn decode_as_is(img: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32)[0],
    );
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

/// Turns a picture by `degrees` about its centre (bilinear), filling with white.
fn rotate(img: &GrayImage, degrees: f64) -> GrayImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
        if sx < 0.0 || sy < 0.0 || sx >= f64::from(w - 1) || sy >= f64::from(h - 1) {
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
