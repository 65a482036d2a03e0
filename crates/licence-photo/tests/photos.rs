//! The photo check on real photographs and labelled variants of them: a compliant portrait
//! passes and crops to spec, and each defect gives exactly its code.

use image::{ImageFormat, RgbImage};
use licence_photo::testdata::*;
use licence_photo::{spec, PhotoChecker, Verdict};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 24);

fn check_image(img: &RgbImage) -> Verdict {
    PhotoChecker::new().check(&encode(img, ImageFormat::Png), TODAY)
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.problems.iter().map(|p| p.code.as_str()).collect()
}

#[track_caller]
fn assert_codes(v: &Verdict, expected: &[&str]) {
    assert_eq!(codes(v), expected, "{}", serde_json::to_string(v).unwrap());
}

#[test]
fn a_real_portrait_on_white_is_compliant_at_every_camera_resolution() {
    for scale in [1.5, 2.0, 3.0] {
        let (img, _) = portrait(scale);
        let v = check_image(&img);
        assert_codes(&v, &[]);
        assert!(v.compliant);
        let m = v.measurements.as_ref().unwrap();
        assert!(
            spec::HEAD_LENGTH.contains(&m.head_length_px),
            "{scale}: {m:?}"
        );
        assert!(
            spec::HEAD_WIDTH.contains(&m.head_width_px),
            "{scale}: {m:?}"
        );
        assert!(
            spec::TOP_MARGIN.contains(&m.top_margin_px),
            "{scale}: {m:?}"
        );
        assert!(
            m.centre_offset_px.unsigned_abs() <= spec::MAX_CENTRE_OFFSET,
            "{scale}: {m:?}"
        );
    }
}

#[test]
fn the_crop_is_260_by_378_at_300_dpi_and_passes_the_check_itself() {
    let (img, _) = portrait(2.0);
    let v = check_image(&img);
    let jpeg = v.cropped_jpeg.expect("a compliant photo is cropped");
    let out = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((out.width(), out.height()), (260, 378));
    assert_eq!(jpeg[13], 1, "JFIF density unit is dots per inch");
    assert_eq!(u16::from_be_bytes([jpeg[14], jpeg[15]]), 300);
    assert!(jpeg.len() <= spec::MAX_JPEG_BYTES, "{} bytes", jpeg.len());
    let again = PhotoChecker::new().check(&jpeg, TODAY);
    assert_codes(&again, &[]);
}

#[test]
fn the_measured_head_length_matches_the_hand_label() {
    // Judged as is: a 260×378 frame cut so that the labelled head is 240 px long, 15 px down.
    let (img, label) = portrait(240.0 / (ASTRONAUT_CHIN - ASTRONAUT_HAIR_TOP));
    assert!((label - 240.0).abs() < 0.5);
    let top = (ASTRONAUT_HAIR_TOP * 240.0 / (ASTRONAUT_CHIN - ASTRONAUT_HAIR_TOP)).round() as i64;
    let cx = ((226.0 - 110.0) * 240.0 / (ASTRONAUT_CHIN - ASTRONAUT_HAIR_TOP)).round() as i64;
    let frame = place(&img, 260, 378, 130 - cx, 15 - top, WHITE);
    let v = check_image(&frame);
    let m = v.measurements.as_ref().expect("measured");
    assert!((f64::from(m.head_length_px) - 240.0).abs() <= 6.0, "{m:?}");
    assert!((i64::from(m.top_margin_px) - 15).abs() <= 3, "{m:?}");
    assert_codes(&v, &[]);
}
