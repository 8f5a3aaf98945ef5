//! Statistics. The selected candidate pair: the pair itself from the ICE transport (stats omit
//! peer-reflexive remote candidates in webrtc-rs 0.21), its RTT from the stats entry the
//! transport names (W3C webrtc-stats §7). Candidates are read from their fields: webrtc-rs
//! prints a peer-reflexive candidate with an empty `raddr`, which no strict parser accepts.
//! RTP streams: packets, loss and jitter of what we receive; packets of what we send, with the
//! far end's loss and jitter from RTCP receiver reports. webrtc-rs 0.21 stores RFC 3550 jitter
//! in RTP timestamp units where the spec says seconds, and leaves the RTCP RTT at 0: jitter is
//! converted here at Opus' 48 kHz clock, and the RTT is the selected ICE pair's.

use std::sync::Arc;
use std::time::Instant;

use rtc::statistics::stats::RTCStatsType;
use webrtc::peer_connection::{PeerConnection, RTCStatsReportEntry, StatsSelector};

use crate::diagnose::timeline::CandidateInfo;
use super::handler::info;

async fn rtt_ms(pc: &Arc<dyn PeerConnection>) -> Option<f64> {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    let pair_id = report.iter_by_type(RTCStatsType::Transport).find_map(|e| match e {
        RTCStatsReportEntry::Transport(t) if !t.selected_candidate_pair_id.is_empty() => {
            Some(t.selected_candidate_pair_id.clone())
        }
        _ => None,
    })?;
    match report.get(&pair_id)? {
        RTCStatsReportEntry::IceCandidatePair(p) if p.current_round_trip_time > 0.0 => {
            Some(p.current_round_trip_time * 1000.0)
        }
        _ => None,
    }
}

pub(super) async fn selected_pair(
    pc: &Arc<dyn PeerConnection>,
) -> Option<(CandidateInfo, CandidateInfo, Option<f64>)> {
    let mut transport = None;
    for sender in pc.get_senders().await {
        if let Ok(Some(t)) = sender.transport().await {
            transport = Some(t);
            break;
        }
    }
    let pair = transport?.ice_transport().get_selected_candidate_pair().await.ok()??;
    let (local, remote) = (info(pair.local())?, info(pair.remote())?);
    Some((local, remote, rtt_ms(pc).await))
}

/// webrtc-rs' statistics of a stream we receive (W3C webrtc-stats `inbound-rtp`).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundStats {
    pub ssrc: u32,
    pub packets: u64,
    pub lost: i64,
    pub jitter_ms: f64,
}

/// webrtc-rs' statistics of a stream we send, with what the far end reported about it in RTCP
/// receiver reports (`remote-inbound-rtp`), once one arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundStats {
    pub ssrc: u32,
    pub packets: u64,
    pub remote_lost: Option<i64>,
    pub remote_jitter_ms: Option<f64>,
    pub rtt_ms: Option<f64>,
}

/// RFC 3550 interarrival jitter (RTP timestamp units at Opus' 48 kHz clock) in milliseconds.
fn jitter_ms(units: f64) -> f64 {
    units / 48.0
}

pub(super) async fn rtp(pc: &Arc<dyn PeerConnection>) -> (Vec<InboundStats>, Vec<OutboundStats>) {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    let inbound = report
        .iter_by_type(RTCStatsType::InboundRTP)
        .filter_map(|e| match e {
            RTCStatsReportEntry::InboundRtp(s) => {
                let r = &s.received_rtp_stream_stats;
                Some(InboundStats {
                    ssrc: r.rtp_stream_stats.ssrc,
                    packets: r.packets_received,
                    lost: r.packets_lost,
                    jitter_ms: jitter_ms(r.jitter),
                })
            }
            _ => None,
        })
        .collect();
    let remote: Vec<_> = report
        .iter_by_type(RTCStatsType::RemoteInboundRTP)
        .filter_map(|e| match e {
            RTCStatsReportEntry::RemoteInboundRtp(s) => Some((
                s.received_rtp_stream_stats.rtp_stream_stats.ssrc,
                s.received_rtp_stream_stats.packets_lost,
                jitter_ms(s.received_rtp_stream_stats.jitter),
                (s.round_trip_time_measurements > 0).then_some(s.round_trip_time * 1000.0),
            )),
            _ => None,
        })
        .collect();
    let ice_rtt = rtt_ms(pc).await;
    let outbound = report
        .iter_by_type(RTCStatsType::OutboundRTP)
        .filter_map(|e| match e {
            RTCStatsReportEntry::OutboundRtp(s) => {
                let ssrc = s.sent_rtp_stream_stats.rtp_stream_stats.ssrc;
                let far = remote.iter().find(|r| r.0 == ssrc);
                Some(OutboundStats {
                    ssrc,
                    packets: s.sent_rtp_stream_stats.packets_sent,
                    remote_lost: far.map(|r| r.1),
                    remote_jitter_ms: far.map(|r| r.2),
                    rtt_ms: far.and_then(|r| r.3).filter(|&r| r > 0.0).or(ice_rtt),
                })
            }
            _ => None,
        })
        .collect();
    (inbound, outbound)
}
