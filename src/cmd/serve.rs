//! `rtc-assist serve`: binds the signaling server and runs it until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::cmd::args::{IceTuning, parse_ice_url, parse_secret};
use crate::cmd::ice_servers::{TurnCredentialArgs, server_ice};
use crate::serve::cluster::{Cluster, ClusterOptions};
use crate::serve::faults::{Fault, Faults, parse_faults};
use crate::serve::origin::{AllowedOrigins, Origin};
use crate::serve::server_ice::ServerIce;
use crate::serve::turn::limits::TurnLimits;
use crate::serve::{Access, Limits, Server, ServerConfig, TokenKey, TurnOptions};
use crate::signal::ice_url::IceUrl;
use crate::signal::secret::Secret;
use crate::stun_turn::shim::needs_shim;
use crate::{Outcome, tls};

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

/// `serve` as one node of a cluster (docs/serve.md, "Cluster").
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

/// What one client may do, and for how long (docs/security.md, "Security model").
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

fn turn_options(args: &ServeArgs) -> anyhow::Result<Option<TurnOptions>> {
    if !args.turn.turn {
        if args.fault.has(Fault::F8) {
            bail!("--fault F8 hands out static TURN credentials: it needs --turn");
        }
        return Ok(None);
    }
    let listen = args.turn.turn_listen.unwrap_or(SocketAddr::new(args.listen.ip(), 3478));
    let limits =
        TurnLimits { user_quota: args.turn.turn_user_quota, total_quota: args.turn.turn_total_quota };
    Ok(Some(TurnOptions {
        limits,
        ..TurnOptions::new(
            listen,
            args.turn.turn_secret.clone(),
            Duration::from_secs(args.turn.turn_ttl),
            args.turn.turn_allow_internal_peers,
            args.fault.has(Fault::F8),
        )
    }))
}

fn limits(l: &LimitArgs) -> Limits {
    Limits {
        header_read: Duration::from_secs(l.header_timeout_s),
        tls_handshake: Duration::from_secs(l.tls_handshake_timeout_s),
        ws_message_bytes: l.ws_max_message as usize,
        frame_bytes: l.max_frame as usize,
        ping_interval: Duration::from_secs(l.ping_interval_s),
        pong_timeout: Duration::from_secs(l.pong_timeout_s),
        join_timeout: Duration::from_secs(l.join_timeout_s),
        connect_timeout: Duration::from_secs(l.connect_timeout_s),
        message_rate: f64::from(l.message_rate),
        message_burst: l.message_burst,
        max_candidates: l.max_candidates as usize,
        send_timeout: Duration::from_secs(l.send_timeout_s),
        upgrades_per_ip: f64::from(l.upgrades_per_ip),
        ..Limits::default()
    }
}

fn cluster_options(c: &ClusterArgs) -> Option<ClusterOptions> {
    Some(ClusterOptions {
        redis: c.redis.clone()?,
        advertise_url: c.advertise_url.clone()?,
        drain: c.drain,
        max_peer_connections: c.max_peer_connections.map(|n| n as usize),
    })
}

/// One stderr line for `--ice-server` (URLs only, never a credential), and one per TURN URL
/// the server's own connections cannot use (webrtc-rs 0.21 gathers TURN over UDP only).
fn announce_ice(ice: &ServerIce) {
    if ice.urls().is_empty() {
        return;
    }
    let urls: Vec<String> = ice.urls().iter().map(ToString::to_string).collect();
    let given = match (ice.urls().iter().any(|u| u.is_turn()), ice.hands_out_turn()) {
        (true, false) => "static TURN credentials stay with the server: only STUN URLs are handed out",
        (true, true) => "handed out in joined_room, with REST credentials made for each client",
        (false, _) => "handed out in joined_room",
    };
    eprintln!("rtc-assist serve: own peer connections gather through {} ({given})", urls.join(", "));
    for url in ice.urls().iter().filter(|u| needs_shim(u)) {
        eprintln!(
            "rtc-assist serve: note: webrtc-rs gathers TURN over UDP only; the server's own connections skip {url}"
        );
    }
}

pub async fn run(args: ServeArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let rtc_ip = args.rtc_ip.unwrap_or(match args.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ip => ip,
    });
    let config = ServerConfig {
        rtc_ip,
        check_interval: Duration::from_millis(args.ice.ice_check_interval_ms),
        faults: args.fault.clone(),
        turn: turn_options(&args)?,
        ice: server_ice(
            &args.ice_server,
            &args.ice_credentials,
            args.turn.turn_secret.as_deref(),
            args.turn.turn_ttl,
        )?,
        max_sessions: usize::from(args.max_sessions),
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
            _ => None,
        },
        limits: limits(&args.limits),
        access: Access {
            tokens: match args.token_secret.clone() {
                Some(secret) => Some(Arc::new(TokenKey::new(secret).context("--token-secret")?)),
                None => None,
            },
            origins: AllowedOrigins::new(args.allow_origin.clone()),
        },
        cluster: cluster_options(&args.cluster).map(Cluster::new).transpose()?,
        record: match &args.record {
            Some(dir) => {
                std::fs::create_dir_all(dir).with_context(|| format!("--record {}", dir.display()))?;
                Some(dir.clone())
            }
            None => None,
        },
    };
    if !config.faults.is_empty() {
        let codes: Vec<&str> = config.faults.iter().map(|f| f.code()).collect();
        eprintln!("rtc-assist serve: faults on purpose: {}", codes.join(", "));
    }
    if let Some(dir) = &config.record {
        eprintln!("rtc-assist serve: recording each session to {}/<peer id>.ndjson", dir.display());
    }
    announce_ice(&config.ice);
    if config.access.tokens.is_some() {
        eprintln!("rtc-assist serve: room tokens required on /ws (HS256; mint them with `rtc-assist token`)");
    }
    if !config.access.origins.is_empty() {
        let origins: Vec<String> = config.access.origins.iter().map(ToString::to_string).collect();
        eprintln!("rtc-assist serve: WebSocket origins allowed: {}", origins.join(", "));
    }
    let server = Server::bind(args.listen, config)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = server.addr()?;
    let (ws, http) = if server.is_tls() { ("wss", "https") } else { ("ws", "http") };
    println!(
        "rtc-assist serve: signaling on {ws}://{addr}/ws (stats at {http}://{addr}/stats); Ctrl-C stops"
    );
    if let Some(c) = server.hub().config.cluster.clone() {
        let drain = if args.cluster.drain { ", draining (no new rooms)" } else { "" };
        eprintln!(
            "rtc-assist serve: cluster node {} on {} as {}{drain}",
            c.id,
            c.redis_shown(),
            c.advertise_url()
        );
    }
    if let Some(url) = server.turn_url() {
        println!("rtc-assist serve: TURN on {url}");
    }
    server.run(shutdown).await;
    Ok(Outcome::Success)
}
