//! Benchmark (not a test): offer-sent → `connected` on loopback through `serve`, over many
//! runs, split into phases, at webrtc-rs' default ICE check interval and at ours.
//!
//! Each run: peer A joins a fresh room and connects; then peer B joins and is measured from the
//! moment its offer went out: gathering complete, ICE connected, peer connection connected
//! (DTLS + SRTP), and the first media packet from A (which needs the server's renegotiation).
//!
//! `cargo bench --bench connect [-- RUNS]` (default 25 runs per interval).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc_assist::client::{self, ClientOptions};
use rtc_assist::diagnose::recorder::Recorder;
use rtc_assist::diagnose::timeline::{Direction, Event, Timeline};
use rtc_assist::media::Source;
use rtc_assist::peer::PeerOptions;
use rtc_assist::serve::{Server, ServerConfig};
use tokio_util::sync::CancellationToken;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Milliseconds of the first event matching `f`.
fn first(t: &Timeline, f: impl Fn(&Event) -> bool) -> Option<u64> {
    t.events().iter().find(|e| f(&e.event)).map(|e| e.t_ms)
}

#[derive(Default)]
struct Phases {
    gathering: Vec<f64>,
    ice: Vec<f64>,
    dtls: Vec<f64>,
    media: Vec<f64>,
    connected: Vec<f64>,
    failures: usize,
}

fn start_client(
    url: &str,
    room: &str,
    hz: f64,
    interval: Duration,
    stop: &CancellationToken,
) -> Arc<Recorder> {
    let mut peer = PeerOptions::new(LOOPBACK);
    peer.check_interval = interval;
    let opts = ClientOptions::new(url.into(), room.into(), Source::Tone { hz }, peer);
    let rec = Arc::new(Recorder::silent(Instant::now()));
    tokio::spawn(client::run(opts, rec.clone(), stop.clone()));
    rec
}

async fn wait_for(rec: &Recorder, f: impl Fn(&Timeline) -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f(&rec.timeline()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

async fn one_run(url: &str, room: &str, interval: Duration, phases: &mut Phases) {
    let stop = CancellationToken::new();
    let a = start_client(url, room, 440.0, interval, &stop);
    let connected = |t: &Timeline| {
        first(t, |e| matches!(e, Event::ConnectionState { state } if state == "connected")).is_some()
    };
    if !wait_for(&a, connected, Duration::from_secs(10)).await {
        phases.failures += 1;
        stop.cancel();
        return;
    }
    let b = start_client(url, room, 660.0, interval, &stop);
    let got_media = |t: &Timeline| first(t, |e| matches!(e, Event::TrackReceived { .. })).is_some();
    let ok = wait_for(&b, got_media, Duration::from_secs(10)).await;
    stop.cancel();
    let t = b.timeline();
    let offer =
        first(&t, |e| matches!(e, Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer"));
    let gathered = first(&t, |e| matches!(e, Event::GatheringState { state } if state == "complete"));
    let ice = first(&t, |e| matches!(e, Event::IceState { state } if state == "connected"));
    let conn = first(&t, |e| matches!(e, Event::ConnectionState { state } if state == "connected"));
    let media = first(&t, |e| matches!(e, Event::TrackReceived { .. }));
    match (ok, offer, gathered, ice, conn, media) {
        (true, Some(o), Some(g), Some(i), Some(c), Some(m)) => {
            phases.gathering.push((g.saturating_sub(o)) as f64);
            phases.ice.push((i.saturating_sub(o)) as f64);
            phases.dtls.push((c.saturating_sub(i)) as f64);
            phases.connected.push((c.saturating_sub(o)) as f64);
            phases.media.push((m.saturating_sub(c)) as f64);
        }
        _ => phases.failures += 1,
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn stats(label: &str, v: &mut [f64]) {
    if v.is_empty() {
        println!("  {label:<34} no samples");
        return;
    }
    v.sort_by(f64::total_cmp);
    let pick = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    println!(
        "  {label:<34} min {:>6.0}  median {:>6.0}  p95 {:>6.0}  max {:>6.0} ms",
        v[0],
        pick(0.5),
        pick(0.95),
        v[v.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(25);
    for interval_ms in [200u64, 10] {
        let interval = Duration::from_millis(interval_ms);
        let config = ServerConfig { check_interval: interval, ..ServerConfig::new(LOOPBACK) };
        let server = Server::bind(SocketAddr::new(LOOPBACK, 0), config).await.expect("bind");
        let url = format!("ws://{}/ws", server.addr().expect("addr"));
        let stop_server = CancellationToken::new();
        let task = tokio::spawn(server.run(stop_server.clone()));
        let mut p = Phases::default();
        for i in 0..runs {
            one_run(&url, &format!("bench-{interval_ms}-{i}"), interval, &mut p).await;
        }
        println!(
            "ICE check interval {interval_ms} ms, {runs} runs ({} failed), times from offer sent:",
            p.failures
        );
        stats("gathering complete", &mut p.gathering);
        stats("ICE connected (answer + checks)", &mut p.ice);
        stats("DTLS/SRTP (ICE → connected)", &mut p.dtls);
        stats("offer → connected", &mut p.connected);
        stats("connected → first media (reneg.)", &mut p.media);
        stop_server.cancel();
        let _ = task.await;
    }
}
