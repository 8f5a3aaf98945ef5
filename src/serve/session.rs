//! One task per WebSocket: decodes each frame (an `error` reply for every bad one), owns the
//! client's server-side peer connection, answers its offers, trickles the server's candidates
//! to this client only (after the answer), adds every trickled client candidate to this
//! connection (buffered until the offer is applied), and forwards the others' audio: the
//! first other peer on the client's own transceiver (its answer is `sendrecv`, so even a
//! client that never answers a server offer hears it), the second and later on tracks of
//! their own with a renegotiation offer. Everything of the peer is freed when the socket
//! closes. Each milestone is one `info` line; with `serve --record DIR` the session's side of
//! the call is also written to `DIR/<peer id>.ndjson`, the timeline format `join --json` writes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Message;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, field};

use super::auth::Grant;
use super::cluster::Placement;
use super::guard::{Guard, Verdict};
use super::hub::{Command, Hub};
use super::pipe::SessionSocket;
use super::sfu::Publisher;
use crate::diagnose::import::ndjson::SERVE_RECORD;
use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::{CandidateInfo, Direction, Event, Via as TimelineVia};
use crate::peer::{OutTrack, Peer, PeerEvent, PeerOptions};
use crate::serve::faults::{Fault, Faults};
use crate::serve::room::Role;
use crate::signal::candidate::CandidateType;
use crate::signal::protocol::{CandidateInit, ClientMessage, ErrorCode, ServerMessage, Violation, short_id};
use crate::signal::sdp;
use crate::signal::secret::Secret;

mod candidates;
mod forwarding;

/// A server offer unanswered for this long is reported (the client ignores server offers).
const OFFER_ANSWER_WAIT: Duration = Duration::from_secs(5);
/// The stream id of a downlink created before any other peer published: it names no peer,
/// so it may carry whichever comes first.
const DOWNLINK_STREAM: &str = "rtc-assist-sfu";

/// Runs one client's session over `socket` until it ends; `role` says whether the others see it.
pub async fn run(
    socket: impl SessionSocket + 'static,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    grant: Grant,
    role: Role,
) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!("session", peer = %short_id(&id), room = field::Empty);
    let (commands, kicked) = hub.register(&id);
    let mut session = Session::new(id.clone(), hub.clone(), Box::new(socket), span.clone(), grant);
    session.role = role;
    async {
        tracing::info!("client connected");
        session.run(commands, kicked, shutdown).await;
        session.cleanup().await;
        tracing::info!("client gone");
        release_freed_memory();
    }
    .instrument(span)
    .await;
}

struct Session {
    id: String,
    hub: Arc<Hub>,
    socket: Box<dyn SessionSocket>,
    span: tracing::Span,
    guard: Guard,
    call: Call,
    /// What its upgrade token admits to.
    grant: Grant,
    /// `--record`: this session's timeline file.
    rec: Option<Recorder>,
    /// A participant, or a viewer the others are not told about (WHEP).
    role: Role,
}

/// Everything of the client's presence in a room; reset when it leaves.
#[derive(Default)]
struct Call {
    room: Option<String>,
    peer: Option<Peer>,
    peer_events: Option<mpsc::UnboundedReceiver<PeerEvent>>,
    /// The client's offer has been applied: its candidates can be added.
    remote_set: bool,
    /// Our answer went out: our own candidates can follow it.
    answered: bool,
    pending_remote: Vec<CandidateInit>,
    pending_local: Vec<CandidateInit>,
    gathering_complete: bool,
    /// A server offer is waiting for the client's answer.
    offering: bool,
    renegotiate_after_answer: bool,
    subscriptions: HashMap<String, Arc<OutTrack>>,
    /// Forwarded tracks carried by the outstanding server offer.
    offered: Vec<Arc<OutTrack>>,
    deferred: Vec<Arc<Publisher>>,
    publishing: bool,
    /// The forwarding track on the client's own transceiver.
    downlink: Option<Downlink>,
    /// When the outstanding server offer went out, until it is answered or reported.
    offer_sent: Option<tokio::time::Instant>,
    end_of_candidates_sent: bool,
    /// The client's offer receives no audio (a WHIP publisher's `sendonly`): nothing is
    /// forwarded to it, and its answer is `recvonly`.
    sends_only: bool,
}

/// The track answered on the client's own audio transceiver: it carries one other peer's
/// audio at a time without any renegotiation.
struct Downlink {
    out: Arc<OutTrack>,
    /// The peer its stream id names, if any: then it may carry only that peer.
    named: Option<String>,
    /// The publisher it carries now.
    source: Option<String>,
}

impl Downlink {
    fn can_carry(&self, publisher: &str) -> bool {
        self.source.is_none() && self.named.as_deref().is_none_or(|n| n == publisher)
    }
}

/// Whether a subscription may use the client's own transceiver. With F7 (as in the guide's
/// server) only audio present before the client's offer rides it; later audio gets a track
/// of its own and, F7's bug, no offer.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    AtAnswer,
    Later,
}

enum Flow {
    Continue,
    Stop,
}

impl Session {
    fn new(
        id: String,
        hub: Arc<Hub>,
        socket: Box<dyn SessionSocket>,
        span: tracing::Span,
        grant: Grant,
    ) -> Self {
        let guard = Guard::new(&hub.config.limits);
        let rec = hub.config.record.as_ref().and_then(|dir| {
            let path = dir.join(format!("{id}.ndjson"));
            let header = format!("{{\"t_ms\":0,\"event\":\"{}\",\"peer_id\":\"{id}\"}}\n", SERVE_RECORD);
            let file = std::fs::File::create(&path).and_then(|mut f| {
                std::io::Write::write_all(&mut f, header.as_bytes())?;
                Ok(f)
            });
            match file {
                Ok(f) => Some(Recorder::to_file(std::time::Instant::now(), f)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), cause = %e, "cannot record this session");
                    None
                }
            }
        });
        Self { id, hub, socket, span, guard, call: Call::default(), grant, rec, role: Role::Participant }
    }

    /// Records one event of this session's side (with `--record`).
    fn note(&self, event: Event) {
        if let Some(rec) = &self.rec {
            rec.record(event);
        }
    }

    /// Records a session description that went out or came in, with its candidates.
    fn note_description(&self, direction: Direction, kind: &str, text: &str) {
        let Some(rec) = &self.rec else { return };
        let detail = Some(format!("{} candidate(s) in SDP", sdp::candidates(text).len()));
        rec.record(Event::Signal { direction, kind: kind.into(), detail });
        rec.describe(direction, kind, text);
        for c in sdp::candidates(text) {
            let candidate = CandidateInfo::from(&c);
            rec.record(match direction {
                Direction::Sent => Event::LocalCandidate { candidate, via: TimelineVia::Sdp },
                Direction::Received => {
                    Event::RemoteCandidate { candidate, via: TimelineVia::Sdp, buffered: false }
                }
            });
        }
    }

    async fn run(
        &mut self,
        mut commands: mpsc::Receiver<Command>,
        kicked: CancellationToken,
        shutdown: CancellationToken,
    ) {
        let every = self.guard.ping_interval();
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            let flow = tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(msg)) => self.on_frame(msg).await,
                    Some(Err(e)) => self.on_socket_error(e).await,
                    None => Flow::Stop,
                },
                Some(cmd) = commands.recv() => self.on_command(cmd).await,
                Some(ev) = next_event(&mut self.call.peer_events) => self.on_peer_event(ev).await,
                () = overdue(self.call.offer_sent) => self.on_offer_unanswered(),
                _ = ping.tick() => self.on_ping_tick().await,
                () = due(self.guard.deadline().map(|d| d.0)) => self.on_deadline().await,
                () = kicked.cancelled() => Flow::Stop,
                () = shutdown.cancelled() => Flow::Stop,
            };
            if let Flow::Stop = flow {
                break;
            }
        }
    }

    async fn send(&mut self, msg: ServerMessage) -> Flow {
        tracing::debug!(kind = msg.kind(), "send");
        if let ServerMessage::JoinedRoom { room, peer_id, peers, .. } = &msg {
            self.note(Event::JoinedRoom {
                room: room.clone(),
                peer_id: peer_id.clone(),
                peers: peers.clone(),
            });
        }
        self.send_text(msg.encode()).await
    }

    /// Sends one WebSocket message; a client that does not take it in time (it does not read)
    /// is dropped.
    async fn send_message(&mut self, msg: Message) -> Flow {
        let limit = self.hub.config.limits.send_timeout;
        match tokio::time::timeout(limit, self.socket.send(msg)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(e)) => {
                tracing::info!(cause = %e, "send failed");
                Flow::Stop
            }
            Err(_) => {
                tracing::warn!(after_s = limit.as_secs_f64(), "client dropped: it does not read");
                Flow::Stop
            }
        }
    }

    async fn send_text(&mut self, text: String) -> Flow {
        self.send_message(Message::Text(text.into())).await
    }

    /// Closes the socket with `code` and why (RFC 6455 §7.4).
    async fn close_with(&mut self, code: u16, reason: &'static str) -> Flow {
        tracing::warn!(code, reason, "closing the session");
        let frame = axum::extract::ws::CloseFrame { code, reason: reason.into() };
        let _ = self.send_message(Message::Close(Some(frame))).await;
        Flow::Stop
    }

    /// The socket failed. A message larger than the transport cap (`--ws-max-message`) is
    /// answered with a close 1009 (RFC 6455 §7.4.1), not just a dropped connection (axum wraps
    /// tungstenite's error; one version of tungstenite serves both).
    async fn on_socket_error(&mut self, e: axum::Error) -> Flow {
        let inner = e.into_inner();
        let too_big = matches!(
            inner.downcast_ref::<tokio_tungstenite::tungstenite::Error>(),
            Some(tokio_tungstenite::tungstenite::Error::Capacity(_))
        );
        if too_big {
            return self.close_with(1009, "message too big").await;
        }
        tracing::info!(cause = %inner, "socket error");
        Flow::Stop
    }

    /// Pings the client, or closes a client whose pongs stopped.
    async fn on_ping_tick(&mut self) -> Flow {
        if self.guard.pong_overdue() {
            return self.close_with(1001, "no pong: the client is gone").await;
        }
        self.send_message(Message::Ping(Default::default())).await
    }

    /// A step of the call did not happen in time: say which, and close.
    async fn on_deadline(&mut self) -> Flow {
        let Some((_, what)) = self.guard.deadline() else { return Flow::Continue };
        self.guard.settled();
        if let Flow::Stop = self.reply_error(ErrorCode::Timeout, what.describe()).await {
            return Flow::Stop;
        }
        self.close_with(1008, "timeout").await
    }

    async fn reply_error(&mut self, code: ErrorCode, message: impl Into<String>) -> Flow {
        let message = message.into();
        tracing::warn!(code = code.as_str(), %message, "rejected client frame");
        self.send(ServerMessage::error(code, message)).await
    }

    async fn on_frame(&mut self, frame: Message) -> Flow {
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            match self.guard.message() {
                Verdict::Accept => {}
                Verdict::Refuse { reply: false } => return Flow::Continue,
                Verdict::Refuse { reply: true } => {
                    let l = &self.hub.config.limits;
                    let why = format!(
                        "too many messages: at most {}/s (burst {}); this one and the next are dropped",
                        l.message_rate, l.message_burst
                    );
                    return self.reply_error(ErrorCode::RateLimited, why).await;
                }
                Verdict::Close => return self.close_with(1008, "message rate abuse").await,
            }
        }
        let text = match frame {
            Message::Text(t) => t,
            Message::Binary(_) => {
                return self
                    .reply_error(ErrorCode::BadMessage, "binary frames are not part of the protocol")
                    .await;
            }
            Message::Close(_) => return Flow::Stop,
            Message::Pong(_) => {
                self.guard.pong();
                return Flow::Continue;
            }
            Message::Ping(_) => return Flow::Continue,
        };
        if text.len() > self.hub.config.limits.frame_bytes {
            let limit = self.hub.config.limits.frame_bytes;
            return self
                .reply_error(ErrorCode::TooLarge, format!("frame of {} bytes exceeds {limit}", text.len()))
                .await;
        }
        let msg = match ClientMessage::decode(text.as_str()) {
            Ok(m) => m,
            Err(e) => {
                let message = match e.violation {
                    Some(v) => format!("{} ({})", e.message, v.as_str()),
                    None => e.message,
                };
                return self.reply_error(e.code, message).await;
            }
        };
        tracing::debug!(kind = msg.kind(), "received");
        if self.call.room.is_none() && !matches!(msg, ClientMessage::JoinRoom { .. }) {
            return self
                .reply_error(ErrorCode::NotInRoom, format!("join a room before sending {}", msg.kind()))
                .await;
        }
        match msg {
            ClientMessage::JoinRoom { room, token } => self.on_join(room, token).await,
            ClientMessage::LeaveRoom => {
                self.leave().await;
                Flow::Continue
            }
            ClientMessage::Offer { sdp } => self.on_offer(sdp).await,
            ClientMessage::Answer { sdp } => self.on_answer(sdp).await,
            ClientMessage::Candidate(c) => self.on_candidate(c).await,
            ClientMessage::EndOfCandidates => Flow::Continue,
        }
    }

    async fn on_join(&mut self, room: String, token: Option<Secret>) -> Flow {
        if let Err(reason) = self.grant.admits(&room, token.as_ref()) {
            return self.reply_error(ErrorCode::Unauthorized, reason).await;
        }
        if let Some(cluster) = self.hub.config.cluster.clone() {
            match cluster.place(&room).await {
                Ok(Placement::Local) => {}
                Ok(Placement::Elsewhere { node, url }) => return self.redirect(&room, &node, url).await,
                Err(e) => return self.reply_error(ErrorCode::Internal, e.to_string()).await,
            }
        }
        match self.hub.join(&self.id, &room, self.role) {
            Ok(others) => {
                self.span.record("room", room.as_str());
                tracing::info!(others, "joined room");
                self.guard.joined();
                self.call.room = Some(room);
                Flow::Continue
            }
            Err(e) => self.reply_error(e.code(), e.to_string()).await,
        }
    }

    /// The room lives on another cluster node: tell the client where, and close.
    async fn redirect(&mut self, room: &str, node: &str, url: String) -> Flow {
        tracing::info!(room, node, %url, "redirected to the room's node");
        if let Flow::Stop = self.send(ServerMessage::Redirect { url }).await {
            return Flow::Stop;
        }
        let frame = axum::extract::ws::CloseFrame { code: 1000, reason: "redirected".into() };
        let _ = self.send_message(Message::Close(Some(frame))).await;
        Flow::Stop
    }

    async fn ensure_peer(&mut self) -> Result<Peer, String> {
        if let Some(p) = &self.call.peer {
            return Ok(p.clone());
        }
        let mut opts = PeerOptions::new(self.hub.config.rtc_ip);
        opts.ice_servers = self.hub.config.ice.own(short_id(&self.id), super::unix_now());
        opts.check_interval = self.hub.config.check_interval;
        opts.forwarder = true;
        let (peer, events) = Peer::new(&opts).await.map_err(|e| e.to_string())?;
        self.hub.peer_connection_opened();
        self.call.peer = Some(peer.clone());
        self.call.peer_events = Some(events);
        Ok(peer)
    }

    async fn on_offer(&mut self, sdp: String) -> Flow {
        if self.call.offering {
            return self
                .reply_error(ErrorCode::BadSdp, "an offer from the server is waiting for your answer")
                .await;
        }
        let peer = match self.ensure_peer().await {
            Ok(p) => p,
            Err(e) => {
                return self
                    .reply_error(ErrorCode::Internal, format!("cannot create a peer connection: {e}"))
                    .await;
            }
        };
        self.note_description(Direction::Received, "offer", &sdp);
        if let Err(e) = peer.set_remote_offer(&sdp).await {
            return self.reply_error(ErrorCode::BadSdp, e.to_string()).await;
        }
        self.guard.offered();
        self.call.sends_only = !sdp::receives_audio(&sdp);
        if self.call.downlink.is_none() && !self.call.sends_only {
            let named = self.call.deferred.first().map(|p| p.peer_id.clone());
            self.call.downlink = Self::open_downlink(&peer, named).await;
        }
        let mut answer = match peer.answer().await {
            Ok(a) => a,
            Err(e) => return self.reply_error(ErrorCode::BadSdp, e.to_string()).await,
        };
        self.call.remote_set = true;
        if self.faults().has(Fault::F2) {
            answer = sdp::without_candidates(&answer, Some(CandidateType::Relay));
        }
        let held =
            if self.faults().has(Fault::F4) { self.candidates_before_answer().await } else { Vec::new() };
        tracing::info!(
            offer_candidates = sdp::candidates(&sdp).len(),
            answer_candidates = sdp::candidates(&answer).len(),
            sendrecv = self.call.downlink.is_some(),
            "offer answered"
        );
        if let Flow::Stop = self.send(ServerMessage::Answer { sdp: answer.clone() }).await {
            return Flow::Stop;
        }
        self.note_description(Direction::Sent, "answer", &answer);
        self.call.answered = true;
        if let Some(d) = &self.call.downlink {
            d.out.mark_negotiated();
        }
        for c in std::mem::take(&mut self.call.pending_remote) {
            if let Err(e) = peer.add_remote_candidate(&c).await {
                tracing::warn!(cause = %e, "buffered candidate rejected");
            }
        }
        for c in std::mem::take(&mut self.call.pending_local) {
            if let Flow::Stop = self.deliver_own_candidate(c).await {
                return Flow::Stop;
            }
        }
        for ev in held {
            if let Flow::Stop = self.on_peer_event(ev).await {
                return Flow::Stop;
            }
        }
        if self.call.gathering_complete
            && let Flow::Stop = self.end_of_candidates().await
        {
            return Flow::Stop;
        }
        let mut added = false;
        for p in std::mem::take(&mut self.call.deferred) {
            added |= self.subscribe(p, Via::AtAnswer).await;
        }
        if added { self.renegotiate().await } else { Flow::Continue }
    }

    fn faults(&self) -> &Faults {
        &self.hub.config.faults
    }

    async fn on_peer_event(&mut self, ev: PeerEvent) -> Flow {
        match ev {
            PeerEvent::LocalCandidate { init, info } => {
                tracing::debug!(typ = %info.typ, address = %info.address, port = info.port, "server candidate");
                self.note(Event::LocalCandidate { candidate: info, via: TimelineVia::Trickle });
                if self.call.answered {
                    return self.deliver_own_candidate(init).await;
                }
                self.call.pending_local.push(init);
            }
            PeerEvent::GatheringState(s) => {
                self.note(Event::GatheringState { state: s.clone() });
                if s == "complete" {
                    self.call.gathering_complete = true;
                    if self.call.answered {
                        return self.end_of_candidates().await;
                    }
                }
            }
            PeerEvent::ConnectionState(s) => {
                tracing::info!(state = %s, "peer connection");
                self.note(Event::ConnectionState { state: s.clone() });
                if s == "connected" {
                    self.guard.settled();
                }
                if s == "connected"
                    && let Some(peer) = &self.call.peer
                    && let Some((local, remote, _)) = peer.selected_pair().await
                {
                    tracing::info!(local = %local.typ, remote = %remote.typ, "selected pair");
                    self.note(Event::SelectedPair { local, remote, rtt_ms: None });
                }
            }
            PeerEvent::IceState(s) => {
                tracing::info!(state = %s, "ICE");
                self.note(Event::IceState { state: s });
            }
            PeerEvent::SignalingState(_) => {}
            PeerEvent::Track(track) => {
                if !self.call.publishing {
                    self.call.publishing = true;
                    let publisher = Publisher::new(self.id.clone());
                    publisher.spawn_reader(track);
                    self.hub.publish(&self.id, publisher);
                    tracing::info!("publishing audio to the room");
                }
            }
        }
        Flow::Continue
    }

    /// Leaves the room and frees the peer connection; the socket stays open.
    async fn leave(&mut self) {
        self.guard.settled();
        self.hub.leave(&self.id);
        self.close_peer().await;
        self.call = Call::default();
    }

    async fn close_peer(&mut self) {
        if let Some(peer) = self.call.peer.take() {
            peer.close().await;
            self.hub.peer_connection_closed();
        }
    }

    async fn cleanup(&mut self) {
        self.hub.unregister(&self.id);
        self.close_peer().await;
    }
}

/// Gives the memory a finished session freed back to the system. A peer connection's buffers
/// are large and glibc keeps freed memory in its arenas, so without this the server's RSS
/// stays at its busiest moment's level after every burst of sessions.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Fires at `at`; never without one.
async fn due(at: Option<std::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Fires [`OFFER_ANSWER_WAIT`] after `sent`; never without an outstanding offer.
async fn overdue(sent: Option<tokio::time::Instant>) {
    match sent {
        Some(t) => tokio::time::sleep_until(t + OFFER_ANSWER_WAIT).await,
        None => std::future::pending().await,
    }
}

async fn next_event(rx: &mut Option<mpsc::UnboundedReceiver<PeerEvent>>) -> Option<PeerEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
