//! The intake guard: decides whether bytes are an image we will decode at all, and decodes
//! them within explicit limits, applying the EXIF orientation.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

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
}

/// Decodes an encoded photo to upright RGB, or says why not. Dimensions are read from the
/// header and checked before any pixel buffer is allocated, so a decompression bomb (a small
/// file declaring a huge picture) is refused cheaply.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Refusal> {
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
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| classify(&e))?;
    picture.apply_orientation(orientation);
    Ok(Decoded {
        rgb: picture.into_rgb8(),
        taken,
    })
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
