//! Each operation of `/api/v1` named once: its method, its path, its body and its answer.
//!
//! The app sends an [`Endpoint`] value and gets its `Answer` back, so a request cannot go to
//! the wrong path, with the wrong method or body, or be read as the wrong type. The server
//! checks in its tests that each of [`ALL`] is an operation of its OpenAPI document.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::*;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Delete,
}

/// The body of an operation that has none.
#[derive(Debug, Serialize)]
pub enum NoBody {}

/// One operation: what to send and what comes back.
pub trait Endpoint {
    const METHOD: Method;
    /// The path template as the OpenAPI document writes it, e.g. `/api/v1/applications/{id}`.
    const PATH: &'static str;
    type Body: Serialize;
    /// The body of a successful answer (`()` when there is none, e.g. 204).
    type Answer: DeserializeOwned;

    /// The path of this request, with its parameters filled in.
    fn path(&self) -> String {
        Self::PATH.to_owned()
    }

    /// The JSON body to send.
    fn body(&self) -> Option<&Self::Body> {
        None
    }
}

/// Operations whose request value is their JSON body.
macro_rules! with_body {
    ($($(#[$doc:meta])* $body:ty => $method:ident $path:literal -> $answer:ty;)*) => {$(
        $(#[$doc])*
        impl Endpoint for $body {
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;
            type Body = $body;
            type Answer = $answer;
            fn body(&self) -> Option<&$body> {
                Some(self)
            }
        }
    )*};
}

/// Operations without a body or path parameter: a unit struct each.
macro_rules! plain {
    ($($(#[$doc:meta])* $name:ident => $method:ident $path:literal -> $answer:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl Endpoint for $name {
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;
            type Body = NoBody;
            type Answer = $answer;
        }
    )*};
}

/// Operations on one resource by id: `$name(id)`.
macro_rules! by_id {
    ($($(#[$doc:meta])* $name:ident => $method:ident $path:literal -> $answer:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub i64);
        impl Endpoint for $name {
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;
            type Body = NoBody;
            type Answer = $answer;
            fn path(&self) -> String {
                Self::PATH.replace("{id}", &self.0.to_string())
            }
        }
    )*};
}

with_body! {
    SignInRequest => Post "/api/v1/sessions" -> SignedIn;
    SignInCodeRequest => Post "/api/v1/sessions/codes" -> CodeSent;
    SignInSmsRequest => Post "/api/v1/sessions/sms" -> SignedIn;
    FaceSignRegistration => Post "/api/v1/registrations/face-sign" -> SignedIn;
    OnlineRegistration => Post "/api/v1/registrations/online" -> SignedIn;
    AlipayRegistration => Post "/api/v1/registrations/alipay" -> SignedIn;
    NewDevice => Post "/api/v1/me/devices" -> DeviceView;
    FaceSignUpgrade => Post "/api/v1/me/face-sign" -> AccountView;
    IdCardReviewRequest => Post "/api/v1/me/id-card-reviews" -> IdCardReviewView;
    NewApplication => Post "/api/v1/applications" -> ApplicationView;
    CredentialRequest => Post "/api/v1/me/credential" -> IssuedCredential;
    OfficerSignIn => Post "/api/v1/officer/sessions" -> OfficerSession;
    CheckRequest => Post "/api/v1/officer/checks" -> CheckResult;
}

plain! {
    /// `DELETE /sessions/current`: sign out.
    SignOut => Delete "/api/v1/sessions/current" -> ();
    /// `DELETE /sessions`: sign out on every device.
    SignOutEverywhere => Delete "/api/v1/sessions" -> ();
    /// `DELETE /officer/sessions/current`: the officer signs out on this device.
    OfficerSignOut => Delete "/api/v1/officer/sessions/current" -> ();
    /// `DELETE /officer/sessions`: the officer signs out on every device.
    OfficerSignOutEverywhere => Delete "/api/v1/officer/sessions" -> ();
    /// `GET /me`: the signed-in account.
    Me => Get "/api/v1/me" -> AccountView;
    /// `GET /me/devices`.
    Devices => Get "/api/v1/me/devices" -> Vec<DeviceView>;
    /// `GET /me/licence`: 驾驶证电子版, the holder's licence from the registry.
    MyLicence => Get "/api/v1/me/licence" -> licence_core::DrivingLicence;
    /// `GET /me/id-card-reviews`.
    IdCardReviews => Get "/api/v1/me/id-card-reviews" -> Vec<IdCardReviewView>;
    /// `GET /applications`: the account's applications, newest first.
    Applications => Get "/api/v1/applications" -> Vec<ApplicationView>;
}

by_id! {
    /// `GET /applications/{id}`.
    ApplicationById => Get "/api/v1/applications/{id}" -> ApplicationView;
    /// `POST /applications/{id}/withdraw`.
    Withdraw => Post "/api/v1/applications/{id}/withdraw" -> ApplicationView;
    /// `POST /me/inbox/{id}/read`.
    MarkRead => Post "/api/v1/me/inbox/{id}/read" -> ();
}

/// `POST /registrations/face-sign/codes`: the code for a face-sign registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceSignCode(pub CodeRequest);

/// `POST /registrations/online/codes`: the code to the number the traffic police hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineCode(pub CodeRequest);

impl Endpoint for FaceSignCode {
    const METHOD: Method = Method::Post;
    const PATH: &'static str = "/api/v1/registrations/face-sign/codes";
    type Body = CodeRequest;
    type Answer = CodeSent;
    fn body(&self) -> Option<&CodeRequest> {
        Some(&self.0)
    }
}

impl Endpoint for OnlineCode {
    const METHOD: Method = Method::Post;
    const PATH: &'static str = "/api/v1/registrations/online/codes";
    type Body = CodeRequest;
    type Answer = CodeSent;
    fn body(&self) -> Option<&CodeRequest> {
        Some(&self.0)
    }
}

/// `POST /applications/{id}/resubmit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resubmit {
    pub id: i64,
    pub body: Resubmission,
}

impl Endpoint for Resubmit {
    const METHOD: Method = Method::Post;
    const PATH: &'static str = "/api/v1/applications/{id}/resubmit";
    type Body = Resubmission;
    type Answer = ApplicationView;
    fn path(&self) -> String {
        Self::PATH.replace("{id}", &self.id.to_string())
    }
    fn body(&self) -> Option<&Resubmission> {
        Some(&self.body)
    }
}

/// `GET /me/inbox`: messages after `after`, long-polling up to `wait` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox(pub InboxQuery);

impl Endpoint for Inbox {
    const METHOD: Method = Method::Get;
    const PATH: &'static str = "/api/v1/me/inbox";
    type Body = NoBody;
    type Answer = Vec<InboxMessageView>;
    fn path(&self) -> String {
        format!("{}?after={}&wait={}", Self::PATH, self.0.after, self.0.wait)
    }
}

/// Every JSON operation the app may call, as `(method, path template)`. (The trust list and
/// the status list are binary documents, fetched by path.)
pub const ALL: &[(Method, &str)] = &[
    (SignInRequest::METHOD, SignInRequest::PATH),
    (SignInCodeRequest::METHOD, SignInCodeRequest::PATH),
    (SignInSmsRequest::METHOD, SignInSmsRequest::PATH),
    (FaceSignRegistration::METHOD, FaceSignRegistration::PATH),
    (OnlineRegistration::METHOD, OnlineRegistration::PATH),
    (AlipayRegistration::METHOD, AlipayRegistration::PATH),
    (NewDevice::METHOD, NewDevice::PATH),
    (FaceSignUpgrade::METHOD, FaceSignUpgrade::PATH),
    (IdCardReviewRequest::METHOD, IdCardReviewRequest::PATH),
    (NewApplication::METHOD, NewApplication::PATH),
    (CredentialRequest::METHOD, CredentialRequest::PATH),
    (OfficerSignIn::METHOD, OfficerSignIn::PATH),
    (CheckRequest::METHOD, CheckRequest::PATH),
    (SignOut::METHOD, SignOut::PATH),
    (SignOutEverywhere::METHOD, SignOutEverywhere::PATH),
    (OfficerSignOut::METHOD, OfficerSignOut::PATH),
    (
        OfficerSignOutEverywhere::METHOD,
        OfficerSignOutEverywhere::PATH,
    ),
    (Me::METHOD, Me::PATH),
    (Devices::METHOD, Devices::PATH),
    (MyLicence::METHOD, MyLicence::PATH),
    (IdCardReviews::METHOD, IdCardReviews::PATH),
    (Applications::METHOD, Applications::PATH),
    (ApplicationById::METHOD, ApplicationById::PATH),
    (Withdraw::METHOD, Withdraw::PATH),
    (MarkRead::METHOD, MarkRead::PATH),
    (FaceSignCode::METHOD, FaceSignCode::PATH),
    (OnlineCode::METHOD, OnlineCode::PATH),
    (Resubmit::METHOD, Resubmit::PATH),
    (Inbox::METHOD, Inbox::PATH),
];

/// Paths of the binary documents (CBOR / COSE), public.
pub const TRUST_LIST_PATH: &str = "/api/v1/trust-list";
pub const STATUS_LIST_PATH: &str = "/api/v1/status-list";
/// What a load balancer asks to learn whether an instance serves (`licence_api::Health`).
pub const HEALTH_PATH: &str = "/api/v1/health";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fill_in_their_parameters() {
        assert_eq!(ApplicationById(42).path(), "/api/v1/applications/42");
        assert_eq!(
            Resubmit {
                id: 7,
                body: Resubmission {
                    photo_source: PhotoSource::OnFile,
                    photo: None
                }
            }
            .path(),
            "/api/v1/applications/7/resubmit"
        );
        assert_eq!(
            Inbox(InboxQuery { after: 3, wait: 25 }).path(),
            "/api/v1/me/inbox?after=3&wait=25"
        );
        assert_eq!(Method::Delete.to_string(), "DELETE");
    }

    #[test]
    fn every_operation_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (method, path) in ALL {
            assert!(seen.insert((*method, *path)), "{method} {path} twice");
            assert!(path.starts_with("/api/v1/"), "{path}");
        }
        assert_eq!(seen.len(), 29);
    }

    #[test]
    fn requests_refuse_unknown_fields_and_default_the_photo_source() {
        let parsed: NewApplication =
            serde_json::from_str(r#"{"idempotency_key":"k1"}"#).expect("minimal body");
        assert_eq!(parsed.photo_source, PhotoSource::OnFile);
        assert_eq!(parsed.photo_source.as_str(), "on_file");
        let unknown = serde_json::from_str::<NewApplication>(r#"{"idempotency_key":"k","x":1}"#);
        assert!(unknown.is_err());
        let sent = serde_json::to_string(&NewApplication {
            idempotency_key: "k".into(),
            photo_source: PhotoSource::Album,
            photo: None,
        })
        .unwrap();
        assert_eq!(sent, r#"{"idempotency_key":"k","photo_source":"album"}"#);
    }
}
