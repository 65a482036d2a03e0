//! How often a presentation-sized QR code (version 25, 1,336 characters) is read from a
//! 1280×720 camera-like frame: turned by various angles, with sensor noise, with and without
//! a glare gradient, six different codes per case. Compares `qr::decode` with a single pass
//! of rqrr (the decoder it replaced) and of quircs (the decoder it uses) on the same frames.
//!
//! `cargo run --release -p licence-credential --example qr_robustness`; figures in
//! docs/performance.md.

use image::{imageops, GrayImage, Rgb, RgbImage};
use licence_credential::qr::{decode, render, QrColour};

const BASE45: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const ANGLES: [f64; 11] = [0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 20.0, 45.0, -7.0, 90.0, 183.0];
const CODES: usize = 6;

fn main() {
    let mut seed = 3u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as usize
    };
    let mut totals = [0usize; 3];
    println!("| glare | angle | qr::decode | quircs, one pass | rqrr, one pass |");
    println!("|---|---|---|---|---|");
    for glare in [false, true] {
        for degrees in ANGLES {
            let mut read = [0usize; 3];
            for _ in 0..CODES {
                let text: String = (0..1336).map(|_| BASE45[next() % 45] as char).collect();
                let frame = camera_frame(&text, degrees, glare, &mut next);
                let results = [decode(&frame), quircs_once(&frame), rqrr_once(&frame)];
                for (count, texts) in read.iter_mut().zip(results) {
                    *count += usize::from(texts == [text.clone()]);
                }
            }
            println!(
                "| {} | {degrees}° | {}/{CODES} | {}/{CODES} | {}/{CODES} |",
                if glare { "yes" } else { "no" },
                read[0],
                read[1],
                read[2]
            );
            for (total, count) in totals.iter_mut().zip(read) {
                *total += count;
            }
        }
    }
    let all = 2 * ANGLES.len() * CODES;
    println!(
        "| all | | {}/{all} | {}/{all} | {}/{all} |",
        totals[0], totals[1], totals[2]
    );
}

/// The code rendered at 5 px per module, scaled to 500 px (a blurred, non-integer module
/// size), on a grey background, turned about the frame's centre, with ±10 of noise and
/// optionally a left-to-right glare gradient (from 115 % to 55 % brightness).
fn camera_frame(
    text: &str,
    degrees: f64,
    glare: bool,
    next: &mut impl FnMut() -> usize,
) -> GrayImage {
    let code = render(text, QrColour::Black, 5).unwrap();
    let mut frame = RgbImage::from_pixel(1280, 720, Rgb([200, 200, 190]));
    let scaled = imageops::resize(&code, 500, 500, imageops::FilterType::Triangle);
    imageops::overlay(&mut frame, &scaled, 390, 110);
    let turned = licence_photo::testdata::rotate(&frame, degrees, Rgb([200, 200, 190]));
    GrayImage::from_fn(1280, 720, |x, y| {
        let noise = (next() % 21) as f32 - 10.0;
        let p = f32::from(turned.get_pixel(x, y)[1]);
        let light = if glare {
            0.55 + 0.6 * (1.0 - x as f32 / 1280.0)
        } else {
            1.0
        };
        image::Luma([(p * light + noise).clamp(0.0, 255.0) as u8])
    })
}

fn quircs_once(img: &GrayImage) -> Vec<String> {
    quircs::Quirc::default()
        .identify(img.width() as usize, img.height() as usize, img.as_raw())
        .flatten()
        .filter_map(|code| String::from_utf8(code.decode().ok()?.payload).ok())
        .collect()
}

fn rqrr_once(img: &GrayImage) -> Vec<String> {
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
