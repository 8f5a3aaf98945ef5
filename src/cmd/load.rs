//! `rtc-assist load URL`: the arguments checked and turned into a [`LoadOptions`], the run,
//! the closing report; exit 1 when a peer failed (or a `--pass` threshold was missed).

use std::time::Duration;

use anyhow::bail;
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::cli::LoadArgs;
use crate::load::{self, LoadOptions};
use crate::media::codec::DEFAULT_BITRATE;
use crate::peer::{PeerOptions, bind_for_url};
use crate::tls;
use crate::ui::load::{Progress, render};

pub fn options(args: &LoadArgs) -> anyhow::Result<LoadOptions> {
    let publishers = args.publishers.unwrap_or(args.peers);
    if publishers > args.peers {
        bail!("--publishers {publishers} is more than --peers {}", args.peers);
    }
    if args.warmup >= args.duration {
        bail!("--warmup {} s must be shorter than --duration {} s", args.warmup, args.duration);
    }
    let rooms = load::shard_rooms(args.rooms, args.shard).len() as u64;
    let peers = rooms * u64::from(args.peers);
    if peers > u64::from(args.max_peers) {
        bail!(
            "{peers} peers in this process is more than --max-peers {} (use --shard to split the run)",
            args.max_peers
        );
    }
    if peers == 0 {
        bail!("shard {}/{} of {} room(s) holds no room", args.shard.0, args.shard.1, args.rooms);
    }
    let mut peer = PeerOptions::new(args.bind.unwrap_or_else(|| bind_for_url(&args.url)));
    peer.check_interval = Duration::from_millis(args.ice.ice_check_interval_ms);
    Ok(LoadOptions {
        url: args.url.clone(),
        rooms: args.rooms,
        peers: args.peers,
        publishers,
        rate: args.rate,
        duration: Duration::from_secs_f64(args.duration),
        warmup: Duration::from_secs_f64(args.warmup),
        shard: args.shard,
        peer,
        trust: tls::extra_trust(&args.ca).map_err(|e| anyhow::anyhow!("--ca {e}"))?,
        token: args.token.clone(),
        stats_url: args.stats_url.clone(),
        bitrate: DEFAULT_BITRATE,
        prefix: format!("load-{:06x}", rand::random::<u32>() & 0xff_ffff),
    })
}

pub async fn run(args: LoadArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let opts = options(&args)?;
    let planned = load::shard_rooms(args.rooms, args.shard).len() * args.peers as usize;
    let progress = Box::new(Progress::new(args.json, planned));
    let (mut summary, peers) = load::run(opts, progress, shutdown).await?;
    if args.json {
        for p in &peers {
            println!("{}", serde_json::to_string(p).unwrap_or_default());
        }
    }
    let passed = match &args.pass {
        Some(thresholds) => summary.judge(&thresholds.0),
        None => summary.failed == 0,
    };
    println!("{}", render(&summary, args.json));
    Ok(if passed { Outcome::Success } else { Outcome::Problem })
}
