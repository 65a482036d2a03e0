//! From a 12-megapixel phone JPEG to verdict + crop, and the stages on the way, with the
//! `image` crate's plain decode as the baseline in the same run.
//! `cargo bench -p licence-photo --bench photo`; figures in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use image::RgbImage;
use licence_photo::{
    decode, decode_reduced, BlazeFace, FaceMesh, PhotoChecker, REDUCED_MIN_SHORT_SIDE,
};
use time::macros::date;

fn bench(c: &mut Criterion) {
    let jpeg = licence_photo::testdata::phone_jpeg();
    let today = date!(2026 - 11 - 24);
    let mut checker = PhotoChecker::new();
    let verdict = checker.check(&jpeg, today);
    assert!(
        verdict.compliant,
        "the benchmark photo must be compliant: {verdict:?}"
    );
    let frame_jpeg = verdict.cropped_jpeg.expect("cropped");
    let picture: RgbImage = decode(&jpeg).unwrap().rgb;

    let mut g = c.benchmark_group("photo_12mp");
    g.sample_size(20);
    g.bench_function("check_and_crop", |b| b.iter(|| checker.check(&jpeg, today)));
    g.bench_function("stage_decode_guarded", |b| {
        b.iter(|| decode(&jpeg).unwrap())
    });
    // As the check decodes it: at half size in the DCT domain (libjpeg-turbo).
    g.bench_function("stage_decode_reduced", |b| {
        b.iter(|| decode_reduced(&jpeg, REDUCED_MIN_SHORT_SIDE).unwrap())
    });
    g.bench_function("baseline_decode_image_crate", |b| {
        b.iter(|| image::load_from_memory(&jpeg).unwrap())
    });
    g.bench_function("stage_head_geometry", |b| {
        b.iter(|| checker.geometry(&picture))
    });
    let blazeface = BlazeFace::new();
    let mesh = FaceMesh::new();
    let person = blazeface.people(&picture)[0];
    g.bench_function("stage_blazeface_people", |b| {
        b.iter(|| blazeface.people(&picture))
    });
    g.bench_function("stage_blazeface_refine", |b| {
        b.iter(|| blazeface.refine(&picture, &person))
    });
    g.bench_function("stage_face_mesh", |b| {
        b.iter(|| mesh.landmarks(&picture, &person))
    });
    g.bench_function("stage_recheck_260x378_jpeg", |b| {
        b.iter(|| checker.check(&frame_jpeg, today))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
