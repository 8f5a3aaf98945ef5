//! `rtc-assist probe ws://…`: the end-to-end signaling check; exit 0 healthy, 1 a failure mode
//! found, 2 the probe could not run (server unreachable, join refused).

use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::cli::ProbeArgs;
use crate::peer::PeerOptions;
use crate::probe::{self, ProbeOptions};
use crate::ui::{Style, render_probe};

pub async fn run(args: ProbeArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let style = Style::detect(args.json);
    let mut peer = PeerOptions::new(args.bind.unwrap_or_else(|| probe::bind_for(&args.url)));
    peer.check_interval = Duration::from_millis(args.ice.ice_check_interval_ms);
    let opts = ProbeOptions {
        url: args.url.clone(),
        room: args.room.clone().unwrap_or_else(probe::fresh_room),
        peer,
        window: Duration::from_secs_f64(args.window),
    };
    let report = probe::run(opts, shutdown).await.context("the probe could not run")?;
    println!("{}", render_probe(&report, style.json));
    Ok(if report.findings.is_empty() { Outcome::Success } else { Outcome::Problem })
}
