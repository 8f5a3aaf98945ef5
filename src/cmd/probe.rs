//! `rtc-assist probe`: the end-to-end signaling check (`probe ws://…`) and/or TURN allocation
//! tests (`--turn URL`, `--ice-servers JSON`); exit 0 healthy, 1 a problem found, 2 the probe
//! could not run.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::cmd::args::{IceTuning, parse_duration, parse_room, parse_secret, parse_signal, parse_signal_url};
use crate::cmd::ice_servers::{IceServerArgs, as_ice_servers, ice_targets};
use crate::diagnose::gather::{Allocation, GatherReport, analyse};
use crate::peer::{PeerOptions, bind_for_host, bind_for_url};
use crate::probe::endpoint::{EndpointOptions, check};
use crate::probe::gather::gather;
use crate::probe::{self, ProbeOptions};
use crate::signal::ice_url::IceUrl;
use crate::signal::kind::SignalKind;
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::stun_turn::{TurnReport, TurnTarget, probe_stun, probe_turn};
use crate::ui::{
    Spinners, Style, render_endpoint, render_gather, render_probe, render_stun, render_turn, spinner_done,
};
use crate::{Outcome, tls};

/// The room Janus' sample audiobridge and videoroom configurations create.
const JANUS_SAMPLE_ROOM: &str = "1234";

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Signaling server to check end to end, e.g. ws://127.0.0.1:8765/ws (a WHIP/WHEP
    /// endpoint's http(s):// URL with --signal whip|whep, Janus' ws://HOST:8188 with
    /// --signal janus-…).
    #[arg(value_parser = parse_signal_url, required_unless_present_any = ["turn", "ice_servers", "stun"])]
    pub url: Option<String>,
    /// The signaling the server speaks: rtc-assist (the multi-peer check), whip or whep (one
    /// publishing or listening session through the endpoint, judged by the connection rules),
    /// janus-echotest (a peer must hear itself: a one-command health check of a Janus
    /// deployment), janus-audiobridge or janus-videoroom (one peer in --room, default 1234).
    #[arg(long, default_value = "rtc-assist", value_parser = parse_signal)]
    pub signal: SignalKind,
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
    /// Room the probe peers join [default: a fresh random room; 1234, Janus' sample room, with
    /// --signal janus-audiobridge|janus-videoroom].
    #[arg(long, value_parser = parse_room)]
    pub room: Option<String>,
    /// WHIP/WHEP: offer at once and trickle candidates by PATCH (checks the endpoint's trickle
    /// support: WHIP-TRICKLE-REFUSED, WHIP-PATCH-PRECONDITION).
    #[arg(long)]
    pub trickle: bool,
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

/// Gathers with every configured server and reads the result against the TURN tests.
async fn gather_report(
    targets: &[TurnTarget],
    stuns: &[IceUrl],
    turn: &[TurnReport],
    bind: std::net::IpAddr,
    limit: Duration,
    ca: Option<std::path::PathBuf>,
) -> anyhow::Result<GatherReport> {
    let mut opts = PeerOptions::new(bind);
    opts.ice_servers = as_ice_servers(targets, stuns);
    opts.turn_ca = ca;
    let timeline = gather(&opts, limit).await.context("gathering")?;
    let urls: Vec<IceUrl> = targets.iter().map(|t| t.url.clone()).chain(stuns.iter().cloned()).collect();
    let allocations: BTreeMap<String, Allocation> = turn
        .iter()
        .map(|r| (r.url.clone(), Allocation { ok: r.verdict.ok, code: r.verdict.code.to_owned() }))
        .collect();
    Ok(analyse(&timeline, &urls, &allocations))
}

pub async fn run(args: ProbeArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let style = Style::detect(args.json);
    let trust = tls::extra_trust(&args.ca).map_err(|e| anyhow::anyhow!("--ca {e}"))?;
    if let Some(url) = &args.url {
        args.signal.check_url(url).map_err(anyhow::Error::msg)?;
    }
    if args.trickle && args.signal.trickles() {
        anyhow::bail!("--trickle is for --signal whip|whep (--signal {} always trickles)", args.signal);
    }
    if let (Some(url), false) = (&args.url, args.signal == SignalKind::RtcAssist) {
        let mut peer = PeerOptions::new(args.bind.unwrap_or_else(|| bind_for_url(url)));
        peer.check_interval = Duration::from_millis(args.ice.ice_check_interval_ms);
        // Janus ships its sample audiobridge and videoroom room as 1234.
        let room = args.room.clone().unwrap_or_else(|| {
            if args.signal.has_rooms() { JANUS_SAMPLE_ROOM.to_owned() } else { args.signal.to_string() }
        });
        let opts = EndpointOptions {
            url: url.clone(),
            signal: args.signal,
            room,
            trickle: args.trickle,
            peer,
            trust,
            token: args.token.clone(),
        };
        let report = check(opts, shutdown).await;
        println!("{}", render_endpoint(&report, style.json));
        return Ok(if report.healthy() { Outcome::Success } else { Outcome::Problem });
    }
    let (targets, stuns) = ice_targets(&args.servers)?;
    // Each TURN/STUN test binds for its own server (loopback for a loopback one, else the
    // unspecified address of its family); the signaling probe and the gathering peer for the
    // signaling URL, else the first server named.
    let bind_for = |host: &str| args.bind.unwrap_or_else(|| bind_for_host(host));
    let first_server = targets.first().map(|t| &t.url).or(stuns.first());
    let bind = args.bind.unwrap_or_else(|| match (&args.url, first_server) {
        (Some(u), _) => bind_for_url(u),
        (None, Some(s)) => bind_for_host(&s.host),
        (None, None) => std::net::IpAddr::from([127, 0, 0, 1]),
    });
    let step = Duration::from_secs_f64(args.step_timeout);
    let spinners = Spinners::new(style.json);
    let turn_tasks: Vec<_> = targets
        .iter()
        .cloned()
        .map(|t| {
            let ca = args.turn_ca.clone();
            let bar = spinners.start(&format!("TURN {}", t.url));
            let bind = bind_for(&t.url.host);
            tokio::spawn(async move {
                let report = probe_turn(&t, step, bind, ca.as_deref()).await;
                spinner_done(&bar);
                report
            })
        })
        .collect();
    let stun_tasks: Vec<_> = stuns
        .iter()
        .cloned()
        .map(|u| {
            let ca = args.turn_ca.clone();
            let bar = spinners.start(&format!("STUN {u}"));
            let bind = bind_for(&u.host);
            tokio::spawn(async move {
                let report = probe_stun(&u, step, bind, ca.as_deref()).await;
                spinner_done(&bar);
                report
            })
        })
        .collect();
    let signaling = match &args.url {
        Some(url) => {
            let mut peer = PeerOptions::new(bind);
            peer.check_interval = Duration::from_millis(args.ice.ice_check_interval_ms);
            let opts = ProbeOptions {
                url: url.clone(),
                room: args.room.clone().unwrap_or_else(probe::fresh_room),
                peer,
                window: Duration::from_secs_f64(args.window),
                trust,
                token: args.token.clone(),
            };
            let bar = spinners.start(&format!("signaling {}", redact_url(url)));
            let report = probe::run(opts, shutdown).await;
            spinner_done(&bar);
            Some(report.context("the probe could not run")?)
        }
        None => None,
    };
    let mut turn = Vec::new();
    for t in turn_tasks {
        turn.push(t.await.context("TURN probe task")?);
    }
    let mut stun = Vec::new();
    for t in stun_tasks {
        stun.push(t.await.context("STUN probe task")?);
    }
    let gathered = if args.gather || !targets.is_empty() || !stuns.is_empty() {
        // webrtc-rs waits for every TURN allocation before `complete`: bound it like the steps.
        let bar = spinners.start("gathering candidates");
        let report = gather_report(
            &targets,
            &stuns,
            &turn,
            bind,
            step * 2 + Duration::from_secs(1),
            args.turn_ca.clone(),
        )
        .await;
        spinner_done(&bar);
        Some(report?)
    } else {
        None
    };
    let healthy = signaling.as_ref().is_none_or(|r| r.findings.is_empty())
        && turn.iter().all(|t| t.verdict.ok)
        && stun.iter().all(|t| t.verdict.ok)
        && gathered.as_ref().is_none_or(|g| !g.problem);
    if style.json {
        let mut v = match &signaling {
            Some(r) => serde_json::from_str(&render_probe(r, true))?,
            None => serde_json::json!({ "findings": [] }),
        };
        v["turn"] = serde_json::to_value(&turn)?;
        v["stun"] = serde_json::to_value(&stun)?;
        v["gather"] = serde_json::to_value(&gathered)?;
        v["healthy"] = healthy.into();
        println!("{v}");
    } else {
        if let Some(r) = &signaling {
            println!("{}", render_probe(r, false));
        }
        if !stun.is_empty() {
            println!("{}", render_stun(&stun));
        }
        if !turn.is_empty() {
            println!("{}", render_turn(&turn));
        }
        if let Some(g) = &gathered {
            println!("{}", render_gather(g));
        }
    }
    Ok(if healthy { Outcome::Success } else { Outcome::Problem })
}
