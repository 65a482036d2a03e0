//! The app's budgets (issue 7), measured on the binary given as the first argument (the
//! shipping build, profile app-release; `cargo xtask bench-app` builds it and runs this):
//! - size: the binary stripped of symbols, in MB (10^6 bytes) and MiB;
//! - cold start: from asking tauri-driver for a session (which launches the app under Xvfb)
//!   until the home screen shows its three steps, median of `RUNS` launches;
//! - memory: resident and proportional set of the app's process and of its WebKit processes,
//!   after signing in and applying with a checked album photo.
//!
//! Loopback only; bounded (a few launches, one apply flow).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../tests/world/mod.rs"]
mod world;

const RUNS: usize = 5;

fn main() {
    let app = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: app_budgets PATH-TO-licence-app"),
    );
    let world = world::World::start();
    let dir = &world.dir;

    let stripped = dir.path().join("licence-app.stripped");
    std::fs::copy(&app, &stripped).unwrap();
    let ok = Command::new("strip").arg(&stripped).status().unwrap();
    assert!(ok.success(), "strip failed");
    let size = std::fs::metadata(&stripped).unwrap().len();
    let unstripped = std::fs::metadata(&app).unwrap().len();

    // Cold starts: a fresh data folder each time, so nothing is warm but the OS's file cache.
    let mut starts = Vec::new();
    for run in 0..RUNS {
        let began = Instant::now();
        let browser = world.app_at(&app, &format!("cold-{run}"));
        browser.wait_for_text("[data-test=steps]", "出示使用");
        starts.push(began.elapsed());
        drop(browser);
    }
    starts.sort();

    // Memory after the apply flow.
    let browser = world.app_at(&app, "apply");
    browser.click("[data-test=go-sign-in]");
    browser.type_into("[data-test=login] input", "13900000000");
    browser.type_into("[data-test=password] input", "load-test-password-1");
    browser.click("[data-test=submit]");
    world.apply_with_album_portrait(&browser);
    std::thread::sleep(Duration::from_secs(2));
    let (app_memory, webkit) = resident(&app);
    drop(browser);

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "binary            {:.1} MB = {:.1} MiB stripped ({:.1} MiB as built)",
        size as f64 / 1e6,
        mib(size),
        mib(unstripped)
    );
    println!(
        "cold start        median {:.0} ms of {RUNS} (min {:.0}, max {:.0}) to the home screen",
        starts[RUNS / 2].as_secs_f64() * 1000.0,
        starts[0].as_secs_f64() * 1000.0,
        starts[RUNS - 1].as_secs_f64() * 1000.0
    );
    let all = app_memory + webkit;
    println!(
        "memory after the apply flow, the app's process: {:.0} MiB resident, {:.0} MiB proportional",
        mib(app_memory.rss),
        mib(app_memory.pss)
    );
    println!(
        "memory after the apply flow, with its WebKit processes: {:.0} MiB resident (shared libraries counted in each), {:.0} MiB proportional",
        mib(all.rss),
        mib(all.pss)
    );
}

/// Memory of one process: resident (shared libraries counted whole) and proportional (each
/// shared page divided among the processes that map it, so a sum over processes is honest).
#[derive(Default, Clone, Copy)]
struct Memory {
    rss: u64,
    pss: u64,
}

impl std::ops::Add for Memory {
    type Output = Memory;
    fn add(self, o: Memory) -> Memory {
        Memory {
            rss: self.rss + o.rss,
            pss: self.pss + o.pss,
        }
    }
}

/// The number after `key` in a /proc text (`VmRSS:  1234 kB` gives 1234).
fn number(text: &str, key: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

/// The memory of the process running `app`, and of the WebKit processes it started.
fn resident(app: &Path) -> (Memory, Memory) {
    let name = app.file_name().unwrap().to_string_lossy().into_owned();
    let mut app_pid = None;
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let comm = status
            .lines()
            .find_map(|l| l.strip_prefix("Name:"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let memory = Memory {
            rss: number(&status, "VmRSS:") * 1024,
            pss: number(&rollup, "Pss:") * 1024,
        };
        let ppid = number(&status, "PPid:");
        // The kernel keeps the first 15 bytes of a process name.
        if comm == name.chars().take(15).collect::<String>() {
            app_pid = Some((pid, memory));
        }
        all.push((pid, ppid, comm, memory));
    }
    let (pid, app_memory) = app_pid.expect("the app is running");
    let webkit = all
        .iter()
        .filter(|(_, ppid, comm, _)| *ppid == u64::from(pid) && comm.starts_with("WebKit"))
        .fold(Memory::default(), |sum, (_, _, _, m)| sum + *m);
    (app_memory, webkit)
}
