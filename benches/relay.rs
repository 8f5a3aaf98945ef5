//! Benchmark (not a test): relay-only connect time and the relayed round-trip time, with the
//! TURN server reached over UDP versus through rtc-assist's TCP and TLS shim. Starts Debian's
//! coturn on loopback (skips with a message when `turnserver` is not installed).
//!
//! `cargo bench --bench relay [-- RUNS]` (default 5 runs per transport).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc_assist::client::{self, ClientOptions};
use rtc_assist::diagnose::recorder::Recorder;
use rtc_assist::diagnose::timeline::{Direction, Event};
use rtc_assist::media::Source;
use rtc_assist::peer::PeerOptions;
use rtc_assist::serve::{Server, ServerConfig};
use rtc_assist::signal::protocol::IceServer;
use tokio_util::sync::CancellationToken;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PASSWORD: &str = "bench-pass";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// (offer → connected ms, relayed RTT ms) of one relay-only peer pair.
async fn one_pair(url: &str, room: &str, turn: &str) -> Option<(f64, f64)> {
    let stop = CancellationToken::new();
    let mut recs = Vec::new();
    for hz in [440.0, 660.0] {
        let mut peer = PeerOptions::new(LOOPBACK);
        peer.relay_only = true;
        peer.ice_servers = vec![IceServer {
            urls: vec![turn.to_owned()],
            username: Some("alice".into()),
            credential: Some(PASSWORD.into()),
        }];
        let rec = Arc::new(Recorder::silent(Instant::now()));
        tokio::spawn(client::run(
            ClientOptions::new(url.into(), room.into(), Source::Tone { hz }, peer),
            rec.clone(),
            stop.clone(),
        ));
        recs.push(rec);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let measure = |rec: &Recorder| {
        let t = rec.timeline();
        let at = |f: &dyn Fn(&Event) -> bool| t.events().iter().find(|e| f(&e.event)).map(|e| e.t_ms as f64);
        let offer =
            at(&|e| matches!(e, Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer"))?;
        let connected = at(&|e| matches!(e, Event::ConnectionState { state } if state == "connected"))?;
        let rtt = t.events().iter().rev().find_map(|e| match &e.event {
            Event::SelectedPair { rtt_ms, .. } => *rtt_ms,
            _ => None,
        });
        Some((connected - offer, rtt))
    };
    while Instant::now() < deadline && !recs.iter().all(|r| measure(r).is_some()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let a few consent checks through the relay refresh the RTT.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a = measure(&recs[0])?;
    Some((a.0, a.1.unwrap_or(f64::NAN)))
}

fn line(label: &str, v: &mut [(f64, f64)]) {
    if v.is_empty() {
        println!("  {label:<12} no successful run");
        return;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let med = v[v.len() / 2];
    println!(
        "  {label:<12} connect median {:>6.0} ms (min {:.0}, max {:.0}); relayed RTT {:.1} ms",
        med.0,
        v[0].0,
        v[v.len() - 1].0,
        med.1
    );
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(5);
    if Command::new("turnserver")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        println!("relay benchmark skipped: coturn (turnserver) is not installed");
        return;
    }
    let port = free_port();
    let mut coturn = Command::new("turnserver")
        .args([
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            "--realm=bench",
            "--no-dtls",
            "--no-tls",
            "--no-cli",
        ])
        .arg(format!("--listening-port={port}"))
        .args([
            "--lt-cred-mech",
            &format!("--user=alice:{PASSWORD}"),
            "--allow-loopback-peers",
            "--log-file=stdout",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start coturn");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = Server::bind(SocketAddr::new(LOOPBACK, 0), ServerConfig::new(LOOPBACK)).await.expect("bind");
    let url = format!("ws://{}/ws", server.addr().unwrap());
    let stop = CancellationToken::new();
    tokio::spawn(server.run(stop.clone()));
    println!("relay-only pairs through coturn on loopback, {runs} runs each:");
    for (label, turn) in [
        ("TURN/UDP", format!("turn:127.0.0.1:{port}?transport=udp")),
        ("TURN/TCP", format!("turn:127.0.0.1:{port}?transport=tcp")),
    ] {
        let mut v = Vec::new();
        for i in 0..runs {
            if let Some(r) = one_pair(&url, &format!("{label}-{i}"), &turn).await {
                v.push(r);
            }
        }
        line(&format!("{label}{}", if label.ends_with("TCP") { " (shim)" } else { "" }), &mut v);
    }
    stop.cancel();
    let _ = coturn.kill();
    let _ = coturn.wait();
}
