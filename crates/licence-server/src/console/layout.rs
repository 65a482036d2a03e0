//! The layout every page shares: what `console/base.html` shows around a page (title, the
//! signed-in member of staff with the navigation their role may use, the result or error box),
//! and the pieces the review desks' pages share.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::{Administration, ConsoleError, Counter, Desk, Reviewing};
use crate::store::{StaffRole, StaffSession};

/// What the base layout shows around every page.
pub struct Layout {
    pub title: &'static str,
    /// The signed-in member of staff: the header's name and sign-out, and the navigation.
    pub viewer: Option<Viewer>,
    /// The outcome of what was just done, above the page.
    pub flash: Option<Flash>,
}

impl Layout {
    /// A page for someone not signed in.
    pub fn anonymous(title: &'static str) -> Layout {
        Layout {
            title,
            viewer: None,
            flash: None,
        }
    }

    pub fn with_flash(mut self, flash: Option<Flash>) -> Layout {
        self.flash = flash;
        self
    }

    /// This session's form token, for the hidden `csrf` field of every form.
    pub fn csrf(&self) -> &str {
        self.viewer.as_ref().map_or("", |v| v.csrf.as_str())
    }
}

/// Who is signed in, as the header and navigation show them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
    /// Only the pages this role may use: (address, text).
    pub nav: Vec<(&'static str, &'static str)>,
}

impl Viewer {
    pub(super) fn of(session: &StaffSession) -> Viewer {
        let role = session.staff.role;
        let mut nav = vec![("/console", "首页")];
        if Counter::open_to(role) {
            nav.extend([
                ("/console/persons", "窗口面签"),
                ("/console/units", "单位注册"),
            ]);
        }
        if Reviewing::open_to(role) {
            nav.extend([
                ("/console/applications", "电子驾驶证审核"),
                ("/console/reviews", "身份证人工审核"),
            ]);
        }
        if Administration::open_to(role) {
            nav.extend([
                ("/console/staff", "民警账号"),
                ("/console/audit", "操作日志"),
            ]);
        }
        Viewer {
            name: session.staff.name.clone(),
            role: role_name(role),
            csrf: session.csrf.clone(),
            nav,
        }
    }
}

/// The box above a page's content.
#[derive(Debug, Clone)]
pub enum Flash {
    /// It was done (`#result`).
    Done(String),
    /// It was refused, in Chinese and (where there is one) English (`#error`).
    Refused { zh: String, en: Option<String> },
    /// A form was refused: every problem found (`#error`).
    Problems(Vec<String>),
}

/// What a page handler answers.
pub(super) type Page = Result<Html<String>, ConsoleError>;
/// What a handler answers that may also send a status or headers of its own.
pub(super) type Answer = Result<Response, ConsoleError>;

/// A refused form shown again (422).
pub(super) fn unprocessable(page: Page) -> Answer {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page?).into_response())
}

/// Renders a page.
pub(super) fn render(page: impl Template) -> Page {
    Ok(Html(page.render()?))
}

pub(super) fn role_name(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Clerk => "窗口民警",
        StaffRole::Reviewer => "审核民警",
        StaffRole::Admin => "管理员",
        StaffRole::Officer => "执勤民警",
    }
}

/// The decision form of a review desk (`console/decision.html`).
pub struct Decision {
    pub action: String,
    pub reason_label: &'static str,
    pub note_label: &'static str,
    pub reject_label: &'static str,
    /// (code, text) of each reason a rejection can give.
    pub reasons: Vec<(String, String)>,
}

/// A picture beside a review (`console/pictures.html`).
pub struct Figure {
    pub src: String,
    pub alt: &'static str,
    pub caption: &'static str,
}

/// After a decision: what was decided, and the way back to the queue.
#[derive(Template)]
#[template(path = "console/decided.html")]
pub(super) struct Decided {
    pub layout: Layout,
    /// The next item waiting, if any.
    pub next: Option<String>,
    pub back: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKUP: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";

    #[test]
    fn problems_are_listed_escaped() {
        let page = Decided {
            layout: Layout::anonymous("无法完成")
                .with_flash(Some(Flash::Problems(vec![MARKUP.into(), "第二".into()]))),
            next: None,
            back: "/console/reviews",
        }
        .render()
        .unwrap();
        assert!(page.contains("<div class=error id=error><ul><li>&#60;script&#62;"));
        assert!(page.contains("<li>第二</li></ul></div>"), "{page}");
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn the_navigation_shows_only_what_the_role_may_use() {
        let session = |role| StaffSession {
            staff: crate::store::Staff {
                id: 1,
                username: "u".into(),
                name: "王警官".into(),
                role,
                password_hash: String::new(),
            },
            csrf: "t".into(),
            expires_at: 0,
        };
        let links = |role| {
            Viewer::of(&session(role))
                .nav
                .iter()
                .map(|(href, _)| *href)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            links(StaffRole::Clerk),
            ["/console", "/console/persons", "/console/units"]
        );
        assert_eq!(
            links(StaffRole::Reviewer),
            ["/console", "/console/applications", "/console/reviews"]
        );
        assert_eq!(links(StaffRole::Admin).len(), 7);
        assert_eq!(links(StaffRole::Officer), ["/console"]);
    }
}
