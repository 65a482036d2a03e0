//! The platform's CA as the app and the CLI are built with it: `LICENCE_PLATFORM_CA` names a
//! PEM file at build time (docs/app.md). Without it the build trusts no CA of its own, and a
//! CA must be given at run time (`LICENCE_CA_CERT`) for anything but plain HTTP to loopback.

fn main() {
    println!("cargo:rerun-if-env-changed=LICENCE_PLATFORM_CA");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let pem = match std::env::var_os("LICENCE_PLATFORM_CA") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", path.to_string_lossy());
            std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "LICENCE_PLATFORM_CA={}: cannot read the platform's CA: {e}",
                    path.to_string_lossy()
                )
            })
        }
        None => Vec::new(),
    };
    std::fs::write(out.join("platform-ca.pem"), pem).expect("writing to OUT_DIR");
}
