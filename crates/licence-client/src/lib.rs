//! Everything of the driver's app that is not UI, with no Tauri in it: the platform's API
//! client ([`api`]), the app's local SQLite store ([`store`]) for the session, the cached
//! licence ([`licence`], shown without a network) and the outbox, and the outbox itself
//! ([`outbox`]), which sends applications through surges and outages:
//! durable before anything is sent, resent with backoff, honouring the platform's
//! `Retry-After`, and idempotent, so a resend after a lost answer is the same application.
//!
//! Registration ([`registration`]) and the camera as a [`camera::FrameSource`] live here too,
//! and so do the e-licence shown at the roadside ([`elicence`]: the credential bound to this
//! device's key ([`device`]), a QR code signed afresh every 30 seconds) and the officer's
//! verifier ([`officer`]), both working with no network.
//! [`app::DriverApp`] is the app as one object, returning what the screens show
//! ([`views`], from which the UI's TypeScript types are generated). The Tauri commands
//! (`src-tauri`) are thin wrappers over it.

pub mod api;
pub mod app;
pub mod camera;
pub mod device;
pub mod elicence;
pub mod licence;
pub mod officer;
pub mod outbox;
pub mod registration;
pub mod store;
pub mod views;

/// What can go wrong, with a stable machine `code()` for the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: offline, the server down, or a timeout.
    #[error("network: {0}")]
    Network(String),
    /// The platform answered with an error (its `{code, message, message_en}`).
    #[error("{code}: {message_en}")]
    Server {
        status: u16,
        code: String,
        /// 中文提示, for the driver.
        message: String,
        message_en: String,
        /// Seconds, from `Retry-After`.
        retry_after: Option<u64>,
        /// The step the app should offer next, e.g. `online_registration` after repeated
        /// face failures (R2.2).
        next: Option<String>,
    },
    /// The app's own database failed.
    #[error("local store: {0}")]
    Store(String),
    /// An answer that does not have the expected shape (a different server version?).
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl ClientError {
    pub fn code(&self) -> &str {
        match self {
            ClientError::Network(_) => "network",
            ClientError::Server { code, .. } => code,
            ClientError::Store(_) => "local_store",
            ClientError::Unexpected(_) => "unexpected_answer",
        }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        ClientError::Store(e.to_string())
    }
}
