//! The `PeerConnectionEventHandler` that forwards every callback into a channel as a
//! [`PeerEvent`], converting webrtc-rs types into ours on the way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnectionEventHandler, RTCIceCandidate, RTCIceConnectionState, RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSignalingState};

use crate::diagnose::timeline::CandidateInfo;
use crate::signal::candidate::{Candidate, CandidateType};
use crate::signal::protocol::CandidateInit;
use super::{PeerEvent, RemoteAudio};

pub(super) struct Handler {
    tx: mpsc::UnboundedSender<PeerEvent>,
    mid: Arc<Mutex<String>>,
    /// DTLS is up, so SRTP is keyed and RTP may be sent (see [`super::tracks`]).
    connected: Arc<AtomicBool>,
}

impl Handler {
    pub(super) fn new(
        tx: mpsc::UnboundedSender<PeerEvent>,
        mid: Arc<Mutex<String>>,
        connected: Arc<AtomicBool>,
    ) -> Self {
        Self { tx, mid, connected }
    }

    fn emit(&self, e: PeerEvent) {
        // The receiver is gone only while the owner shuts down; nothing to do then.
        let _ = self.tx.send(e);
    }
}

/// Our view of a webrtc-rs candidate, read from its fields.
pub(super) fn info(c: &RTCIceCandidate) -> Option<CandidateInfo> {
    Some(CandidateInfo {
        typ: CandidateType::from_name(&c.typ.to_string())?,
        protocol: c.protocol.to_string().to_lowercase(),
        address: c.address.clone(),
        port: c.port,
        related: (!c.related_address.is_empty()).then(|| format!("{}:{}", c.related_address, c.related_port)),
        url: None,
    })
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let json = match event.candidate.to_json() {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(cause = %e, "local candidate could not be serialized");
                return;
            }
        };
        if let Err(e) = Candidate::parse(&json.candidate) {
            tracing::warn!(candidate = %json.candidate, cause = %e, "webrtc-rs printed an invalid candidate; not sent");
            return;
        }
        let Some(mut info) = info(&event.candidate) else { return };
        info.url = (!event.url.is_empty()).then(|| event.url.clone());
        let sdp_mid = self.mid.lock().expect("mid lock").clone();
        let init = CandidateInit { candidate: json.candidate, sdp_mid, sdp_mline_index: 0 };
        self.emit(PeerEvent::LocalCandidate { init, info });
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.emit(PeerEvent::GatheringState(state.to_string()));
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        self.emit(PeerEvent::SignalingState(state.to_string()));
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.emit(PeerEvent::IceState(state.to_string()));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        match state {
            RTCPeerConnectionState::Connected => self.connected.store(true, Ordering::Release),
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                self.connected.store(false, Ordering::Release)
            }
            _ => {}
        }
        self.emit(PeerEvent::ConnectionState(state.to_string()));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.emit(PeerEvent::Track(RemoteAudio::new(track)));
    }
}
