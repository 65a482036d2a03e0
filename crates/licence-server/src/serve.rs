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
//! - Behind a load balancer, every connection comes from the balancer's address. The
//!   balancers named as trusted proxies send the PROXY protocol header (v2 or v1, HAProxy's
//!   `send-proxy-v2`) before anything else; the client's address in it is the one every
//!   per-address limit counts, and the connection cap is taken on it, not on the balancer.
//!   A trusted peer that sends no valid header within the handshake time is closed.
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
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub per_address: usize,
    /// How long open requests may finish after a stop is asked for.
    pub drain: Duration,
    /// Load balancers whose connections begin with a PROXY protocol header naming the
    /// client (none by default: every peer is a client).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(20),
            per_address: 256,
            drain: Duration::from_secs(10),
            trusted_proxies: Arc::new([]),
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
        let from_proxy = limits
            .trusted_proxies
            .iter()
            .any(|n| n.contains(&peer.ip()));
        // A balancer's connections are counted on the client each names, below.
        let counted = if from_proxy {
            None
        } else {
            let Some(counted) = open.take(peer.ip(), limits.per_address) else {
                refused_at_accept(peer.ip(), limits.per_address);
                continue;
            };
            Some(counted)
        };
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let (open, limits) = (open.clone(), limits.clone());
        tokio::spawn(async move {
            let mut stream = stream;
            let (peer, _counted) = if from_proxy {
                let told =
                    tokio::time::timeout(limits.handshake_timeout, proxy_header(&mut stream));
                let client = match told.await {
                    Ok(Ok(Some(client))) => client,
                    // LOCAL (the balancer's own health check): the balancer is the client.
                    Ok(Ok(None)) => peer,
                    Ok(Err(e)) => {
                        tracing::warn!(proxy = %peer.ip(), error = %e, "bad PROXY header");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!(proxy = %peer.ip(), "no PROXY header in time");
                        return;
                    }
                };
                let Some(counted) = open.take(client.ip(), limits.per_address) else {
                    refused_at_accept(client.ip(), limits.per_address);
                    return;
                };
                (client, Some(counted))
            } else {
                (peer, counted)
            };
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

fn refused_at_accept(address: IpAddr, cap: usize) {
    tracing::warn!(
        peer = %address,
        cap,
        "connection refused: too many open from this address"
    );
}

/// The longest PROXY header: v2's 16 bytes and an address block (IPv6 with its TLVs, as
/// HAProxy sends them, stays far below); v1's line is at most 107 bytes.
const PROXY_HEADER_MAX: usize = 16 + 512;

/// Reads the PROXY protocol header a trusted balancer sends first, and nothing after it:
/// the client's address, or `None` for a connection the balancer makes for itself (a health
/// check: LOCAL, or v1's UNKNOWN).
async fn proxy_header(stream: &mut tokio::net::TcpStream) -> Result<Option<SocketAddr>, String> {
    use tokio::io::AsyncReadExt;
    const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
    // The shortest header there is: v1's "PROXY UNKNOWN\r\n".
    let mut header = vec![0u8; 15];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|e| e.to_string())?;
    if header.starts_with(V2_SIGNATURE) {
        header.push(stream.read_u8().await.map_err(|e| e.to_string())?);
        let length = usize::from(u16::from_be_bytes([header[14], header[15]]));
        if 16 + length > PROXY_HEADER_MAX {
            return Err(format!("a v2 header of {length} address bytes"));
        }
        header.resize(16 + length, 0);
        stream
            .read_exact(&mut header[16..])
            .await
            .map_err(|e| e.to_string())?;
    } else if header.starts_with(b"PROXY ") {
        // v1: a line; read byte by byte so that nothing after it is taken.
        while !header.ends_with(b"\r\n") {
            if header.len() >= 107 {
                return Err("a v1 line without its end".into());
            }
            header.push(stream.read_u8().await.map_err(|e| e.to_string())?);
        }
    } else {
        return Err("the connection does not begin with a PROXY header".into());
    }
    client_address(&header)
}

/// The client's address in a whole PROXY header (v1 or v2).
fn client_address(header: &[u8]) -> Result<Option<SocketAddr>, String> {
    use ppp::{v1, v2, HeaderResult};
    match HeaderResult::parse(header) {
        HeaderResult::V2(Ok(h)) => match (h.command, h.addresses) {
            (v2::Command::Local, _) => Ok(None),
            (v2::Command::Proxy, v2::Addresses::IPv4(a)) => Ok(Some(SocketAddr::new(
                a.source_address.into(),
                a.source_port,
            ))),
            (v2::Command::Proxy, v2::Addresses::IPv6(a)) => Ok(Some(SocketAddr::new(
                a.source_address.into(),
                a.source_port,
            ))),
            (v2::Command::Proxy, other) => Err(format!("a client address of {other:?}")),
        },
        HeaderResult::V1(Ok(h)) => Ok(match h.addresses {
            v1::Addresses::Unknown => None,
            v1::Addresses::Tcp4(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
            v1::Addresses::Tcp6(a) => Some(SocketAddr::new(a.source_address.into(), a.source_port)),
        }),
        HeaderResult::V2(Err(e)) => Err(e.to_string()),
        HeaderResult::V1(Err(e)) => Err(e.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_read_from_either_version_of_the_proxy_header() {
        let client: SocketAddr = "203.0.113.7:50123".parse().unwrap();
        let balancer: SocketAddr = "10.0.0.2:8443".parse().unwrap();
        let v2 = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (client, balancer),
        )
        .build()
        .unwrap();
        assert_eq!(client_address(&v2), Ok(Some(client)));
        let v1 = b"PROXY TCP4 203.0.113.7 10.0.0.2 50123 8443\r\n";
        assert_eq!(client_address(v1), Ok(Some(client)));
        let six = b"PROXY TCP6 2001:db8::1 2001:db8::2 50123 8443\r\n";
        assert_eq!(
            client_address(six),
            Ok(Some("[2001:db8::1]:50123".parse().unwrap()))
        );
        // The balancer's own checks name nobody.
        assert_eq!(client_address(b"PROXY UNKNOWN\r\n"), Ok(None));
        let local = ppp::v2::Builder::new(
            ppp::v2::Version::Two | ppp::v2::Command::Local,
            ppp::v2::AddressFamily::Unspecified | ppp::v2::Protocol::Unspecified,
        )
        .build()
        .unwrap();
        assert_eq!(client_address(&local), Ok(None));
        assert!(client_address(b"PROXY TCP4 nonsense\r\n").is_err());
    }

    /// Over a real socket: the header is taken and nothing after it, and a peer that sends
    /// something else, or too long a header, is refused.
    #[tokio::test]
    async fn only_the_header_is_read_from_the_connection() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let send = |bytes: Vec<u8>| async move {
            let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
            client.write_all(&bytes).await.unwrap();
            client
        };
        let mut sent = b"PROXY TCP4 198.51.100.9 127.0.0.1 4000 443\r\nGET / HTTP/1.1\r\n".to_vec();
        let _client = send(sent.clone()).await;
        let (mut stream, _) = listener.accept().await.unwrap();
        assert_eq!(
            proxy_header(&mut stream).await,
            Ok(Some("198.51.100.9:4000".parse().unwrap()))
        );
        let mut rest = vec![0u8; 16];
        stream.read_exact(&mut rest).await.unwrap();
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");

        sent = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        let _client = send(sent).await;
        let (mut stream, _) = listener.accept().await.unwrap();
        assert!(proxy_header(&mut stream).await.is_err());

        let mut long = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
        long.extend(0xFFFFu16.to_be_bytes());
        let _client = send(long).await;
        let (mut stream, _) = listener.accept().await.unwrap();
        assert!(proxy_header(&mut stream).await.is_err());
    }
}
