//! Test photographs (feature `testdata`): the real ones fetched by `cargo xtask test`, and
//! labelled variants built from them (a real head placed on a chosen background at a known
//! scale). Used by this crate's tests and by other crates' tests of the photo path.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use image::{imageops, Rgb, RgbImage};

/// Hand labels of astronaut.png (Eileen Collins), in its own pixels: top of hair and chin.
/// Read off a 4× enlargement with a 10-pixel grid; see docs/photo.md.
pub const ASTRONAUT_HAIR_TOP: f64 = 15.5;
pub const ASTRONAUT_CHIN: f64 = 178.0;
/// Pupil centres of astronaut.png, the person's right eye (on the left) first, read off an 8×
/// enlargement with a 5 px grid (docs/photo.md).
pub const ASTRONAUT_RIGHT_PUPIL: (f64, f64) = (203.8, 101.9);
pub const ASTRONAUT_LEFT_PUPIL: (f64, f64) = (246.3, 103.1);
/// The columns kept when the astronaut is placed on a new background: the flag (left) and the
/// shuttle model (right) are left out.
const KEEP_X: (u32, u32) = (110, 350);

/// A person of the test photographs, with hand labels in the pixels of their cut-out
/// (`Person::on`), read by eye off enlargements with a grid (docs/photo.md, "The labelled
/// set"). The painted variants (closed eyes, glasses, hats) are drawn from these labels alone,
/// never from anything the check computes, at sizes made for the astronaut's head and scaled
/// to this person's (`Person::size`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Person {
    pub name: &'static str,
    /// The top of the hair and the bottom of the chin (rows).
    pub hair_top: f64,
    pub chin: f64,
    /// The head's middle (a column): between the pupils and the hair's middle at eye level.
    pub middle: f64,
    /// The pupils' centres, the person's right eye (on the left of the picture) first.
    pub right_pupil: (f64, f64),
    pub left_pupil: (f64, f64),
    source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Astronaut,
    Obama,
}

const KEEP_LEFT: f64 = KEEP_X.0 as f64;

/// Eileen Collins (astronaut.png): a light-skinned woman, brown hair, a grey studio backdrop.
pub const ASTRONAUT: Person = Person {
    name: "astronaut",
    hair_top: ASTRONAUT_HAIR_TOP,
    chin: ASTRONAUT_CHIN,
    // Between the pupils, 225, and the hair's middle at eye level, 228.
    middle: 226.0 - KEEP_LEFT,
    right_pupil: (ASTRONAUT_RIGHT_PUPIL.0 - KEEP_LEFT, ASTRONAUT_RIGHT_PUPIL.1),
    left_pupil: (ASTRONAUT_LEFT_PUPIL.0 - KEEP_LEFT, ASTRONAUT_LEFT_PUPIL.1),
    source: Source::Astronaut,
};

/// The part of obama.jpg kept for his cut-out: his head and shoulders, the flags left out.
const OBAMA_KEEP: (u32, u32, u32, u32) = (250, 0, 500, 760);

/// Barack Obama (obama.jpg, his 2012 official portrait): a man with deep skin, short
/// greying black hair, a broad smile. Labels read off 6× and 8× enlargements of obama.jpg
/// with a 5 px grid (hair top 29.5, chin 429, pupils (443.5, 211.5) and (547.5, 211), the
/// head's middle 494), here less the 250 columns left of his cut-out.
pub const OBAMA: Person = Person {
    name: "Obama",
    hair_top: 29.5,
    chin: 429.0,
    middle: 244.0,
    right_pupil: (193.5, 211.5),
    left_pupil: (297.5, 211.0),
    source: Source::Obama,
};

impl Person {
    /// The person cut out of their photograph, every pixel of the backdrop painted by `fill`.
    pub fn on(&self, fill: impl Fn(u32, u32) -> Rgb<u8>) -> RgbImage {
        match self.source {
            Source::Astronaut => astronaut_on(fill),
            Source::Obama => obama_on(fill),
        }
    }

    pub fn head_length(&self) -> f64 {
        self.chin - self.hair_top
    }

    /// This person's head length over the astronaut's: the scale of anything painted on them.
    pub fn size(&self) -> f64 {
        self.head_length() / ASTRONAUT.head_length()
    }

    /// A 260×378 frame cut from `cutout` (this person as `on` cuts them out, or a variant of
    /// that) so that their labelled head is `length` px long, the top of the hair `top` px
    /// down and the head's middle `shift` px right of the frame's centre line.
    pub fn frame(&self, cutout: &RgbImage, length: f64, top: i64, shift: i64) -> RgbImage {
        let scale = length / self.head_length();
        let img = resize(cutout, scale);
        let hair = (self.hair_top * scale).round() as i64;
        let cx = (self.middle * scale).round() as i64;
        place(&img, 260, 378, 130 + shift - cx, top - hair, WHITE)
    }

    /// `cutout` resized as the astronaut's would be by `scale`: the same head length.
    pub fn photo(&self, cutout: &RgbImage, scale: f64) -> RgbImage {
        resize(cutout, scale / self.size())
    }

    fn pupils(&self) -> [(f64, f64); 2] {
        [self.right_pupil, self.left_pupil]
    }
}

/// Barack Obama cut out of obama.jpg. His outline is a polygon traced by eye off 3× and 4×
/// enlargements along his ears, jaw, collar and shoulders, and 2 px outside his hair; within
/// that margin above his ears, the light window behind him (luma over 150, little colour: his
/// hair's greys are darker, his skin more coloured) is taken away from the outside in.
pub fn obama_on(fill: impl Fn(u32, u32) -> Rgb<u8>) -> RgbImage {
    #[rustfmt::skip]
    const OUTLINE: [(f64, f64); 79] = [
        // His hair, 2 px out, from above his right ear (the picture's left) over the top.
        (346.0, 194.0), (354.0, 190.0), (354.0, 170.0), (355.0, 150.0), (356.0, 140.0),
        (357.0, 130.0), (359.0, 120.0), (362.0, 110.0), (365.0, 100.0), (369.0, 90.0),
        (374.0, 80.0), (382.0, 70.0), (392.0, 60.0), (398.0, 54.0), (410.0, 45.0),
        (420.0, 41.0), (440.0, 35.0), (460.0, 31.0), (480.0, 28.0), (500.0, 27.0),
        (520.0, 29.0), (540.0, 31.0), (560.0, 38.0), (576.0, 50.0), (590.0, 64.0),
        (600.0, 76.0), (609.0, 87.0), (614.0, 98.0), (618.0, 108.0), (621.0, 118.0),
        (624.0, 128.0), (625.0, 140.0), (626.0, 150.0), (627.0, 170.0), (628.0, 190.0),
        (632.0, 195.0),
        // His left ear, jaw and shoulder, to the cut-out's edge.
        (638.0, 197.0), (643.0, 205.0), (644.0, 215.0), (643.0, 237.0), (636.0, 260.0),
        (628.0, 280.0), (621.0, 296.0), (612.0, 295.0), (604.0, 297.0), (600.0, 320.0),
        (595.0, 343.0), (587.0, 360.0), (580.0, 372.0), (590.0, 380.0), (603.0, 397.0),
        (620.0, 413.0), (637.0, 427.0), (657.0, 435.0), (680.0, 443.0), (700.0, 450.0),
        (725.0, 455.0), (750.0, 463.0), (750.0, 760.0),
        // The bottom, then his right shoulder, jaw and ear.
        (250.0, 760.0), (250.0, 500.0), (300.0, 477.0), (320.0, 465.0), (350.0, 453.0),
        (370.0, 443.0), (387.0, 427.0), (400.0, 413.0), (402.0, 390.0), (398.0, 373.0),
        (393.0, 353.0), (387.0, 330.0), (380.0, 307.0), (375.0, 292.0), (366.0, 297.0),
        (356.0, 292.0), (345.0, 263.0), (340.0, 230.0), (338.0, 210.0), (341.0, 199.0),
    ];
    // The window is taken away above the tops of his ears only; below, the polygon is traced
    // on the edge itself.
    const EAR_TOPS: f64 = 196.0;
    let (x0, y0, w, h) = OBAMA_KEEP;
    let src = load("obama.jpg");
    let mut img = imageops::crop_imm(&src, x0, y0, w, h).to_image();
    let outline = OUTLINE.map(|(x, y)| (x - f64::from(x0), y - f64::from(y0)));
    let inside = |x: u32, y: u32| {
        let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let mut crossings = false;
        for (i, &(ax, ay)) in outline.iter().enumerate() {
            let (bx, by) = outline[(i + 1) % outline.len()];
            if (ay > py) != (by > py) && px < ax + (py - ay) * (bx - ax) / (by - ay) {
                crossings = !crossings;
            }
        }
        crossings
    };
    let inside: Vec<bool> = (0..w * h).map(|i| inside(i % w, i / w)).collect();
    // The backdrop: everything outside the polygon, and the light window inside it above his
    // ears that is reached from there.
    let window = |p: Rgb<u8>| luma(p) > 150.0 && chroma(p) < 60;
    let outside = (0..w * h)
        .filter(|&i| !inside[i as usize])
        .map(|i| (i % w, i / w));
    let backdrop = flood(w, h, outside, |x, y| {
        !inside[(y * w + x) as usize] || (f64::from(y) < EAR_TOPS && window(*img.get_pixel(x, y)))
    });
    for (x, y, p) in img.enumerate_pixels_mut() {
        if backdrop[(y * w + x) as usize] {
            *p = fill(x, y);
        }
    }
    img
}

pub fn data(name: &str) -> PathBuf {
    let dir = std::env::var_os("LICENCE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-data")
        });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo xtask test` fetches the test photos",
        path.display()
    );
    path
}

pub fn load(name: &str) -> RgbImage {
    image::open(data(name))
        .expect("a test photo decodes")
        .into_rgb8()
}

fn luma(p: Rgb<u8>) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

fn chroma(p: Rgb<u8>) -> u8 {
    p.0.iter().max().unwrap() - p.0.iter().min().unwrap()
}

/// The astronaut without her studio backdrop: the backdrop is flood-filled from the top and
/// the upper sides through light, grey pixels (hair and skin stop it), then painted by `fill`.
pub fn astronaut_on(fill: impl Fn(u32, u32) -> Rgb<u8>) -> RgbImage {
    let src = load("astronaut.png");
    let (x0, x1) = KEEP_X;
    let mut img = imageops::crop_imm(&src, x0, 0, x1 - x0, src.height()).to_image();
    let (w, h) = img.dimensions();
    let backdrop = |p: Rgb<u8>| chroma(p) < 30 && luma(p) > 110.0;
    let seeds = (0..w)
        .map(|x| (x, 0))
        .chain((0..150).flat_map(|y| [(0, y), (w - 1, y)]));
    let seen = flood(w, h, seeds, |x, y| backdrop(*img.get_pixel(x, y)));
    for (i, seen) in seen.iter().enumerate() {
        if *seen {
            let (x, y) = (i as u32 % w, i as u32 / w);
            img.put_pixel(x, y, fill(x, y));
        }
    }
    img
}

/// The pixels of a `w`×`h` picture (row by row) reached from `seeds` through 4-connected
/// pixels that `passable` lets through; a seed counts only if it is passable itself.
fn flood(
    w: u32,
    h: u32,
    seeds: impl IntoIterator<Item = (u32, u32)>,
    passable: impl Fn(u32, u32) -> bool,
) -> Vec<bool> {
    let mut seen = vec![false; (w * h) as usize];
    let mut stack: Vec<(u32, u32)> = seeds.into_iter().collect();
    while let Some((x, y)) = stack.pop() {
        let i = (y * w + x) as usize;
        if seen[i] || !passable(x, y) {
            continue;
        }
        seen[i] = true;
        if x > 0 {
            stack.push((x - 1, y));
        }
        if x + 1 < w {
            stack.push((x + 1, y));
        }
        if y > 0 {
            stack.push((x, y - 1));
        }
        if y + 1 < h {
            stack.push((x, y + 1));
        }
    }
    seen
}

pub const WHITE: Rgb<u8> = Rgb([248, 248, 246]);

/// The astronaut on white with every pixel of her (skin, hair, suit) darkened by `factor`,
/// warmer as it gets darker: a stand-in for deeper skin under the same light. The deepest skin
/// reflects about a fifth of the light the lightest does, about 0.45 of its value once encoded:
/// at 0.45 her face measures 75 against 168 (docs/photo.md, "Exposure and skin tone"). Her
/// eyes darken with the rest, which real eyes would not: a harder case for the eye models.
pub fn astronaut_darker(factor: f64) -> RgbImage {
    astronaut_changed(|_, _, p| {
        let [r, g, b] = p.0.map(f64::from);
        Rgb([
            (r * factor) as u8,
            (g * factor * 0.92) as u8,
            (b * factor * 0.85) as u8,
        ])
    })
}

/// The astronaut on white with each pixel of her (not of the backdrop) changed by `change`,
/// given its place and colour.
fn astronaut_changed(change: impl Fn(u32, u32, Rgb<u8>) -> Rgb<u8>) -> RgbImage {
    // A colour she has nowhere marks the backdrop.
    const CUT: Rgb<u8> = Rgb([1, 254, 1]);
    let mut img = astronaut_on(|_, _| CUT);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = if *p == CUT { WHITE } else { change(x, y, *p) };
    }
    img
}

/// The astronaut on white with her hair lightened towards the backdrop: each hair pixel keeps
/// `k` of its distance from white (0.3: grey, about 190; 0.12: white hair, about 230, within a
/// few levels of the backdrop's tolerance). Hair as `astronaut_hair_changed` finds it.
pub fn astronaut_grey_haired(k: f64) -> RgbImage {
    astronaut_hair_changed(|p| Rgb(p.0.map(|c| (255.0 - (255.0 - f64::from(c)) * k) as u8)))
}

/// The astronaut on white with each hair pixel changed by `change`. Hair is what of her is
/// darker than her skin (luma under 150) above her collar (y 150) and outside an ellipse about
/// her face (centred 20 px below the labelled pupils' midpoint, 50 × 60 px).
fn astronaut_hair_changed(change: impl Fn(Rgb<u8>) -> Rgb<u8>) -> RgbImage {
    const HAIR_LUMA: f32 = 150.0;
    const HAIR_BOTTOM: f64 = 150.0;
    let cx = (ASTRONAUT_RIGHT_PUPIL.0 + ASTRONAUT_LEFT_PUPIL.0) / 2.0 - f64::from(KEEP_X.0);
    let cy = (ASTRONAUT_RIGHT_PUPIL.1 + ASTRONAUT_LEFT_PUPIL.1) / 2.0 + 20.0;
    astronaut_changed(|x, y, p| {
        let (dx, dy) = ((f64::from(x) - cx) / 50.0, (f64::from(y) - cy) / 60.0);
        let face = dx * dx + dy * dy <= 1.0;
        if !face && luma(p) < HAIR_LUMA && f64::from(y) < HAIR_BOTTOM {
            change(p)
        } else {
            p
        }
    })
}

/// The astronaut on white with her hair dyed `colour`: each hair pixel (as
/// `astronaut_hair_changed` finds them) becomes the colour, shaded as her own hair is (darker
/// where hers is darker than its mean, luma 90; lighter where it is lighter, towards white, as
/// a highlight on hair is).
pub fn astronaut_hair_dyed(colour: Rgb<u8>) -> RgbImage {
    const MEAN_HAIR_LUMA: f64 = 90.0;
    astronaut_hair_changed(|p| {
        let k = f64::from(luma(p)) / MEAN_HAIR_LUMA;
        Rgb(colour.0.map(|c| {
            let c = f64::from(c);
            let v = if k <= 1.0 {
                c * k
            } else {
                c + (255.0 - c) * (k - 1.0).min(1.0)
            };
            v.round().clamp(0.0, 255.0) as u8
        }))
    })
}

/// The astronaut (as `astronaut_on` cuts her out) with her eyes closed: each eye, an ellipse
/// 26×12 px around the labelled pupil, is painted with the skin of the lid above it, blended
/// into the face at its edge, and a closed lid's lash line, curving down, is drawn across it
/// (a third of the lid's brightness, so that it stays the darkest line on a darker skin).
/// Made from the labels alone, not from any landmark the check computes.
pub fn eyes_closed(img: &RgbImage) -> RgbImage {
    ASTRONAUT.eyes_closed(img)
}

impl Person {
    /// `eyes_closed` for this person, its sizes scaled to their head.
    pub fn eyes_closed(&self, img: &RgbImage) -> RgbImage {
        let k = self.size();
        let mut out = img.clone();
        let (w, h) = img.dimensions();
        for (px, py) in self.pupils() {
            let skin = *img.get_pixel(px as u32, (py - 8.0 * k) as u32);
            let (a, b) = (13.0 * k, 6.0 * k);
            for y in (py - b - 1.0) as u32..=(py + b + 1.0) as u32 {
                for x in (px - a - 1.0) as u32..=(px + a + 1.0) as u32 {
                    let (dx, dy) = ((f64::from(x) - px) / a, (f64::from(y) - py) / b);
                    let r = (dx * dx + dy * dy).sqrt();
                    if x >= w || y >= h || r > 1.0 {
                        continue;
                    }
                    // Full paint inside, fading into the face over the outer fifth.
                    let cover = ((1.0 - r) / 0.2).min(1.0);
                    let lash = f64::from(y) - (py + (1.0 + 2.5 * (1.0 - dx * dx)) * k);
                    let target = if lash.abs() < 0.8 * k && dx.abs() < 0.85 {
                        // Darker than the lid by as much as on her own face (70, 50, 42 there).
                        skin.0.map(|c| f64::from(c) * 0.35)
                    } else {
                        skin.0.map(f64::from)
                    };
                    let old = img.get_pixel(x, y).0;
                    let mixed: [u8; 3] = std::array::from_fn(|c| {
                        (target[c] * cover + f64::from(old[c]) * (1.0 - cover)) as u8
                    });
                    out.put_pixel(x, y, Rgb(mixed));
                }
            }
        }
        out
    }
}

/// The astronaut (as `astronaut_on` cuts her out) with narrower eyes: within 7 px of each
/// labelled pupil's row the picture is squeezed towards that row by `f`, and the skin out to
/// 13 px stretched to fill, so the lids come closer as on a narrow or a smiling eye (0.3: a
/// slit). The effect fades out over the last 4 px either side of a 32 px wide box. Made from
/// the labels alone.
pub fn narrower_eyes(img: &RgbImage, f: f64) -> RgbImage {
    ASTRONAUT.narrower_eyes(img, f)
}

impl Person {
    /// `narrower_eyes` for this person, its sizes scaled to their head.
    pub fn narrower_eyes(&self, img: &RgbImage, f: f64) -> RgbImage {
        let k = self.size();
        let (eye, reach, half_width) = (7.0 * k, 13.0 * k, 16.0 * k);
        let mut out = img.clone();
        let (w, h) = img.dimensions();
        for (px, py) in self.pupils() {
            for y in (py - reach) as u32..=(py + reach) as u32 {
                for x in (px - half_width) as u32..=(px + half_width) as u32 {
                    let (dx, dy) = (f64::from(x) - px, f64::from(y) - py);
                    let ady = dy.abs();
                    let from = if ady <= eye * f {
                        ady / f
                    } else {
                        eye + (ady - eye * f) * (reach - eye) / (reach - eye * f)
                    };
                    let fade = ((half_width - dx.abs()) / (4.0 * k)).clamp(0.0, 1.0);
                    let sy = (py + dy.signum() * (ady + (from - ady) * fade))
                        .clamp(0.0, f64::from(h - 2));
                    let (y0, t) = (sy.floor(), sy - sy.floor());
                    let (above, below) = (
                        img.get_pixel(x, y0 as u32).0,
                        img.get_pixel(x, y0 as u32 + 1).0,
                    );
                    let mixed: [u8; 3] = std::array::from_fn(|c| {
                        (f64::from(above[c]) * (1.0 - t) + f64::from(below[c]) * t).round() as u8
                    });
                    if x < w && y < h {
                        out.put_pixel(x, y, Rgb(mixed));
                    }
                }
            }
        }
        out
    }
}

/// The astronaut (as `astronaut_on` cuts her out) with a reflection on glasses over her right
/// eye: a blown-out ellipse 20×9 px around the labelled pupil, a little towards the outer
/// corner, as a lens catches a window. Made from the labels alone.
pub fn glasses_glare(img: &RgbImage) -> RgbImage {
    ASTRONAUT.glasses_glare(img)
}

impl Person {
    /// `glasses_glare` for this person, its sizes scaled to their head.
    pub fn glasses_glare(&self, img: &RgbImage) -> RgbImage {
        let k = self.size();
        let mut out = img.clone();
        let (px, py) = self.right_pupil;
        for (x, y, p) in out.enumerate_pixels_mut() {
            let (dx, dy) = (
                (f64::from(x) - px + 3.0 * k) / (10.0 * k),
                (f64::from(y) - py) / (4.5 * k),
            );
            if dx * dx + dy * dy <= 1.0 {
                *p = Rgb([255, 255, 255]);
            }
        }
        out
    }
}

/// The astronaut (as `astronaut_on` cuts her out) in glasses: two rounded-square frames 36×26
/// px about the labelled pupils, with a bridge, their rim `rim` px thick and near-black; behind
/// each lens every pixel times `lens` (its transmission once encoded: 1 for clear glasses,
/// about 0.3-0.45 for sunglasses). Made from the labels alone.
pub fn glasses(img: &RgbImage, rim: f64, lens: f64) -> RgbImage {
    ASTRONAUT.glasses(img, rim, lens)
}

impl Person {
    /// `glasses` for this person, the frames (and `rim`) scaled to their head.
    pub fn glasses(&self, img: &RgbImage, rim: f64, lens: f64) -> RgbImage {
        const RIM: Rgb<u8> = Rgb([22, 20, 20]);
        let k = self.size();
        let (w, h, rim) = (36.0 * k, 26.0 * k, rim * k);
        let pupils = self.pupils().map(|(x, y)| (x, y + 2.0 * k));
        let mut out = img.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let (fx, fy) = (f64::from(x), f64::from(y));
            for (px, py) in pupils {
                // A superellipse: a square with rounded corners.
                let (dx, dy) = (((fx - px) / (w / 2.0)).abs(), ((fy - py) / (h / 2.0)).abs());
                let r = (dx.powi(4) + dy.powi(4)).powf(0.25);
                if (r - 1.0).abs() <= rim / w {
                    *p = RIM;
                } else if r < 1.0 {
                    *p = Rgb(p.0.map(|c| (f64::from(c) * lens) as u8));
                }
            }
            let bridge = (pupils[0].0 + w / 2.0)..=(pupils[1].0 - w / 2.0);
            if bridge.contains(&fx) && (fy - (pupils[0].1 - h * 0.2)).abs() <= rim / 2.0 {
                *p = RIM;
            }
        }
        out
    }
}

/// Hats painted on the astronaut, for the bare-head rule (R3.3): the shapes a driver is likely
/// to wear, seen from the front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hat {
    /// A baseball cap: a crown over the head down to the hairline, and the visor across the
    /// forehead, in the shade of its underside.
    Cap,
    /// A knitted beanie pulled down to the brows, ribbed, its cuff the most.
    Beanie,
    /// A brimmed hat (a fedora): a crown standing above the head with a dark band, and a brim
    /// half as wide again as her hair.
    Brimmed,
}

/// The white added above the astronaut by `in_hat`, for a crown that stands above her hair,
/// in pixels of astronaut.png.
pub const HAT_ROOM: u32 = 40;

/// The astronaut (as `astronaut_on` cuts her out, or a variant of it) with `HAT_ROOM` px of
/// white added above her, wearing `hat` in `colour`: lighter at its top and shaded below, with
/// a faint texture, as cloth under a studio light. Placed from the labels alone (her head's
/// middle, x 226 of astronaut.png; the top of her hair, 15.5; her brows, about 88).
pub fn in_hat(cut: &RgbImage, hat: Hat, colour: Rgb<u8>) -> RgbImage {
    ASTRONAUT.in_hat(cut, hat, colour)
}

impl Person {
    /// The white `in_hat` adds above this person: as much as leaves the hat's top as far
    /// below the picture's top, in their head's lengths, as on the astronaut.
    pub fn hat_room(&self) -> u32 {
        let above = (f64::from(HAT_ROOM) + ASTRONAUT.hair_top) * self.size() - self.hair_top;
        above.round().max(0.0) as u32
    }

    /// `in_hat` for this person: the hat drawn for the astronaut's head, scaled to theirs and
    /// placed by their labels (the head's middle and the top of the hair), on a picture at
    /// least as wide, in head lengths, as hers.
    pub fn in_hat(&self, cut: &RgbImage, hat: Hat, colour: Rgb<u8>) -> RgbImage {
        let (w, h) = cut.dimensions();
        let k = self.size();
        let room = self.hat_room();
        // White at the sides too where the cut-out is narrower, in head lengths, than the
        // astronaut's: a brim must not reach the picture's edges.
        let astronaut_width = f64::from(KEEP_X.1 - KEEP_X.0);
        let side = ((astronaut_width * k - f64::from(w)) / 2.0).ceil().max(0.0) as u32;
        let mut out = place(
            cut,
            w + 2 * side,
            h + room,
            i64::from(side),
            i64::from(room),
            WHITE,
        );
        let (room, middle) = (f64::from(room), self.middle + f64::from(side));
        // The shade of the hat (its colour's multiple) at a point given in the astronaut's
        // pixels: columns from her head's middle, rows of astronaut.png; None where the hat is not.
        let at = |dx: f64, y: f64| -> Option<f64> {
            let ribs = if ((dx + ASTRONAUT.middle) as i64).rem_euclid(4) < 2 {
                1.0
            } else {
                0.86
            };
            match hat {
                Hat::Cap => {
                    let u = (dx / 72.0).clamp(-1.0, 1.0);
                    let visor = (70.0 + 5.0 * (1.0 - u * u), 76.0 + 9.0 * (1.0 - u * u));
                    let crown =
                        (dx / 74.0).powi(2) + ((y - 76.0) / 70.0).powi(2) <= 1.0 && y <= 76.0;
                    if dx.abs() <= 72.0 && y >= visor.0 && y <= visor.1 {
                        Some(0.72)
                    } else if crown {
                        Some(1.08 - 0.3 * (y - 6.0) / 70.0)
                    } else {
                        None
                    }
                }
                Hat::Beanie => {
                    let dome =
                        (dx / 78.0).powi(2) + ((y - 84.0) / 78.0).powi(2) <= 1.0 && y <= 84.0;
                    match (dome, y >= 64.0) {
                        (true, true) => Some(0.95 * ribs),
                        (true, false) => {
                            Some((1.06 - 0.2 * (y - 6.0) / 58.0) * (0.93 + 0.07 * ribs))
                        }
                        _ => None,
                    }
                }
                Hat::Brimmed => {
                    let brim = (dx / 118.0).powi(2) + ((y - 58.0) / 13.0).powi(2) <= 1.0;
                    let top = -28.0 + 8.0 * (dx / 52.0).powi(2);
                    let crown = dx.abs() <= 52.0 && y >= top && y <= 56.0;
                    if crown && y >= 44.0 {
                        Some(0.45)
                    } else if crown {
                        Some(1.05 - 0.25 * (y + 28.0) / 72.0)
                    } else if brim {
                        Some(0.9 - 0.2 * ((y - 45.0) / 26.0).clamp(0.0, 1.0))
                    } else {
                        None
                    }
                }
            }
        };
        for (x, y, p) in out.enumerate_pixels_mut() {
            let dx = (f64::from(x) - middle) / k;
            let row = (f64::from(y) - room - self.hair_top) / k + ASTRONAUT.hair_top;
            if let Some(shade) = at(dx, row) {
                // A faint, fixed texture: cloth is not a flat fill.
                let n = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 9) as f64 - 4.0;
                *p = Rgb(colour
                    .0
                    .map(|c| (f64::from(c) * shade + n).clamp(0.0, 255.0) as u8));
            }
        }
        out
    }
}

/// A labelled positive: the astronaut on white, enlarged `scale` times (as a higher-resolution
/// camera would see her). Returns the picture and its labelled head length.
pub fn portrait(scale: f64) -> (RgbImage, f64) {
    let img = astronaut_on(|_, _| WHITE);
    (
        resize(&img, scale),
        (ASTRONAUT_CHIN - ASTRONAUT_HAIR_TOP) * scale,
    )
}

/// A 260×378 frame cut from `cutout` (the astronaut as `astronaut_on` cuts her out, or a
/// variant of that) so that her labelled head is `length` px long, its top 15 px down and its
/// middle on the frame's centre line: a frame judged as it is.
pub fn frame_with_head(cutout: &RgbImage, length: f64) -> RgbImage {
    frame_with_head_at(cutout, length, 15, 0)
}

/// The same with the top of her hair `top` px down and her head's middle `shift` px right of
/// the frame's centre line.
pub fn frame_with_head_at(cutout: &RgbImage, length: f64, top: i64, shift: i64) -> RgbImage {
    ASTRONAUT.frame(cutout, length, top, shift)
}

/// `img` with `f` applied to each pixel.
pub fn map(img: &RgbImage, f: impl Fn(Rgb<u8>) -> Rgb<u8>) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| f(*img.get_pixel(x, y)))
}

pub fn resize(img: &RgbImage, scale: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    imageops::resize(
        img,
        (f64::from(w) * scale).round() as u32,
        (f64::from(h) * scale).round() as u32,
        imageops::FilterType::Lanczos3,
    )
}

/// Places `img` on a canvas of `w`×`h` filled with `bg`, with its top-left corner at (x, y)
/// (which may be negative: the part outside is cut off).
pub fn place(img: &RgbImage, w: u32, h: u32, x: i64, y: i64, bg: Rgb<u8>) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(w, h, bg);
    imageops::overlay(&mut canvas, img, x, y);
    canvas
}

pub fn encode(img: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format)
        .unwrap();
    out
}

/// Rotates by `degrees` about the centre (bilinear), filling uncovered corners with `bg`.
pub fn rotate(img: &RgbImage, degrees: f64, bg: Rgb<u8>) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
        if sx < 0.0 || sy < 0.0 || sx >= f64::from(w - 1) || sy >= f64::from(h - 1) {
            return bg;
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (fx, fy) = (sx - f64::from(x0), sy - f64::from(y0));
        let px = |x: u32, y: u32, c: usize| f64::from(img.get_pixel(x, y)[c]);
        Rgb(std::array::from_fn(|ch| {
            let top = px(x0, y0, ch) * (1.0 - fx) + px(x0 + 1, y0, ch) * fx;
            let bottom = px(x0, y0 + 1, ch) * (1.0 - fx) + px(x0 + 1, y0 + 1, ch) * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        }))
    })
}

/// A JPEG with an EXIF block (APP1) carrying an orientation and, optionally, DateTime.
pub fn jpeg_with_exif(img: &RgbImage, orientation: u16, datetime: Option<&str>) -> Vec<u8> {
    with_exif(
        &encode(img, image::ImageFormat::Jpeg),
        orientation,
        datetime,
    )
}

/// `jpeg` with an EXIF segment after its start marker, as in `jpeg_with_exif`.
pub fn with_exif(jpeg: &[u8], orientation: u16, datetime: Option<&str>) -> Vec<u8> {
    // TIFF header (little endian), IFD0 with 1 or 2 entries, then the DateTime text.
    let entries: u16 = if datetime.is_some() { 2 } else { 1 };
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(entries.to_le_bytes());
    tiff.extend(0x0112u16.to_le_bytes()); // Orientation, SHORT, 1 value, inline
    tiff.extend(3u16.to_le_bytes());
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(u32::from(orientation).to_le_bytes());
    let text_offset = 8 + 2 + 12 * u32::from(entries) + 4;
    if datetime.is_some() {
        tiff.extend(0x0132u16.to_le_bytes()); // DateTime, ASCII, 20 bytes, at text_offset
        tiff.extend(2u16.to_le_bytes());
        tiff.extend(20u32.to_le_bytes());
        tiff.extend(text_offset.to_le_bytes());
    }
    tiff.extend(0u32.to_le_bytes()); // no next IFD
    if let Some(dt) = datetime {
        tiff.extend(dt.as_bytes());
        tiff.push(0);
    }
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// A phone-camera-sized JPEG (4000×3000 portrait orientation, 12 megapixels) of the labelled
/// portrait, with sensor-like noise so that it encodes to about the size of a phone's JPEG
/// (3 MB) and decodes as slowly.
pub fn phone_jpeg() -> Vec<u8> {
    jpeg_of_quality(&phone_picture(), 90)
}

/// The same photo as a phone held upright writes it: its landscape sensor's pixels (4000×3000)
/// and EXIF orientation 6, "turn a quarter clockwise to view".
pub fn phone_jpeg_held_upright() -> Vec<u8> {
    let stored = imageops::rotate270(&phone_picture());
    with_exif(&jpeg_of_quality(&stored, 90), 6, None)
}

fn jpeg_of_quality(picture: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(picture)
        .unwrap();
    out
}

fn phone_picture() -> RgbImage {
    let (head, _) = portrait(4.5);
    let mut canvas = RgbImage::from_pixel(3000, 4000, WHITE);
    imageops::overlay(
        &mut canvas,
        &head,
        (3000 - i64::from(head.width())) / 2,
        500,
    );
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for p in canvas.pixels_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % 15) as i16 - 7;
        *p = Rgb(p.0.map(|c| (i16::from(c) + n).clamp(0, 255) as u8));
    }
    canvas
}

/// Scores photos of a labelled set the way issue 18 states its targets: the share of compliant
/// photos accepted, the share of negatives refused with the right code first, per-code
/// precision and recall, and the head length's error on frames whose head length is labelled.
#[derive(Debug, Default)]
pub struct Scores {
    compliant: u32,
    accepted: u32,
    negatives: u32,
    refused_right: u32,
    codes: BTreeMap<String, CodeTally>,
    head_errors: Vec<f64>,
    wrong: Vec<String>,
}

#[derive(Debug, Default)]
struct CodeTally {
    /// Made for this code and refused with it first.
    right: u32,
    /// Made for this code and not refused with it first.
    missed: u32,
    /// Refused with this code first, made for another or compliant.
    wrong: u32,
}

impl Scores {
    /// One photo: its verdict, the code it was made for (`None`: compliant), and its labelled
    /// head length if it is a 260×378 frame judged as it is.
    pub fn add(
        &mut self,
        name: &str,
        verdict: &crate::Verdict,
        expected: Option<&str>,
        head: Option<f64>,
    ) {
        let first = verdict
            .problems
            .iter()
            .find(|p| p.severity == crate::Severity::Error)
            .map(|p| p.code.as_str());
        match expected {
            None => {
                self.compliant += 1;
                if verdict.compliant {
                    self.accepted += 1;
                } else {
                    self.wrong.push(format!("{name}: {first:?}"));
                }
                if let (Some(label), Some(m)) = (head, verdict.measurements.as_ref()) {
                    self.head_errors.push(f64::from(m.head_length_px) - label);
                }
            }
            Some(code) => {
                self.negatives += 1;
                let tally = self.codes.entry(code.to_owned()).or_default();
                if first == Some(code) {
                    self.refused_right += 1;
                    tally.right += 1;
                } else {
                    tally.missed += 1;
                    self.wrong
                        .push(format!("{name} (made for {code}): {first:?}"));
                }
            }
        }
        if let Some(code) = first.filter(|&c| Some(c) != expected) {
            self.codes.entry(code.to_owned()).or_default().wrong += 1;
        }
    }

    /// The share of compliant photos accepted; `None` when there were none.
    pub fn accepted(&self) -> Option<f64> {
        share(self.accepted, self.compliant)
    }

    /// The share of negatives refused with the code they were made for first; `None` when
    /// there were none.
    pub fn refused_right(&self) -> Option<f64> {
        share(self.refused_right, self.negatives)
    }

    /// The share of labelled frames whose head length is within `px` of the label; `None`
    /// when no frame was labelled.
    pub fn head_within(&self, px: f64) -> Option<f64> {
        let within = self.head_errors.iter().filter(|e| e.abs() <= px).count();
        share(within as u32, self.head_errors.len() as u32)
    }

    /// Whether issue 18's targets are met (≥ 97 % accepted, ≥ 97 % refused with the right
    /// code first, ≥ 95 % of head lengths within ±6 px), each judged where there was
    /// something to judge.
    pub fn meet_the_targets(&self) -> bool {
        let at_least = |v: Option<f64>, target: f64| v.is_none_or(|v| v >= target);
        at_least(self.accepted(), 0.97)
            && at_least(self.refused_right(), 0.97)
            && at_least(self.head_within(6.0), 0.95)
    }

    /// Measured minus labelled head length, one per labelled frame.
    pub fn head_errors(&self) -> &[f64] {
        &self.head_errors
    }

    /// The photos judged otherwise than labelled, with what they got.
    pub fn wrong(&self) -> &[String] {
        &self.wrong
    }

    /// The figures as markdown.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "compliant accepted: {}/{} ({})",
            self.accepted,
            self.compliant,
            percent(self.accepted())
        );
        let _ = writeln!(
            out,
            "negatives refused with the right code first: {}/{} ({})",
            self.refused_right,
            self.negatives,
            percent(self.refused_right())
        );
        let _ = writeln!(
            out,
            "| code | made for it | precision | recall |\n|---|---:|---:|---:|"
        );
        for (code, t) in &self.codes {
            let _ = writeln!(
                out,
                "| `{code}` | {} | {} | {} |",
                t.right + t.missed,
                two_places(share(t.right, t.right + t.wrong)),
                two_places(share(t.right, t.right + t.missed))
            );
        }
        let mut errors = self.head_errors.clone();
        errors.sort_by(f64::total_cmp);
        if !errors.is_empty() {
            let at = |q: f64| errors[((errors.len() - 1) as f64 * q).round() as usize];
            let _ = writeln!(
                out,
                "head length, measured - label, {} frames: min {:+.0}, 5 % {:+.0}, median {:+.0}, 95 % {:+.0}, max {:+.0}; within ±6 px: {}",
                errors.len(),
                at(0.0),
                at(0.05),
                at(0.5),
                at(0.95),
                at(1.0),
                percent(self.head_within(6.0))
            );
        }
        for w in &self.wrong {
            let _ = writeln!(out, "wrong: {w}");
        }
        out
    }
}

fn share(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

fn percent(v: Option<f64>) -> String {
    v.map_or("nothing to judge".to_owned(), |v| {
        format!("{:.1} %", 100.0 * v)
    })
}

fn two_places(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.2}"))
}
