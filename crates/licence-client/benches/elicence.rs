//! The roadside budgets of issue 8, measured on the app's own code paths:
//! - the QR refresh on the driver's device (`DriverApp::elicence_at`: the credential and lists
//!   from the app's SQLite store, the standing, a fresh presentation signed with the device
//!   key, the QR drawn and encoded as PNG), against the bare presentation + QR drawing of
//!   licence-credential as the baseline in the same run;
//! - the officer's offline verification from a 1280×720 camera frame (QR found and read,
//!   then verified with the cached trust list and status list), and its two halves.
//!
//! `cargo bench -p licence-client --bench elicence`; figures in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use image::{imageops, Rgb, RgbImage};
use licence_client::api::Session;
use licence_client::app::DriverApp;
use licence_client::camera::Frame;
use licence_client::device::{device_key, FileVault};
use licence_client::officer::{read_frame, verify_offline};
use licence_client::store::StoredCredential;
use licence_core::testdata::sample_record;
use licence_core::{DrivingLicence, LicenceStatus};
use licence_credential::qr::{render, QrColour};
use licence_credential::*;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn bench(c: &mut Criterion) {
    let now = now();
    let dir = tempfile::tempdir().unwrap();
    let root = TrustRootKey::generate("root-1", &mut rand::rngs::OsRng);
    let app = DriverApp::open(dir.path(), "http://127.0.0.1:9")
        .unwrap()
        .with_trust_root(root.root());
    let device = device_key(&FileVault::new(&dir.path().join("device.key"))).unwrap();
    let issuer = IssuerKey::generate(
        "dev-1",
        "北京市公安局公安交通管理局",
        &mut rand::rngs::OsRng,
    );
    let trust = TrustList {
        issuers: vec![issuer.trusted(now - 86_400, now + 86_400)],
        ..Default::default()
    };
    // A 32×46 greyscale portrait, compacted, as the platform issues it.
    let (img, _) = licence_photo::testdata::portrait(2.0);
    let small = image::DynamicImage::ImageRgb8(img)
        .resize_exact(32, 46, imageops::FilterType::Lanczos3)
        .into_luma8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40)
        .encode_image(&small)
        .unwrap();
    let credential = Credential {
        licence: DrivingLicence::new(sample_record()).unwrap(),
        portrait_jpeg: portrait::compact_jpeg(&jpeg).unwrap(),
        device_key: device.public_key(),
        not_before: now - 60,
        not_after: now + 7 * 86_400,
        status_index: 7,
        photo_digest: None,
    };
    let signed = credential.sign(&issuer).unwrap();
    // The platform's list has at least 1024 entries.
    let mut list = StatusList::new(1024, now, 86_400);
    list.set(7, LicenceStatus::NORMAL).unwrap();
    let signed_list = list.sign(&issuer).unwrap();
    let store = app.store();
    store
        .save_session(&Session {
            token: "t".into(),
            expires_at: now + 3600,
            account_id: 1,
        })
        .unwrap();
    store
        .put_verifier_data("trust_list", &trust.sign(&root).unwrap(), now)
        .unwrap();
    store
        .put_verifier_data("status_list:dev-1", &signed_list, now)
        .unwrap();
    store
        .save_credential(&StoredCredential {
            account_id: 1,
            signed: signed.clone(),
            not_after: now + 7 * 86_400,
            fetched_at: now,
            photo: None,
            mdoc: None,
        })
        .unwrap();
    let shown = app.elicence_at(now).unwrap();
    assert!(shown.qr_png_base64.is_some() && !shown.qr_red);

    let mut g = c.benchmark_group("elicence");
    g.bench_function("qr_refresh_on_device", |b| {
        b.iter(|| app.elicence_at(now).unwrap())
    });
    g.bench_function("baseline_present_and_render_qr", |b| {
        b.iter(|| {
            render(
                &Presentation::generate(&signed, &device, now).to_text(),
                QrColour::Black,
                1,
            )
            .unwrap()
        })
    });

    // The officer: a phone screen in a 1280×720 camera frame.
    let text = Presentation::generate(&signed, &device, now).to_text();
    let code = render(&text, QrColour::Black, 4).unwrap();
    let mut picture = RgbImage::from_pixel(1280, 720, Rgb([200, 200, 190]));
    imageops::overlay(&mut picture, &code, 390, 110);
    let frame = Frame {
        width: 1280,
        height: 720,
        rgb: picture.into_raw(),
    };
    let parsed = StatusList::verify(&signed_list, &trust).unwrap();
    assert_eq!(read_frame(&frame).as_deref(), Some(text.as_str()));
    let verdict = |t: &str| verify_offline(t, &trust, std::slice::from_ref(&parsed), now).verdict;
    assert_eq!(verdict(&text), VerdictCode::Valid);
    g.sample_size(30);
    g.bench_function("verify_offline_from_camera_frame", |b| {
        b.iter(|| verdict(&read_frame(&frame).unwrap()))
    });
    g.bench_function("read_qr_from_frame", |b| b.iter(|| read_frame(&frame)));
    g.bench_function("verify_offline_from_text", |b| b.iter(|| verdict(&text)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
