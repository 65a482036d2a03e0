//! `licence verify` as design.md's contract fixes it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use licence_core::licence::LicenceRecord;
use licence_core::testdata::sample_record;
use licence_core::{DrivingLicence, LicenceStatus, Points};
use licence_credential::qr::{render, QrColour};
use licence_credential::*;
use rand_core::OsRng;

/// 2026-11-24T10:00:00+08:00
const NOW: i64 = 1_795_485_600;
const NOW_TEXT: &str = "2026-11-24T10:00:00+08:00";

struct Files {
    trust: PathBuf,
    status: PathBuf,
    qr_png: PathBuf,
    text: String,
}

/// The trust root of this test binary: made once, its public file named to every `licence`
/// run through `LICENCE_TRUST_ROOT`.
fn root() -> &'static (TrustRootKey, PathBuf) {
    static ROOT: std::sync::OnceLock<(TrustRootKey, PathBuf)> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let key = TrustRootKey::generate("root-test", &mut OsRng);
        let path = std::env::temp_dir().join(format!(
            "licence-verify-cli-root-{}.pub",
            std::process::id()
        ));
        std::fs::write(&path, key.root().to_text()).unwrap();
        (key, path)
    })
}

fn files(status: &str) -> Files {
    // Each call its own folder: tests run in parallel and each makes its own keys.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("licence-verify-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let device = DeviceKey::generate(&mut OsRng);
    let trust = TrustList {
        issuers: vec![issuer.trusted(NOW - 86_400, NOW + 86_400)],
        ..Default::default()
    };
    let licence = DrivingLicence::new(LicenceRecord {
        // A record that agrees with its status: 12 points are not normal on their own.
        points: Points::new(if status == "A" { 0 } else { 12 }).unwrap(),
        status: status.parse().unwrap(),
        ..sample_record()
    })
    .unwrap();
    let credential = Credential {
        licence,
        portrait_jpeg: vec![0xFF, 0xD8, 0xFF, 0xD9],
        device_key: device.public_key(),
        not_before: NOW - 3600,
        not_after: NOW + 86_400,
        status_index: 7,
        photo_digest: None,
    };
    let mut list = StatusList::new(64, NOW - 60, 86_400);
    list.set(7, status.parse::<LicenceStatus>().unwrap())
        .unwrap();
    let text =
        Presentation::generate(&credential.sign(&issuer).unwrap(), &device, NOW - 5).to_text();
    let colour = if status == "A" {
        QrColour::Black
    } else {
        QrColour::Red
    };
    let f = Files {
        trust: dir.join("trust.cose"),
        status: dir.join("status.cose"),
        qr_png: dir.join("qr.png"),
        text: text.clone(),
    };
    std::fs::write(&f.trust, trust.sign(&root().0).unwrap()).unwrap();
    std::fs::write(&f.status, list.sign(&issuer).unwrap()).unwrap();
    render(&text, colour, 4).unwrap().save(&f.qr_png).unwrap();
    f
}

fn licence(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_licence"))
        .args(args)
        .env("LICENCE_TRUST_ROOT", &root().1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // The tool may refuse its other input and exit before it reads this (a broken pipe).
        let _ = input.write_all(text.as_bytes());
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn a_qr_image_of_a_normal_licence_is_valid_with_the_contract_json() {
    let f = files("A");
    let o = licence(
        &[
            "verify",
            f.qr_png.to_str().unwrap(),
            "--trust",
            f.trust.to_str().unwrap(),
            "--status",
            f.status.to_str().unwrap(),
            "--now",
            NOW_TEXT,
            "--json",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["valid"], true);
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["holder"]["name"], "张伟");
    assert_eq!(v["holder"]["sex"], "男");
    assert_eq!(v["status"]["state"], "normal");
    assert_eq!(v["generated_at"], "2026-11-24T09:59:55+08:00");
}

#[test]
fn qr_text_on_stdin_works_and_an_abnormal_licence_exits_1() {
    let f = files("B");
    let o = licence(
        &[
            "verify",
            "-",
            "--trust",
            f.trust.to_str().unwrap(),
            "--status",
            f.status.to_str().unwrap(),
            "--now",
            NOW_TEXT,
            "--json",
        ],
        Some(&f.text),
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(
        (v["verdict"].as_str(), v["status"]["codes"].as_str()),
        (Some("status_abnormal"), Some("B"))
    );
    // The red QR reads the same.
    let o = licence(
        &[
            "verify",
            f.qr_png.to_str().unwrap(),
            "--trust",
            f.trust.to_str().unwrap(),
            "--status",
            f.status.to_str().unwrap(),
            "--now",
            NOW_TEXT,
            "--json",
        ],
        None,
    );
    assert_eq!(json(&o)["verdict"], "status_abnormal");
}

#[test]
fn a_screenshot_verified_later_is_too_old_and_no_status_list_is_unknown() {
    let f = files("A");
    let later = "2026-11-24T10:05:00+08:00";
    let o = licence(
        &[
            "verify",
            "-",
            "--trust",
            f.trust.to_str().unwrap(),
            "--status",
            f.status.to_str().unwrap(),
            "--now",
            later,
            "--json",
        ],
        Some(&f.text),
    );
    assert_eq!(
        (o.status.code(), json(&o)["verdict"].as_str()),
        (Some(1), Some("presentation_too_old"))
    );
    let o = licence(
        &[
            "verify",
            "-",
            "--trust",
            f.trust.to_str().unwrap(),
            "--now",
            NOW_TEXT,
            "--json",
        ],
        Some(&f.text),
    );
    assert_eq!(json(&o)["verdict"], "status_unknown");
}

#[test]
fn unusable_input_exits_2() {
    let f = files("A");
    let trust = f.trust.to_str().unwrap();
    let blank = f.qr_png.with_file_name("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255]))
        .save(&blank)
        .unwrap();
    for args in [
        vec!["verify", blank.to_str().unwrap(), "--trust", trust],
        vec!["verify", "/nonexistent.png", "--trust", trust],
        vec![
            "verify",
            f.qr_png.to_str().unwrap(),
            "--trust",
            "/nonexistent.cbor",
        ],
        vec![
            "verify",
            f.qr_png.to_str().unwrap(),
            "--trust",
            blank.to_str().unwrap(),
        ],
        vec![
            "verify",
            f.qr_png.to_str().unwrap(),
            "--trust",
            trust,
            "--now",
            "yesterday",
        ],
    ] {
        let o = licence(&args, None);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A trust list that is not signed by the root, or signed by another, is unusable.
    let unsigned = f.qr_png.with_file_name("unsigned.cbor");
    let list = licence_credential::TrustList::contents_unchecked(&std::fs::read(&f.trust).unwrap())
        .unwrap();
    std::fs::write(&unsigned, list.to_cbor()).unwrap();
    let stranger = TrustRootKey::generate("root-test", &mut OsRng);
    let other = f.qr_png.with_file_name("other-root.cose");
    std::fs::write(&other, list.sign(&stranger).unwrap()).unwrap();
    for list in [&unsigned, &other] {
        let o = licence(
            &["verify", "-", "--trust", list.to_str().unwrap()],
            Some(&f.text),
        );
        let said = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{said}");
        assert!(
            said.contains("not signed by the trust root root-test"),
            "{said}"
        );
    }
    // Text that is not an e-licence QR is an invalid presentation, not unusable input.
    let o = licence(&["verify", "-", "--trust", trust, "--json"], Some("HELLO"));
    assert_eq!(
        (o.status.code(), json(&o)["verdict"].as_str()),
        (Some(1), Some("malformed"))
    );
}
