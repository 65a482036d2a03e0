//! 消息: the platform's inbox for the account, and which of its messages this device has
//! already announced.

use licence_api::{endpoint, InboxQuery};

use crate::app::{Cached, DriverApp};
use crate::views::{AppError, InboxMessageView};

impl DriverApp {
    /// 消息 after `after`; with `wait` seconds, a long-poll that answers when one arrives.
    pub async fn inbox(&self, after: i64, wait: u64) -> Result<Vec<InboxMessageView>, AppError> {
        let session = self.session()?;
        let query = InboxQuery {
            after,
            wait: wait.min(InboxQuery::LONGEST_WAIT),
        };
        self.api
            .request(&endpoint::Inbox(query), Some(&session.token))
            .await
            .map_err(|e| self.forget_if_unauthorised(e))
    }

    /// Messages not yet announced on this device, waiting up to `wait` seconds for one: what
    /// the background listener shows as notifications. The first time after a sign-in,
    /// messages from before it are history and are not announced; what arrived since is.
    /// Remembered across restarts, so nothing is announced twice or missed while closed.
    pub async fn new_messages(&self, wait: u64) -> Result<Vec<InboxMessageView>, AppError> {
        let seen: Option<i64> = self.cached(Cached::InboxSeen)?;
        let fresh = match seen {
            Some(after) => self.inbox(after, wait).await?,
            None => {
                let since: i64 = self.cached(Cached::SignedInAt)?.unwrap_or(0);
                let all = self.inbox(0, 0).await?;
                let history = all
                    .iter()
                    .filter(|m| m.created_at < since)
                    .map(|m| m.id)
                    .max()
                    .unwrap_or(0);
                self.keep(Cached::InboxSeen, &history)?;
                all.into_iter().filter(|m| m.id > history).collect()
            }
        };
        if let Some(newest) = fresh.iter().map(|m| m.id).max() {
            self.keep(Cached::InboxSeen, &newest)?;
        }
        Ok(fresh)
    }

    /// Marks a message read on the platform.
    pub async fn mark_read(&self, id: i64) -> Result<(), AppError> {
        let session = self.session()?;
        self.api
            .request(&endpoint::MarkRead(id), Some(&session.token))
            .await?;
        Ok(())
    }
}
