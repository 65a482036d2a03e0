//! A virtual X display for the app when the machine has none (CI, servers).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An X server on a display of its own; stopped when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb on a display it chooses itself (`-displayfd`: the X server skips displays in
    /// use and clears the locks of servers that are gone, which a scan of lock files would
    /// take for busy); a phone-like screen is plenty.
    pub fn start() -> Result<Xvfb, String> {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x1024x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("Xvfb cannot start ({e}): `cargo xtask test` installs it (apt: xvfb)")
            })?;
        let stdout = child.stdout.take().ok_or("Xvfb has no standard output")?;
        let (said, heard) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = said.send(line);
        });
        match heard.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.trim().parse::<u32>().is_ok() => Ok(Xvfb {
                child,
                display: format!(":{}", line.trim()),
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err("Xvfb did not say which display it took within 10 s".into())
            }
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
