//! The models read from files (as the app does, to keep its memory budget) instead of the
//! copies compiled in: a file is used only when it is the model the program was built with,
//! and the check gives the same verdict either way. A test binary of its own: the reader is
//! set once per process.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use image::ImageFormat;
use licence_photo::testdata::{encode, portrait};
use licence_photo::{model_files_usable, read_models_with, ModelFileError, PhotoChecker};
use time::macros::date;

const MODELS: [&str; 3] = [
    "face_detection_short_range.tflite",
    "face_landmark.tflite",
    "iris_landmark.tflite",
];

fn model(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/models/");
    std::fs::read(format!("{dir}{name}")).unwrap()
}

#[test]
fn a_model_file_is_used_only_when_it_is_the_model_compiled_in() {
    assert!(matches!(
        model_files_usable(),
        Err(ModelFileError::NoReader)
    ));

    // The "folder" the reader serves, and the names it was asked for.
    let files: Arc<Mutex<HashMap<&str, Vec<u8>>>> = Arc::default();
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let (served, log) = (files.clone(), asked.clone());
    assert!(read_models_with(move |name| {
        log.lock().unwrap().push(name.to_owned());
        served
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }));
    assert!(!read_models_with(|_| Ok(Vec::new())), "set once");

    let photo = encode(&portrait(2.0).0, ImageFormat::Png);
    let check = || PhotoChecker::new().check(&photo, date!(2026 - 11 - 24));

    // Nothing readable: the compiled-in copies serve, and the verdict is the usual one.
    let unread = check();
    assert!(unread.compliant, "{unread:?}");
    assert_eq!(
        model_files_usable().unwrap_err().to_string(),
        "face_detection_short_range.tflite: no such file"
    );

    // A file that is another model (here, cut short) is passed over for the compiled-in one.
    {
        let mut files = files.lock().unwrap();
        for name in MODELS {
            files.insert(name, model(name));
        }
        let iris = files.get_mut("iris_landmark.tflite").unwrap();
        iris.truncate(iris.len() / 2);
    }
    let err = model_files_usable().unwrap_err();
    assert!(
        matches!(
            err,
            ModelFileError::Different {
                name: "iris_landmark.tflite",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(check(), unread);

    // The right files: read, and the same verdict to the last measurement.
    files
        .lock()
        .unwrap()
        .insert("iris_landmark.tflite", model("iris_landmark.tflite"));
    model_files_usable().unwrap();
    asked.lock().unwrap().clear();
    assert_eq!(check(), unread);
    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, MODELS, "each model read from its file");
}
