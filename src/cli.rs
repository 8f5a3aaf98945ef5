//! The command line (clap derive) for every subcommand, with parsers for outside input.
// The doc comments below are clap's `--help` text, written for a terminal, not for rustdoc:
// `tone[:HZ]` and `DIR/<peer id>.ndjson` are meant literally.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::net::{IpAddr, SocketAddr};

use clap::{Args, Parser, Subcommand};

use crate::serve::faults::{Fault, Faults, parse_faults};
use crate::signal::ice_url::IceUrl;
use crate::serve::origin::Origin;
use crate::media::source::{Source, parse_source};
use crate::signal::secret::Secret;
use crate::signal::token::{DEFAULT_TTL_S, MAX_TTL_S};

#[derive(Debug, Parser)]
#[command(name = "rtc-assist", version, about = "WebRTC peer and connection diagnostic tool")]
pub struct Cli {
    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// WebSocket signaling server with rooms and an audio SFU (endpoint /ws).
    Serve(ServeArgs),
    /// Join a room as a real peer: send the microphone (or a tone or WAV file), receive, play,
    /// record and measure the others.
    Join(JoinArgs),
    /// End-to-end check of a signaling server: names the failure mode it finds (F1…F7).
    Probe(ProbeArgs),
    /// Scripted scenarios: reproduce failure modes and healthy paths, assert what is observed.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// List audio hosts, input and output devices, defaults and supported configurations.
    Devices(DevicesArgs),
    /// Run serve and two tone peers on loopback and show their timelines (no setup needed).
    Demo(DemoArgs),
    /// Mint a room token for `serve --token-secret` (prints only the token).
    Token(TokenArgs),
    /// Put load on any signaling server: many peers in rooms, connect-phase tails, loss,
    /// jitter, the server's CPU per forwarded packet.
    Load(LoadArgs),
    /// Diagnose a call after the fact from a webrtc-internals dump or an rtc-assist timeline
    /// (`join --json`, `probe --json`); `.gz` files too. Exit 0 nothing found, 1 findings, 2
    /// unreadable.
    Analyze(AnalyzeArgs),
    /// Print a shell completion script to stdout (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout: `rtc-assist man > rtc-assist.1`.
    Man,
    /// Network lab in Linux network namespaces: NATs, a UDP-blocking firewall, lossy links
    /// (root or CAP_NET_ADMIN).
    #[command(subcommand)]
    Lab(LabCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: SocketAddr,
    /// Address the server's peer connections bind to [default: the listen address, or
    /// 0.0.0.0 when listening on a wildcard].
    #[arg(long)]
    pub rtc_ip: Option<IpAddr>,
    /// Reproduce catalogued bugs on purpose: a comma-separated list of codes.
    #[arg(long, value_parser = parse_faults, default_value = "", hide_default_value = true, long_help = fault_help())]
    pub fault: Faults,
    #[command(flatten)]
    pub turn: TurnArgs,
    /// STUN or TURN server the server's own peer connections gather through (repeatable), so a
    /// server behind a NAT offers srflx and relay candidates. TURN credentials: --turn-secret
    /// (REST; then the URL is handed out to clients in joined_room too, with credentials made
    /// for each) or --username/--credential (the server's own use only). STUN URLs are handed out.
    #[arg(long = "ice-server", value_parser = parse_ice_url)]
    pub ice_server: Vec<IceUrl>,
    #[command(flatten)]
    pub ice_credentials: TurnCredentialArgs,
    /// WebSocket sessions served at once (each holds a peer connection); more get HTTP 503.
    #[arg(long, default_value_t = crate::serve::DEFAULT_MAX_SESSIONS,
          value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub max_sessions: u16,
    /// Serve everything (page, /ws, /stats) over TLS with this certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Require a room token (an HS256 JWT signed with this secret) on every WebSocket upgrade.
    #[arg(long, env = "RTC_ASSIST_TOKEN_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub token_secret: Option<Secret>,
    /// Only pages of this origin (scheme://host[:port]) may open a WebSocket (repeatable);
    /// others get HTTP 403, clients sending no Origin (the CLI) are not affected.
    #[arg(long, value_parser = Origin::parse)]
    pub allow_origin: Vec<Origin>,
    /// Write each session's side of the call to DIR/<peer id>.ndjson (the format `join --json`
    /// writes), for `rtc-assist analyze` to pair with the client's file.
    #[arg(long, value_name = "DIR")]
    pub record: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub ice: IceTuning,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `serve` as one node of a cluster (README "Cluster").
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Join a cluster whose registry is this Redis (redis://[:PASSWORD@]HOST:PORT[/DB]): rooms
    /// are placed across the nodes and a join for a room elsewhere gets a `redirect`.
    #[arg(long, env = "RTC_ASSIST_REDIS_URL", hide_env_values = true, value_parser = parse_secret,
          requires = "advertise_url")]
    pub redis: Option<Secret>,
    /// The ws:// or wss:// URL of this node's /ws that other nodes redirect clients to.
    #[arg(long, requires = "redis", value_parser = parse_advertise_url)]
    pub advertise_url: Option<String>,
    /// Take no new rooms (the rooms this node has stay until they empty).
    #[arg(long, requires = "redis")]
    pub drain: bool,
    /// Place no new room on a node with this many peer connections.
    #[arg(long, requires = "redis", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_peer_connections: Option<u32>,
}

fn parse_advertise_url(s: &str) -> Result<String, String> {
    crate::signal::protocol::validate_redirect_url(s).map_err(|e| e.message)?;
    Ok(s.to_owned())
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Room the token admits to (`*`: every room).
    #[arg(long, value_parser = parse_room)]
    pub room: String,
    /// Lifetime in seconds (at most 7 days).
    #[arg(long, default_value_t = DEFAULT_TTL_S, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_S))]
    pub ttl: u64,
    /// Who the token is for (its `sub` claim).
    #[arg(long)]
    pub identity: Option<String>,
    /// The secret serve was started with.
    #[arg(long, env = "RTC_ASSIST_TOKEN_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub token_secret: Option<Secret>,
}

#[derive(Debug, Clone, Args)]
pub struct TurnArgs {
    /// Run an embedded TURN server (UDP) and give every joining peer time-limited credentials.
    #[arg(long)]
    pub turn: bool,
    /// Where the TURN server listens [default: the listen IP, port 3478].
    #[arg(long, requires = "turn")]
    pub turn_listen: Option<SocketAddr>,
    /// Shared secret of the TURN REST credentials (of --turn, and of --ice-server TURN URLs)
    /// [default for --turn: random per run].
    #[arg(long, env = "RTC_ASSIST_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
    /// Lifetime of the handed-out credentials, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub turn_ttl: u64,
    /// Also relay to loopback, private and link-local peers (off by default, RFC 8656 §21).
    #[arg(long, requires = "turn")]
    pub turn_allow_internal_peers: bool,
    /// Concurrent TURN allocations per username; beyond it an Allocate gets 486.
    #[arg(long, requires = "turn", default_value_t = crate::serve::turn::limits::DEFAULT_USER_QUOTA,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub turn_user_quota: u32,
    /// Concurrent TURN allocations on the whole server; beyond it an Allocate gets 486.
    #[arg(long, requires = "turn", default_value_t = crate::serve::turn::limits::DEFAULT_TOTAL_QUOTA,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub turn_total_quota: u32,
}

fn fault_help() -> String {
    let mut help = String::from("Reproduce catalogued bugs on purpose (comma-separated codes):");
    for f in Fault::ALL {
        help.push_str(&format!("\n  {:<10} {}", f.code(), f.describe()));
    }
    help
}

/// What one client may do, and for how long (README "Security model").
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Seconds a client may take to send its request headers (slowloris).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_s: u64,
    /// Seconds a TLS client may take for its handshake.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub tls_handshake_timeout_s: u64,
    /// Largest WebSocket message in bytes; larger ones close the socket with 1009.
    #[arg(long, default_value_t = 2 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=64 * 1024 * 1024))]
    pub ws_max_message: u64,
    /// Largest protocol frame in bytes (at most 256 KiB); larger ones get a `too_large` error.
    #[arg(long, default_value_t = 256 * 1024, value_parser = clap::value_parser!(u64).range(1024..=256 * 1024))]
    pub max_frame: u64,
    /// Seconds between pings to each client.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub ping_interval_s: u64,
    /// Seconds without a pong before a client is closed.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub pong_timeout_s: u64,
    /// Seconds a client that joined may take to offer.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub join_timeout_s: u64,
    /// Seconds from a client's offer until its peer connection must be up.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout_s: u64,
    /// Messages per second a client may send (then `rate_limited` errors, then a close).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub message_rate: u32,
    /// Messages a client may send at once beyond the rate.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub message_burst: u32,
    /// Remote candidates one session may add.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_candidates: u32,
    /// Seconds a client may take to accept a message before it is dropped (it does not read).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub send_timeout_s: u64,
    /// WebSocket upgrades per second from one source address (burst 3×); more get 429.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub upgrades_per_ip: u32,
}

#[derive(Debug, Clone, Args)]
pub struct IceTuning {
    /// Interval between ICE connectivity checks in milliseconds (webrtc-rs default: 200).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub ice_check_interval_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct JoinArgs {
    /// Room to join.
    #[arg(value_parser = parse_room)]
    pub room: String,
    /// Signaling server URL.
    #[arg(long, default_value = "ws://127.0.0.1:8765/ws", value_parser = parse_ws_url)]
    pub server: String,
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

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Signaling server, e.g. ws://127.0.0.1:8765/ws (ours or any that speaks the protocol).
    #[arg(value_parser = parse_ws_url)]
    pub url: String,
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

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Signaling server to check end to end, e.g. ws://127.0.0.1:8765/ws.
    #[arg(value_parser = parse_ws_url, required_unless_present_any = ["turn", "ice_servers", "stun"])]
    pub url: Option<String>,
    /// Extra trusted CA certificate (PEM) for a wss:// server (repeatable); the system roots
    /// stay trusted and the server's name is always verified.
    #[arg(long)]
    pub ca: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub servers: IceServerArgs,
    /// Gather candidates with a real webrtc-rs peer using the given ICE servers (also done
    /// whenever ICE servers are given).
    #[arg(long)]
    pub gather: bool,
    /// Extra trusted CA certificate (PEM) for turns: servers; the system roots stay trusted.
    #[arg(long)]
    pub turn_ca: Option<std::path::PathBuf>,
    /// Seconds each TURN step may take.
    #[arg(long, default_value = "3", value_parser = parse_duration)]
    pub step_timeout: f64,
    /// Room the probe peers join [default: a fresh random room].
    #[arg(long, value_parser = parse_room)]
    pub room: Option<String>,
    /// Room token for a server that requires one (`rtc-assist token`).
    #[arg(long, env = "RTC_ASSIST_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub token: Option<Secret>,
    /// Seconds a probe peer may take to connect.
    #[arg(long, default_value = "4", value_parser = parse_duration)]
    pub window: f64,
    /// The whole report as one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Address the probe binds to [default: for each server, 127.0.0.1 or ::1 for a loopback one,
    /// else 0.0.0.0 or :: by its family].
    #[arg(long)]
    pub bind: Option<IpAddr>,
    #[command(flatten)]
    pub ice: IceTuning,
}

/// ICE servers given on the command line (`probe` tests them, `join` uses them).
#[derive(Debug, Clone, Args)]
pub struct IceServerArgs {
    /// TURN server URL, e.g. turn:host:3478?transport=udp (repeatable).
    #[arg(long, value_parser = parse_ice_url)]
    pub turn: Vec<IceUrl>,
    /// STUN server URL, e.g. stun:host:3478 (repeatable).
    #[arg(long, value_parser = parse_ice_url)]
    pub stun: Vec<IceUrl>,
    /// The `iceServers` array of a browser app, as JSON or @FILE.
    #[arg(long)]
    pub ice_servers: Option<String>,
    #[command(flatten)]
    pub credentials: TurnCredentialArgs,
    /// Derive time-limited TURN REST credentials from this shared secret instead.
    #[arg(long, env = "RTC_ASSIST_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
}

/// Long-term TURN credentials (`join`, `probe`, `serve --ice-server`); the other way is the
/// REST secret `--turn-secret`, which each of those commands has as well.
#[derive(Debug, Clone, Args)]
pub struct TurnCredentialArgs {
    /// TURN username.
    #[arg(long, env = "RTC_ASSIST_TURN_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// TURN password (prefer the environment variable: it stays out of shell history).
    #[arg(long, env = "RTC_ASSIST_TURN_CREDENTIAL", hide_env_values = true, conflicts_with = "turn_secret")]
    pub credential: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files (default: scenarios/*.toml).
    Run(ScenarioRunArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioRunArgs {
    /// Scenario files [default: scenarios/*.toml].
    pub files: Vec<std::path::PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<std::path::PathBuf>,
    /// Scenarios run at once (each has its own server and ports).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: u16,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// List the topologies `lab exec` builds.
    Topologies,
    /// Build a topology, run CMD inside one of its hosts, take everything down again.
    Exec(LabExecArgs),
    /// Remove lab namespaces left behind by runs that were killed.
    Cleanup,
    /// `join` with the probe's deviations (withheld checks, full-SDP offer): the peer lab
    /// scenarios run inside a namespace.
    #[command(hide = true)]
    Peer(Box<LabPeerArgs>),
}

#[derive(Debug, Args)]
pub struct LabPeerArgs {
    #[command(flatten)]
    pub join: JoinArgs,
    /// Send no connectivity checks: only the server's checks can connect us.
    #[arg(long)]
    pub withhold_checks: bool,
    /// Every candidate inside the offer, none trickled.
    #[arg(long)]
    pub full_sdp_offer: bool,
}

#[derive(Debug, Args)]
pub struct LabExecArgs {
    /// Topology name (`rtc-assist lab topologies`).
    #[arg(long)]
    pub topology: String,
    /// Host to run CMD in: client, server or turn.
    #[arg(long, default_value = "client")]
    pub host: String,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub cmd: Vec<std::ffi::OsString>,
}

/// Which input device to capture from, and the configuration to ask it for.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Capture from this input device (a name from `rtc-assist devices`) [default: the
    /// default input device].
    #[arg(long)]
    pub input_device: Option<String>,
    /// Ask the input device for this sample format (f32, i16, u16, …) [default: its default].
    #[arg(long, value_parser = crate::media::devices::parse_format)]
    pub input_format: Option<crate::media::devices::SampleFormat>,
    /// Ask the input device for this sample rate in Hz [default: its default].
    #[arg(long, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
    pub input_rate: Option<u32>,
    /// Ask the input device for this many channels [default: its default].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub input_channels: Option<u16>,
}

impl InputArgs {
    pub fn choice(&self) -> crate::media::capture::InputChoice {
        crate::media::capture::InputChoice {
            device: self.input_device.clone(),
            pinned: crate::media::devices::Pinned {
                format: self.input_format,
                rate: self.input_rate,
                channels: self.input_channels,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Instead of listing: capture from the input device for --seconds and report its
    /// negotiated format, level and dominant frequency, before and after an Opus round trip.
    #[arg(long)]
    pub check_input: bool,
    /// How long --check-input captures, in seconds.
    #[arg(long, default_value = "2", value_parser = parse_duration, requires = "check_input")]
    pub seconds: f64,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the two peers talk, in seconds.
    #[arg(long, default_value = "5", value_parser = parse_duration)]
    pub duration: f64,
    /// NDJSON output.
    #[arg(long)]
    pub json: bool,
}

pub fn parse_ws_url(s: &str) -> Result<String, String> {
    let uri: http::Uri = s.parse().map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    match uri.scheme_str() {
        Some("ws" | "wss") => {}
        _ => return Err(format!("URL {s:?} must start with ws:// or wss://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("URL {s:?} has no host"));
    }
    Ok(s.to_owned())
}

pub fn parse_ice_url(s: &str) -> Result<IceUrl, String> {
    IceUrl::parse(s).map_err(|e| e.to_string())
}

pub fn parse_room(s: &str) -> Result<String, String> {
    crate::signal::protocol::validate_room(s).map_err(|e| e.message)?;
    Ok(s.to_owned())
}

/// A secret or token from the command line or the environment: not empty, no whitespace.
pub fn parse_secret(s: &str) -> Result<Secret, String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be non-empty, without spaces or control characters".into());
    }
    Ok(Secret::new(s))
}

pub fn parse_duration(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        return Err(format!("duration {s} must be between 0 and 86400 seconds"));
    }
    Ok(v)
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Files to read; the format is recognised by content (gzip too).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// One JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Only the peer connections whose id starts with this (a peer id, a probe role, or a
    /// dump's "<rid>-<lid>" key).
    #[arg(long)]
    pub peer: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls_rooms_and_durations_are_checked() {
        assert!(parse_ws_url("ws://127.0.0.1:8765/ws").is_ok());
        assert!(parse_ws_url("wss://[::1]:9/ws").is_ok());
        for bad in ["http://x/ws", "127.0.0.1:8765", "ws://", "", "ws://a b/"] {
            assert!(parse_ws_url(bad).is_err(), "{bad}");
        }
        assert!(parse_room("r1").is_ok());
        assert!(
            parse_room("").is_err() && parse_room(&"r".repeat(65)).is_err() && parse_room("a\u{7}").is_err()
        );
        assert!(
            parse_duration("0").is_err() && parse_duration("-1").is_err() && parse_duration("NaN").is_err()
        );
        assert_eq!(parse_duration("2.5").unwrap(), 2.5);
    }

    #[test]
    fn join_parses_its_flags() {
        let cli = Cli::try_parse_from([
            "rtc-assist",
            "join",
            "r",
            "--source",
            "tone:880",
            "--duration",
            "3",
            "--json",
            "--expect-audio",
        ])
        .unwrap();
        let Command::Join(j) = cli.command else { panic!("not join") };
        assert_eq!(j.source, Some(Source::Tone { hz: 880.0 }));
        assert!(j.json && j.expect_audio);
    }

    #[test]
    fn load_arguments_refuse_hostile_values() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        for bad in ["0/4", "5/4", "1/0", "x/2", "1/", "/", "", "1/2/3", "-1/2", "1/100000"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0", "-1", "NaN", "inf", "1001", "five"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_warmup("0"), Ok(0.0));
        assert!(parse_warmup("-1").is_err() && parse_warmup("NaN").is_err());
        assert!(parse_http_url("http://127.0.0.1:8765/stats").is_ok());
        for bad in ["ws://127.0.0.1/stats", "127.0.0.1/stats", "http://", "file:///etc/passwd"] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from([
            "rtc-assist",
            "load",
            "ws://127.0.0.1:1/ws",
            "--pass",
            "failed<1%,loss_p95<1%",
        ]);
        assert!(cli.is_ok(), "{cli:?}");
        let cli = Cli::try_parse_from(["rtc-assist", "load", "ws://127.0.0.1:1/ws", "--pass", "failed<1ms"]);
        assert!(cli.is_err());
        assert!(Cli::try_parse_from(["rtc-assist", "load", "ws://127.0.0.1:1/ws", "--rooms", "0"]).is_err());
    }
}
