//! `licence verify INPUT --trust TRUST [--root ROOT] [--status STATUS] [--now RFC3339]
//! [--json]`, as design.md's contract fixes it: exit 0 valid, 1 invalid, 2 unusable input. The
//! trust list must be signed by the trust root (`--root`, else the one the build names).

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use licence_credential::{
    qr, verify, Light, StatusList, StatusReport, Verification, VerifyOptions,
};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .with_context(|| format!("cannot read the {what} {} (无法读取文件)", path.display()))
}

/// The QR text: from standard input for `-`, else read from the image.
fn qr_text(input: &str) -> anyhow::Result<String> {
    if input == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .context("standard input is not text")?;
        return Ok(text.trim().to_owned());
    }
    let bytes = read(Path::new(input), "image")?;
    let picture = licence_photo::decode(&bytes).map_err(|r| {
        anyhow::anyhow!(
            "{input} is not a usable image ({}): 无法读取图片",
            r.code.as_str()
        )
    })?;
    let grey = image::DynamicImage::ImageRgb8(picture.rgb).into_luma8();
    match qr::decode(&grey).into_iter().next() {
        Some(text) => Ok(text),
        None => bail!("no QR code found in {input} (图片中未找到二维码)"),
    }
}

/// The lists a verification uses, as named on the command line.
pub struct Lists<'a> {
    pub trust: &'a Path,
    pub root: Option<&'a Path>,
    pub status: Option<&'a Path>,
}

pub fn run(input: &str, lists: &Lists, now: Option<&str>, json_out: bool) -> anyhow::Result<bool> {
    let trust = crate::keys::read_trust_list(lists.trust, lists.root)?;
    let status = match lists.status {
        Some(path) => Some(
            StatusList::verify(&read(path, "status list")?, &trust)
                .context("the status list cannot be used")?,
        ),
        None => None,
    };
    let now = match now {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)
            .with_context(|| format!("--now {t} is not an RFC 3339 time"))?,
        None => OffsetDateTime::now_utc(),
    };
    let text = qr_text(input)?;
    let v = verify(
        &text,
        &trust,
        status.as_slice(),
        now.unix_timestamp(),
        VerifyOptions::default(),
    );
    if json_out {
        println!("{}", report(&v));
    } else {
        print_text(&v);
    }
    Ok(v.valid())
}

fn report(v: &Verification) -> serde_json::Value {
    let holder = v.credential.as_ref().map(|c| {
        let r = c.licence.record();
        json!({
            "number": r.number.to_string(),
            "name": r.name.to_string(),
            "sex": c.licence.sex().name_zh(),
            "birth_date": c.licence.birth_date().to_string(),
            "nationality": r.nationality,
            "address": r.address,
            "first_issued": r.first_issued.to_string(),
            "classes": r.classes.to_string(),
            "validity": r.validity.to_string(),
            "points": r.points.value(),
            "status": r.status.to_string(),
            "issuing_authority": r.issuing_authority,
            "file_number": r.file_number.to_string(),
            "portrait_bytes": c.portrait_jpeg.len(),
            "issuer": v.issuer_authority,
        })
    });
    json!({
        "valid": v.valid(),
        "verdict": v.verdict.as_str(),
        "holder": holder,
        "status": v.status,
        "generated_at": v.generated_at.and_then(licence_core::china_rfc3339),
        "detail": v.detail,
    })
}

fn print_text(v: &Verification) {
    let mark = match v.verdict.light() {
        Light::Green => "✓",
        Light::Amber => "?",
        Light::Red => "✗",
    };
    let (zh, _) = v.verdict.describe();
    match v.detail {
        Some(rule) => println!("{mark} {zh} [{}: {rule}]", v.verdict.as_str()),
        None => println!("{mark} {zh} [{}]", v.verdict.as_str()),
    }
    if let Some(c) = &v.credential {
        let r = c.licence.record();
        println!(
            "  {} {}  {}  准驾车型 {}  记分 {}  状态 {}",
            r.name,
            c.licence.sex().name_zh(),
            r.number,
            r.classes,
            r.points,
            r.status
        );
    }
    match &v.status {
        StatusReport::Unknown { reason } => println!("  status unknown: {reason}"),
        StatusReport::Abnormal { codes } | StatusReport::Invalid { codes } => {
            println!("  status codes: {}", codes.as_deref().unwrap_or("?"))
        }
        _ => {}
    }
}
