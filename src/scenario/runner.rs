//! Runs one scenario in-process: its own `serve` on an ephemeral loopback port with the
//! scenario's faults, its peers after their join delays, the probe if asked for; then judges.
//! A scenario with `[network]` runs in the network lab instead (`lab_run`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::expect::{Observed, check};
use super::junit::CaseResult;
use super::model::{OfferStyle, Scenario};
use super::{lab_run, netem};
use crate::client::{self, Behaviour, ClientOptions};
use crate::diagnose::recorder::Recorder;
use crate::diagnose::summary::Summary;
use crate::peer::PeerOptions;
use crate::probe::{self, ProbeOptions};
use crate::serve::faults::Fault;
use crate::serve::{Server, ServerConfig, TurnOptions};
use crate::signal::ice_url::rest_credentials;
use crate::signal::protocol::IceServer;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Lifetime of the TURN credentials in a scenario (longer than any scenario runs).
const TURN_TTL: Duration = Duration::from_secs(600);
/// What a lab scenario may take beyond its longest peer (lab set-up, serve, the probe).
const LAB_SLACK: Duration = Duration::from_secs(90);

pub async fn run(s: &Scenario, shutdown: CancellationToken) -> CaseResult {
    let started = Instant::now();
    let mut failures = Vec::new();
    let result = match &s.network {
        // Bounded: a lab run that hangs is dropped, and the lab with it.
        Some(net) => {
            let limit =
                s.peers.iter().map(|p| p.join_delay + p.duration).max().unwrap_or_default() + LAB_SLACK;
            tokio::time::timeout(limit, lab_run::run(s, net, shutdown))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after {} s", limit.as_secs())))
        }
        None => run_inner(s, shutdown, &mut failures).await,
    };
    let observed = match result {
        Ok(mut o) => {
            o.wall = started.elapsed();
            o
        }
        Err(e) => {
            failures.push(format!("could not run: {e:#}"));
            Observed::default()
        }
    };
    if failures.is_empty() || !observed.timelines.is_empty() {
        failures.extend(check(s, &observed));
    }
    CaseResult { name: s.name.clone(), time: started.elapsed(), failures }
}

/// How long a `join_after` peer waits for the earlier one to connect before joining anyway
/// (the expectations then say what went wrong).
const JOIN_AFTER_LIMIT: Duration = Duration::from_secs(15);

/// Returns once `rec`'s peer is connected, or after [`JOIN_AFTER_LIMIT`].
async fn connected(rec: &Recorder) {
    let wait = async {
        while !Summary::from_timeline(&rec.timeline()).ever_connected {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(JOIN_AFTER_LIMIT, wait).await;
}

async fn run_inner(
    s: &Scenario,
    shutdown: CancellationToken,
    failures: &mut Vec<String>,
) -> anyhow::Result<Observed> {
    // The runner knows the TURN secret so that it can give a peer with network conditions
    // credentials for the impaired path (a relay in front of the same TURN server).
    let secret = format!("{:032x}", rand::random::<u128>());
    let turn = s.turn.then(|| {
        let listen = SocketAddr::new(LOOPBACK, 0);
        TurnOptions::new(listen, Some(secret.clone()), TURN_TTL, true, s.faults.has(Fault::F8))
    });
    let config = ServerConfig { faults: s.faults.clone(), turn, ..ServerConfig::new(LOOPBACK) };
    let server = Server::bind(SocketAddr::new(LOOPBACK, 0), config).await?;
    let url = format!("ws://{}/ws", server.addr()?);
    let turn_addr = server.turn_addr();
    let stop_server = CancellationToken::new();
    let server_task = tokio::spawn(server.run(stop_server.clone()));
    let t0 = Instant::now();
    let room = format!("scenario-{}", s.name);
    let mut tasks = Vec::new();
    let mut recs: Vec<Arc<Recorder>> = Vec::new();
    for (i, p) in s.peers.iter().enumerate() {
        let mut peer = PeerOptions::new(LOOPBACK);
        peer.relay_only = p.relay_only;
        if let Some(conditions) = p.network {
            let turn_addr = turn_addr.context("network conditions need the TURN server")?;
            let path = netem::start(turn_addr, conditions, i as u64 + 1, stop_server.clone()).await?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            let (username, credential) = rest_credentials(&secret, &p.name, now, TURN_TTL.as_secs());
            peer.ice_servers = vec![IceServer {
                urls: vec![format!("turn:{path}?transport=udp")],
                username: Some(username),
                credential: Some(credential),
            }];
        }
        let mut opts = ClientOptions::new(url.clone(), room.clone(), p.source.clone(), peer);
        opts.duration = Some(p.duration);
        opts.behaviour =
            Behaviour { withhold_checks: p.withhold_checks, full_sdp_offer: p.offer == OfferStyle::FullSdp };
        let rec = Arc::new(Recorder::silent(t0));
        let (delay, stop, name) = (p.join_delay, shutdown.clone(), p.name.clone());
        let after = p.join_after.map(|i| Arc::clone(&recs[i]));
        let r = rec.clone();
        let task = tokio::spawn(async move {
            if let Some(earlier) = after {
                connected(&earlier).await;
            }
            tokio::time::sleep(delay).await;
            client::run(opts, r, stop).await
        });
        recs.push(rec.clone());
        tasks.push((name, rec, task));
    }
    let mut observed = Observed::default();
    for (name, rec, task) in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("peer {name}: session error: {e}")),
            Err(e) => failures.push(format!("peer {name}: task failed: {e}")),
        }
        observed.timelines.insert(name, rec.timeline());
    }
    if s.expect_probe.is_some() {
        let opts = ProbeOptions {
            url: url.clone(),
            room: probe::fresh_room(),
            peer: PeerOptions::new(LOOPBACK),
            window: Duration::from_secs(4),
            trust: None,
            token: None,
        };
        match probe::run(opts, shutdown.clone()).await {
            Ok(report) => observed.probe = Some(report.findings.into_iter().map(|f| f.code).collect()),
            Err(e) => failures.push(format!("probe could not run: {e}")),
        }
    }
    stop_server.cancel();
    let _ = server_task.await;
    Ok(observed)
}
