//! `licence-sandbox`: the identity platform, SMS gateway and Alipay sandbox on one port,
//! over HTTPS when given a certificate (as `cargo xtask run` does), else plain HTTP.

use std::path::PathBuf;

use clap::Parser;

/// Sandbox of the platform's outside services (identity platform, SMS gateway, Alipay).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; loopback only, as it accepts anything.
    #[arg(long, env = "LICENCE_SANDBOX_LISTEN", default_value = "127.0.0.1:8090")]
    listen: std::net::SocketAddr,
    /// The certificate chain (PEM) to serve HTTPS with.
    #[arg(long, env = "LICENCE_SANDBOX_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "LICENCE_SANDBOX_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "the sandbox listens on loopback only (127.0.0.1 or ::1), not {}",
        args.listen.ip()
    );
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(licence_tls::server_config(cert, key)?),
        _ => None,
    };
    let listener = std::net::TcpListener::bind(args.listen)?;
    listener.set_nonblocking(true)?;
    // Tests and `cargo xtask run` read this line to learn the address.
    println!(
        "licence-sandbox listening on {}://{}",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?
    );
    licence_sandbox::serve(listener, tls).await?;
    Ok(())
}
