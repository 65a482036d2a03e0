//! The e-licence application (驾驶证电子版申领) and its lifecycle (R3.4).
//!
//! ```text
//! Draft ──submit──► Submitted ──start_review──► UnderReview ──approve──► Approved ──issue──► Issued
//!                     ▲   │                        │
//!                     │   └───────reject───────────┴──► Rejected ──submit (resubmission)──┘
//! Draft, Submitted, UnderReview, Rejected ──withdraw──► Withdrawn
//! ```
//! Submitted can be rejected before review because the platform re-checks the photo
//! automatically; Issued and Withdrawn are final.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Problem;

/// Where an application stands: the state without its data, for storage and queries.
/// serde and strum spell it alike (`under_review`); a test keeps them so.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    UnderReview,
    Approved,
    Rejected,
    Issued,
    Withdrawn,
}

impl ApplicationStatus {
    pub fn name_zh(self) -> &'static str {
        match self {
            ApplicationStatus::Draft => "草稿",
            ApplicationStatus::Submitted => "已提交",
            ApplicationStatus::UnderReview => "审核中",
            ApplicationStatus::Approved => "审核通过",
            ApplicationStatus::Rejected => "审核未通过",
            ApplicationStatus::Issued => "已发放",
            ApplicationStatus::Withdrawn => "已撤回",
        }
    }

    /// The stable name (`under_review` …).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Issued | ApplicationStatus::Withdrawn
        )
    }
}

/// The reviewer's reasons to choose from (plus free text).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RejectionCode {
    /// 照片不符合要求
    PhotoNotCompliant,
    /// 照片与本人不符
    PhotoNotThePerson,
    /// 驾驶证状态不允许申领
    LicenceNotEligible,
    /// 信息与登记不一致
    InformationMismatch,
    /// 其他 (a note is required)
    Other,
}

impl RejectionCode {
    /// The stable code (`photo_not_compliant` …).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RejectionCode::PhotoNotCompliant => "照片不符合要求",
            RejectionCode::PhotoNotThePerson => "照片与本人不符",
            RejectionCode::LicenceNotEligible => "驾驶证状态不允许申领",
            RejectionCode::InformationMismatch => "信息与登记不一致",
            RejectionCode::Other => "其他",
        }
    }
}

/// One reason for a rejection, with the reviewer's note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: RejectionCode,
    pub note: Option<String>,
}

/// An application's state, with the rejection reasons while rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ApplicationState {
    Draft,
    Submitted,
    UnderReview,
    Approved,
    Rejected { reasons: Vec<Rejection> },
    Issued,
    Withdrawn,
}

/// What can happen to an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApplicationEvent {
    /// The driver submits (or resubmits after a rejection).
    Submit,
    /// A reviewer takes it.
    StartReview,
    Approve,
    Reject {
        reasons: Vec<Rejection>,
    },
    /// The signed credential is made available to the app.
    Issue,
    /// The driver withdraws it.
    Withdraw,
}

/// An event without its data, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Submit,
    StartReview,
    Approve,
    Reject,
    Issue,
    Withdraw,
}

impl EventKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            EventKind::Submit => "提交",
            EventKind::StartReview => "开始审核",
            EventKind::Approve => "审核通过",
            EventKind::Reject => "退回",
            EventKind::Issue => "发放",
            EventKind::Withdraw => "撤回",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventKind::Submit => "submit",
            EventKind::StartReview => "start review",
            EventKind::Approve => "approve",
            EventKind::Reject => "reject",
            EventKind::Issue => "issue",
            EventKind::Withdraw => "withdraw",
        })
    }
}

impl ApplicationEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            ApplicationEvent::Submit => EventKind::Submit,
            ApplicationEvent::StartReview => EventKind::StartReview,
            ApplicationEvent::Approve => EventKind::Approve,
            ApplicationEvent::Reject { .. } => EventKind::Reject,
            ApplicationEvent::Issue => EventKind::Issue,
            ApplicationEvent::Withdraw => EventKind::Withdraw,
        }
    }
}

/// Longest note a reviewer may attach to one reason.
pub const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("An application that is {from} cannot {event}")]
    Illegal {
        from: ApplicationStatus,
        event: EventKind,
    },
    #[error("A rejection needs at least one reason")]
    NoReason,
    #[error("The reason 'other' needs a note that says what is wrong")]
    OtherWithoutNote,
    #[error("A reviewer's note is at most {MAX_NOTE_CHARS} characters")]
    NoteTooLong,
}

impl Problem for TransitionError {
    fn code(&self) -> &'static str {
        match self {
            TransitionError::Illegal { .. } => "application_illegal_transition",
            TransitionError::NoReason => "rejection_without_reason",
            TransitionError::OtherWithoutNote => "rejection_other_without_note",
            TransitionError::NoteTooLong => "rejection_note_too_long",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            TransitionError::Illegal { from, event } => {
                format!("申请当前为“{}”，不能{}", from.name_zh(), event.name_zh())
            }
            TransitionError::NoReason => "退回申请须至少选择一项原因".into(),
            TransitionError::OtherWithoutNote => "选择“其他”原因时须填写说明".into(),
            TransitionError::NoteTooLong => format!("说明最多{MAX_NOTE_CHARS}个字"),
        }
    }
}

fn check_reasons(reasons: &[Rejection]) -> Result<(), TransitionError> {
    if reasons.is_empty() {
        return Err(TransitionError::NoReason);
    }
    for r in reasons {
        let note = r.note.as_deref().map(str::trim).unwrap_or("");
        if r.code == RejectionCode::Other && note.is_empty() {
            return Err(TransitionError::OtherWithoutNote);
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(TransitionError::NoteTooLong);
        }
    }
    Ok(())
}

impl ApplicationState {
    pub fn status(&self) -> ApplicationStatus {
        match self {
            ApplicationState::Draft => ApplicationStatus::Draft,
            ApplicationState::Submitted => ApplicationStatus::Submitted,
            ApplicationState::UnderReview => ApplicationStatus::UnderReview,
            ApplicationState::Approved => ApplicationStatus::Approved,
            ApplicationState::Rejected { .. } => ApplicationStatus::Rejected,
            ApplicationState::Issued => ApplicationStatus::Issued,
            ApplicationState::Withdrawn => ApplicationStatus::Withdrawn,
        }
    }

    /// The state after `event`, or why it cannot happen. Never panics.
    pub fn apply(&self, event: &ApplicationEvent) -> Result<ApplicationState, TransitionError> {
        use ApplicationEvent as E;
        use ApplicationState as S;
        Ok(match (self, event) {
            (S::Draft | S::Rejected { .. }, E::Submit) => S::Submitted,
            (S::Submitted, E::StartReview) => S::UnderReview,
            (S::UnderReview, E::Approve) => S::Approved,
            (S::Submitted | S::UnderReview, E::Reject { reasons }) => {
                check_reasons(reasons)?;
                S::Rejected {
                    reasons: reasons.clone(),
                }
            }
            (S::Approved, E::Issue) => S::Issued,
            (S::Draft | S::Submitted | S::UnderReview | S::Rejected { .. }, E::Withdraw) => {
                S::Withdrawn
            }
            (from, event) => {
                return Err(TransitionError::Illegal {
                    from: from.status(),
                    event: event.kind(),
                })
            }
        })
    }
}

/// How many reviews may reject a driver's applications before the next must be made at a
/// counter (审核不通过 3 次, 须到窗口办理). A licence issued starts the count again.
pub const MAX_REJECTED_REVIEWS: u32 = 3;

/// The photo on the licence may be changed once in this many months (照片 6 个月内只能更换一次).
pub const PHOTO_CHANGE_MONTHS: u8 = 6;

/// What the service's rules look at in a driver's past applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplicantRecord {
    /// Rejections by a reviewer since the last issued e-licence (the automatic photo check's
    /// refusals say what to fix and are not counted).
    pub rejected_reviews: u32,
    /// The day (China time) an e-licence with a photo of the driver's own was last issued.
    pub photo_changed_on: Option<time::Date>,
}

/// Why a driver may not apply (or resubmit) online now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationRefusal {
    #[error("Your applications were rejected {rejected} times: apply at a vehicle management office counter with your ID card")]
    GoToCounter { rejected: u32 },
    #[error("The licence photo was changed on {changed_on}; it can be changed again from {next_on}. Apply with the photo on file, or wait")]
    PhotoChangedRecently {
        changed_on: time::Date,
        next_on: time::Date,
    },
}

impl Problem for ApplicationRefusal {
    fn code(&self) -> &'static str {
        match self {
            ApplicationRefusal::GoToCounter { .. } => "apply_at_counter",
            ApplicationRefusal::PhotoChangedRecently { .. } => "photo_changed_recently",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ApplicationRefusal::GoToCounter { rejected } => format!(
                "您的申请已{rejected}次审核未通过，不能再在线申请，请携带身份证到车管所窗口办理"
            ),
            ApplicationRefusal::PhotoChangedRecently { changed_on, next_on } => format!(
                "驾驶证照片6个月内只能更换一次（上次更换于{changed_on}），请使用档案照片申领，或于{next_on}以后再更换"
            ),
        }
    }
}

impl ApplicantRecord {
    /// Whether the driver may apply online on `today`, with a photo of their own
    /// (`own_photo`) or the one on file.
    pub fn may_apply(&self, own_photo: bool, today: time::Date) -> Result<(), ApplicationRefusal> {
        if self.rejected_reviews >= MAX_REJECTED_REVIEWS {
            return Err(ApplicationRefusal::GoToCounter {
                rejected: self.rejected_reviews,
            });
        }
        if let (true, Some(changed_on)) = (own_photo, self.photo_changed_on) {
            let next_on = crate::calendar::add_months(changed_on, i32::from(PHOTO_CHANGE_MONTHS));
            if today < next_on {
                return Err(ApplicationRefusal::PhotoChangedRecently {
                    changed_on,
                    next_on,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationEvent as E;
    use ApplicationState as S;

    fn reject(code: RejectionCode, note: Option<&str>) -> E {
        E::Reject {
            reasons: vec![Rejection {
                code,
                note: note.map(Into::into),
            }],
        }
    }

    fn run(events: &[E]) -> Result<S, TransitionError> {
        events.iter().try_fold(S::Draft, |s, e| s.apply(e))
    }

    #[test]
    fn the_happy_path_ends_issued() {
        let s = run(&[E::Submit, E::StartReview, E::Approve, E::Issue]).unwrap();
        assert_eq!(s, S::Issued);
        assert!(s.status().is_final());
    }

    #[test]
    fn a_rejected_application_keeps_its_reasons_and_can_be_resubmitted() {
        let rejected = run(&[
            E::Submit,
            E::StartReview,
            reject(RejectionCode::PhotoNotCompliant, Some("背景不是白色")),
        ])
        .unwrap();
        match &rejected {
            S::Rejected { reasons } => assert_eq!(reasons[0].note.as_deref(), Some("背景不是白色")),
            other => panic!("{other:?}"),
        }
        assert_eq!(rejected.apply(&E::Submit).unwrap(), S::Submitted);
        assert_eq!(rejected.apply(&E::Withdraw).unwrap(), S::Withdrawn);
    }

    #[test]
    fn the_automatic_photo_recheck_may_reject_before_review() {
        assert!(matches!(
            run(&[E::Submit, reject(RejectionCode::PhotoNotCompliant, None)]),
            Ok(S::Rejected { .. })
        ));
    }

    #[test]
    fn withdrawal_is_possible_until_a_decision_is_final() {
        for prefix in [&[][..], &[E::Submit], &[E::Submit, E::StartReview]] {
            let s = run(prefix).unwrap().apply(&E::Withdraw).unwrap();
            assert_eq!(s, S::Withdrawn);
        }
        let approved = run(&[E::Submit, E::StartReview, E::Approve]).unwrap();
        assert_eq!(
            approved.apply(&E::Withdraw).unwrap_err(),
            TransitionError::Illegal {
                from: ApplicationStatus::Approved,
                event: EventKind::Withdraw
            }
        );
    }

    #[test]
    fn every_illegal_transition_is_an_error_not_a_panic() {
        let states = [
            S::Draft,
            S::Submitted,
            S::UnderReview,
            S::Approved,
            S::Rejected {
                reasons: vec![Rejection {
                    code: RejectionCode::Other,
                    note: Some("x".into()),
                }],
            },
            S::Issued,
            S::Withdrawn,
        ];
        let events = [
            E::Submit,
            E::StartReview,
            E::Approve,
            reject(RejectionCode::PhotoNotCompliant, None),
            E::Issue,
            E::Withdraw,
        ];
        let mut legal = 0;
        for s in &states {
            for e in &events {
                match s.apply(e) {
                    Ok(_) => legal += 1,
                    Err(err) => {
                        assert_eq!(err.code(), "application_illegal_transition", "{s:?} {e:?}")
                    }
                }
            }
        }
        // Draft: submit, withdraw; Submitted: start_review, reject, withdraw;
        // UnderReview: approve, reject, withdraw; Approved: issue; Rejected: submit, withdraw.
        assert_eq!(legal, 11);
        assert_eq!(
            S::Issued.apply(&E::Submit).unwrap_err().message_zh(),
            "申请当前为“已发放”，不能提交"
        );
    }

    #[test]
    fn rejections_need_valid_reasons() {
        let s = run(&[E::Submit, E::StartReview]).unwrap();
        assert_eq!(
            s.apply(&E::Reject { reasons: vec![] }).unwrap_err(),
            TransitionError::NoReason
        );
        assert_eq!(
            s.apply(&reject(RejectionCode::Other, Some("  ")))
                .unwrap_err(),
            TransitionError::OtherWithoutNote
        );
        let long = "很".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            s.apply(&reject(RejectionCode::PhotoNotThePerson, Some(&long)))
                .unwrap_err()
                .code(),
            "rejection_note_too_long"
        );
        assert!(s
            .apply(&reject(RejectionCode::Other, Some("证件照片模糊")))
            .is_ok());
    }

    #[test]
    fn state_serialises_with_a_status_tag() {
        let json = serde_json::to_string(&S::UnderReview).unwrap();
        assert_eq!(json, r#"{"status":"under_review"}"#);
        assert_eq!(ApplicationStatus::UnderReview.to_string(), "under_review");
    }
    #[test]
    fn a_fourth_application_after_three_rejected_reviews_goes_to_a_counter() {
        use time::macros::date;
        let today = date!(2026 - 12 - 05);
        let record = |rejected_reviews| ApplicantRecord {
            rejected_reviews,
            photo_changed_on: None,
        };
        assert_eq!(record(2).may_apply(true, today), Ok(()));
        let refused = record(3).may_apply(false, today).unwrap_err();
        assert_eq!(refused, ApplicationRefusal::GoToCounter { rejected: 3 });
        assert_eq!(refused.code(), "apply_at_counter");
        assert!(
            refused.message_zh().contains("窗口"),
            "{}",
            refused.message_zh()
        );
    }

    #[test]
    fn the_photo_changes_once_in_six_months_and_the_photo_on_file_is_always_allowed() {
        use time::macros::date;
        let record = ApplicantRecord {
            rejected_reviews: 0,
            photo_changed_on: Some(date!(2026 - 08 - 31)),
        };
        let refused = record.may_apply(true, date!(2027 - 02 - 27)).unwrap_err();
        assert_eq!(
            refused,
            ApplicationRefusal::PhotoChangedRecently {
                changed_on: date!(2026 - 08 - 31),
                // Six months after 31 August: February has no 31st.
                next_on: date!(2027 - 02 - 28),
            }
        );
        assert!(refused.message_zh().contains("2027-02-28"));
        assert_eq!(record.may_apply(true, date!(2027 - 02 - 28)), Ok(()));
        assert_eq!(record.may_apply(false, date!(2026 - 09 - 01)), Ok(()));
    }
}
