//! QR images of real presentations: size, colour, and reading them back from pictures.

use image::{imageops, GrayImage, ImageFormat, Rgb, RgbImage};
use licence_core::licence::LicenceRecord;
use licence_core::testdata::sample_record;
use licence_core::{DrivingLicence, Points};
use licence_credential::qr::{decode, qr_version, render, QrColour};
use licence_credential::*;
use rand_core::OsRng;
use time::macros::date;

const NOW: i64 = 1_795_485_600;

/// The approved portrait as a credential carries it: the real compliant crop, reduced to
/// `w`×`h`, greyscale, JPEG-encoded at `quality`.
fn thumbnail(w: u32, h: u32, quality: u8) -> Vec<u8> {
    let (img, _) = licence_photo::testdata::portrait(2.0);
    let verdict = licence_photo::PhotoChecker::new().check(
        &licence_photo::testdata::encode(&img, ImageFormat::Png),
        date!(2026 - 11 - 24),
    );
    let crop = image::load_from_memory(&verdict.cropped_jpeg.unwrap()).unwrap();
    // Greyscale: at this size JPEG's colour tables and chroma cost as much as the picture.
    let small = crop
        .resize_exact(w, h, imageops::FilterType::Lanczos3)
        .into_luma8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&small)
        .unwrap();
    licence_credential::portrait::compact_jpeg(&out).unwrap()
}

/// A presentation made with keys fixed by `seed` (ES256 signing here is deterministic, RFC
/// 6979), so each seed gives its own but repeatable QR pattern.
fn presentation_text_seeded(portrait: Vec<u8>, seed: u8) -> String {
    let issuer =
        IssuerKey::from_secret("bj-2026", "北京市公安局公安交通管理局", &[seed.max(1); 32])
            .unwrap();
    let device = DeviceKey::from_secret(&[seed.max(1).wrapping_add(100).max(1); 32]).unwrap();
    presentation_with(portrait, &issuer, &device)
}

fn presentation_text(portrait: Vec<u8>) -> String {
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let device = DeviceKey::generate(&mut OsRng);
    presentation_with(portrait, &issuer, &device)
}

fn presentation_with(portrait: Vec<u8>, issuer: &IssuerKey, device: &DeviceKey) -> String {
    let licence = DrivingLicence::new(LicenceRecord {
        name: "欧阳娜娜".parse().unwrap(),
        address: "北京市朝阳区建国门外大街甲88号院3号楼2单元1602室".into(),
        classes: "C1E".parse().unwrap(),
        points: Points::new(3).unwrap(),
        ..sample_record()
    })
    .unwrap();
    let credential = Credential {
        licence,
        portrait_jpeg: portrait,
        device_key: device.public_key(),
        not_before: NOW,
        not_after: NOW + 86_400 * 30,
        status_index: 123_456,
        // As the platform issues it: the full-colour photo's digest for the holder's screen.
        photo_digest: Some([0xA5; 32]),
    };
    Presentation::generate(&credential.sign(issuer).unwrap(), device, NOW).to_text()
}

#[test]
fn qr_size_with_the_portrait_thumbnail() {
    // Print the trade-off table (cargo test -- --nocapture shows it); assert the chosen one.
    for (w, h, q) in [
        (32, 46, 40),
        (36, 52, 35),
        (36, 52, 50),
        (40, 58, 35),
        (44, 64, 40),
        (48, 70, 40),
        (60, 88, 40),
    ] {
        let jpeg = thumbnail(w, h, q);
        let text = presentation_text(jpeg.clone());
        println!(
            "portrait {w}×{h} q{q}: {} B; QR text {} chars; version {}",
            jpeg.len(),
            text.len(),
            qr_version(&text).unwrap()
        );
    }
    // The default: a 32×46 greyscale portrait reaches version 25 (docs/credential.md).
    let text = presentation_text(thumbnail(32, 46, 40));
    assert!(
        qr_version(&text).unwrap() <= 25,
        "version {}",
        qr_version(&text).unwrap()
    );
}

#[test]
fn the_compacted_portrait_shows_the_same_picture() {
    let (img, _) = licence_photo::testdata::portrait(2.0);
    let small = image::DynamicImage::ImageRgb8(img)
        .resize_exact(44, 64, imageops::FilterType::Lanczos3)
        .into_luma8();
    let mut full = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut full, 40)
        .encode_image(&small)
        .unwrap();
    let compact = licence_credential::portrait::compact_jpeg(&full).unwrap();
    assert!(
        full.len() - compact.len() >= 230,
        "{} -> {}",
        full.len(),
        compact.len()
    );
    let shown = image::load_from_memory(&licence_credential::portrait::expand_jpeg(&compact))
        .unwrap()
        .into_luma8();
    let original = image::load_from_memory(&full).unwrap().into_luma8();
    assert_eq!(shown, original, "the same pixels");
    assert!(licence_credential::portrait::compact_jpeg(b"not a jpeg").is_err());
    assert!(licence_credential::portrait::compact_jpeg(&full[..20]).is_err());
}

#[test]
fn rendered_codes_read_back_in_both_colours() {
    let text = presentation_text(thumbnail(32, 46, 40));
    for colour in [QrColour::Black, QrColour::Red] {
        let img = render(&text, colour, 4).unwrap();
        let grey = image::DynamicImage::ImageRgb8(img).into_luma8();
        assert_eq!(decode(&grey), vec![text.clone()], "{colour:?}");
    }
    let red = render(&text, QrColour::Red, 4).unwrap();
    assert!(
        red.pixels().any(|p| *p == Rgb([190, 0, 0])) && !red.pixels().any(|p| *p == Rgb([0, 0, 0]))
    );
}

#[test]
fn a_code_photographed_on_a_phone_screen_reads_back() {
    // The code as a camera sees it: about two thirds of a 1280×720 frame's height, turned 4°,
    // with sensor noise; eight different codes (keys), each repeatable.
    let portrait = thumbnail(32, 46, 40);
    for seed in 1..=8u8 {
        let text = presentation_text_seeded(portrait.clone(), seed);
        let code = render(&text, QrColour::Black, 5).unwrap();
        let mut frame = RgbImage::from_pixel(1280, 720, Rgb([200, 200, 190]));
        let scaled = imageops::resize(&code, 660, 660, imageops::FilterType::Triangle);
        imageops::overlay(&mut frame, &scaled, 310, 30);
        let turned = licence_photo::testdata::rotate(&frame, 4.0, Rgb([200, 200, 190]));
        let mut noise = u32::from(seed);
        let grey = GrayImage::from_fn(1280, 720, |x, y| {
            noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let n = (noise >> 16) % 21;
            let p = turned.get_pixel(x, y);
            image::Luma([(u32::from(p[1]) + n).saturating_sub(10).min(255) as u8])
        });
        assert_eq!(decode(&grey), vec![text], "seed {seed}");
    }
}

#[test]
fn a_picture_without_a_code_gives_nothing() {
    assert!(decode(&GrayImage::from_pixel(640, 480, image::Luma([128]))).is_empty());
}

#[test]
fn the_encoder_draws_exactly_the_symbol_qrcode_draws() {
    // Our mask scoring replaces `qrcode`'s slow one; the chosen mask, hence every module,
    // must be the same, for short and long texts, alphanumeric (our base45) and bytes.
    const BASE45: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let mut seed = 7u32;
    let mut next = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as usize
    };
    for length in (1..1400).step_by(9).chain([1336, 1500, 2000]) {
        let text: String = if length % 2 == 0 {
            (0..length).map(|_| BASE45[next() % 45] as char).collect()
        } else {
            format!(
                "DL1:{}",
                (0..length)
                    .map(|_| char::from(b'a' + (next() % 26) as u8))
                    .collect::<String>()
            )
        };
        let ours = licence_credential::qr::encode(&text).unwrap();
        let theirs =
            qrcode::QrCode::with_error_correction_level(&text, qrcode::EcLevel::M).unwrap();
        assert_eq!(ours.width(), theirs.width(), "length {length}");
        assert_eq!(qr_version(&text).unwrap(), ours.version());
        let modules: Vec<bool> = (0..ours.width())
            .flat_map(|y| (0..ours.width()).map(move |x| (x, y)))
            .map(|(x, y)| ours.is_dark(x, y))
            .collect();
        let expected: Vec<bool> = theirs
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        assert_eq!(modules, expected, "length {length}");
    }
}

#[test]
fn text_beyond_version_40_is_refused_not_truncated() {
    let text = "A".repeat(4000);
    assert!(matches!(
        licence_credential::qr::encode(&text),
        Err(CredentialError::Malformed(_))
    ));
    assert!(render(&text, QrColour::Black, 4).is_err());
}

#[test]
fn rendering_keeps_the_quiet_zone_and_module_size() {
    let code = licence_credential::qr::encode("DL1:TEST").unwrap();
    let img = render("DL1:TEST", QrColour::Black, 3).unwrap();
    assert_eq!(img.width(), (code.width() as u32 + 8) * 3);
    // Four modules of white all round.
    assert!((0..img.width()).all(|x| *img.get_pixel(x, 11) == Rgb([255, 255, 255])));
    // The top-left finder's corner module starts right after it, 3×3 pixels of ink.
    for (x, y) in [(12, 12), (14, 14), (12, 14)] {
        assert_eq!(*img.get_pixel(x, y), Rgb([0, 0, 0]));
    }
    for y in 0..code.width() as u32 {
        for x in 0..code.width() as u32 {
            let dark = *img.get_pixel((x + 4) * 3 + 1, (y + 4) * 3 + 2) == Rgb([0, 0, 0]);
            assert_eq!(dark, code.is_dark(x as usize, y as usize), "module {x},{y}");
        }
    }
}

#[test]
fn a_code_held_at_any_angle_reads_back() {
    // A smaller code (4.3 px per module) so that it stays in the frame when turned: tilted
    // 20°, on its side and upside down, as an officer may hold the phone.
    let text = presentation_text_seeded(thumbnail(32, 46, 40), 3);
    let code = render(&text, QrColour::Black, 5).unwrap();
    let mut frame = RgbImage::from_pixel(1280, 720, Rgb([200, 200, 190]));
    let scaled = imageops::resize(&code, 500, 500, imageops::FilterType::Triangle);
    imageops::overlay(&mut frame, &scaled, 390, 110);
    for degrees in [20.0, 45.0, 90.0, 183.0] {
        let turned = licence_photo::testdata::rotate(&frame, degrees, Rgb([200, 200, 190]));
        let grey = image::DynamicImage::ImageRgb8(turned).into_luma8();
        assert_eq!(decode(&grey), vec![text.clone()], "{degrees}°");
    }
}

#[test]
fn a_busy_picture_without_a_code_gives_nothing() {
    // A crowd photograph: plenty of edges and dark squares, no code.
    let photo = licence_photo::testdata::load("solvay-1927.png");
    let grey = image::DynamicImage::ImageRgb8(photo).into_luma8();
    assert!(decode(&grey).is_empty());
}

#[test]
fn degenerate_frames_that_broke_quirc_give_nothing() {
    // Frames libFuzzer found (`tests/data/quirc-*.bin`: the first byte the width, then grey
    // pixels) on which quirc's arithmetic overflowed: a panic with overflow checks, a search
    // of billions of steps without.
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let mut frames = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("quirc-") && name.ends_with(".bin")) {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let (width, pixels) = (u32::from(data[0]), &data[1..]);
        let height = pixels.len() as u32 / width;
        let frame =
            GrayImage::from_raw(width, height, pixels[..(width * height) as usize].to_vec())
                .unwrap();
        assert!(decode(&frame).is_empty(), "{name}");
        frames += 1;
    }
    assert!(frames >= 1, "no frames in {dir}");
}
