//! Calibration aid: prints the head geometry found in each image and writes an overlay PNG
//! beside it (face box in red, hair top and chin in green, head edges in blue), so the
//! constants in `measure.rs` can be compared with hand labels. See docs/photo.md.
//!
//! cargo run -p licence-photo --example calibrate -- IMAGE...

use image::{Rgb, RgbImage};
use licence_photo::PhotoChecker;

fn main() {
    let mut checker = PhotoChecker::new();
    for path in std::env::args().skip(1) {
        let picture = match image::open(&path) {
            Ok(p) => p.into_rgb8(),
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let Some(g) = checker.geometry(&picture) else {
            println!("{path}: no face");
            continue;
        };
        let f = g.face;
        println!(
            "{path}: {}×{} box=({:.0},{:.0},{:.0}×{:.0}) score={:.1} bg=[{:.0},{:.0},{:.0}] hair_top={} chin={:.0} left={} right={} head_len={:.0} width={}{}",
            picture.width(), picture.height(), f.x, f.y, f.width, f.height, f.score,
            g.background[0], g.background[1], g.background[2], g.hair_top, g.chin, g.edges.left, g.edges.right,
            g.chin - f64::from(g.hair_top), g.edges.width(),
            if g.edges.measured { "" } else { " (estimated: hair past the ears)" }
        );
        let mut overlay: RgbImage = picture.clone();
        let (w, h) = overlay.dimensions();
        let mut hline = |y: f64, x0: f64, x1: f64, c: Rgb<u8>| {
            let y = y.round().clamp(0.0, f64::from(h - 1)) as u32;
            for x in (x0.max(0.0) as u32)..(x1.min(f64::from(w)) as u32) {
                overlay.put_pixel(x, y, c);
            }
        };
        let red = Rgb([255, 0, 0]);
        hline(f.y, f.x, f.x + f.width, red);
        hline(f.y + f.height, f.x, f.x + f.width, red);
        hline(f64::from(g.hair_top), f.x, f.x + f.width, Rgb([0, 200, 0]));
        hline(g.chin, f.x, f.x + f.width, Rgb([0, 200, 0]));
        let ear = f.y + f.height * 0.45;
        hline(
            ear,
            f64::from(g.edges.left),
            f64::from(g.edges.right),
            Rgb([0, 0, 255]),
        );
        let out = format!("{path}.overlay.png");
        overlay.save(&out).expect("write overlay");
        let bytes = std::fs::read(&path).expect("readable");
        let verdict = checker.check(&bytes, time::OffsetDateTime::now_utc().date());
        println!("    {}", serde_json::to_string(&verdict).expect("json"));
        if let Some(jpeg) = verdict.cropped_jpeg {
            std::fs::write(format!("{path}.crop.jpg"), jpeg).expect("write crop");
        }
    }
}
