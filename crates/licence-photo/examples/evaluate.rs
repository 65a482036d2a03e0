//! Scores the photo check on a folder of labelled photos, as issue 18 states its targets:
//! `cargo run --release -p licence-photo --features testdata --example evaluate -- DIR`.
//!
//! `DIR/labels.csv` has a header line and then one line per photo:
//! `file,expected,head_length`, where `file` is relative to `DIR`, `expected` is the problem
//! code the photo must be refused with first (empty: compliant), and `head_length` is the
//! labelled head length in pixels of a 260×378 frame judged as it is (empty otherwise).
//! Photos are judged as of today. Exit 1 when a target is missed (docs/photo.md).

use std::path::PathBuf;
use std::process::ExitCode;

use licence_photo::testdata::Scores;
use licence_photo::PhotoChecker;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: evaluate DIR (with DIR/labels.csv: file,expected,head_length)");
        return ExitCode::from(2);
    };
    let labels = match std::fs::read_to_string(dir.join("labels.csv")) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", dir.join("labels.csv").display());
            return ExitCode::from(2);
        }
    };
    let today = time::OffsetDateTime::now_utc().date();
    let mut checker = PhotoChecker::new();
    let mut scores = Scores::default();
    for (n, line) in labels.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [file, expected, head] = fields[..] else {
            eprintln!("labels.csv line {}: want file,expected,head_length", n + 1);
            return ExitCode::from(2);
        };
        let head = match head {
            "" => None,
            text => match text.parse::<f64>() {
                Ok(v) => Some(v),
                Err(e) => {
                    eprintln!("labels.csv line {}: head_length {text:?}: {e}", n + 1);
                    return ExitCode::from(2);
                }
            },
        };
        let bytes = match std::fs::read(dir.join(file)) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
        };
        let verdict = checker.check(&bytes, today);
        scores.add(
            file,
            &verdict,
            Some(expected).filter(|e| !e.is_empty()),
            head,
        );
    }
    println!("{}", scores.report());
    if scores.meet_the_targets() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
