//! Everything of the driver's app that is not UI, with no Tauri in it. [`app::DriverApp`] is
//! the app as one object, returning what the screens show ([`views`], from which the UI's
//! TypeScript types are generated); the Tauri commands (`src-tauri`) are thin wrappers over
//! it. `DriverApp` is a façade over shared state; its methods live with their concern:
//!
//! | concern | where |
//! |---|---|
//! | the façade: shared state, the cache keys | [`app`] |
//! | session: sign in and out, the account (我的) | [`app::session`] |
//! | registration: codes, 面签, 在线注册, 支付宝, 实人认证, the ID card review | [`app::registration`] (screens), [`registration`] (requests, the Alipay app) |
//! | applications: the home page, the photo check, submit, the outbox | [`app::applications`] (screens), [`outbox`] (saved first, sent with backoff, `Retry-After`, idempotent) |
//! | 消息: the inbox, what is announced | [`app::inbox`] |
//! | 我的驾驶证 (the registry's record, shown offline as last fetched) | [`licence`] |
//! | the e-licence: the QR signed every 30 s, the standing, the credential | [`elicence`], with the device key in [`device`] |
//! | the trust list and status list kept for offline checks | [`verifier_data`] |
//! | the officer's verifier (执勤民警核验) | [`officer`] |
//! | the camera as a frame source | [`camera`] |
//! | HTTP to the platform, typed on the method | [`api`] |
//! | the local SQLite store, with versioned migrations | [`store`] |
//!
//! The same map, with the reasons, is in `docs/client.md`.

pub mod api;
pub mod app;
pub mod camera;
pub mod device;
pub mod elicence;
pub mod licence;
pub mod officer;
pub mod outbox;
pub mod registration;
pub mod sealed;
pub mod store;
pub mod verifier_data;
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
    /// The platform's address or CA cannot give a safe connection (plain HTTP to another
    /// machine, an unreadable CA file).
    #[error("insecure connection refused: {0}")]
    Insecure(#[from] licence_tls::TlsError),
}

impl ClientError {
    pub fn code(&self) -> &str {
        match self {
            ClientError::Network(_) => "network",
            ClientError::Insecure(_) => "insecure_connection",
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
