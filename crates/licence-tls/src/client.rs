//! The calling side: one way to make an HTTPS client, for the app and the platform alike.

use std::net::IpAddr;

use crate::TlsError;

/// The environment variable naming a PEM file of CA certificates to trust at run time, beside
/// the one the build names (`LICENCE_PLATFORM_CA` at build time).
pub const CA_CERT_ENV: &str = "LICENCE_CA_CERT";

/// The platform's CA as this build was made with it (`LICENCE_PLATFORM_CA` at build time);
/// empty when the build named none.
pub fn platform_ca() -> &'static [u8] {
    include_bytes!(concat!(env!("OUT_DIR"), "/platform-ca.pem"))
}

/// The CA certificates a client of the platform trusts: the one this build names, and those
/// in the file `LICENCE_CA_CERT` names at run time (a development CA, a test's).
pub fn configured_ca() -> Result<Vec<u8>, TlsError> {
    let mut pem = platform_ca().to_vec();
    if let Some(path) = std::env::var_os(CA_CERT_ENV) {
        let more = std::fs::read(&path).map_err(|e| {
            TlsError::Read(
                format!("{CA_CERT_ENV}={}", path.to_string_lossy()),
                e.to_string(),
            )
        })?;
        pem.push(b'\n');
        pem.extend(more);
    }
    Ok(pem)
}

/// An address a client may call: `https://…`, or `http://` to a loopback address only, where
/// nothing crosses a network.
pub fn checked_url(url: &str) -> Result<reqwest::Url, TlsError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|_| TlsError::BadUrl(url.to_owned(), "not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(TlsError::PlainHttp(url.to_owned())),
        _ => Err(TlsError::BadUrl(
            url.to_owned(),
            "neither https:// nor http://",
        )),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A client for `urls` (each checked by [`checked_url`]) over rustls, trusting the CA
/// certificates in `ca_pem` (PEM, any number) and no others. HTTPS only, unless every URL is
/// plain HTTP to loopback; a redirect from HTTPS to HTTP is refused either way.
pub fn https_client(
    builder: reqwest::ClientBuilder,
    urls: &[&str],
    ca_pem: &[u8],
) -> Result<reqwest::Client, TlsError> {
    let mut all_https = true;
    for url in urls {
        all_https &= checked_url(url)?.scheme() == "https";
    }
    let mut builder = builder.use_rustls_tls().https_only(all_https);
    if !ca_pem.is_empty() {
        let certificates = reqwest::Certificate::from_pem_bundle(ca_pem)
            .map_err(|_| TlsError::Pem("the CA".to_owned(), "certificate"))?;
        if certificates.is_empty() {
            return Err(TlsError::Pem("the CA".to_owned(), "certificate"));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| TlsError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_loopback_only() {
        for ok in [
            "https://jtgl.example.cn",
            "https://10.1.2.3:8443/api",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:8080",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert!(checked_url(ok).is_ok(), "{ok}");
        }
        for (bad, code) in [
            ("http://192.168.1.10:8080", "plain_http_refused"),
            ("http://jtgl.example.cn", "plain_http_refused"),
            ("http://localhost.example.cn", "plain_http_refused"),
            ("http://[::ffff:7f00:1]", "plain_http_refused"),
            ("ftp://127.0.0.1", "bad_url"),
            ("127.0.0.1:8080", "bad_url"),
            ("", "bad_url"),
        ] {
            assert_eq!(checked_url(bad).unwrap_err().code(), code, "{bad}");
        }
        let client = https_client(reqwest::Client::builder(), &["http://192.168.1.10"], b"");
        assert_eq!(client.unwrap_err().code(), "plain_http_refused");
        let junk = https_client(reqwest::Client::builder(), &["https://a.cn"], b"not pem");
        assert_eq!(junk.unwrap_err().code(), "bad_pem");
    }
}
