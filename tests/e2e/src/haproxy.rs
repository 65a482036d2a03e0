//! HAProxy (Debian's) in front of several instances of the platform, on loopback, for tests
//! and benchmarks: TCP mode, so that each instance keeps its own TLS (or plain HTTP on
//! loopback) and HTTP/2; each connection handed on with a PROXY v2 header naming the client
//! (the instances run with `--trusted-proxy 127.0.0.1`); instances health-checked on
//! `/api/v1/health` every half second, so that a dead one is out within a second; a
//! connection an instance refuses is tried on another.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Haproxy {
    child: Child,
    /// Where clients connect.
    pub address: SocketAddr,
    config: PathBuf,
}

/// The configuration for `backends`, listening on `port`.
pub fn config(port: u16, backends: &[SocketAddr]) -> String {
    let mut text = format!(
        "global\n\
         \x20   maxconn 4000\n\
         defaults\n\
         \x20   mode tcp\n\
         \x20   timeout connect 1s\n\
         \x20   timeout client 60s\n\
         \x20   timeout server 60s\n\
         \x20   timeout check 1s\n\
         \x20   retries 2\n\
         \x20   option redispatch\n\
         frontend platform\n\
         \x20   bind 127.0.0.1:{port}\n\
         \x20   default_backend instances\n\
         backend instances\n\
         \x20   balance roundrobin\n\
         \x20   option httpchk GET /api/v1/health\n\
         \x20   http-check expect status 200\n\
         \x20   default-server send-proxy-v2 check-send-proxy check inter 500ms fall 2 rise 1\n"
    );
    for (i, backend) in backends.iter().enumerate() {
        text.push_str(&format!("    server instance{i} {backend}\n"));
    }
    text
}

impl Haproxy {
    /// Starts HAProxy in front of `backends`, its configuration written into `dir`; returns
    /// once it accepts connections.
    pub fn start(dir: &Path, backends: &[SocketAddr]) -> Result<Haproxy, String> {
        let port = crate::free_port().map_err(|e| e.to_string())?;
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, self::config(port, backends)).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("haproxy.log")).map_err(|e| e.to_string())?;
        let child = Command::new(haproxy_binary())
            // -db: in the foreground, stopped with the test.
            .args(["-db", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting haproxy: {e}"))?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(address).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "haproxy did not listen on {address}: {}",
                    std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Haproxy {
            child,
            address,
            config,
        })
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }
}

/// `haproxy` from PATH, or where Debian puts it (`/usr/sbin`, not on every user's PATH).
fn haproxy_binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/haproxy");
    if sbin.exists() {
        sbin
    } else {
        PathBuf::from("haproxy")
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_instance_gets_the_proxy_header_and_a_health_check() {
        let text = super::config(
            8000,
            &[
                "127.0.0.1:9001".parse().unwrap(),
                "127.0.0.1:9002".parse().unwrap(),
            ],
        );
        assert!(text.contains("bind 127.0.0.1:8000"));
        assert!(text.contains("server instance0 127.0.0.1:9001\n"));
        assert!(text.contains("server instance1 127.0.0.1:9002\n"));
        assert!(text.contains("default-server send-proxy-v2 check-send-proxy"));
        assert!(text.contains("option httpchk GET /api/v1/health"));
    }
}
