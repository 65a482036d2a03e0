//! The trust anchors a build names (docs/app.md): `LICENCE_PLATFORM_CA`, a PEM file of the
//! platform's CA, and `LICENCE_TRUST_ROOT`, the e-licence trust root's public key (the text
//! file `licence keys root` writes). Without them the build trusts no anchor of its own, and
//! each must be given at run time (`LICENCE_CA_CERT`, `--root` / `LICENCE_TRUST_ROOT`).

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (variable, file, what) in [
        (
            "LICENCE_PLATFORM_CA",
            "platform-ca.pem",
            "the platform's CA",
        ),
        (
            "LICENCE_TRUST_ROOT",
            "trust-root.txt",
            "the trust root's public key",
        ),
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
        let bytes = match std::env::var_os(variable) {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", path.to_string_lossy());
                std::fs::read(&path).unwrap_or_else(|e| {
                    panic!(
                        "{variable}={}: cannot read {what}: {e}",
                        path.to_string_lossy()
                    )
                })
            }
            None => Vec::new(),
        };
        std::fs::write(out.join(file), bytes).expect("writing to OUT_DIR");
    }
}
