//! Catmull-Rom resampling of a window of a picture, for the crop's last step.
//!
//! Why not `image::imageops::resize`: it is the same filter, but it reads each pixel through
//! a generic view and rounds through libm, and took 6 ms of a 12 MP check's 70 to shrink a
//! 394×573 window to 260×378. This does the same arithmetic in the same order (the test
//! holds it to the bit), over whole rows at a time, which the compiler vectorises.

use image::RgbImage;

/// The taps of one output pixel along an axis: the first source index and the weights.
struct Taps {
    first: usize,
    weights: Vec<f32>,
}

/// Catmull-Rom (the B = 0, C = ½ cubic) at distance `x`, in source pixels of the support.
fn catmull_rom(x: f32) -> f32 {
    let a = x.abs();
    let k = if a < 1.0 {
        9.0 * a.powi(3) + -15.0 * a.powi(2) + 6.0
    } else if a < 2.0 {
        -3.0 * a.powi(3) + 15.0 * a.powi(2) + -24.0 * a + 12.0
    } else {
        0.0
    };
    k / 6.0
}

/// The taps of each of `to` output pixels over `from` source pixels (both at least 1): the
/// filter widened by the scale when shrinking, centred on the output pixel's centre, and
/// cut at the edges, its weights summing to one.
fn taps(from: usize, to: usize) -> Vec<Taps> {
    let ratio = from as f32 / to as f32;
    let widen = ratio.max(1.0);
    let support = 2.0 * widen;
    (0..to)
        .map(|out| {
            let centre = (out as f32 + 0.5) * ratio;
            let first = ((centre - support).floor() as i64).clamp(0, from as i64 - 1);
            let end = ((centre + support).ceil() as i64).clamp(first + 1, from as i64);
            // Distances are measured from pixel centres.
            let centre = centre - 0.5;
            let mut weights: Vec<f32> = (first..end)
                .map(|i| catmull_rom((i as f32 - centre) / widen))
                .collect();
            let sum: f32 = weights.iter().fold(0.0, |s, w| s + w);
            weights.iter_mut().for_each(|w| *w /= sum);
            Taps {
                first: first as usize,
                weights,
            }
        })
        .collect()
}

/// `v` clamped to 0-255 and rounded half away from zero, as `f32::round` does, without its
/// library call: the fraction of a number below 256 is exact in f32.
fn nearest_byte(v: f32) -> u8 {
    let v = v.clamp(0.0, 255.0);
    let whole = v as u8;
    whole + u8::from(v - f32::from(whole) >= 0.5)
}

/// The window `(x, y, w, h)` of `picture` resampled to `to_w`×`to_h`: columns first, as
/// sums in f32, then rows, rounded to bytes.
pub(crate) fn window(
    picture: &RgbImage,
    (x, y, w, h): (u32, u32, u32, u32),
    (to_w, to_h): (u32, u32),
) -> RgbImage {
    let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
    let (to_w, to_h) = (to_w as usize, to_h as usize);
    let stride = picture.width() as usize * 3;
    let raw = picture.as_raw();
    let row = |r: usize| &raw[(y + r) * stride + x * 3..][..w * 3];

    // Down the columns: `to_h` rows of `w` pixels, unrounded.
    let mut tall = vec![0.0f32; to_h * w * 3];
    for (out, t) in tall.chunks_exact_mut(w * 3).zip(taps(h, to_h)) {
        for (i, &weight) in t.weights.iter().enumerate() {
            for (sum, &v) in out.iter_mut().zip(row(t.first + i)) {
                *sum += f32::from(v) * weight;
            }
        }
    }
    // Along the rows.
    let across = taps(w, to_w);
    let mut out = Vec::with_capacity(to_w * to_h * 3);
    for line in tall.chunks_exact(w * 3) {
        for t in &across {
            let mut sum = [0.0f32; 3];
            for (i, &weight) in t.weights.iter().enumerate() {
                let p = &line[(t.first + i) * 3..][..3];
                for c in 0..3 {
                    sum[c] += p[c] * weight;
                }
            }
            out.extend(sum.map(nearest_byte));
        }
    }
    RgbImage::from_raw(to_w as u32, to_h as u32, out).expect("sized to the output")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{crop_imm, resize, FilterType};
    use image::Rgb;

    /// A picture with detail at every scale: edges, gradients and noise.
    fn busy(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 251;
            Rgb([
                ((x * 255) / w) as u8,
                if (x / 9 + y / 13) % 2 == 0 { 250 } else { 10 },
                noise as u8,
            ])
        })
    }

    #[test]
    fn bytes_are_rounded_as_f32_round_rounds() {
        for v in [
            -3.0f32, -0.2, 0.0, 0.49999997, 0.5, 1.5, 2.5, 254.49998, 254.5, 255.0, 300.0,
        ] {
            assert_eq!(nearest_byte(v), v.clamp(0.0, 255.0).round() as u8, "{v}");
        }
        // Every quarter from -1 to 256, and the floats either side of each half.
        for q in -4..1025 {
            let v = q as f32 / 4.0;
            for v in [v, v.next_down(), v.next_up()] {
                assert_eq!(nearest_byte(v), v.clamp(0.0, 255.0).round() as u8, "{v}");
            }
        }
    }

    #[test]
    fn a_window_is_resampled_as_the_image_crate_resamples_it_to_the_bit() {
        let picture = busy(700, 900);
        for (window, to) in [
            ((40, 60, 394, 573), (260, 378)),
            ((0, 0, 700, 900), (260, 378)),
            ((3, 5, 519, 755), (260, 378)),
            ((10, 10, 300, 400), (260, 378)),
            ((0, 0, 261, 379), (260, 378)),
            ((100, 200, 37, 41), (260, 378)), // enlarging
            ((1, 1, 1, 1), (3, 2)),
        ] {
            let (x, y, w, h) = window;
            let want = resize(
                &*crop_imm(&picture, x, y, w, h),
                to.0,
                to.1,
                FilterType::CatmullRom,
            );
            let got = super::window(&picture, window, to);
            assert!(got == want, "{window:?} to {to:?} differs");
        }
    }
}
