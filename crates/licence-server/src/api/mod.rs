//! The HTTP API under `/api/v1`, its OpenAPI document, and what the handlers share: the
//! signed-in account extractor, the permission guard, and the store on the blocking pool.

mod account;
mod applications;
mod codes;
mod contract;
mod inbox;
mod issuance;
mod officer;
pub mod published;
mod registration;
mod upgrade;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
pub(crate) use licence_api::{AccountView, FunctionView, SignedIn};
use licence_core::{BusinessFunction, Denial, IdNumber, MobileNumber, PersonName, Problem};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::store::{Account, Session, Store, StoreError};
use crate::{now, security, AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "电子驾驶证 traffic-police platform",
        description = "Registration, sign-in, accounts, applications for the e-licence, its issuance and the officer's check. Every error is `{code, message, message_en}`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "session",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The operations of `/api/v1` and their document, from one place: each handler's
/// `#[utoipa::path]` gives both its route and its entry in the document.
fn operations() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::new()
        .routes(routes!(registration::face_sign_code))
        .routes(routes!(registration::face_sign))
        .routes(routes!(registration::online_code))
        .routes(routes!(registration::online))
        .routes(routes!(registration::alipay))
        .routes(routes!(account::sign_in))
        .routes(routes!(account::sign_in_code))
        .routes(routes!(account::sign_in_sms))
        .routes(routes!(account::sign_out))
        .routes(routes!(account::sign_out_everywhere))
        .routes(routes!(account::me))
        .routes(routes!(account::add_device, account::devices))
        .routes(routes!(account::licence))
        .routes(routes!(upgrade::face_sign))
        .routes(routes!(upgrade::submit_review, upgrade::reviews))
        .routes(routes!(applications::submit, applications::list))
        .routes(routes!(applications::get_one))
        .routes(routes!(applications::withdraw))
        .routes(routes!(applications::resubmit))
        .routes(routes!(issuance::issue))
        .routes(routes!(officer::sign_in))
        .routes(routes!(officer::check))
        .routes(routes!(officer::sign_out))
        .routes(routes!(officer::sign_out_everywhere))
        .routes(routes!(inbox::list))
        .routes(routes!(inbox::mark_read))
        .routes(routes!(published::trust_list))
        .routes(routes!(published::mdoc_iaca))
        .routes(routes!(published::status_list))
        .routes(routes!(published::health))
        .split_for_parts()
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let (operations, paths) = operations();
    let document = document(paths);
    let api = operations
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document) }
            }),
        )
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "该地址不支持此请求方法",
                "This address does not accept this method",
            )
        });
    // Outermost first: the request log, the connection rule, the body limit, then admission
    // (address limit and body, then the work slot).
    Router::new()
        .nest("/api/v1", api)
        .nest("/console", crate::console::router())
        .fallback(|| async { ApiError::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::admission::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::admission::receive,
        ))
        .layer(DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(crate::connection::keep_or_close))
        .layer(axum::middleware::from_fn(crate::request_log::log_requests))
        .with_state(state)
}

/// The OpenAPI document (also served at `/api/v1/openapi.json`), with the answers every
/// operation of a kind can give (see [`contract::document_common_answers`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    document(operations().1)
}

/// The whole document around the operations' paths.
fn document(paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi().nest("/api/v1", paths);
    contract::document_common_answers(&mut document);
    document
}

/// Runs a store operation on the blocking pool.
pub(crate) async fn with_store<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || op(store.as_ref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from_store)
}

/// CPU-heavy work (argon2) off the async threads.
async fn cpu<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
}

/// The address a request came from, as the key of per-requester limits. IPv6 clients are
/// keyed by their /64 (one subscriber's prefix: a client can change the rest at will).
/// In-process tests have no peer and share one key.
pub(crate) struct Requester(String);

impl Requester {
    pub(crate) fn key(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        use std::net::{IpAddr, SocketAddr};
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Requester(match peer {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            None => "local".to_owned(),
        }))
    }
}

/// The digest of the request's bearer token (tokens are stored only as digests).
fn bearer_digest(headers: &axum::http::HeaderMap) -> Result<Vec<u8>, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(security::token_digest(token.trim()))
}

/// The account behind the request's bearer token.
pub struct SignedInAccount {
    pub account: Account,
    pub token_hash: Vec<u8>,
}

impl FromRequestParts<AppState> for SignedInAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token_hash = bearer_digest(&parts.headers)?;
        let lookup = token_hash.clone();
        let found = with_store(state, move |s| {
            let found = s.signed_in(&lookup)?;
            live_session(s, &lookup, found, |(session, _)| session)
        })
        .await?;
        let Some((_, account)) = found else {
            return Err(session_ended());
        };
        let notes = crate::request_log::notes_of(&parts.extensions);
        admit_account(state, notes.as_deref(), &account)?;
        Ok(SignedInAccount {
            account,
            token_hash,
        })
    }
}

/// What was found for a bearer token, if its session has not expired; an expired session
/// is deleted on the way.
fn live_session<T>(
    store: &dyn Store,
    token_hash: &[u8],
    found: Option<T>,
    session: impl Fn(&T) -> &Session,
) -> Result<Option<T>, StoreError> {
    match found {
        Some(found) if session(&found).expires_at <= now() => {
            store.delete_session(token_hash)?;
            Ok(None)
        }
        found => Ok(found),
    }
}

/// 401 for a bearer token with no live session.
fn session_ended() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "session_expired",
        "登录已过期，请重新登录",
        "Your session has ended; please sign in again",
    )
}

/// A signed-in request's account, noted in the request log, and refused (429) past the
/// account's own limit.
fn admit_account(
    state: &AppState,
    notes: Option<&crate::request_log::Notes>,
    account: &Account,
) -> Result<(), ApiError> {
    if let Some(notes) = notes {
        notes.account(account.kind.as_str(), account.id);
    }
    state.admission.admit_account(account.id).inspect_err(|_| {
        if let Some(notes) = notes {
            notes.admission("rate_limited_account");
        }
    })
}

/// 403 with what the account may not do and how to change that (R2.7, R2.10).
fn require(account: &Account, function: BusinessFunction) -> Result<(), ApiError> {
    match account.kind.denial(function) {
        None => Ok(()),
        Some(denial) => {
            let error = ApiError::new(
                StatusCode::FORBIDDEN,
                denial.code(),
                denial.message_zh(),
                denial.message_en(),
            );
            Err(match denial {
                Denial::NeedsFaceSign => error.next("face_sign"),
                _ => error,
            })
        }
    }
}

/// The account and what it may do: what its kind allows, and for the e-licence also the
/// service's rules on its past applications (three rejected reviews send it to a counter).
pub(crate) async fn account_view(
    state: &AppState,
    account: &Account,
) -> Result<AccountView, ApiError> {
    let id = account.id;
    let record = match account.id_number {
        Some(_) => with_store(state, move |s| s.applicant_record(id)).await?,
        None => licence_core::ApplicantRecord::default(),
    };
    let at_counter = record.may_apply(false, crate::today()).err();
    let functions = BusinessFunction::ALL
        .iter()
        .map(|&f| {
            let denial = match (account.kind.denial(f), f, at_counter) {
                (Some(d), _, _) => Some(ErrorBody {
                    code: d.code().into(),
                    message: d.message_zh().into(),
                    message_en: d.message_en().into(),
                    next: matches!(d, Denial::NeedsFaceSign).then(|| "face_sign".into()),
                    attempts_left: None,
                    request_id: None,
                }),
                (None, BusinessFunction::ElectronicLicence, Some(refusal)) => Some(ErrorBody {
                    code: refusal.code().into(),
                    message: refusal.message_zh(),
                    message_en: refusal.message_en(),
                    next: Some("visit_counter".into()),
                    attempts_left: None,
                    request_id: None,
                }),
                (None, _, _) => None,
            };
            FunctionView {
                function: f.as_str().into(),
                name: f.name_zh().into(),
                name_en: f.name_en().into(),
                allowed: denial.is_none(),
                denial,
            }
        })
        .collect();
    Ok(AccountView {
        id: account.id,
        kind: account.kind,
        kind_name: account.kind.name_zh().into(),
        name: account.name.clone(),
        id_number_masked: account.id_number.as_ref().map(IdNumber::masked),
        mobile_masked: account.mobile.masked(),
        functions,
    })
}

/// Starts a session for `account`.
async fn open_session(state: &AppState, account: Account) -> Result<SignedIn, ApiError> {
    let (token, digest) = security::new_token();
    let created_at = now();
    let expires_at = created_at + state.policy.session_ttl.as_secs() as i64;
    let session = Session {
        account: account.id,
        created_at,
        expires_at,
    };
    with_store(state, move |s| s.put_session(&digest, &session)).await?;
    Ok(SignedIn {
        token,
        expires_at,
        account: account_view(state, &account).await?,
    })
}

/// Name and ID number as typed, checked with licence-core.
fn person(name: &str, id_number: &str) -> Result<(PersonName, IdNumber), ApiError> {
    let name = name
        .parse::<PersonName>()
        .map_err(|e| ApiError::field("name", &e))?;
    let id =
        IdNumber::parse(id_number, crate::today()).map_err(|e| ApiError::field("id_number", &e))?;
    Ok((name, id))
}

fn mobile(number: &str) -> Result<MobileNumber, ApiError> {
    number
        .parse::<MobileNumber>()
        .map_err(|e| ApiError::field("mobile", &e))
}
