//! `rtc-assist demo`: the main job on built-in defaults — `serve` on a free loopback port and
//! two tone peers (440 Hz and 660 Hz) in one room, both timelines shown, each peer's summary.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::client::ClientOptions;
use crate::cmd::args::parse_duration;
use crate::cmd::join::run_client;
use crate::media::Source;
use crate::peer::PeerOptions;
use crate::serve::{Server, ServerConfig};
use crate::ui::{Printer, Style};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the two peers talk, in seconds.
    #[arg(long, default_value = "5", value_parser = parse_duration)]
    pub duration: f64,
    /// NDJSON output.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DemoArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let config = ServerConfig::new(loopback);
    let server = Server::bind(SocketAddr::new(loopback, 0), config).await?;
    let url = format!("ws://{}/ws", server.addr()?);
    let stop_server = CancellationToken::new();
    let server_task = tokio::spawn(server.run(stop_server.clone()));
    let style = Style::detect(args.json);
    if !style.json {
        println!(
            "demo: serve on {url}, peers A (tone 440 Hz) and B (tone 660 Hz) in room \"demo\" for {}s",
            args.duration
        );
    }
    let start = Instant::now();
    let peer = |label: &str, hz: f64| {
        let opts = ClientOptions {
            duration: Some(Duration::from_secs_f64(args.duration)),
            ..ClientOptions::new(url.clone(), "demo".into(), Source::Tone { hz }, PeerOptions::new(loopback))
        };
        run_client(opts, start, Printer::new(style, Some(label.to_owned())), true, shutdown.clone())
    };
    let (a, b) = tokio::join!(peer("A", 440.0), peer("B", 660.0));
    stop_server.cancel();
    let _ = server_task.await;
    Ok(if a? == Outcome::Success && b? == Outcome::Success { Outcome::Success } else { Outcome::Problem })
}
