//! The end-to-end signaling probe: probe peers join a fresh room on the server under test —
//! an observer (browser-style trickle-only offer), then a withholder (uses none of the
//! server's candidates), and a control with every candidate in its offer when the observer
//! cannot connect — exchange audio, and the pure rule engine names what the timelines show.

pub mod endpoint;
pub mod gather;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Behaviour, ClientError, ClientOptions};
use crate::diagnose::recorder::Recorder;
use crate::diagnose::rules::{self, Finding, PeerRun, Role};
use crate::diagnose::timeline::{Event, Timeline};
use crate::media::Source;
use crate::peer::PeerOptions;
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::signal::error::CONNECT_LIMIT;

/// Tones of the probe peers, far apart so each is recognisable.
const TONES: [(Role, f64); 3] = [(Role::Observer, 440.0), (Role::Withholder, 660.0), (Role::Control, 550.0)];

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub url: String,
    pub room: String,
    pub peer: PeerOptions,
    /// How long a probe peer may take to connect.
    pub window: Duration,
    /// Who verifies a `wss://` server (`--ca`); `None`: the system roots.
    pub trust: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    /// Room token for a server that requires one.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeReport {
    pub url: String,
    pub room: String,
    pub findings: Vec<Finding>,
    pub runs: Vec<PeerRun>,
}

struct Running {
    role: Role,
    hz: f64,
    rec: Arc<Recorder>,
    task: JoinHandle<Result<(), ClientError>>,
}

impl Running {
    fn timeline(&self) -> Timeline {
        self.rec.timeline()
    }

    fn signaling_connected(&self) -> bool {
        self.timeline().events().iter().any(|e| matches!(&e.event, Event::SignalingConnected { .. }))
    }

    fn connected(&self) -> bool {
        self.timeline()
            .events()
            .iter()
            .any(|e| matches!(&e.event, Event::ConnectionState { state } if state == "connected"))
    }

    /// Heard `hz` within ±2 % on any stream: the tone says which probe peer it is, whatever
    /// the server named the stream.
    fn heard(&self, hz: f64) -> bool {
        self.timeline().events().iter().any(
            |e| matches!(&e.event, Event::AudioLevel { freq_hz: Some(f), .. } if (f - hz).abs() <= hz * 0.02),
        )
    }
}

fn start(
    opts: &ProbeOptions,
    role: Role,
    behaviour: Behaviour,
    t0: Instant,
    stop: &CancellationToken,
) -> Running {
    let hz = TONES.iter().find(|(r, _)| *r == role).map_or(440.0, |(_, hz)| *hz);
    let mut copts =
        ClientOptions::new(opts.url.clone(), opts.room.clone(), Source::Tone { hz }, opts.peer.clone());
    copts.behaviour = behaviour;
    copts.trust = opts.trust.clone();
    copts.token = opts.token.clone();
    let rec = Arc::new(Recorder::silent(t0));
    let task = tokio::spawn(client::run(copts, rec.clone(), stop.clone()));
    Running { role, hz, rec, task }
}

/// Polls until `done` holds or `limit` passes; false on timeout or when the peer's task ended.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// A peer whose session ended with a signaling failure means the probe could not run.
async fn failed_early(r: &mut Running) -> Option<ClientError> {
    if !r.task.is_finished() {
        return None;
    }
    match (&mut r.task).await {
        Ok(Err(e @ (ClientError::Signaling(_) | ClientError::Join(_)))) => Some(e),
        _ => None,
    }
}

pub async fn run(opts: ProbeOptions, shutdown: CancellationToken) -> Result<ProbeReport, ClientError> {
    let t0 = Instant::now();
    let stop = shutdown.child_token();
    let mut observer = start(&opts, Role::Observer, Behaviour::default(), t0, &stop);
    // Reaching the server has its own bounds (a slow TLS handshake is a signaling failure, not
    // ICE's): the window starts once the socket is up.
    wait_until(CONNECT_LIMIT, || observer.signaling_connected() || observer.task.is_finished()).await;
    wait_until(opts.window, || observer.connected() || observer.task.is_finished()).await;
    if let Some(e) = failed_early(&mut observer).await {
        stop.cancel();
        return Err(e);
    }
    let withholder =
        start(&opts, Role::Withholder, Behaviour { withhold_checks: true, ..Default::default() }, t0, &stop);
    let w_start = Instant::now();
    wait_until(opts.window + Duration::from_secs(3), || {
        if !withholder.connected() && w_start.elapsed() >= opts.window {
            return true;
        }
        observer.heard(withholder.hz) && withholder.heard(observer.hz)
    })
    .await;
    let mut peers = vec![observer, withholder];
    if !peers[0].connected() {
        let control =
            start(&opts, Role::Control, Behaviour { full_sdp_offer: true, ..Default::default() }, t0, &stop);
        wait_until(opts.window, || control.connected()).await;
        peers.push(control);
    }
    stop.cancel();
    let mut runs = Vec::new();
    for p in peers {
        let _ = tokio::time::timeout(Duration::from_secs(3), p.task).await;
        runs.push(PeerRun { role: p.role, tone_hz: p.hz, events: p.rec.timeline().events().to_vec() });
    }
    let findings = rules::diagnose(&runs);
    Ok(ProbeReport { url: redact_url(&opts.url), room: opts.room, findings, runs })
}

/// A fresh room name for a probe run.
pub fn fresh_room() -> String {
    format!("rtc-assist-probe-{:08x}", rand::random::<u32>())
}
