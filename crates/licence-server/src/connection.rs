//! Connection reuse after a request whose body was not read.
//!
//! Many refusals come before the body is read: 429 and 503 from admission control, 401 for a
//! missing session, 413 for an oversized upload. Over HTTP/1.1 the rest of the body is then
//! still on the connection, and hyper can reuse the connection only once it has been read.
//!
//! - **A small body is read and dropped** before the answer goes out (at most
//!   [`DRAIN_AT_MOST`] bytes, arriving within [`DRAIN_WITHIN`]), and the connection is kept.
//!   The client has sent those bytes anyway: reading them costs a copy, where closing costs
//!   the client a new connection (a TCP and a TLS handshake, on both sides) for its next
//!   request, and in a surge every refused phone's retry would pay it (docs/performance.md).
//! - **Otherwise the answer says `Connection: close`**: a large upload (reading megabytes to
//!   refuse them would be the work the refusal saves), a body that does not come in time, and
//!   a request that asked `Expect: 100-continue` (its body was never sent: the client waits
//!   for a `100 Continue` that a refusal does not give). hyper closes such a connection once
//!   the answer is written, but the answer itself would say nothing of it; a client that pools
//!   connections, as the app's does, would put the connection back, send its next request on
//!   it and lose that request to the close.
//!
//! HTTP/2 needs neither: a refused stream ends on its own and the connection goes on.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// The largest unread body that is read to keep its connection: a portrait photo's upload
/// (the app sends ~20-40 KB), well short of what a new connection costs to set up.
pub const DRAIN_AT_MOST: u64 = 64 * 1024;

/// How long the rest of such a body may take to arrive before the connection is given up.
pub const DRAIN_WITHIN: Duration = Duration::from_secs(5);

/// Middleware on the whole router: when the handler answered without reading the request's
/// body to the end, reads a small rest and keeps the connection, or marks the answer
/// `Connection: close`.
pub async fn keep_or_close(request: Request, next: Next) -> Response {
    // HTTP/2 streams end on their own; a connection header there is forbidden.
    if request.version() > Version::HTTP_11 || request.body().is_end_stream() {
        return next.run(request).await;
    }
    let drainable = may_drain(request.headers());
    let shared = Arc::new(Shared::default());
    let request = request.map(|inner| {
        Body::new(Watched {
            inner: Some(inner),
            shared: shared.clone(),
            keep_unread: drainable,
        })
    });
    let mut response = next.run(request).await;
    if shared.read.load(Ordering::Acquire) {
        return response;
    }
    // A body that timed out once is not waited for again.
    let rest = if response.status() == StatusCode::REQUEST_TIMEOUT {
        None
    } else {
        shared.rest.lock().unwrap_or_else(|e| e.into_inner()).take()
    };
    if let Some(rest) = rest {
        if let Ok(true) = tokio::time::timeout(DRAIN_WITHIN, drain(rest)).await {
            return response;
        }
    }
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Whether a body with these headers may be read to keep the connection: it declares its
/// length, small enough, and its client is not waiting for a `100 Continue` to send it.
fn may_drain(headers: &HeaderMap) -> bool {
    declared_length(headers).is_some_and(|n| n <= DRAIN_AT_MOST)
        && !headers.contains_key(header::EXPECT)
}

/// The body's length as its `Content-Length` declares it, if it does.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads `rest` to its end, dropping it; true if it ended within [`DRAIN_AT_MOST`] bytes.
async fn drain(mut rest: Body) -> bool {
    let mut seen = 0u64;
    while let Some(frame) = rest.frame().await {
        let Ok(frame) = frame else { return false };
        if let Some(data) = frame.data_ref() {
            seen += data.len() as u64;
            if seen > DRAIN_AT_MOST {
                return false;
            }
        }
    }
    true
}

/// What the middleware learns from the body it handed on.
#[derive(Default)]
struct Shared {
    /// The handler read the body to its end.
    read: AtomicBool,
    /// The unread rest of a drainable body, left here when the handler dropped it.
    rest: Mutex<Option<Body>>,
}

/// A request body that notes when it has been read to the end, and hands back its unread
/// rest when dropped.
struct Watched {
    inner: Option<Body>,
    shared: Arc<Shared>,
    keep_unread: bool,
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.keep_unread && !self.shared.read.load(Ordering::Acquire) {
            if let Some(inner) = self.inner.take() {
                *self.shared.rest.lock().unwrap_or_else(|e| e.into_inner()) = Some(inner);
            }
        }
    }
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.shared.read.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}
