//! The platform's HTTP API, as the app uses it.

use std::time::Duration;

use licence_api::endpoint::{self, Endpoint};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::ClientError;

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub account_id: i64,
}

/// What an HTTP exchange came to, before it is judged.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: serde_json::Value,
}

/// The API client: one connection pool, one base URL (`http://host:port`).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client of the platform at `base`: HTTPS trusting the configured CA
    /// ([`licence_tls::configured_ca`]), or plain HTTP to loopback only.
    pub fn new(base: &str, timeout: Duration) -> Result<Api, ClientError> {
        let builder = reqwest::Client::builder().timeout(timeout);
        let http = licence_tls::https_client(builder, &[base], &licence_tls::configured_ca()?)?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Signs in with an ID or mobile number and the password.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<Session, ClientError> {
        let request = licence_api::SignInRequest {
            login: login.to_owned(),
            password: password.to_owned(),
        };
        Ok(Session::from(&self.request(&request, None).await?))
    }

    /// The account's applications, newest first.
    pub async fn applications(
        &self,
        token: &str,
    ) -> Result<Vec<licence_api::ApplicationView>, ClientError> {
        self.request(&endpoint::Applications, Some(token)).await
    }

    /// 驾驶证电子版: the holder's licence from the registry, re-validated on arrival.
    pub async fn licence(&self, token: &str) -> Result<licence_core::DrivingLicence, ClientError> {
        self.request(&endpoint::MyLicence, Some(token)).await
    }

    /// One operation of the API, as licence-api names it: its method, path and body go out,
    /// and a success is read as its answer's type.
    pub async fn request<E: Endpoint>(
        &self,
        endpoint: &E,
        token: Option<&str>,
    ) -> Result<E::Answer, ClientError> {
        decode(success(self.exchange_with(endpoint, token).await?)?)
    }

    /// One operation; the answer as it came, whatever its status (`Err` only when none came).
    pub(crate) async fn exchange_with<E: Endpoint>(
        &self,
        endpoint: &E,
        token: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let body = endpoint
            .body()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| ClientError::Unexpected(e.to_string()))?;
        let method = match E::METHOD {
            licence_api::Method::Get => Method::GET,
            licence_api::Method::Post => Method::POST,
            licence_api::Method::Delete => Method::DELETE,
        };
        self.exchange(method, &endpoint.path(), token, body).await
    }

    /// A public signed document (the trust list, a status list): its bytes, or `None` when
    /// the copy `held` is still current (the platform answers 304 to its ETag, which the
    /// device computes from the copy: nothing to download).
    pub async fn get_document(
        &self,
        path: &str,
        held: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let etag = held.map(licence_credential::document_etag);
        let (status, retry_after, bytes) = self
            .send(Method::GET, path, None, None, etag.as_deref())
            .await?;
        if status == 304 && held.is_some() {
            return Ok(None);
        }
        if (200..300).contains(&status) {
            return Ok(Some(bytes));
        }
        Err(refusal(&Answer {
            status,
            retry_after,
            body: serde_json::from_slice(&bytes).unwrap_or_default(),
        }))
    }

    /// One request; `Err` only when no answer came.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json_body: Option<String>,
    ) -> Result<Answer, ClientError> {
        let (status, retry_after, bytes) = self.send(method, path, token, json_body, None).await?;
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                ClientError::Unexpected(format!("HTTP {status} with a body that is not JSON: {e}"))
            })?
        };
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// Sends one request: the status, `Retry-After` in seconds, and the body's bytes.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json_body: Option<String>,
        if_none_match: Option<&str>,
    ) -> Result<(u16, Option<u64>, Vec<u8>), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, url);
        if let Some(etag) = if_none_match {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = json_body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok((status, retry_after, bytes.to_vec()))
    }
}

/// The body of a 2xx answer, or the platform's error.
pub(crate) fn success(answer: Answer) -> Result<serde_json::Value, ClientError> {
    if (200..300).contains(&answer.status) {
        return Ok(answer.body);
    }
    Err(refusal(&answer))
}

/// The platform's error in an answer that is not a success.
fn refusal(answer: &Answer) -> ClientError {
    let text = |key: &str| answer.body[key].as_str().unwrap_or_default().to_owned();
    ClientError::Server {
        status: answer.status,
        code: match text("code") {
            code if code.is_empty() => format!("http_{}", answer.status),
            code => code,
        },
        message: text("message"),
        message_en: text("message_en"),
        retry_after: answer.retry_after,
        next: answer.body["next"].as_str().map(str::to_owned),
    }
}

/// An answer's body as the type the app expects.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
) -> Result<T, ClientError> {
    serde_json::from_value(body).map_err(|e| ClientError::Unexpected(e.to_string()))
}

impl From<&licence_api::SignedIn> for Session {
    fn from(signed_in: &licence_api::SignedIn) -> Session {
        Session {
            token: signed_in.token.clone(),
            expires_at: signed_in.expires_at,
            account_id: signed_in.account.id,
        }
    }
}
