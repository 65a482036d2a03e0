//! Clients of the outside services: identity platform, SMS gateway, Alipay. Each is plain
//! HTTP configured by URL (docs/providers.md has the wire format). A slow or failing provider
//! is a normal event: every call has a timeout, retries are bounded and only where repeating
//! is safe, and the caller gets a [`ProviderError`] it can turn into a clear message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Which outside service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Identity,
    Sms,
    Alipay,
}

impl Service {
    pub fn name_zh(self) -> &'static str {
        match self {
            Service::Identity => "身份认证平台",
            Service::Sms => "短信平台",
            Service::Alipay => "支付宝",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Service::Identity => "the identity platform",
            Service::Sms => "the SMS gateway",
            Service::Alipay => "Alipay",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No answer in time, or none at all, after the allowed retries.
    #[error("{} did not answer in time", .0.name_en())]
    Unavailable(Service),
    /// The service answered with an error about this request (4xx), e.g. a used Alipay code.
    #[error("{} refused the request: {code}", .service.name_en())]
    Refused { service: Service, code: String },
    /// The service answered something we cannot read.
    #[error("{} sent an answer we cannot read: {detail}", .service.name_en())]
    BadAnswer { service: Service, detail: String },
}

/// Where the services are and how patient to be.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub identity_url: String,
    pub sms_url: String,
    pub alipay_url: String,
    /// CA certificates (PEM) the outside services' certificates are checked against; empty:
    /// the services are plain HTTP on loopback (the sandbox in development).
    pub ca_pem: Vec<u8>,
    /// Per attempt.
    pub timeout: Duration,
    /// Extra attempts after a 5xx or a refused connection (never after a timeout).
    pub retries: u32,
}

#[derive(Clone)]
pub struct Providers {
    http: reqwest::Client,
    config: ProviderConfig,
    /// How long a text message takes to send, as lately seen.
    sms_time: Arc<TypicalTime>,
}

/// A running estimate of how long something takes (an exponentially weighted mean): what
/// an answer that does *not* do it waits, so that the two take the same time and the time
/// tells nothing (a code for an unknown number is not sent, yet answered as late).
#[derive(Debug)]
pub struct TypicalTime(AtomicU64, Duration);

impl TypicalTime {
    /// Says `initial` until something is measured.
    pub fn new(initial: Duration) -> TypicalTime {
        TypicalTime(AtomicU64::new(0), initial)
    }

    /// Takes a measurement in: the first as it is, later ones with an eighth of the weight.
    pub fn record(&self, took: Duration) {
        let took = (took.as_micros().min(u128::from(u32::MAX)) as u64).max(1);
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mean| {
                Some(if mean == 0 {
                    took
                } else {
                    mean - mean / 8 + took / 8
                })
            });
    }

    pub fn typical(&self) -> Duration {
        match self.0.load(Ordering::Relaxed) {
            0 => self.1,
            mean => Duration::from_micros(mean),
        }
    }
}

/// The identity platform's verdict on a liveness check.
#[derive(Debug, Clone, Deserialize)]
pub struct FaceVerdict {
    pub request_id: String,
    /// A live person was in front of the camera.
    pub live: bool,
    /// The same person as the reference photo.
    pub same_person: bool,
    /// 0-100.
    pub similarity: u8,
}

impl FaceVerdict {
    pub fn passed(&self) -> bool {
        self.live && self.same_person
    }
}

/// The identity platform's comparison of a photo with the photo on file.
#[derive(Debug, Clone, Deserialize)]
pub struct FaceComparison {
    pub request_id: String,
    pub same_person: bool,
    /// 0-100.
    pub similarity: u8,
}

/// The person behind an Alipay authorisation.
#[derive(Debug, Clone, Deserialize)]
pub struct AlipayPerson {
    pub name: String,
    /// 证件号: the ID number Alipay verified.
    pub cert_no: String,
    pub mobile: String,
}

#[derive(Serialize)]
struct FaceVerificationRequest<'a> {
    name: &'a str,
    id_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_photo: Option<String>,
    frames: Vec<String>,
}

#[derive(Serialize)]
struct FaceComparisonRequest<'a> {
    name: &'a str,
    id_number: &'a str,
    photo: String,
    reference_photo: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    code: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

impl Providers {
    /// The clients of the three services: HTTPS trusting `ca_pem`, or plain HTTP to
    /// loopback only (refused for any other address).
    pub fn new(config: ProviderConfig) -> Result<Providers, licence_tls::TlsError> {
        let builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout);
        let urls = [
            config.identity_url.as_str(),
            config.sms_url.as_str(),
            config.alipay_url.as_str(),
        ];
        let http = licence_tls::https_client(builder, &urls, &config.ca_pem)?;
        Ok(Providers {
            http,
            config,
            sms_time: Arc::new(TypicalTime::new(Duration::from_millis(20))),
        })
    }

    /// Liveness and face match of camera frames (JPEG) against the reference photo.
    pub async fn verify_face(
        &self,
        name: &str,
        id_number: &str,
        reference_photo: Option<&[u8]>,
        frames: &[Vec<u8>],
    ) -> Result<FaceVerdict, ProviderError> {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let body = FaceVerificationRequest {
            name,
            id_number,
            reference_photo: reference_photo.map(b64),
            frames: frames.iter().map(|f| b64(f)).collect(),
        };
        let url = format!(
            "{}/identity/v1/face-verifications",
            self.config.identity_url
        );
        self.call(Service::Identity, || self.http.post(&url).json(&body))
            .await
    }

    /// Whether `photo` (JPEG) shows the person of the photo on file, and how alike they are.
    pub async fn compare_faces(
        &self,
        name: &str,
        id_number: &str,
        photo: &[u8],
        reference_photo: &[u8],
    ) -> Result<FaceComparison, ProviderError> {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let body = FaceComparisonRequest {
            name,
            id_number,
            photo: b64(photo),
            reference_photo: b64(reference_photo),
        };
        let url = format!("{}/identity/v1/face-comparisons", self.config.identity_url);
        self.call(Service::Identity, || self.http.post(&url).json(&body))
            .await
    }

    /// Sends a text message; returns the gateway's message id.
    pub async fn send_sms(&self, to: &str, text: &str) -> Result<String, ProviderError> {
        self.send_sms_once(to, text, None).await
    }

    /// Sends a message with a reference the gateway de-duplicates on: sending again after an
    /// answer was lost does not send it twice.
    pub async fn send_sms_once(
        &self,
        to: &str,
        text: &str,
        reference: Option<&str>,
    ) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Sent {
            message_id: String,
        }
        let url = format!("{}/sms/v1/messages", self.config.sms_url);
        let body = match reference {
            Some(r) => serde_json::json!({"to": to, "text": text, "client_ref": r}),
            None => serde_json::json!({"to": to, "text": text}),
        };
        let started = std::time::Instant::now();
        let sent: Sent = self
            .call(Service::Sms, || self.http.post(&url).json(&body))
            .await?;
        self.sms_time.record(started.elapsed());
        Ok(sent.message_id)
    }

    /// The longest one call can take, with its retries and their pauses: a claim on work
    /// that makes a call must outlast it.
    pub fn longest_call(&self) -> Duration {
        let attempts = self.config.retries + 1;
        let pauses: u64 = (1..=self.config.retries).map(|a| 200u64 << a.min(4)).sum();
        self.config.timeout * attempts + Duration::from_millis(pauses)
    }

    /// How long a text message typically takes to send, as lately seen.
    pub fn typical_sms_time(&self) -> Duration {
        self.sms_time.typical()
    }

    /// Exchanges an Alipay authorisation code for the person Alipay holds (R2.4).
    pub async fn alipay_person(&self, auth_code: &str) -> Result<AlipayPerson, ProviderError> {
        let token_url = format!("{}/alipay/v1/oauth/token", self.config.alipay_url);
        let body = serde_json::json!({"grant_type": "authorization_code", "code": auth_code});
        let token: TokenAnswer = self
            .call(Service::Alipay, || self.http.post(&token_url).json(&body))
            .await?;
        let info_url = format!("{}/alipay/v1/user/info", self.config.alipay_url);
        self.call(Service::Alipay, || {
            self.http.get(&info_url).bearer_auth(&token.access_token)
        })
        .await
    }

    /// One call, repeated (up to `retries` times, with short growing pauses) only when the
    /// request surely did not take effect or failed on the provider's side: a refused
    /// connection or a 5xx. A timeout is not repeated: the person is waiting, and the call
    /// may have taken effect (a message sent, a single-use code spent).
    async fn call<T: DeserializeOwned>(
        &self,
        service: Service,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        let mut attempt = 0;
        loop {
            let outcome = request().send().await;
            let repeatable = match &outcome {
                Ok(response) => response.status().is_server_error(),
                Err(e) => e.is_connect() && !e.is_timeout(),
            };
            if repeatable && attempt < self.config.retries {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(4))).await;
                continue;
            }
            let response = outcome.map_err(|_| ProviderError::Unavailable(service))?;
            let status = response.status();
            if status.is_server_error() {
                return Err(ProviderError::Unavailable(service));
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|_| ProviderError::Unavailable(service))?;
            if status.is_client_error() {
                let code = serde_json::from_slice::<ErrorAnswer>(&bytes)
                    .map(|e| e.code)
                    .unwrap_or_else(|_| status.as_u16().to_string());
                return Err(ProviderError::Refused { service, code });
            }
            return serde_json::from_slice(&bytes).map_err(|e| ProviderError::BadAnswer {
                service,
                detail: e.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typical_time_starts_given_then_follows_what_is_measured() {
        let t = TypicalTime::new(Duration::from_millis(20));
        assert_eq!(t.typical(), Duration::from_millis(20));
        t.record(Duration::from_millis(4));
        assert_eq!(t.typical(), Duration::from_millis(4));
        // One slow send moves it by an eighth of the difference.
        t.record(Duration::from_millis(12));
        assert_eq!(t.typical(), Duration::from_millis(5));
    }
}
