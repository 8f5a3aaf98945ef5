//! `rtc-assist serve`: binds the signaling server and runs it until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::cli::ServeArgs;
use crate::server::{Server, ServerConfig};

pub async fn run(args: ServeArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let rtc_ip = args.rtc_ip.unwrap_or(match args.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ip => ip,
    });
    let config = ServerConfig {
        rtc_ip,
        check_interval: Duration::from_millis(args.ice.ice_check_interval_ms),
        faults: args.fault.clone(),
    };
    if !config.faults.is_empty() {
        let codes: Vec<&str> = config.faults.iter().map(|f| f.code()).collect();
        eprintln!("rtc-assist serve: faults on purpose: {}", codes.join(", "));
    }
    let server = Server::bind(args.listen, config)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = server.addr()?;
    println!("rtc-assist serve: signaling on ws://{addr}/ws (stats at http://{addr}/stats); Ctrl-C stops");
    server.run(shutdown).await.context("server stopped")?;
    Ok(Outcome::Success)
}
