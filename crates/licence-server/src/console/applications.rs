//! 电子驾驶证审核 (R3): applications under review, the nearest deadline first and overdue ones
//! flagged (R3.4); each shows the server's crop beside the photo on file, the licence and the
//! automatic check; the reviewer approves or returns it with reasons. The driver is told by
//! SMS.

use askama::Template;
use licence_api::PhotoSource;
use licence_core::application::TransitionError;
use licence_core::{ApplicationEvent, ApplicationState, Rejection, RejectionCode};

use super::picture::Pictures;
use super::queue::{
    after_decision, decision_form, figure, review_queue, Opened, Person, Posted, Queue, Row,
};
use super::{
    china_time, render, store, Console, Decision, DecisionForm, Figure, Layout, Page, Refusal,
    Reviewing,
};
use crate::now;
use crate::store::{Account, Application, AuditEntry, Effects, RegistryEntry, Store, StoreError};

const TITLE: &str = "电子驾驶证审核";

/// The reasons a reviewer can return an application for, in the order offered.
const RETURN_REASONS: [RejectionCode; 5] = [
    RejectionCode::PhotoNotCompliant,
    RejectionCode::PhotoNotThePerson,
    RejectionCode::LicenceNotEligible,
    RejectionCode::InformationMismatch,
    RejectionCode::Other,
];

/// The stored photo source in words; a spelling no `PhotoSource` has is shown as 其他.
fn photo_source_name(source: &str) -> &'static str {
    match source.parse() {
        Ok(PhotoSource::OnFile) => "档案照片",
        Ok(PhotoSource::Album) => "相册",
        Ok(PhotoSource::Camera) => "现场拍摄",
        Err(_) => "其他",
    }
}

/// The e-licence review desk: its queue (the nearest deadline first) and its pictures.
pub(super) struct ApplicationDesk;

review_queue!(ApplicationDesk: Application at "/console/applications", titled TITLE,
    links "open-application", columns ["审核期限", "姓名", "提交时间", "照片来源"],
    unknown NoSuchApplication, waiting first_waiting, summary desk_summary, one application,
    row queue_row, page show, decide decide);

/// The nearest deadlines first.
fn first_waiting(s: &dyn Store, limit: usize) -> Result<Vec<Application>, StoreError> {
    s.review_queue(limit)
}

/// What the team lead needs: waiting, overdue, reviewed today, and the share of today's
/// approvals the system made on its own.
fn desk_summary(s: &dyn Store) -> Result<Vec<(&'static str, String)>, StoreError> {
    let c = s.desk_counts(now(), super::start_of_today())?;
    let share = match c.approved_today {
        0 => "—".to_owned(),
        n => format!("{}%", c.approved_automatically_today * 100 / n),
    };
    Ok(vec![
        ("待审核", c.waiting.to_string()),
        ("其中超时", c.overdue.to_string()),
        ("今日人工审核", c.reviewed_today.to_string()),
        ("今日通过", c.approved_today.to_string()),
        (
            "其中自动通过",
            format!("{}（{share}）", c.approved_automatically_today),
        ),
    ])
}

/// An application as its desk's queue shows it; overdue ones are flagged (R3.4).
fn queue_row(app: Application, account: Option<Account>) -> Row {
    let overdue = app.due_at < now();
    let late = if overdue { "（已超时）" } else { "" };
    Row {
        cells: vec![
            format!("{}{late}", china_time(app.due_at)),
            account.map(|a| a.name).unwrap_or_default(),
            china_time(app.submitted_at),
            photo_source_name(&app.photo_source).to_owned(),
        ],
        href: format!("{}/{}", ApplicationDesk::PATH, app.id),
        overdue,
    }
}

/// One measurement of the check in words, with the bound the check applies (none: not for
/// people). The bounds are licence-photo's own constants, so the words cannot drift from it.
fn finding(key: &str, value: f64) -> Option<String> {
    use licence_photo::{spec, thresholds as t};
    let range = |r: &std::ops::RangeInclusive<u32>| format!("标准 {}–{}", r.start(), r.end());
    let (what, unit, bound) = match key {
        "head_length_px" => ("头部长度", "像素", range(&spec::HEAD_LENGTH)),
        "head_width_px" => ("头部宽度", "像素", range(&spec::HEAD_WIDTH)),
        "top_margin_px" => ("头顶距上边缘", "像素", range(&spec::TOP_MARGIN)),
        "centre_offset_px" => (
            "头部偏离中线",
            "像素",
            format!("不超过 {}", spec::MAX_CENTRE_OFFSET),
        ),
        "roll_degrees" => (
            "头部倾斜",
            "°",
            format!("不超过 {}°", spec::MAX_ROLL_DEGREES),
        ),
        "yaw_degrees" => (
            "脸部侧转",
            "°",
            format!("不超过 {}°", spec::MAX_YAW_DEGREES),
        ),
        "eye_opening_percent" => (
            "睁眼程度",
            "%",
            format!("不低于 {:.0}%", t::MIN_EYE_OPENING * 100.0),
        ),
        "eye_glare_percent" => (
            "眼部反光",
            "%",
            format!("不超过 {:.0}%", t::MAX_EYE_GLARE * 100.0),
        ),
        "lens_shade_percent" => (
            "镜片遮光",
            "%",
            format!("不低于 {:.0}%", t::MIN_LENS_SHADE * 100.0),
        ),
        "crown_cloth_percent" => (
            "头顶异色（帽子、头巾）",
            "%",
            format!("低于 {:.0}%", t::MAX_CROWN_CLOTH * 100.0),
        ),
        "brim_overhang_percent" => (
            "头顶两侧外伸（帽檐）",
            "%",
            format!("不超过 {:.0}%", t::MAX_BRIM_OVERHANG * 100.0),
        ),
        "background_luma" => ("背景亮度", "", format!("不低于 {}", t::BACKGROUND_MIN_LUMA)),
        "background_chroma" => (
            "背景色彩",
            "",
            format!("不超过 {}", t::BACKGROUND_MAX_CHROMA),
        ),
        "background_side_difference" => (
            "背景左右差异",
            "",
            format!("不超过 {}", t::BACKGROUND_MAX_SIDE_DIFFERENCE),
        ),
        "face_luma" => (
            "面部亮度",
            "",
            format!(
                "{}–{}；背景偏暗时不低于 {}",
                t::FACE_MIN_LUMA_ON_WHITE,
                t::FACE_MAX_LUMA,
                t::FACE_MIN_LUMA
            ),
        ),
        "sharpness" => ("清晰度", "", format!("不低于 {}", t::MIN_SHARPNESS)),
        _ => return None,
    };
    Some(format!("{what} {value:.0}{unit}（{bound}）"))
}

/// The automatic photo check as the reviewer reads it.
struct Check {
    compliant: bool,
    /// The findings in words, joined.
    measurements: String,
    problems: Vec<String>,
    /// What the automatic path did with a compliant photo, in words (empty: nothing yet).
    automatic: String,
}

impl Check {
    /// From the check's JSON (compliant, problems, measurements); none yet: not compliant.
    fn of(json: Option<&str>) -> Check {
        let check: serde_json::Value = json
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let problems = check["problems"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        // The findings in words, each with what the spec asks; what only a tool needs
        // (scale, spreads) is left out.
        let measurements = check["measurements"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| finding(k, v.as_f64()?))
                    .collect::<Vec<_>>()
                    .join("；")
            })
            .unwrap_or_default();
        Check {
            compliant: check["compliant"] == true,
            measurements,
            problems,
            automatic: check["automatic"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/application.html")]
struct ApplicationPage {
    layout: Layout,
    person: Person,
    licence: String,
    submitted: String,
    due: String,
    overdue: bool,
    source: &'static str,
    pictures: Vec<Figure>,
    on_file: Option<Figure>,
    check: Check,
    /// The form while the application is under review; where it stands otherwise.
    decision: Option<Decision>,
    decided: String,
}

fn licence_of(entry: Option<&RegistryEntry>) -> String {
    entry
        .and_then(|e| e.licence.as_ref())
        .map(|l| {
            format!(
                "准驾车型 {}，状态 {}，有效期限 {}",
                l.record().classes,
                l.record().status,
                l.record().validity
            )
        })
        .unwrap_or_else(|| "无驾驶证".into())
}

/// One application: the photo beside the photo on file, the automatic check's measurements
/// and problems, and the decision form.
fn show(opened: Opened<Application>, console: &Console<Reviewing>, id: i64) -> Page {
    let (app, entry) = (opened.item, opened.entry);
    let under_review = app.state == ApplicationState::UnderReview;
    let on_file = entry.as_ref().is_some_and(|e| e.photo.is_some());
    render(ApplicationPage {
        layout: console.layout(TITLE),
        person: opened.person,
        licence: licence_of(entry.as_ref()),
        submitted: china_time(app.submitted_at),
        due: china_time(app.due_at),
        overdue: app.due_at < now(),
        source: photo_source_name(&app.photo_source),
        pictures: vec![figure::<ApplicationDesk>(
            id,
            "photo",
            "申请照片",
            "申请照片（自动裁剪）",
        )],
        on_file: on_file.then(|| figure::<ApplicationDesk>(id, "on-file", "档案照片", "档案照片")),
        check: Check::of(app.check.as_deref()),
        decision: under_review.then(|| {
            let reasons = RETURN_REASONS.map(|c| (c.as_str().to_owned(), c.name_zh().to_owned()));
            let words = ["退回原因", "说明（选“其他”时必填）", "退回"];
            decision_form::<ApplicationDesk>(id, words, reasons.into())
        }),
        decided: format!("当前状态：{}", app.state.status().name_zh()),
    })
}

/// The pictures of an application: the `photo` (the server's crop once made) and the
/// registry's `on-file` photo.
impl Pictures for ApplicationDesk {
    fn picture(s: &dyn Store, app: Application, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(match name {
            "photo" => Some(app.cropped.unwrap_or(app.photo)),
            "on-file" => super::picture::on_file(s, app.account)?,
            _ => None,
        })
    }
}

/// What the reviewer decided, from the form.
fn event_of(form: &DecisionForm) -> Result<ApplicationEvent, Refusal> {
    match form.decision.as_str() {
        "approve" => Ok(ApplicationEvent::Approve),
        "reject" => {
            let code = form
                .reason
                .parse::<RejectionCode>()
                .map_err(|_| Refusal::ReturnWithoutReason)?;
            let note = form.note.trim();
            Ok(ApplicationEvent::Reject {
                reasons: vec![Rejection {
                    code,
                    note: (!note.is_empty()).then(|| note.to_owned()),
                }],
            })
        }
        _ => Err(Refusal::NoApplicationDecision),
    }
}

/// Approve, or return with a reason from the list plus a note; the driver is told by SMS.
async fn decide(posted: Posted) -> Page {
    let (state, console, id) = (&posted.state, &posted.console, posted.id);
    let event = event_of(&posted.form).map_err(|r| console.refuse(r))?;
    let app = store(state, move |s| s.application(id))
        .await?
        .ok_or_else(|| console.refuse(Refusal::NoSuchApplication))?;
    let to = app
        .state
        .apply(&event)
        .map_err(|e: TransitionError| console.refuse(Refusal::Transition(e)))?;
    let actor = console.actor();
    let account = store(state, move |s| s.account(app.account))
        .await?
        .ok_or_else(|| console.refuse(Refusal::NoSuchApplication))?;
    // The move, the driver's message (SMS through the durable outbox, and the inbox) and the
    // audit entry are one transaction: all stored or none.
    let effects = Effects {
        notice: Some(crate::application_result_notice(
            account.id,
            account.mobile,
            id,
            &to,
        )),
        audit: Some(AuditEntry {
            at: now(),
            actor: actor.clone(),
            action: "application_review".to_owned(),
            detail: format!(
                "application {id} of account {}: {}; sms queued",
                account.id,
                to.status()
            ),
        }),
    };
    let from = app.state.clone();
    let to_saved = to.clone();
    let moved = store(state, move |s| {
        s.transition(id, &from, &to_saved, &actor, None, &effects, now())
    })
    .await?;
    if !moved {
        return Err(console.refuse(Refusal::ApplicationDecided));
    }
    state.announce();
    after_decision::<ApplicationDesk>(state, console, &account.name, to.status().name_zh()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_return_names_a_reason_from_the_list() {
        assert!(matches!(
            event_of(&DecisionForm::of("approve", "", "")),
            Ok(ApplicationEvent::Approve)
        ));
        let Ok(ApplicationEvent::Reject { reasons }) =
            event_of(&DecisionForm::of("reject", "other", " 戴帽 "))
        else {
            panic!("a return")
        };
        assert_eq!(reasons[0].code, RejectionCode::Other);
        assert_eq!(reasons[0].note.as_deref(), Some("戴帽"));
        assert!(matches!(
            event_of(&DecisionForm::of("reject", "nonsense", "")),
            Err(Refusal::ReturnWithoutReason)
        ));
        assert!(matches!(
            event_of(&DecisionForm::of("", "", "")),
            Err(Refusal::NoApplicationDecision)
        ));
    }

    #[test]
    fn the_check_is_read_with_its_measurements_and_problems() {
        let check = Check::of(Some(
            r#"{"compliant":false,"problems":[{"message":"背景不是白色"}],"measurements":{"head_length_px":231,"scale":2.31,"roll_degrees":1.4}}"#,
        ));
        assert!(!check.compliant);
        assert_eq!(check.problems, ["背景不是白色"]);
        assert_eq!(
            check.measurements,
            "头部长度 231像素（标准 224–260）；头部倾斜 1°（不超过 8°）"
        );
        assert_eq!(check.automatic, "");
        assert!(!Check::of(None).compliant);
        let sampled = Check::of(Some(
            r#"{"compliant":true,"problems":[],"automatic":{"approved":false,"reason":"sampled","text":"被随机抽取人工复核"}}"#,
        ));
        assert_eq!(sampled.automatic, "被随机抽取人工复核");
    }
}
