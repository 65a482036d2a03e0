//! `licence keys`: an issuer key file, a trust root, a trust list made from the key and signed
//! by the root, and a QR code signed with that key verifying against that list.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use licence_core::testdata::sample_licence;
use licence_credential::*;
use rand_core::OsRng;

fn licence(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_licence"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The tool may exit before it reads its input (a broken pipe is no failure here).
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_key_file_makes_a_trust_list_that_verifies_what_the_key_signs() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bj.key");
    let trust = dir.path().join("trust.cose");
    let root = dir.path().join("root.key");
    let p = |path: &std::path::Path| path.to_str().unwrap().to_owned();
    let out = licence(
        &["keys", "root", "--kid", "root-2026", "--out", &p(&root)],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let root_pub = root.with_extension("pub");
    let shown_root = text(&licence(&["keys", "show", &p(&root_pub)], "").stdout);
    assert!(shown_root.contains("trust root (public)") && shown_root.contains("root-2026"));
    let out = licence(
        &[
            "keys",
            "issuer",
            "--kid",
            "bj-2026",
            "--authority",
            "北京市公安局公安交通管理局",
            "--out",
            &p(&key),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwritten.
    let again = licence(
        &[
            "keys",
            "issuer",
            "--kid",
            "x",
            "--authority",
            "y",
            "--out",
            &p(&key),
        ],
        "",
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("never overwritten"));

    let out = licence(
        &[
            "keys",
            "trust-list",
            &p(&key),
            "--root",
            &p(&root),
            "--sequence",
            "7",
            "--valid-from",
            "2026-01-01T00:00:00+08:00",
            "--out",
            &p(&trust),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&licence(&["keys", "show", &p(&trust)], "").stdout);
    assert!(
        shown.contains("bj-2026")
            && shown.contains("北京市公安局公安交通管理局")
            && shown.contains("2026-01-01")
            && shown.contains("trust list no. 7"),
        "{shown}"
    );
    let shown_key = text(&licence(&["keys", "show", &p(&key)], "").stdout);
    let secret_line = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("secret"))
        .unwrap()
        .to_owned();
    let secret = secret_line.split('=').nth(1).unwrap().trim();
    assert!(
        shown_key.contains("secret not shown") && !shown_key.contains(secret),
        "{shown_key}"
    );

    // What this key signs verifies against this list.
    let issuer = IssuerKey::from_key_file(&std::fs::read_to_string(&key).unwrap()).unwrap();
    let device = DeviceKey::generate(&mut OsRng);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let credential = Credential {
        licence: sample_licence(),
        portrait_jpeg: vec![0xFF, 0xD8, 0xFF, 0xD9],
        device_key: device.public_key(),
        not_before: now - 60,
        not_after: now + 86_400,
        status_index: 3,
        photo_digest: None,
    };
    let qr = Presentation::generate(&credential.sign(&issuer).unwrap(), &device, now).to_text();
    let verified = licence(
        &[
            "verify",
            "-",
            "--trust",
            &p(&trust),
            "--root",
            &p(&root_pub),
            "--json",
        ],
        &qr,
    );
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    // Signature and freshness pass; with no status list the status is unknown, not revoked.
    assert_eq!(report["verdict"], "status_unknown", "{report}");
    // A list made from another key does not.
    let other = dir.path().join("other.key");
    let other_trust = dir.path().join("other.cose");
    licence(
        &[
            "keys",
            "issuer",
            "--kid",
            "bj-2026",
            "--authority",
            "北京",
            "--out",
            &p(&other),
        ],
        "",
    );
    licence(
        &[
            "keys",
            "trust-list",
            &p(&other),
            "--root",
            &p(&root),
            "--out",
            &p(&other_trust),
        ],
        "",
    );
    let refused = licence(
        &[
            "verify",
            "-",
            "--trust",
            &p(&other_trust),
            "--root",
            &p(&root_pub),
            "--json",
        ],
        &qr,
    );
    assert_eq!(refused.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["verdict"], "bad_issuer_signature", "{report}");
}

#[test]
fn bad_key_files_and_arguments_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "kid = a\nsecret = 1234\n").unwrap();
    let root = dir.path().join("root.key");
    licence(
        &[
            "keys",
            "root",
            "--kid",
            "r",
            "--out",
            root.to_str().unwrap(),
        ],
        "",
    );
    let out = licence(
        &[
            "keys",
            "trust-list",
            bad.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--out",
            dir.path().join("t").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not an issuer key file"),
        "{}",
        text(&out.stderr)
    );
    let out = licence(&["keys", "show", bad.to_str().unwrap()], "");
    assert!(text(&out.stderr).contains("neither a key file nor a trust list"));
    let key = dir.path().join("k.key");
    licence(
        &[
            "keys",
            "issuer",
            "--kid",
            "k1",
            "--authority",
            "测试",
            "--out",
            key.to_str().unwrap(),
        ],
        "",
    );
    let out = licence(
        &[
            "keys",
            "trust-list",
            key.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--valid-from",
            "tomorrow",
            "--out",
            dir.path().join("t").to_str().unwrap(),
        ],
        "",
    );
    assert!(
        text(&out.stderr).contains("not an RFC 3339 time"),
        "{}",
        text(&out.stderr)
    );
    let twice = licence(
        &[
            "keys",
            "trust-list",
            key.to_str().unwrap(),
            key.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "--out",
            dir.path().join("t").to_str().unwrap(),
        ],
        "",
    );
    assert!(text(&twice.stderr).contains("two keys have the kid k1"));
}

#[test]
fn an_mdl_root_and_a_document_signer_under_it_make_a_folder_the_platform_reads() {
    use licence_mdoc::IacaRoot;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("iaca");
    let platform = dir.path().join("platform.mdoc");
    let p = |path: &std::path::Path| path.to_str().unwrap().to_owned();
    let out = licence(
        &[
            "keys",
            "mdoc-root",
            "--name",
            "公安部交通管理局 IACA",
            "--out",
            &p(&root),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Never over an existing root.
    let again = licence(
        &["keys", "mdoc-root", "--name", "again", "--out", &p(&root)],
        "",
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("nothing is overwritten"));
    // A signer longer than Annex B allows is refused with the bound.
    let long = licence(
        &[
            "keys",
            "mdoc-signer",
            "--root",
            &p(&root),
            "--name",
            "DS",
            "--days",
            "500",
            "--out",
            &p(&platform),
        ],
        "",
    );
    assert_eq!(long.status.code(), Some(2));
    assert!(text(&long.stderr).contains("457"), "{}", text(&long.stderr));
    let out = licence(
        &[
            "keys",
            "mdoc-signer",
            "--root",
            &p(&root),
            "--name",
            "北京 DS",
            "--out",
            &p(&platform),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The platform's folder: the root's certificate, the signer's key and certificate, not the
    // root's key.
    assert!(!platform.join("iaca.key").exists());
    let iaca =
        IacaRoot::from_pem(&std::fs::read_to_string(platform.join("iaca.pem")).unwrap()).unwrap();
    assert_eq!(iaca.country().as_deref(), Some("CN"));
    let (_, der) = der::pem::decode_vec(
        std::fs::read_to_string(platform.join("document-signer.pem"))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let signer = iaca
        .check_signer(&der, time::OffsetDateTime::now_utc())
        .unwrap();
    let key = licence_mdoc::certificate::key_from_pem(
        &std::fs::read_to_string(platform.join("document-signer.key")).unwrap(),
    )
    .unwrap();
    assert_eq!(*key.verifying_key(), signer.key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(platform.join("document-signer.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the signer's key is readable by its owner only"
        );
    }
}
