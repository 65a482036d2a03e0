//! What the app's screens show, as the UI receives it. Every type here crosses to the
//! TypeScript side: `ui/src/generated/types.ts` is generated from them (see
//! [`typescript_declarations`]), so the two sides cannot drift apart. The driver's screens
//! are declared in `views/driver.rs`, the e-licence and the officer's in `views/roadside.rs`;
//! all are re-exported here.

use licence_core::Problem;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ClientError;

mod driver;
mod roadside;

pub use driver::*;
pub use roadside::*;

/// An error as the UI shows it: a stable `code`, the driver's message in Chinese and English,
/// and what to do next when the platform said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppError {
    pub code: String,
    pub message: String,
    pub message_en: String,
    /// Seconds to wait before trying again (a surge).
    pub retry_after: Option<u64>,
    /// The step to offer, e.g. `online_registration` after repeated face failures (R2.2).
    pub next: Option<String>,
}

impl AppError {
    pub fn new(code: &str, message: &str, message_en: &str) -> AppError {
        AppError {
            code: code.into(),
            message: message.into(),
            message_en: message_en.into(),
            retry_after: None,
            next: None,
        }
    }

    /// A domain rule broken by what was typed (licence-core's bilingual problems).
    pub fn of_problem(p: &dyn Problem) -> AppError {
        AppError::new(p.code(), &p.message_zh(), &p.message_en())
    }
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> AppError {
        match e {
            ClientError::Network(detail) => AppError {
                message_en: format!(
                    "Cannot reach the traffic police platform; check the network and try again ({detail})"
                ),
                ..AppError::new("network", "无法连接交管平台，请检查网络后重试", "")
            },
            ClientError::Server {
                status,
                code,
                message,
                message_en,
                retry_after,
                next,
            } => AppError {
                message: if message.is_empty() {
                    format!("交管平台暂时无法处理（HTTP {status}），请稍后重试")
                } else {
                    message
                },
                message_en: if message_en.is_empty() {
                    format!("The platform could not handle this (HTTP {status}); try again later")
                } else {
                    message_en
                },
                code,
                retry_after,
                next,
            },
            ClientError::Insecure(detail) => AppError::new(
                "insecure_connection",
                "无法安全连接交管平台：平台地址须以 https:// 开头（本机开发地址除外），或证书配置有误",
                &format!("No safe connection to the platform: its address must start with https:// (but on this machine), or the certificate setup is wrong ({detail})"),
            ),
            ClientError::Store(detail) => AppError::new(
                "local_store",
                "本机数据保存失败，请检查存储空间后重试",
                &format!("The app could not save on this device; check free space ({detail})"),
            ),
            ClientError::Unexpected(detail) => AppError::new(
                "unexpected_answer",
                "收到无法识别的数据，请更新应用或稍后重试",
                &format!("An answer the app does not understand; update the app or try later ({detail})"),
            ),
        }
    }
}

/// Whether the UI's generated file at `path` is `expected`: the check behind the tests that
/// keep `ui/src/generated/` true to the Rust types (here and in the app's events). With
/// `UPDATE_TS` set it writes the file first; `how` is the command that does so.
pub fn generated_file_is_current(
    path: &std::path::Path,
    expected: &str,
    how: &str,
) -> Result<(), String> {
    if std::env::var_os("UPDATE_TS").is_some() {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, expected));
        written.map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    if on_disk == expected {
        Ok(())
    } else {
        Err(format!("{} is out of date: run `{how}`", path.display()))
    }
}

/// Every declaration of this module, in one TypeScript file (numbers are JSON numbers).
pub fn typescript_declarations() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        AppError::decl(&cfg),
        ErrorBody::decl(&cfg),
        FunctionView::decl(&cfg),
        AccountView::decl(&cfg),
        RejectionView::decl(&cfg),
        ApplicationView::decl(&cfg),
        LicenceView::decl(&cfg),
        PhotoProblemView::decl(&cfg),
        PhotoCheckView::decl(&cfg),
        OutboxView::decl(&cfg),
        JourneyStep::decl(&cfg),
        HomeView::decl(&cfg),
        InboxMessageView::decl(&cfg),
        CodeSentView::decl(&cfg),
        SubmitView::decl(&cfg),
        Progress::decl(&cfg),
        PreviewFrame::decl(&cfg),
        FramingAdviceView::decl(&cfg),
        IdCardReviewView::decl(&cfg),
        HolderView::decl(&cfg),
        VehicleClassView::decl(&cfg),
        StandingView::decl(&cfg),
        ElicenceView::decl(&cfg),
        MdocElementView::decl(&cfg),
        MdocShareView::decl(&cfg),
        MdocExchangeView::decl(&cfg),
        RefreshView::decl(&cfg),
        OfficerView::decl(&cfg),
        VerdictView::decl(&cfg),
        OnlineCheckView::decl(&cfg),
        VerificationView::decl(&cfg),
        ScanOutcome::decl(&cfg),
        crate::app::RegistrationPath::decl(&cfg),
        crate::app::PhotoSource::decl(&cfg),
        crate::app::Field::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/licence-client/src/views.rs by\n\
         // `UPDATE_TS=1 cargo test -p licence-client --lib views`. Do not edit.\n",
    );
    for d in decls {
        out.push_str("\nexport ");
        out.push_str(&d);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI's copy is what the Rust types say; `UPDATE_TS=1` rewrites it after a change.
    #[test]
    fn the_ui_types_are_generated_from_these() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ui/src/generated/types.ts");
        generated_file_is_current(
            &path,
            &typescript_declarations(),
            "UPDATE_TS=1 cargo test -p licence-client --lib views",
        )
        .unwrap();
    }

    #[test]
    fn errors_carry_the_platform_message_or_a_plain_one() {
        let e = AppError::from(ClientError::Network("connection refused".into()));
        assert_eq!(e.code, "network");
        assert_eq!(e.message, "无法连接交管平台，请检查网络后重试");
        assert!(e.message_en.contains("connection refused"));
        let e = AppError::from(ClientError::Server {
            status: 503,
            code: "busy".into(),
            message: String::new(),
            message_en: String::new(),
            retry_after: Some(3),
            next: None,
        });
        assert_eq!(
            (e.code.as_str(), e.retry_after, e.message.as_str()),
            (
                "busy",
                Some(3),
                "交管平台暂时无法处理（HTTP 503），请稍后重试"
            )
        );
    }
}
