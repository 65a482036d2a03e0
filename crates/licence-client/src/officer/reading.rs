//! Finding the QR code an officer is shown: in a camera frame, or in a picture file (a
//! screenshot sent to the officer), with limits on what is decoded.

use image::GrayImage;
use licence_credential::qr;

use crate::camera::Frame;
use crate::views::AppError;

/// Pictures larger than this are refused before decoding (a phone photo is a few MB).
pub const MAX_PICTURE_BYTES: usize = 25 * 1024 * 1024;
/// Decoded pictures are limited to this many pixels a side.
const MAX_PICTURE_SIDE: u32 = 10_000;

fn no_qr_found() -> AppError {
    AppError::new(
        "no_qr_found",
        "图片中未找到二维码：请让二维码完整、清晰地出现在画面中",
        "No QR code found in the picture: get the whole code sharp in the picture",
    )
}

pub(super) fn picture_unreadable() -> AppError {
    AppError::new(
        "picture_unreadable",
        "无法读取这张图片：请选择 JPEG 或 PNG 图片",
        "This picture cannot be read: choose a JPEG or PNG picture",
    )
}

/// The QR text in a camera frame, if there is one: an e-licence code (`DL1:`) first.
pub fn read_frame(frame: &Frame) -> Option<String> {
    let grey = grey_of(frame)?;
    pick(qr::decode(&grey))
}

fn grey_of(frame: &Frame) -> Option<GrayImage> {
    let rgb = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.clone())?;
    Some(image::DynamicImage::ImageRgb8(rgb).into_luma8())
}

fn pick(texts: Vec<String>) -> Option<String> {
    let e_licence = texts
        .iter()
        .position(|t| t.starts_with(licence_credential::PREFIX));
    match e_licence {
        Some(i) => texts.into_iter().nth(i),
        None => texts.into_iter().next(),
    }
}

/// The QR text in a picture file (JPEG or PNG, e.g. a screenshot sent to the officer).
pub fn read_picture(bytes: &[u8]) -> Result<String, AppError> {
    if bytes.len() > MAX_PICTURE_BYTES {
        return Err(AppError::new(
            "picture_too_large",
            "图片过大（超过 25 MB），请换一张",
            "The picture is over 25 MB; choose another",
        ));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| picture_unreadable())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PICTURE_SIDE);
    limits.max_image_height = Some(MAX_PICTURE_SIDE);
    reader.limits(limits);
    let picture = reader
        .decode()
        .map_err(|_| picture_unreadable())?
        .into_luma8();
    pick(qr::decode(&picture)).ok_or_else(no_qr_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_that_are_not_pictures_or_hold_no_code_say_so() {
        assert_eq!(
            read_picture(b"not a picture").unwrap_err().code,
            "picture_unreadable"
        );
        let mut blank = Vec::new();
        image::GrayImage::from_pixel(64, 64, image::Luma([255]))
            .write_to(
                &mut std::io::Cursor::new(&mut blank),
                image::ImageFormat::Png,
            )
            .unwrap();
        assert_eq!(read_picture(&blank).unwrap_err().code, "no_qr_found");
        let huge = vec![0u8; MAX_PICTURE_BYTES + 1];
        assert_eq!(read_picture(&huge).unwrap_err().code, "picture_too_large");
    }

    #[test]
    fn a_code_is_read_from_a_frame_and_an_e_licence_code_comes_first() {
        let text = "DL1:HELLO";
        let img = qr::render(text, qr::QrColour::Red, 4).unwrap();
        let frame = Frame {
            width: img.width(),
            height: img.height(),
            rgb: img.into_raw(),
        };
        assert_eq!(read_frame(&frame).as_deref(), Some(text));
        assert_eq!(
            pick(vec!["https://x".into(), "DL1:A".into()]).as_deref(),
            Some("DL1:A")
        );
        let broken = Frame {
            width: 10,
            height: 10,
            rgb: vec![0; 3],
        };
        assert_eq!(read_frame(&broken), None);
    }
}
