//! Any picture, from the camera or a file an officer opens, goes through the QR reader
//! (quircs, with its own retries): it must return, never panic or hang, whatever the pixels
//! and however small or thin the picture.
#![no_main]

use image::GrayImage;
use libfuzzer_sys::fuzz_target;
use licence_credential::qr::decode;

fuzz_target!(|data: &[u8]| {
    let Some((&w, pixels)) = data.split_first() else {
        return;
    };
    let width = u32::from(w).max(1);
    let height = pixels.len() as u32 / width;
    let used = (width * height) as usize;
    if let Some(picture) = GrayImage::from_raw(width, height, pixels[..used].to_vec()) {
        let _ = decode(&picture);
    }
});
