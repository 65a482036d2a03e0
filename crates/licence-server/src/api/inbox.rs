//! 消息: the in-app inbox (R3.5). An open app long-polls and hears a review result within a
//! second of the decision; an app started later reads what it missed.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use licence_api::{InboxMessageView, InboxQuery};

use super::{with_store, SignedInAccount};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::store::InboxMessage;
use crate::{now, AppState};

const PAGE: usize = 100;

fn message_view(m: &InboxMessage) -> InboxMessageView {
    InboxMessageView {
        id: m.id,
        title: m.title.clone(),
        body: m.body.clone(),
        created_at: m.created_at,
        read: m.read_at.is_some(),
    }
}

/// The account's messages after `after`; with `wait`, a long-poll that answers as soon as one
/// arrives.
#[utoipa::path(get, operation_id = "list_inbox", path = "/me/inbox", params(InboxQuery), security(("session" = [])),
    responses((status = 200, body = [InboxMessageView])))]
pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<ApiJson<Vec<InboxMessageView>>, ApiError> {
    // The document's bounds, held to: a client asking for more has a bug to hear about.
    if query.wait > InboxQuery::LONGEST_WAIT || query.after < 0 {
        return Err(ApiError::invalid_query(
            &format!(
                "after 不能为负，wait 须为 0-{} 秒",
                InboxQuery::LONGEST_WAIT
            ),
            &format!(
                "after must not be negative, wait must be 0-{} seconds",
                InboxQuery::LONGEST_WAIT
            ),
        ));
    }
    let account = signed_in.account.id;
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(query.wait).min(state.policy.longest_poll);
    // Woken only when a message for this account arrives, on whichever instance.
    let arrivals = state.inbox.watch(account);
    loop {
        // Registered before looking, so that a message added in between is not missed.
        let mut arrived = std::pin::pin!(arrivals.notified());
        arrived.as_mut().enable();
        let after = query.after;
        let messages = with_store(&state, move |s| s.inbox(account, after, PAGE)).await?;
        if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(ApiJson(messages.iter().map(message_view).collect()));
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            return Ok(ApiJson(Vec::new()));
        }
    }
}

/// Mark a message read.
#[utoipa::path(post, operation_id = "mark_message_read", path = "/me/inbox/{id}/read",
    params(("id" = i64, Path, description = "The id, as the list gives it")), security(("session" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    signed_in: SignedInAccount,
    ApiPath(id): ApiPath<i64>,
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
