//! How ICE went for one connection: why it failed, as far as the file tells, and a path lost
//! after it connected.

use super::finding;
use crate::sansio::candidate::CandidateType;
use crate::sansio::import::Connection;
use crate::sansio::rules::Finding;
use crate::sansio::timeline::Event;

/// States, in order, with where they are logged.
pub(super) fn states(c: &Connection, ice: bool) -> Vec<(&str, u64, &str)> {
    c.records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::IceState { state } if ice => Some((state.as_str(), r.stamped.t_ms, r.origin.as_str())),
            Event::ConnectionState { state } if !ice => {
                Some((state.as_str(), r.stamped.t_ms, r.origin.as_str()))
            }
            _ => None,
        })
        .collect()
}

/// ICE failed: why, as far as the file can tell.
pub(super) fn ice_failed(c: &Connection) -> Option<Finding> {
    let conn = states(c, false);
    let ice = states(c, true);
    let connected = conn.iter().chain(&ice).any(|(s, ..)| *s == "connected" || *s == "completed");
    let (_, t, origin) = *conn.iter().chain(&ice).find(|(s, ..)| *s == "failed")?;
    if connected {
        return None;
    }
    let remote =
        c.records.iter().filter(|r| matches!(r.stamped.event, Event::RemoteCandidate { .. })).count();
    let local = c.records.iter().filter(|r| matches!(r.stamped.event, Event::LocalCandidate { .. })).count();
    let mut ev =
        vec![format!("{origin} at {t} ms: ICE failed; {local} local and {remote} remote candidate(s)")];
    let sent: u64 = c.pairs.iter().map(|p| p.requests_sent).sum();
    let answered: u64 = c.pairs.iter().map(|p| p.responses_received).sum();
    let checked: u64 = c.pairs.iter().map(|p| p.requests_received).sum();
    if remote == 0 {
        ev.push("no remote candidate was ever added: there was nothing to check".into());
    } else if !c.pairs.is_empty() {
        if sent > 0 && answered == 0 {
            ev.push(format!(
                "your checks reached nobody: {sent} request(s) sent over {} pair(s), no response",
                c.pairs.len()
            ));
        }
        if checked == 0 {
            ev.push("the other side never checked you: 0 requests received".into());
        }
    }
    let relay = c.records.iter().any(|r| matches!(&r.stamped.event, Event::LocalCandidate { candidate, .. } if candidate.typ == CandidateType::Relay));
    if let Some(e) = c.candidate_errors.iter().find(|e| e.url.starts_with("turn")).filter(|_| !relay) {
        ev.push(format!(
            "no usable relay: TURN failed with {} at {} ({})",
            e.code,
            e.url,
            crate::sansio::turn_error::cause(e.code)
        ));
    }
    Some(finding(
        "ICE-FAILED",
        "the connection never got through",
        ev,
        "make a path possible: reachable media ports (UDP), or a working TURN server both sides use",
    ))
}

/// Connected, then consent (RFC 7675) or the path was lost.
pub(super) fn consent_lost(c: &Connection) -> Option<Finding> {
    let ice = states(c, true);
    let up = ice.iter().position(|(s, ..)| *s == "connected" || *s == "completed")?;
    let (state, t, origin) = ice[up..].iter().find(|(s, ..)| *s == "disconnected" || *s == "failed")?;
    let (_, t_up, _) = ice[up];
    Some(finding(
        "CONSENT-LOST",
        "connected, then the path was lost",
        vec![format!("{origin} at {t} ms: ICE {state} after it connected at {t_up} ms")],
        "the other side or the network stopped answering consent checks: look for a server that closed \
         the connection, a network change, or a NAT binding that expired; an ICE restart recovers",
    ))
}

#[cfg(test)]
mod tests {
    use crate::sansio::connection_rules::diagnose_connection;
    use crate::sansio::connection_rules::tests::rec;
    use crate::sansio::import::{CandidateError, Connection};
    use crate::sansio::timeline::Event;

    #[test]
    fn ice_failure_is_explained_with_turn_errors() {
        let c = Connection {
            records: vec![
                rec(1, Event::IceState { state: "checking".into() }),
                rec(30, Event::ConnectionState { state: "failed".into() }),
            ],
            candidate_errors: vec![CandidateError {
                t_ms: 2,
                origin: "/e".into(),
                url: "turn:127.0.0.1:3478".into(),
                code: 401,
                text: "Unauthorized".into(),
            }],
            ..Connection::default()
        };
        let f = diagnose_connection(&c);
        assert_eq!(f.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["ICE-FAILED", "TURN-401"]);
        assert!(f[0].evidence.iter().any(|e| e.contains("no usable relay: TURN failed with 401")), "{f:?}");
        assert!(f[0].evidence.iter().any(|e| e.contains("nothing to check")), "{f:?}");
    }
}
