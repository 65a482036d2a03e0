//! 消息: the in-app inbox (R3.5).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /me/inbox?after=&wait=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only messages with a larger id (the last one the app has).
    #[serde(default)]
    #[param(minimum = 0)]
    pub after: i64,
    /// Seconds to wait for a new message when there is none yet (0-30).
    #[serde(default)]
    #[param(minimum = 0, maximum = 30)]
    pub wait: u64,
}

impl InboxQuery {
    /// The longest long-poll a client may ask for, in seconds.
    pub const LONGEST_WAIT: u64 = 30;
}

/// A message in 消息.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InboxMessageView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub created_at: i64,
    pub read: bool,
}
