//! 身份证人工审核 (R2.6): when the face check keeps failing, a person sends photographs of the
//! ID card; a reviewer compares them with the photo on file and approves (the account becomes
//! face-signed by manual review) or rejects with a reason. The person is told by SMS.

use askama::Template;
use axum::extract::{Path, State};
use licence_core::FaceSignChannel;

use super::picture::Pictures;
use super::queue::{after_decision, figure, open, Opened, Person, Queue, Row};
use super::{
    audit, china_time, render, store, Console, Decision, DecisionForm, Figure, Layout, Page,
    Refusal, Reviewing, Submitted,
};
use crate::store::{Account, AccountId, IdCardReview, ReviewState, Store, StoreError};
use crate::{now, AppState};

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

impl Queue for IdCardDesk {
    type Item = IdCardReview;
    const TITLE: &'static str = TITLE;
    const PATH: &'static str = "/console/reviews";
    const TABLE_ID: &'static str = "queue";
    const LINK_CLASS: &'static str = "open-review";
    const HEADINGS: &'static [&'static str] = &["提交时间", "姓名", "身份证号"];
    const MISSING: Refusal = Refusal::NoSuchReview;

    fn waiting(s: &dyn Store) -> Result<Vec<IdCardReview>, StoreError> {
        s.pending_reviews()
    }

    fn find(s: &dyn Store, id: i64) -> Result<Option<IdCardReview>, StoreError> {
        s.review(id)
    }

    fn account_of(review: &IdCardReview) -> AccountId {
        review.account
    }

    fn row(review: IdCardReview, account: Option<Account>) -> Row {
        let id_number = account
            .as_ref()
            .and_then(|a| a.id_number.map(|id| id.masked()));
        Row {
            cells: vec![
                china_time(review.submitted_at),
                account.map(|a| a.name).unwrap_or_default(),
                id_number.unwrap_or_default(),
            ],
            href: format!("{}/{}", Self::PATH, review.id),
            overdue: false,
        }
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

pub(super) async fn page(
    State(state): State<AppState>,
    console: Console<Reviewing>,
    Path(id): Path<i64>,
) -> Page {
    let Opened {
        item: review,
        person,
        entry,
    } = open::<IdCardDesk>(&state, &console, id).await?;
    let on_file = entry.is_some_and(|e| e.photo.is_some());
    let pending = review.state == ReviewState::Pending;
    let figure = |picture: &str, caption| figure::<IdCardDesk>(id, picture, caption, caption);
    render(ReviewPage {
        layout: console.layout(TITLE),
        person,
        validity: review.validity.to_string(),
        submitted: china_time(review.submitted_at),
        pictures: vec![figure("front", "人像面"), figure("back", "国徽面")],
        on_file: on_file.then(|| figure("on-file", "档案照片")),
        decision: pending.then(|| Decision {
            action: format!("{}/{id}", IdCardDesk::PATH),
            reason_label: "不通过原因",
            note_label: "补充说明",
            reject_label: "不予通过",
            reasons: REJECT_REASONS
                .iter()
                .map(|(code, text)| ((*code).to_owned(), (*text).to_owned()))
                .collect(),
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
pub(super) async fn decide(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Submitted { console, form }: Submitted<Reviewing, DecisionForm>,
) -> Page {
    let (state_after, reason) = decision_of(&form).map_err(|r| console.refuse(r))?;
    let actor = console.actor();
    let (by, why) = (actor.clone(), reason.clone());
    let decided = store(&state, move |s| {
        let Some(review) = s.review(id)? else {
            return Ok(None);
        };
        if !s.decide_review(id, state_after, why.as_deref(), &by, now())? {
            return Ok(Some((review, None)));
        }
        let account = s.account(review.account)?;
        if state_after == ReviewState::Approved {
            if let Some(a) = &account {
                if let Ok(kind) = a.kind.face_sign(FaceSignChannel::ManualIdReview) {
                    s.set_account_kind(a.id, kind, Some(review.validity))?;
                }
            }
        }
        Ok(Some((review, account)))
    })
    .await?;
    let (review, account) = match decided {
        Some((review, Some(account))) => (review, account),
        Some((_, None)) => return Err(console.refuse(Refusal::ReviewDecided)),
        None => return Err(console.refuse(Refusal::NoSuchReview)),
    };
    let text = match &reason {
        None => "【交管12123】您提交的身份证照片已审核通过，您已成为面签用户，可办理驾驶证电子版等全部业务。".to_owned(),
        Some(r) => format!("【交管12123】您提交的身份证照片未通过审核：{r}。请重新拍摄后提交。"),
    };
    // Told by SMS through the durable outbox: sent once, retried while the gateway fails.
    let event = format!("id_card_review:{}:{}", review.id, state_after.as_str());
    state
        .notify(account.id, account.mobile, event, "实人认证审核结果", text)
        .await?;
    let detail = format!(
        "review {} of account {}: {}{}; sms queued",
        review.id,
        account.id,
        state_after.as_str(),
        reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
    );
    audit::record(&state, &actor, "id_card_review", detail).await?;
    let outcome = if state_after == ReviewState::Approved {
        "已审核通过"
    } else {
        "未予通过"
    };
    after_decision::<IdCardDesk>(&console, &account.name, outcome)
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
        assert!(matches!(
            decision_of(&DecisionForm::of("reject", "", "")),
            Err(Refusal::RejectWithoutReason)
        ));
        assert!(matches!(
            decision_of(&DecisionForm::of("maybe", "", "")),
            Err(Refusal::NoReviewDecision)
        ));
    }
}
