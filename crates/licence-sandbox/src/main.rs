//! `licence-sandbox`: the identity platform, SMS gateway and Alipay sandbox on one port.

use clap::Parser;

/// Sandbox of the platform's outside services (identity platform, SMS gateway, Alipay).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; loopback only, as it accepts anything.
    #[arg(long, env = "LICENCE_SANDBOX_LISTEN", default_value = "127.0.0.1:8090")]
    listen: std::net::SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "the sandbox listens on loopback only (127.0.0.1 or ::1), not {}",
        args.listen.ip()
    );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    // Tests and `cargo xtask run` read this line to learn the port.
    println!(
        "licence-sandbox listening on http://{}",
        listener.local_addr()?
    );
    licence_sandbox::serve(listener).await?;
    Ok(())
}
