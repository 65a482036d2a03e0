//! The platform's HTTP API, as the app uses it.

use std::time::Duration;

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

/// An application as the platform reports it (the fields the app shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationSummary {
    pub id: i64,
    /// submitted / under_review / approved / rejected / issued / withdrawn
    pub status: String,
    /// 已提交 / 审核中 / …
    pub status_name: String,
    pub photo_source: String,
    pub submitted_at: i64,
    pub due_at: i64,
    pub overdue: bool,
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
    pub fn new(base: &str, timeout: Duration) -> Result<Api, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Signs in with an ID or mobile number and the password.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<Session, ClientError> {
        let body = serde_json::json!({"login": login, "password": password}).to_string();
        session_from(
            &self
                .call("POST", "/api/v1/sessions", None, Some(body))
                .await?,
        )
    }

    /// The account's applications, newest first.
    pub async fn applications(&self, token: &str) -> Result<Vec<ApplicationSummary>, ClientError> {
        decode(
            self.call("GET", "/api/v1/applications", Some(token), None)
                .await?,
        )
    }

    /// 驾驶证电子版: the holder's licence from the registry, re-validated on arrival.
    pub async fn licence(&self, token: &str) -> Result<licence_core::DrivingLicence, ClientError> {
        decode(
            self.call("GET", "/api/v1/me/licence", Some(token), None)
                .await?,
        )
    }

    /// A public document that is not JSON (the trust list, the status list): its bytes.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let (status, retry_after, bytes) = self.send("GET", path, None, None).await?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(refusal(&Answer {
            status,
            retry_after,
            body: serde_json::from_slice(&bytes).unwrap_or_default(),
        }))
    }

    /// One request whose answer must be a success; its JSON body.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json_body: Option<String>,
    ) -> Result<serde_json::Value, ClientError> {
        success(self.exchange(method, path, token, json_body).await?)
    }

    /// One request; `Err` only when no answer came.
    pub(crate) async fn exchange(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json_body: Option<String>,
    ) -> Result<Answer, ClientError> {
        let (status, retry_after, bytes) = self.send(method, path, token, json_body).await?;
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
        method: &str,
        path: &str,
        token: Option<&str>,
        json_body: Option<String>,
    ) -> Result<(u16, Option<u64>, Vec<u8>), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url),
        };
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

/// The session in a sign-in or registration answer.
pub(crate) fn session_from(body: &serde_json::Value) -> Result<Session, ClientError> {
    Ok(Session {
        token: field(body, "token", serde_json::Value::as_str)?.to_owned(),
        expires_at: field(body, "expires_at", serde_json::Value::as_i64)?,
        account_id: body["account"]["id"]
            .as_i64()
            .ok_or_else(|| ClientError::Unexpected("no account id".into()))?,
    })
}

fn field<'a, T>(
    body: &'a serde_json::Value,
    key: &str,
    get: impl Fn(&'a serde_json::Value) -> Option<T>,
) -> Result<T, ClientError> {
    get(&body[key]).ok_or_else(|| ClientError::Unexpected(format!("no {key} in the answer")))
}
