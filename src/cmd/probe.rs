//! `rtc-assist probe`: the end-to-end signaling check (`probe ws://…`) and/or TURN allocation
//! tests (`--turn URL`, `--ice-servers JSON`); exit 0 healthy, 1 a problem found, 2 the probe
//! could not run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::Outcome;
use crate::cli::ProbeArgs;
use crate::peer::PeerOptions;
use crate::probe::{self, ProbeOptions};
use crate::sansio::ice_url::{IceUrl, rest_credentials};
use crate::sansio::protocol::parse_ice_servers_json;
use std::collections::BTreeMap;

use crate::probe::gather::gather;
use crate::sansio::gather::{Allocation, GatherReport, analyse};
use crate::sansio::protocol::IceServer;
use crate::stun_turn::{TurnReport, TurnTarget, probe_turn};
use crate::ui::{Style, render_gather, render_probe, render_turn};

/// The TURN servers to test (each with its credentials) and the STUN URLs.
fn ice_targets(args: &ProbeArgs) -> anyhow::Result<(Vec<TurnTarget>, Vec<IceUrl>)> {
    let (username, credential) = match (&args.turn_secret, &args.username, &args.credential) {
        (Some(secret), user, _) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            rest_credentials(secret, user.as_deref().unwrap_or("rtc-assist"), now, 3600)
        }
        (None, u, c) => (u.clone().unwrap_or_default(), c.clone().unwrap_or_default()),
    };
    let mut stuns = args.stun.clone();
    let mut targets: Vec<TurnTarget> = args
        .turn
        .iter()
        .map(|url| TurnTarget {
            url: url.clone(),
            username: username.clone(),
            credential: credential.clone(),
        })
        .collect();
    if let Some(spec) = &args.ice_servers {
        let text = match spec.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
            None => spec.clone(),
        };
        let servers = parse_ice_servers_json(&text).map_err(|e| anyhow::anyhow!("--ice-servers: {e}"))?;
        for s in servers {
            for u in &s.urls {
                let url = IceUrl::parse(u).with_context(|| format!("--ice-servers: {u:?}"))?;
                if url.is_turn() {
                    targets.push(TurnTarget {
                        url,
                        username: s.username.clone().unwrap_or_else(|| username.clone()),
                        credential: s.credential.clone().unwrap_or_else(|| credential.clone()),
                    });
                } else {
                    stuns.push(url);
                }
            }
        }
    }
    if targets.iter().any(|t| t.username.is_empty() || t.credential.is_empty()) {
        bail!("TURN needs credentials: --username/--credential, --turn-secret, or the ones in --ice-servers");
    }
    Ok((targets, stuns))
}

/// Gathers with every configured server and reads the result against the TURN tests.
async fn gather_report(
    targets: &[TurnTarget],
    stuns: &[IceUrl],
    turn: &[TurnReport],
    bind: std::net::IpAddr,
    limit: Duration,
) -> anyhow::Result<GatherReport> {
    let mut opts = PeerOptions::new(bind);
    opts.ice_servers = targets
        .iter()
        .map(|t| IceServer {
            urls: vec![t.url.to_string()],
            username: Some(t.username.clone()),
            credential: Some(t.credential.clone()),
        })
        .chain(stuns.iter().map(|u| IceServer { urls: vec![u.to_string()], ..Default::default() }))
        .collect();
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
    let (targets, stuns) = ice_targets(&args)?;
    let bind = args.bind.unwrap_or_else(|| match &args.url {
        Some(u) => probe::bind_for(u),
        None => targets.first().map_or(std::net::IpAddr::from([127, 0, 0, 1]), |t| {
            probe::bind_for(&format!(
                "ws://{}/",
                if t.url.host.contains(':') { format!("[{}]", t.url.host) } else { t.url.host.clone() }
            ))
        }),
    });
    let step = Duration::from_secs_f64(args.step_timeout);
    let turn_tasks: Vec<_> = targets
        .iter()
        .cloned()
        .map(|t| {
            let ca = args.turn_ca.clone();
            tokio::spawn(async move { probe_turn(&t, step, bind, ca.as_deref()).await })
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
            };
            Some(probe::run(opts, shutdown).await.context("the probe could not run")?)
        }
        None => None,
    };
    let mut turn = Vec::new();
    for t in turn_tasks {
        turn.push(t.await.context("TURN probe task")?);
    }
    let gathered = if args.gather || !targets.is_empty() || !stuns.is_empty() {
        // webrtc-rs waits for every TURN allocation before `complete`: bound it like the steps.
        Some(gather_report(&targets, &stuns, &turn, bind, step * 2 + Duration::from_secs(1)).await?)
    } else {
        None
    };
    let healthy = signaling.as_ref().is_none_or(|r| r.findings.is_empty())
        && turn.iter().all(|t| t.verdict.ok)
        && gathered.as_ref().is_none_or(|g| !g.problem);
    if style.json {
        let mut v = match &signaling {
            Some(r) => serde_json::from_str(&render_probe(r, true))?,
            None => serde_json::json!({ "findings": [] }),
        };
        v["turn"] = serde_json::to_value(&turn)?;
        v["gather"] = serde_json::to_value(&gathered)?;
        v["healthy"] = healthy.into();
        println!("{v}");
    } else {
        if let Some(r) = &signaling {
            println!("{}", render_probe(r, false));
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
