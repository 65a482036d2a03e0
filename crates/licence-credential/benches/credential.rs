//! The officer's and the holder's hot paths: a fresh presentation and its QR image, offline
//! verification from QR text, and reading the QR from a 1280×720 camera frame.
//! `cargo bench -p licence-credential --bench credential`; figures in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use image::{imageops, GrayImage, Rgb, RgbImage};
use licence_core::licence::LicenceRecord;
use licence_core::testdata::sample_record;
use licence_core::{DrivingLicence, LicenceStatus, Points};
use licence_credential::qr::{decode, qr_version, render, QrColour};
use licence_credential::*;
use rand_core::OsRng;

const NOW: i64 = 1_795_485_600;

fn bench(c: &mut Criterion) {
    let issuer = IssuerKey::generate("bj-2026", "北京市公安局公安交通管理局", &mut OsRng);
    let device = DeviceKey::generate(&mut OsRng);
    let trust = TrustList {
        issuers: vec![issuer.trusted(NOW - 86_400, NOW + 86_400)],
        ..Default::default()
    };
    let licence = DrivingLicence::new(LicenceRecord {
        name: "欧阳娜娜".parse().unwrap(),
        address: "北京市朝阳区建国门外大街甲88号院3号楼2单元1602室".into(),
        classes: "C1E".parse().unwrap(),
        points: Points::new(3).unwrap(),
        ..sample_record()
    })
    .unwrap();
    // A 32×46 greyscale portrait of the compliant test photo, compacted, as issued.
    let (img, _) = licence_photo::testdata::portrait(2.0);
    let small = image::DynamicImage::ImageRgb8(img)
        .resize_exact(32, 46, imageops::FilterType::Lanczos3)
        .into_luma8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40)
        .encode_image(&small)
        .unwrap();
    let portrait_jpeg = portrait::compact_jpeg(&jpeg).unwrap();
    let credential = Credential {
        licence,
        portrait_jpeg,
        device_key: device.public_key(),
        not_before: NOW,
        not_after: NOW + 86_400,
        status_index: 7,
        photo_digest: None,
    };
    let signed = credential.sign(&issuer).unwrap();
    let mut list = StatusList::new(1 << 20, NOW, 86_400);
    list.set(7, LicenceStatus::NORMAL).unwrap();
    let list = StatusList::verify(&list.sign(&issuer).unwrap(), &trust).unwrap();
    let text = Presentation::generate(&signed, &device, NOW).to_text();
    assert_eq!(
        verify(
            &text,
            &trust,
            std::slice::from_ref(&list),
            NOW,
            VerifyOptions::default()
        )
        .verdict,
        VerdictCode::Valid
    );
    eprintln!(
        "payload: signed credential {} B, QR text {} chars, QR version {} (level M)",
        signed.len(),
        text.len(),
        qr_version(&text).unwrap()
    );

    // The code on a phone screen as a 1280×720 camera frame sees it.
    let code = render(&text, QrColour::Black, 5).unwrap();
    let mut frame = RgbImage::from_pixel(1280, 720, Rgb([200, 200, 190]));
    imageops::overlay(
        &mut frame,
        &imageops::resize(&code, 660, 660, imageops::FilterType::Triangle),
        310,
        30,
    );
    let frame: GrayImage = image::DynamicImage::ImageRgb8(frame).into_luma8();
    assert_eq!(decode(&frame), vec![text.clone()]);

    let mut g = c.benchmark_group("credential");
    g.bench_function("present_and_render_qr", |b| {
        b.iter(|| {
            render(
                &Presentation::generate(&signed, &device, NOW).to_text(),
                QrColour::Black,
                4,
            )
            .unwrap()
        })
    });
    g.bench_function("encode_qr_matrix", |b| {
        b.iter(|| licence_credential::qr::encode(&text).unwrap())
    });
    g.bench_function("baseline_qrcode_general_encoder", |b| {
        b.iter(|| qrcode::QrCode::with_error_correction_level(&text, qrcode::EcLevel::M).unwrap())
    });
    g.bench_function("comparison_fast_qr_encoder", |b| {
        b.iter(|| {
            fast_qr::QRBuilder::new(text.as_bytes())
                .ecl(fast_qr::ECL::M)
                .build()
                .unwrap()
        })
    });
    g.bench_function("present_text_only", |b| {
        b.iter(|| Presentation::generate(&signed, &device, NOW).to_text())
    });
    g.bench_function("verify_from_text", |b| {
        b.iter(|| {
            verify(
                &text,
                &trust,
                std::slice::from_ref(&list),
                NOW,
                VerifyOptions::default(),
            )
        })
    });
    g.sample_size(20);
    g.bench_function("decode_qr_1280x720", |b| b.iter(|| decode(&frame)));
    // A preview frame with no code in it (a photograph of a crowd): the cost of every
    // frame until the code comes into view.
    let empty = imageops::resize(
        &image::DynamicImage::ImageRgb8(licence_photo::testdata::load("solvay-1927.png"))
            .into_luma8(),
        1280,
        720,
        imageops::FilterType::Triangle,
    );
    assert!(decode(&empty).is_empty());
    g.bench_function("decode_qr_1280x720_no_code", |b| b.iter(|| decode(&empty)));
    g.bench_function("baseline_rqrr_one_pass_1280x720", |b| {
        b.iter(|| {
            let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(1280, 720, |x, y| {
                frame.get_pixel(x as u32, y as u32)[0]
            });
            let texts: Vec<String> = prepared
                .detect_grids()
                .into_iter()
                .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
                .collect();
            assert_eq!(texts.len(), 1);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
