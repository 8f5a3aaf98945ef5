//! One `Event` type for everything a command observes, stamped with milliseconds since the
//! command started, and the `Timeline` that keeps them in order. Drivers emit events; renderers,
//! the summary and the diagnosis rules read them. No clock here: the caller passes `t_ms`.

use serde::{Deserialize, Serialize};

use crate::signal::candidate::{Candidate, CandidateType};
use crate::signal::http_step::HttpStep;
use crate::signal::ice_url::OfferedIceServer;
use crate::signal::janus_api::JanusStep;
use crate::signal::sdp::SdpIdentity;

/// Which way a signaling message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Sent,
    Received,
}

/// How a candidate travelled: inside the SDP or trickled in its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Sdp,
    Trickle,
}

/// A candidate as the timeline shows it (no foundation or priority: they explain nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CandidateInfo {
    pub typ: CandidateType,
    pub protocol: String,
    pub address: String,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<String>,
    /// The STUN/TURN URL a local candidate was gathered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl From<&Candidate> for CandidateInfo {
    /// The timeline's view of a parsed attribute (no URL: only the gatherer knows it).
    fn from(c: &Candidate) -> Self {
        Self {
            typ: c.typ,
            protocol: c.transport.clone(),
            address: c.address.clone(),
            port: c.port,
            related: c.related.as_ref().map(|(a, p)| format!("{a}:{p}")),
            url: None,
        }
    }
}

/// Which received audio stream an event is about: its number in arrival order and, when the
/// stream id in the SDP names a peer of the room, that peer. Servers need not name streams
/// after peers (aiortc's ids are random), so an unnamed stream is still a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRef {
    pub stream: u32,
    pub from_peer: Option<String>,
}

/// Everything a command can observe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The signaling socket is open.
    SignalingConnected {
        url: String,
    },
    /// The server answered `join_room` with `redirect`: the room lives on the node at `to`, so the
    /// peer closed `from` and reconnects there (tokens redacted from both).
    Redirected {
        from: String,
        to: String,
    },
    /// A signaling message went out or came in; `detail` is a short human summary.
    Signal {
        direction: Direction,
        kind: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// An HTTP request of the signaling (WHIP/WHEP) and its answer: `status` is absent when no
    /// answer came; `location`, `etag` and `content_type` are what the answer said; `body` is an
    /// error answer's text, shortened. The URL never carries a token.
    Http(HttpStep),
    /// A frame of a Janus session (its `janus` verb, transaction, plugin request or event, error
    /// code and reason, time since the request it answers); SDPs and candidates are not repeated.
    Janus(JanusStep),
    /// A session description went out (`Sent`: our local one) or came in, with what names its
    /// end and the wall clock (ms since the Unix epoch) when it did, so two files of one call
    /// can be paired and their clocks compared. Written beside the `signal` line.
    Description {
        direction: Direction,
        kind: String,
        #[serde(flatten)]
        identity: SdpIdentity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unix_ms: Option<u64>,
    },
    /// A received frame that broke the protocol; `violation` is the catalogue rule (F3-…).
    SignalRejected {
        code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        violation: Option<String>,
        message: String,
    },
    /// The server error reply to something we sent.
    ServerError {
        code: String,
        message: String,
    },
    JoinedRoom {
        room: String,
        peer_id: String,
        peers: Vec<String>,
    },
    /// The ICE servers `joined_room` handed out (credentials never recorded).
    IceServersOffered {
        servers: Vec<OfferedIceServer>,
    },
    /// rtc-assist's TURN TCP/TLS shim for `url`: `listening` (detail: the local URL ICE uses),
    /// `connected`, or `lost` (detail: why — an allocation loss).
    TurnShim {
        url: String,
        state: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    PeerJoined {
        peer_id: String,
    },
    PeerLeft {
        peer_id: String,
    },
    GatheringState {
        state: String,
    },
    SignalingState {
        state: String,
    },
    LocalCandidate {
        #[serde(flatten)]
        candidate: CandidateInfo,
        via: Via,
    },
    RemoteCandidate {
        #[serde(flatten)]
        candidate: CandidateInfo,
        via: Via,
        /// Held back because the remote description was not set yet (F4 handled).
        buffered: bool,
    },
    /// Trickled remote candidates applied once the remote description existed.
    CandidatesFlushed {
        count: usize,
    },
    EndOfCandidates {
        direction: Direction,
    },
    IceState {
        state: String,
    },
    ConnectionState {
        state: String,
    },
    SelectedPair {
        local: CandidateInfo,
        remote: CandidateInfo,
        #[serde(skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<f64>,
    },
    /// A remote audio track; `stream_id` is what the far end's SDP calls its stream.
    TrackReceived {
        #[serde(flatten)]
        source: StreamRef,
        stream_id: String,
        codec: String,
    },
    /// Packets so far and the audio measured over the last window of one received stream.
    AudioLevel {
        #[serde(flatten)]
        source: StreamRef,
        packets: u64,
        rms_dbfs: f64,
        freq_hz: Option<f64>,
    },
    /// Our own media went out: packets so far.
    MediaSent {
        packets: u64,
    },
    /// An audio device was opened (`role` input or output) with this configuration.
    AudioDevice {
        role: String,
        device: String,
        sample_format: String,
        channels: u16,
        rate: u32,
    },
    /// webrtc-rs' statistics of one stream we receive.
    InboundRtp {
        #[serde(flatten)]
        source: StreamRef,
        packets: u64,
        lost: i64,
        jitter_ms: f64,
    },
    /// webrtc-rs' statistics of the stream we send, with the far end's RTCP report.
    OutboundRtp {
        packets: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        remote_lost: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        remote_jitter_ms: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<f64>,
    },
    Error {
        message: String,
    },
}

impl Event {
    /// The NDJSON `event` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SignalingConnected { .. } => "signaling_connected",
            Self::Redirected { .. } => "redirected",
            Self::Signal { .. } => "signal",
            Self::Http(_) => "http",
            Self::Janus(_) => "janus",
            Self::Description { .. } => "description",
            Self::SignalRejected { .. } => "signal_rejected",
            Self::ServerError { .. } => "server_error",
            Self::JoinedRoom { .. } => "joined_room",
            Self::IceServersOffered { .. } => "ice_servers_offered",
            Self::TurnShim { .. } => "turn_shim",
            Self::PeerJoined { .. } => "peer_joined",
            Self::PeerLeft { .. } => "peer_left",
            Self::GatheringState { .. } => "gathering_state",
            Self::SignalingState { .. } => "signaling_state",
            Self::LocalCandidate { .. } => "local_candidate",
            Self::RemoteCandidate { .. } => "remote_candidate",
            Self::CandidatesFlushed { .. } => "candidates_flushed",
            Self::EndOfCandidates { .. } => "end_of_candidates",
            Self::IceState { .. } => "ice_state",
            Self::ConnectionState { .. } => "connection_state",
            Self::SelectedPair { .. } => "selected_pair",
            Self::TrackReceived { .. } => "track_received",
            Self::AudioLevel { .. } => "audio_level",
            Self::MediaSent { .. } => "media_sent",
            Self::AudioDevice { .. } => "audio_device",
            Self::InboundRtp { .. } => "inbound_rtp",
            Self::OutboundRtp { .. } => "outbound_rtp",
            Self::Error { .. } => "error",
        }
    }
}

/// An event with the milliseconds since the command started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    pub t_ms: u64,
    #[serde(flatten)]
    pub event: Event,
}

impl Stamped {
    /// One NDJSON line (no trailing newline).
    pub fn to_ndjson(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"t_ms":{},"event":"error","message":"unserializable event: {e}"}}"#, self.t_ms)
        })
    }
}

/// Where a command's events go as they are recorded, besides its timeline: the terminal
/// renderer (`ui`) implements it. Drivers never see it: they emit through the recorder.
pub trait Output: Send + Sync {
    fn event(&self, stamped: &Stamped);
    /// A level measured on `stream` (our own source or a received one), for a live view.
    fn level(&self, _stream: &str, _dbfs: f64, _detail: &str) {}
    /// The live part is over (before the closing summary).
    fn clear_live(&self) {}
}

/// The ordered record of one command run.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    events: Vec<Stamped>,
}

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an event observed at `t_ms`.
    pub fn push(&mut self, t_ms: u64, event: Event) -> &Stamped {
        self.events.push(Stamped { t_ms, event });
        self.events.last().expect("just pushed")
    }

    pub fn events(&self) -> &[Stamped] {
        &self.events
    }

    /// The last milliseconds stamp, or 0 for an empty timeline.
    pub fn end_ms(&self) -> u64 {
        self.events.last().map_or(0, |e| e.t_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_carries_t_ms_and_event_name_at_top_level() {
        let mut t = Timeline::new();
        let s = t.push(
            12,
            Event::LocalCandidate {
                candidate: CandidateInfo {
                    typ: CandidateType::Host,
                    protocol: "udp".into(),
                    address: "127.0.0.1".into(),
                    port: 5000,
                    related: None,
                    url: None,
                },
                via: Via::Trickle,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&s.to_ndjson()).unwrap();
        assert_eq!(v["t_ms"], 12);
        assert_eq!(v["event"], "local_candidate");
        assert_eq!(v["typ"], "host");
        assert_eq!(v["via"], "trickle");
        assert_eq!(v["event"], s.event.name());
    }

    #[test]
    fn a_redirect_round_trips_through_ndjson() {
        let mut t = Timeline::new();
        let s = t.push(3, Event::Redirected { from: "ws://a/ws".into(), to: "ws://b/ws".into() });
        let line = s.to_ndjson();
        let back: Stamped = serde_json::from_str(&line).unwrap();
        assert_eq!(&back, s);
        assert!(line.contains(r#""event":"redirected""#), "{line}");
    }
}
