//! What anyone may fetch without signing in: the signed documents verifiers cache (R4) —
//! the trust list, and each issuer key's status list, so that a red QR appears when a
//! licence's standing changes — and the health check a load balancer asks.
//!
//! A status list is read from the registry at most once per `Policy::status_list_every` on
//! each instance, and served from memory in between. Its time comes from the store (when its
//! content last changed), so every instance signs the very same bytes (ECDSA here signs
//! deterministically) and the ETags agree behind a load balancer: a device that holds the
//! current list asks with `If-None-Match` and gets a 304 without a body.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use licence_core::LicenceStatus;
use licence_credential::{document_etag, IssuerKey, StatusList};
use sha2::Digest;

use super::with_store;
use crate::error::{ApiError, ApiJson};
use crate::{now, AppState};

/// How long a verifier may rely on a status list offline before the status is "unknown".
pub const STATUS_MAX_AGE: i64 = 24 * 3600;
/// How long caches keep the status list: verifiers online see a change within this.
const STATUS_CACHE_SECONDS: u32 = 60;
/// The list never reveals how many credentials exist below this size.
const MIN_STATUS_LIST: u32 = 1024;
/// An unchanged list is signed again after this long, well before verifiers find it stale
/// ([`STATUS_MAX_AGE`]).
const REISSUE_AFTER: i64 = 3600;

/// The signed status lists an instance serves, by kid.
#[derive(Default)]
pub struct StatusLists {
    /// Held while a list is built: a burst of fetches waits for one build, not one each.
    served: tokio::sync::Mutex<HashMap<String, Served>>,
}

#[derive(Clone)]
struct Served {
    built: Instant,
    signed: Bytes,
    etag: String,
}

impl StatusLists {
    /// The signed status list of `key` as of at most `Policy::status_list_every` ago.
    async fn of(&self, state: &AppState, key: &IssuerKey) -> Result<Served, ApiError> {
        let mut served = self.served.lock().await;
        if let Some(list) = served.get(key.kid()) {
            if list.built.elapsed() < state.policy.status_list_every {
                return Ok(list.clone());
            }
        }
        let signed = Bytes::from(sign_status_list(state, key).await?);
        let list = Served {
            built: Instant::now(),
            etag: document_etag(&signed),
            signed,
        };
        served.insert(key.kid().to_owned(), list.clone());
        Ok(list)
    }
}

/// Every allocated index with the standing a verifier should see, and the list's length.
async fn status_entries(state: &AppState) -> Result<(u32, Vec<(u32, LicenceStatus)>), ApiError> {
    let today = crate::today();
    let entries = with_store(state, move |s| s.status_entries(today)).await?;
    let needed = entries.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
    let len = needed.max(MIN_STATUS_LIST).next_power_of_two();
    let entries = entries
        .into_iter()
        .map(|(index, status)| (index, as_listed(status)))
        .collect();
    Ok((len, entries))
}

/// An entry's status as the list says it: a licence no longer held counts as invalid, so
/// that its credential does not pass.
fn as_listed(status: Option<LicenceStatus>) -> LicenceStatus {
    status.unwrap_or_else(|| "G".parse().expect("G is a status code"))
}

/// What a status list says, as a digest: the same entries give the same digest on every
/// instance, whatever the time.
fn content_digest(kid: &str, len: u32, entries: &[(u32, LicenceStatus)]) -> Vec<u8> {
    let mut digest = sha2::Sha256::new();
    digest.update(kid.as_bytes());
    digest.update([0]);
    digest.update(len.to_be_bytes());
    for (index, status) in entries {
        digest.update(index.to_be_bytes());
        digest.update(status.to_string().as_bytes());
        digest.update([0]);
    }
    digest.finalize().to_vec()
}

/// Reads the registry and signs `key`'s status list with the time the store keeps for its
/// content.
async fn sign_status_list(state: &AppState, key: &IssuerKey) -> Result<Vec<u8>, ApiError> {
    let (len, entries) = status_entries(state).await?;
    let digest = content_digest(key.kid(), len, &entries);
    let kid = key.kid().to_owned();
    let issued_at = with_store(state, move |s| {
        s.stamp_status_list(&kid, &digest, now(), REISSUE_AFTER)
    })
    .await?;
    build_status_list(len, &entries, issued_at)?
        .with_issuer(key.kid())
        .sign(key)
        .map_err(ApiError::internal)
}

/// The list of `len` positions saying `entries`, issued at `issued_at`.
fn build_status_list(
    len: u32,
    entries: &[(u32, LicenceStatus)],
    issued_at: i64,
) -> Result<StatusList, ApiError> {
    let mut list = StatusList::new(len, issued_at, STATUS_MAX_AGE);
    for &(index, status) in entries {
        list.set(index, status).map_err(ApiError::internal)?;
    }
    Ok(list)
}

/// The status lists as of now for the credential at status-list position `index`: one for
/// each issuer key whose window is open (the signing key's first), each saying that one
/// position as the registry has it this moment and nothing else (the officer's online check:
/// live, and one row read, not the registry). No list for a position nobody holds, whose status
/// is then unknown.
pub async fn live_status_lists(state: &AppState, index: u32) -> Result<Vec<StatusList>, ApiError> {
    let today = crate::today();
    let Some(status) = with_store(state, move |s| s.status_entry(index, today)).await? else {
        return Ok(Vec::new());
    };
    // The list reaches the position; positions are allocated densely from 0, so this is no
    // longer than the published list (and its pages untouched but one: it is zeroed memory).
    let len = index.saturating_add(1).max(MIN_STATUS_LIST);
    let issued_at = now();
    let list = build_status_list(len, &[(index, as_listed(status))], issued_at)?;
    Ok(state
        .issuers()
        .filter(|key| key.window().is_some_and(|w| in_window(w, issued_at)))
        .map(|key| list.clone().with_issuer(key.kid()))
        .collect())
}

fn in_window((from, until): (i64, i64), at: i64) -> bool {
    (from..=until).contains(&at)
}

/// The trust list the platform serves, as it reads.
pub fn current_trust_list(state: &AppState) -> licence_credential::TrustList {
    state.trust.list.clone()
}

/// A signed document, or 304 when the request's `If-None-Match` names its tag.
fn conditional(headers: &HeaderMap, signed: Bytes, etag: &str, max_age: u32) -> Response {
    let held = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut response = if held {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/cose"),
            )],
            signed,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("ASCII"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The issuers verifiers trust, signed by the trust root (COSE_Sign1, `licence verify
/// --trust`). Public; with an ETag, and 304 to a device that holds it already.
#[utoipa::path(get, path = "/trust-list",
    responses((status = 200, content_type = "application/cose", description = "the trust list, signed by the trust root",
               headers(("ETag" = String, description = "the SHA-256 of the body, its first 16 bytes in hex, quoted"))),
              (status = 304, description = "the list named in If-None-Match is current")))]
pub async fn trust_list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed = Bytes::from(state.trust.signed.clone());
    let etag = document_etag(&signed);
    conditional(&headers, signed, &etag, 3600)
}

/// The IACA root of the platform's mDLs (ISO/IEC 18013-5 Annex B), PEM: what a verifier
/// abroad loads to check the e-licence as an mdoc. Public.
#[utoipa::path(get, path = "/mdoc/iaca",
    responses((status = 200, content_type = "application/x-pem-file", description = "the IACA root certificate, PEM",
               headers(("ETag" = String, description = "the SHA-256 of the body, its first 16 bytes in hex, quoted"))),
              (status = 304, description = "the certificate named in If-None-Match is current")))]
pub async fn mdoc_iaca(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let pem = Bytes::from(state.mdoc.root.pem());
    let etag = document_etag(&pem);
    let mut response = conditional(&headers, pem, &etag, 3600);
    if response.status() == StatusCode::OK {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        );
    }
    response
}

/// Whether this instance serves: 200 when its store answers, else 503 with `Retry-After`.
/// For the load balancer in front; answered even when every work slot is taken.
#[utoipa::path(get, path = "/health",
    responses((status = 200, body = licence_api::Health),
              (status = 503, description = "the store does not answer", body = crate::error::ErrorBody)))]
pub async fn health(
    State(state): State<AppState>,
) -> Result<ApiJson<licence_api::Health>, ApiError> {
    with_store(&state, |s| s.ping()).await?;
    Ok(ApiJson(licence_api::Health {
        status: "ok".into(),
    }))
}

/// Which issuer key's status list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusListQuery {
    /// The issuer key (kid) whose credentials the list speaks for; default: the key that signs
    /// credentials now. During a key rotation the previous key's list is served too.
    #[param(max_length = 64)]
    pub kid: Option<String>,
}

/// The signed status list (COSE_Sign1) of one issuer key: each issued credential's standing
/// as of at most ten seconds ago (the platform's setting). Public, cached for a minute; with an ETag, and 304 to a
/// device that holds the current list.
#[utoipa::path(get, path = "/status-list", params(StatusListQuery),
    responses((status = 200, content_type = "application/cose", description = "the signed status list",
               headers(("ETag" = String, description = "the SHA-256 of the body, its first 16 bytes in hex, quoted"))),
              (status = 304, description = "the list named in If-None-Match is current"),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, description = "no issuer key of this platform with this kid signs now", body = crate::error::ErrorBody)))]
pub async fn status_list(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<StatusListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kid = query.kid.unwrap_or_else(|| state.issuer.kid().to_owned());
    let key = state
        .issuers()
        .find(|key| key.kid() == kid)
        .filter(|key| key.window().is_some_and(|w| in_window(w, now())))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_issuer_key",
                "本平台没有此签发密钥，或其有效期已过",
                "No issuer key of this platform with this kid signs now",
            )
        })?;
    let list = state.status_lists.of(&state, key).await?;
    Ok(conditional(
        &headers,
        list.signed,
        &list.etag,
        STATUS_CACHE_SECONDS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: &str) -> LicenceStatus {
        code.parse().unwrap()
    }

    #[test]
    fn the_digest_follows_the_content_only() {
        let entries = [(0, status("A")), (1, status("G"))];
        let digest = content_digest("k1", 1024, &entries);
        assert_eq!(digest, content_digest("k1", 1024, &entries));
        assert_ne!(digest, content_digest("k2", 1024, &entries));
        assert_ne!(digest, content_digest("k1", 2048, &entries));
        assert_ne!(
            digest,
            content_digest("k1", 1024, &[(0, status("A")), (1, status("A"))])
        );
        assert_ne!(digest, content_digest("k1", 1024, &entries[..1]));
    }

    #[test]
    fn a_held_tag_gets_304_and_any_other_the_document() {
        let etag = document_etag(b"list");
        let ask = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            }
            let r = conditional(&headers, Bytes::from_static(b"list"), &etag, 60);
            assert_eq!(r.headers()[header::ETAG], etag.as_str());
            assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=60");
            r.status()
        };
        assert_eq!(ask(None), StatusCode::OK);
        assert_eq!(ask(Some(&etag)), StatusCode::NOT_MODIFIED);
        assert_eq!(
            ask(Some(&format!("\"x\", {etag}"))),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(ask(Some(&format!("W/{etag}"))), StatusCode::NOT_MODIFIED);
        assert_eq!(ask(Some("\"0123\"")), StatusCode::OK);
    }
}
