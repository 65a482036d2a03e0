//! Peak memory of one check of a 12-megapixel JPEG, measured in a process of its own (the
//! kernel's high-water mark of resident memory, VmHWM), so building the test photo does not
//! count. Linux only.
//!
//! cargo run --release -p licence-photo --features testdata --example peak_memory -- write /tmp/phone.jpg
//! (or `write-held-upright`: the same photo stored landscape with EXIF orientation 6)
//! cargo run --release -p licence-photo --example peak_memory -- check /tmp/phone.jpg

fn vm(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_owned())
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        #[cfg(feature = "testdata")]
        ["write", out] => std::fs::write(out, licence_photo::testdata::phone_jpeg()).expect("write"),
        #[cfg(feature = "testdata")]
        ["write-held-upright", out] => {
            std::fs::write(out, licence_photo::testdata::phone_jpeg_held_upright()).expect("write")
        }
        ["check", file] => {
            let bytes = std::fs::read(file).expect("read");
            let before = vm("VmHWM:");
            let mut checker = licence_photo::PhotoChecker::new();
            let verdict = checker.check(&bytes, time::macros::date!(2026 - 11 - 24));
            println!("input {} KB, compliant {}, peak RSS before check {before}, after {}", bytes.len() / 1024, verdict.compliant, vm("VmHWM:"));
        }
        _ => eprintln!("usage: peak_memory write|write-held-upright OUT.jpg (needs --features testdata) | peak_memory check FILE.jpg"),
    }
}
