//! `licence photo check` and `licence photo crop` as design.md's contract fixes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::ImageFormat;
use licence_photo::testdata::{encode, portrait, WHITE};

fn licence(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_licence"))
        .args(["--today", "2026-11-24"])
        .args(args)
        .output()
        .expect("the licence binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("licence-photo-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn check_a_compliant_photo_exits_0_with_the_contract_json() {
    let (img, _) = portrait(2.0);
    let file = write("good.jpg", &encode(&img, ImageFormat::Jpeg));
    let o = licence(&["photo", "check", s(&file), "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json(&o);
    assert_eq!(v["compliant"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
    for key in ["head_length_px", "head_width_px", "top_margin_px"] {
        assert!(v["measurements"][key].is_u64(), "{key} in {v}");
    }
    let len = v["measurements"]["head_length_px"].as_u64().unwrap();
    assert!((224..=260).contains(&len), "{v}");
}

#[test]
fn check_a_bad_photo_exits_1_with_coded_problems_in_both_languages() {
    let img = licence_photo::testdata::resize(
        &licence_photo::testdata::astronaut_on(|_, _| image::Rgb([150, 150, 150])),
        2.0,
    );
    let file = write("grey.png", &encode(&img, ImageFormat::Png));
    let o = licence(&["photo", "check", s(&file), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["compliant"], false);
    assert_eq!(v["problems"][0]["code"], "background_not_white");
    assert_eq!(v["problems"][0]["severity"], "error");
    assert_eq!(
        v["problems"][0]["message"],
        "背景不是白色，请站在白墙或白色背景布前拍摄"
    );
    assert!(v["problems"][0]["message_en"]
        .as_str()
        .unwrap()
        .contains("white"));
    // The text form says the same for a person.
    let text = String::from_utf8(licence(&["photo", "check", s(&file)]).stdout).unwrap();
    assert!(
        text.contains("[background_not_white] 背景不是白色"),
        "{text}"
    );
}

#[test]
fn unusable_input_exits_2() {
    let heic = write("photo.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic");
    let o = licence(&["photo", "check", s(&heic), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["problems"][0]["code"], "unsupported_format");
    // A file over the size cap is refused from its size, without being read (sparse here).
    let big = scratch("huge.jpg");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(licence_photo::MAX_FILE_BYTES as u64 + 1)
        .unwrap();
    let o = licence(&["photo", "check", s(&big), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["problems"][0]["code"], "too_large");
    let o = licence(&["photo", "check", s(&scratch("missing.jpg"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
}

#[test]
fn crop_writes_a_260_by_378_photo_that_passes_check() {
    let (img, _) = portrait(3.0);
    let file = write("big.png", &encode(&img, ImageFormat::Png));
    let out = scratch("cropped.jpg");
    let o = licence(&["photo", "crop", s(&file), "--out", s(&out), "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let cropped = image::open(&out).unwrap();
    assert_eq!((cropped.width(), cropped.height()), (260, 378));
    assert_eq!(licence(&["photo", "check", s(&out)]).status.code(), Some(0));
}

#[test]
fn crop_of_a_photo_that_cannot_be_fixed_writes_nothing_and_exits_1() {
    let (img, _) = portrait(1.0);
    let small_head = licence_photo::testdata::place(&img, 600, 800, 180, 150, WHITE);
    let file = write("far.png", &encode(&small_head, ImageFormat::Png));
    let out = scratch("never.jpg");
    let o = licence(&["photo", "crop", s(&file), "--out", s(&out), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["problems"][0]["code"], "head_too_small");
    assert!(!out.exists());
}
