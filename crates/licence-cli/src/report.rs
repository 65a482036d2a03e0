//! What `licence` says about one input: a kind, valid or not, labelled fields or a coded error.

use std::io::Write;

use licence_core::calendar::DayKind;
use licence_core::{
    IdNumber, LicenceStatus, MobileNumber, OrganisationCode, Problem, Standing,
    UnifiedSocialCreditCode, VehicleClasses, WorkingCalendar, CHINA_OFFSET,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

#[derive(Debug, Serialize)]
pub struct Field {
    pub key: &'static str,
    #[serde(skip)]
    pub label: &'static str,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub code: &'static str,
    pub message: String,
    pub message_en: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub kind: &'static str,
    #[serde(skip)]
    pub title: &'static str,
    pub valid: bool,
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

impl Report {
    fn ok(kind: &'static str, title: &'static str, fields: Vec<Field>) -> Report {
        Report {
            kind,
            title,
            valid: true,
            fields,
            error: None,
        }
    }

    fn err(kind: &'static str, title: &'static str, e: &dyn Problem) -> Report {
        Report {
            kind,
            title,
            valid: false,
            fields: Vec::new(),
            error: Some(ErrorReport {
                code: e.code(),
                message: e.message_zh(),
                message_en: e.message_en(),
            }),
        }
    }

    pub fn print(&self, out: &mut impl Write, json: bool) -> std::io::Result<()> {
        if json {
            let mut value = serde_json::to_value(self).expect("plain data");
            // Fields as an object keyed by their machine names, for tools.
            let fields: serde_json::Map<_, _> = self
                .fields
                .iter()
                .map(|f| (f.key.to_owned(), f.value.clone().into()))
                .collect();
            value["fields"] = fields.into();
            return writeln!(out, "{value}");
        }
        match &self.error {
            None => writeln!(out, "✓ {}", self.title)?,
            Some(e) => {
                writeln!(out, "✗ {}  [{}]", self.title, e.code)?;
                writeln!(out, "  {}", e.message)?;
                writeln!(out, "  {}", e.message_en)?;
            }
        }
        let width = self
            .fields
            .iter()
            .map(|f| display_width(f.label))
            .max()
            .unwrap_or(0);
        for f in &self.fields {
            let pad = " ".repeat(width - display_width(f.label));
            writeln!(out, "  {}{pad}  {}", f.label, f.value)?;
        }
        Ok(())
    }
}

/// Terminal columns: CJK characters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
        .sum()
}

fn field(key: &'static str, label: &'static str, value: impl ToString) -> Field {
    Field {
        key,
        label,
        value: value.to_string(),
    }
}

pub fn parse_date_arg(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("'{text}' is not a date: write it as YYYY-MM-DD (日期格式：年-月-日)"))
}

/// RFC 3339, or "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DD" taken as China time.
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    for format in [
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ] {
        if let Ok(t) = PrimitiveDateTime::parse(text, format) {
            return Ok(t.assume_offset(CHINA_OFFSET));
        }
    }
    parse_date_arg(text)
        .map(|d| d.midnight().assume_offset(CHINA_OFFSET))
        .map_err(|_| format!("'{text}' is not a time: use 2026-11-24T10:30:00+08:00 or 2026-11-24 10:30 (China time)"))
}

const ID_TITLE: &str = "公民身份号码 Resident ID number";

pub fn id_number(text: &str, today: Date) -> Report {
    match IdNumber::parse(text, today) {
        Ok(id) => Report::ok(
            "id_number",
            ID_TITLE,
            vec![
                field("number", "号码 Number", id),
                field(
                    "province",
                    "省份 Province",
                    format!("{} {}", id.province().name_zh(), id.province().name_en()),
                ),
                field("region_code", "行政区划 Region code", id.region_code()),
                field("birth_date", "出生日期 Born", id.birth_date()),
                field(
                    "sex",
                    "性别 Sex",
                    format!("{} {}", id.sex().name_zh(), id.sex().name_en()),
                ),
                field("age", "年龄 Age", id.age_on(today)),
                field("masked", "脱敏 Masked", id.masked()),
            ],
        ),
        Err(e) => Report::err("id_number", ID_TITLE, &e),
    }
}

const CREDIT_TITLE: &str = "统一社会信用代码 Unified social credit code";
const ORG_TITLE: &str = "组织机构代码 Organisation code";

pub fn unit_code(text: &str) -> Report {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.chars().count() <= 9 {
        return match text.parse::<OrganisationCode>() {
            Ok(code) => Report::ok(
                "organisation_code",
                ORG_TITLE,
                vec![field("code", "代码 Code", code)],
            ),
            Err(e) => Report::err("organisation_code", ORG_TITLE, &e),
        };
    }
    match text.parse::<UnifiedSocialCreditCode>() {
        Ok(code) => Report::ok(
            "credit_code",
            CREDIT_TITLE,
            vec![
                field("code", "代码 Code", code),
                field(
                    "registration_authority",
                    "登记管理部门 Registration authority",
                    code.registration_authority(),
                ),
                field(
                    "unit_category",
                    "机构类别 Unit category",
                    code.unit_category(),
                ),
                field("region_code", "行政区划 Region code", code.region_code()),
                field(
                    "organisation_part",
                    "主体标识码 Organisation part",
                    code.organisation_part(),
                ),
            ],
        ),
        Err(e) => Report::err("credit_code", CREDIT_TITLE, &e),
    }
}

const PHONE_TITLE: &str = "手机号码 Mobile number";

pub fn phone(text: &str) -> Report {
    match text.parse::<MobileNumber>() {
        Ok(n) => Report::ok(
            "mobile_number",
            PHONE_TITLE,
            vec![
                field("number", "号码 Number", n),
                field("masked", "脱敏 Masked", n.masked()),
            ],
        ),
        Err(e) => Report::err("mobile_number", PHONE_TITLE, &e),
    }
}

const CLASSES_TITLE: &str = "准驾车型 Licence classes";

pub fn classes(text: &str) -> Report {
    match text.parse::<VehicleClasses>() {
        Ok(set) => {
            let describe = |s: VehicleClasses| {
                s.held()
                    .map(|c| format!("{c} {}", c.name_zh()))
                    .collect::<Vec<_>>()
                    .join("、")
            };
            Report::ok(
                "vehicle_classes",
                CLASSES_TITLE,
                vec![
                    field("held", "准驾车型 Held", set),
                    field("held_names", "名称 Names", describe(set)),
                    field("permitted", "可驾驶 Permits", set.permitted()),
                    field(
                        "permitted_names",
                        "可驾驶车型 Permitted",
                        describe(set.permitted()),
                    ),
                ],
            )
        }
        Err(e) => Report::err("vehicle_classes", CLASSES_TITLE, &e),
    }
}

const STATUS_TITLE: &str = "驾驶证状态 Licence status";

pub fn status(text: &str) -> Report {
    match text.parse::<LicenceStatus>() {
        Ok(s) => {
            let standing = match s.standing() {
                Standing::Normal => "正常 normal",
                Standing::Abnormal => "异常 abnormal",
                Standing::Invalid => "失效 invalid",
            };
            Report::ok(
                "licence_status",
                STATUS_TITLE,
                vec![
                    field("status", "状态 Status", s),
                    field(
                        "names",
                        "含义 Meaning",
                        format!("{} ({})", s.names_zh(), s.names_en()),
                    ),
                    field("standing", "判定 Standing", standing),
                    field(
                        "qr_colour",
                        "二维码 QR colour",
                        if s.is_normal() {
                            "黑色 black"
                        } else {
                            "红色 red"
                        },
                    ),
                ],
            )
        }
        Err(e) => Report::err("licence_status", STATUS_TITLE, &e),
    }
}

fn describe_day(kind: &DayKind) -> String {
    match kind {
        DayKind::Weekday => "工作日 working day".into(),
        DayKind::Weekend => "周末 weekend".into(),
        DayKind::Holiday(name) => format!("节假日 holiday: {name}"),
        DayKind::MakeUpWorkday(name) => format!("调休上班 make-up working day: {name}"),
    }
}

/// Said of dates in a year whose official holiday notice is not yet in the calendar data.
fn provisional_note() -> Field {
    field(
        "provisional",
        "注意 Note",
        "该年放假安排尚未发布，按法定节假日推算 (provisional)",
    )
}

const DAY_TITLE: &str = "工作日 Working day";

pub fn day(calendar: &WorkingCalendar, date: Date) -> Report {
    match calendar.day_kind(date) {
        Ok(kind) => {
            let mut fields = vec![
                field("date", "日期 Date", format!("{date} ({})", date.weekday())),
                field("kind", "类型 Kind", describe_day(&kind)),
                field("working", "是否工作日 Working", kind.is_working()),
            ];
            if calendar.is_provisional(date) {
                fields.push(provisional_note());
            }
            Report::ok("day", DAY_TITLE, fields)
        }
        Err(e) => Report::err("day", DAY_TITLE, &e),
    }
}

const DEADLINE_TITLE: &str = "审核期限 Review deadline (1 working day)";

pub fn deadline(calendar: &WorkingCalendar, at: OffsetDateTime) -> Report {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] ([weekday repr:short])");
    let show = |t: OffsetDateTime| {
        t.to_offset(CHINA_OFFSET)
            .format(format)
            .unwrap_or_else(|_| t.to_string())
    };
    match calendar.due_by(at) {
        Ok(due) => {
            let mut fields = vec![
                field("submitted_at", "提交时间 Submitted", show(at)),
                field("due_by", "审核期限 Due by", show(due)),
                field(
                    "due_by_rfc3339",
                    "RFC 3339",
                    due.format(&Rfc3339).unwrap_or_default(),
                ),
            ];
            if calendar.is_provisional(at.date()) || calendar.is_provisional(due.date()) {
                fields.push(provisional_note());
            }
            Report::ok("deadline", DEADLINE_TITLE, fields)
        }
        Err(e) => Report::err("deadline", DEADLINE_TITLE, &e),
    }
}

/// Every reading of `text` that makes sense; when none is valid, the most likely one's error.
pub fn explain(text: &str, today: Date, calendar: &WorkingCalendar) -> Vec<Report> {
    let t = text.trim();
    let compact: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')'))
        .collect();
    let digits = compact.chars().filter(char::is_ascii_digit).count();
    let len = compact.chars().count();
    let mut candidates: Vec<Report> = Vec::new();
    if let Ok(at) = parse_instant(t) {
        if t.contains(':') || t.contains('T') {
            return vec![deadline(calendar, at)];
        }
        if let Ok(date) = parse_date_arg(t) {
            return vec![day(calendar, date)];
        }
    }
    if len == 18 || len == 15 {
        candidates.push(id_number(t, today));
        if len == 18 {
            candidates.push(unit_code(t));
        }
    }
    if len == 9 || (len == 10 && t.contains('-')) {
        candidates.push(unit_code(t));
    }
    if (11..=15).contains(&len) && digits + usize::from(compact.starts_with('+')) == len {
        candidates.push(phone(t));
    }
    // Codes are written in capitals; a short text may be a lower-case slip, a long lower-case
    // word is not a code at all.
    let code_like = len <= 4 || !compact.chars().any(|c| c.is_ascii_lowercase());
    if len <= 12 && code_like && compact.chars().any(|c| c.is_ascii_alphabetic()) {
        candidates.push(classes(t));
        if compact.chars().all(|c| c.is_ascii_alphabetic()) {
            candidates.push(status(t));
        }
    }
    if candidates.iter().any(|r| r.valid) {
        candidates.retain(|r| r.valid);
        return candidates;
    }
    // Nothing valid: keep the first guess, which is the likeliest by shape.
    match candidates.into_iter().next() {
        Some(r) => vec![r],
        None => vec![Report {
            kind: "unknown",
            title: "无法识别 Not recognised",
            valid: false,
            fields: Vec::new(),
            error: Some(ErrorReport {
                code: "not_recognised",
                message: "无法识别：请输入身份证号码、统一社会信用代码、手机号码、准驾车型、驾驶证状态或时间".into(),
                message_en: "Not recognised: enter an ID number, credit code, mobile number, licence classes, status or a time".into(),
            }),
        }],
    }
}
