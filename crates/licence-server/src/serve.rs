//! The platform's connections: accepted here rather than by `axum::serve`, so that a client
//! that is slow on purpose holds nothing for long.
//!
//! - The TLS handshake must finish within `handshake_timeout`.
//! - The request head (line and headers) must arrive within `header_timeout` (HTTP/1.1;
//!   hyper's timer). A client that sends half a header is closed, not waited on.
//! - One address may hold at most `per_address` connections at once; more are closed at
//!   accept. Many phones share an address behind carrier NAT, so the default is generous.
//! - The body's own deadline and the work slot taken only once the body is in are in
//!   [`crate::admission`]: they need the request.
//!
//! HTTPS offers HTTP/2 and HTTP/1.1 by ALPN; plain HTTP (loopback only) serves both too.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::Service;

/// Bounds on connections a deployment may tune. Defaults are the product's.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub per_address: usize,
    /// How long open requests may finish after a stop is asked for.
    pub drain: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(20),
            per_address: 256,
            drain: Duration::from_secs(10),
        }
    }
}

/// Connections open per address; an entry leaves with its address's last connection.
#[derive(Default)]
struct OpenConnections(Mutex<HashMap<IpAddr, usize>>);

/// One open connection, counted against its address until dropped.
struct Counted {
    open: Arc<OpenConnections>,
    address: IpAddr,
}

impl OpenConnections {
    fn take(self: &Arc<Self>, address: IpAddr, cap: usize) -> Option<Counted> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= cap.max(1) {
            return None;
        }
        *count += 1;
        Some(Counted {
            open: self.clone(),
            address,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, then lets open requests finish for up to
/// `limits.drain`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<licence_tls::ServerConfig>>,
    app: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let open = Arc::new(OpenConnections::default());
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100)
        .keep_alive_interval(Duration::from_secs(30));
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some(counted) = open.take(peer.ip(), limits.per_address) else {
            tracing::warn!(
                peer = %peer.ip(),
                cap = limits.per_address,
                "connection refused: too many open from this address"
            );
            continue;
        };
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _counted = counted;
            match acceptor {
                None => connection(stream, peer, app, &builder, watcher).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => connection(tls, peer, app, &builder, watcher).await,
                        // A failed or stalled handshake is the client's business, not an error
                        // of ours: scanners do it all day.
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("stopping: requests still open after the drain time were cut off");
    }
}

/// One connection, HTTP/1.1 or HTTP/2, with the peer's address on every request.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        // A router is always ready; each request gets its own handle to it.
        app.clone().call(request)
    });
    let served = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(served.into_owned()).await {
        // Clients that go away mid-request, and heads that took too long, end here.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
