//! `rtc-assist join ROOM`: one real peer through a signaling server; prints the timeline as it
//! happens and a closing summary; exit 1 when it never connected or `--expect-audio` failed.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Behaviour, ClientError, ClientOptions};
use crate::cmd::args::{
    IceTuning, InputArgs, parse_duration, parse_room, parse_secret, parse_signal, parse_signal_url,
};
use crate::cmd::ice_servers::{IceServerArgs, as_ice_servers, ice_targets};
use crate::diagnose::recorder::Recorder;
use crate::diagnose::summary::Summary;
use crate::diagnose::timeline::Event;
use crate::media::Source;
use crate::media::devices::{self, Direction, Pinned};
use crate::media::source::parse_source;
use crate::peer::{PeerOptions, bind_for_url};
use crate::signal::kind::SignalKind;
use crate::signal::secret::Secret;
use crate::ui::{LiveView, Printer, Style, render_summary};
use crate::{Outcome, tls};

#[derive(Debug, Clone, Args)]
pub struct JoinArgs {
    /// Room to join (not with --signal whip|whep, whose URL names the endpoint, nor
    /// janus-echotest, which has no rooms).
    #[arg(value_parser = parse_room)]
    pub room: Option<String>,
    /// Signaling server URL: ws(s):// for rtc-assist's protocol and Janus (its WebSocket
    /// transport, e.g. ws://HOST:8188), the endpoint's http(s):// URL for WHIP/WHEP.
    #[arg(long, default_value = "ws://127.0.0.1:8765/ws", value_parser = parse_signal_url)]
    pub server: String,
    /// The signaling the server speaks: rtc-assist (JSON over WebSocket), whip (publish to a
    /// WHIP endpoint, RFC 9725), whep (listen to a WHEP endpoint), janus-echotest (hear
    /// yourself), janus-audiobridge (hear the room's mix) or janus-videoroom (publish).
    #[arg(long, default_value = "rtc-assist", value_parser = parse_signal)]
    pub signal: SignalKind,
    /// WHIP/WHEP: send the offer at once and trickle each candidate by PATCH (RFC 8840, with
    /// If-Match) instead of gathering first: checks the endpoint's trickle support.
    #[arg(long)]
    pub trickle: bool,
    /// Room token for a server that requires one (`rtc-assist token`).
    #[arg(long, env = "RTC_ASSIST_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub token: Option<Secret>,
    /// What to send: mic (an input device), tone[:HZ] (default 440 Hz) or file:PATH.wav (any
    /// PCM WAV, played once) [default: mic when an input device works, else tone:440].
    #[arg(long, value_parser = parse_source)]
    pub source: Option<Source>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Opus bitrate in bits per second (6000-510000).
    #[arg(long, default_value_t = crate::media::codec::DEFAULT_BITRATE,
          value_parser = clap::value_parser!(i32).range(6_000..=510_000))]
    pub bitrate: i32,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// Print the timeline as NDJSON (one event per line) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 unless audio from every other peer in the room arrived.
    #[arg(long)]
    pub expect_audio: bool,
    /// Use relay candidates only.
    #[arg(long)]
    pub relay_only: bool,
    /// Record each remote peer's decoded audio as PATH-STEM-<peer8>.wav (48 kHz mono).
    #[arg(long)]
    pub record: Option<std::path::PathBuf>,
    /// With --record: one WAV at PATH with every remote peer mixed, instead of one per peer.
    #[arg(long, requires = "record")]
    pub record_mix: bool,
    /// Do not play received audio.
    #[arg(long, conflicts_with = "output_device")]
    pub no_playback: bool,
    /// Play on this output device (a name from `rtc-assist devices`) [default: the default
    /// output device, when there is one].
    #[arg(long)]
    pub output_device: Option<String>,
    /// Extra trusted CA certificate (PEM) for a wss:// server (repeatable); the system roots
    /// stay trusted and the server's name is always verified.
    #[arg(long)]
    pub ca: Vec<std::path::PathBuf>,
    /// ICE servers to use instead of the ones joined_room hands out.
    #[command(flatten)]
    pub servers: IceServerArgs,
    /// Extra trusted CA certificate (PEM) for turns: servers; the system roots stay trusted.
    #[arg(long)]
    pub turn_ca: Option<std::path::PathBuf>,
    /// Address our peer connection binds to [default: 127.0.0.1 for a loopback server, else 0.0.0.0].
    #[arg(long)]
    pub bind: Option<IpAddr>,
    #[command(flatten)]
    pub ice: IceTuning,
}

/// Whether the device exists and offers its configuration.
fn device_works(
    direction: Direction,
    name: Option<&str>,
    pinned: Pinned,
) -> Result<(), devices::DeviceError> {
    let device = devices::find(direction, name)?;
    devices::choose_config(&device, direction, pinned).map(drop)
}

/// The source asked for, or the microphone when an input device works (a tone otherwise).
/// Naming an input device means the microphone, and a device that fails is then an error.
fn source(args: &JoinArgs) -> Source {
    let choice = args.input.choice();
    match &args.source {
        Some(Source::Mic(_)) => Source::Mic(choice),
        Some(other) => other.clone(),
        None if choice.device.is_some() => Source::Mic(choice),
        None => match device_works(Direction::Input, None, choice.pinned) {
            Ok(()) => Source::Mic(choice),
            Err(e) => {
                eprintln!("note: sending tone:440 ({e})");
                Source::Tone { hz: 440.0 }
            }
        },
    }
}

/// Where received audio plays: the named output device, else the default one when it works
/// (a note otherwise), never with `--no-playback`.
fn playback(args: &JoinArgs) -> Option<Option<String>> {
    if args.no_playback {
        return None;
    }
    if args.output_device.is_some() {
        return Some(args.output_device.clone());
    }
    match device_works(Direction::Output, None, Pinned::default()) {
        Ok(()) => Some(None),
        Err(e) => {
            eprintln!("note: not playing received audio ({e})");
            None
        }
    }
}

pub fn options(args: &JoinArgs) -> anyhow::Result<ClientOptions> {
    args.signal.check_url(&args.server).map_err(anyhow::Error::msg)?;
    if args.trickle && args.signal.trickles() {
        anyhow::bail!("--trickle is for --signal whip|whep (--signal {} always trickles)", args.signal);
    }
    let room = match (&args.room, args.signal.has_rooms()) {
        (Some(room), true) => room.clone(),
        (None, true) => anyhow::bail!("a ROOM to join is required with --signal {}", args.signal),
        (Some(_), false) => {
            anyhow::bail!("--signal {} has no rooms: its URL names the endpoint", args.signal)
        }
        (None, false) => args.signal.to_string(),
    };
    let trust = tls::extra_trust(&args.ca).map_err(|e| anyhow::anyhow!("--ca {e}"))?;
    let mut peer = PeerOptions::new(args.bind.unwrap_or_else(|| bind_for_url(&args.server)));
    peer.check_interval = Duration::from_millis(args.ice.ice_check_interval_ms);
    peer.relay_only = args.relay_only;
    peer.turn_ca = args.turn_ca.clone();
    let (targets, stuns) = ice_targets(&args.servers)?;
    peer.ice_servers = as_ice_servers(&targets, &stuns);
    Ok(ClientOptions {
        duration: args.duration.map(Duration::from_secs_f64),
        record: args.record.clone(),
        record_mix: args.record_mix,
        playback: playback(args),
        bitrate: args.bitrate,
        trust,
        token: args.token.clone(),
        signal: args.signal.clone(),
        // WHIP/WHEP: every candidate in the offer, nothing to trickle (unless --trickle).
        behaviour: Behaviour {
            full_sdp_offer: !args.signal.trickles() && !args.trickle,
            ..Behaviour::default()
        },
        // A WHEP viewer opens no device and sends nothing; its source is never opened.
        ..ClientOptions::new(
            args.server.clone(),
            room,
            if args.signal.sends() { source(args) } else { Source::Tone { hz: 440.0 } },
            peer,
        )
    })
}

/// Runs a client whose events `printer` shows as they happen and judges the result: summary
/// printed, outcome returned.
pub async fn run_client(
    opts: ClientOptions,
    start: Instant,
    printer: Printer,
    expect_audio: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let (style, label) = (printer.style(), printer.label().map(str::to_owned));
    // Where there is no room, or one mixed stream carries the room, some stream must be audible.
    let per_peer = opts.signal.has_rooms() && !opts.signal.mixes();
    let rec = Arc::new(Recorder::with_output(start, printer));
    let result = client::run(opts, rec.clone(), shutdown).await;
    rec.clear_live();
    let mut failed = false;
    let mut local_error = None;
    match result {
        Ok(()) => {}
        Err(e @ (ClientError::Signaling(_) | ClientError::Join(_))) => {
            rec.record(Event::Error { message: e.to_string() });
            failed = true;
        }
        Err(e) => local_error = Some(e),
    }
    let timeline = rec.timeline();
    let started = timeline.events().iter().any(|e| matches!(e.event, Event::SignalingConnected { .. }));
    // A local failure before the session started is only its one-line error.
    if let Some(e) = local_error.take_if(|_| !started) {
        return Err(e.into());
    }
    let summary = Summary::from_timeline(&timeline);
    let unheard = match (expect_audio, per_peer) {
        (false, _) => Default::default(),
        (true, true) => summary.unheard(timeline.end_ms()),
        (true, false) => summary.unheard_endpoint(),
    };
    println!("{}", render_summary(&summary, style, rec.elapsed_ms(), &unheard, label.as_deref()));
    if let Some(e) = local_error {
        return Err(e.into());
    }
    failed |= !summary.ever_connected || !unheard.is_empty();
    Ok(if failed { Outcome::Problem } else { Outcome::Success })
}

pub async fn run(args: JoinArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let printer = Printer::new(Style::detect(args.json), None).with_live(LiveView::for_terminal());
    run_client(options(&args)?, Instant::now(), printer, args.expect_audio, shutdown).await
}
