//! The app's budgets (issue 7), measured on the binary given as the first argument (the
//! shipping build, profile app-release; `cargo xtask bench-app` builds it and runs this):
//! - size: the binary stripped of symbols, in MB (10^6 bytes) and MiB;
//! - cold start: from asking tauri-driver for a session (which launches the app under Xvfb)
//!   until the home screen shows its three steps, median of `RUNS` launches;
//! - memory: resident and proportional set of the app's process and of its WebKit processes,
//!   after signing in and applying with a checked album photo, with each process's largest
//!   mappings (what the memory is); and, given the path of `blank_window` (src-tauri's
//!   example, same profile) as the second argument, the same for a Tauri window showing one
//!   line of text: the floor any Tauri app on this platform starts from.
//!
//! Loopback only; bounded (a few launches, one apply flow).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The memory budgets as restated in issue 14: proportional to a blank Tauri window measured
/// in the same run (WebKitGTK alone is most of it), and the app's own process absolute.
const WITH_WEBKIT_RATIO: f64 = 1.25;
const OWN_PROCESS_MIB: f64 = 150.0;

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
    let processes = app_processes(&app);
    drop(browser);
    let floor = std::env::args()
        .nth(2)
        .map(|blank| blank_window(&world, Path::new(&blank)));

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let verdict = |measured: f64, budget: f64| {
        if measured <= budget {
            format!("met ({measured:.2})")
        } else {
            format!(
                "over, by {:.1} % ({measured:.2})",
                (measured / budget - 1.0) * 100.0
            )
        }
    };
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
    let app_memory = processes[0].memory;
    let all = total(&processes);
    println!(
        "memory after the apply flow, the app's process: {:.0} MiB resident, {:.0} MiB proportional",
        mib(app_memory.rss),
        mib(app_memory.pss)
    );
    println!(
        "  budget (issue 14): the app's own process at most {OWN_PROCESS_MIB:.0} MiB resident: {}",
        verdict(mib(app_memory.rss), OWN_PROCESS_MIB)
    );
    println!(
        "memory after the apply flow, with its WebKit processes: {:.0} MiB resident (shared libraries counted in each), {:.0} MiB proportional",
        mib(all.rss),
        mib(all.pss)
    );
    if let Some(floor) = &floor {
        let floor = total(floor);
        let ratio = all.pss as f64 / floor.pss as f64;
        println!(
            "baseline, a blank Tauri window (same run): {:.0} MiB resident, {:.0} MiB proportional with its WebKit processes; the app / baseline = {ratio:.2} (proportional)",
            mib(floor.rss),
            mib(floor.pss),
        );
        println!(
            "  budget (issue 14): the app with its WebKit processes at most {WITH_WEBKIT_RATIO:.2} × the blank window (proportional): {}",
            verdict(ratio, WITH_WEBKIT_RATIO)
        );
    }
    for p in processes.iter().chain(floor.iter().flatten()) {
        println!(
            "  {}: {:.0} MiB resident, {:.0} MiB proportional; largest (proportional):",
            p.name,
            mib(p.memory.rss),
            mib(p.memory.pss)
        );
        for (mapping, bytes) in &p.largest {
            println!("    {:>6.1} MiB  {mapping}", mib(*bytes));
        }
    }
}

/// The `n` mappings of process `pid` with the largest proportional sets, each file's mappings
/// summed (anonymous memory as `[anon]`).
fn largest_mappings(pid: u32, n: usize) -> Vec<(String, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_name = std::collections::HashMap::<String, u64>::new();
    let mut current = String::from("[anon]");
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first == "Pss:" {
            *by_name.entry(current.clone()).or_default() += number(line, "Pss:") * 1024;
        } else if !first.ends_with(':') && first.contains('-') {
            // A mapping's header: address range, permissions, offset, device, inode, name.
            current = fields.nth(4).unwrap_or("[anon]").to_owned();
        }
    }
    let mut largest: Vec<_> = by_name.into_iter().collect();
    largest.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
    largest.truncate(n);
    largest
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

/// Starts the blank window at `path` straight under the world's Xvfb, with the WebKit
/// environment tauri-driver gives the app, and measures it once its page has settled.
fn blank_window(world: &world::World, path: &Path) -> Vec<Process> {
    let mut child = Command::new(path)
        .env("DISPLAY", &world.xvfb.display)
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let processes = app_processes(path);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        processes
            .iter()
            .any(|p| p.name.starts_with("WebKitWebProces")),
        "the blank window has no web process"
    );
    processes
}

/// The memory of `processes` together.
fn total(processes: &[Process]) -> Memory {
    processes
        .iter()
        .fold(Memory::default(), |sum, p| sum + p.memory)
}

/// One of the app's processes.
struct Process {
    name: String,
    memory: Memory,
    /// Its largest mappings by proportional set.
    largest: Vec<(String, u64)>,
}

/// The process running `app` (first), then the WebKit processes it started.
fn app_processes(app: &Path) -> Vec<Process> {
    let name = app.file_name().unwrap().to_string_lossy().into_owned();
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
        all.push((pid, number(&status, "PPid:"), comm, memory));
    }
    // The kernel keeps the first 15 bytes of a process name.
    let short: String = name.chars().take(15).collect();
    let (pid, _, _, memory) = all
        .iter()
        .find(|(_, _, comm, _)| *comm == short)
        .cloned()
        .expect("the app is running");
    let process = |pid: u32, name: String, memory: Memory| Process {
        name,
        memory,
        largest: largest_mappings(pid, 6),
    };
    let mut processes = vec![process(pid, name, memory)];
    processes.extend(
        all.into_iter()
            .filter(|(_, ppid, comm, _)| *ppid == u64::from(pid) && comm.starts_with("WebKit"))
            .map(|(pid, _, comm, memory)| process(pid, comm, memory)),
    );
    processes
}
