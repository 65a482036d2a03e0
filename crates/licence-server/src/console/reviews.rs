//! 身份证人工审核 (R2.6): when the face check keeps failing, a person sends photographs of the
//! ID card; a reviewer compares them with the photo on file and approves (the account becomes
//! face-signed by manual review) or rejects with a reason. The person is told by SMS.

use askama::Template;
use licence_core::FaceSignChannel;

use super::picture::Pictures;
use super::queue::{
    after_decision, decision_form, figure, review_queue, Opened, Person, Posted, Queue, Row,
};
use super::{
    china_time, render, store, Console, Decision, DecisionForm, Figure, Layout, Page, Refusal,
    Reviewing,
};
use crate::now;
use crate::store::{
    Account, AuditEntry, Effects, IdCardReview, KindUpgrade, Notice, ReviewState, Store, StoreError,
};

const TITLE: &str = "身份证人工审核";

/// Reasons a reviewer can give for rejecting ID card photographs.
const REJECT_REASONS: [(&str, &str); 5] = [
    ("unclear", "照片模糊或反光，无法辨认证件信息"),
    ("incomplete", "证件未完整拍摄（四角须完整可见）"),
    ("mismatch", "证件信息与注册信息不一致"),
    ("expired", "身份证已过期或有效期限填写有误"),
    ("not_original", "疑似翻拍、复印件或非原件"),
];

/// The ID-card review desk: its queue and its pictures.
pub(super) struct IdCardDesk;

review_queue!(IdCardDesk: IdCardReview at "/console/reviews", titled TITLE,
    links "open-review", columns ["提交时间", "姓名", "身份证号"],
    unknown NoSuchReview, waiting pending, summary summary, one review, row queue_row,
    page show, decide decide);

/// Every pending review, whatever the limit: they are few (only online registrants whose
/// face check failed), and the desk has always listed them all.
fn pending(s: &dyn Store, _limit: usize) -> Result<Vec<IdCardReview>, StoreError> {
    s.pending_reviews()
}

fn summary(s: &dyn Store) -> Result<Vec<(&'static str, String)>, StoreError> {
    Ok(vec![("待审核", s.pending_reviews()?.len().to_string())])
}

/// An ID-card review as its desk's queue shows it (the ID number masked).
fn queue_row(review: IdCardReview, account: Option<Account>) -> Row {
    let id_number = account
        .as_ref()
        .and_then(|a| a.id_number.map(|id| id.masked()));
    Row {
        cells: vec![
            china_time(review.submitted_at),
            account.map(|a| a.name).unwrap_or_default(),
            id_number.unwrap_or_default(),
        ],
        href: format!("{}/{}", IdCardDesk::PATH, review.id),
        overdue: false,
    }
}

#[derive(Template)]
#[template(path = "console/review.html")]
struct ReviewPage {
    layout: Layout,
    person: Person,
    validity: String,
    submitted: String,
    pictures: Vec<Figure>,
    on_file: Option<Figure>,
    /// The form while the review waits; what was decided once it is done.
    decision: Option<Decision>,
    decided: String,
}

/// One ID-card review: both sides of the card beside the photo on file, and the decision form.
fn show(opened: Opened<IdCardReview>, console: &Console<Reviewing>, id: i64) -> Page {
    let review = opened.item;
    let on_file = opened.entry.is_some_and(|e| e.photo.is_some());
    let pending = review.state == ReviewState::Pending;
    let figure = |picture: &str, caption| figure::<IdCardDesk>(id, picture, caption, caption);
    render(ReviewPage {
        layout: console.layout(TITLE),
        person: opened.person,
        validity: review.validity.to_string(),
        submitted: china_time(review.submitted_at),
        pictures: vec![figure("front", "人像面"), figure("back", "国徽面")],
        on_file: on_file.then(|| figure("on-file", "档案照片")),
        decision: pending.then(|| {
            decision_form::<IdCardDesk>(
                id,
                ["不通过原因", "补充说明", "不予通过"],
                REJECT_REASONS
                    .iter()
                    .map(|(code, text)| ((*code).to_owned(), (*text).to_owned()))
                    .collect(),
            )
        }),
        decided: format!(
            "已处理：{}{}",
            review.state.as_str(),
            review
                .reason
                .as_deref()
                .map(|r| format!("（{r}）"))
                .unwrap_or_default()
        ),
    })
}

/// The pictures of a review: `front`, `back` and the registry's `on-file` photo.
impl Pictures for IdCardDesk {
    fn picture(
        s: &dyn Store,
        review: IdCardReview,
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(match name {
            "front" => Some(review.front),
            "back" => Some(review.back),
            "on-file" => super::picture::on_file(s, review.account)?,
            _ => None,
        })
    }
}

/// What the reviewer decided, from the form.
fn decision_of(form: &DecisionForm) -> Result<(ReviewState, Option<String>), Refusal> {
    let note = form.note.trim().chars().take(200).collect::<String>();
    match form.decision.as_str() {
        "approve" => Ok((ReviewState::Approved, None)),
        "reject" => {
            let (_, text) = REJECT_REASONS
                .iter()
                .find(|(code, _)| *code == form.reason)
                .ok_or(Refusal::RejectWithoutReason)?;
            let reason = if note.is_empty() {
                (*text).to_owned()
            } else {
                format!("{text}；{note}")
            };
            Ok((ReviewState::Rejected, Some(reason)))
        }
        _ => Err(Refusal::NoReviewDecision),
    }
}

/// Approve (the account becomes face-signed) or reject with a reason; the person is told
/// by SMS either way.
async fn decide(posted: Posted) -> Page {
    let decision = decision_of(&posted.form);
    let (state, console, id) = (posted.state, posted.console, posted.id);
    let (state_after, reason) = decision.map_err(|r| console.refuse(r))?;
    let actor = console.actor();
    let found = store(&state, move |s| {
        let Some(review) = s.review(id)? else {
            return Ok(None);
        };
        let account = s.account(review.account)?;
        Ok(Some((review, account)))
    })
    .await?;
    let (review, account) = match found {
        Some((review, Some(account))) => (review, account),
        Some((_, None)) | None => return Err(console.refuse(Refusal::NoSuchReview)),
    };
    let text = match &reason {
        None => "【交管12123】您提交的身份证照片已审核通过，您已成为面签用户，可办理驾驶证电子版等全部业务。".to_owned(),
        Some(r) => format!("【交管12123】您提交的身份证照片未通过审核：{r}。请重新拍摄后提交。"),
    };
    // The approval makes the account face-signed (R2.4), if it still is what was read here.
    let upgrade = (state_after == ReviewState::Approved)
        .then(|| account.kind.face_sign(FaceSignChannel::ManualIdReview).ok())
        .flatten()
        .map(|to| KindUpgrade {
            from: account.kind,
            to,
            id_card_validity: review.validity,
        });
    // The decision, the upgrade, the person's message (SMS through the durable outbox, and
    // the inbox) and the audit entry are one transaction: all stored or none.
    let effects = Effects {
        notice: Some(Notice {
            account: account.id,
            to: account.mobile,
            event_key: format!("id_card_review:{}:{}", review.id, state_after.as_str()),
            title: "实人认证审核结果".to_owned(),
            text,
        }),
        audit: Some(AuditEntry {
            at: now(),
            actor: actor.clone(),
            action: "id_card_review".to_owned(),
            detail: format!(
                "review {} of account {}: {}{}; sms queued",
                review.id,
                account.id,
                state_after.as_str(),
                reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
            ),
        }),
    };
    let decided = store(&state, move |s| {
        s.decide_review(
            id,
            state_after,
            reason.as_deref(),
            &actor,
            upgrade,
            &effects,
            now(),
        )
    })
    .await?;
    if !decided {
        return Err(console.refuse(Refusal::ReviewDecided));
    }
    state.announce();
    let outcome = if state_after == ReviewState::Approved {
        "已审核通过"
    } else {
        "未予通过"
    };
    after_decision::<IdCardDesk>(&state, &console, &account.name, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_a_listed_reason_and_keeps_the_note() {
        assert_eq!(
            decision_of(&DecisionForm::of("approve", "", "")).unwrap(),
            (ReviewState::Approved, None)
        );
        let (state, reason) =
            decision_of(&DecisionForm::of("reject", "unclear", " 反光 ")).unwrap();
        assert_eq!(state, ReviewState::Rejected);
        assert_eq!(reason.unwrap(), "照片模糊或反光，无法辨认证件信息；反光");
        // A rejection without a reason, and no decision at all.
        let refused = [("reject", ""), ("maybe", "")]
            .map(|(decision, reason)| decision_of(&DecisionForm::of(decision, reason, "")));
        assert!(
            matches!(
                refused,
                [
                    Err(Refusal::RejectWithoutReason),
                    Err(Refusal::NoReviewDecision)
                ]
            ),
            "{refused:?}"
        );
    }
}
