//! The `licence-server` process under test: finding its binary, starting it on a database,
//! watching its memory and CPU, and killing it as a crash would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

use crate::database::Database;

/// The `licence-server` binary serving a database, on a loopback port.
pub struct Server {
    pub child: Child,
    pub address: SocketAddr,
}

impl Server {
    /// Starts `bin serve` on `db` (any port) with `extra` flags; returns once it listens. Its
    /// log (one line a request) goes to the file beside `db` with the extension `log`.
    pub fn start(bin: &Path, db: &Database, extra: &[String]) -> anyhow::Result<Server> {
        Self::start_on(bin, db, extra, None)
    }

    /// [`Server::start`], on the CPUs `cpus` names (`taskset -c` syntax: `0`, `0,2`, `0-3`)
    /// if given, so that a benchmark can keep the server and the generator off each other's
    /// cores.
    pub fn start_on(
        bin: &Path,
        db: &Database,
        extra: &[String],
        cpus: Option<&str>,
    ) -> anyhow::Result<Server> {
        use std::io::{BufRead, BufReader};
        let log_path = db.log_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut command = match cpus {
            Some(cpus) => {
                cpu_list(cpus).map_err(|e| anyhow::anyhow!("--server-cpus {cpus:?}: {e}"))?;
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", cpus]).arg(bin);
                taskset
            }
            None => Command::new(bin),
        };
        let mut child = command
            .args(db.server_args())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .context("the server stopped before it listened")??;
            if let Some(rest) = line.strip_prefix("licence-server listening on http://") {
                break rest
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .parse()
                    .context("the server's address")?;
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { child, address })
    }

    /// The most memory the server has held (VmHWM), in MiB, while it runs.
    pub fn peak_memory_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// SIGKILL, as a crash: what was acknowledged must survive this.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A CPU list as `taskset -c` takes it, for a command line's parser: the list, or what to
/// write instead.
pub fn cpu_list(list: &str) -> Result<String, String> {
    if is_cpu_list(list) {
        Ok(list.to_owned())
    } else {
        Err("give CPU numbers and ranges, e.g. 0 or 0,2 or 0-3".into())
    }
}

/// A CPU list as `taskset -c` takes it: numbers and ranges, comma-separated.
fn is_cpu_list(list: &str) -> bool {
    let number = |n: &str| !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit());
    list.split(',').all(|part| match part.split_once('-') {
        Some((from, to)) => number(from) && number(to),
        None => number(part),
    })
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat` (Linux).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux the platform runs on.
    Some(ticks / 100.0)
}

/// `target/…` beside the running executable's profile directory, e.g. for the server binary.
pub fn sibling_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    // Test executables live in deps/, examples in examples/.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir = dir.parent()?;
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

/// The `licence-server` binary of this build, for tests in other crates: beside the test
/// executable (as `cargo test --workspace` builds it), else built now with cargo.
pub fn server_binary() -> PathBuf {
    if let Some(path) = sibling_binary("licence-server") {
        return path;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "licence-server", "--bin", "licence-server"])
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building licence-server failed");
    sibling_binary("licence-server").expect("licence-server was just built")
}

#[cfg(test)]
mod tests {
    use super::is_cpu_list;

    #[test]
    fn cpu_lists_are_numbers_and_ranges() {
        for good in ["0", "1", "0,2", "0-3", "0-1,4"] {
            assert!(is_cpu_list(good), "{good}");
        }
        for bad in ["", "a", "0,", "-1", "0-", "1;rm", "0 1", "99999"] {
            assert!(!is_cpu_list(bad), "{bad}");
        }
    }
}
