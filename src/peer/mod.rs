//! The webrtc-rs wrapper: builds a peer connection from our options, turns its callbacks into
//! [`PeerEvent`]s on a channel (the handler is fixed at build time), and offers the handful of
//! operations `serve` and `join` need in their own terms (SDP strings, [`CandidateInit`]).
//! Only this module imports `webrtc`/`rtc`.

mod handler;
mod stats;
mod tracks;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use webrtc::peer_connection::{MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceServer, RTCIceTransportPolicy, RTCSessionDescription, Registry, SettingEngineBuilder, configure_rtcp_reports, register_default_interceptors};

use crate::diagnose::timeline::CandidateInfo;
use crate::signal::protocol::{CandidateInit, IceServer};
use crate::signal::sdp::first_mid;

pub use stats::{InboundStats, OutboundStats};
pub use tracks::{LocalAudio, OutTrack, RemoteAudio, RtpPacket};

/// How often ICE sends a connectivity check. webrtc-rs' default is 200 ms, which sets the pace
/// of the whole connect (see docs/benchmarks.md, "Connect time").
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// How long ICE keeps checking a pair before giving up (webrtc-rs' default is 7 × 200 ms).
const CHECK_BUDGET: Duration = Duration::from_millis(3000);

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("{context}: {source}")]
    Webrtc { context: &'static str, source: webrtc::error::Error },
    #[error("{0}")]
    Other(String),
}

trait Context<T> {
    fn context(self, context: &'static str) -> Result<T, PeerError>;
}

impl<T> Context<T> for webrtc::error::Result<T> {
    fn context(self, context: &'static str) -> Result<T, PeerError> {
        self.map_err(|source| PeerError::Webrtc { context, source })
    }
}

/// The address a peer binds to for reaching `host`: loopback for a loopback host (webrtc-rs
/// skips loopback on a wildcard bind), otherwise the wildcard of the host's family.
pub fn bind_for_host(host: &str) -> IpAddr {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => ip,
        _ if host == "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// [`bind_for_host`] for the host of a `ws://` or `wss://` URL.
pub fn bind_for_url(url: &str) -> IpAddr {
    let host = url.parse::<http::Uri>().ok().and_then(|u| u.host().map(str::to_owned)).unwrap_or_default();
    bind_for_host(&host)
}

/// What a peer connection is built with.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    pub ice_servers: Vec<IceServer>,
    /// Address ICE binds its UDP socket to. A wildcard skips loopback (webrtc-rs 0.21).
    pub bind_ip: IpAddr,
    pub check_interval: Duration,
    pub relay_only: bool,
    /// Extra CA for `turns:` servers reached through the TCP/TLS shim.
    pub turn_ca: Option<std::path::PathBuf>,
    /// An SFU's connection: RTCP sender and receiver reports only, no NACK or TWCC
    /// interceptors (webrtc-rs registers those for video; an audio forwarder needs neither).
    pub forwarder: bool,
}

impl PeerOptions {
    pub fn new(bind_ip: IpAddr) -> Self {
        Self {
            ice_servers: Vec::new(),
            bind_ip,
            check_interval: DEFAULT_CHECK_INTERVAL,
            relay_only: false,
            turn_ca: None,
            forwarder: false,
        }
    }
}

/// What a peer connection reports, in order.
#[derive(Debug)]
pub enum PeerEvent {
    LocalCandidate { init: CandidateInit, info: CandidateInfo },
    GatheringState(String),
    SignalingState(String),
    IceState(String),
    ConnectionState(String),
    Track(RemoteAudio),
}

/// One webrtc-rs peer connection.
#[derive(Clone)]
pub struct Peer {
    pc: Arc<dyn PeerConnection>,
    /// The first media section's mid, stamped on our trickled candidates.
    mid: Arc<Mutex<String>>,
    /// The connection is up (DTLS done): our tracks send only then.
    connected: Arc<AtomicBool>,
}

impl Peer {
    pub async fn new(opts: &PeerOptions) -> Result<(Self, mpsc::UnboundedReceiver<PeerEvent>), PeerError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mid = Arc::new(Mutex::new("0".to_owned()));
        let connected = Arc::new(AtomicBool::new(false));
        let mut media = MediaEngine::default();
        media.register_default_codecs().context("register codecs")?;
        let registry = if opts.forwarder {
            configure_rtcp_reports(Registry::new())
        } else {
            register_default_interceptors(Registry::new(), &mut media).context("interceptors")?
        };
        let interval = opts.check_interval.max(Duration::from_millis(1));
        let attempts = (CHECK_BUDGET.as_millis() / interval.as_millis()).clamp(7, u16::MAX as u128) as u16;
        let mut settings = SettingEngineBuilder::new()
            .with_ice_connection_attempts(Some(interval), Some(attempts))
            .with_include_loopback_candidate(opts.bind_ip.is_loopback())
            // A server that starts checking as soon as it answers reaches us before its
            // trickled candidate does: we learn its address as peer-reflexive, and the
            // successful check stays attributed to that candidate even once the host one
            // arrives. webrtc-rs waits 1 s from the start before nominating a prflx pair, which
            // was the 1 s connect tail; that wait only helps when a better pair may still show
            // up, and a prflx pair is a path that already works.
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO));
        if opts.relay_only {
            // ICE waits 2 s before accepting a relay pair in case a direct one shows up; with
            // relay-only there is nothing else to wait for.
            settings = settings.with_relay_acceptance_min_wait(Some(Duration::ZERO));
        }
        let settings = settings.build();
        let mut config = RTCConfigurationBuilder::new().with_ice_servers(
            opts.ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone().unwrap_or_default(),
                    credential: s.credential.clone().unwrap_or_default(),
                })
                .collect(),
        );
        if opts.relay_only {
            config = config.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
        }
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config.build())
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(handler::Handler::new(tx, mid.clone(), connected.clone())))
            .with_udp_addrs(vec![format!("{}:0", opts.bind_ip)])
            .build()
            .await
            .context("build peer connection")?;
        Ok((Self { pc: Arc::new(pc), mid, connected }, rx))
    }

    fn remember_mid(&self, sdp: &str) {
        if let Some(m) = first_mid(sdp) {
            *self.mid.lock().expect("mid lock") = m;
        }
    }

    /// Creates an offer and sets it as the local description; returns its SDP (candidates
    /// trickle afterwards, as a browser's do).
    pub async fn create_offer(&self) -> Result<String, PeerError> {
        let offer = self.pc.create_offer(None).await.context("create offer")?;
        self.remember_mid(&offer.sdp);
        self.pc.set_local_description(offer.clone()).await.context("set local offer")?;
        Ok(offer.sdp)
    }

    /// The current local description's SDP (with every candidate gathered so far).
    pub async fn local_sdp(&self) -> Option<String> {
        self.pc.local_description().await.map(|d| d.sdp)
    }

    /// Applies a remote offer and answers it; returns the answer's SDP.
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, PeerError> {
        self.set_remote_offer(sdp).await?;
        self.answer().await
    }

    /// Applies a remote offer. Tracks added before [`Peer::answer`] ride the offer's own
    /// transceivers (webrtc-rs reuses a transceiver that has no sender): the answer turns
    /// them `sendrecv`, no renegotiation needed.
    pub async fn set_remote_offer(&self, sdp: &str) -> Result<(), PeerError> {
        let offer = RTCSessionDescription::offer(sdp.to_owned()).context("parse offer")?;
        self.pc.set_remote_description(offer).await.context("set remote offer")
    }

    /// Answers the applied remote offer; returns the answer's SDP.
    pub async fn answer(&self) -> Result<String, PeerError> {
        let answer = self.pc.create_answer(None).await.context("create answer")?;
        self.remember_mid(&answer.sdp);
        self.pc.set_local_description(answer.clone()).await.context("set local answer")?;
        Ok(answer.sdp)
    }

    /// Applies the remote answer to our offer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), PeerError> {
        let answer = RTCSessionDescription::answer(sdp.to_owned()).context("parse answer")?;
        self.pc.set_remote_description(answer).await.context("set remote answer")
    }

    /// Adds a trickled remote candidate. Call only once the remote description is set.
    pub async fn add_remote_candidate(&self, c: &CandidateInit) -> Result<(), PeerError> {
        let init = RTCIceCandidateInit {
            candidate: c.candidate.clone(),
            sdp_mid: Some(c.sdp_mid.clone()),
            sdp_mline_index: Some(c.sdp_mline_index),
            ..Default::default()
        };
        self.pc.add_ice_candidate(init).await.context("add ICE candidate")
    }

    /// Adds an Opus track we encode ourselves; `stream_id` names us to the far end.
    pub async fn add_audio_sender(&self, ssrc: u32, stream_id: &str) -> Result<LocalAudio, PeerError> {
        LocalAudio::attach(&self.pc, self.connected.clone(), ssrc, stream_id).await
    }

    /// Adds an audio transceiver that only receives (`a=recvonly`: a WHEP viewer's offer).
    pub async fn add_audio_receiver(&self) -> Result<(), PeerError> {
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            streams: Vec::new(),
            send_encodings: Vec::new(),
        };
        self.pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(init)).await.context("add transceiver")?;
        Ok(())
    }

    /// Adds a track that forwards another peer's RTP (SFU); `stream_id` names that peer.
    pub async fn add_forward_track(&self, ssrc: u32, stream_id: &str) -> Result<OutTrack, PeerError> {
        OutTrack::attach(&self.pc, self.connected.clone(), ssrc, stream_id).await
    }

    /// Stops sending a forwarded track (the next offer marks its section inactive).
    pub async fn remove_forward_track(&self, track: &OutTrack) -> Result<(), PeerError> {
        self.pc.remove_track(track.sender()).await.context("remove track")
    }

    /// The nominated candidate pair and its RTT, from the stats.
    pub async fn selected_pair(&self) -> Option<(CandidateInfo, CandidateInfo, Option<f64>)> {
        stats::selected_pair(&self.pc).await
    }

    /// RTP statistics of the streams we receive and send.
    pub async fn rtp_stats(&self) -> (Vec<InboundStats>, Vec<OutboundStats>) {
        stats::rtp(&self.pc).await
    }

    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!(cause = %e, "closing peer connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_get_a_loopback_bind() {
        assert_eq!(bind_for_url("ws://127.0.0.1:8765/ws"), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(bind_for_url("ws://localhost/ws"), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(bind_for_url("ws://[::1]:9/ws"), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(bind_for_url("wss://example.org/ws"), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(bind_for_host("::1"), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(bind_for_host("2001:db8::1"), IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    }
}
