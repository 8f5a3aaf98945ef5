//! Audio that never arrived: a later peer unheard with no renegotiation (F7, our own
//! timelines) and a connected dump with no inbound audio.

use super::finding;
use super::ice::states;
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::{Direction, Event};

/// A peer must have been in the call this long for its silence to count.
const HEARING_WINDOW_MS: u64 = 2000;

/// A peer that joined while we were connected and stayed: no renegotiation offer and no new
/// track followed (our own timelines; a dump does not know who else was in the room).
pub(super) fn later_peer_unheard(c: &Connection) -> Option<Finding> {
    let end = c.records.last()?.stamped.t_ms;
    let mut connected = None;
    let mut ev = Vec::new();
    for (i, r) in c.records.iter().enumerate() {
        let t = r.stamped.t_ms;
        match &r.stamped.event {
            Event::ConnectionState { state } if state == "connected" => {
                connected.get_or_insert(t);
            }
            Event::PeerJoined { peer_id } if connected.is_some() => {
                let left = c.records[i..].iter().find_map(|l| match &l.stamped.event {
                    Event::PeerLeft { peer_id: p } if p == peer_id => Some(l.stamped.t_ms),
                    _ => None,
                });
                if left.unwrap_or(end).saturating_sub(t) < HEARING_WINDOW_MS {
                    continue;
                }
                let after = &c.records[i..];
                let offer = after.iter().any(|a| matches!(&a.stamped.event, Event::Signal { direction: Direction::Received, kind, .. } if kind == "offer"));
                let track = after.iter().any(|a| matches!(a.stamped.event, Event::TrackReceived { .. }));
                if !offer && !track {
                    ev.push(format!(
                        "{} at {t} ms: peer {} joined; in the {} ms after, no offer and no new track came",
                        r.origin,
                        &peer_id[..peer_id.len().min(8)],
                        left.unwrap_or(end) - t
                    ));
                }
            }
            _ => {}
        }
    }
    (!ev.is_empty()).then(|| {
        finding(
            "F7",
            "a later peer's track was added without renegotiation",
            ev,
            "after adding a forwarded track, send the peer a new offer and apply its answer",
        )
    })
}

/// A browser dump: connected and sending, yet no audio packet ever came in, with a single
/// negotiation. A dump does not know who else was in the room, so this is said as seen: with
/// someone talking, a track added without renegotiation does exactly this.
pub(super) fn no_audio_in(c: &Connection) -> Option<Finding> {
    let [d] = c.remote_descriptions.as_slice() else { return None };
    let connected = states(c, false).into_iter().find(|(s, ..)| *s == "connected")?;
    let mut sent = 0;
    let mut received = 0;
    let mut where_ = None;
    for r in &c.records {
        match &r.stamped.event {
            Event::MediaSent { packets } => sent = sent.max(*packets),
            Event::InboundRtp { packets, .. } => {
                received += packets;
                where_.get_or_insert(r.origin.as_str());
            }
            _ => {}
        }
    }
    (sent > 0 && received == 0).then(|| {
        let inbound = where_.map_or("no inbound-rtp audio stats at all".to_owned(), |o| format!("{o}: 0 packets received"));
        finding(
            "NO-AUDIO-IN",
            "connected and sending, but no audio ever arrived",
            vec![
                format!("{} at {} ms: connected; {sent} packets sent", connected.2, connected.1),
                inbound,
                format!("{}: the only remote description ({}); no renegotiation followed", d.origin, d.kind),
            ],
            "if another peer was talking, the server added its track without renegotiating: it must send a new \
             offer after adding a track; the other side's file or the server's log shows whether anyone was there",
        )
    })
}
