//! Several files of one call read together (`analyze a b …`): a candidate trickled to one
//! connection that is another connection's own far end was delivered to the wrong peer (F1),
//! which neither file shows alone.

use super::import::Connection;
use super::rules::Finding;
use super::timeline::{Event, Via};

/// Transport addresses that belong to this connection's far end: candidates of its remote
/// description and the remote end of its selected pair.
fn own_addresses(c: &Connection) -> Vec<(String, u16)> {
    c.records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::RemoteCandidate { candidate, via: Via::Sdp, .. } => {
                Some((candidate.address.clone(), candidate.port))
            }
            Event::SelectedPair { remote, .. } => Some((remote.address.clone(), remote.port)),
            _ => None,
        })
        .collect()
}

/// Across the files of one call: a candidate trickled to one connection that is another
/// connection's own far end (its selected pair or its remote description).
pub fn misdelivered(conns: &[(&str, &Connection)]) -> Option<Finding> {
    let owns: Vec<Vec<(String, u16)>> = conns.iter().map(|(_, c)| own_addresses(c)).collect();
    let mut ev = Vec::new();
    for (i, (label, c)) in conns.iter().enumerate() {
        for r in &c.records {
            let Event::RemoteCandidate { candidate, via: Via::Trickle, .. } = &r.stamped.event else {
                continue;
            };
            let addr = (candidate.address.clone(), candidate.port);
            if owns[i].contains(&addr) {
                continue;
            }
            if let Some(j) = (0..conns.len()).find(|j| *j != i && owns[*j].contains(&addr)) {
                ev.push(format!(
                    "{label} {} at {} ms: remote candidate {}:{} belongs to {} {}'s connection",
                    r.origin, r.stamped.t_ms, addr.0, addr.1, conns[j].0, conns[j].1.id
                ));
            }
        }
    }
    ev.truncate(4);
    (!ev.is_empty()).then(|| Finding {
        code: "F1".into(),
        title: "candidates delivered to the wrong peer".into(),
        evidence: ev,
        fix: "send each server-side candidate to the peer whose connection produced it".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sansio::candidate::CandidateType;
    use crate::sansio::import::Record;
    use crate::sansio::timeline::{CandidateInfo, Stamped};

    fn host(port: u16) -> CandidateInfo {
        CandidateInfo {
            typ: CandidateType::Host,
            protocol: "udp".into(),
            address: "127.0.0.1".into(),
            port,
            related: None,
            url: None,
        }
    }

    fn conn(id: &str, events: Vec<Event>) -> Connection {
        let records = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                origin: format!("line {}", i + 1),
                stamped: Stamped { t_ms: i as u64, event },
            })
            .collect();
        Connection { id: id.into(), records, ..Connection::default() }
    }

    #[test]
    fn a_candidate_of_the_other_connection_is_f1_and_its_own_is_not() {
        let pair = |p| Event::SelectedPair { local: host(1), remote: host(p), rtt_ms: None };
        let trickled = |p| Event::RemoteCandidate { candidate: host(p), via: Via::Trickle, buffered: false };
        let a = conn("a", vec![trickled(40530), pair(5000)]);
        let b = conn("b", vec![pair(40530)]);
        let f = misdelivered(&[("a.ndjson", &a), ("b.ndjson", &b)]).unwrap();
        assert_eq!(f.code, "F1");
        assert!(
            f.evidence[0].starts_with(
                "a.ndjson line 1 at 0 ms: remote candidate 127.0.0.1:40530 belongs to b.ndjson b"
            ),
            "{f:?}"
        );
        let healthy = conn("a", vec![trickled(5000), pair(5000)]);
        assert!(misdelivered(&[("a", &healthy), ("b", &b)]).is_none());
        assert!(misdelivered(&[]).is_none());
    }
}
