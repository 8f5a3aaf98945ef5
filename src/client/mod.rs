//! A signaling peer (the driver behind `join` and `demo`): joins a room, offers like a browser
//! (offer at once, candidates trickled, then end-of-candidates), buffers remote candidates until
//! the remote description is set (F4), answers the server's renegotiation offers (F7), sends
//! its audio, measures, plays and records what it receives, and reports webrtc-rs' RTP
//! statistics every few seconds. Every step is recorded as a timeline event.

pub mod counted;
mod join;
mod mixdown;
mod receive;
mod send;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::{CandidateInfo, Direction, Event, Via};
use crate::media::codec::DEFAULT_BITRATE;
use crate::media::devices::Negotiated;
use crate::media::mixer::Mixer;
use crate::media::playback::Playback;
use crate::media::{Frames, Source, SourceError};
use crate::peer::{Peer, PeerError, PeerEvent, PeerOptions};
use crate::signal::error::SignalingError;
use crate::signal::ice_url::describe_offered;
use crate::signal::kind::SignalKind;
use crate::signal::protocol::{CandidateInit, ClientMessage, IceServer, ServerMessage};
use crate::signal::sdp;
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::signal::transport::{Incoming, Transport};
use crate::signal::websocket::SignalingClient;
use crate::stun_turn::shim;
use join::connect_and_join;

/// How often webrtc-rs' RTP statistics are reported.
const STATS_EVERY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub server: String,
    pub room: String,
    pub source: Source,
    pub peer: PeerOptions,
    /// Stop after this long; `None` runs until the shutdown token fires.
    pub duration: Option<Duration>,
    pub behaviour: Behaviour,
    /// Write each remote peer's decoded audio to `<stem>-<peer8>.wav` beside this path.
    pub record: Option<std::path::PathBuf>,
    /// With `record`: one WAV at that path with every remote peer mixed.
    pub record_mix: bool,
    /// Play received audio on this output device (`Some(None)`: the default one).
    pub playback: Option<Option<String>>,
    /// Opus bitrate in bits per second.
    pub bitrate: i32,
    /// Who verifies a `wss://` server (`--ca`); `None`: the system roots.
    pub trust: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    /// Room token: on the WebSocket upgrade and in `join_room` (WHIP/WHEP: the bearer token).
    pub token: Option<Secret>,
    /// The signaling the server speaks.
    pub signal: SignalKind,
    /// The load generator's media instead of `source` and the devices: pre-encoded frames
    /// out, received RTP counted, nothing decoded, no RTP statistics polled.
    pub counted: Option<counted::Counted>,
}

/// Deliberate deviations from browser behaviour, used by `probe` to test a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Never use the server's candidates (SDP or trickle) and send ours by trickle only: we
    /// send no connectivity checks, so only the server's checks towards our trickled
    /// candidates can connect us (detects F5).
    pub withhold_checks: bool,
    /// Wait for gathering and send every candidate inside the offer, none trickled (the
    /// control offer that still works against F5).
    pub full_sdp_offer: bool,
}

impl ClientOptions {
    pub fn new(server: String, room: String, source: Source, peer: PeerOptions) -> Self {
        Self {
            server,
            room,
            source,
            peer,
            duration: None,
            behaviour: Behaviour::default(),
            record: None,
            record_mix: false,
            playback: None,
            bitrate: DEFAULT_BITRATE,
            trust: None,
            token: None,
            signal: SignalKind::default(),
            counted: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached or broke the session: a connection failure (exit 1).
    #[error(transparent)]
    Signaling(#[from] SignalingError),
    #[error("the server did not let us join: {0}")]
    Join(String),
    /// A local failure (exit 2).
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error("audio: {0}")]
    Media(String),
    /// An audio device or file failed (exit 2): missing, unreadable, or gone mid-call.
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("TURN shim: {0}")]
    Shim(String),
}

fn sdp_detail(text: &str) -> Option<String> {
    Some(format!("{} candidate(s) in SDP", sdp::candidates(text).len()))
}

struct Client {
    ws: Box<dyn Transport>,
    peer: Peer,
    rec: Arc<Recorder>,
    remote_set: bool,
    buffered: Vec<CandidateInit>,
    behaviour: Behaviour,
    receiving: receive::Receiving,
}

/// Waits (up to 5 s) for gathering to complete and returns the offer with every candidate.
async fn gather_fully(
    peer: &Peer,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<PeerEvent>,
    rec: &Recorder,
) -> Result<String, ClientError> {
    let wait = async {
        while let Some(ev) = events.recv().await {
            match ev {
                PeerEvent::LocalCandidate { info, .. } => {
                    rec.record(Event::LocalCandidate { candidate: info, via: Via::Sdp });
                }
                PeerEvent::GatheringState(state) => {
                    let done = state == "complete";
                    rec.record(Event::GatheringState { state });
                    if done {
                        break;
                    }
                }
                PeerEvent::SignalingState(state) => rec.record(Event::SignalingState { state }),
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
    peer.local_sdp().await.ok_or_else(|| ClientError::Media("no local description after gathering".into()))
}

/// Runs one peer session until `duration` passes, `shutdown` fires or the server goes away.
pub async fn run(
    opts: ClientOptions,
    rec: Arc<Recorder>,
    shutdown: CancellationToken,
) -> Result<(), ClientError> {
    // The devices open first: a missing one fails before anything goes on the wire. A WHEP
    // viewer sends nothing.
    let sends = opts.signal.sends();
    let frames = match &opts.counted {
        _ if !sends => None,
        Some(_) => None,
        None => {
            let source = opts.source.clone();
            let frames = tokio::task::spawn_blocking(move || Frames::open(&source))
                .await
                .map_err(|e| ClientError::Media(e.to_string()))??;
            if let Frames::Mic(capture) = &frames {
                rec.record(device_event("input", &capture.negotiated));
            }
            Some(frames)
        }
    };
    let mut mixers = Vec::new();
    let (failed, mut device_failed) = tokio::sync::mpsc::unbounded_channel();
    let playback = match opts.playback.clone() {
        Some(device) => {
            let mixer = Arc::new(Mixer::new());
            mixers.push(mixer.clone());
            let failed = failed.clone();
            let p = tokio::task::spawn_blocking(move || Playback::open(device.as_deref(), mixer, failed))
                .await
                .map_err(|e| ClientError::Media(e.to_string()))?
                .map_err(SourceError::from)?;
            rec.record(device_event("output", &p.negotiated));
            Some(p)
        }
        None => None,
    };
    let stop = shutdown.child_token();
    let mixdown = match (&opts.record, opts.record_mix) {
        (Some(path), true) => {
            let mixer = Arc::new(Mixer::new());
            mixers.push(mixer.clone());
            let task = mixdown::spawn(path, mixer, rec.clone(), stop.clone()).map_err(SourceError::from)?;
            Some(task)
        }
        _ => None,
    };
    let receiving = receive::Receiving {
        rec: rec.clone(),
        record: if opts.record_mix { None } else { opts.record.clone() },
        mixers,
        ssrcs: Arc::new(Mutex::new(BTreeMap::new())),
        peers: Arc::new(Mutex::new(BTreeSet::new())),
        streams: Arc::new(AtomicU32::new(0)),
        counted: opts.counted.as_ref().map(|c| c.streams.clone()),
    };
    let (mut ws, my_id, present, offered) = connect_and_join(&opts, &rec).await?;
    receiving.peers.lock().expect("peers lock").extend(present);
    let mut peer_opts = opts.peer.clone();
    if peer_opts.ice_servers.is_empty() {
        peer_opts.ice_servers = offered;
    }
    let (servers, _shims) =
        shim::wrap_recorded(peer_opts.ice_servers.clone(), peer_opts.turn_ca.clone(), rec.clone())
            .await
            .map_err(|e| ClientError::Shim(e.to_string()))?;
    peer_opts.ice_servers = servers;
    let span =
        tracing::info_span!("join", peer = %crate::signal::protocol::short_id(&my_id), room = %opts.room);
    let _enter = span.enter();

    let (peer, mut events) = Peer::new(&peer_opts).await?;
    let local = match sends {
        true => Some(peer.add_audio_sender(rand::random(), &my_id).await?),
        false => {
            peer.add_audio_receiver().await?;
            None
        }
    };
    let sent = opts.counted.as_ref().map_or_else(|| Arc::new(AtomicU64::new(0)), |c| c.sent.clone());
    match (local, frames, &opts.counted) {
        (None, _, _) => {}
        (Some(local), Some(frames), _) => {
            let sending = send::Sending {
                track: local,
                bitrate: opts.bitrate,
                sent: sent.clone(),
                rec: rec.clone(),
                failed,
            };
            send::spawn(frames, sending, stop.clone()).map_err(ClientError::Media)?;
        }
        (Some(local), None, Some(counted::Counted { packets: Some(packets), lag, quiet, .. })) => {
            counted::spawn_sender(
                packets.clone(),
                local,
                sent.clone(),
                lag.clone(),
                stop.clone(),
                quiet.clone(),
            );
        }
        (Some(_), None, _) => {}
    }

    // Where the server offers first (a dialect that says so), the peer answers instead.
    if !opts.signal.server_offers() {
        let mut offer = peer.create_offer().await?;
        if opts.behaviour.full_sdp_offer {
            offer = gather_fully(&peer, &mut events, &rec).await?;
        }
        ws.send(&ClientMessage::Offer { sdp: offer.clone() }).await?;
        rec.record(Event::Signal {
            direction: Direction::Sent,
            kind: "offer".into(),
            detail: sdp_detail(&offer),
        });
        rec.describe(Direction::Sent, "offer", &offer);
    }

    let mut client = Client {
        ws,
        peer,
        rec: rec.clone(),
        remote_set: false,
        buffered: Vec::new(),
        behaviour: opts.behaviour,
        receiving,
    };
    let reports_rtp = opts.counted.is_none();
    let mut stats_tick = tokio::time::interval_at(tokio::time::Instant::now() + STATS_EVERY, STATS_EVERY);
    let deadline = async {
        match opts.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let result = loop {
        tokio::select! {
            incoming = client.ws.recv() => match incoming {
                Some(Ok(i)) => {
                    if let Err(e) = client.on_incoming(i).await {
                        break Err(e);
                    }
                }
                Some(Err(e)) => break Err(e.into()),
                None => {
                    rec.record(Event::Error { message: "the server closed the signaling socket".into() });
                    break Ok(());
                }
            },
            Some(ev) = events.recv() => {
                if let Err(e) = client.on_peer_event(ev, &stop).await {
                    break Err(e);
                }
            }
            _ = stats_tick.tick(), if reports_rtp => client.report_rtp().await,
            Some(e) = device_failed.recv() => {
                rec.record(Event::Error { message: format!("audio device failed: {e}") });
                break Err(SourceError::from(e).into());
            }
            () = &mut deadline => break Ok(()),
            () = shutdown.cancelled() => break Ok(()),
        }
    };
    if reports_rtp {
        client.report_rtp().await;
    }
    stop.cancel();
    if let Some(task) = mixdown {
        let _ = task.await;
    }
    if let Some(p) = playback {
        let _ = tokio::task::spawn_blocking(move || p.close()).await;
    }
    if let Some((local, remote, rtt_ms)) = client.peer.selected_pair().await {
        rec.record(Event::SelectedPair { local, remote, rtt_ms });
    }
    rec.record(Event::MediaSent { packets: sent.load(Ordering::Relaxed) });
    // Let the receivers publish their last measurements.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = client.ws.send(&ClientMessage::LeaveRoom).await;
    client.ws.close().await;
    client.peer.close().await;
    result
}

fn device_event(role: &str, n: &Negotiated) -> Event {
    Event::AudioDevice {
        role: role.into(),
        device: n.device.clone(),
        sample_format: n.sample_format.clone(),
        channels: n.channels,
        rate: n.rate,
    }
}

fn rejected(e: &crate::signal::protocol::DecodeError) -> Event {
    Event::SignalRejected {
        code: e.code.as_str().into(),
        violation: e.violation.map(|v| v.as_str().into()),
        message: e.message.clone(),
    }
}

impl Client {
    /// Records webrtc-rs' statistics of every stream: what we receive (by stream) and what we
    /// send.
    async fn report_rtp(&self) {
        let (inbound, outbound) = self.peer.rtp_stats().await;
        let names = self.receiving.ssrcs.lock().expect("ssrc map lock").clone();
        for s in inbound {
            if let Some(source) = names.get(&s.ssrc) {
                self.rec.record(Event::InboundRtp {
                    source: source.clone(),
                    packets: s.packets,
                    lost: s.lost,
                    jitter_ms: (s.jitter_ms * 10.0).round() / 10.0,
                });
            }
        }
        if let Some(s) = outbound.into_iter().find(|s| s.packets > 0) {
            let round = |x: f64| (x * 10.0).round() / 10.0;
            self.rec.record(Event::OutboundRtp {
                packets: s.packets,
                remote_lost: s.remote_lost,
                remote_jitter_ms: s.remote_jitter_ms.map(round),
                rtt_ms: s.rtt_ms.map(round),
            });
        }
    }

    fn received(&self, kind: &str, detail: Option<String>) {
        self.rec.record(Event::Signal { direction: Direction::Received, kind: kind.into(), detail });
    }

    fn record_sdp_candidates(&self, text: &str) {
        for c in sdp::candidates(text) {
            self.rec.record(Event::RemoteCandidate {
                candidate: CandidateInfo::from(&c),
                via: Via::Sdp,
                buffered: false,
            });
        }
    }

    /// An SDP as the withholder uses it: without candidates, in either direction.
    fn usable(&self, sdp: String) -> String {
        if self.behaviour.withhold_checks { sdp::without_candidates(&sdp, None) } else { sdp }
    }

    /// The remote description is set: apply the candidates that waited for it, in order.
    async fn flush(&mut self) {
        self.remote_set = true;
        let pending = std::mem::take(&mut self.buffered);
        if pending.is_empty() {
            return;
        }
        let count = pending.len();
        for c in pending {
            if let Err(e) = self.peer.add_remote_candidate(&c).await {
                self.rec.record(Event::Error { message: format!("buffered candidate rejected: {e}") });
            }
        }
        self.rec.record(Event::CandidatesFlushed { count });
    }

    async fn on_incoming(&mut self, incoming: Incoming) -> Result<(), ClientError> {
        let msg = match incoming {
            Incoming::Message(m) => m,
            Incoming::Invalid(e) => {
                self.rec.record(rejected(&e));
                return Ok(());
            }
        };
        match msg {
            ServerMessage::Answer { sdp } => {
                self.received("answer", sdp_detail(&sdp));
                self.rec.describe(Direction::Received, "answer", &sdp);
                self.record_sdp_candidates(&sdp);
                let sdp = self.usable(sdp);
                match self.peer.accept_answer(&sdp).await {
                    Ok(()) => self.flush().await,
                    Err(e) => self.rec.record(Event::Error { message: format!("answer rejected: {e}") }),
                }
            }
            ServerMessage::Offer { sdp } => {
                let first = if self.remote_set { "renegotiation" } else { "the server offers first" };
                self.received("offer", Some(first.into()));
                self.rec.describe(Direction::Received, "offer", &sdp);
                self.record_sdp_candidates(&sdp);
                let sdp = self.usable(sdp);
                match self.peer.accept_offer(&sdp).await {
                    Ok(answer) => {
                        // The withholder's candidates travel by trickle only, never inside an SDP.
                        let answer = self.usable(answer);
                        self.ws.send(&ClientMessage::Answer { sdp: answer.clone() }).await?;
                        self.rec.record(Event::Signal {
                            direction: Direction::Sent,
                            kind: "answer".into(),
                            detail: None,
                        });
                        self.rec.describe(Direction::Sent, "answer", &answer);
                        self.flush().await;
                    }
                    Err(e) => self
                        .rec
                        .record(Event::Error { message: format!("renegotiation offer rejected: {e}") }),
                }
            }
            ServerMessage::Candidate(c) => {
                if let Ok(parsed) = crate::signal::candidate::Candidate::parse(&c.candidate) {
                    self.rec.record(Event::RemoteCandidate {
                        candidate: CandidateInfo::from(&parsed),
                        via: Via::Trickle,
                        buffered: !self.remote_set,
                    });
                }
                if self.behaviour.withhold_checks {
                    return Ok(());
                }
                if self.remote_set {
                    if let Err(e) = self.peer.add_remote_candidate(&c).await {
                        self.rec.record(Event::Error { message: format!("remote candidate rejected: {e}") });
                    }
                } else {
                    self.buffered.push(c);
                }
            }
            ServerMessage::EndOfCandidates => {
                self.rec.record(Event::EndOfCandidates { direction: Direction::Received })
            }
            ServerMessage::PeerJoined { peer_id } => {
                self.receiving.peers.lock().expect("peers lock").insert(peer_id.clone());
                self.rec.record(Event::PeerJoined { peer_id });
            }
            ServerMessage::PeerLeft { peer_id } => self.rec.record(Event::PeerLeft { peer_id }),
            ServerMessage::Error { code, message } => {
                self.rec.record(Event::ServerError { code: code.as_str().into(), message });
            }
            ServerMessage::JoinedRoom { .. } => {
                self.received("joined_room", Some("unexpected second join".into()))
            }
            ServerMessage::Redirect { url } => {
                self.received("redirect", Some(format!("ignored mid-call: {}", redact_url(&url))))
            }
        }
        Ok(())
    }

    async fn on_peer_event(&mut self, ev: PeerEvent, stop: &CancellationToken) -> Result<(), ClientError> {
        match ev {
            PeerEvent::LocalCandidate { info, .. } if self.behaviour.full_sdp_offer => {
                self.rec.record(Event::LocalCandidate { candidate: info, via: Via::Sdp });
            }
            PeerEvent::LocalCandidate { init, info } => {
                self.rec.record(Event::LocalCandidate { candidate: info, via: Via::Trickle });
                self.ws.send(&ClientMessage::Candidate(init)).await?;
            }
            PeerEvent::GatheringState(state) => {
                let complete = state == "complete";
                self.rec.record(Event::GatheringState { state });
                if complete && !self.behaviour.full_sdp_offer {
                    self.ws.send(&ClientMessage::EndOfCandidates).await?;
                    self.rec.record(Event::EndOfCandidates { direction: Direction::Sent });
                }
            }
            PeerEvent::SignalingState(state) => self.rec.record(Event::SignalingState { state }),
            PeerEvent::IceState(state) => self.rec.record(Event::IceState { state }),
            PeerEvent::ConnectionState(state) => {
                let connected = state == "connected";
                self.rec.record(Event::ConnectionState { state });
                if connected && let Some((local, remote, rtt_ms)) = self.peer.selected_pair().await {
                    self.rec.record(Event::SelectedPair { local, remote, rtt_ms });
                }
            }
            PeerEvent::Track(track) => receive::spawn(track, self.receiving.clone(), stop.clone()),
        }
        Ok(())
    }
}
