//! Prints what BlazeFace finds in each photo given: box, keypoints, roll and yaw.
//! `cargo run -p licence-photo --example keypoints -- PHOTO...`
fn main() {
    let detector = licence_photo::BlazeFace::new();
    for path in std::env::args().skip(1) {
        let picture = image::open(&path).expect("a photo").into_rgb8();
        let runs: u32 = std::env::var("RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1);
        let started = std::time::Instant::now();
        let mut faces = detector.faces(&picture);
        for _ in 1..runs {
            faces = detector.faces(&picture);
        }
        let elapsed = started.elapsed() / runs;
        println!("{path}: {} face(s) in {:?}", faces.len(), elapsed);
        for f in faces {
            println!(
                "  box {:.0},{:.0} {:.0}×{:.0} score {:.2} eyes ({:.1},{:.1}) ({:.1},{:.1}) nose ({:.1},{:.1}) mouth ({:.1},{:.1}) ears ({:.1},{:.1}) ({:.1},{:.1}) roll {:.1}° yaw {:.3}",
                f.face.x, f.face.y, f.face.width, f.face.height, f.face.score,
                f.right_eye.0, f.right_eye.1, f.left_eye.0, f.left_eye.1,
                f.nose_tip.0, f.nose_tip.1, f.mouth.0, f.mouth.1,
                f.right_ear.0, f.right_ear.1, f.left_ear.0, f.left_ear.1,
                f.roll_degrees(), f.yaw_ratio()
            );
        }
    }
}
