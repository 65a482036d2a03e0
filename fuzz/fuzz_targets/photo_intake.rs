//! Every photo a driver uploads goes through the intake: the sniffing, the limits, EXIF, and a
//! JPEG's decoding, at full size (zune-jpeg) or reduced in the DCT domain (libjpeg-turbo, C,
//! `decode_reduced`). Whatever the bytes, it must return a picture or a refusal: never panic,
//! hang or pass the memory bound. The input is tried as it is, and as edits of a small valid
//! JPEG with an EXIF block (so the fuzzer reaches the decoders behind the header checks).
#![no_main]

use std::sync::OnceLock;

use image::{Rgb, RgbImage};
use libfuzzer_sys::fuzz_target;
use licence_photo::decode_reduced;

/// 64×48 with detail in every block, turned by its EXIF orientation and dated. Its short side
/// of 48 is decoded at ¼ with the bound below, so both decoders are reached.
fn seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let img = RgbImage::from_fn(64, 48, |x, y| {
            let stripe = if (x / 3 + y / 5) % 2 == 0 { 90 } else { 0 };
            Rgb([(x * 2) as u8 + stripe, (y * 5) as u8, 200 - stripe])
        });
        licence_photo::testdata::jpeg_with_exif(&img, 6, Some("2026:10:01 09:30:00"))
    })
}

/// Reduced while the short side stays this long.
const MIN_SHORT_SIDE: u32 = 8;

fuzz_target!(|data: &[u8]| {
    let _ = decode_reduced(data, MIN_SHORT_SIDE);
    // Three bytes an edit: where (two bytes, within the file) and the byte put there.
    let mut edited = seed().to_vec();
    for edit in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % edited.len();
        edited[at] = edit[2];
    }
    let _ = decode_reduced(&edited, MIN_SHORT_SIDE);
});
