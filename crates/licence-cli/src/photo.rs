//! `licence photo check` and `licence photo crop`, as design.md's contract fixes them:
//! exit 0 compliant, 1 not compliant, 2 unusable input; `--json` prints one object.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use licence_photo::{PhotoChecker, ProblemCode, Severity, Verdict};
use time::Date;

/// What the command reports; exit code follows from it.
pub enum Outcome {
    Compliant,
    NotCompliant,
    Unusable,
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Compliant => 0,
            Outcome::NotCompliant => 1,
            Outcome::Unusable => 2,
        }
    }
}

/// The photo's verdict; a file over the size cap is refused from its metadata, unread.
fn check_file(file: &Path, today: Date) -> anyhow::Result<Verdict> {
    let meta = std::fs::metadata(file)
        .with_context(|| format!("cannot read {} (无法读取文件)", file.display()))?;
    if meta.len() > licence_photo::MAX_FILE_BYTES as u64 {
        return Ok(Verdict::refused(ProblemCode::TooLarge));
    }
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read {} (无法读取文件)", file.display()))?;
    Ok(PhotoChecker::new().check(&bytes, today))
}

fn outcome(v: &Verdict) -> Outcome {
    if v.unusable_input() {
        Outcome::Unusable
    } else if v.compliant {
        Outcome::Compliant
    } else {
        Outcome::NotCompliant
    }
}

fn print(
    v: &Verdict,
    json: bool,
    out: &mut impl Write,
    wrote: Option<&Path>,
) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(v)?)?;
        return Ok(());
    }
    if v.compliant {
        writeln!(out, "✓ 照片符合要求 The photo meets the spec")?;
    } else {
        writeln!(out, "✗ 照片不符合要求 The photo does not meet the spec")?;
    }
    for p in &v.problems {
        let mark = if p.severity == Severity::Error {
            "✗"
        } else {
            "!"
        };
        writeln!(
            out,
            "  {mark} [{}] {}\n      {}",
            p.code.as_str(),
            p.message,
            p.message_en
        )?;
    }
    if let Some(m) = &v.measurements {
        writeln!(
            out,
            "  头部长度 head length {} px (224–260), 头部宽度 head width {} px (165–189), 头顶距上边 top margin {} px (10–20)",
            m.head_length_px, m.head_width_px, m.top_margin_px
        )?;
    }
    if let Some(path) = wrote {
        writeln!(
            out,
            "  已写入 written: {} (260×378, 300 dpi)",
            path.display()
        )?;
    }
    Ok(())
}

pub fn check(file: &Path, json: bool, today: Date) -> anyhow::Result<Outcome> {
    let verdict = check_file(file, today)?;
    print(&verdict, json, &mut std::io::stdout().lock(), None)?;
    Ok(outcome(&verdict))
}

pub fn crop(file: &Path, out_path: &Path, json: bool, today: Date) -> anyhow::Result<Outcome> {
    let verdict = check_file(file, today)?;
    let mut wrote = None;
    if let Some(jpeg) = verdict.cropped_jpeg.as_ref().filter(|_| verdict.compliant) {
        std::fs::write(out_path, jpeg)
            .with_context(|| format!("cannot write {} (无法写入文件)", out_path.display()))?;
        wrote = Some(out_path);
    }
    print(&verdict, json, &mut std::io::stdout().lock(), wrote)?;
    Ok(outcome(&verdict))
}
