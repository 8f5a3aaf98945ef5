//! `rtc-assist load URL`: the arguments checked and turned into a [`LoadOptions`], the run,
//! the closing report; exit 1 when a peer failed (or a `--pass` threshold was missed).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::cmd::args::{IceTuning, parse_duration, parse_room, parse_secret, parse_signal, parse_signal_url};
use crate::load::{self, LoadOptions};
use crate::media::codec::DEFAULT_BITRATE;
use crate::peer::{PeerOptions, bind_for_url};
use crate::signal::kind::SignalKind;
use crate::signal::secret::Secret;
use crate::ui::load::{Progress, render};
use crate::{Outcome, tls};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Signaling server, e.g. ws://127.0.0.1:8765/ws (ours or any that speaks the protocol); a
    /// WHIP/WHEP endpoint's http(s):// URL with --signal whip|whep; Janus' ws://HOST:8188.
    #[arg(value_parser = parse_signal_url)]
    pub url: String,
    /// The signaling every peer speaks: rtc-assist, whip (every peer publishes to the endpoint),
    /// whep (every peer listens), janus-echotest, janus-audiobridge, janus-videoroom, or a
    /// dialect file.
    #[arg(long, default_value = "rtc-assist", value_parser = parse_signal)]
    pub signal: SignalKind,
    /// Every peer joins this room instead of generated ones (a server whose rooms must exist,
    /// such as Janus' 1234); needs --rooms 1.
    #[arg(long, value_parser = parse_room)]
    pub room: Option<String>,
    /// Rooms in the whole run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rooms: u32,
    /// Peers per room.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub peers: u32,
    /// Peers per room that send audio [default: all]; the others only listen.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub publishers: Option<u32>,
    /// Joins per second, paced by one token bucket.
    #[arg(long, default_value = "5", value_parser = parse_rate)]
    pub rate: f64,
    /// Seconds every peer stays once the last one has joined (the measured part).
    #[arg(long, default_value = "10", value_parser = parse_duration)]
    pub duration: f64,
    /// Seconds at the start of --duration left out of loss and rate figures.
    #[arg(long, default_value = "2", value_parser = parse_warmup)]
    pub warmup: f64,
    /// Run only slice I of N of the rooms (I from 1), so several processes share one run.
    #[arg(long, default_value = "1/1", value_parser = parse_shard)]
    pub shard: (u32, u32),
    /// Refuse runs with more peers than this in this process.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub max_peers: u32,
    /// Thresholds that must hold, e.g. 'connect_p99<200ms,failed<1%,loss_p95<1%' (exit 1
    /// otherwise) [default: no peer may fail].
    #[arg(long, value_parser = crate::load::pass_expr::Thresholds::parse)]
    pub pass: Option<crate::load::pass_expr::Thresholds>,
    /// The server's statistics endpoint [default: /stats beside the WebSocket path].
    #[arg(long, value_parser = parse_http_url)]
    pub stats_url: Option<String>,
    /// NDJSON: a sample a second, then the summary object as the last line.
    #[arg(long)]
    pub json: bool,
    /// Room token for a server that requires one (a `*` room token admits every load room).
    #[arg(long, env = "RTC_ASSIST_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub token: Option<Secret>,
    /// Extra trusted CA certificate (PEM) for a wss:// server (repeatable).
    #[arg(long)]
    pub ca: Vec<std::path::PathBuf>,
    /// Address the peers bind to [default: 127.0.0.1 for a loopback server, else 0.0.0.0].
    #[arg(long)]
    pub bind: Option<IpAddr>,
    #[command(flatten)]
    pub ice: IceTuning,
}

/// `I/N` with 1 ≤ I ≤ N ≤ 1000.
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?}: expected I/N, e.g. 2/4 (slice I of N, I from 1)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if i == 0 || n == 0 || i > n || n > 1000 {
        return Err(bad());
    }
    Ok((i, n))
}

/// Zero or more seconds, at most an hour.
pub fn parse_warmup(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: expected 0 to 3600 seconds")),
    }
}

/// A positive rate no higher than 1000 a second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => Ok(r),
        _ => Err(format!("{s:?}: expected a rate between 0 and 1000 per second")),
    }
}

/// An `http://` or `https://` URL.
pub fn parse_http_url(s: &str) -> Result<String, String> {
    match s.parse::<http::Uri>() {
        Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => Ok(s.to_owned()),
        _ => Err(format!("{s:?} is not an http:// or https:// URL")),
    }
}

pub fn options(args: &LoadArgs) -> anyhow::Result<LoadOptions> {
    args.signal.check_url(&args.url).map_err(anyhow::Error::msg)?;
    if args.rooms > 1 && (args.room.is_some() || !args.signal.has_rooms()) {
        let why =
            if args.room.is_some() { "--room names the one room" } else { "its URL names the endpoint" };
        bail!("--rooms {} with --signal {}: {why}; use --rooms 1 and --peers N", args.rooms, args.signal);
    }
    if args.room.is_some() && !args.signal.has_rooms() {
        bail!("--signal {} has no rooms: its URL names the endpoint", args.signal);
    }
    // A WHEP viewer sends nothing: every peer listens.
    let publishers = if args.signal.sends() { args.publishers.unwrap_or(args.peers) } else { 0 };
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
        signal: args.signal.clone(),
        room: args.room.clone(),
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
