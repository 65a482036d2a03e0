//! 操作日志: every staff action is recorded with who, when and what (ID numbers masked); the
//! administrator reads the newest 200.

use askama::Template;
use axum::extract::State;

use super::{china_time, render, store, Administration, Console, ConsoleError, Layout, Page};
use crate::store::AuditEntry;
use crate::{now, AppState};

/// Records a staff action.
pub(super) async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    detail: String,
) -> Result<(), ConsoleError> {
    let entry = AuditEntry {
        at: now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        detail,
    };
    store(state, move |s| s.audit(&entry)).await
}

/// One line of the log as shown.
struct Line {
    at: String,
    entry: AuditEntry,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    layout: Layout,
    lines: Vec<Line>,
}

pub(super) async fn page(State(state): State<AppState>, console: Console<Administration>) -> Page {
    let entries = store(&state, |s| s.audit_log(200)).await?;
    render(AuditPage {
        layout: console.layout("操作日志"),
        lines: entries
            .into_iter()
            .map(|entry| Line {
                at: china_time(entry.at),
                entry,
            })
            .collect(),
    })
}
