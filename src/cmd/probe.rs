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
use crate::stun_turn::{TurnTarget, probe_turn};
use crate::ui::{Style, render_probe, render_turn};

/// The TURN servers to test, each with its credentials.
fn turn_targets(args: &ProbeArgs) -> anyhow::Result<Vec<TurnTarget>> {
    let (username, credential) = match (&args.turn_secret, &args.username, &args.credential) {
        (Some(secret), user, _) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            rest_credentials(secret, user.as_deref().unwrap_or("rtc-assist"), now, 3600)
        }
        (None, u, c) => (u.clone().unwrap_or_default(), c.clone().unwrap_or_default()),
    };
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
                }
            }
        }
    }
    if targets.iter().any(|t| t.username.is_empty() || t.credential.is_empty()) {
        bail!("TURN needs credentials: --username/--credential, --turn-secret, or the ones in --ice-servers");
    }
    Ok(targets)
}

pub async fn run(args: ProbeArgs, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let style = Style::detect(args.json);
    let targets = turn_targets(&args)?;
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
        .into_iter()
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
    let healthy =
        signaling.as_ref().is_none_or(|r| r.findings.is_empty()) && turn.iter().all(|t| t.verdict.ok);
    if style.json {
        let mut v = match &signaling {
            Some(r) => serde_json::from_str(&render_probe(r, true))?,
            None => serde_json::json!({ "findings": [] }),
        };
        v["turn"] = serde_json::to_value(&turn)?;
        v["healthy"] = healthy.into();
        println!("{v}");
    } else {
        if let Some(r) = &signaling {
            println!("{}", render_probe(r, false));
        }
        if !turn.is_empty() {
            println!("{}", render_turn(&turn));
        }
    }
    Ok(if healthy { Outcome::Success } else { Outcome::Problem })
}
