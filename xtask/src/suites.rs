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

/// System packages every Rust build here needs: a C toolchain for crates that compile C.
const BUILD_PACKAGES: &[&str] = &["build-essential", "pkg-config"];
/// The console's browser test: headless Chromium driven over WebDriver, with CJK fonts so
/// that its screenshots are readable.
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver", "fonts-noto-cjk"];
pub const RUST_BASE: &[Need] = &[Need::Apt(BUILD_PACKAGES)];

pub const ALL: &[Suite] = &[
    Suite {
        name: "fmt",
        about: "formatting (cargo fmt --check)",
        needs: &[Need::RustComponent("rustfmt")],
        run: || sh("cargo", &["fmt", "--all", "--", "--check"]),
    },
    Suite {
        name: "clippy",
        about: "lints, warnings are errors",
        needs: &[Need::Apt(BUILD_PACKAGES), Need::RustComponent("clippy")],
        run: || {
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
        name: "fuzz",
        about: "the verifier's input under libFuzzer, 30 s per target (fuzz/)",
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

/// The fuzz targets in fuzz/fuzz_targets.
const FUZZ_TARGETS: &[&str] = &["verify_qr_text", "presentation_cbor", "decode_qr_image"];

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
