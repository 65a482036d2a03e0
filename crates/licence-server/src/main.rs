//! `licence-server`: serve the platform, import the registry from CSV, or load a demo one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use licence_api::InboxQuery;
use licence_server::admission::Limits;
use licence_server::providers::{ProviderConfig, Providers};
use licence_server::serve::ConnectionLimits;
use licence_server::store::{PostgresStore, SqliteStore, Store};
use licence_server::{registry, AppState, Policy};

/// The traffic-police platform of the e-licence system.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The SQLite database file; created with its schema on first use. With `--store` the
    /// data is in PostgreSQL, and this path only names where the key files are made by
    /// default (`<db>.issuer.key`, `<db>.trust-root.key`).
    #[arg(
        long,
        env = "LICENCE_DB",
        default_value = "licence-platform.sqlite",
        global = true
    )]
    db: PathBuf,
    /// A PostgreSQL database instead of the SQLite file (`postgres://user@host:port/db`;
    /// a socket directory as `?host=/run/postgresql`): what several instances of the
    /// platform share. Its schema is brought up to date on start.
    #[arg(long, env = "LICENCE_STORE", global = true, value_parser = postgres_url)]
    store: Option<String>,
    /// How log lines are written (to standard error): `text` for people, `json` (one object
    /// a line) for a log collector. What is logged is chosen with LICENCE_LOG (default
    /// `info`; e.g. `warn,request=info`).
    #[arg(long, env = "LICENCE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

/// A `--trusted-proxy` value: an address (one host) or a network in CIDR notation.
fn proxy_network(value: &str) -> Result<ipnet::IpNet, String> {
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is neither an address nor a network like 10.0.0.0/24"))
}

/// A `--store` value: a PostgreSQL URL.
fn postgres_url(value: &str) -> Result<String, String> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        Ok(value.to_owned())
    } else {
        Err(
            "give a PostgreSQL URL (postgres://user@host:port/database); \
             for a SQLite file use --db"
                .into(),
        )
    }
}

/// The log: per-request lines (target `request`) and the platform's own events. Lines are
/// written by a thread of their own, so that a request never waits for the disk or a pipe;
/// the returned guard flushes what is left when the program ends.
fn start_logging(format: &str) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("LICENCE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Lossless: when the writer falls behind, requests wait rather than lines vanish.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.with_ansi(false).init();
    }
    guard
}

// Parsed once at start: the size of `Serve` next to the other commands costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[arg(long, env = "LICENCE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The certificate chain (PEM) to serve HTTPS with; without it and its key the
        /// platform serves plain HTTP, and only on a loopback address.
        #[arg(long, env = "LICENCE_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, env = "LICENCE_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// CA certificates (PEM) to check the outside services' certificates against.
        #[arg(long, env = "LICENCE_PROVIDER_CA")]
        provider_ca: Option<PathBuf>,
        /// The issuer key file that signs credentials; default `<db>.issuer.key`. Made on first
        /// start when missing (a development key with a ten-year window).
        #[arg(long, env = "LICENCE_ISSUER_KEY")]
        issuer_key: Option<PathBuf>,
        /// The mDL's signing folder (`licence keys mdoc` writes it): the IACA root, the
        /// document signer's key and certificate; default `<db>.mdoc`, made on first start
        /// for development.
        #[arg(long, env = "LICENCE_MDOC_DIR")]
        mdoc_dir: Option<PathBuf>,
        /// An earlier issuer key (repeatable): it signs nothing new, only the status list of
        /// its own credentials while its window lasts; the trust list carries it (a rotation).
        #[arg(long = "retired-issuer-key", value_name = "FILE")]
        retired_issuer_keys: Vec<PathBuf>,
        /// The trust list to serve, signed offline by the trust root (`licence keys
        /// trust-list`). Without it the platform signs a list of its own key at start with
        /// the development trust root (`--trust-root-key`).
        #[arg(long, env = "LICENCE_TRUST_LIST", conflicts_with = "trust_root_key")]
        trust_list: Option<PathBuf>,
        /// The development trust root's key file; default `<db>.trust-root.key`, made on
        /// first start with its public half beside it (`.pub`).
        #[arg(long, env = "LICENCE_TRUST_ROOT_KEY")]
        trust_root_key: Option<PathBuf>,
        /// Identity platform (liveness + face match) base URL.
        #[arg(
            long,
            env = "LICENCE_IDENTITY_URL",
            default_value = "http://127.0.0.1:8090"
        )]
        identity_url: String,
        /// SMS gateway base URL.
        #[arg(long, env = "LICENCE_SMS_URL", default_value = "http://127.0.0.1:8090")]
        sms_url: String,
        /// Alipay open platform base URL.
        #[arg(
            long,
            env = "LICENCE_ALIPAY_URL",
            default_value = "http://127.0.0.1:8090"
        )]
        alipay_url: String,
        /// Seconds to wait for an outside service, per attempt.
        #[arg(long, env = "LICENCE_PROVIDER_TIMEOUT", default_value_t = 5.0)]
        provider_timeout: f64,
        /// Face failures before registration switches to online registration (R2.2).
        #[arg(long, env = "LICENCE_FACE_ATTEMPTS", default_value_t = 3)]
        face_attempts: u32,
        /// Seconds a one-time SMS code stays valid.
        #[arg(long, env = "LICENCE_CODE_TTL", default_value_t = 300)]
        code_ttl: u64,
        /// Seconds between two codes for the same person.
        #[arg(long, env = "LICENCE_CODE_RESEND_AFTER", default_value_t = 60)]
        code_resend_after: u64,
        /// Seconds before a failed notification SMS is sent again (doubling each time).
        #[arg(long, env = "LICENCE_OUTBOX_RETRY", default_value_t = 5.0)]
        outbox_retry: f64,
        /// API requests handled at once; beyond it the answer is 503 with Retry-After.
        #[arg(long, env = "LICENCE_MAX_IN_FLIGHT", default_value_t = Limits::default().max_in_flight)]
        max_in_flight: usize,
        /// Requests waiting on an outside service at once; beyond it, 503 with Retry-After.
        #[arg(long, env = "LICENCE_MAX_OUTSIDE_IN_FLIGHT", default_value_t = Limits::default().max_outside_in_flight)]
        max_outside_in_flight: usize,
        /// Requests per second one client address may make (sustained); beyond it, 429.
        #[arg(long, env = "LICENCE_ADDRESS_RATE", default_value_t = Limits::default().address_rate)]
        address_rate: f64,
        /// Requests one client address may make in a burst.
        #[arg(long, env = "LICENCE_ADDRESS_BURST", default_value_t = Limits::default().address_burst)]
        address_burst: f64,
        /// Requests per second one signed-in account may make (sustained); beyond it, 429.
        #[arg(long, env = "LICENCE_ACCOUNT_RATE", default_value_t = Limits::default().account_rate)]
        account_rate: f64,
        /// Requests one signed-in account may make in a burst.
        #[arg(long, env = "LICENCE_ACCOUNT_BURST", default_value_t = Limits::default().account_burst)]
        account_burst: f64,
        /// Seconds an inbox long-poll is held at most (clients ask for up to 30).
        #[arg(long, env = "LICENCE_LONGEST_POLL", default_value_t = InboxQuery::LONGEST_WAIT)]
        longest_poll: u64,
        /// Wrong passwords an account may have in 15 minutes before sign-in waits.
        #[arg(long, env = "LICENCE_SIGN_IN_FAILURES", default_value_t = Policy::default().sign_in_failures)]
        sign_in_failures: u32,
        /// Seconds a client has to send a request's head (line and headers) before it is closed.
        #[arg(long, env = "LICENCE_HEADER_TIMEOUT", default_value_t = ConnectionLimits::default().header_timeout.as_secs_f64())]
        header_timeout: f64,
        /// Seconds a client has to send a request's body once its head is in (else 408).
        #[arg(long, env = "LICENCE_BODY_TIMEOUT", default_value_t = Limits::default().body_timeout.as_secs_f64())]
        body_timeout: f64,
        /// Connections one client address may hold open at once; more are closed at accept.
        #[arg(long, env = "LICENCE_CONNECTIONS_PER_ADDRESS", default_value_t = ConnectionLimits::default().per_address)]
        connections_per_address: usize,
        /// A load balancer (an address or a network, e.g. `10.0.0.0/24`; repeatable) whose
        /// connections begin with a PROXY protocol header naming the client (HAProxy's
        /// `send-proxy-v2`): per-address limits then count the client, not the balancer.
        #[arg(long = "trusted-proxy", env = "LICENCE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = proxy_network)]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// Seconds between two readings of the registry for the status list; fetches in
        /// between are served from memory (0: read for every fetch, for tests).
        #[arg(long, env = "LICENCE_STATUS_LIST_EVERY", default_value_t = Policy::default().status_list_every.as_secs_f64())]
        status_list_every: f64,
        /// Of the applications approved automatically (the photo on file, checked), the
        /// percentage drawn at random for a reviewer instead (0-100).
        #[arg(long, env = "LICENCE_REVIEW_SAMPLE_PERCENT", default_value_t = Policy::default().review_sample_percent)]
        review_sample_percent: f64,
        /// The most of the machine's CPU the photo checks take while the API is serving
        /// requests, as a fraction (0.05-1; 1: no bound). They take what is idle when it is
        /// not (an instance that gets no requests is never held back).
        #[arg(long, env = "LICENCE_PHOTO_CHECK_SHARE", default_value_t = Policy::default().photo_check_share)]
        photo_check_share: f64,
    },
    /// Load the licence registry from a CSV file (see docs/server.md for the columns).
    Import { file: PathBuf },
    /// Load a made-up demo registry (12 people, six provinces, several licence states).
    Demo,
    /// Console staff.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Driver accounts.
    #[command(subcommand)]
    Driver(DriverCommand),
}

#[derive(Subcommand)]
enum DriverCommand {
    /// Register a person of the registry as a face-signed driver, as the counter's 面签 does
    /// (for development and demos); the password is read from the first line of stdin.
    Add {
        /// The person's ID number, as in the registry.
        id_number: String,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a member of staff; the password is read from the first line of stdin.
    Add {
        username: String,
        /// Full name, shown in the console and the audit log.
        #[arg(long)]
        name: String,
        /// clerk (counter registration), reviewer (reviews), admin (all + audit) or officer
        /// (roadside checks).
        #[arg(long, value_parser = ["clerk", "reviewer", "admin", "officer"])]
        role: String,
    },
}

/// Settings a config file may give, as the environment variables the flags read.
const CONFIG_KEYS: &[&str] = &[
    "LICENCE_DB",
    "LICENCE_LISTEN",
    "LICENCE_TLS_CERT",
    "LICENCE_TLS_KEY",
    "LICENCE_PROVIDER_CA",
    "LICENCE_ISSUER_KEY",
    "LICENCE_TRUST_LIST",
    "LICENCE_TRUST_ROOT_KEY",
    "LICENCE_IDENTITY_URL",
    "LICENCE_SMS_URL",
    "LICENCE_ALIPAY_URL",
    "LICENCE_PROVIDER_TIMEOUT",
    "LICENCE_FACE_ATTEMPTS",
    "LICENCE_CODE_TTL",
    "LICENCE_CODE_RESEND_AFTER",
    "LICENCE_OUTBOX_RETRY",
    "LICENCE_MAX_IN_FLIGHT",
    "LICENCE_MAX_OUTSIDE_IN_FLIGHT",
    "LICENCE_ADDRESS_RATE",
    "LICENCE_ADDRESS_BURST",
    "LICENCE_ACCOUNT_RATE",
    "LICENCE_ACCOUNT_BURST",
    "LICENCE_LONGEST_POLL",
    "LICENCE_SIGN_IN_FAILURES",
    "LICENCE_STORE",
    "LICENCE_LOG_FORMAT",
    "LICENCE_HEADER_TIMEOUT",
    "LICENCE_BODY_TIMEOUT",
    "LICENCE_CONNECTIONS_PER_ADDRESS",
    "LICENCE_STATUS_LIST_EVERY",
    "LICENCE_TRUSTED_PROXIES",
    "LICENCE_MDOC_DIR",
    "LICENCE_REVIEW_SAMPLE_PERCENT",
    "LICENCE_PHOTO_CHECK_SHARE",
];

/// Reads `LICENCE_CONFIG` (a file of `KEY=value` lines, `#` comments) into the environment.
/// Precedence: flags, then the environment, then the file.
fn load_config_file() -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("LICENCE_CONFIG") else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the config file {}", path.to_string_lossy()))?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("config line {}: expected KEY=value", n + 1))?;
        let key = key.trim();
        anyhow::ensure!(
            CONFIG_KEYS.contains(&key),
            "config line {}: unknown setting {key}; known: {}",
            n + 1,
            CONFIG_KEYS.join(", ")
        );
        if std::env::var_os(key).is_none() {
            // Still single-threaded: nothing else reads the environment yet.
            std::env::set_var(key, value.trim());
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    load_config_file()?;
    let cli = Cli::parse();
    let _log = start_logging(&cli.log_format);
    let store: Arc<dyn Store> = match &cli.store {
        Some(url) => Arc::new(
            PostgresStore::connect(url)
                .with_context(|| format!("connecting to PostgreSQL at {}", redacted(url)))?,
        ),
        None => Arc::new(
            SqliteStore::open(&cli.db)
                .with_context(|| format!("opening the database {}", cli.db.display()))?,
        ),
    };
    let store_name = match &cli.store {
        Some(url) => redacted(url),
        None => cli.db.display().to_string(),
    };
    match cli.command {
        Command::Import { file } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let base = file.parent().map(PathBuf::from).unwrap_or_default();
            let report = registry::import_csv(&*store, input, &base, licence_server::today())?;
            for (line, reason) in &report.rejected {
                println!("line {line}: {reason}");
            }
            println!(
                "imported {} rows, rejected {}, into {}",
                report.imported,
                report.rejected.len(),
                store_name
            );
            if !report.rejected.is_empty() {
                std::process::exit(1);
            }
        }
        Command::Driver(DriverCommand::Add { id_number }) => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let (id, mobile) = licence_server::console::add_driver(
                &*store,
                &id_number,
                password.trim_end_matches(['\r', '\n']),
            )?;
            println!("added a face-signed driver: account {id}, signs in with {mobile}");
        }
        Command::Staff(StaffCommand::Add {
            username,
            name,
            role,
        }) => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let role = licence_server::store::StaffRole::parse(&role)
                .context("role must be clerk, reviewer, admin or officer")?;
            let id = licence_server::console::add_staff(
                &*store,
                &username,
                &name,
                role,
                password.trim_end_matches(['\r', '\n']),
            )?;
            println!("added staff {username} (id {id}, {})", role.as_str());
        }
        Command::Demo => {
            println!("姓名      身份证号            预留手机号    准驾车型 状态");
            for entry in registry::demo_entries() {
                store.put_registry_entry(&entry)?;
                let (classes, status) = entry
                    .licence
                    .as_ref()
                    .map(|l| {
                        (
                            l.record().classes.to_string(),
                            l.record().status.to_string(),
                        )
                    })
                    .unwrap_or(("-".into(), "无驾驶证".into()));
                // Made-up people: printed in full so that a developer can type them in.
                println!(
                    "{:<6} {} {} {:<8} {}",
                    entry.name.as_str(),
                    entry.id_number,
                    entry.reserved_mobile.as_str(),
                    classes,
                    status
                );
            }
            println!(
                "demo registry loaded: {} people in {}",
                store.registry_size()?,
                store_name
            );
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            provider_ca,
            issuer_key,
            mdoc_dir,
            retired_issuer_keys,
            trust_list,
            trust_root_key,
            identity_url,
            sms_url,
            alipay_url,
            provider_timeout,
            face_attempts,
            code_ttl,
            code_resend_after,
            outbox_retry,
            max_in_flight,
            max_outside_in_flight,
            address_rate,
            address_burst,
            account_rate,
            account_burst,
            longest_poll,
            sign_in_failures,
            header_timeout,
            body_timeout,
            connections_per_address,
            status_list_every,
            trusted_proxies,
            review_sample_percent,
            photo_check_share,
        } => {
            anyhow::ensure!(
                provider_timeout > 0.0 && provider_timeout <= 120.0,
                "--provider-timeout must be between 0 and 120 seconds"
            );
            anyhow::ensure!(
                max_in_flight >= 1 && max_outside_in_flight >= 1,
                "--max-in-flight and --max-outside-in-flight must be at least 1"
            );
            for (flag, value) in [
                ("--header-timeout", header_timeout),
                ("--body-timeout", body_timeout),
            ] {
                anyhow::ensure!(
                    value.is_finite() && value > 0.0 && value <= 3600.0,
                    "{flag} must be between 0 and 3600 seconds"
                );
            }
            anyhow::ensure!(
                status_list_every.is_finite() && (0.0..=600.0).contains(&status_list_every),
                "--status-list-every must be between 0 and 600 seconds"
            );
            anyhow::ensure!(
                review_sample_percent.is_finite() && (0.0..=100.0).contains(&review_sample_percent),
                "--review-sample-percent must be between 0 and 100"
            );
            anyhow::ensure!(
                photo_check_share.is_finite()
                    && (licence_server::worker::MIN_CHECK_SHARE..=1.0).contains(&photo_check_share),
                "--photo-check-share must be between {} and 1 (a fraction of the machine's CPU)",
                licence_server::worker::MIN_CHECK_SHARE
            );
            anyhow::ensure!(
                connections_per_address >= 1,
                "--connections-per-address must be at least 1"
            );
            for (flag, value) in [
                ("--address-rate", address_rate),
                ("--address-burst", address_burst),
                ("--account-rate", account_rate),
                ("--account-burst", account_burst),
            ] {
                anyhow::ensure!(
                    value.is_finite() && value > 0.0,
                    "{flag} must be a number above 0"
                );
            }
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(licence_tls::server_config(&cert, &key)?),
                _ => {
                    anyhow::ensure!(
                        listen.ip().is_loopback(),
                        "plain HTTP is served on loopback only: give --tls-cert and --tls-key \
                         to listen on {listen}"
                    );
                    None
                }
            };
            let ca_pem = match &provider_ca {
                Some(path) => std::fs::read(path)
                    .with_context(|| format!("reading --provider-ca {}", path.display()))?,
                None => Vec::new(),
            };
            let key_path = issuer_key.unwrap_or_else(|| cli.db.with_extension("issuer.key"));
            let (signing, created) = licence_server::load_or_create_issuer_key(&key_path)?;
            if created {
                println!("created a development issuer key: {}", key_path.display());
            }
            let retired = retired_issuer_keys
                .iter()
                .map(|path| licence_server::load_issuer_key(path))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut kids: Vec<&str> = retired.iter().map(|k| k.kid()).collect();
            kids.push(signing.kid());
            kids.sort_unstable();
            anyhow::ensure!(
                kids.windows(2).all(|w| w[0] != w[1]),
                "two issuer keys share a kid: a verifier could not tell them apart"
            );
            let issuers = licence_server::IssuerKeys { signing, retired };
            let trust = match trust_list {
                Some(path) => licence_server::ServedTrustList::given(
                    std::fs::read(&path)
                        .with_context(|| format!("reading --trust-list {}", path.display()))?,
                    &issuers,
                )?,
                None => {
                    let path =
                        trust_root_key.unwrap_or_else(|| cli.db.with_extension("trust-root.key"));
                    let (root, created) = licence_server::load_or_create_trust_root(&path)?;
                    if created {
                        println!(
                            "created a development trust root: {} (public: {})",
                            path.display(),
                            path.with_extension("pub").display()
                        );
                    }
                    licence_server::ServedTrustList::development(&issuers, &root)?
                }
            };
            let mdoc_dir = mdoc_dir.unwrap_or_else(|| cli.db.with_extension("mdoc"));
            let (mdoc, done) = licence_server::mdoc::load_or_create(&mdoc_dir)?;
            for line in done {
                println!("{line}");
            }
            let state = AppState::new(
                store,
                Providers::new(ProviderConfig {
                    identity_url,
                    sms_url,
                    alipay_url,
                    ca_pem,
                    timeout: Duration::from_secs_f64(provider_timeout),
                    retries: 2,
                })?,
                Policy {
                    face_attempts,
                    code_ttl: Duration::from_secs(code_ttl),
                    code_resend_after: Duration::from_secs(code_resend_after),
                    outbox_retry: Duration::from_secs_f64(outbox_retry.clamp(0.1, 600.0)),
                    limits: Limits {
                        max_in_flight,
                        max_outside_in_flight,
                        address_rate,
                        address_burst,
                        account_rate,
                        account_burst,
                        body_timeout: Duration::from_secs_f64(body_timeout),
                        ..Limits::default()
                    },
                    longest_poll: Duration::from_secs(longest_poll.min(InboxQuery::LONGEST_WAIT)),
                    sign_in_failures: sign_in_failures.max(1),
                    status_list_every: Duration::from_secs_f64(status_list_every),
                    review_sample_percent,
                    photo_check_share,
                    ..Policy::default()
                },
                issuers,
                trust,
                mdoc,
            )?;
            let connections = ConnectionLimits {
                header_timeout: Duration::from_secs_f64(header_timeout),
                per_address: connections_per_address,
                trusted_proxies: trusted_proxies.into(),
                ..ConnectionLimits::default()
            };
            serve(listen, tls, connections, state, &store_name)?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn serve(
    listen: SocketAddr,
    tls: Option<Arc<licence_tls::ServerConfig>>,
    connections: ConnectionLimits,
    state: AppState,
    store_name: &str,
) -> anyhow::Result<()> {
    let listener =
        std::net::TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    listener.set_nonblocking(true)?;
    // Tests and `cargo xtask run` read this line to learn the address.
    println!(
        "licence-server listening on {}://{} (database {})",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?,
        store_name
    );
    licence_server::worker::spawn_photo_checks(state.clone());
    licence_server::worker::spawn_outbox(state.clone());
    licence_server::worker::spawn_purge(state.clone());
    licence_server::arrivals::spawn_watcher(state.clone());
    let app = licence_server::router(state);
    licence_server::serve::serve(
        tokio::net::TcpListener::from_std(listener)?,
        tls,
        app,
        connections,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await;
    Ok(())
}

/// A database URL fit for a log or a message: any password in it replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_setting_read_from_the_environment_may_be_in_the_config_file() {
        use clap::CommandFactory;
        let command = super::Cli::command();
        let arguments = command
            .get_arguments()
            .chain(command.get_subcommands().flat_map(|c| c.get_arguments()));
        let mut missing: Vec<String> = arguments
            .filter_map(|a| a.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .filter(|env| !super::CONFIG_KEYS.contains(&env.as_str()))
            .collect();
        missing.dedup();
        assert!(missing.is_empty(), "not in CONFIG_KEYS: {missing:?}");
    }

    #[test]
    fn a_password_in_the_store_url_is_never_shown() {
        assert_eq!(
            super::redacted("postgres://app:s3cret@db.example:5432/licence"),
            "postgres://app:***@db.example:5432/licence"
        );
        assert_eq!(
            super::redacted("postgres://app@127.0.0.1:5432/licence"),
            "postgres://app@127.0.0.1:5432/licence"
        );
        assert_eq!(
            super::redacted("postgres://h/db?password=x"),
            "postgres://h/db?password=x"
        );
    }
}
