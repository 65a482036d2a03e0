//! 注册 (R2.1–R2.3): face-sign with the camera, online registration with the reserved number.
//! Each starts with a one-time code by SMS; the platform says when a failure should move the
//! driver to the other path (`next` in [`ClientError::Server`]).

use base64::Engine;
use licence_api::endpoint;

use crate::api::{Api, Session};
use crate::ClientError;

/// Who is registering, as typed: the body of a code request.
pub type Person = licence_api::CodeRequest;

/// A code is on its way.
pub use licence_api::CodeSent;

impl Api {
    /// R2.1: a code to the mobile number given for face-sign.
    pub async fn face_sign_code(&self, person: &Person) -> Result<CodeSent, ClientError> {
        self.request(&endpoint::FaceSignCode(person.clone()), None)
            .await
    }

    /// R2.3: a code to the number the traffic police hold for the person.
    pub async fn online_code(&self, person: &Person) -> Result<CodeSent, ClientError> {
        self.request(&endpoint::OnlineCode(person.clone()), None)
            .await
    }

    /// R2.1: registers as a face-signed user with the code and the liveness frames (JPEG,
    /// from [`crate::camera::liveness_frames`]). `consent` is the driver's agreement to the
    /// face check, which the platform requires.
    pub async fn face_sign(
        &self,
        person: &Person,
        code: &CodeSent,
        digits: &str,
        password: &str,
        consent: bool,
        frames: &[Vec<u8>],
    ) -> Result<Session, ClientError> {
        let request = licence_api::FaceSignRegistration {
            name: person.name.clone(),
            id_number: person.id_number.clone(),
            mobile: person.mobile.clone(),
            challenge_id: code.challenge_id.clone(),
            code: digits.to_owned(),
            consent,
            password: password.to_owned(),
            frames: frames
                .iter()
                .map(|f| base64::engine::general_purpose::STANDARD.encode(f))
                .collect(),
        };
        Ok(Session::from(&self.request(&request, None).await?))
    }

    /// R2.3: finishes online registration (实名认证) with the code.
    pub async fn register_online(
        &self,
        code: &CodeSent,
        digits: &str,
        password: &str,
    ) -> Result<Session, ClientError> {
        let request = licence_api::OnlineRegistration {
            challenge_id: code.challenge_id.clone(),
            code: digits.to_owned(),
            password: password.to_owned(),
        };
        Ok(Session::from(&self.request(&request, None).await?))
    }

    /// R2.4: registers with Alipay's real-name record, by the one-time code the Alipay app
    /// handed over when the person authorised.
    pub async fn register_alipay(
        &self,
        name: &str,
        id_number: &str,
        auth_code: &str,
        password: &str,
    ) -> Result<Session, ClientError> {
        let request = licence_api::AlipayRegistration {
            name: name.to_owned(),
            id_number: id_number.to_owned(),
            auth_code: auth_code.to_owned(),
            password: password.to_owned(),
        };
        Ok(Session::from(&self.request(&request, None).await?))
    }
}

/// The Alipay app's part of R2.4: the person authorises in Alipay, which hands this app a
/// one-time code. On a phone that is the Alipay SDK; on the desktop, for development and
/// tests, it is the sandbox's stand-in for the Alipay app, reached by URL.
#[derive(Clone)]
pub struct AlipayApp {
    http: reqwest::Client,
    url: String,
}

impl AlipayApp {
    pub fn new(url: &str) -> Result<AlipayApp, ClientError> {
        let builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15));
        Ok(AlipayApp {
            http: licence_tls::https_client(builder, &[url], &licence_tls::configured_ca()?)?,
            url: url.trim_end_matches('/').to_owned(),
        })
    }

    /// The person of the Alipay account (name, ID number, bound mobile) authorises; the code.
    pub async fn authorise(&self, account: &Person) -> Result<String, ClientError> {
        let answer = self
            .http
            .post(format!("{}/sandbox/alipay/authorizations", self.url))
            .json(&serde_json::json!({
                "name": account.name, "cert_no": account.id_number, "mobile": account.mobile,
            }))
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        let body: serde_json::Value = answer
            .json()
            .await
            .map_err(|e| ClientError::Unexpected(e.to_string()))?;
        body["auth_code"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Unexpected(format!("no auth_code from Alipay: {body}")))
    }
}
