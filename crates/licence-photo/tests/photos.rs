//! The photo check on real photographs and labelled variants of them: a compliant portrait
//! passes and crops to spec, and each defect gives exactly its code.

use image::{ImageFormat, RgbImage};
use licence_photo::testdata::{self, *};
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

fn frame_with_head(length: f64) -> RgbImage {
    testdata::frame_with_head(&astronaut_on(|_, _| WHITE), length)
}

#[test]
fn the_measured_head_length_matches_the_hand_label() {
    // Judged as is: a 260×378 frame cut so that the labelled head is 240 px long, 15 px down.
    let frame = frame_with_head(240.0);
    let v = check_image(&frame);
    let m = v.measurements.as_ref().expect("measured");
    assert!((f64::from(m.head_length_px) - 240.0).abs() <= 6.0, "{m:?}");
    assert!((i64::from(m.top_margin_px) - 15).abs() <= 3, "{m:?}");
    assert_codes(&v, &[]);
}

#[test]
fn a_head_at_either_edge_of_the_spec_is_accepted_and_one_clearly_outside_is_refused() {
    // Labelled head lengths; the spec is 224-260 px.
    for length in [224.0, 232.0, 242.0, 252.0, 260.0] {
        assert_codes(&check_image(&frame_with_head(length)), &[]);
    }
    assert_codes(&check_image(&frame_with_head(214.0)), &["head_too_small"]);
    assert_codes(&check_image(&frame_with_head(272.0)), &["head_too_large"]);
}

#[test]
fn the_head_width_follows_the_face_not_the_hair() {
    // Her hair reaches past her ears: the width is estimated from the face outline, in the
    // same proportion to the head at every size, and not judged on its own.
    let mut checker = PhotoChecker::new();
    for length in [224.0, 242.0, 260.0] {
        let g = checker.geometry(&frame_with_head(length)).expect("a face");
        assert!(!g.edges.measured, "{length}: {g:?}");
        let ratio = f64::from(g.edges.width()) / length;
        assert!((0.72..=0.76).contains(&ratio), "{length}: {ratio:.3} {g:?}");
    }
    // With her hair cut back to 150 px at the sides, the edges are the silhouette's own: a
    // measured width under the spec's 165 px is refused, whatever the length.
    let mut narrow = frame_with_head(242.0);
    let g = checker.geometry(&narrow).expect("a face");
    let middle = f64::from(g.edges.left + g.edges.right) / 2.0;
    let (x0, x1) = ((middle - 75.0) as u32, (middle + 75.0) as u32);
    let row = |y: u32| f64::from(y) > g.chin - 140.0 && f64::from(y) < g.chin - 60.0;
    for (x, y, p) in narrow.enumerate_pixels_mut() {
        if row(y) && !(x0..x1).contains(&x) {
            *p = WHITE;
        }
    }
    let g = checker.geometry(&narrow).expect("a face");
    assert!(g.edges.measured, "{g:?}");
    assert!((148..=152).contains(&g.edges.width()), "{g:?}");
    let v = check_image(&narrow);
    assert_codes(&v, &["head_too_small"]);
}
