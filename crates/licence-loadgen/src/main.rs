//! `licence-loadgen`: seeds a fresh database with drivers, starts `licence-server` on it, and
//! runs three phases of e-licence submissions over loopback: as fast as the server accepts
//! (capacity), a steady rate under capacity, and an overload of several times capacity. Then
//! it kills the server (SIGKILL) and checks that every acknowledged application is stored
//! exactly once. Run through `cargo xtask bench-server`.
//!
//! Drivers behave as phones do (issue 17): refused or unanswered, each sends the same
//! submission again with the same idempotency key, patiently (after `Retry-After`, with
//! jitter) or impatiently (`--clients`), until a final answer or the end of the phase.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use licence_loadgen::{
    client_name, ms, pace_name, run_phase, sample_photo, seed, verify, ClientModel, Database,
    HttpVersion, Ledger, Pace, Phase, PhaseReport, Server, Submission,
};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The `licence-server` binary (default: beside this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Working directory for the database (emptied first).
    #[arg(long, default_value = "target/bench-server")]
    dir: PathBuf,
    /// Drivers seeded; each applies once, so this bounds the applications accepted.
    #[arg(long, default_value_t = 60_000)]
    drivers: usize,
    /// Seconds per phase (at most 60).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// The steady phase's rate: drivers arriving (first attempts) per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// The overload phase's rate of arrivals as a multiple of the measured capacity.
    #[arg(long, default_value_t = 5.0)]
    overload: f64,
    /// Connections in the capacity phase (each sends as soon as it has its answer).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Connections in the paced phases (enough that the generator never waits for one).
    #[arg(long, default_value_t = 1024)]
    paced_connections: usize,
    /// Loopback source addresses the connections are spread over.
    #[arg(long, default_value_t = 200)]
    addresses: usize,
    /// Hard bound on requests per phase (first attempts and retries).
    #[arg(long, default_value_t = 300_000)]
    max_requests: u64,
    /// How phones take a refusal (429/503) or no answer: `patient` ones wait what
    /// `Retry-After` says (times a random 1-1.5) or back off, `impatient` ones send again
    /// after 0-100 ms. Either way the same submission, with the same idempotency key.
    #[arg(long, value_enum, default_value_t = ClientModel::Patient)]
    clients: ClientModel,
    /// The HTTP the phones speak: `2` as the app does (a refusal ends its stream, the
    /// connection carries on), or `1.1`.
    #[arg(long, value_enum, default_value_t = HttpVersion::Http2)]
    http: HttpVersion,
    /// Instances of the platform on the one store; more than one are served through HAProxy
    /// (TCP mode, PROXY v2 to each, health checks), which the phones connect to.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Keep the platform's data in a new database `bench` on this PostgreSQL server
    /// (`postgres://user@host:port`, no database) instead of a SQLite file.
    #[arg(long)]
    postgres: Option<String>,
    /// Run each server on these CPUs only (`taskset -c` syntax, e.g. `0`). With the
    /// generator on others (`taskset -c 1 licence-loadgen --server-cpus 0`), neither takes
    /// the other's CPU; capacity is then that of the server's CPUs.
    #[arg(long, value_parser = licence_loadgen::cpu_list)]
    server_cpus: Option<String>,
    /// Extra flags for `licence-server serve`, e.g. `--server-arg=--max-in-flight=128`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::ensure!(
        cli.seconds > 0.0 && cli.seconds <= 60.0,
        "--seconds must be between 0 and 60"
    );
    anyhow::ensure!(
        cli.rate > 0.0 && cli.overload >= 1.0,
        "--rate must be above 0 and --overload at least 1"
    );
    let server_bin = match cli.server_bin {
        Some(path) => path,
        None => licence_loadgen::sibling_binary("licence-server")
            .context("no licence-server beside this binary; pass --server-bin")?,
    };
    if cli.dir.exists() {
        std::fs::remove_dir_all(&cli.dir)
            .with_context(|| format!("emptying {}", cli.dir.display()))?;
    }
    std::fs::create_dir_all(&cli.dir)?;
    let file = cli.dir.join("bench.sqlite");
    let db = match &cli.postgres {
        None => Database::sqlite(&file),
        Some(server) => {
            let name = format!("bench_{}", std::process::id());
            Database::new_postgres(&file, server, &name)?
        }
    };
    println!(
        "store: {}",
        db.postgres
            .as_deref()
            .unwrap_or("SQLite (synchronous = FULL)")
    );

    let started = std::time::Instant::now();
    let drivers = seed(&db, cli.drivers)?;
    println!(
        "seeded {} drivers in {:.1} s",
        drivers.len(),
        started.elapsed().as_secs_f64()
    );
    let photo = sample_photo();
    let submission = Submission::new(&photo);
    println!("photo: {} bytes (JPEG, 358×441)", photo.len());
    println!("clients: {}", client_name(cli.clients));

    anyhow::ensure!(
        (1..=8).contains(&cli.instances),
        "--instances must be between 1 and 8"
    );
    let mut server_args = cli.server_args.clone();
    // JSON lines, for the servers' own view of each phase (`server_log`).
    if !server_args.iter().any(|a| a.starts_with("--log-format")) {
        server_args.extend(["--log-format".to_owned(), "json".to_owned()]);
    }
    if cli.instances > 1 {
        server_args.extend(["--trusted-proxy".to_owned(), "127.0.0.1".to_owned()]);
    }
    // The first instance makes the key files beside the database; the others read them.
    let mut servers = Vec::with_capacity(cli.instances);
    for _ in 0..cli.instances {
        let server = Server::start_on(&server_bin, &db, &server_args, cli.server_cpus.as_deref())?;
        println!("server: {} on {}", server_bin.display(), server.address);
        servers.push(server);
    }
    let balancer = if cli.instances > 1 {
        let addresses: Vec<_> = servers.iter().map(|s| s.address).collect();
        let balancer = licence_e2e::haproxy::Haproxy::start(&cli.dir, &addresses)
            .map_err(anyhow::Error::msg)?;
        println!("HAProxy in front, on {}", balancer.address);
        Some(balancer)
    } else {
        None
    };
    let target = balancer.as_ref().map_or(servers[0].address, |b| b.address);
    let ledger = Arc::new(Ledger::new(drivers.clone()));
    let runtime = tokio::runtime::Runtime::new()?;
    let duration = Duration::from_secs_f64(cli.seconds);
    let phase = |name: &str, pace: Pace, connections: usize| Phase {
        name: name.into(),
        pace,
        duration,
        connections,
        addresses: cli.addresses,
        max_requests: cli.max_requests,
        clients: cli.clients,
        http: cli.http,
    };
    let server_pids: Vec<String> = servers.iter().map(|s| s.child.id().to_string()).collect();
    let mut reports = Vec::new();
    // Where each phase's lines begin and end in the servers' log (its length then).
    let log_path = db.log_path();
    let log_length = || std::fs::metadata(&log_path).map_or(0, |m| m.len());
    let mut boundaries = vec![log_length()];
    let mut run = |phase: Phase| {
        let cpu = |pid: &str| licence_loadgen::cpu_seconds(pid).unwrap_or(f64::NAN);
        let servers_cpu = || server_pids.iter().map(|pid| cpu(pid)).sum::<f64>();
        let (server_before, own_before) = (servers_cpu(), cpu("self"));
        let report = runtime.block_on(run_phase(target, &phase, ledger.clone(), &submission));
        let cpu_used = (servers_cpu() - server_before, cpu("self") - own_before);
        reports.push((report.clone(), phase.pace, cpu_used));
        boundaries.push(log_length());
        report
    };
    let capacity = run(phase("capacity", Pace::ClosedLoop, cli.connections));
    run(phase("steady", Pace::Rate(cli.rate), cli.paced_connections));
    let overload = Pace::Rate(capacity.accepted_per_second().max(1.0) * cli.overload);
    let overloaded = run(phase("overload", overload, cli.paced_connections));
    let peak = servers
        .iter()
        .filter_map(Server::peak_memory_mib)
        .reduce(f64::max);
    // A crash, not a shutdown: what was acknowledged must be on disk already.
    for server in &mut servers {
        server.kill();
    }
    drop(balancer);
    drop(runtime);

    let verification = verify(&db, &drivers, &ledger)?;
    print_report(&reports, peak, &verification, ledger.waiting());
    let log = std::fs::read(&log_path).unwrap_or_default();
    let stretches = licence_loadgen::log_stretches(&String::from_utf8_lossy(&log), &boundaries);
    print_server_view(&reports, &stretches);
    println!(
        "overload goodput: {:.0} accepted/s against a capacity of {:.0}/s: ratio {:.2}",
        overloaded.accepted_per_second(),
        capacity.accepted_per_second(),
        goodput(&overloaded, &capacity),
    );
    anyhow::ensure!(
        verification.lost == 0 && verification.duplicated == 0 && verification.unexpected == 0,
        "acknowledged applications were lost or duplicated: {verification:?}"
    );
    anyhow::ensure!(
        reports
            .iter()
            .all(|(r, _, _)| r.refusals_without_retry_after == 0),
        "a refusal came without Retry-After"
    );
    Ok(())
}

/// A phase's accepted/s over the capacity phase's.
fn goodput(phase: &PhaseReport, capacity: &PhaseReport) -> f64 {
    phase.accepted_per_second() / capacity.accepted_per_second()
}

/// The servers' own view of each phase, from their log, beside the phones' (see
/// `server_log`): what the server took to refuse, and where an admitted request's time went.
fn print_server_view(reports: &[(PhaseReport, Pace, (f64, f64))], stretches: &[String]) {
    println!();
    println!("the servers' log, per phase (from the head read to the answer made; admitted: the body arriving, the wait for a slot, the handling):");
    println!();
    println!("| phase | requests logged | refused | refused p50 / p99 / max ms | admitted | admitted p50 / p99 ms | body p99 ms | slot wait p50 / p99 ms | work p50 / p99 ms | seconds refusing (longest Retry-After s) |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // Two decimals: a refusal takes the server a fraction of a millisecond.
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    for ((r, _, _), lines) in reports.iter().zip(stretches) {
        let v = licence_loadgen::read_server_log(lines);
        println!(
            "| {} | {} | {} | {} / {} / {} | {} | {} / {} | {} | {} / {} | {} / {} | {} ({}) |",
            r.name,
            v.requests,
            v.refused,
            ms(v.refused_latency[0]),
            ms(v.refused_latency[2]),
            ms(v.refused_latency[3]),
            v.admitted,
            ms(v.admitted_latency[0]),
            ms(v.admitted_latency[2]),
            ms(v.admitted_body[2]),
            ms(v.admitted_wait[0]),
            ms(v.admitted_wait[2]),
            ms(v.admitted_work[0]),
            ms(v.admitted_work[2]),
            v.refusing_seconds,
            v.longest_retry_after,
        );
    }
}

fn print_report(
    reports: &[(PhaseReport, Pace, (f64, f64))],
    peak_mib: Option<f64>,
    v: &licence_loadgen::Verification,
    left: usize,
) {
    println!();
    // The first twelve columns as before issue 17 (sent/s counts retries too; accepted
    // counts 200 replays too); the rest added with it.
    println!("| phase | pace | sent/s | accepted/s | accepted | 429 | 503 | other | no answer | accepted p50 / p90 / p99 / max ms | refused p50 / p99 ms | CPU s server / generator | clients | first attempts/s | retries/s | replays | uncertain at end | connections opened | acknowledged after p50 / p99 ms | accepted ÷ capacity |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let capacity = reports.first().map(|(r, _, _)| r);
    for (r, pace, (server_cpu, own_cpu)) in reports {
        let other: Vec<String> = r.other.iter().map(|(c, n)| format!("{n}×{c}")).collect();
        println!(
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} / {} / {} / {} | {} / {} | {:.2} / {:.2} | {} | {:.0} | {:.0} | {} | {} | {} | {} / {} | {:.2} |",
            r.name,
            pace_name(*pace),
            r.offered_per_second(),
            r.accepted_per_second(),
            r.accepted,
            r.refused_429,
            r.refused_503,
            if other.is_empty() { "0".into() } else { other.join(" ") },
            r.unanswered,
            ms(r.accepted_latency[0]),
            ms(r.accepted_latency[1]),
            ms(r.accepted_latency[2]),
            ms(r.accepted_latency[3]),
            ms(r.refused_latency[0]),
            ms(r.refused_latency[2]),
            server_cpu,
            own_cpu,
            client_name(r.clients),
            r.first_attempts_per_second(),
            r.retries_per_second(),
            r.replays,
            r.uncertain,
            r.connections_opened,
            ms(r.acknowledged_after[0]),
            ms(r.acknowledged_after[2]),
            capacity.map_or(f64::NAN, |c| goodput(r, c)),
        );
    }
    println!();
    if let Some(peak) = peak_mib {
        println!("server peak memory (VmHWM): {peak:.0} MiB");
    }
    println!(
        "after SIGKILL: acknowledged {}, found {}, lost {}, duplicated {}, stored without an answer {}, unexpected {}; drivers left without a final answer {}",
        v.acknowledged, v.found, v.lost, v.duplicated, v.stored_unacknowledged, v.unexpected, left
    );
}
