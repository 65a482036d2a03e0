//! `cargo xtask run`: the traffic-police platform for development — the outside-service
//! sandbox and licence-server with the demo registry, demo staff and a demo driver — on
//! loopback ports, and the driver's app connected to it, until Ctrl-C. Without a display the
//! app runs under Xvfb, its main screens are walked and saved as screenshots.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{needs, root, step, suites};

const SERVER: &str = "127.0.0.1:8080";
const SANDBOX: &str = "127.0.0.1:8090";
/// Staff accounts made for development: (username, name, role). The officer signs in to the
/// app's 执勤民警核验, the others to the console.
const STAFF: [(&str, &str, &str); 4] = [
    ("clerk", "王警官（演示）", "clerk"),
    ("reviewer", "李警官（演示）", "reviewer"),
    ("admin", "赵主任（演示）", "admin"),
    ("officer", "张警官（演示）", "officer"),
];

/// Kills the children when `run` (or a suite that starts the platform) ends for any reason.
pub(crate) struct Running(pub(crate) Vec<Child>);

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

/// The demo driver's password file line: `driver <mobile> <password>`.
const DRIVER: &str = "driver";

pub fn run() -> Result<()> {
    needs::ensure(suites::RUST_BASE)?;
    needs::ensure(&[
        needs::Need::Apt(suites::APP_BUILD_PACKAGES),
        needs::Need::Node,
    ])?;
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
    step("Building the driver's app (UI, then the Tauri binary)");
    suites::build_app()?;
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
            licence_e2e::add_staff(&server, &db, username, name, role, &password)
                .map_err(anyhow::Error::msg)?;
            lines.push_str(&format!("{username} {password} {role}\n"));
        }
        let (mobile, password) = add_demo_driver(&server, db_arg)?;
        lines.push_str(&format!("{DRIVER} {mobile} {password}\n"));
        write_private(&credentials, &lines)?;
    }

    step("The development CA and certificate (target/dev-pki, made once, never committed)");
    let pki = licence_tls::DevPki::ensure(&root().join("target/dev-pki"))?;
    let (ca, cert, key) = (
        path_arg(&pki.ca_cert)?,
        path_arg(&pki.cert)?,
        path_arg(&pki.key)?,
    );
    println!("    CA {ca} (trust it in a browser to open the console without a warning)");

    step(
        "Starting the sandbox (identity platform, SMS gateway, Alipay) and the server, over HTTPS",
    );
    let mut running = Running(Vec::new());
    let sandbox = Command::new(bin.join("licence-sandbox"))
        .args(["--listen", SANDBOX, "--tls-cert", cert, "--tls-key", key])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting licence-sandbox")?;
    track(&sandbox);
    running.0.push(sandbox);
    listening(
        running.0.last_mut().expect("just pushed"),
        "licence-sandbox",
        true,
    )
    .with_context(|| format!("is port {SERVER} or {SANDBOX} in use?"))?;
    let sandbox_url = format!("https://{SANDBOX}");
    let server_child = Command::new(&server)
        .args(["--db", db_arg, "serve", "--listen", SERVER])
        .args(["--tls-cert", cert, "--tls-key", key, "--provider-ca", ca])
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
    listening(
        running.0.last_mut().expect("just pushed"),
        "licence-server",
        true,
    )
    .with_context(|| format!("is port {SERVER} or {SANDBOX} in use?"))?;

    step("The platform is running (Ctrl-C stops it)");
    println!(
        "    API        https://{SERVER}/api/v1   (OpenAPI: https://{SERVER}/api/v1/openapi.json)"
    );
    println!("    Console    https://{SERVER}/console");
    println!("    Sandbox    {sandbox_url}   (SMS sent: {sandbox_url}/sandbox/sms/messages)");
    println!("    Database   {}", db.display());
    println!(
        "    Staff (username password role; the officer signs in to the app's 执勤民警核验), also in {}:",
        credentials.display()
    );
    let mut saved = std::fs::read_to_string(&credentials)?;
    // A database from before an account was added to the demo staff: add it now.
    for (username, name, role) in STAFF {
        if !saved
            .lines()
            .any(|l| l.split_whitespace().next() == Some(username))
        {
            let password = random_password()?;
            licence_e2e::add_staff(&server, &db, username, name, role, &password)
                .map_err(anyhow::Error::msg)?;
            saved.push_str(&format!("{username} {password} {role}\n"));
            write_private(&credentials, &saved)?;
        }
    }
    if !saved.lines().any(|l| l.starts_with(DRIVER)) {
        // A database from before the app existed: give it its demo driver now.
        let (mobile, password) = add_demo_driver(&server, db_arg)?;
        saved.push_str(&format!("{DRIVER} {mobile} {password}\n"));
        write_private(&credentials, &saved)?;
    }
    let mut driver = None;
    for line in saved.lines() {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            [DRIVER, mobile, password] => driver = Some((mobile.to_string(), password.to_string())),
            _ => println!("      {line}"),
        }
    }
    let (mobile, password) = driver.context("the credentials file lost the demo driver")?;
    println!("    Demo driver (a face-signed account; sign in to the app with):");
    println!("      {mobile} {password}");
    println!(
        "    Demo people: `target/debug/licence-server --db {} demo` lists them again.",
        db.display()
    );
    let app_data = root().join("target/dev-app");
    // The development trust root the platform made beside its database: the app checks the
    // trust list against it.
    let trust_root = db.with_extension("trust-root.pub");
    let server_url = format!("https://{SERVER}");
    if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        step("Starting the driver's app (close it or press Ctrl-C to stop everything)");
        let app = Command::new(bin.join("licence-app"))
            .env("LICENCE_SERVER", &server_url)
            .env(APP_CA_ENV, ca)
            .env("LICENCE_TRUST_ROOT", &trust_root)
            .env("LICENCE_APP_DATA", &app_data)
            .env("LICENCE_ALIPAY_APP", &sandbox_url)
            .spawn()
            .context("starting licence-app")?;
        track(&app);
        running.0.push(app);
        let _ = running.0.last_mut().expect("just pushed").wait();
        return Ok(());
    }
    step("No display here: running the app under Xvfb and walking its main screens");
    crate::app_walk::walk(
        &bin.join("licence-app"),
        &server_url,
        ca,
        path_arg(&trust_root)?,
        &app_data,
        &mobile,
        &password,
    )?;
    step("The platform keeps running for the console and the API (Ctrl-C stops it)");
    for child in &mut running.0 {
        let _ = child.wait();
    }
    Ok(())
}

/// The app's run-time CA variable (licence-tls's `CA_CERT_ENV`; xtask builds licence-tls
/// without its client side).
const APP_CA_ENV: &str = "LICENCE_CA_CERT";

fn path_arg(path: &Path) -> Result<&str> {
    path.to_str().context("the target path is not UTF-8")
}

/// Makes the first demo person with a normal licence a face-signed driver with a random
/// password; returns their reserved mobile number (the sign-in) and the password.
pub(crate) fn add_demo_driver(server: &Path, db: &str) -> Result<(String, String)> {
    use std::io::Write;
    let listing = Command::new(server).args(["--db", db, "demo"]).output()?;
    let table = String::from_utf8_lossy(&listing.stdout);
    // 姓名 身份证号 预留手机号 准驾车型 状态 (A = 正常)
    let (id_number, mobile) = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.len() >= 5 && cols[4] == "A")
        .map(|cols| (cols[1].to_owned(), cols[2].to_owned()))
        .context("the demo registry has no one with a normal licence")?;
    let password = random_password()?;
    let mut child = Command::new(server)
        .args(["--db", db, "driver", "add", &id_number])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    writeln!(child.stdin.take().context("no stdin")?, "{password}")?;
    let status = child.wait()?;
    if !status.success() {
        bail!("adding the demo driver failed ({status})");
    }
    Ok((mobile, password))
}

fn track(child: &Child) {
    if let Ok(mut children) = CHILDREN.lock() {
        children.push(child.id());
    }
}

/// Waits until the child prints `<name> listening on URL …` and returns the URL; then keeps
/// its output flowing, to ours when `echo` (else it is read and dropped, so the child never
/// blocks on a full pipe).
pub(crate) fn listening(child: &mut Child, name: &str, echo: bool) -> Result<String> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let marker = format!("{name} listening on ");
    for line in lines.by_ref() {
        let line = line?;
        if echo {
            println!("    {line}");
        }
        if let Some(rest) = line.strip_prefix(&marker) {
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    if echo {
                        println!("    {line}");
                    }
                }
            });
            return Ok(rest.split(' ').next().unwrap_or_default().to_owned());
        }
    }
    bail!("{name} stopped before it listened")
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
