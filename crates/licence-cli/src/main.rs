//! `licence`: the e-licence system's command-line tool.
//!
//! Today it checks the things a counter clerk or a developer types: resident ID numbers, unit
//! codes, mobile numbers, licence classes and status, and review deadlines by the working-day
//! calendar; `photo check` and `photo crop` check portraits; `verify` checks an e-licence QR
//! code offline; `keys` makes issuer keys and the trust lists verifiers load.
//! Exit codes, as for every `licence` subcommand: 0 valid, 1 invalid, 2 unusable input.

mod keys;
mod mdoc_keys;
mod photo;
mod report;
mod verify;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use licence_core::WorkingCalendar;
use time::{Date, OffsetDateTime};

#[derive(Parser)]
#[command(
    name = "licence",
    version,
    about = "电子驾驶证 command-line tool: check ID numbers, unit codes, mobile numbers, licence classes and status, and review deadlines"
)]
struct Cli {
    /// Print one JSON object per result instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Today's date for checks that depend on it (default: today in China, UTC+8).
    #[arg(long, global = true, value_parser = report::parse_date_arg)]
    today: Option<Date>,
    /// A working-day calendar file to use instead of the bundled one.
    #[arg(long, global = true)]
    calendar: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a resident ID number (公民身份号码, GB 11643).
    Id { number: String },
    /// Check a unified social credit code (18 characters) or an organisation code (9).
    UnitCode { code: String },
    /// Check a mainland mobile number.
    Phone { number: String },
    /// Explain licence classes (准驾车型) such as C1E, and everything they permit.
    Classes { classes: String },
    /// Explain a licence status (驾驶证状态) such as HI, and the QR colour it gives.
    Status { status: String },
    /// Say whether a date is a working day, and why.
    Day {
        #[arg(value_parser = report::parse_date_arg)]
        date: Date,
    },
    /// The review deadline (1 working day) for an application submitted at a time.
    Deadline {
        /// RFC 3339 (2026-11-24T10:30:00+08:00), or "YYYY-MM-DD HH:MM" in China time; default now.
        at: Option<String>,
    },
    /// Say what each text is and whether it is valid: the given texts, or one per line from
    /// standard input (interactive when it is a terminal).
    Explain { texts: Vec<String> },
    /// Verify an e-licence QR code offline (R4.3). Exit 0 valid, 1 invalid, 2 unusable input.
    Verify {
        /// An image containing the QR code, or `-` for the QR text on standard input.
        input: String,
        /// The trust list of issuer keys, signed by the trust root (`licence keys trust-list`).
        #[arg(long)]
        trust: PathBuf,
        /// The trust root's public key file (`licence keys root` writes it); default: the
        /// root this build names (`LICENCE_TRUST_ROOT` at build time).
        #[arg(long, env = "LICENCE_TRUST_ROOT")]
        root: Option<PathBuf>,
        /// The signed status list (COSE_Sign1); without it the status is unknown.
        #[arg(long)]
        status: Option<PathBuf>,
        /// The time to verify at (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// Portrait photos for the e-licence (R3.3): check against the spec, or crop to it.
    #[command(subcommand)]
    Photo(PhotoCommand),
    /// Issuer keys and trust lists for verifiers.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an issuer signing key (P-256) in a new key file, readable by you only.
    Issuer {
        /// Key id carried in every credential it signs, e.g. bj-2026.
        #[arg(long)]
        kid: String,
        /// The issuing authority, e.g. 北京市公安局公安交通管理局.
        #[arg(long)]
        authority: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Create the trust root's key (P-256) in a new key file, readable by you only, and its
    /// public key file for verifiers.
    Root {
        /// Key id of the root, e.g. root-2026.
        #[arg(long)]
        kid: String,
        #[arg(long)]
        out: PathBuf,
        /// Where the public key goes; default: OUT with the extension .pub.
        #[arg(long)]
        public: Option<PathBuf>,
    },
    /// Build a trust list from issuer key files, signed by the trust root, for
    /// `licence verify --trust`.
    TrustList {
        keys: Vec<PathBuf>,
        /// The trust root's key file.
        #[arg(long)]
        root: PathBuf,
        /// The list's number; a verifier never takes a lower one than it holds. Default: now in
        /// Unix seconds.
        #[arg(long)]
        sequence: Option<u64>,
        /// RFC 3339, for keys whose file has no window; default now.
        #[arg(long)]
        valid_from: Option<String>,
        /// RFC 3339, for keys whose file has no window; default ten years from now.
        #[arg(long)]
        valid_until: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Show what a key file or a trust list holds (never the secret).
    Show { file: PathBuf },
    /// Create the IACA root of the e-licence as an ISO 18013-5 mDL in a new folder: its key
    /// (keep it off line) and its certificate (give it to verifiers).
    MdocRoot {
        /// ISO 3166-1 alpha-2.
        #[arg(long, default_value = "CN")]
        country: String,
        #[arg(long)]
        name: String,
        /// Where the issuer publishes about its certificates (IssuerAltName).
        #[arg(long, default_value = "https://gab.122.gov.cn")]
        url: String,
        #[arg(long, default_value_t = 10)]
        years: i64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a document signer under an IACA root, into the platform's mDL folder
    /// (`licence-server --mdoc-dir`), with a copy of the root's certificate.
    MdocSigner {
        /// The root's folder (`mdoc-root --out`).
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "https://gab.122.gov.cn")]
        url: String,
        /// At most 457 (Annex B).
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum PhotoCommand {
    /// Check a photo (JPEG, PNG, WebP). Exit 0 compliant, 1 not compliant, 2 unusable input.
    Check { file: PathBuf },
    /// Crop a photo to 260×378 at 300 dpi; writes OUT only if the result meets the spec.
    Crop {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

/// mimalloc, not the system's malloc: a `licence photo` process lives for one photo, and
/// glibc served each large buffer (the decoded photo, the models' tensors) with fresh pages,
/// 7 200 page faults a 12 MP check. mimalloc reuses its pages: 1 200 faults, and 15 % less CPU
/// time for the check (docs/performance.md). Its v2 line: v3 held twice the memory here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Verify {
        input,
        trust,
        root,
        status,
        now,
    } = &cli.command
    {
        let lists = verify::Lists {
            trust,
            root: root.as_deref(),
            status: status.as_deref(),
        };
        return match verify::run(input, &lists, now.as_deref(), cli.json) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("licence: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Keys(keys) = &cli.command {
        let result = match keys {
            KeysCommand::Issuer {
                kid,
                authority,
                out,
            } => keys::new_issuer(kid, authority, out),
            KeysCommand::Root { kid, out, public } => keys::new_root(
                kid,
                out,
                &public.clone().unwrap_or(out.with_extension("pub")),
            ),
            KeysCommand::TrustList {
                keys: files,
                root,
                sequence,
                valid_from,
                valid_until,
                out,
            } => keys::trust_list(
                files,
                (valid_from.as_deref(), valid_until.as_deref()),
                root,
                *sequence,
                out,
            ),
            KeysCommand::Show { file } => keys::show(file),
            KeysCommand::MdocRoot {
                country,
                name,
                url,
                years,
                out,
            } => mdoc_keys::new_root(country, name, url, *years, out),
            KeysCommand::MdocSigner {
                root,
                name,
                url,
                days,
                out,
            } => mdoc_keys::new_signer(root, name, url, *days, out),
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("licence: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Photo(photo) = &cli.command {
        let today = cli.today.unwrap_or_else(|| {
            OffsetDateTime::now_utc()
                .to_offset(licence_core::CHINA_OFFSET)
                .date()
        });
        let result = match photo {
            PhotoCommand::Check { file } => photo::check(file, cli.json, today),
            PhotoCommand::Crop { file, out } => photo::crop(file, out, cli.json, today),
        };
        return match result {
            Ok(outcome) => ExitCode::from(outcome.exit_code()),
            Err(e) => {
                eprintln!("licence: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("licence: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Ok(all valid), or Err for unusable input (exit 2).
fn run(cli: Cli) -> anyhow::Result<bool> {
    let now = OffsetDateTime::now_utc().to_offset(licence_core::CHINA_OFFSET);
    let today = cli.today.unwrap_or(now.date());
    let calendar = || -> anyhow::Result<WorkingCalendar> {
        match &cli.calendar {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the calendar file {}", path.display()))?;
                WorkingCalendar::parse(&text).with_context(|| format!("in {}", path.display()))
            }
            None => Ok(WorkingCalendar::mainland_china()?),
        }
    };
    let reports = match &cli.command {
        Command::Id { number } => vec![report::id_number(number, today)],
        Command::UnitCode { code } => vec![report::unit_code(code)],
        Command::Phone { number } => vec![report::phone(number)],
        Command::Classes { classes } => vec![report::classes(classes)],
        Command::Status { status } => vec![report::status(status)],
        Command::Day { date } => vec![report::day(&calendar()?, *date)],
        Command::Deadline { at } => {
            let at = match at {
                Some(text) => report::parse_instant(text).map_err(anyhow::Error::msg)?,
                None => now,
            };
            vec![report::deadline(&calendar()?, at)]
        }
        Command::Explain { texts } if !texts.is_empty() => {
            let cal = calendar()?;
            texts
                .iter()
                .flat_map(|t| report::explain(t, today, &cal))
                .collect()
        }
        Command::Explain { .. } => return explain_stdin(cli.json, today, &calendar()?),
        Command::Photo(_) | Command::Verify { .. } | Command::Keys(_) => {
            unreachable!("handled in main")
        }
    };
    let mut out = std::io::stdout().lock();
    for r in &reports {
        r.print(&mut out, cli.json)?;
    }
    Ok(reports.iter().all(|r| r.valid))
}

/// One text a line until end of input, with a prompt when a person is typing.
fn explain_stdin(json: bool, today: Date, calendar: &WorkingCalendar) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut out = std::io::stdout().lock();
    if interactive {
        writeln!(
            out,
            "输入身份证号码、统一社会信用代码、手机号码、准驾车型、驾驶证状态或提交时间，每行一项；Ctrl-D 结束。\n\
             Type an ID number, credit code, mobile number, licence classes, status or a submission time, one a line; Ctrl-D ends."
        )?;
    }
    let mut all_valid = true;
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            write!(out, "> ")?;
            out.flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("standard input is not UTF-8 text")?;
        if line.trim().is_empty() {
            continue;
        }
        for r in report::explain(&line, today, calendar) {
            all_valid &= r.valid;
            r.print(&mut out, json)?;
        }
    }
    Ok(all_valid)
}
