//! `cargo xtask run`: the traffic-police platform for development — the outside-service
//! sandbox and licence-server with the demo registry and demo staff — on loopback ports,
//! until Ctrl-C.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{needs, root, step, suites};

const SERVER: &str = "127.0.0.1:8080";
const SANDBOX: &str = "127.0.0.1:8090";
/// Console accounts made for development: (username, name, role).
const STAFF: [(&str, &str, &str); 3] = [
    ("clerk", "王警官（演示）", "clerk"),
    ("reviewer", "李警官（演示）", "reviewer"),
    ("admin", "赵主任（演示）", "admin"),
];

/// Kills the children when `run` ends for any reason.
struct Running(Vec<Child>);

/// Process ids of the children, for the signal handler: SIGINT reaches a terminal's whole
/// process group, but a SIGTERM or SIGHUP to xtask alone would leave them running.
static CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

impl Drop for Running {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn run() -> Result<()> {
    needs::ensure(suites::RUST_BASE)?;
    ctrlc::set_handler(|| {
        for pid in CHILDREN.lock().map(|c| c.clone()).unwrap_or_default() {
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
        std::process::exit(130);
    })
    .context("installing the signal handler")?;
    step("Building licence-server and licence-sandbox");
    crate::sh(
        "cargo",
        &[
            "build",
            "--quiet",
            "--locked",
            "-p",
            "licence-server",
            "-p",
            "licence-sandbox",
        ],
    )?;
    let bin = root().join("target/debug");
    let data = root().join("target/dev-platform");
    std::fs::create_dir_all(&data)?;
    let db = data.join("platform.sqlite");
    let credentials = data.join("staff-credentials.txt");
    let server = bin.join("licence-server");
    let db_arg = db.to_str().context("the database path is not UTF-8")?;

    if !db.exists() {
        step("Creating the development database with the demo registry and demo staff");
        let demo = Command::new(&server)
            .args(["--db", db_arg, "demo"])
            .status()?;
        if !demo.success() {
            bail!("licence-server demo failed ({demo})");
        }
        let mut lines = String::new();
        for (username, name, role) in STAFF {
            let password = random_password()?;
            add_staff(&server, db_arg, username, name, role, &password)?;
            lines.push_str(&format!("{username} {password} {role}\n"));
        }
        write_private(&credentials, &lines)?;
    }

    step("Starting the sandbox (identity platform, SMS gateway, Alipay) and the server");
    let mut running = Running(Vec::new());
    let sandbox = Command::new(bin.join("licence-sandbox"))
        .args(["--listen", SANDBOX])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting licence-sandbox")?;
    track(&sandbox);
    running.0.push(sandbox);
    wait_for_line(
        running.0.last_mut().expect("just pushed"),
        "licence-sandbox listening",
    )?;
    let sandbox_url = format!("http://{SANDBOX}");
    let server_child = Command::new(&server)
        .args(["--db", db_arg, "serve", "--listen", SERVER])
        .args([
            "--identity-url",
            &sandbox_url,
            "--sms-url",
            &sandbox_url,
            "--alipay-url",
            &sandbox_url,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting licence-server")?;
    track(&server_child);
    running.0.push(server_child);
    wait_for_line(
        running.0.last_mut().expect("just pushed"),
        "licence-server listening",
    )?;

    step("The platform is running (Ctrl-C stops it)");
    println!(
        "    API        http://{SERVER}/api/v1   (OpenAPI: http://{SERVER}/api/v1/openapi.json)"
    );
    println!("    Console    http://{SERVER}/console");
    println!("    Sandbox    {sandbox_url}   (SMS sent: {sandbox_url}/sandbox/sms/messages)");
    println!("    Database   {}", db.display());
    println!(
        "    Console staff (username password role), also in {}:",
        credentials.display()
    );
    for line in std::fs::read_to_string(&credentials)?.lines() {
        println!("      {line}");
    }
    println!(
        "    Demo people: `target/debug/licence-server --db {} demo` lists them again.",
        db.display()
    );
    for child in &mut running.0 {
        let _ = child.wait();
    }
    Ok(())
}

fn track(child: &Child) {
    if let Ok(mut children) = CHILDREN.lock() {
        children.push(child.id());
    }
}

/// Waits until the child prints the line it prints once listening, then keeps its output
/// flowing to ours.
fn wait_for_line(child: &mut Child, marker: &str) -> Result<()> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line?;
        println!("    {line}");
        if line.contains(marker) {
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    println!("    {line}");
                }
            });
            return Ok(());
        }
    }
    bail!("the process stopped before it was ready (is port {SERVER} or {SANDBOX} in use?)")
}

fn add_staff(
    server: &Path,
    db: &str,
    username: &str,
    name: &str,
    role: &str,
    password: &str,
) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new(server)
        .args([
            "--db", db, "staff", "add", username, "--name", name, "--role", role,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    writeln!(child.stdin.take().context("no stdin")?, "{password}")?;
    let status = child.wait()?;
    if !status.success() {
        bail!("adding staff {username} failed ({status})");
    }
    Ok(())
}

/// 12 random letters and digits, always with both (the console's password rule).
fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 10];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{body}a7"))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}
