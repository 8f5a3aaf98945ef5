//! `probe --gather`: a real webrtc-rs peer connection with the given ICE servers gathers its
//! candidates (TCP/TLS TURN URLs through rtc-assist's shim); every candidate and gathering
//! state is recorded as it appears.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::{Event, Timeline, Via};
use crate::peer::{Peer, PeerError, PeerEvent, PeerOptions};
use crate::stun_turn::shim;

/// Gathers until `complete` or `limit`; the timeline starts when gathering starts.
pub async fn gather(opts: &PeerOptions, limit: Duration) -> Result<Timeline, PeerError> {
    let rec = Arc::new(Recorder::silent(Instant::now()));
    let mut opts = opts.clone();
    let (servers, _shims) = shim::wrap_recorded(opts.ice_servers.clone(), opts.turn_ca.clone(), rec.clone())
        .await
        .map_err(|e| PeerError::Other(format!("TURN shim: {e}")))?;
    opts.ice_servers = servers;
    let (peer, mut events) = Peer::new(&opts).await?;
    // A media section to gather for.
    let _audio = peer.add_audio_sender(rand::random(), "gather").await?;
    peer.create_offer().await?;
    let wait = async {
        while let Some(ev) = events.recv().await {
            match ev {
                PeerEvent::LocalCandidate { info, .. } => {
                    rec.record(Event::LocalCandidate { candidate: info, via: Via::Trickle })
                }
                PeerEvent::GatheringState(state) => {
                    let done = state == "complete";
                    rec.record(Event::GatheringState { state });
                    if done {
                        break;
                    }
                }
                _ => {}
            }
        }
    };
    if tokio::time::timeout(limit, wait).await.is_err() {
        rec.record(Event::Error { message: format!("gathering did not complete within {limit:?}") });
    }
    // Candidates reported right after `complete` still count.
    tokio::time::sleep(Duration::from_millis(50)).await;
    while let Ok(ev) = events.try_recv() {
        if let PeerEvent::LocalCandidate { info, .. } = ev {
            rec.record(Event::LocalCandidate { candidate: info, via: Via::Trickle });
        }
    }
    peer.close().await;
    Ok(rec.timeline())
}
