//! The `licence-server` command: import with a line-numbered report, the config file, the
//! serving options' bounds, staff, demo drivers.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn server(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_licence-server"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn import_reports_rejected_rows_by_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let good = licence_server::registry::demo_entries()[0]
        .id_number
        .to_string();
    let bad = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );
    let csv = dir.path().join("registry.csv");
    std::fs::write(
        &csv,
        format!(
            "{}\n{good},张伟,13800138000,,,,,,,,,,\n{bad},李四,13800138001,,,,,,,,,,\n",
            licence_server::registry::CSV_HEADER
        ),
    )
    .unwrap();
    let out = server(
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            csv.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("line 3: id_number:"), "{stdout}");
    assert!(stdout.contains("imported 1 rows, rejected 1"), "{stdout}");
    // A file that is not the registry format is refused whole, saying what was expected.
    std::fs::write(&csv, "name,id\n张伟,1\n").unwrap();
    let out = server(
        &[
            "--db",
            db.to_str().unwrap(),
            "import",
            csv.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expected header"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_config_file_sets_what_flags_and_environment_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config.sqlite");
    let config = dir.path().join("server.env");
    std::fs::write(
        &config,
        format!("# development\nLICENCE_DB={}\n", db.display()),
    )
    .unwrap();
    let out = server(
        &["demo"],
        &[("LICENCE_CONFIG", config.to_str().unwrap())],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(db.exists());
    std::fs::write(&config, "LICENCE_PASSWORD=x\n").unwrap();
    let out = server(
        &["demo"],
        &[("LICENCE_CONFIG", config.to_str().unwrap())],
        "",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown setting LICENCE_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_photo_checks_share_of_the_machine_is_a_fraction_from_a_twentieth_to_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("share.sqlite");
    let config = dir.path().join("server.env");
    let db_flag = ["--db", db.to_str().unwrap()];
    for share in ["0", "0.01", "1.5", "NaN", "-1"] {
        let flag = format!("--photo-check-share={share}");
        let mut args = db_flag.to_vec();
        args.extend(["serve", "--listen", "127.0.0.1:0", &flag]);
        let out = server(&args, &[], "");
        assert_eq!(out.status.code(), Some(1), "{share}");
        assert!(
            text(&out.stderr).contains("--photo-check-share must be between 0.05 and 1"),
            "{share}: {}",
            text(&out.stderr)
        );
    }
    // From the config file too, where a deployment keeps it.
    std::fs::write(&config, "LICENCE_PHOTO_CHECK_SHARE=2\n").unwrap();
    let mut args = db_flag.to_vec();
    args.extend(["serve", "--listen", "127.0.0.1:0"]);
    let out = server(&args, &[("LICENCE_CONFIG", config.to_str().unwrap())], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--photo-check-share must be between"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn staff_need_a_strong_password_and_a_free_username() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let add = |password: &str| {
        server(
            &[
                "--db",
                db.to_str().unwrap(),
                "staff",
                "add",
                "clerk01",
                "--name",
                "王警官",
                "--role",
                "clerk",
            ],
            &[],
            &format!("{password}\n"),
        )
    };
    let weak = add("12345");
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("8 to 32 characters"),
        "{}",
        text(&weak.stderr)
    );
    assert!(add("Counter2026").status.success());
    let again = add("Counter2026");
    assert!(
        text(&again.stderr).contains("taken"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn a_demo_driver_is_added_for_a_registry_person_once_with_a_strong_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.sqlite");
    let db = db.to_str().unwrap();
    assert!(server(&["--db", db, "demo"], &[], "").status.success());
    let demo = text(&server(&["--db", db, "demo"], &[], "").stdout);
    // The first demo person: name, ID number, reserved mobile, ...
    let first: Vec<&str> = demo.lines().nth(1).unwrap().split_whitespace().collect();
    let (id_number, mobile) = (first[1], first[2]);
    let add = |id: &str, password: &str| {
        server(
            &["--db", db, "driver", "add", id],
            &[],
            &format!("{password}\n"),
        )
    };
    let weak = add(id_number, "12345");
    assert!(
        text(&weak.stderr).contains("8 to 32 characters"),
        "{}",
        text(&weak.stderr)
    );
    let added = add(id_number, "Driver2026");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let masked = format!("{}****{}", &mobile[..3], &mobile[7..]);
    assert!(
        text(&added.stdout).contains(&masked),
        "{}",
        text(&added.stdout)
    );
    assert!(
        !text(&added.stdout).contains(mobile),
        "the mobile is not printed in full"
    );
    let again = add(id_number, "Driver2026");
    assert!(
        text(&again.stderr).contains("already has an account"),
        "{}",
        text(&again.stderr)
    );
    let stranger = add("11010519491231002X", "Driver2026");
    assert!(
        text(&stranger.stderr).contains("not in the registry"),
        "{}",
        text(&stranger.stderr)
    );
}
