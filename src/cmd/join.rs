//! `rtc-assist join ROOM`: one real peer through a signaling server; prints the timeline as it
//! happens and a closing summary; exit 1 when it never connected or `--expect-audio` failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::cli::JoinArgs;
use crate::client::{self, ClientError, ClientOptions};
use crate::cmd::ice_servers::{as_ice_servers, ice_targets};
use crate::peer::{PeerOptions, bind_for_url};
use crate::sansio::summary::Summary;
use crate::sansio::timeline::Event;
use crate::ui::{Recorder, Style, render_summary};

pub fn options(args: &JoinArgs) -> anyhow::Result<ClientOptions> {
    let mut peer = PeerOptions::new(args.bind.unwrap_or_else(|| bind_for_url(&args.server)));
    peer.check_interval = Duration::from_millis(args.ice.ice_check_interval_ms);
    peer.relay_only = args.relay_only;
    peer.turn_ca = args.turn_ca.clone();
    let (targets, stuns) = ice_targets(&args.servers)?;
    peer.ice_servers = as_ice_servers(&targets, &stuns);
    Ok(ClientOptions {
        duration: args.duration.map(Duration::from_secs_f64),
        record: args.record.clone(),
        ..ClientOptions::new(args.server.clone(), args.room.clone(), args.source.clone(), peer)
    })
}

/// Runs a client with `rec` and judges the result: summary printed, outcome returned.
pub async fn run_client(
    opts: ClientOptions,
    rec: Arc<Recorder>,
    expect_audio: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let result = client::run(opts, rec.clone(), shutdown).await;
    let mut failed = false;
    match result {
        Ok(()) => {}
        Err(e @ (ClientError::Signaling(_) | ClientError::Join(_))) => {
            rec.record(Event::Error { message: e.to_string() });
            failed = true;
        }
        Err(e) => return Err(e.into()),
    }
    let timeline = rec.timeline();
    let summary = Summary::from_timeline(&timeline);
    let unheard = if expect_audio { summary.unheard_peers(timeline.end_ms()) } else { Vec::new() };
    println!("{}", render_summary(&summary, rec.style(), rec.elapsed_ms(), &unheard, rec.label()));
    failed |= !summary.ever_connected || !unheard.is_empty();
    Ok(if failed { Outcome::Problem } else { Outcome::Success })
}

pub async fn run(args: JoinArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let rec = Arc::new(Recorder::new(Instant::now(), Style::detect(args.json), None));
    run_client(options(&args)?, rec, args.expect_audio, shutdown).await
}
