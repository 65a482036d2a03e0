//! Whole-system tests drive real programs over the W3C WebDriver protocol: the console in
//! headless Chromium (chromedriver) and the driver's app (tauri-driver in front of
//! WebKitWebDriver, under Xvfb). This crate is the client both use: open pages, type, click,
//! read text, wait, and save screenshots under `target/e2e-screenshots/` for a person to see.

pub mod haproxy;
pub mod postgres;
pub mod webdriver;
pub mod xvfb;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A loopback port nothing listens on now (for a server a test starts: WebDriver,
/// PostgreSQL, HAProxy).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Adds a member of staff (`role`: clerk, reviewer, admin or officer) to the platform's
/// database at `db` with `licence-server staff add`, as an operator does; the password goes
/// in on standard input, never on the command line.
pub fn add_staff(
    server: &Path,
    db: &Path,
    username: &str,
    name: &str,
    role: &str,
    password: &str,
) -> Result<(), String> {
    let mut child = Command::new(server)
        .arg("--db")
        .arg(db)
        .args(["staff", "add", username, "--name", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", server.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}").map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "adding staff {username} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
