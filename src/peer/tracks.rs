//! Audio tracks: the Opus track a peer sends ([`LocalAudio`]), the SFU's forwarding track
//! ([`OutTrack`]) and a received track ([`RemoteAudio`]).
//!
//! webrtc-rs drops, with only an error log, any RTP whose SSRC or payload type is not the one
//! negotiated for the sender, so both send paths stamp the negotiated values themselves. It also
//! accepts RTP written before DTLS has keyed SRTP and then drops it with a warning ("local_srtp_context
//! is not set yet"), so both send paths hold back until the connection is up: a packet they
//! report as sent has really gone out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use tokio_util::sync::CancellationToken;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

use crate::media::restamp::Restamp;
use super::{Context, PeerError};

/// An RTP packet as received and forwarded.
pub type RtpPacket = rtc::rtp::Packet;

fn opus_track(ssrc: u32, stream_id: &str) -> MediaStreamTrack {
    MediaStreamTrack::new(
        stream_id.to_owned(),
        format!("audio-{ssrc:08x}"),
        "audio".to_owned(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            ..Default::default()
        }],
    )
}

/// The payload type negotiated for `sender`, once there is one.
async fn negotiated_pt(sender: &Arc<dyn RtpSender>, cache: &OnceLock<u8>) -> Option<u8> {
    if let Some(pt) = cache.get() {
        return Some(*pt);
    }
    let params = sender.get_parameters().await.ok()?;
    let pt = params.rtp_parameters.codecs.first()?.payload_type;
    Some(*cache.get_or_init(|| pt))
}

/// The Opus track a peer sends.
pub struct LocalAudio {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    connected: Arc<AtomicBool>,
    ssrc: u32,
    pt: OnceLock<u8>,
}

impl LocalAudio {
    pub(super) async fn attach(
        pc: &Arc<dyn PeerConnection>,
        connected: Arc<AtomicBool>,
        ssrc: u32,
        stream_id: &str,
    ) -> Result<Self, PeerError> {
        let track = Arc::new(
            TrackLocalStaticSample::new(Instant::now(), opus_track(ssrc, stream_id))
                .context("create track")?,
        );
        let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await.context("add track")?;
        Ok(Self { track, sender, connected, ssrc, pt: OnceLock::new() })
    }

    /// Sends one encoded Opus frame. `Ok(false)` while nothing is negotiated or connected yet.
    pub async fn send(&self, opus: Bytes, duration: Duration) -> Result<bool, PeerError> {
        if !self.connected.load(Ordering::Acquire) {
            return Ok(false);
        }
        let Some(pt) = negotiated_pt(&self.sender, &self.pt).await else { return Ok(false) };
        let sample = Sample { data: opus, duration, ..Sample::new(Instant::now()) };
        match self.track.sample_writer(self.ssrc, pt).write_sample(&sample).await {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::trace!(cause = %e, "sample not sent");
                Ok(false)
            }
        }
    }
}

/// An SFU output: another peer's RTP re-stamped with this track's SSRC and payload type, its
/// sequence numbers and timestamps continuous even when the publisher it carries changes.
pub struct OutTrack {
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    connected: Arc<AtomicBool>,
    ssrc: u32,
    pt: OnceLock<u8>,
    /// The listener has answered an offer carrying this track. Packets sent before that
    /// arrive on an SSRC the listener does not know and surface as an anonymous track.
    negotiated: AtomicBool,
    restamp: Mutex<Restamp>,
}

impl OutTrack {
    pub(super) async fn attach(
        pc: &Arc<dyn PeerConnection>,
        connected: Arc<AtomicBool>,
        ssrc: u32,
        stream_id: &str,
    ) -> Result<Self, PeerError> {
        let track = Arc::new(TrackLocalStaticRTP::new(opus_track(ssrc, stream_id)));
        let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await.context("add track")?;
        Ok(Self {
            track,
            sender,
            connected,
            ssrc,
            pt: OnceLock::new(),
            negotiated: AtomicBool::new(false),
            restamp: Mutex::new(Restamp::default()),
        })
    }

    /// The listener accepted the offer that carries this track: forwarding may start.
    pub fn mark_negotiated(&self) {
        self.negotiated.store(true, Ordering::Release);
    }

    pub(super) fn sender(&self) -> &Arc<dyn RtpSender> {
        &self.sender
    }

    /// Forwards one packet. `Ok(false)` if the track is not negotiated or the connection not up
    /// yet (nothing was sent).
    pub async fn forward(&self, mut pkt: RtpPacket) -> Result<bool, PeerError> {
        if !self.negotiated.load(Ordering::Acquire) || !self.connected.load(Ordering::Acquire) {
            return Ok(false);
        }
        let Some(pt) = negotiated_pt(&self.sender, &self.pt).await else { return Ok(false) };
        let h = &mut pkt.header;
        (h.sequence_number, h.timestamp) =
            self.restamp.lock().expect("restamp lock").apply(h.ssrc, h.sequence_number, h.timestamp);
        pkt.header.ssrc = self.ssrc;
        pkt.header.payload_type = pt;
        // Extension ids are negotiated per connection; the publisher's mean nothing here.
        pkt.header.extension = false;
        pkt.header.extensions.clear();
        pkt.header.extension_profile = 0;
        match self.track.write_rtp(pkt).await {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::trace!(cause = %e, "forward not bound yet");
                Ok(false)
            }
        }
    }
}

/// A received track.
#[derive(Clone)]
pub struct RemoteAudio {
    track: Arc<dyn TrackRemote>,
}

impl std::fmt::Debug for RemoteAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RemoteAudio")
    }
}

impl RemoteAudio {
    pub(super) fn new(track: Arc<dyn TrackRemote>) -> Self {
        Self { track }
    }

    /// The sender's stream id (the SFU puts the publishing peer's id there).
    pub async fn stream_id(&self) -> String {
        self.track.stream_id().await.to_string()
    }

    /// The codec's MIME type, once known.
    pub async fn codec(&self) -> String {
        match self.track.ssrcs().await.first() {
            Some(ssrc) => self.track.codec(*ssrc).await.map(|c| c.mime_type).unwrap_or_default(),
            None => String::new(),
        }
    }

    /// The next RTP packet, or `None` when the track has ended.
    pub async fn recv(&self) -> Option<RtpPacket> {
        loop {
            match self.track.poll().await? {
                TrackRemoteEvent::OnRtpPacket(p) => return Some(p),
                TrackRemoteEvent::OnEnded => return None,
                _ => {}
            }
        }
    }

    /// The next RTP packet, or `None` once the track has ended or `stop` fired.
    pub async fn recv_until(&self, stop: &CancellationToken) -> Option<RtpPacket> {
        tokio::select! {
            p = self.recv() => p,
            () = stop.cancelled() => None,
        }
    }
}
