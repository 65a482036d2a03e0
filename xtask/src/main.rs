//! `cargo xtask`: the project's two commands and the set-up they need.
//!
//! `cargo xtask test` installs what is missing, then runs every suite in order (formatting,
//! the UI, lints, the Rust tests, the server's tests again on PostgreSQL, the contracts, the
//! app and its end-to-end tests, fuzzing) and reports each.
//! `cargo xtask run` runs the platform (server, sandbox, demo data) and the driver's app
//! connected to it.
//! A suite is one entry in [`suites::ALL`] with the tools it needs; a need that cannot be met
//! fails the suite loudly, it is never skipped.

mod app_walk;
mod contract;
mod needs;
mod platform;
mod suites;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

  run                  run the platform for development (the sandbox and licence-server with
                       the demo registry, console staff and a demo driver) and the driver's
                       app connected to it, until Ctrl-C; without a display, the app runs
                       under Xvfb and its main screens are saved as screenshots
  run licence [ARGS]   run the `licence` tool (ID numbers, photos, QR verification, ...)
  test [SUITE...]      install what is missing, then run every suite (or the named ones)
  test --list          list the suites and what each needs
  setup                install everything every suite needs, and nothing else
  bench-server [ARGS]  load-test the platform's submission path on loopback (release
                       build; bounded in requests and time); ARGS go to licence-loadgen,
                       e.g. --seconds 5 --rate 1000 --overload 5 (see --help);
                       --postgres: on a throwaway PostgreSQL cluster instead of SQLite;
                       --pg NAME=VALUE: a setting of that cluster (repeatable), e.g.
                       --pg wal_compression=lz4;
                       --pg-tcp: reach that cluster over loopback TCP, not its Unix
                       socket (as a database on another machine is reached);
                       --instances N: N instances on the one store, behind HAProxy;
                       --server-bin FILE: another build of the server (a baseline)
  bench-app            measure the app's budgets on its shipping build (profile app-release):
                       stripped size, cold start to the home screen under Xvfb, memory after
                       applying
  bench-photo [RUNS]   time `licence photo crop` on a 12 MP phone JPEG (stored upright,
                       then as a phone held upright writes it) against an OpenCV-Python
                       pipeline doing the same job, as whole processes, in the same run
                       (RUNS alternating pairs, default 15); ratios and peaks
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("setup") => setup(),
        Some("bench-server") => bench_server(&args[1..]),
        Some("bench-app") => bench_app(),
        Some("bench-photo") => bench_photo(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_owned()
}

/// Announces and runs a command in the workspace root; fails if it does not succeed.
pub fn sh(program: &str, args: &[&str]) -> Result<()> {
    sh_in(".", program, args)
}

/// Announces and runs a command in `dir` (relative to the workspace root).
pub fn sh_in(dir: &str, program: &str, args: &[&str]) -> Result<()> {
    println!("    $ (cd {dir} && {program} {})", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root().join(dir))
        .env("LICENCE_TEST_DATA", needs::test_data_dir())
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn step(message: &str) {
    println!("\n==> {message}");
}

fn run(args: &[String]) -> Result<()> {
    let Some(("licence", args)) = args
        .split_first()
        .map(|(first, rest)| (first.as_str(), rest))
    else {
        if let Some(other) = args.first() {
            bail!("unknown run target '{other}'\n\n{USAGE}");
        }
        return platform::run();
    };
    step("Running the `licence` tool");
    needs::ensure(suites::RUST_BASE)?;
    let mut cmd = vec![
        "run",
        "--quiet",
        "--package",
        "licence-cli",
        "--bin",
        "licence",
        "--",
    ];
    if args.is_empty() {
        cmd.push("explain");
    } else {
        cmd.extend(args.iter().map(String::as_str));
    }
    let status = Command::new("cargo")
        .args(&cmd)
        .current_dir(root())
        .status()?;
    // The tool's own exit code (1 = something was invalid) is an answer, not a failure of `run`.
    match status.code() {
        Some(0 | 1) => Ok(()),
        _ => bail!("the licence tool stopped with {status}"),
    }
}

fn test(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--list") {
        for s in suites::ALL {
            println!(
                "{:<10} {}  (needs: {})",
                s.name,
                s.about,
                needs::describe(s.needs)
            );
        }
        return Ok(());
    }
    let chosen: Vec<&suites::Suite> = if args.is_empty() {
        suites::ALL.iter().collect()
    } else {
        args.iter()
            .map(|name| {
                suites::ALL
                    .iter()
                    .find(|s| s.name == name)
                    .with_context(|| {
                        format!("no suite '{name}'; `cargo xtask test --list` lists them")
                    })
            })
            .collect::<Result<_>>()?
    };
    let mut results = Vec::new();
    for suite in chosen {
        step(&format!("{}: {}", suite.name, suite.about));
        let started = Instant::now();
        let outcome = needs::ensure(suite.needs).and_then(|()| (suite.run)());
        if let Err(e) = &outcome {
            eprintln!("    {} FAILED: {e:#}", suite.name);
        }
        results.push((suite.name, outcome.is_ok(), started.elapsed()));
    }
    step("Summary");
    for (name, ok, took) in &results {
        println!(
            "    {:<10} {:<6} {:>6.1}s",
            name,
            if *ok { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
    }
    let failed: Vec<_> = results.iter().filter(|r| !r.1).map(|r| r.0).collect();
    if failed.is_empty() {
        println!("    all {} suites succeeded", results.len());
        Ok(())
    } else {
        bail!(
            "{} of {} suites failed: {}",
            failed.len(),
            results.len(),
            failed.join(", ")
        )
    }
}

/// PostgreSQL settings, as (name, value).
type PgSettings = Vec<(String, String)>;

/// `--pg NAME=VALUE` pairs taken out of `args`, and the rest.
fn split_pg_settings(args: &[String]) -> Result<(PgSettings, Vec<String>)> {
    let (mut settings, mut rest) = (Vec::new(), Vec::new());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "--pg" {
            rest.push(arg.clone());
            continue;
        }
        let setting = args
            .next()
            .context("--pg needs NAME=VALUE, e.g. --pg wal_compression=lz4")?;
        let (name, value) = setting
            .split_once('=')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
            .with_context(|| format!("--pg {setting}: expected NAME=VALUE"))?;
        anyhow::ensure!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !value.contains(char::is_whitespace),
            "--pg {setting}: a PostgreSQL setting name and a value without spaces"
        );
        settings.push((name.to_owned(), value.to_owned()));
    }
    Ok((settings, rest))
}

/// Builds the server and the load generator optimised, then runs the generator, which
/// starts the server on a fresh database under `target/bench-server` and reports.
fn bench_server(args: &[String]) -> Result<()> {
    needs::ensure(suites::RUST_BASE)?;
    step("building licence-server and licence-loadgen (release)");
    sh(
        "cargo",
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "licence-server",
            "-p",
            "licence-loadgen",
        ],
    )?;
    // `--postgres`: the platform keeps its data in a throwaway PostgreSQL cluster, durable
    // as the SQLite default is (every commit flushed), started here and stopped after.
    let on_postgres = args.iter().any(|a| a == "--postgres");
    // Several instances are served through HAProxy, which comes with the same packages.
    if on_postgres || args.iter().any(|a| a.starts_with("--instances")) {
        needs::ensure(&[needs::Need::Apt(suites::POSTGRES_PACKAGES)])?;
    }
    // `--pg NAME=VALUE`: the cluster's settings beyond PostgreSQL's defaults (its tuning is
    // part of what is measured; docs/performance.md).
    let (pg_args, args) = split_pg_settings(args)?;
    let mut settings = vec![("max_connections", "300")];
    settings.extend(pg_args.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    anyhow::ensure!(
        on_postgres || pg_args.is_empty(),
        "--pg sets the PostgreSQL cluster's settings: add --postgres"
    );
    let cluster = if on_postgres {
        let dir = root().join("target/bench-postgres");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        step("starting a PostgreSQL cluster in target/bench-postgres");
        Some(licence_e2e::postgres::Cluster::start(&dir, &settings).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    step("running the load generator (loopback only)");
    let generator = root().join("target/release/licence-loadgen");
    // `--server-bin FILE` among ARGS runs another build of the server (a baseline built
    // elsewhere, against the same generator and cluster); otherwise the one just built.
    let mut call: Vec<String> = Vec::new();
    if !args
        .iter()
        .any(|a| a == "--server-bin" || a.starts_with("--server-bin="))
    {
        call.extend([
            "--server-bin".into(),
            "target/release/licence-server".into(),
        ]);
    }
    // The platform reaches the cluster on this machine through its socket, as a database
    // on the same machine would be reached; `--pg-tcp` measures loopback TCP instead.
    let over_tcp = args.iter().any(|a| a == "--pg-tcp");
    anyhow::ensure!(
        on_postgres || !over_tcp,
        "--pg-tcp says how the PostgreSQL cluster is reached: add --postgres"
    );
    if let Some(cluster) = &cluster {
        let url = if over_tcp {
            cluster.url()
        } else {
            cluster.socket_url()
        };
        call.extend(["--postgres".into(), url]);
    }
    call.extend(
        args.iter()
            .filter(|a| *a != "--postgres" && *a != "--pg-tcp")
            .cloned(),
    );
    let call: Vec<&str> = call.iter().map(String::as_str).collect();
    sh(generator.to_str().context("a UTF-8 path")?, &call)
}

/// Builds the app as shipped and measures its budgets with tests/e2e/examples/app_budgets.rs
/// (which starts a debug server and the sandbox on loopback, and the app under Xvfb), with a
/// blank Tauri window of the same build as the memory baseline.
fn bench_app() -> Result<()> {
    needs::ensure(&[
        needs::Need::Apt(suites::APP_BUILD_PACKAGES),
        needs::Need::Node,
    ])?;
    needs::ensure(suites::APP_RUN_NEEDS)?;
    step("building the UI, the app and the blank window (profile app-release, as shipped)");
    suites::build_ui()?;
    sh(
        "cargo",
        &[
            "build",
            "--profile",
            "app-release",
            "--locked",
            "-p",
            "licence-app",
            "--bin",
            "licence-app",
            "--example",
            "blank_window",
        ],
    )?;
    sh("cargo", &["build", "--locked", "-p", "licence-server"])?;
    step("measuring");
    sh(
        "cargo",
        &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            "licence-e2e",
            "--example",
            "app_budgets",
            "--",
            "target/app-release/licence-app",
            "target/app-release/examples/blank_window",
        ],
    )
}

/// The OpenCV-Python pipeline's packages (issue 18's speed baseline), pinned. OpenCV 5 moved
/// the Haar cascades out of the main package, so 4.x.
const PHOTO_BASELINE_PACKAGES: &[&str] = &["opencv-python-headless==4.14.0.94", "numpy==2.4.6"];

fn bench_photo(args: &[String]) -> Result<()> {
    let runs = match args {
        [] => "15".to_owned(),
        [n] if n.parse::<u32>().is_ok_and(|n| n > 0) => n.clone(),
        _ => bail!("bench-photo takes one optional argument, the number of runs (e.g. 15)"),
    };
    // NASM with the C toolchain: without it libjpeg-turbo builds without SIMD, and the
    // race would time a slower decoder than the one shipped.
    needs::ensure(suites::RUST_BASE)?;
    needs::ensure(&[needs::Need::PyPi {
        venv: "photo-baseline",
        packages: PHOTO_BASELINE_PACKAGES,
    }])?;
    step("building `licence` (release) and writing the 12 MP test photos");
    sh(
        "cargo",
        &["build", "--release", "--locked", "-p", "licence-cli"],
    )?;
    let dir = root().join("target/bench-photo");
    std::fs::create_dir_all(&dir)?;
    // The photo stored upright, and the same photo as a phone held upright writes it (its
    // landscape sensor's pixels and EXIF orientation 6), which both pipelines must turn.
    let mut photos = Vec::new();
    for (name, how) in [
        ("phone.jpg", "write"),
        ("phone-held-upright.jpg", "write-held-upright"),
    ] {
        let photo = dir.join(name);
        let photo = photo
            .to_str()
            .context("the target path is not UTF-8")?
            .to_owned();
        sh(
            "cargo",
            &[
                "run",
                "--quiet",
                "--release",
                "--locked",
                "-p",
                "licence-photo",
                "--features",
                "testdata",
                "--example",
                "peak_memory",
                "--",
                how,
                &photo,
            ],
        )?;
        photos.push(photo);
    }
    let python = needs::venv_dir("photo-baseline").join("bin/python");
    let race = root().join("crates/licence-photo/benches/opencv/race.py");
    let binary = root().join("target/release/licence");
    for photo in &photos {
        step(&format!("racing on {photo}, {runs} alternating runs each"));
        let status = std::process::Command::new(&python)
            .arg(&race)
            .arg(&binary)
            .arg(photo)
            .arg(&runs)
            .status()
            .with_context(|| format!("could not start {}", python.display()))?;
        if !status.success() {
            bail!("the race failed ({status})");
        }
    }
    Ok(())
}

fn setup() -> Result<()> {
    for suite in suites::ALL {
        step(&format!("needs of {}", suite.name));
        needs::ensure(suite.needs)?;
    }
    println!("\nEverything the suites need is installed.");
    Ok(())
}

#[cfg(test)]
mod bench_args_tests {
    use super::split_pg_settings;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pg_settings_are_taken_out_and_the_rest_kept_in_order() {
        let (settings, rest) = split_pg_settings(&strings(&[
            "--postgres",
            "--pg",
            "wal_compression=lz4",
            "--seconds",
            "5",
            "--pg",
            "max_wal_size=4GB",
        ]))
        .unwrap();
        assert_eq!(
            settings,
            [
                ("wal_compression".to_owned(), "lz4".to_owned()),
                ("max_wal_size".to_owned(), "4GB".to_owned())
            ]
        );
        assert_eq!(rest, strings(&["--postgres", "--seconds", "5"]));
    }

    #[test]
    fn a_malformed_pg_setting_is_refused_with_what_to_write() {
        for bad in [
            &["--pg"][..],
            &["--pg", "fsync"],
            &["--pg", "=on"],
            &["--pg", "a b=c"],
        ] {
            let e = split_pg_settings(&strings(bad)).unwrap_err().to_string();
            assert!(
                e.contains("NAME=VALUE") || e.contains("setting name"),
                "{bad:?}: {e}"
            );
        }
    }
}
