//! The closing summary of a peer session, computed from its timeline alone: final states,
//! candidate counts by type, selected pair, per-received-stream audio with its RTP loss and
//! jitter (attributed to a peer when the stream id names one), our own stream's far-end report
//! and RTT; plus the `--expect-audio` verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnose::timeline::{CandidateInfo, Event, StreamRef, Timeline};
use crate::signal::candidate::CandidateType;
use crate::signal::protocol::short_id;

/// A remote peer present for less than this is not expected to have been heard.
pub const EXPECT_AUDIO_GRACE_MS: u64 = 3000;
/// Quieter than this is silence, not audio.
pub const SILENCE_DBFS: f64 = -60.0;
/// Above this share of lost packets speech breaks up audibly (Opus FEC covers isolated losses).
pub const AUDIBLE_LOSS_PCT: f64 = 3.0;
/// Above this interarrival jitter a receiver's buffer adds noticeable delay or drops late audio.
pub const AUDIBLE_JITTER_MS: f64 = 30.0;

/// Audio received on one stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamAudio {
    /// The stream's number, in the order streams arrived.
    pub stream: u32,
    /// The peer it comes from, when its stream id names one.
    pub from_peer: Option<String>,
    pub packets: u64,
    /// The loudest one-second window, and the dominant frequency of the last audible one.
    pub rms_dbfs: Option<f64>,
    pub freq_hz: Option<f64>,
    /// RTP packets lost and interarrival jitter, as webrtc-rs last counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
}

impl StreamAudio {
    /// Packets arrived and they were louder than silence.
    pub fn heard(&self) -> bool {
        self.packets > 0 && self.rms_dbfs.is_some_and(|l| l > SILENCE_DBFS)
    }

    /// The dominant frequency is `hz` (within ±2 %).
    pub fn carries_tone(&self, hz: f64) -> bool {
        self.freq_hz.is_some_and(|f| (f - hz).abs() <= hz * 0.02)
    }

    /// Lost packets as a share of those expected, in percent.
    pub fn loss_pct(&self) -> Option<f64> {
        let lost = self.lost?.max(0) as f64;
        let expected = self.packets as f64 + lost;
        (expected > 0.0).then(|| lost * 100.0 / expected)
    }

    /// Why this stream's audio sounds bad, if the RTP statistics say it does.
    pub fn degraded(&self) -> Option<String> {
        let mut why = Vec::new();
        if let Some(p) = self.loss_pct().filter(|&p| p > AUDIBLE_LOSS_PCT) {
            why.push(format!("{p:.1} % of packets lost (audible above {AUDIBLE_LOSS_PCT} %)"));
        }
        if let Some(j) = self.jitter_ms.filter(|&j| j > AUDIBLE_JITTER_MS) {
            why.push(format!("jitter {j:.1} ms (audible above {AUDIBLE_JITTER_MS} ms)"));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// The `--expect-audio` verdict: peers that were present long enough to be heard and that
/// the audible streams do not account for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Unheard {
    pub peers: Vec<String>,
    /// Audible streams that name no peer; each may stand for one of `peers`.
    pub anonymous_audible: usize,
}

impl Unheard {
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// The far end's RTCP receiver report on our stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SentReport {
    pub lost: Option<i64>,
    pub jitter_ms: Option<f64>,
    pub rtt_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub peer_id: Option<String>,
    pub gathering_state: Option<String>,
    pub ice_state: Option<String>,
    pub connection_state: Option<String>,
    pub ever_connected: bool,
    pub local_candidates: BTreeMap<CandidateType, usize>,
    pub remote_candidates: BTreeMap<CandidateType, usize>,
    pub selected_pair: Option<(CandidateInfo, CandidateInfo)>,
    pub packets_sent: u64,
    /// What the far end reported about our stream, and the RTT (RTCP).
    pub sent_report: Option<SentReport>,
    /// Every received stream, by its number.
    pub streams: BTreeMap<u32, StreamAudio>,
    pub errors: usize,
    /// Whether the signaling session (WHIP/WHEP, Janus) was torn down at hang-up.
    pub teardown: Option<String>,
    /// When each other peer was first seen in the room, and when it left (if it did).
    #[serde(skip)]
    present: BTreeMap<String, (u64, Option<u64>)>,
    /// Candidates already counted (the same candidate reappears in renegotiation SDPs).
    #[serde(skip)]
    seen: std::collections::HashSet<(bool, CandidateInfo)>,
}

impl Summary {
    pub fn from_timeline(t: &Timeline) -> Self {
        let mut s = Summary::default();
        for e in t.events() {
            match &e.event {
                Event::JoinedRoom { peer_id, peers, .. } => {
                    s.peer_id = Some(peer_id.clone());
                    for p in peers {
                        s.present.insert(p.clone(), (e.t_ms, None));
                    }
                }
                Event::PeerJoined { peer_id } => {
                    s.present.insert(peer_id.clone(), (e.t_ms, None));
                }
                Event::PeerLeft { peer_id } => {
                    if let Some(p) = s.present.get_mut(peer_id) {
                        p.1 = Some(e.t_ms);
                    }
                }
                Event::GatheringState { state } => s.gathering_state = Some(state.clone()),
                Event::IceState { state } => s.ice_state = Some(state.clone()),
                Event::ConnectionState { state } => {
                    s.ever_connected |= state == "connected";
                    s.connection_state = Some(state.clone());
                }
                Event::LocalCandidate { candidate, .. } if s.seen.insert((true, candidate.clone())) => {
                    *s.local_candidates.entry(candidate.typ).or_default() += 1;
                }
                Event::RemoteCandidate { candidate, .. } if s.seen.insert((false, candidate.clone())) => {
                    *s.remote_candidates.entry(candidate.typ).or_default() += 1;
                }
                Event::SelectedPair { local, remote, .. } => {
                    s.selected_pair = Some((local.clone(), remote.clone()));
                }
                Event::TrackReceived { source, .. } => {
                    s.stream(source);
                }
                Event::AudioLevel { source, packets, rms_dbfs, freq_hz } => {
                    let p = s.stream(source);
                    p.packets = *packets;
                    // The loudest window: a stream that went quiet (its peer left) was heard.
                    p.rms_dbfs = Some(p.rms_dbfs.map_or(*rms_dbfs, |l| l.max(*rms_dbfs)));
                    if freq_hz.is_some() && *rms_dbfs > SILENCE_DBFS {
                        p.freq_hz = *freq_hz;
                    }
                }
                Event::MediaSent { packets } => s.packets_sent = *packets,
                Event::InboundRtp { source, lost, jitter_ms, .. } => {
                    let p = s.stream(source);
                    p.lost = Some(*lost);
                    p.jitter_ms = Some(*jitter_ms);
                }
                Event::OutboundRtp { remote_lost, remote_jitter_ms, rtt_ms, .. } => {
                    let r = s.sent_report.get_or_insert_with(SentReport::default);
                    r.lost = remote_lost.or(r.lost);
                    r.jitter_ms = remote_jitter_ms.or(r.jitter_ms);
                    r.rtt_ms = rtt_ms.or(r.rtt_ms);
                }
                Event::Error { .. } => s.errors += 1,
                _ => {}
            }
        }
        s.teardown = crate::diagnose::teardown::teardown(t);
        s
    }

    fn stream(&mut self, source: &StreamRef) -> &mut StreamAudio {
        let s = self.streams.entry(source.stream).or_default();
        s.stream = source.stream;
        if source.from_peer.is_some() {
            s.from_peer = source.from_peer.clone();
        }
        s
    }

    /// The peers that were in the room for at least [`EXPECT_AUDIO_GRACE_MS`] and that the
    /// audible streams do not account for: a stream named after a peer accounts for that
    /// peer, an audible stream that names nobody for any one of them.
    pub fn unheard(&self, end_ms: u64) -> Unheard {
        let heard: Vec<&StreamAudio> = self.streams.values().filter(|s| s.heard()).collect();
        let named: std::collections::BTreeSet<&str> =
            heard.iter().filter_map(|s| s.from_peer.as_deref()).collect();
        let anonymous_audible = heard.iter().filter(|s| s.from_peer.is_none()).count();
        let missing: Vec<String> = self
            .present
            .iter()
            .filter(|(id, (from, to))| {
                to.unwrap_or(end_ms).saturating_sub(*from) >= EXPECT_AUDIO_GRACE_MS
                    && !named.contains(id.as_str())
            })
            .map(|(id, _)| id.clone())
            .collect();
        let peers = if missing.len() <= anonymous_audible { Vec::new() } else { missing };
        Unheard { peers, anonymous_audible }
    }

    /// `--expect-audio` where there is no room (a WHEP endpoint): some stream must be audible.
    pub fn unheard_endpoint(&self) -> Unheard {
        let audible = self.streams.values().filter(|s| s.heard()).count();
        let peers = if audible == 0 { vec!["endpoint".to_owned()] } else { Vec::new() };
        Unheard { peers, anonymous_audible: 0 }
    }
}

/// How a received stream is named: after its peer when its stream id names one.
pub fn stream_label(stream: u32, from_peer: Option<&str>) -> String {
    match from_peer {
        Some(p) => format!("from {} (stream {stream})", short_id(p)),
        None => format!("stream {stream}, peer unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(stream: u32, peer: Option<&str>) -> StreamRef {
        StreamRef { stream, from_peer: peer.map(str::to_owned) }
    }

    fn level(stream: u32, peer: Option<&str>, packets: u64, db: f64) -> Event {
        Event::AudioLevel { source: from(stream, peer), packets, rms_dbfs: db, freq_hz: Some(440.0) }
    }

    fn joined(peers: &[&str]) -> Event {
        Event::JoinedRoom {
            room: "r".into(),
            peer_id: "me".into(),
            peers: peers.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn counts_states_and_audio() {
        let mut t = Timeline::new();
        t.push(0, joined(&["a"]));
        t.push(10, Event::ConnectionState { state: "connected".into() });
        t.push(20, Event::PeerJoined { peer_id: "b".into() });
        t.push(1000, level(1, Some("a"), 50, -12.0));
        t.push(9000, Event::ConnectionState { state: "closed".into() });
        let s = Summary::from_timeline(&t);
        assert!(s.ever_connected);
        assert_eq!(s.connection_state.as_deref(), Some("closed"));
        assert_eq!(s.streams[&1].packets, 50);
        assert_eq!(s.streams[&1].from_peer.as_deref(), Some("a"));
        assert_eq!(s.unheard(9000).peers, vec!["b".to_string()]);
    }

    #[test]
    fn streams_that_name_no_peer_still_count() {
        // An aiortc SFU: random stream ids, nothing says which peer a stream carries.
        let mut t = Timeline::new();
        t.push(0, joined(&["a", "b"]));
        t.push(1000, level(1, None, 150, -12.0));
        assert_eq!(
            Summary::from_timeline(&t).unheard(9000),
            Unheard { peers: vec!["a".into(), "b".into()], anonymous_audible: 1 },
            "one anonymous stream cannot stand for two peers"
        );
        t.push(1000, level(2, None, 150, -14.0));
        assert!(Summary::from_timeline(&t).unheard(9000).is_empty());
        // A named stream accounts for its own peer only.
        let mut t = Timeline::new();
        t.push(0, joined(&["a", "b"]));
        t.push(1000, level(1, Some("a"), 150, -12.0));
        t.push(1000, level(2, None, 150, -12.0));
        assert!(Summary::from_timeline(&t).unheard(9000).is_empty());
        let mut t = Timeline::new();
        t.push(0, joined(&["a", "b"]));
        t.push(1000, level(1, Some("a"), 150, -12.0));
        assert_eq!(Summary::from_timeline(&t).unheard(9000).peers, vec!["b".to_string()]);
    }

    #[test]
    fn an_endpoint_without_a_room_must_be_heard_at_all() {
        let mut t = Timeline::new();
        t.push(0, joined(&[]));
        assert!(Summary::from_timeline(&t).unheard(9000).is_empty(), "no peers: nothing missing");
        assert_eq!(Summary::from_timeline(&t).unheard_endpoint().peers, vec!["endpoint".to_string()]);
        t.push(1000, level(1, None, 5, -90.0));
        assert!(!Summary::from_timeline(&t).unheard_endpoint().is_empty(), "silence is not hearing");
        t.push(2000, level(1, None, 150, -12.0));
        assert!(Summary::from_timeline(&t).unheard_endpoint().is_empty());
    }

    #[test]
    fn loss_and_jitter_say_when_audio_is_degraded() {
        let mut t = Timeline::new();
        t.push(0, joined(&[]));
        for (n, lost, jitter) in [(1, 1, 2.0), (2, 10, 2.0), (3, 0, 45.0)] {
            t.push(10, level(n, None, 90, -12.0));
            t.push(20, Event::InboundRtp { source: from(n, None), packets: 90, lost, jitter_ms: jitter });
        }
        let s = Summary::from_timeline(&t);
        assert_eq!(s.streams[&1].degraded(), None);
        assert!((s.streams[&2].loss_pct().unwrap() - 10.0).abs() < 1e-9);
        assert!(s.streams[&2].degraded().unwrap().starts_with("10.0 % of packets lost"));
        assert!(s.streams[&3].degraded().unwrap().starts_with("jitter 45.0 ms"));
        // Duplicates can make webrtc-rs' loss negative: that is no loss.
        t.push(30, Event::InboundRtp { source: from(1, None), packets: 95, lost: -3, jitter_ms: 1.0 });
        assert_eq!(Summary::from_timeline(&t).streams[&1].loss_pct(), Some(0.0));
    }

    #[test]
    fn a_stream_that_fell_silent_at_the_end_was_heard() {
        let mut t = Timeline::new();
        t.push(0, joined(&["a"]));
        t.push(1000, level(1, None, 50, -13.0));
        let quiet =
            Event::AudioLevel { source: from(1, None), packets: 300, rms_dbfs: -120.0, freq_hz: None };
        t.push(6000, quiet);
        let s = Summary::from_timeline(&t);
        assert_eq!((s.streams[&1].rms_dbfs, s.streams[&1].freq_hz), (Some(-13.0), Some(440.0)));
        assert!(s.unheard(6000).is_empty());
    }

    #[test]
    fn silence_and_short_visits_are_judged_fairly() {
        let mut t = Timeline::new();
        t.push(0, joined(&[]));
        t.push(100, Event::PeerJoined { peer_id: "quiet".into() });
        t.push(200, Event::PeerJoined { peer_id: "brief".into() });
        t.push(900, Event::PeerLeft { peer_id: "brief".into() });
        t.push(5000, level(1, Some("quiet"), 200, -90.0));
        assert_eq!(Summary::from_timeline(&t).unheard(6000).peers, vec!["quiet".to_string()]);
    }
}
