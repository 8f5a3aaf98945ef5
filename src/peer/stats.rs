//! The selected candidate pair: the pair itself from the ICE transport (stats omit
//! peer-reflexive remote candidates in webrtc-rs 0.21), its RTT from the stats entry the
//! transport names (W3C webrtc-stats §7). Candidates are read from their fields: webrtc-rs
//! prints a peer-reflexive candidate with an empty `raddr`, which no strict parser accepts.

use std::sync::Arc;
use std::time::Instant;

use rtc::statistics::stats::RTCStatsType;
use webrtc::peer_connection::{PeerConnection, RTCStatsReportEntry, StatsSelector};

use super::handler::info;
use crate::sansio::timeline::CandidateInfo;

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
