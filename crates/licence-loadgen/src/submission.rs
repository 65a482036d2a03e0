//! One submission over HTTP: its JSON body, the loopback source addresses connections come
//! from, and one attempt sent and its answer read to the end.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use bytes::buf::Chain;
use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use licence_api::{NewApplication, PhotoSource};

use crate::database::Driver;

/// The JSON body of a submission (licence-api's `NewApplication`), serialised once around the
/// photo, which is most of it; only the key changes from one driver to the next.
#[derive(Clone)]
pub struct Submission {
    before_key: Bytes,
    after_key: Bytes,
}

impl Submission {
    pub fn new(photo: &[u8]) -> Submission {
        // Base64 has no braces, so the placeholder stands once in the JSON, as it is.
        const KEY: &str = "{key}";
        let json = serde_json::to_string(&NewApplication {
            idempotency_key: KEY.into(),
            photo_source: PhotoSource::Album,
            photo: Some(base64::engine::general_purpose::STANDARD.encode(photo)),
        })
        .expect("plain data");
        let (before, after) = json.split_once(KEY).expect("the key is in the body");
        Submission {
            before_key: Bytes::from(before.to_owned()),
            after_key: Bytes::from(after.to_owned()),
        }
    }

    /// The body of `key`'s submission. It shares the photo with every other phone's: a phone
    /// of the generator costs no copy of it, as a real phone costs the platform's machines
    /// nothing (the generator shares their cores).
    pub(crate) fn body(&self, key: &str) -> SubmissionBody {
        SubmissionBody {
            before_key: self.before_key.clone(),
            key: Bytes::copy_from_slice(key.as_bytes()),
            after_key: self.after_key.clone(),
        }
    }
}

/// One submission's body in its three pieces, sent one after the other.
#[derive(Clone)]
pub(crate) struct SubmissionBody {
    before_key: Bytes,
    key: Bytes,
    after_key: Bytes,
}

/// What a request carries: the pieces chained, written without being joined.
pub(crate) type RequestBody = Full<Chain<Chain<Bytes, Bytes>, Bytes>>;

impl SubmissionBody {
    fn request_body(&self) -> RequestBody {
        Full::new(
            self.before_key
                .clone()
                .chain(self.key.clone())
                .chain(self.after_key.clone()),
        )
    }

    #[cfg(test)]
    fn to_vec(&self) -> Vec<u8> {
        [&self.before_key[..], &self.key[..], &self.after_key[..]].concat()
    }
}

/// `127.0.x.y` number `k` (from 127.0.0.1).
pub(crate) fn source_address(k: usize) -> IpAddr {
    let n = k % (250 * 250);
    IpAddr::V4(Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250) as u8 + 1))
}

/// Which HTTP the phones speak. The app speaks HTTP/2 (negotiated in TLS), where a
/// refused request ends its stream and the connection carries on; over HTTP/1.1 the platform
/// reads a photo-sized body it refuses, to keep the connection, and closes one with a larger
/// body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HttpVersion {
    #[value(name = "1.1")]
    Http1,
    /// HTTP/2 with prior knowledge (h2c: the platform serves plain HTTP on loopback).
    #[value(name = "2")]
    Http2,
}

/// One connection's sending half, of either version.
pub(crate) enum Sender {
    Http1(hyper::client::conn::http1::SendRequest<RequestBody>),
    Http2(hyper::client::conn::http2::SendRequest<RequestBody>),
}

impl Sender {
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2(s) => s.is_closed(),
        }
    }

    async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Sender::Http1(s) => s.ready().await,
            Sender::Http2(s) => s.ready().await,
        }
    }

    async fn send(
        &mut self,
        request: hyper::Request<RequestBody>,
    ) -> hyper::Result<hyper::Response<hyper::body::Incoming>> {
        match self {
            Sender::Http1(s) => s.send_request(request).await,
            Sender::Http2(s) => s.send_request(request).await,
        }
    }
}

pub(crate) async fn connect(
    server: SocketAddr,
    local: IpAddr,
    version: HttpVersion,
) -> std::io::Result<Sender> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    let io = TokioIo::new(stream);
    Ok(match version {
        HttpVersion::Http1 => {
            let (sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(std::io::Error::other)?;
            tokio::spawn(connection);
            Sender::Http1(sender)
        }
        HttpVersion::Http2 => {
            let (sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(std::io::Error::other)?;
            tokio::spawn(connection);
            Sender::Http2(sender)
        }
    })
}

/// How long a request (or a connection) may take before it counts as unanswered.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An answer, read to its end.
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// `Retry-After` in whole seconds.
    pub(crate) retry_after: Option<u64>,
    /// The application's id, for a 201 or a 200.
    pub(crate) id: Option<i64>,
    /// The server said it closes the connection.
    pub(crate) close: bool,
}

/// Why no answer came.
pub(crate) enum Failure {
    /// The kept connection turned out closed before the request went out: nothing sent.
    Unsent,
    /// Sent (perhaps in part), and no answer: stored or not.
    Lost,
}

/// Sends one submission and reads the whole answer, refusals' bodies too: an HTTP/1
/// connection can carry the next request only once this one's answer has been read.
pub(crate) async fn submit(
    sender: &mut Sender,
    server: SocketAddr,
    driver: &Driver,
    body: &SubmissionBody,
) -> Result<Reply, Failure> {
    sender.ready().await.map_err(|_| Failure::Unsent)?;
    // Absolute: HTTP/2 takes the authority from it (HTTP/1.1 sends the path and Host).
    let uri = match sender {
        Sender::Http1(_) => "/api/v1/applications".to_owned(),
        Sender::Http2(_) => format!("http://{server}/api/v1/applications"),
    };
    let request = hyper::Request::post(uri)
        .header(hyper::header::HOST, server.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", driver.token),
        )
        .body(body.request_body())
        .expect("a well-formed request");
    let response = sender.send(request).await.map_err(|e| {
        // Canceled: the connection closed before the request was written.
        if e.is_canceled() {
            Failure::Unsent
        } else {
            Failure::Lost
        }
    })?;
    let status = response.status().as_u16();
    let headers = response.headers();
    let retry_after = headers
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let close = headers
        .get(hyper::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|_| Failure::Lost)?
        .to_bytes();
    let id = if matches!(status, 200 | 201) {
        // An acknowledgement without the application's id is no acknowledgement.
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| Failure::Lost)?;
        Some(json["id"].as_i64().ok_or(Failure::Lost)?)
    } else {
        None
    };
    Ok(Reply {
        status,
        retry_after,
        id,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_stay_on_loopback_and_differ() {
        assert_eq!(source_address(0), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(source_address(251), IpAddr::V4(Ipv4Addr::new(127, 0, 1, 2)));
        assert!((0..1000).all(|k| source_address(k).is_loopback()));
    }

    #[test]
    fn the_body_is_json_with_the_key() {
        let body = Submission::new(&[0xFF, 0xD8, 1, 2]).body("load-7").to_vec();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["idempotency_key"], "load-7");
        assert_eq!(json["photo_source"], "album");
        assert_eq!(json["photo"], "/9gBAg==");
        let back: NewApplication = serde_json::from_slice(&body).unwrap();
        assert_eq!(back.photo_source, PhotoSource::Album);
    }
}
