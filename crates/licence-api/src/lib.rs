//! The platform's `/api/v1` wire types, defined once.
//!
//! Every request and response body the server (`licence-server`) answers and the app
//! (`licence-client`) sends lives here, with its OpenAPI schema (utoipa `ToSchema`) and the
//! field rules the server enforces (lengths, patterns, enums), so the document the server
//! publishes, the server's parsing and the client's requests cannot drift apart.
//! [`endpoint`] names each operation once: its method, path, body and answer.
//!
//! No I/O and no web framework here: serde, utoipa and the domain types of licence-core.

pub mod account;
pub mod applications;
pub mod credential;
pub mod endpoint;
pub mod error;
pub mod formats;
pub mod inbox;
pub mod officer;
pub mod registration;

pub use account::{
    AccountView, DeviceView, FunctionView, NewDevice, SignInCodeRequest, SignInRequest,
    SignInSmsRequest, SignedIn,
};
pub use applications::{ApplicationView, NewApplication, PhotoSource, RejectionView, Resubmission};
pub use credential::{CredentialRequest, Health, IssuedCredential};
pub use endpoint::{Endpoint, Method};
pub use error::ErrorBody;
pub use inbox::{InboxMessageView, InboxQuery};
pub use officer::{CheckRequest, CheckResult, Holder, OfficerSession, OfficerSignIn};
pub use registration::{
    AlipayRegistration, CodeRequest, CodeSent, FaceSignRegistration, FaceSignUpgrade,
    IdCardReviewRequest, IdCardReviewView, OnlineRegistration,
};
