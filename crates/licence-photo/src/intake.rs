//! The intake guard: decides whether bytes are an image we will decode at all, and decodes
//! them within explicit limits, applying the EXIF orientation. A large JPEG can be decoded at
//! a fraction of its size in the DCT domain (libjpeg-turbo's scaled IDCT, through `mozjpeg`),
//! which is where most of a phone photo's check time went.

use std::io::Cursor;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver};
use std::thread;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use mozjpeg_sys::{c_int, jpeg_common_struct, jpeg_error_mgr, msg_parm_union};

use crate::problem::ProblemCode;

/// Largest file accepted: a 12-megapixel phone JPEG is 3-8 MB.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// Largest picture accepted, in pixels (a 48-megapixel sensor).
pub const MAX_PIXELS: u64 = 48_000_000;
/// Longest side accepted.
pub const MAX_SIDE: u32 = 12_000;
/// Memory the decoder may allocate: an RGBA8 picture of `MAX_PIXELS` plus working room.
const MAX_ALLOC: u64 = MAX_PIXELS * 4 + 16 * 1024 * 1024;

/// What the first bytes say the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Supported(ImageFormat),
    /// HEIC/HEIF (iPhone default): common, but not decodable here.
    Heif,
    /// A known image format we do not take (GIF, BMP, TIFF …).
    Other(&'static str),
    Unknown,
}

pub fn sniff(bytes: &[u8]) -> Sniffed {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        Sniffed::Supported(ImageFormat::Jpeg)
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        Sniffed::Supported(ImageFormat::Png)
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Sniffed::Supported(ImageFormat::WebP)
    } else if at(4, b"ftyp")
        && [
            &b"heic"[..],
            b"heix",
            b"hevc",
            b"heim",
            b"heis",
            b"mif1",
            b"msf1",
            b"avif",
        ]
        .iter()
        .any(|brand| at(8, brand))
    {
        Sniffed::Heif
    } else if at(0, b"GIF8") {
        Sniffed::Other("GIF")
    } else if at(0, b"BM") {
        Sniffed::Other("BMP")
    } else if at(0, b"II*\0") || at(0, b"MM\0*") {
        Sniffed::Other("TIFF")
    } else {
        Sniffed::Unknown
    }
}

/// Why intake refused the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ProblemCode,
    /// Extra detail for the message (the format's name, the size found).
    pub detail: String,
}

fn refuse(code: ProblemCode, detail: impl Into<String>) -> Refusal {
    Refusal {
        code,
        detail: detail.into(),
    }
}

/// A decoded photo, upright, with the date it was taken if its EXIF data says.
#[derive(Debug)]
pub struct Decoded {
    pub rgb: image::RgbImage,
    pub taken: Option<time::Date>,
    /// How many of the photo's pixels, along each side, one of `rgb`'s stands for: 1 when
    /// decoded at full size, 2, 4 or 8 when decoded reduced (`decode_reduced`).
    pub reduction: u32,
}

/// Decodes an encoded photo to upright RGB, or says why not. Dimensions are read from the
/// header and checked before any pixel buffer is allocated, so a decompression bomb (a small
/// file declaring a huge picture) is refused cheaply.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Refusal> {
    decode_reduced(bytes, u32::MAX)
}

/// Like `decode`, but a baseline JPEG whose shorter side is at least twice `min_short_side`
/// is decoded at ½, ¼ or ⅛ of its size, the most reduced that keeps that side at least
/// `min_short_side` (`Decoded::reduction` says which). Scaling in the DCT domain skips most
/// of the inverse transform, the colour conversion and the memory of a full-size picture;
/// the entropy decoding is still whole, so a photo cut short or corrupt is refused as by
/// `decode`. Any other file, or a JPEG libjpeg will not take at reduced size (progressive,
/// CMYK, 12-bit, arithmetic-coded), is decoded at full size.
pub fn decode_reduced(bytes: &[u8], min_short_side: u32) -> Result<Decoded, Refusal> {
    decode_reduced_with_copy(bytes, min_short_side, None::<NoCopy>).map(|(decoded, _)| decoded)
}

/// What `decode_reduced` asks to be made of the rows on the way: nothing, and no thread.
type NoCopy = for<'a> fn(u32, u32, Rows<'a>) -> Option<RgbImage>;

/// Rows of a picture, in order, as the decoder finishes them: for work that can start before
/// the whole picture is decoded, on another core.
pub(crate) struct Rows<'a> {
    row_len: usize,
    band_rows: usize,
    arrived: Vec<&'a [u8]>,
    more: Receiver<&'a [u8]>,
}

impl<'a> Rows<'a> {
    /// Row `r` (from the top, as decoded), waiting for it; `None` when the decoder stopped
    /// before it (a corrupt file: the decode is refused then anyway).
    pub(crate) fn row(&mut self, r: usize) -> Option<&'a [u8]> {
        let band = r / self.band_rows;
        while self.arrived.len() <= band {
            self.arrived.push(self.more.recv().ok()?);
        }
        let at = (r % self.band_rows) * self.row_len;
        self.arrived[band].get(at..at + self.row_len)
    }
}

/// Rows a JPEG decoded reduced is handed on in.
const BAND_ROWS: usize = 32;

/// Like `decode_reduced`, and `copy(width, height, rows)`, if given, makes a picture from the
/// rows of a JPEG decoded reduced, on another thread while the decoder runs, and that picture
/// is turned upright as the photo is. The second result is `None` where the photo was decoded
/// otherwise (or no thread could be started): the caller makes it from the photo then.
pub(crate) fn decode_reduced_with_copy(
    bytes: &[u8],
    min_short_side: u32,
    copy: Option<impl FnOnce(u32, u32, Rows<'_>) -> Option<RgbImage> + Send>,
) -> Result<(Decoded, Option<RgbImage>), Refusal> {
    if bytes.is_empty() {
        return Err(refuse(ProblemCode::Unreadable, "empty file"));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(refuse(
            ProblemCode::TooLarge,
            format!("{} MB", bytes.len() / (1024 * 1024)),
        ));
    }
    let format = match sniff(bytes) {
        Sniffed::Supported(f) => f,
        Sniffed::Heif => return Err(refuse(ProblemCode::UnsupportedFormat, "HEIC")),
        Sniffed::Other(name) => return Err(refuse(ProblemCode::UnsupportedFormat, name)),
        Sniffed::Unknown => return Err(refuse(ProblemCode::Unreadable, "not an image")),
    };
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(refuse(ProblemCode::Unreadable, "truncated JPEG"));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| classify(&e))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(refuse(ProblemCode::TooLarge, format!("{w}×{h}")));
    }
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = exif
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let taken = exif.as_deref().and_then(date_taken);
    let reduction = [8, 4, 2]
        .into_iter()
        .find(|r| w.min(h) / r >= min_short_side)
        .unwrap_or(1);
    let reduced = (format == ImageFormat::Jpeg && reduction > 1 && jpeg_is_baseline(bytes))
        .then(|| jpeg_reduced(bytes, (w, h), reduction, orientation, copy))
        .flatten();
    let (picture, made, reduction) = match reduced {
        Some((upright_picture, made)) => (upright_picture, made, reduction),
        None => {
            let picture = DynamicImage::from_decoder(decoder).map_err(|e| classify(&e))?;
            (upright(picture.into_rgb8(), orientation), None, 1)
        }
    };
    let decoded = Decoded {
        rgb: picture,
        taken,
        reduction,
    };
    Ok((decoded, made.map(|copy| upright(copy, orientation))))
}

/// A quarter turn of an EXIF orientation (a phone held upright writes its landscape sensor's
/// pixels and orientation 6): pixel (x, y) of a w×h picture goes to (x', y') of the h×w
/// upright one, x' from y and y' from x, each counted from the start or from the end.
#[derive(Debug, Clone, Copy)]
struct QuarterTurn {
    x_from_end: bool,
    y_from_end: bool,
}

impl QuarterTurn {
    /// As `DynamicImage::apply_orientation` turns a picture (a flip after a turn included).
    fn of(orientation: Orientation) -> Option<QuarterTurn> {
        let (x_from_end, y_from_end) = match orientation {
            Orientation::Rotate90 => (true, false),
            Orientation::Rotate270 => (false, true),
            Orientation::Rotate90FlipH => (false, false),
            Orientation::Rotate270FlipH => (true, true),
            _ => return None,
        };
        Some(QuarterTurn {
            x_from_end,
            y_from_end,
        })
    }

    /// Puts rows `first..` of a `w`×`h` picture (`band`, whole rows) into their places in
    /// `out`, the turned picture. Tile by tile, so that the rows read and the rows written
    /// both stay in the cache: the image crate's pixel-by-pixel turn took 9 ms for a 12 MP
    /// photo's half-size picture.
    fn rows_into(self, band: &[u8], first: usize, (w, h): (usize, usize), out: &mut [[u8; 3]]) {
        const TILE: usize = 32;
        let band: &[[u8; 3]] = bytemuck::cast_slice(band);
        let rows = band.len() / w.max(1);
        for y0 in (0..rows).step_by(TILE) {
            for x0 in (0..w).step_by(TILE) {
                for x in x0..(x0 + TILE).min(w) {
                    let line = if self.y_from_end { w - 1 - x } else { x };
                    let line = &mut out[line * h..][..h];
                    for y in y0..(y0 + TILE).min(rows) {
                        let at = first + y;
                        line[if self.x_from_end { h - 1 - at } else { at }] = band[y * w + x];
                    }
                }
            }
        }
    }
}

/// `picture` turned as its EXIF `orientation` says, as `DynamicImage::apply_orientation`
/// turns it (a quarter turn by `QuarterTurn`).
fn upright(picture: RgbImage, orientation: Orientation) -> RgbImage {
    let Some(turn) = QuarterTurn::of(orientation) else {
        let mut picture = DynamicImage::ImageRgb8(picture);
        picture.apply_orientation(orientation);
        return picture.into_rgb8();
    };
    let (w, h) = picture.dimensions();
    let mut out = vec![0u8; picture.as_raw().len()];
    let size = (w as usize, h as usize);
    turn.rows_into(
        picture.as_raw(),
        0,
        size,
        bytemuck::cast_slice_mut(&mut out),
    );
    RgbImage::from_raw(h, w, out).expect("the same number of pixels")
}

/// Whether a JPEG's frame is baseline or extended sequential Huffman (SOF0 or SOF1), 8-bit.
/// Only those are decoded reduced: a progressive frame would make libjpeg hold every
/// coefficient of the picture (up to 288 MB for 48 megapixels), beyond the intake's memory
/// bound, where the full-size decoder is bounded by `MAX_ALLOC`.
fn jpeg_is_baseline(bytes: &[u8]) -> bool {
    let mut at = 2; // after SOI
    while let Some(&[0xFF, marker]) = bytes.get(at..at + 2) {
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            0xC0 | 0xC1 => return bytes.get(at + 4) == Some(&8),
            // Any other start of frame: progressive, lossless, hierarchical, arithmetic.
            0xC2..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return false,
            // A scan or the end before any frame: not a file to decode here.
            0xD8..=0xDA => return false,
            _ => {
                let Some(&[hi, lo]) = bytes.get(at + 2..at + 4) else {
                    return false;
                };
                at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
    false
}

/// A JPEG of `size` decoded at 1/`reduction` of it by libjpeg-turbo (`mozjpeg`) and turned
/// upright by its `orientation`, with what `copy` made of its rows meanwhile (not turned);
/// or `None` if libjpeg will not decode it, or finds anything amiss (`strict_errors`): the
/// caller then decodes at full size, which refuses or reads the file as it would have
/// without this path. A quarter turn is made on another thread as the rows come.
fn jpeg_reduced(
    bytes: &[u8],
    size: (u32, u32),
    reduction: u32,
    orientation: Orientation,
    copy: Option<impl FnOnce(u32, u32, Rows<'_>) -> Option<RgbImage> + Send>,
) -> Option<(RgbImage, Option<RgbImage>)> {
    let numerator = u8::try_from(8 / reduction).ok()?;
    // Unwinding out of libjpeg leaves nothing of ours half-changed: the buffer is dropped.
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut jpeg = mozjpeg::Decompress::builder()
            .with_err(strict_errors())
            .from_mem(bytes)
            .ok()?;
        // Both decoders must read the same header: the limits were checked on the other's.
        if jpeg.size() != (size.0 as usize, size.1 as usize) {
            return None;
        }
        jpeg.scale(numerator);
        let mut started = jpeg.rgb().ok()?;
        let (w, h) = (started.width(), started.height());
        let (w32, h32) = (u32::try_from(w).ok()?, u32::try_from(h).ok()?);
        let row_len = w.checked_mul(3)?;
        let mut rgb = vec![0u8; row_len.checked_mul(h)?];
        let (made, turned) = thread::scope(|scope| {
            let (finished, more) = mpsc::channel();
            let rows = Rows {
                row_len,
                band_rows: BAND_ROWS,
                arrived: Vec::new(),
                more,
            };
            let maker = copy.and_then(|copy| {
                let maker = thread::Builder::new().name("photo-copy".into());
                maker.spawn_scoped(scope, move || copy(w32, h32, rows)).ok()
            });
            let (to_turn, turning) = mpsc::channel::<&[u8]>();
            let turner = QuarterTurn::of(orientation).and_then(|turn| {
                let turn_all = move || {
                    let mut out = vec![0u8; row_len * h];
                    let mut first = 0;
                    for band in turning {
                        turn.rows_into(band, first, (w, h), bytemuck::cast_slice_mut(&mut out));
                        first += band.len() / row_len;
                    }
                    (first == h).then_some(out)
                };
                let turner = thread::Builder::new().name("photo-turn".into());
                turner.spawn_scoped(scope, turn_all).ok()
            });
            for band in rgb.chunks_mut(row_len * BAND_ROWS) {
                let done: &[u8] = started.read_scanlines_into(band).ok()?;
                // A thread that has stopped listening has what it needs.
                if maker.is_some() {
                    let _ = finished.send(done);
                }
                if turner.is_some() {
                    let _ = to_turn.send(done);
                }
            }
            // Each helper waits on its channel for rows: it learns here (or when an error
            // unwinds past) that no more are coming.
            drop((finished, to_turn));
            let made = maker.and_then(|maker| maker.join().ok().flatten());
            let turned = turner.and_then(|turner| turner.join().ok().flatten());
            Some((made, turned))
        })?;
        let picture = match turned {
            Some(turned) => RgbImage::from_raw(h32, w32, turned)?,
            // Not a quarter turn, or no thread to turn it on: turned here, if at all.
            None => upright(RgbImage::from_raw(w32, h32, rgb)?, orientation),
        };
        Some((picture, made))
    }))
    .ok()
    .flatten()
}

/// libjpeg's error handler for the reduced decode. A fatal error unwinds out of the decoder
/// (as the `mozjpeg` crate's own handler does, and without the panic hook, so nothing is
/// printed), and so does a warning: corrupt data libjpeg would fill in and carry on past,
/// where zune-jpeg may refuse the file. `jpeg_reduced` catches either.
fn strict_errors() -> jpeg_error_mgr {
    extern "C-unwind" fn fatal(_: &mut jpeg_common_struct) {
        std::panic::resume_unwind(Box::new("libjpeg: fatal error"));
    }
    extern "C-unwind" fn message(_: &mut jpeg_common_struct, level: c_int) {
        // -1 is a warning; 0 and above are trace messages, off by default.
        if level < 0 {
            std::panic::resume_unwind(Box::new("libjpeg: corrupt data"));
        }
    }
    extern "C-unwind" fn quiet(_: &mut jpeg_common_struct) {}
    type Handler = unsafe extern "C-unwind" fn(&mut jpeg_common_struct);
    type Emit = unsafe extern "C-unwind" fn(&mut jpeg_common_struct, c_int);
    jpeg_error_mgr {
        error_exit: Some(fatal as Handler),
        emit_message: Some(message as Emit),
        output_message: Some(quiet as Handler),
        format_message: None,
        reset_error_mgr: Some(quiet as Handler),
        msg_code: 0,
        msg_parm: msg_parm_union::default(),
        trace_level: 0,
        num_warnings: 0,
        jpeg_message_table: std::ptr::null(),
        last_jpeg_message: 0,
        addon_message_table: std::ptr::null(),
        first_addon_message: 0,
        last_addon_message: 0,
    }
}

/// DateTimeOriginal (or DateTime) from a raw EXIF block; `None` if absent or malformed.
fn date_taken(exif: &[u8]) -> Option<time::Date> {
    let exif = exif::Reader::new().read_raw(exif.to_vec()).ok()?;
    [exif::Tag::DateTimeOriginal, exif::Tag::DateTime]
        .into_iter()
        .find_map(|tag| {
            let field = exif.get_field(tag, exif::In::PRIMARY)?;
            let exif::Value::Ascii(ref parts) = field.value else {
                return None;
            };
            let dt = exif::DateTime::from_ascii(parts.first()?).ok()?;
            let month = time::Month::try_from(dt.month).ok()?;
            time::Date::from_calendar_date(i32::from(dt.year), month, dt.day).ok()
        })
}

/// Whether a JPEG has its end-of-image marker. The decoder fills a cut-off file with grey
/// and carries on, so a half-uploaded photo would otherwise be judged as a picture. Some
/// phones append data after the marker; a trailer up to a quarter of the file is accepted,
/// which still tells a file cut short (whose last marker is an embedded thumbnail's) apart.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .rposition(|w| w == [0xFF, 0xD9])
        .is_some_and(|i| bytes.len() - (i + 2) <= bytes.len() / 4)
}

fn classify(e: &image::ImageError) -> Refusal {
    match e {
        image::ImageError::Limits(_) => {
            refuse(ProblemCode::TooLarge, "exceeds the decoder's limits")
        }
        image::ImageError::Unsupported(u) => refuse(ProblemCode::UnsupportedFormat, u.to_string()),
        other => refuse(ProblemCode::Unreadable, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::encode;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(w, h, image::Rgb([250, 250, 250]))
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn sniffs_formats_by_their_magic_bytes() {
        assert_eq!(sniff(&png(2, 2)), Sniffed::Supported(ImageFormat::Png));
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest"),
            Sniffed::Supported(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Sniffed::Supported(ImageFormat::WebP)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Sniffed::Heif);
        assert_eq!(sniff(b"GIF89a"), Sniffed::Other("GIF"));
        assert_eq!(sniff(b"%PDF-1.7"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }

    #[test]
    fn decodes_a_small_png() {
        let decoded = decode(&png(30, 40)).unwrap();
        assert_eq!(decoded.rgb.dimensions(), (30, 40));
        assert_eq!(decoded.taken, None);
    }

    #[test]
    fn refuses_empty_truncated_heic_and_oversized_input() {
        assert_eq!(decode(b"").unwrap_err().code, ProblemCode::Unreadable);
        let mut truncated = png(300, 300);
        truncated.truncate(60);
        assert_eq!(
            decode(&truncated).unwrap_err().code,
            ProblemCode::Unreadable
        );
        assert_eq!(
            decode(b"\0\0\0\x18ftypheic\0\0\0\0").unwrap_err().code,
            ProblemCode::UnsupportedFormat
        );
        let huge = vec![0xFF; MAX_FILE_BYTES + 1];
        assert_eq!(decode(&huge).unwrap_err().code, ProblemCode::TooLarge);
    }

    /// A 400×300 picture with detail in every 8×8 block (stripes and a gradient), as JPEG.
    fn striped() -> image::RgbImage {
        image::RgbImage::from_fn(400, 300, |x, y| {
            let stripe = if (x / 3 + y / 5) % 2 == 0 { 60 } else { 0 };
            image::Rgb([(x / 4) as u8 + stripe, (y / 2) as u8, 200 - stripe])
        })
    }

    fn mean_difference(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let sum: u64 = (a.as_raw().iter().zip(b.as_raw()))
            .map(|(&p, &q)| u64::from(p.abs_diff(q)))
            .sum();
        sum as f64 / a.as_raw().len() as f64
    }

    #[test]
    fn a_large_baseline_jpeg_is_decoded_at_the_most_reduced_size_that_keeps_its_short_side() {
        let file = encode(&striped(), ImageFormat::Jpeg);
        let full = decode(&file).unwrap();
        assert_eq!((full.rgb.dimensions(), full.reduction), ((400, 300), 1));
        // libjpeg rounds a reduced side up: 300 / 8 = 37.5 → 38.
        for (min_short_side, reduction, size) in [
            (301, 1, (400, 300)),
            (150, 2, (200, 150)),
            (100, 2, (200, 150)),
            (75, 4, (100, 75)),
            (37, 8, (50, 38)),
            (1, 8, (50, 38)),
        ] {
            let decoded = decode_reduced(&file, min_short_side).unwrap();
            assert_eq!(
                (decoded.rgb.dimensions(), decoded.reduction),
                (size, reduction),
                "min short side {min_short_side}"
            );
        }
        // The same picture as the full decode averaged down, within JPEG's own noise.
        let half = decode_reduced(&file, 150).unwrap().rgb;
        let averaged = image::imageops::thumbnail(&full.rgb, 200, 150);
        let difference = mean_difference(&half, &averaged);
        assert!(difference < 4.0, "mean difference {difference:.2}");
    }

    #[test]
    fn a_reduced_photo_is_turned_upright_and_keeps_its_date() {
        let img = striped();
        let file = crate::testdata::jpeg_with_exif(&img, 6, Some("2026:10:01 09:30:00"));
        let decoded = decode_reduced(&file, 150).unwrap();
        assert_eq!(decoded.reduction, 2);
        assert_eq!(decoded.rgb.dimensions(), (150, 200));
        assert_eq!(decoded.taken, Some(time::macros::date!(2026 - 10 - 01)));
        // The full-size decode, upright too (orientation 6: turned a quarter clockwise).
        let upright = decode(&file).unwrap().rgb;
        assert_eq!(
            upright,
            image::imageops::rotate90(&decode(&encode(&img, ImageFormat::Jpeg)).unwrap().rgb)
        );
        let difference = mean_difference(
            &decoded.rgb,
            &image::imageops::thumbnail(&upright, 150, 200),
        );
        assert!(difference < 4.0, "mean difference {difference:.2}");
    }

    #[test]
    fn a_picture_is_turned_as_the_image_crate_turns_it_for_every_orientation() {
        // Sides that are not whole tiles, and a picture narrower than a tile.
        for (w, h) in [(70, 45), (33, 100), (5, 3)] {
            let picture = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([x as u8, y as u8, (x * 31 + y * 17) as u8])
            });
            for orientation in [
                Orientation::NoTransforms,
                Orientation::Rotate90,
                Orientation::Rotate180,
                Orientation::Rotate270,
                Orientation::FlipHorizontal,
                Orientation::FlipVertical,
                Orientation::Rotate90FlipH,
                Orientation::Rotate270FlipH,
            ] {
                let mut want = DynamicImage::ImageRgb8(picture.clone());
                want.apply_orientation(orientation);
                let got = upright(picture.clone(), orientation);
                assert!(got == want.into_rgb8(), "{w}×{h} {orientation:?}");
            }
        }
    }

    #[test]
    fn a_large_jpeg_is_turned_upright_as_it_decodes_for_every_orientation() {
        let img = striped();
        let plain = decode_reduced(&encode(&img, ImageFormat::Jpeg), 150)
            .unwrap()
            .rgb;
        for (tag, orientation) in [
            (2, Orientation::FlipHorizontal),
            (3, Orientation::Rotate180),
            (4, Orientation::FlipVertical),
            (5, Orientation::Rotate90FlipH),
            (6, Orientation::Rotate90),
            (7, Orientation::Rotate270FlipH),
            (8, Orientation::Rotate270),
        ] {
            let file = crate::testdata::jpeg_with_exif(&img, tag, None);
            let decoded = decode_reduced(&file, 150).unwrap();
            assert_eq!(decoded.reduction, 2);
            let mut want = DynamicImage::ImageRgb8(plain.clone());
            want.apply_orientation(orientation);
            assert!(decoded.rgb == want.into_rgb8(), "orientation {tag}");
        }
    }

    /// The models' copy (at most 64 px) of a picture, made from its rows as they come.
    fn copy_of_rows(w: u32, h: u32, mut rows: Rows<'_>) -> Option<image::RgbImage> {
        crate::blazeface::Reducer::new(w, h, 64)?.make(|r| rows.row(r))
    }

    #[test]
    fn a_copy_made_while_decoding_is_the_copy_of_the_decoded_picture_upright() {
        let img = striped();
        let file = encode(&img, ImageFormat::Jpeg);
        let (decoded, copy) = decode_reduced_with_copy(&file, 150, Some(copy_of_rows)).unwrap();
        assert_eq!(decoded.reduction, 2);
        let want = crate::blazeface::reduced(&decoded.rgb, 64).unwrap();
        assert_eq!(copy.expect("made on the way"), want);
        // Turned a quarter by its EXIF orientation, the copy is turned with the picture.
        let turned = crate::testdata::jpeg_with_exif(&img, 6, None);
        let (decoded, copy) = decode_reduced_with_copy(&turned, 150, Some(copy_of_rows)).unwrap();
        let copy = copy.expect("made on the way");
        assert_eq!(
            (decoded.rgb.dimensions(), copy.dimensions()),
            ((150, 200), (48, 64))
        );
        let want = crate::blazeface::reduced(&decoded.rgb, 64).unwrap();
        let difference = mean_difference(&copy, &want);
        assert!(difference < 8.0, "mean difference {difference:.2}");
        // Decoded at full size, there is no copy: the caller makes it.
        let (decoded, copy) = decode_reduced_with_copy(&file, 300, Some(copy_of_rows)).unwrap();
        assert_eq!((decoded.reduction, copy), (1, None));
    }

    #[test]
    fn a_grey_jpeg_is_decoded_reduced_to_rgb() {
        let grey = image::DynamicImage::ImageRgb8(striped()).into_luma8();
        let mut file = Vec::new();
        grey.write_to(&mut Cursor::new(&mut file), ImageFormat::Jpeg)
            .unwrap();
        let decoded = decode_reduced(&file, 150).unwrap();
        assert_eq!(
            (decoded.rgb.dimensions(), decoded.reduction),
            ((200, 150), 2)
        );
        assert!(decoded.rgb.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    }

    #[test]
    fn only_a_sequential_8_bit_jpeg_is_decoded_reduced() {
        let file = encode(&striped(), ImageFormat::Jpeg);
        assert!(jpeg_is_baseline(&file));
        let sof = file
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("the encoder writes SOF0");
        let patched = |at: usize, value: u8| {
            let mut f = file.clone();
            f[at] = value;
            f
        };
        assert!(jpeg_is_baseline(&patched(sof + 1, 0xC1)), "extended");
        assert!(!jpeg_is_baseline(&patched(sof + 1, 0xC2)), "progressive");
        assert!(!jpeg_is_baseline(&patched(sof + 1, 0xC9)), "arithmetic");
        assert!(!jpeg_is_baseline(&patched(sof + 4, 12)), "12-bit");
        // A header cut short, a length running past the end, or no frame before the scan.
        assert!(!jpeg_is_baseline(&file[..sof + 3]));
        assert!(!jpeg_is_baseline(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]));
        assert!(!jpeg_is_baseline(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]));
        assert!(!jpeg_is_baseline(&[0xFF, 0xD8]));
        // A progressive file is decoded whole, by the full-size decoder.
        let progressive = progressive_jpeg(&striped());
        assert!(!jpeg_is_baseline(&progressive));
        let decoded = decode_reduced(&progressive, 100).unwrap();
        assert_eq!(
            (decoded.rgb.dimensions(), decoded.reduction),
            ((400, 300), 1)
        );
    }

    /// The picture as a progressive JPEG, which MozJPEG writes by default.
    fn progressive_jpeg(img: &image::RgbImage) -> Vec<u8> {
        std::panic::catch_unwind(|| {
            let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
            c.set_size(img.width() as usize, img.height() as usize);
            c.set_progressive_mode();
            let mut started = c.start_compress(Vec::new()).unwrap();
            started.write_scanlines(img.as_raw()).unwrap();
            started.finish().unwrap()
        })
        .unwrap()
    }

    #[test]
    fn a_cmyk_jpeg_libjpeg_will_not_make_rgb_is_decoded_at_full_size() {
        // A print shop's CMYK JPEG: baseline, so it goes to libjpeg first, which cannot turn
        // CMYK into RGB and says so by unwinding; the full-size decoder then reads it.
        let (w, h) = (400usize, 300usize);
        let cmyk: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % 200) as u8, 40, 90, 10])
            .collect();
        let file = std::panic::catch_unwind(|| {
            let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
            // libjpeg's own defaults: baseline, as a camera or print shop writes it.
            c.set_fastest_defaults();
            c.set_size(w, h);
            let mut started = c.start_compress(Vec::new()).unwrap();
            started.write_scanlines(&cmyk).unwrap();
            started.finish().unwrap()
        })
        .unwrap();
        assert!(jpeg_is_baseline(&file));
        let decoded = decode_reduced(&file, 100).unwrap();
        assert_eq!(
            (decoded.rgb.dimensions(), decoded.reduction),
            ((400, 300), 1)
        );
    }

    #[test]
    fn a_corrupt_large_jpeg_neither_panics_nor_is_read_differently_reduced() {
        let file = encode(&striped(), ImageFormat::Jpeg);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for trial in 0..200 {
            let mut f = file.clone();
            for _ in 0..[1, 8, 64][trial % 3] {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = 2 + (seed as usize) % (f.len() - 4);
                f[at] = (seed >> 32) as u8;
            }
            // Whatever the full-size decoder makes of it, the reduced one says the same
            // (a refusal's code, or a picture), and a copy made of the rows on the way,
            // however far the decoder got, is the picture's or none.
            let full = decode(&f).map(|d| d.rgb.dimensions());
            let reduced = decode_reduced_with_copy(&f, 100, Some(copy_of_rows));
            match (full, reduced) {
                (Ok(_), Ok((decoded, copy))) => {
                    if let Some(copy) = copy {
                        assert_eq!(copy, crate::blazeface::reduced(&decoded.rgb, 64).unwrap());
                    }
                }
                (Err(a), Err(b)) => assert_eq!(a.code, b.code, "trial {trial}"),
                (full, reduced) => panic!(
                    "trial {trial}: {full:?} against {:?}",
                    reduced.map(|(d, _)| d.rgb.dimensions())
                ),
            }
        }
    }

    #[test]
    fn refuses_a_decompression_bomb_before_allocating() {
        // A valid PNG header that declares 100000 × 100000 pixels, with almost no data.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // Fix the IHDR CRC so the header itself is well-formed.
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let refusal = decode(&bomb).unwrap_err();
        assert_eq!(refusal.code, ProblemCode::TooLarge, "{refusal:?}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
