//! 消息: the in-app inbox (R3.5). An open app long-polls and hears a review result within a
//! second of the decision; an app started later reads what it missed.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{with_store, SignedInAccount};
use crate::error::{ApiError, ApiJson};
use crate::store::InboxMessage;
use crate::{now, AppState};

/// The longest a long-poll waits before answering with nothing new.
const MAX_WAIT_SECONDS: u64 = 30;
const PAGE: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
pub struct InboxQuery {
    /// Only messages with a larger id (the last one the app has).
    #[serde(default)]
    pub after: i64,
    /// Seconds to wait for a new message when there is none yet (0-30).
    #[serde(default)]
    pub wait: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxMessageView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub created_at: i64,
    pub read: bool,
}

impl InboxMessageView {
    fn of(m: &InboxMessage) -> Self {
        InboxMessageView {
            id: m.id,
            title: m.title.clone(),
            body: m.body.clone(),
            created_at: m.created_at,
            read: m.read_at.is_some(),
        }
    }
}

/// The account's messages after `after`; with `wait`, a long-poll that answers as soon as one
/// arrives.
#[utoipa::path(get, path = "/api/v1/me/inbox", params(InboxQuery), security(("session" = [])),
    responses((status = 200, body = [InboxMessageView])))]
pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    Query(query): Query<InboxQuery>,
) -> Result<ApiJson<Vec<InboxMessageView>>, ApiError> {
    let account = signed_in.account.id;
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(query.wait.min(MAX_WAIT_SECONDS));
    // Subscribe before looking, so that a message added in between is not missed.
    let mut changes = state.inbox.subscribe();
    loop {
        let after = query.after;
        let messages = with_store(&state, move |s| s.inbox(account, after, PAGE)).await?;
        if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(ApiJson(messages.iter().map(InboxMessageView::of).collect()));
        }
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return Ok(ApiJson(Vec::new()));
        }
    }
}

/// Mark a message read.
#[utoipa::path(post, path = "/api/v1/me/inbox/{id}/read", security(("session" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let account = signed_in.account.id;
    if with_store(&state, move |s| s.mark_read(account, id, now())).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "message_not_found",
            "没有这条消息",
            "There is no such message of yours",
        ))
    }
}
