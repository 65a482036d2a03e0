//! The test suites, in the order `cargo xtask test` runs them. Adding a suite is one entry.

use anyhow::Result;

use crate::needs::Need;
use crate::{sh, sh_in};

pub struct Suite {
    pub name: &'static str,
    pub about: &'static str,
    pub needs: &'static [Need],
    pub run: fn() -> Result<()>,
}

/// System packages every Rust build here needs: a C toolchain for crates that compile C, and
/// NASM for libjpeg-turbo's SIMD code on x86 (mozjpeg-sys builds without it, at about half
/// the speed, and says so only as a cargo warning).
const BUILD_PACKAGES: &[&str] = &["build-essential", "pkg-config", "nasm"];
/// The console's browser test: headless Chromium driven over WebDriver, with CJK fonts so
/// that its screenshots are readable.
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver", "fonts-noto-cjk"];
pub const RUST_BASE: &[Need] = &[Need::Apt(BUILD_PACKAGES)];
/// PostgreSQL's server programs (15 on bookworm), for the store's second backend, and
/// HAProxy, the load balancer in front of several instances.
pub const POSTGRES_PACKAGES: &[&str] = &["postgresql", "haproxy"];
/// What the Tauri app needs to compile: WebKitGTK and friends, and libclang for nokhwa's
/// V4L2 bindings.
pub const APP_BUILD_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "file",
    "libwebkit2gtk-4.1-dev",
    "libxdo-dev",
    "libssl-dev",
    "librsvg2-dev",
    "libclang-dev",
    "nasm",
    // The device key in the Secret Service (keyring's D-Bus client).
    "libdbus-1-dev",
];
/// What the app's end-to-end tests need: WebKitWebDriver, a virtual display, CJK fonts.
const APP_E2E_PACKAGES: &[&str] = &["webkit2gtk-driver", "xvfb", "fonts-noto-cjk"];
/// A private D-Bus session with GNOME Keyring, for the test of the device key in the
/// Secret Service.
const KEYRING_PACKAGES: &[&str] = &["dbus", "gnome-keyring"];
/// What `cargo xtask run` needs to show the app without a display.
pub const APP_RUN_NEEDS: &[Need] = &[Need::Apt(APP_E2E_PACKAGES), TAURI_DRIVER];
const TAURI_DRIVER: Need = Need::CargoTool {
    bin: "tauri-driver",
    krate: "tauri-driver",
    version: "^2",
};

/// npm ci (when node_modules is missing or older than the lock file), then the UI's
/// type check and production build into ui/dist, which the app embeds.
pub fn build_ui() -> Result<()> {
    let ui = crate::root().join("ui");
    let modules = ui.join("node_modules/.package-lock.json");
    let stale = match (modules.metadata(), ui.join("package-lock.json").metadata()) {
        (Ok(m), Ok(l)) => m.modified()? < l.modified()?,
        _ => true,
    };
    if stale {
        sh_in("ui", "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    sh_in("ui", "npm", &["run", "build"])
}

/// The app, debug build (it embeds ui/dist, so the UI is built first).
pub fn build_app() -> Result<()> {
    build_ui()?;
    sh("cargo", &["build", "--locked", "-p", "licence-app"])
}

pub const ALL: &[Suite] = &[
    Suite {
        name: "fmt",
        about: "formatting (cargo fmt --check)",
        needs: &[Need::RustComponent("rustfmt")],
        run: || sh("cargo", &["fmt", "--all", "--", "--check"]),
    },
    Suite {
        name: "ui",
        about: "the app's UI: npm ci, type check (vue-tsc), unit tests and the catalogue lint (vitest: no Chinese outside i18n.ts), build (vite)",
        needs: &[Need::Node],
        run: || {
            build_ui()?;
            sh_in("ui", "npm", &["test"])
        },
    },
    Suite {
        name: "clippy",
        about: "lints of the whole workspace including the app, warnings are errors",
        needs: &[
            Need::Apt(APP_BUILD_PACKAGES),
            Need::RustComponent("clippy"),
            Need::Node,
        ],
        run: || {
            // The app embeds ui/dist at compile time, so even linting it needs the UI built.
            if !crate::root().join("ui/dist/index.html").exists() {
                build_ui()?;
            }
            sh(
                "cargo",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ],
            )
        },
    },
    Suite {
        name: "rust",
        about: "unit, property, integration and doc tests of the workspace (WebKit-free crates), with the console in headless Chromium",
        needs: &[
            Need::Apt(BUILD_PACKAGES),
            Need::Apt(BROWSER_PACKAGES),
            Need::TestData,
        ],
        run: || sh("cargo", &["test", "--locked"]),
    },
    Suite {
        name: "postgres",
        about: "the platform's tests again with PostgreSQL as its store (and the PostgreSQL store's own tests): a throwaway cluster in target/postgres-test on loopback, a database per test; then two instances behind HAProxy under load, one killed, PostgreSQL restarted",
        needs: &[
            Need::Apt(BUILD_PACKAGES),
            Need::Apt(BROWSER_PACKAGES),
            Need::Apt(POSTGRES_PACKAGES),
            Need::TestData,
        ],
        run: postgres,
    },
    Suite {
        name: "contract",
        about: "the contracts: the OpenAPI document (openapi-spec-validator, then schemathesis with all its checks against the real server and sandbox, signed in as a driver; bounded examples and time), the e-licence format (a second implementation in Python from docs/credential.md, checked by licence verify), and the e-licence as an ISO 18013-5 mDL against @auth0/mdl both ways",
        needs: &[
            Need::Apt(BUILD_PACKAGES),
            Need::Node,
            Need::PyPi {
                venv: crate::contract::VENV,
                packages: crate::contract::PYTHON_PACKAGES,
            },
        ],
        run: crate::contract::run,
    },
    Suite {
        name: "app",
        about: "the Tauri app: its command tests (the device key in GNOME Keyring too), then end to end through tauri-driver + WebKitWebDriver under Xvfb against the real server, the console in headless Chromium (screenshots in target/e2e-screenshots)",
        needs: &[
            Need::Apt(APP_BUILD_PACKAGES),
            Need::Apt(APP_E2E_PACKAGES),
            Need::Apt(KEYRING_PACKAGES),
            // The journey's console steps run in headless Chromium.
            Need::Apt(BROWSER_PACKAGES),
            Need::Node,
            TAURI_DRIVER,
        ],
        run: || {
            build_app()?;
            sh("cargo", &["test", "--locked", "-p", "licence-app"])?;
            // The server binary the end-to-end tests start.
            sh("cargo", &["build", "--locked", "-p", "licence-server"])?;
            // One app at a time: each test has its own display, server and app.
            sh(
                "cargo",
                &["test", "--locked", "-p", "licence-e2e", "--", "--test-threads=1"],
            )
        },
    },
    Suite {
        name: "fuzz",
        about: "the verifier's input, the signed lists, the key files, the mDL's decoders and the photo intake under libFuzzer, 30 s per target (fuzz/)",
        needs: &[
            Need::Apt(BUILD_PACKAGES),
            Need::CargoTool {
                bin: "cargo-fuzz",
                krate: "cargo-fuzz",
                version: "0.12.0",
            },
        ],
        run: || {
            for target in FUZZ_TARGETS {
                // No sanitizer: our crates forbid unsafe code, and this keeps to the stable
                // toolchain. A crash, a leak past the RSS limit or a timeout fails the suite.
                sh_in(
                    "fuzz",
                    "cargo",
                    &[
                        "fuzz",
                        "run",
                        "--sanitizer",
                        "none",
                        target,
                        "--",
                        "-max_total_time=30",
                        "-rss_limit_mb=1024",
                        "-timeout=10",
                        // Quiet: only the final statistics and any failure.
                        "-verbosity=0",
                        "-print_final_stats=1",
                    ],
                )?;
            }
            Ok(())
        },
    },
];

/// The server's tests with `LICENCE_TEST_POSTGRES` naming a throwaway cluster: the
/// platforms they start keep their data there, and the PostgreSQL store's own tests (marked
/// ignored, as they need the cluster) run too.
fn postgres() -> Result<()> {
    let dir = crate::root().join("target/postgres-test");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    // The cluster also speaks TLS, with a certificate of a development CA of its own, for
    // the store's TLS test (the key readable by the server only, as PostgreSQL insists).
    let pki = licence_tls::DevPki::ensure(&dir.join("tls"))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pki.key, std::fs::Permissions::from_mode(0o600))?;
    }
    let (cert, key) = (
        pki.cert.display().to_string(),
        pki.key.display().to_string(),
    );
    // Tests need no durability across a power cut: no fsync. Commits still wait for the
    // log to be written, so a crashed server loses nothing acknowledged.
    let cluster = licence_e2e::postgres::Cluster::start(
        &dir,
        &[
            ("fsync", "off"),
            ("max_connections", "300"),
            ("ssl", "on"),
            ("ssl_cert_file", &cert),
            ("ssl_key_file", &key),
        ],
    )
    .map_err(anyhow::Error::msg)?;
    println!("    PostgreSQL test cluster at {}", cluster.url());
    let status = std::process::Command::new("cargo")
        .args([
            "test",
            "--locked",
            "-p",
            "licence-server",
            // The crash test: a server killed mid-load loses nothing acknowledged.
            "-p",
            "licence-loadgen",
            "--",
            "--include-ignored",
        ])
        .env("LICENCE_TEST_POSTGRES", cluster.url())
        .env("LICENCE_TEST_POSTGRES_SOCKET", cluster.socket_url())
        .env("LICENCE_TEST_POSTGRES_CA", &pki.ca_cert)
        .current_dir(crate::root())
        .status()?;
    anyhow::ensure!(status.success(), "the tests on PostgreSQL failed: {status}");
    // Several instances behind a load balancer: the test makes a cluster of its own (it
    // restarts it), so it runs alone.
    let status = std::process::Command::new("cargo")
        .args([
            "test",
            "--locked",
            "-p",
            "licence-e2e",
            "--test",
            "instances",
            "--",
            "--include-ignored",
            "--test-threads=1",
        ])
        .current_dir(crate::root())
        .status()?;
    anyhow::ensure!(
        status.success(),
        "the tests of several instances failed: {status}"
    );
    Ok(())
}

/// The fuzz targets in fuzz/fuzz_targets.
const FUZZ_TARGETS: &[&str] = &[
    "verify_qr_text",
    "presentation_cbor",
    "signed_lists",
    "decode_qr_image",
    "mdoc_reader",
    "photo_intake",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_are_unique_and_formatting_runs_first() {
        let mut names: Vec<_> = ALL.iter().map(|s| s.name).collect();
        assert_eq!(names[0], "fmt");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn every_fuzz_target_is_run() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        on_disk.sort_unstable();
        let mut listed: Vec<&str> = FUZZ_TARGETS.to_vec();
        listed.sort_unstable();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn every_suite_says_what_it_needs() {
        for s in ALL {
            assert!(!crate::needs::describe(s.needs).is_empty(), "{}", s.name);
        }
        assert_eq!(crate::needs::describe(&[]), "nothing");
    }
}
