//! Each defect of a real photo gives exactly its problem code.

use image::metadata::Orientation;
use image::{imageops, ImageFormat, Rgb, RgbImage};
use licence_photo::testdata::*;
use licence_photo::{PhotoChecker, RgbFrame, Severity, Verdict};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 24);

fn check(img: &RgbImage) -> Verdict {
    PhotoChecker::new().check(&encode(img, ImageFormat::Png), TODAY)
}

#[track_caller]
fn assert_codes(v: &Verdict, expected: &[&str]) {
    let codes: Vec<&str> = v.problems.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, expected, "{}", serde_json::to_string(v).unwrap());
    assert_eq!(
        v.compliant,
        v.problems.iter().all(|p| p.severity == Severity::Warning)
    );
}

/// A 260×378 frame judged as is, with the labelled head `head` px long, its top `top` px
/// down and its centre `shift` px right of the middle.
fn frame(head: f64, top: i64, shift: i64) -> RgbImage {
    let label = ASTRONAUT_CHIN - ASTRONAUT_HAIR_TOP;
    let (img, _) = portrait(head / label);
    let s = head / label;
    let hair = (ASTRONAUT_HAIR_TOP * s).round() as i64;
    let cx = ((226.0 - 110.0) * s).round() as i64;
    place(&img, 260, 378, 130 + shift - cx, top - hair, WHITE)
}

#[test]
fn a_grey_or_coloured_background_is_not_white() {
    for bg in [Rgb([150, 150, 150]), Rgb([175, 205, 235])] {
        let img = resize(&astronaut_on(|_, _| bg), 2.0);
        assert_codes(&check(&img), &["background_not_white"]);
    }
}

#[test]
fn real_portraits_before_flags_and_studio_backdrops_are_not_white() {
    // Grace Hopper's official portrait: the flag on one side, a blue wall on the other.
    let v = check(&load("grace_hopper.jpg"));
    assert_codes(&v, &["background_not_white"]);
    assert!(v.problems[0].message_en.contains("white wall"));
    // The astronaut as NASA took her: mottled grey backdrop, flag, shuttle model.
    assert_codes(&check(&load("astronaut.png")), &["background_not_white"]);
}

#[test]
fn a_gradient_or_a_shadow_makes_the_background_uneven() {
    let gradient = resize(
        &astronaut_on(|x, _| {
            let v = 250 - (x * 70 / 240) as u8;
            Rgb([v, v, v])
        }),
        2.0,
    );
    assert_codes(&check(&gradient), &["background_uneven"]);
    // A shadow cast on the backdrop to the right of the head (light from the left): the
    // backdrop right of the face's centre line (x = 116 here) is 40 levels darker.
    let shadow = resize(
        &astronaut_on(|x, y| {
            if x > 130 && y < 260 {
                Rgb([208, 208, 206])
            } else {
                WHITE
            }
        }),
        2.0,
    );
    assert_codes(&check(&shadow), &["background_uneven"]);
}

#[test]
fn two_people_or_a_group_are_multiple_faces() {
    let (one, _) = portrait(1.5);
    let mut two = RgbImage::from_pixel(one.width() * 2, one.height(), WHITE);
    imageops::overlay(&mut two, &one, 0, 0);
    imageops::overlay(&mut two, &one, i64::from(one.width()), 0);
    assert_codes(&check(&two), &["multiple_faces"]);
    assert_codes(&check(&load("solvay-1927.png")), &["multiple_faces"]);
}

#[test]
fn black_and_white_is_not_colour() {
    let (img, _) = portrait(2.0);
    let grey = map(&img, |p| {
        let l = (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) as u8;
        Rgb([l, l, l])
    });
    assert_codes(&check(&grey), &["not_colour"]);
}

#[test]
fn exposure_too_dark_or_too_bright() {
    let (img, _) = portrait(2.0);
    let dark = map(&img, |p| Rgb(p.0.map(|c| (f32::from(c) * 0.3) as u8)));
    assert_codes(&check(&dark), &["background_not_white", "too_dark"]);
    let bright = map(&img, |p| Rgb(p.0.map(|c| c.saturating_add(95))));
    assert_codes(&check(&bright), &["too_bright"]);
    // In front of a white backdrop the photo is exposed right, and a face as dark as the
    // deepest skin (53) is lit; one darker than any skin (her face at 0.2: 34) is in shadow.
    let deep = resize(&astronaut_darker(0.32), 2.0);
    assert_codes(&check(&deep), &[]);
    let shadowed = resize(&astronaut_darker(0.2), 2.0);
    assert_codes(&check(&shadowed), &["too_dark"]);
}

#[test]
fn a_blurred_photo_is_blurry() {
    let (img, _) = portrait(2.0);
    assert_codes(&check(&imageops::blur(&img, 3.5)), &["blurry"]);
}

#[test]
fn a_tilted_head_is_tilted() {
    let (img, _) = portrait(2.0);
    let canvas = place(&img, 700, 1100, 110, 60, WHITE);
    assert_codes(&check(&rotate(&canvas, 14.0, WHITE)), &["tilted"]);
    assert_codes(&check(&rotate(&canvas, 3.0, WHITE)), &[]);
}

#[test]
fn measured_roll_follows_the_applied_rotation() {
    let (img, _) = portrait(2.0);
    let canvas = place(&img, 700, 1100, 110, 60, WHITE);
    let roll = |degrees: f64| {
        let v = check(&rotate(&canvas, degrees, WHITE));
        v.measurements
            .and_then(|m| m.frame?.roll_degrees)
            .expect("roll measured")
    };
    let upright = roll(0.0);
    for applied in [-12.0, -6.0, 6.0, 12.0] {
        let change = roll(applied) - upright;
        assert!(
            (change - applied).abs() <= 1.5,
            "applied {applied}°, measured change {change}°"
        );
    }
}

#[test]
fn a_head_too_small_to_crop_without_enlarging_says_move_closer() {
    let (img, _) = portrait(1.0);
    let v = check(&place(&img, 600, 800, 180, 150, WHITE));
    assert_codes(&v, &["head_too_small"]);
    // Only what was measured is reported: the head, not a frame that was never made.
    let json = serde_json::to_value(v.measurements.as_ref().unwrap()).unwrap();
    assert!(json["head_length_px"].as_u64().unwrap() < 224, "{json}");
    assert!(
        json.get("sharpness").is_none() && json.get("background_luma").is_none(),
        "{json}"
    );
    assert!(v.problems[0].message.contains("靠近"));
}

#[test]
fn a_frame_judged_as_is_reports_its_geometry() {
    assert_codes(&check(&frame(240.0, 15, 0)), &[]);
    assert_codes(&check(&frame(285.0, 15, 0)), &["head_too_large"]);
    assert_codes(&check(&frame(205.0, 15, 0)), &["head_too_small"]);
    assert_codes(&check(&frame(240.0, 3, 0)), &["head_too_high"]);
    assert_codes(&check(&frame(240.0, 32, 0)), &["head_too_low"]);
    assert_codes(&check(&frame(240.0, 15, 25)), &["head_off_centre"]);
}

#[test]
fn a_head_cut_by_the_top_edge_cannot_be_cropped() {
    let (img, _) = portrait(2.0);
    assert_codes(
        &check(&place(&img, 700, 1100, 110, -40, WHITE)),
        &["not_enough_margin"],
    );
}

#[test]
fn exif_orientation_is_applied() {
    let (img, _) = portrait(2.0);
    let sideways = imageops::rotate270(&img);
    let v = PhotoChecker::new().check(&jpeg_with_exif(&sideways, 6, None), TODAY);
    assert_codes(&v, &[]);
    // Without the tag the face lies on its side: BlazeFace finds it, its eyes one above the
    // other, so the driver hears "hold it straight", not "no face".
    let v = PhotoChecker::new().check(&encode(&sideways, ImageFormat::Jpeg), TODAY);
    assert_codes(&v, &["tilted"]);
}

#[test]
fn a_photo_older_than_six_months_is_refused_unless_it_is_the_one_on_file() {
    let (img, _) = portrait(2.0);
    let old = jpeg_with_exif(&img, 1, Some("2025:12:01 10:00:00"));
    let v = PhotoChecker::new().check(&old, TODAY);
    assert_codes(&v, &["older_than_6_months"]);
    assert!(!v.compliant);
    assert!(
        v.problems[0].message.contains("6个月"),
        "{:?}",
        v.problems[0]
    );
    // The crop is still made, so the app can show it; it is not to be submitted.
    assert!(v.cropped_jpeg.is_some());
    // Six months to the day is still recent; a day more is not.
    let edge = |date: &str| PhotoChecker::new().check(&jpeg_with_exif(&img, 1, Some(date)), TODAY);
    assert_codes(&edge("2026:05:24 00:00:00"), &[]);
    assert_codes(&edge("2026:05:23 23:59:59"), &["older_than_6_months"]);
    // The traffic police's own photo is not dated by this rule.
    assert_codes(&PhotoChecker::new().check_on_file(&old), &[]);
    // An old photo with another problem: both are said, the age first.
    let cut = place(&img, 700, 1100, 110, -40, WHITE);
    let v = PhotoChecker::new().check(&jpeg_with_exif(&cut, 1, Some("2025:12:01 10:00:00")), TODAY);
    assert_codes(&v, &["older_than_6_months", "not_enough_margin"]);
}

#[test]
fn unusable_files_are_refused_with_their_codes() {
    let (img, _) = portrait(2.0);
    let jpeg = encode(&img, ImageFormat::Jpeg);
    let mut checker = PhotoChecker::new();
    let v = checker.check(&jpeg[..jpeg.len() / 3], TODAY);
    assert_codes(&v, &["unreadable"]);
    assert!(v.unusable_input());
    assert_codes(
        &checker.check(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", TODAY),
        &["unsupported_format"],
    );
    assert!(checker.check(b"\0\0\0\x18ftypheic", TODAY).problems[0]
        .message
        .contains("JPEG"));
    assert_codes(
        &checker.check(&encode(&RgbImage::new(8, 8), ImageFormat::Gif), TODAY),
        &["unsupported_format"],
    );
    assert_codes(
        &checker.check(b"not an image at all", TODAY),
        &["unreadable"],
    );
    assert_codes(
        &check(&imageops::thumbnail(&img, 200, 300)),
        &["image_too_small"],
    );
    assert_codes(&check(&RgbImage::from_pixel(600, 800, WHITE)), &["no_face"]);
}

#[test]
fn raw_camera_frames_are_checked_without_encoding() {
    let (img, _) = portrait(2.0);
    let mut checker = PhotoChecker::new();
    let v = checker.check_frame(RgbFrame {
        width: img.width(),
        height: img.height(),
        rgb: img.as_raw(),
        orientation: Orientation::NoTransforms,
    });
    assert_codes(&v, &[]);
    let sideways = imageops::rotate270(&img);
    let v = checker.check_frame(RgbFrame {
        width: sideways.width(),
        height: sideways.height(),
        rgb: sideways.as_raw(),
        orientation: Orientation::Rotate90,
    });
    assert_codes(&v, &[]);
}

#[test]
fn a_face_anywhere_in_the_picture_gets_a_verdict_never_a_panic() {
    let (img, _) = portrait(1.5);
    let mut checker = PhotoChecker::new();
    for x in (-300..=700).step_by(125) {
        for y in [-250, -60, 0, 300, 700] {
            let picture = place(&img, 900, 1000, x, y, WHITE);
            let v = checker.check(&encode(&picture, ImageFormat::Png), TODAY);
            assert!(
                v.compliant || !v.problems.is_empty(),
                "at ({x}, {y}): {v:?}"
            );
        }
    }
}
