//! BlazeFace's keypoints against hand labels, and what they change in the verdict: the roll of
//! the head from the eye line, whatever the background, people leaning or turned away, and
//! eyes open or closed (the iris model).

use image::{imageops, ImageFormat, Rgb, RgbImage};
use licence_photo::testdata::*;
use licence_photo::{BlazeFace, FaceMesh, FrameMeasurements, IrisModel, PhotoChecker, Verdict};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 11 - 24);

fn check(img: &RgbImage) -> Verdict {
    PhotoChecker::new().check(&encode(img, ImageFormat::Png), TODAY)
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.problems.iter().map(|p| p.code.as_str()).collect()
}

const RIGHT_PUPIL: (f64, f64) = ASTRONAUT_RIGHT_PUPIL;
const LEFT_PUPIL: (f64, f64) = ASTRONAUT_LEFT_PUPIL;

#[test]
fn the_eyes_are_found_at_the_hand_labels() {
    let faces = BlazeFace::new().faces(&load("astronaut.png"));
    assert_eq!(faces.len(), 1);
    let f = faces[0];
    let off = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
    assert!(off(f.right_eye, RIGHT_PUPIL) < 2.0, "{:?}", f.right_eye);
    assert!(off(f.left_eye, LEFT_PUPIL) < 2.0, "{:?}", f.left_eye);
    let labelled = (LEFT_PUPIL.1 - RIGHT_PUPIL.1)
        .atan2(LEFT_PUPIL.0 - RIGHT_PUPIL.0)
        .to_degrees();
    assert!(
        (f.roll_degrees() - labelled).abs() < 1.0,
        "{}",
        f.roll_degrees()
    );
    // Nose below the eyes, mouth below the nose, ears outside the eyes.
    assert!(f.nose_tip.1 > f.left_eye.1 && f.mouth.1 > f.nose_tip.1);
    assert!(f.right_ear.0 < f.right_eye.0 && f.left_ear.0 > f.left_eye.0);
    assert!(f.yaw_ratio().abs() < 0.05, "{}", f.yaw_ratio());
}

/// The astronaut on `bg` as a finished 260×378 frame, her head 240 px long.
fn frame_on(bg: Rgb<u8>) -> RgbImage {
    let s = 240.0 / (ASTRONAUT_CHIN - ASTRONAUT_HAIR_TOP);
    let img = resize(&astronaut_on(|_, _| bg), s);
    let hair = (ASTRONAUT_HAIR_TOP * s).round() as i64;
    let cx = ((226.0 - 110.0) * s).round() as i64;
    place(&img, 260, 378, 130 - cx, 15 - hair, bg)
}

#[test]
fn the_roll_does_not_depend_on_the_background() {
    // The symmetry measure read 15-22° on white for upright heads that read 0.5° on blue.
    let rolls: Vec<f64> = [WHITE, Rgb([67, 142, 219]), Rgb([150, 150, 150])]
        .into_iter()
        .map(|bg| {
            check(&frame_on(bg))
                .measurements
                .and_then(|m| m.frame?.roll_degrees)
                .expect("roll measured on a frame")
        })
        .collect();
    for r in &rolls {
        assert!((r - rolls[0]).abs() <= 1.0, "{rolls:?}");
        assert!(r.abs() < 4.0, "{rolls:?}");
    }
    assert_eq!(check(&frame_on(WHITE)).problems, vec![]);
}

#[test]
fn the_eye_line_follows_a_rotation_on_any_background() {
    let detector = BlazeFace::new();
    for bg in [WHITE, Rgb([67, 142, 219])] {
        let canvas = place(
            &resize(&astronaut_on(|_, _| bg), 2.0),
            700,
            1100,
            110,
            60,
            bg,
        );
        let roll = |degrees: f64| detector.faces(&rotate(&canvas, degrees, bg))[0].roll_degrees();
        let upright = roll(0.0);
        for applied in [-20.0, -12.0, -6.0, 6.0, 12.0, 20.0] {
            let change = roll(applied) - upright;
            assert!(
                (change - applied).abs() <= 1.5,
                "{bg:?}: applied {applied}°, measured change {change}°"
            );
        }
    }
}

#[test]
fn people_leaning_or_turned_still_make_a_group() {
    // Three people side by side, the two outer ones leaning 35° (the frontal cascade this
    // check used before saw one of them): three to BlazeFace, so "more than one person".
    let (one, _) = portrait(1.0);
    let person = place(&one, 340, 420, 40, 60, WHITE);
    let mut group = RgbImage::from_pixel(1020, 420, WHITE);
    imageops::overlay(&mut group, &rotate(&person, -35.0, WHITE), 0, 0);
    imageops::overlay(&mut group, &person, 340, 0);
    imageops::overlay(&mut group, &rotate(&person, 35.0, WHITE), 680, 0);
    assert_eq!(BlazeFace::new().faces(&group).len(), 3);
    let v = check(&group);
    assert_eq!(v.problems[0].code.as_str(), "multiple_faces");
    assert_eq!(v.problems.len(), 1);
}

#[test]
fn a_strongly_leaning_head_is_tilted_not_missing() {
    let (one, _) = portrait(2.0);
    let canvas = place(&one, 700, 1100, 110, 60, WHITE);
    let leaning = rotate(&canvas, 40.0, WHITE);
    let v = check(&leaning);
    assert_eq!(
        v.problems
            .iter()
            .map(|p| p.code.as_str())
            .collect::<Vec<_>>(),
        ["tilted"]
    );
}

/// Face Mesh's yaw on the 1927 Solvay photo, against faces labelled by eye (docs/photo.md):
/// three in clear three-quarter or half-turned view, six turned to the camera. Each face is cut
/// out 160 px square around the labelled centre and enlarged to 384 px (its faces are 50-76 px).
#[test]
fn the_mesh_tells_turned_faces_from_frontal_ones_in_a_real_group_photo() {
    let photo = load("solvay-1927.png");
    let (blazeface, mesh) = (BlazeFace::new(), licence_photo::FaceMesh::new());
    let yaw = |(cx, cy): (u32, u32)| {
        let crop = imageops::crop_imm(&photo, cx - 80, cy - 80, 160, 160).to_image();
        let big = imageops::resize(&crop, 384, 384, imageops::FilterType::CatmullRom);
        let nearest = blazeface
            .faces(&big)
            .into_iter()
            .min_by(|a, b| {
                let d = |f: &licence_photo::FaceKeypoints| {
                    (f.face.x + f.face.width / 2.0 - 192.0)
                        .hypot(f.face.y + f.face.height / 2.0 - 192.0)
                };
                d(a).total_cmp(&d(b))
            })
            .expect("a face at the labelled place");
        mesh.landmarks(&big, &nearest)
            .expect("landmarks")
            .yaw_degrees
    };
    for centre in [(1164, 120), (1515, 305), (922, 117)] {
        let y = yaw(centre);
        assert!(y.abs() > 15.0, "turned face at {centre:?}: yaw {y:.1}°");
    }
    for centre in [
        (1190, 274),
        (689, 290),
        (896, 279),
        (1107, 229),
        (234, 242),
        (594, 224),
    ] {
        let y = yaw(centre);
        assert!(y.abs() < 8.0, "frontal face at {centre:?}: yaw {y:.1}°");
    }
}

#[test]
fn the_check_says_face_turned_for_a_turned_face_and_not_for_frontal_ones() {
    // The same labelled Solvay faces, each cut out and enlarged to a 260×378 frame judged as it
    // is (grey, a crowd behind: other codes too; what matters here is face_turned).
    let photo = load("solvay-1927.png");
    let frame = |(cx, cy): (u32, u32)| {
        let crop = imageops::crop_imm(&photo, cx - 55, cy - 85, 110, 160).to_image();
        imageops::resize(&crop, 260, 378, imageops::FilterType::CatmullRom)
    };
    let turned = |centre| {
        let v = check(&frame(centre));
        v.has(licence_photo::ProblemCode::FaceTurned)
    };
    assert!(turned((1164, 120)));
    assert!(!turned((1190, 274)));
    assert!(!turned((689, 290)));
}

/// A measurement of the eyes on the frame the verdict judged.
fn eye_measure(v: &Verdict, which: fn(&FrameMeasurements) -> Option<f64>) -> f64 {
    v.measurements
        .as_ref()
        .and_then(|m| m.frame.as_ref())
        .and_then(which)
        .expect("the eyes were seen")
}

#[test]
fn closed_eyes_are_refused_open_ones_are_not() {
    let open = astronaut_on(|_, _| WHITE);
    let closed = eyes_closed(&open);
    let opening = |v: &Verdict| eye_measure(v, |f| f.eye_opening_percent);
    // A frame judged as it is.
    let v = check(&frame_with_head(&open, 242.0));
    assert_eq!(codes(&v), Vec::<&str>::new());
    assert!(opening(&v) >= 70.0, "{}", opening(&v));
    let v = check(&frame_with_head(&closed, 242.0));
    assert_eq!(codes(&v), ["eyes_closed"]);
    assert!(opening(&v) < 30.0, "{}", opening(&v));
    // A larger photo, cropped: the eyes are seen on the photo and carried into the frame.
    let v = check(&resize(&closed, 2.0));
    assert_eq!(codes(&v), ["eyes_closed"]);
    assert!(!v.compliant);
    assert_eq!(codes(&check(&resize(&open, 2.0))), Vec::<&str>::new());
}

#[test]
fn narrow_eyes_are_open() {
    // Her lids brought towards the pupils' row by 0.65, 0.4 and 0.3 (a slit, as in a broad
    // smile): open eyes, never `eyes_closed`. The measure settles about 0.55 for a slit, where
    // eyes painted shut measure 0.21-0.27: narrow eyes are not near the 0.35 bound.
    let open = astronaut_on(|_, _| WHITE);
    for f in [0.65, 0.4, 0.3] {
        let narrow = narrower_eyes(&open, f);
        let v = check(&frame_with_head(&narrow, 242.0));
        assert_eq!(codes(&v), Vec::<&str>::new(), "{f}");
        let opening = eye_measure(&v, |m| m.eye_opening_percent);
        assert!(opening >= 45.0, "{f}: {opening}");
        assert_eq!(
            codes(&check(&resize(&narrow, 2.0))),
            Vec::<&str>::new(),
            "{f}"
        );
    }
}

#[test]
fn every_real_face_here_has_its_eyes_open() {
    // Grace Hopper, and the Solvay faces labelled frontal and turned (each cut out and enlarged):
    // eyes open, narrow or turned, must never read as closed.
    let (detector, mesh, iris) = (BlazeFace::new(), FaceMesh::new(), IrisModel::new());
    let solvay = load("solvay-1927.png");
    let mut faces = vec![("grace_hopper".to_owned(), load("grace_hopper.jpg"))];
    for (x, y) in [
        (1164, 120),
        (1515, 305),
        (922, 117),
        (1190, 274),
        (689, 290),
        (896, 279),
        (1107, 229),
        (234, 242),
        (594, 224),
    ] {
        let cut = imageops::crop_imm(&solvay, x - 80, y - 80, 160, 160).to_image();
        faces.push((format!("solvay ({x}, {y})"), resize(&cut, 2.4)));
    }
    for (name, picture) in faces {
        // The face nearest the cut's middle: a neighbour's may be larger.
        let (w, h) = (f64::from(picture.width()), f64::from(picture.height()));
        let person = detector
            .people(&picture)
            .into_iter()
            .min_by(|a, b| {
                let d = |f: &licence_photo::FaceKeypoints| {
                    (f.face.x + f.face.width / 2.0 - w / 2.0)
                        .hypot(f.face.y + f.face.height / 2.0 - h / 2.0)
                };
                d(a).total_cmp(&d(b))
            })
            .expect("a face");
        let eyes = detector.refine(&picture, &person);
        let landmarks = mesh.landmarks(&picture, &eyes).expect("the mesh");
        let looks = iris.eyes(&picture, &landmarks).expect("the eyes");
        let opening = looks.opening();
        assert!(opening >= 0.5, "{name}: {opening:.2}");
        // No dark glasses on anyone here, in shadow or not.
        let shade = looks.lens_shade(&picture).expect("the skin under the eyes");
        assert!(shade >= 0.5, "{name}: {shade:.2}");
    }
}

#[test]
fn eyes_are_judged_on_a_head_just_large_enough_in_a_12_mp_photo() {
    // The head 252 px long in a 3000×4000 photo: about 65 px in the copy the models look at,
    // each eye under 10 px wide there.
    for (closed, expected) in [(false, vec![]), (true, vec!["eyes_closed"])] {
        let cut = astronaut_on(|_, _| WHITE);
        let head = resize(&if closed { eyes_closed(&cut) } else { cut }, 1.55);
        let mut photo = RgbImage::from_pixel(3000, 4000, WHITE);
        imageops::overlay(&mut photo, &head, 1500 - i64::from(head.width()) / 2, 1200);
        let v = PhotoChecker::new().check(&encode(&photo, ImageFormat::Jpeg), TODAY);
        assert_eq!(codes(&v), expected, "closed: {closed}");
    }
}

#[test]
fn a_reflection_on_glasses_over_an_eye_is_refused() {
    let open = astronaut_on(|_, _| WHITE);
    let glare = glasses_glare(&open);
    let glare_of = |v: &Verdict| eye_measure(v, |f| f.eye_glare_percent);
    let v = check(&frame_with_head(&open, 242.0));
    assert_eq!(glare_of(&v), 0.0);
    let v = check(&frame_with_head(&glare, 242.0));
    assert_eq!(codes(&v), ["glasses_glare"]);
    assert!(glare_of(&v) >= 60.0, "{}", glare_of(&v));
    // Found on the photo before the crop, and carried into the frame.
    assert_eq!(codes(&check(&resize(&glare, 2.0))), ["glasses_glare"]);
    // A photo overexposed all over is too bright, not glare: the whites of the eyes stay
    // under the bound.
    let bright = RgbImage::from_fn(open.width(), open.height(), |x, y| {
        Rgb(open.get_pixel(x, y).0.map(|c| c.saturating_add(40)))
    });
    let v = check(&frame_with_head(&bright, 242.0));
    assert!(!codes(&v).contains(&"glasses_glare"), "{:?}", codes(&v));
    assert!(glare_of(&v) < 10.0, "{}", glare_of(&v));
}

#[test]
fn dark_glasses_are_refused_clear_ones_are_not() {
    let face = astronaut_on(|_, _| WHITE);
    let shade_of = |v: &Verdict| eye_measure(v, |f| f.lens_shade_percent);
    // Clear lenses, in a thin rim and in a thick dark one (which crosses the skin under the
    // eyes): the skin under the eyes is as light as the cheeks.
    for rim in [1.2, 3.5] {
        let v = check(&frame_with_head(&glasses(&face, rim, 1.0), 242.0));
        assert_eq!(codes(&v), Vec::<&str>::new(), "rim {rim}");
        assert!(shade_of(&v) >= 90.0, "rim {rim}: {}", shade_of(&v));
    }
    // Sunglasses passing 5 % and 12 % of the light (0.25 and 0.38 once encoded): refused,
    // dark glasses and not closed eyes, in a frame and in a photo cropped.
    for lens in [0.25, 0.38] {
        let dark = glasses(&face, 2.0, lens);
        let v = check(&frame_with_head(&dark, 242.0));
        assert_eq!(codes(&v), ["dark_glasses"], "lens {lens}");
        assert!(
            (shade_of(&v) - lens * 100.0).abs() <= 5.0,
            "{}",
            shade_of(&v)
        );
        assert_eq!(codes(&check(&resize(&dark, 2.0))), ["dark_glasses"]);
    }
    // A light tint (0.7: about half the light) is not told from a shadow under the eyes:
    // accepted, and the reviewer reads the shade.
    let v = check(&frame_with_head(&glasses(&face, 2.0, 0.7), 242.0));
    assert_eq!(codes(&v), Vec::<&str>::new());
}

#[test]
fn a_leaning_head_in_a_photo_too_small_to_crop_says_both_straighten_first() {
    // Leaning 14° and too small for the spec without enlarging: the pose comes first, since
    // holding the head straight changes its size in the frame too.
    let (one, _) = portrait(1.0);
    let canvas = place(&one, 600, 800, 180, 200, WHITE);
    let v = check(&rotate(&canvas, 14.0, WHITE));
    assert_eq!(codes(&v), ["tilted", "head_too_small"]);
}
