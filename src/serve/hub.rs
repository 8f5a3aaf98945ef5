//! The hub: room membership (the pure [`Rooms`] state machine), one command queue per session,
//! and the publishers of each room. Sessions call it; it tells other sessions what to do by
//! queueing [`Command`]s. Its lock is never held across an await.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::serve::process_sample::ProcessSample;
use crate::serve::room::{JoinError, Outgoing, Role, Rooms};
use crate::signal::protocol::ServerMessage;
use super::ServerConfig;
use super::sfu::{Publisher, SfuTotals};
use super::turn::EmbeddedTurn;

/// What one session asks of another.
pub enum Command {
    /// Deliver a signaling message to this session's client.
    Send(ServerMessage),
    /// Start receiving `publisher`'s audio (add a track, renegotiate).
    Subscribe(Arc<Publisher>),
    /// Stop receiving the audio of the publisher with this peer id.
    Unsubscribe(String),
}

/// A session as the hub reaches it: its bounded command queue, and the token that drops it
/// when that queue is full (it does not keep up: a client that does not read).
struct Mailbox {
    tx: mpsc::Sender<Command>,
    kick: CancellationToken,
}

#[derive(Default)]
struct State {
    rooms: Rooms,
    sessions: HashMap<String, Mailbox>,
    publishers: HashMap<String, Arc<Publisher>>,
    /// What publishers that have left forwarded, so totals never shrink.
    gone: SfuTotals,
}

impl State {
    fn deliver(&self, out: Vec<Outgoing>) {
        for o in out {
            self.tell(&o.to, Command::Send(o.msg));
        }
    }

    fn tell(&self, peer: &str, cmd: Command) {
        let Some(m) = self.sessions.get(peer) else { return };
        if let Err(mpsc::error::TrySendError::Full(_)) = m.tx.try_send(cmd) {
            if !m.kick.is_cancelled() {
                tracing::warn!(peer = %crate::signal::protocol::short_id(peer), "session dropped: its queue is full");
            }
            m.kick.cancel();
        }
    }
}

pub struct Hub {
    pub config: ServerConfig,
    turn: Option<EmbeddedTurn>,
    state: Mutex<State>,
    peer_connections: AtomicUsize,
    unanswered_offers: AtomicU64,
}

/// Forwarding counters of one publishing peer.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PublisherStats {
    pub peer_id: String,
    pub received: u64,
    pub forwarded: BTreeMap<String, u64>,
    pub queue_full: u64,
    pub not_negotiated: u64,
}

/// A snapshot of the server, served at `/stats`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HubStats {
    pub sessions: usize,
    pub peer_connections: usize,
    pub rooms: usize,
    /// Renegotiation offers a client left unanswered (it hears only its own transceiver).
    pub unanswered_offers: u64,
    pub publishers: Vec<PublisherStats>,
    /// Since the server started, over every publisher present or gone.
    pub received_packets: u64,
    pub forwarded_packets: u64,
    pub queue_full_packets: u64,
    /// The server process: CPU seconds used, resident memory, threads.
    pub process: Option<ProcessSample>,
}

impl Hub {
    pub fn new(config: ServerConfig, turn: Option<EmbeddedTurn>) -> Self {
        Self {
            config,
            turn,
            state: Mutex::new(State::default()),
            peer_connections: AtomicUsize::new(0),
            unanswered_offers: AtomicU64::new(0),
        }
    }

    pub fn turn_url(&self) -> Option<String> {
        self.turn.as_ref().map(|t| t.url().to_owned())
    }

    pub fn turn_addr(&self) -> Option<std::net::SocketAddr> {
        self.turn.as_ref().map(EmbeddedTurn::addr)
    }

    /// The ICE servers a joining peer is told to use (F8: time-limited credentials).
    fn ice_servers_for(&self, peer: &str) -> Vec<crate::signal::protocol::IceServer> {
        let id = crate::signal::protocol::short_id(peer);
        let mut servers: Vec<_> = self.turn.iter().map(|t| t.ice_server(id)).collect();
        servers.extend(self.config.ice.handed_out(id, super::unix_now()));
        servers
    }

    pub async fn close(&self) {
        if let Some(t) = &self.turn {
            t.close().await;
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("hub lock")
    }

    /// A new session's command queue (bounded by the limits) and the token that fires when
    /// the hub drops it for not keeping up.
    pub fn register(&self, peer: &str) -> (mpsc::Receiver<Command>, CancellationToken) {
        let (tx, rx) = mpsc::channel(self.config.limits.outbound_queue.max(1));
        let kick = CancellationToken::new();
        self.state().sessions.insert(peer.to_owned(), Mailbox { tx, kick: kick.clone() });
        (rx, kick)
    }

    /// Joins a room: `joined_room`/`peer_joined` go out, and the joiner is subscribed to the
    /// room's existing publishers. Returns how many others are in the room.
    pub fn join(&self, peer: &str, room: &str, role: Role) -> Result<usize, JoinError> {
        let ice_servers = self.ice_servers_for(peer);
        let mut st = self.state();
        let out = st.rooms.join(peer, room, ice_servers, role)?;
        st.deliver(out);
        let others = st.rooms.others(peer);
        for other in &others {
            if let Some(p) = st.publishers.get(other) {
                st.tell(peer, Command::Subscribe(p.clone()));
            }
        }
        Ok(others.len())
    }

    /// Delivers `msg` to every other member of `peer`'s room (the buggy fan-out of F1/F5).
    pub fn send_to_others(&self, peer: &str, msg: ServerMessage) {
        let st = self.state();
        for other in st.rooms.others(peer) {
            st.tell(&other, Command::Send(msg.clone()));
        }
    }

    /// A peer's track arrived: every other member of its room subscribes.
    pub fn publish(&self, peer: &str, publisher: Arc<Publisher>) {
        let mut st = self.state();
        if st.rooms.room_of(peer).is_none() {
            return;
        }
        st.publishers.insert(peer.to_owned(), publisher.clone());
        for other in st.rooms.others(peer) {
            st.tell(&other, Command::Subscribe(publisher.clone()));
        }
    }

    /// Leaves the room: `peer_left` to the others, its audio withdrawn from them, and its
    /// subscriptions to their audio ended.
    pub fn leave(&self, peer: &str) {
        let mut st = self.state();
        let others = st.rooms.others(peer);
        if others.is_empty()
            && let (Some(cluster), Some(room)) = (&self.config.cluster, st.rooms.room_of(peer))
        {
            cluster.room_emptied(room);
        }
        let out = st.rooms.leave(peer);
        st.deliver(out);
        if let Some(p) = st.publishers.remove(peer) {
            p.close();
            st.gone += p.totals();
            for other in &others {
                st.tell(other, Command::Unsubscribe(peer.to_owned()));
            }
        }
        for other in &others {
            if let Some(p) = st.publishers.get(other) {
                p.unsubscribe(peer);
            }
        }
    }

    /// The socket closed: leave the room and forget the session.
    pub fn unregister(&self, peer: &str) {
        self.leave(peer);
        self.state().sessions.remove(peer);
    }

    pub fn offer_unanswered(&self) {
        self.unanswered_offers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn peer_connection_opened(&self) {
        self.peer_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn peer_connection_closed(&self) {
        self.peer_connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> HubStats {
        let process = crate::serve::proc_stats::sample();
        let st = self.state();
        let mut publishers: Vec<PublisherStats> = st
            .publishers
            .values()
            .map(|p| {
                let (queue_full, not_negotiated) = p.losses();
                PublisherStats {
                    peer_id: p.peer_id.clone(),
                    received: p.received.load(Ordering::Relaxed),
                    forwarded: p.forwarded().into_iter().collect(),
                    queue_full,
                    not_negotiated,
                }
            })
            .collect();
        publishers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        let mut totals = st.gone;
        for p in st.publishers.values() {
            totals += p.totals();
        }
        HubStats {
            sessions: st.sessions.len(),
            peer_connections: self.peer_connections.load(Ordering::Relaxed),
            rooms: st.rooms.room_count(),
            unanswered_offers: self.unanswered_offers.load(Ordering::Relaxed),
            publishers,
            received_packets: totals.received,
            forwarded_packets: totals.forwarded,
            queue_full_packets: totals.queue_full,
            process,
        }
    }
}
