//! The closing summary of a peer session, computed from its timeline alone: final states,
//! candidate counts by type, selected pair, per-remote-peer audio with its RTP loss and jitter,
//! our own stream's far-end report and RTT; plus the `--expect-audio` verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use super::candidate::CandidateType;
use super::timeline::{CandidateInfo, Event, Timeline};

/// A remote peer present for less than this is not expected to have been heard.
pub const EXPECT_AUDIO_GRACE_MS: u64 = 3000;
/// Quieter than this is silence, not audio.
pub const SILENCE_DBFS: f64 = -60.0;
/// Above this share of lost packets speech breaks up audibly (Opus FEC covers isolated losses).
pub const AUDIBLE_LOSS_PCT: f64 = 3.0;
/// Above this interarrival jitter a receiver's buffer adds noticeable delay or drops late audio.
pub const AUDIBLE_JITTER_MS: f64 = 30.0;

/// Audio received from one remote peer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeerAudio {
    pub packets: u64,
    pub rms_dbfs: Option<f64>,
    pub freq_hz: Option<f64>,
    /// RTP packets lost and interarrival jitter, as webrtc-rs last counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
    /// When the peer was first seen in the room, and when it left (if it did).
    #[serde(skip)]
    present: (u64, Option<u64>),
}

impl PeerAudio {
    fn heard(&self) -> bool {
        self.packets > 0 && self.rms_dbfs.is_some_and(|l| l > SILENCE_DBFS)
    }

    /// Lost packets as a share of those expected, in percent.
    pub fn loss_pct(&self) -> Option<f64> {
        let lost = self.lost?.max(0) as f64;
        let expected = self.packets as f64 + lost;
        (expected > 0.0).then(|| lost * 100.0 / expected)
    }

    /// Why this peer's audio sounds bad, if the RTP statistics say it does.
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
    pub peers: BTreeMap<String, PeerAudio>,
    pub errors: usize,
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
                        s.peers.entry(p.clone()).or_default().present = (e.t_ms, None);
                    }
                }
                Event::PeerJoined { peer_id } => {
                    s.peers.entry(peer_id.clone()).or_default().present = (e.t_ms, None);
                }
                Event::PeerLeft { peer_id } => {
                    if let Some(p) = s.peers.get_mut(peer_id) {
                        p.present.1 = Some(e.t_ms);
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
                Event::AudioLevel { from_peer, packets, rms_dbfs, freq_hz } => {
                    let p = s.peers.entry(from_peer.clone()).or_default();
                    p.packets = *packets;
                    p.rms_dbfs = Some(*rms_dbfs);
                    if freq_hz.is_some() {
                        p.freq_hz = *freq_hz;
                    }
                }
                Event::MediaSent { packets } => s.packets_sent = *packets,
                Event::InboundRtp { from_peer, lost, jitter_ms, .. } => {
                    let p = s.peers.entry(from_peer.clone()).or_default();
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
        s
    }

    /// Remote peers that were in the room long enough to be heard but were not.
    pub fn unheard_peers(&self, end_ms: u64) -> Vec<String> {
        self.peers
            .iter()
            .filter(|(_, p)| {
                let (from, to) = p.present;
                to.unwrap_or(end_ms).saturating_sub(from) >= EXPECT_AUDIO_GRACE_MS && !p.heard()
            })
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(peer: &str, packets: u64, db: f64) -> Event {
        Event::AudioLevel { from_peer: peer.into(), packets, rms_dbfs: db, freq_hz: Some(440.0) }
    }

    #[test]
    fn counts_states_and_audio() {
        let mut t = Timeline::new();
        t.push(0, Event::JoinedRoom { room: "r".into(), peer_id: "me".into(), peers: vec!["a".into()] });
        t.push(10, Event::ConnectionState { state: "connected".into() });
        t.push(20, Event::PeerJoined { peer_id: "b".into() });
        t.push(1000, level("a", 50, -12.0));
        t.push(9000, Event::ConnectionState { state: "closed".into() });
        let s = Summary::from_timeline(&t);
        assert!(s.ever_connected);
        assert_eq!(s.connection_state.as_deref(), Some("closed"));
        assert_eq!(s.peers["a"].packets, 50);
        assert_eq!(s.unheard_peers(9000), vec!["b".to_string()]);
    }

    #[test]
    fn loss_and_jitter_say_when_audio_is_degraded() {
        let mut t = Timeline::new();
        t.push(0, Event::JoinedRoom { room: "r".into(), peer_id: "me".into(), peers: vec![] });
        for (peer, lost, jitter) in [("clean", 1, 2.0), ("lossy", 10, 2.0), ("jittery", 0, 45.0)] {
            t.push(10, level(peer, 90, -12.0));
            t.push(20, Event::InboundRtp { from_peer: peer.into(), packets: 90, lost, jitter_ms: jitter });
        }
        let s = Summary::from_timeline(&t);
        assert_eq!(s.peers["clean"].degraded(), None);
        assert!((s.peers["lossy"].loss_pct().unwrap() - 10.0).abs() < 1e-9);
        assert!(s.peers["lossy"].degraded().unwrap().starts_with("10.0 % of packets lost"));
        assert!(s.peers["jittery"].degraded().unwrap().starts_with("jitter 45.0 ms"));
        // Duplicates can make webrtc-rs' loss negative: that is no loss.
        t.push(30, Event::InboundRtp { from_peer: "clean".into(), packets: 95, lost: -3, jitter_ms: 1.0 });
        assert_eq!(Summary::from_timeline(&t).peers["clean"].loss_pct(), Some(0.0));
    }

    #[test]
    fn silence_and_short_visits_are_judged_fairly() {
        let mut t = Timeline::new();
        t.push(0, Event::JoinedRoom { room: "r".into(), peer_id: "me".into(), peers: vec![] });
        t.push(100, Event::PeerJoined { peer_id: "quiet".into() });
        t.push(200, Event::PeerJoined { peer_id: "brief".into() });
        t.push(900, Event::PeerLeft { peer_id: "brief".into() });
        t.push(5000, level("quiet", 200, -90.0));
        assert_eq!(Summary::from_timeline(&t).unheard_peers(6000), vec!["quiet".to_string()]);
    }
}
