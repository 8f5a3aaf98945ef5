//! Reading the selected candidate pair out of webrtc-rs stats: the transport names the pair,
//! the pair names its two candidates (W3C webrtc-stats §7).

use std::sync::Arc;
use std::time::Instant;

use rtc::statistics::stats::RTCStatsType;
use webrtc::peer_connection::{PeerConnection, RTCStatsReport, RTCStatsReportEntry, StatsSelector};

use crate::sansio::candidate::CandidateType;
use crate::sansio::timeline::CandidateInfo;

/// The candidate a pair refers to. Pairs name candidates by a suffix of their stats id
/// (`RTCLocalIceCandidate_<id>`), so match either form.
fn candidate(report: &RTCStatsReport, id: &str, local: bool) -> Option<CandidateInfo> {
    let c = report.iter().find_map(|e| match e {
        RTCStatsReportEntry::LocalCandidate(c) if local && c.stats.id.ends_with(id) => Some(c),
        RTCStatsReportEntry::RemoteCandidate(c) if !local && c.stats.id.ends_with(id) => Some(c),
        _ => None,
    })?;
    Some(CandidateInfo {
        typ: CandidateType::from_name(&c.candidate_type.to_string())?,
        protocol: c.protocol.to_lowercase(),
        address: c.address.clone().unwrap_or_default(),
        port: c.port,
        related: (!c.related_address.is_empty()).then(|| format!("{}:{}", c.related_address, c.related_port)),
    })
}

pub(super) async fn selected_pair(
    pc: &Arc<dyn PeerConnection>,
) -> Option<(CandidateInfo, CandidateInfo, Option<f64>)> {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    let pair_id = report.iter_by_type(RTCStatsType::Transport).find_map(|e| match e {
        RTCStatsReportEntry::Transport(t) if !t.selected_candidate_pair_id.is_empty() => {
            Some(t.selected_candidate_pair_id.clone())
        }
        _ => None,
    });
    let pair = match pair_id.and_then(|id| report.get(&id)) {
        Some(RTCStatsReportEntry::IceCandidatePair(p)) => p,
        _ => report.iter_by_type(RTCStatsType::CandidatePair).find_map(|e| match e {
            RTCStatsReportEntry::IceCandidatePair(p) if p.nominated => Some(p),
            _ => None,
        })?,
    };
    let local = candidate(&report, &pair.local_candidate_id, true)?;
    let remote = candidate(&report, &pair.remote_candidate_id, false)?;
    let rtt = (pair.current_round_trip_time > 0.0).then_some(pair.current_round_trip_time * 1000.0);
    Some((local, remote, rtt))
}
