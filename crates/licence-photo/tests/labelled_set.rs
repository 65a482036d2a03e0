//! The labelled set (issue 18's measure): compliant photos and the negatives of every code,
//! made from the two labelled people the project has: Obama as he is, and the astronaut in
//! nine appearances (her own, three deeper skin tones, grey and white hair, narrower eyes,
//! clear glasses with a thin and a thick rim), each placed on white at known head lengths
//! across the spec's band and at its edges. Reports the share of compliant photos accepted,
//! the share of negatives refused with the right code first, per-code precision and recall,
//! and the head-length error; asserts the issue's targets on it. Two people are not the ten
//! the issue asks for (docs/photo.md says why): this measures the check against appearance
//! more than against faces.

use image::{imageops, ImageFormat, Rgb, RgbImage};
use licence_photo::testdata::*;
use licence_photo::PhotoChecker;
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 24);

/// One photo of the set: what it is, and the code it must be refused with first (`None`:
/// compliant).
struct Case {
    name: String,
    bytes: Vec<u8>,
    expected: Option<&'static str>,
    /// The labelled head length, for a frame judged as it is.
    head: Option<f64>,
}

struct Appearance {
    name: &'static str,
    /// Whose labels place the frames and the painted variants.
    person: Person,
    cut: RgbImage,
    /// Glasses of her own: closed eyes or dark glasses painted on them mean nothing.
    glasses: bool,
    /// Her skin made darker: the exposure negatives are made from the others only.
    darker: bool,
}

fn appearances() -> Vec<Appearance> {
    let plain = astronaut_on(|_, _| WHITE);
    let a = |name, cut, glasses, darker| Appearance {
        name,
        person: ASTRONAUT,
        cut,
        glasses,
        darker,
    };
    vec![
        Appearance {
            name: "Obama",
            person: OBAMA,
            cut: OBAMA.on(|_, _| WHITE),
            glasses: false,
            darker: false,
        },
        a("her own", plain.clone(), false, false),
        a("skin x0.7", astronaut_darker(0.7), false, true),
        a("skin x0.45", astronaut_darker(0.45), false, true),
        a("skin x0.32", astronaut_darker(0.32), false, true),
        a("grey hair", astronaut_grey_haired(0.3), false, false),
        a("white hair", astronaut_grey_haired(0.12), false, false),
        a("narrow eyes", narrower_eyes(&plain, 0.5), false, false),
        a("glasses, thin rim", glasses(&plain, 1.2, 1.0), true, false),
        a("glasses, thick rim", glasses(&plain, 3.5, 1.0), true, false),
    ]
}

/// `cut` with its white backdrop (the exact `WHITE` the cut-outs are painted with) repainted.
fn repaint(cut: &RgbImage, fill: impl Fn(u32, u32) -> Rgb<u8>) -> RgbImage {
    RgbImage::from_fn(cut.width(), cut.height(), |x, y| {
        let p = *cut.get_pixel(x, y);
        if p == WHITE {
            fill(x, y)
        } else {
            p
        }
    })
}

/// `cut` with the person (everything but the backdrop) at a fifth of the light: a face in
/// shadow, darker than any skin (her face at 34).
fn in_shadow(cut: &RgbImage) -> RgbImage {
    map(cut, |p| {
        if p == WHITE {
            p
        } else {
            Rgb(p.0.map(|c| (f64::from(c) * 0.2) as u8))
        }
    })
}

fn png(img: &RgbImage) -> Vec<u8> {
    encode(img, ImageFormat::Png)
}

fn set() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>, expected, head| {
        cases.push(Case {
            name,
            bytes,
            expected,
            head,
        })
    };
    for a in appearances() {
        let n = |what: &str| format!("{}: {what}", a.name);
        let (cut, who) = (&a.cut, &a.person);
        let photo = who.photo(cut, 2.0);
        // Compliant: frames judged as they are, across the band and at its edges, and
        // larger photos cropped.
        for length in [224.0, 233.0, 242.0, 251.0, 260.0] {
            let frame = who.frame(cut, length, 15, 0);
            add(
                n(&format!("frame {length}")),
                png(&frame),
                None,
                Some(length),
            );
        }
        for scale in [1.6, 2.0, 3.0] {
            add(
                n(&format!("photo x{scale}")),
                png(&who.photo(cut, scale)),
                None,
                None,
            );
        }
        // The same on a pure-white backdrop (255), as a cut-out pasted on white would be:
        // hair that fades into the one may stand out of the other.
        let pure = |img: &RgbImage| repaint(img, |_, _| Rgb([255, 255, 255]));
        for length in [224.0, 242.0, 260.0] {
            let frame = pure(&who.frame(cut, length, 15, 0));
            add(
                n(&format!("frame {length}, pure white")),
                png(&frame),
                None,
                Some(length),
            );
        }
        add(n("photo x2, pure white"), png(&pure(&photo)), None, None);
        // The negatives.
        let frame = |length, top, shift| png(&who.frame(cut, length, top, shift));
        add(
            n("head 212"),
            frame(212.0, 15, 0),
            Some("head_too_small"),
            None,
        );
        add(
            n("head 272"),
            frame(272.0, 15, 0),
            Some("head_too_large"),
            None,
        );
        add(n("top 3"), frame(242.0, 3, 0), Some("head_too_high"), None);
        add(n("top 32"), frame(242.0, 32, 0), Some("head_too_low"), None);
        add(
            n("shift 22"),
            frame(242.0, 15, 22),
            Some("head_off_centre"),
            None,
        );
        add(
            n("small in a large photo"),
            png(&place(&who.photo(cut, 1.0), 600, 800, 180, 150, WHITE)),
            Some("head_too_small"),
            None,
        );
        add(
            n("cut by the top edge"),
            png(&place(&photo, 700, 1100, 110, -40, WHITE)),
            Some("not_enough_margin"),
            None,
        );
        let blue = repaint(cut, |_, _| Rgb([175, 205, 235]));
        add(
            n("light blue backdrop"),
            png(&who.photo(&blue, 2.0)),
            Some("background_not_white"),
            None,
        );
        let gradient = repaint(cut, |x, _| {
            let v = 250 - (x * 70 / cut.width()) as u8;
            Rgb([v, v, v])
        });
        add(
            n("backdrop gradient"),
            png(&who.photo(&gradient, 2.0)),
            Some("background_uneven"),
            None,
        );
        let canvas = place(&photo, 700, 1100, 110, 60, WHITE);
        add(
            n("leaning 14°"),
            png(&rotate(&canvas, 14.0, WHITE)),
            Some("tilted"),
            None,
        );
        add(
            n("grey"),
            png(&map(&photo, |p| {
                let l = (0.299 * f32::from(p[0])
                    + 0.587 * f32::from(p[1])
                    + 0.114 * f32::from(p[2])) as u8;
                Rgb([l, l, l])
            })),
            Some("not_colour"),
            None,
        );
        add(
            n("blurred"),
            png(&imageops::blur(&photo, 3.5)),
            Some("blurry"),
            None,
        );
        let one = who.photo(cut, 1.5);
        let mut two = RgbImage::from_pixel(one.width() * 2, one.height(), WHITE);
        imageops::overlay(&mut two, &one, 0, 0);
        imageops::overlay(&mut two, &one, i64::from(one.width()), 0);
        add(n("two people"), png(&two), Some("multiple_faces"), None);
        add(
            n("taken a year ago"),
            jpeg_with_exif(&photo, 1, Some("2025:11:01 10:00:00")),
            Some("older_than_6_months"),
            None,
        );
        add(
            n("glare on glasses"),
            png(&who.photo(&who.glasses_glare(cut), 2.0)),
            Some("glasses_glare"),
            None,
        );
        if !a.glasses {
            add(
                n("eyes closed"),
                png(&who.photo(&who.eyes_closed(cut), 2.0)),
                Some("eyes_closed"),
                None,
            );
            add(
                n("sunglasses"),
                png(&who.photo(&who.glasses(cut, 2.0, 0.3), 2.0)),
                Some("dark_glasses"),
                None,
            );
        }
        // A hat: a cap, a beanie and a brimmed hat, each in a colour or shape the rule sees
        // (tests/hats.rs has every colour, and those it does not see).
        for (hat, colour) in [
            (Hat::Cap, Rgb([182, 32, 38])),
            (Hat::Beanie, Rgb([32, 42, 82])),
            (Hat::Brimmed, Rgb([205, 185, 150])),
        ] {
            add(
                n(&format!("{hat:?}")),
                png(&who.photo(&who.in_hat(cut, hat, colour), 2.0)),
                Some("head_covered"),
                None,
            );
        }
        // Exposure is judged by the face's brightness, which is mostly its skin's: 95 levels
        // more on a darker skin make a face of 148-212, lit as a lighter skin is, and a fifth
        // of the light on it is darker than any skin. These are made from the appearances
        // whose skin is her own.
        if !a.darker {
            add(
                n("overexposed"),
                png(&map(&photo, |p| Rgb(p.0.map(|c| c.saturating_add(95))))),
                Some("too_bright"),
                None,
            );
            add(
                n("face in shadow"),
                png(&who.photo(&in_shadow(cut), 2.0)),
                Some("too_dark"),
                None,
            );
        }
    }
    add(
        "nobody: an empty white photo".to_owned(),
        png(&RgbImage::from_pixel(600, 800, WHITE)),
        Some("no_face"),
        None,
    );
    cases
}

#[test]
fn the_labelled_set_meets_the_issue_s_targets() {
    let mut checker = PhotoChecker::new();
    let mut scores = Scores::default();
    for case in set() {
        let v = checker.check(&case.bytes, TODAY);
        scores.add(&case.name, &v, case.expected, case.head);
    }
    println!("{}", scores.report());
    // The issue's targets.
    assert!(scores.meet_the_targets(), "{}", scores.report());
    assert_eq!(scores.accepted(), Some(1.0), "{:#?}", scores.wrong());
    assert_eq!(scores.refused_right(), Some(1.0), "{:#?}", scores.wrong());
    assert_eq!(
        scores.head_errors().len(),
        appearances().len() * 8,
        "every frame measured"
    );
}
