//! `rtc-assist serve`: binds the signaling server and runs it until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::cli::{ClusterArgs, LimitArgs, ServeArgs};
use crate::cmd::ice_servers::server_ice;
use crate::serve::faults::Fault;
use crate::serve::origin::AllowedOrigins;
use crate::serve::server_ice::ServerIce;
use crate::serve::turn::limits::TurnLimits;
use crate::serve::cluster::{Cluster, ClusterOptions};
use crate::serve::{Access, Limits, Server, ServerConfig, TokenKey, TurnOptions};
use crate::stun_turn::shim::needs_shim;
use crate::tls;

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
