//! The outside services of the traffic-police platform, as a sandbox that speaks their HTTP
//! (like a payment provider's test mode), for development and tests.
//!
//! - **Identity platform** (`/identity/v1/...`): liveness and face match of camera frames
//!   against the photo on file (R2.1, R2.5), and the comparison of an uploaded photo with the
//!   photo on file (the automatic approval of an e-licence application).
//! - **SMS gateway** (`/sms/v1/messages`): sends text messages; the sandbox keeps them so that
//!   a test (or a developer) can read the one-time code "sent" to a phone.
//! - **Alipay authorisation** (`/alipay/v1/...`): exchanges an authorisation code for the
//!   person and the mobile number Alipay holds (R2.4).
//!
//! The control API under `/sandbox/...` lets a test choose what happens next (pass, fail,
//! timeout, error), read the messages sent and create Alipay authorisations. The wire format
//! of each service is described in docs/providers.md; the platform's clients are written
//! against that document, not against this crate's types.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Which outside service an outcome is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Identity,
    Sms,
    Alipay,
}

/// What the service does with the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Behave normally (for the identity platform: the face passes).
    Pass,
    /// A definite "no": not a live person / not the same person, or a refused message.
    Fail,
    /// Answer nothing for a long time, as a service under load does.
    Timeout,
    /// Answer 500.
    Error,
    /// Do the work, then answer 504 as if the answer were lost on the way back: the caller
    /// cannot tell it happened (a message sent, say).
    Lost,
}

/// How long a `timeout` outcome keeps the caller waiting: far longer than any client's
/// timeout, short enough that a stray connection does not live forever.
const TIMEOUT_HOLD: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Sandbox {
    /// Scripted outcomes per service, consumed one request at a time.
    outcomes: HashMap<Service, VecDeque<Outcome>>,
    messages: Vec<SentMessage>,
    /// Client references of accepted messages, and their message ids.
    refs: HashMap<String, String>,
    /// Authorisation codes the "Alipay app" handed out, and the person behind each.
    auth_codes: HashMap<String, AlipayPerson>,
    /// Access tokens issued for authorisation codes.
    tokens: HashMap<String, AlipayPerson>,
    next_id: u64,
}

impl Sandbox {
    fn next_outcome(&mut self, service: Service) -> Outcome {
        self.outcomes
            .get_mut(&service)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Outcome::Pass)
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }
}

type Shared = Arc<Mutex<Sandbox>>;

/// A text message the gateway accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: String,
    pub to: String,
    pub text: String,
    /// How many more times the sender asked for this message under its reference (each
    /// de-duplicated, not sent): a sender that sends each message once leaves this at 0.
    #[serde(default)]
    pub repeated: u32,
}

/// The person behind an Alipay authorisation, as Alipay holds them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AlipayPerson {
    pub name: String,
    pub cert_no: String,
    pub mobile: String,
}

/// All three services and the control API.
pub fn router() -> Router {
    let state: Shared = Arc::default();
    Router::new()
        .route("/identity/v1/face-verifications", post(face_verification))
        .route("/identity/v1/face-comparisons", post(face_comparison))
        .route("/sms/v1/messages", post(send_message))
        .route("/alipay/v1/oauth/token", post(oauth_token))
        .route("/alipay/v1/user/info", get(user_info))
        .route("/sandbox/outcomes", post(script_outcomes))
        .route("/sandbox/sms/messages", get(list_messages))
        .route("/sandbox/alipay/authorizations", post(authorize))
        .route("/sandbox/reset", post(reset))
        .with_state(state)
}

/// Serves the sandbox on `listener` until the process ends: HTTPS with `tls`, else plain HTTP.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<std::sync::Arc<licence_tls::ServerConfig>>,
) -> std::io::Result<()> {
    match tls {
        Some(config) => {
            axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(config),
            )?
            .serve(router().into_make_service())
            .await
        }
        None => axum::serve(tokio::net::TcpListener::from_std(listener)?, router()).await,
    }
}

/// Starts the sandbox on a loopback port, on a thread and runtime of its own, for as long as
/// the process lives (tests embed it this way); returns its base URL (`https://` with `tls`).
pub fn start_in_background_with(
    tls: Option<std::sync::Arc<licence_tls::ServerConfig>>,
) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("licence-sandbox".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Err(e) = serve(listener, tls).await {
                    eprintln!("licence-sandbox: {e}");
                }
            })
        })?;
    Ok(format!("{scheme}://{address}"))
}

/// [`start_in_background_with`] over plain HTTP.
pub fn start_in_background() -> std::io::Result<String> {
    start_in_background_with(None)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// Applies the scripted outcome common to every service: hold the request, or answer 500.
async fn disrupted(outcome: Outcome) -> Option<Response> {
    match outcome {
        Outcome::Timeout => {
            tokio::time::sleep(TIMEOUT_HOLD).await;
            Some(error(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "sandbox: held past any timeout",
            ))
        }
        Outcome::Error => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "sandbox: scripted failure",
        )),
        Outcome::Pass | Outcome::Fail | Outcome::Lost => None,
    }
}

/// For a `lost` outcome: the work is done, the answer never arrives.
fn lost_answer() -> Response {
    error(
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
        "sandbox: the answer was lost",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaceVerificationRequest {
    name: String,
    id_number: String,
    /// The photo on file (JPEG, base64), when the platform has one.
    #[serde(default)]
    reference_photo: Option<String>,
    /// Camera frames (JPEG, base64) from the liveness check.
    frames: Vec<String>,
}

/// Most frames one verification takes.
const MAX_FRAMES: usize = 8;

async fn face_verification(
    State(state): State<Shared>,
    Json(req): Json<FaceVerificationRequest>,
) -> Response {
    let outcome = match identity_outcome(&state, &req.name, &req.id_number).await {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    if req.frames.is_empty() || req.frames.len() > MAX_FRAMES {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_frames",
            "send 1 to 8 camera frames",
        );
    }
    if !all_pictures(req.frames.iter().chain(&req.reference_photo)) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_frames",
            "every frame and the reference photo must be a JPEG or PNG in base64",
        );
    }
    let passed = outcome == Outcome::Pass;
    let request_id = state.lock().expect("sandbox lock").next_id("FV");
    Json(json!({
        "request_id": request_id,
        "live": passed,
        "same_person": passed,
        "similarity": if passed { 92 } else { 31 },
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaceComparisonRequest {
    name: String,
    id_number: String,
    /// The photo to compare (JPEG, base64).
    photo: String,
    /// The photo on file (JPEG, base64).
    reference_photo: String,
}

/// Whether an uploaded photo shows the person of the photo on file: `pass` answers the same
/// person (similarity 92), `fail` another (31); the other outcomes disrupt as elsewhere.
async fn face_comparison(
    State(state): State<Shared>,
    Json(req): Json<FaceComparisonRequest>,
) -> Response {
    let outcome = match identity_outcome(&state, &req.name, &req.id_number).await {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    if !all_pictures([&req.photo, &req.reference_photo]) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_photo",
            "photo and reference_photo must each be a JPEG or PNG in base64",
        );
    }
    let same = outcome == Outcome::Pass;
    let request_id = state.lock().expect("sandbox lock").next_id("FC");
    Json(json!({
        "request_id": request_id,
        "same_person": same,
        "similarity": if same { 92 } else { 31 },
    }))
    .into_response()
}

/// The start of every identity-platform call: the scripted outcome (a disruption is answered
/// at once), then the person asked about, who must be named with an 18-character ID number.
async fn identity_outcome(
    state: &Shared,
    name: &str,
    id_number: &str,
) -> Result<Outcome, Response> {
    let outcome = state
        .lock()
        .expect("sandbox lock")
        .next_outcome(Service::Identity);
    if let Some(response) = disrupted(outcome).await {
        return Err(response);
    }
    if name.trim().is_empty() || id_number.len() != 18 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_identity",
            "name and an 18-character id_number are required",
        ));
    }
    Ok(outcome)
}

/// Whether every picture is a JPEG or PNG in base64: real pictures are required, as the real
/// platform requires them.
fn all_pictures<'a>(pictures: impl IntoIterator<Item = &'a String>) -> bool {
    pictures.into_iter().all(|picture| {
        base64::engine::general_purpose::STANDARD
            .decode(picture)
            .ok()
            .and_then(|bytes| image::load_from_memory(&bytes).ok())
            .is_some()
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    to: String,
    text: String,
    /// The sender's reference: a message with a reference already accepted is not sent again
    /// (the answer repeats the first message id), as real gateways de-duplicate.
    #[serde(default)]
    client_ref: Option<String>,
}

async fn send_message(State(state): State<Shared>, Json(req): Json<MessageRequest>) -> Response {
    let outcome = state
        .lock()
        .expect("sandbox lock")
        .next_outcome(Service::Sms);
    if let Some(response) = disrupted(outcome).await {
        return response;
    }
    if req.to.len() != 11 || !req.to.bytes().all(|b| b.is_ascii_digit()) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_number",
            "to must be an 11-digit mainland mobile number",
        );
    }
    if outcome == Outcome::Fail {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "undeliverable",
            "the operator refused the message",
        );
    }
    let mut sandbox = state.lock().expect("sandbox lock");
    if let Some(reference) = &req.client_ref {
        if let Some(id) = sandbox.refs.get(reference).cloned() {
            if let Some(sent) = sandbox.messages.iter_mut().find(|m| m.message_id == id) {
                sent.repeated += 1;
            }
            return Json(json!({"message_id": id})).into_response();
        }
    }
    let message_id = sandbox.next_id("SM");
    sandbox.messages.push(SentMessage {
        message_id: message_id.clone(),
        to: req.to,
        text: req.text,
        repeated: 0,
    });
    if let Some(reference) = req.client_ref {
        sandbox.refs.insert(reference, message_id.clone());
    }
    if outcome == Outcome::Lost {
        return lost_answer();
    }
    Json(json!({"message_id": message_id})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    grant_type: String,
    code: String,
}

async fn oauth_token(State(state): State<Shared>, Json(req): Json<TokenRequest>) -> Response {
    let outcome = state
        .lock()
        .expect("sandbox lock")
        .next_outcome(Service::Alipay);
    if let Some(response) = disrupted(outcome).await {
        return response;
    }
    if req.grant_type != "authorization_code" {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    let mut sandbox = state.lock().expect("sandbox lock");
    // A code is single-use, as OAuth requires.
    let Some(person) = sandbox.auth_codes.remove(&req.code) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used authorisation code",
        );
    };
    if outcome == Outcome::Fail {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the user withdrew the authorisation",
        );
    }
    let token = sandbox.next_id("AT");
    sandbox.tokens.insert(token.clone(), person);
    Json(json!({"access_token": token, "expires_in": 600})).into_response()
}

async fn user_info(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let outcome = state
        .lock()
        .expect("sandbox lock")
        .next_outcome(Service::Alipay);
    if let Some(response) = disrupted(outcome).await {
        return response;
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let sandbox = state.lock().expect("sandbox lock");
    match token.and_then(|t| sandbox.tokens.get(t)) {
        Some(person) => Json(person.clone()).into_response(),
        None => error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "unknown access token",
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptRequest {
    service: Service,
    outcome: Outcome,
    /// How many requests in a row get it (default 1).
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

async fn script_outcomes(State(state): State<Shared>, Json(req): Json<ScriptRequest>) -> Response {
    let mut sandbox = state.lock().expect("sandbox lock");
    let queue = sandbox.outcomes.entry(req.service).or_default();
    queue.extend(std::iter::repeat_n(req.outcome, req.times.min(1000)));
    Json(json!({"queued": queue.len()})).into_response()
}

#[derive(Deserialize)]
struct MessageFilter {
    to: Option<String>,
}

async fn list_messages(
    State(state): State<Shared>,
    Query(filter): Query<MessageFilter>,
) -> Json<Vec<SentMessage>> {
    let sandbox = state.lock().expect("sandbox lock");
    Json(
        sandbox
            .messages
            .iter()
            .filter(|m| filter.to.as_ref().is_none_or(|to| &m.to == to))
            .cloned()
            .collect(),
    )
}

/// What the Alipay app does when the user taps 授权: hands the platform a one-time code.
async fn authorize(State(state): State<Shared>, Json(person): Json<AlipayPerson>) -> Response {
    let mut sandbox = state.lock().expect("sandbox lock");
    let code = sandbox.next_id("AC");
    sandbox.auth_codes.insert(code.clone(), person);
    Json(json!({"auth_code": code})).into_response()
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    *state.lock().expect("sandbox lock") = Sandbox::default();
    StatusCode::NO_CONTENT
}
