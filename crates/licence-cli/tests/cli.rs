//! The `licence` command as other tools and people use it: output, JSON and exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `licence` with today fixed at 2026-11-24.
fn licence(args: &[&str]) -> Output {
    licence_raw(&[&["--today", "2026-11-24"], args].concat())
}

fn licence_raw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_licence"))
        .args(args)
        .output()
        .expect("the licence binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(o).lines().next().expect("a line")).expect("one JSON object")
}

#[test]
fn a_valid_id_number_exits_0_with_its_parts() {
    let o = licence(&["id", "11010519491231002x"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("✓ 公民身份号码"), "{text}");
    assert!(
        text.contains("1949-12-31") && text.contains("女 female") && text.contains("北京市"),
        "{text}"
    );
}

#[test]
fn an_invalid_id_number_exits_1_with_a_stable_code_in_json() {
    let o = licence(&["--json", "id", "110105194912310021"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["valid"], false);
    assert_eq!(v["kind"], "id_number");
    assert_eq!(v["error"]["code"], "id_check_mismatch");
    assert_eq!(
        v["error"]["message"],
        "校验码不符：号码中有字符有误，请与证件核对"
    );
}

#[test]
fn a_birth_date_after_today_is_refused() {
    let born = "110105202001010015";
    let o = licence_raw(&["--json", "--today", "2019-12-31", "id", born]);
    assert_eq!(json(&o)["error"]["code"], "id_birth_date_in_future");
    assert_eq!(
        licence_raw(&["--today", "2020-01-01", "id", born])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn unit_codes_choose_credit_or_organisation_code_by_length() {
    let v = json(&licence(&["--json", "unit-code", "91440300708461136T"]));
    assert_eq!(
        (v["kind"].as_str(), v["fields"]["region_code"].as_str()),
        (Some("credit_code"), Some("440300"))
    );
    let v = json(&licence(&["--json", "unit-code", "70846113-6"]));
    assert_eq!(
        (v["kind"].as_str(), v["valid"].as_bool()),
        (Some("organisation_code"), Some(true))
    );
    let o = licence(&["--json", "unit-code", "70846113-5"]);
    assert_eq!(
        (o.status.code(), json(&o)["error"]["code"].as_str()),
        (Some(1), Some("unit_code_check_mismatch"))
    );
}

#[test]
fn classes_and_status_say_what_they_permit_and_the_qr_colour() {
    let v = json(&licence(&["--json", "classes", "A1"]));
    assert_eq!(v["fields"]["permitted"], "A1A3B1B2C1C2C3C4M");
    let v = json(&licence(&["--json", "status", "HI"]));
    assert_eq!(v["fields"]["qr_colour"], "红色 red");
    assert_eq!(v["fields"]["standing"], "异常 abnormal");
    let v = json(&licence(&["--json", "status", "A"]));
    assert_eq!(v["fields"]["qr_colour"], "黑色 black");
}

#[test]
fn deadlines_skip_the_spring_festival() {
    let v = json(&licence(&["--json", "deadline", "2026-02-14 09:00"]));
    assert_eq!(v["fields"]["due_by_rfc3339"], "2026-02-24T09:00:00+08:00");
    let v = json(&licence(&[
        "--json",
        "deadline",
        "2027-03-01T10:00:00+08:00",
    ]));
    assert!(
        v["fields"]["provisional"].is_string(),
        "2027 is provisional: {v}"
    );
}

#[test]
fn unusable_input_exits_2_with_a_message() {
    let o = licence(&["deadline", "next tuesday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a time"));
    let o = licence_raw(&["--today", "2026-02-30", "id", "11010519491231002X"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a date"));
}

#[test]
fn a_calendar_file_replaces_the_bundled_data_and_bad_ones_are_refused() {
    let dir = std::env::temp_dir().join(format!("licence-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.txt");
    std::fs::write(&good, "year 2030 official\nholiday 2030-01-01 元旦\n").unwrap();
    let v = json(&licence(&[
        "--json",
        "--calendar",
        good.to_str().unwrap(),
        "deadline",
        "2029-12-31 10:00",
    ]));
    assert_eq!(v["error"]["code"], "calendar_out_of_range");
    let v = json(&licence(&[
        "--json",
        "--calendar",
        good.to_str().unwrap(),
        "deadline",
        "2030-12-31 10:00",
    ]));
    assert_eq!(v["error"]["code"], "calendar_out_of_range");
    let v = json(&licence(&[
        "--json",
        "--calendar",
        good.to_str().unwrap(),
        "day",
        "2030-01-01",
    ]));
    assert_eq!(v["fields"]["working"], "false");

    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "year 2030 official\nworkday 2030-01-02 x\n").unwrap();
    let o = licence(&["--calendar", bad.to_str().unwrap(), "day", "2030-01-02"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = licence(&[
        "--calendar",
        dir.join("missing.txt").to_str().unwrap(),
        "day",
        "2030-01-02",
    ]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_reads_lines_from_stdin_and_recognises_each_kind() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_licence"))
        .args(["--today", "2026-11-24", "--json", "explain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("11010519491231002X\n\n138 0013 8000\n91110000710926094P\nC1E\n2026-10-01\nhello world\n".as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let kinds: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "id_number",
            "mobile_number",
            "credit_code",
            "vehicle_classes",
            "day",
            "unknown"
        ]
    );
    assert_eq!(o.status.code(), Some(1), "one line was not valid");
}
