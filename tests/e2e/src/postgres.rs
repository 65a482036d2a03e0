//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a directory under
//! `target/`, `pg_ctl start` on a free loopback port (and a socket in the same directory),
//! `pg_ctl stop` when dropped. The server programs are Debian's (`postgresql` package,
//! `/usr/lib/postgresql/<version>/bin`). PostgreSQL refuses to run as root, so as root the
//! cluster runs as the `postgres` user the package creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// How the cluster is started again after a restart: the same options.
    options: String,
}

/// The directory of the newest installed PostgreSQL's programs.
fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("PostgreSQL is not installed (/usr/lib/postgresql: {e})"))?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no PostgreSQL server programs under /usr/lib/postgresql".into())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Cluster {
    /// Makes a new cluster in `dir` (which must not exist yet or be empty) and starts it.
    /// `settings` are extra `-c name=value` server settings.
    pub fn start(dir: &Path, settings: &[(&str, &str)]) -> Result<Cluster, String> {
        let bin = bin_dir()?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        if is_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !owned.success() {
                return Err(format!("could not give {} to postgres", dir.display()));
            }
        }
        let port = crate::free_port().map_err(|e| e.to_string())?;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={}",
            dir.display()
        );
        for (name, value) in settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let cluster = Cluster {
            dir,
            bin,
            port,
            options,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )?;
        cluster.pg_ctl(&["start", "-w", "-t", "60"])?;
        Ok(cluster)
    }

    /// The server's URL over loopback TCP, without a database:
    /// `postgres://postgres@127.0.0.1:<port>` (TLS can be asked for on it).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// The server's URL through its Unix socket in the cluster's directory, without a
    /// database: `postgres://postgres@%2F…:<port>` (a host that is a path is a socket
    /// directory). On one machine a socket's round trip costs both sides less than
    /// loopback TCP's (docs/performance.md); it cannot carry TLS.
    pub fn socket_url(&self) -> String {
        let dir = self.dir.to_string_lossy();
        let dir = percent_encoding::utf8_percent_encode(&dir, percent_encoding::NON_ALPHANUMERIC);
        format!("postgres://postgres@{dir}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server as a crash would (`-m immediate`: no checkpoint, recovery from the
    /// log at the next start) and starts it again on the same port.
    pub fn restart_immediate(&self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"])?;
        self.pg_ctl(&["start", "-w", "-t", "60"])
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.data();
        let log = self.dir.join("server.log").display().to_string();
        let mut all = vec!["-D", &data, "-l", &log, "-o", &self.options];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all).map(|_| ())
    }

    /// Runs one of PostgreSQL's programs, as the `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("starting {}: {e}", path.display()))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(format!(
                "{program} {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
    }
}
