//! `cargo xtask test contract`: the platform's OpenAPI document against the running platform.
//!
//! Starts the sandbox and licence-server on loopback with a fresh database (the demo registry
//! and a face-signed demo driver), checks the document with openapi-spec-validator, then runs
//! schemathesis with all its checks, signed in as the driver (tests/contract/hooks.py), for a
//! bounded number of examples per operation and a bounded time. Then the e-licence format's
//! contract: a second implementation written from docs/credential.md alone
//! (tests/contract/second_implementation.py, cbor2 + cryptography) mints presentations and
//! forgeries, and `licence verify` must give each the documented verdict. Then the mDL's
//! contract: @auth0/mdl (tests/mdoc-peer, pinned) verifies our DeviceResponses and refuses
//! their forgeries, and our reader verifies an mDL it issued (crates/licence-mdoc/tests/peer.rs).
//! Any failure fails the suite.
//! The admission limits are raised for the run: this suite tests the contract, and a 429 on
//! every other request would only hide the operations behind it (the limits have tests of
//! their own).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{needs, root, sh, sh_in, step};

/// The Python tools, pinned, installed into `target/venv-contract`.
pub const PYTHON_PACKAGES: &[&str] = &[
    "schemathesis==4.32.5",
    "openapi-spec-validator==0.9.0",
    "pillow==11.3.0",
    "cryptography==45.0.7",
    "cbor2==6.2.1",
];
pub const VENV: &str = "contract";
/// Test cases per operation and phase, and the time budget of the whole run (seconds).
const MAX_EXAMPLES: &str = "30";
const MAX_TIME: &str = "300";
/// Fixed, so that a failure seen in CI is reproduced by running the suite again.
const SEED: &str = "20261204";

pub fn run() -> Result<()> {
    sh(
        "cargo",
        &[
            "build",
            "--locked",
            "-p",
            "licence-server",
            "-p",
            "licence-sandbox",
            "-p",
            "licence-cli",
        ],
    )?;
    let bin = root().join("target/debug");
    let dir = root().join("target/contract");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("platform.sqlite");
    let db_arg = db.to_str().context("the database path is not UTF-8")?;
    let server = bin.join("licence-server");
    step("Contract: a fresh database with the demo registry and a demo driver");
    let demo = Command::new(&server)
        .args(["--db", db_arg, "demo"])
        .stdout(Stdio::null())
        .status()?;
    if !demo.success() {
        bail!("licence-server demo failed ({demo})");
    }
    let (login, password) = crate::platform::add_demo_driver(&server, db_arg)?;

    // Stopped when the suite ends, however it ends.
    let mut platform = crate::platform::Running(Vec::new());
    let sandbox = Command::new(bin.join("licence-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting licence-sandbox")?;
    platform.0.push(sandbox);
    let sandbox_url = crate::platform::listening(
        platform.0.last_mut().expect("pushed"),
        "licence-sandbox",
        false,
    )?;
    let generous = "100000";
    let server_child = Command::new(&server)
        .args(["--db", db_arg, "serve", "--listen", "127.0.0.1:0"])
        .args(["--identity-url", &sandbox_url, "--sms-url", &sandbox_url])
        .args(["--alipay-url", &sandbox_url])
        .args(["--address-rate", generous, "--address-burst", generous])
        .args(["--account-rate", generous, "--account-burst", generous])
        // Long-polls answer within 2 s here, not 30: the time goes to more cases instead.
        .args(["--longest-poll", "2"])
        // Generated sign-ins with the demo driver's login and wrong passwords would lock the
        // account the run signs in with.
        .args(["--sign-in-failures", generous])
        .stdout(Stdio::piped())
        // One log line a request: thousands here, kept beside the database, not in CI's log.
        .stderr(std::fs::File::create(dir.join("server.log"))?)
        .spawn()
        .context("starting licence-server")?;
    platform.0.push(server_child);
    let origin = crate::platform::listening(
        platform.0.last_mut().expect("pushed"),
        "licence-server",
        false,
    )?;
    let base = format!("{origin}/api/v1");
    let document = format!("{base}/openapi.json");

    let venv = needs::venv_dir(VENV);
    step("Contract: the document is valid OpenAPI (openapi-spec-validator)");
    let saved = dir.join("openapi.json");
    run_script(
        &venv,
        "validate.py",
        &[
            &document,
            saved.to_str().context("the target path is not UTF-8")?,
        ],
    )?;

    step("Contract: schemathesis against the running platform, signed in as the demo driver");
    let report = dir.join("schemathesis");
    let config = root().join("tests/contract/schemathesis.toml");
    run_tool(
        &venv.join("bin/st"),
        &[
            "--config-file",
            config
                .to_str()
                .context("the repository path is not UTF-8")?,
            "run",
            &document,
            "--url",
            &origin,
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--max-time",
            MAX_TIME,
            "--seed",
            SEED,
            "--workers",
            "2",
            "--request-timeout",
            "40",
            "--report",
            "junit",
            "--report-dir",
            report.to_str().context("the report path is not UTF-8")?,
        ],
        &[
            ("SCHEMATHESIS_HOOKS", "hooks"),
            (
                "PYTHONPATH",
                root()
                    .join("tests/contract")
                    .to_str()
                    .context("the repository path is not UTF-8")?,
            ),
            ("LICENCE_API_BASE", &base),
            ("LICENCE_DRIVER_LOGIN", &login),
            ("LICENCE_DRIVER_PASSWORD", &password),
        ],
    )?;
    drop(platform);

    step("Contract: a second implementation of the e-licence from docs/credential.md (Python)");
    let licence = bin.join("licence");
    run_script(
        &venv,
        "second_implementation.py",
        &[licence.to_str().context("the target path is not UTF-8")?],
    )?;

    step("Contract: the e-licence as an ISO 18013-5 mDL, against a reader and issuer nobody here wrote (@auth0/mdl)");
    // Not `npm ci`: cbor-x's optional native helper (cbor-extract) names prebuilt packages
    // the registry does not serve, so the lock cannot list them and `npm ci` refuses it as
    // out of step. `npm install --no-save` installs the locked versions, skips the optional
    // helper (cbor-x then runs in plain JavaScript) and leaves the lock as it is.
    sh_in(
        "tests/mdoc-peer",
        "npm",
        &["install", "--no-save", "--no-audit", "--no-fund"],
    )?;
    sh(
        "cargo",
        &[
            "test",
            "--locked",
            "-p",
            "licence-mdoc",
            "--features",
            "issuer",
            "--test",
            "peer",
            "--",
            "--ignored",
        ],
    )?;
    Ok(())
}

/// Runs tests/contract's Python script `name` with `args`, in the suite's environment.
fn run_script(venv: &Path, name: &str, args: &[&str]) -> Result<()> {
    let script = root().join("tests/contract").join(name);
    let script = script
        .to_str()
        .context("the repository path is not UTF-8")?;
    run_tool(&venv.join("bin/python"), &[&[script], args].concat(), &[])
}

/// Runs a tool of the environment in `target/contract`, where schemathesis keeps its cache.
fn run_tool(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    println!("    $ {} {}", program.display(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root().join("target/contract"))
        .status()
        .with_context(|| format!("could not start {}", program.display()))?;
    if !status.success() {
        bail!("`{}` failed ({status})", program.display());
    }
    Ok(())
}
