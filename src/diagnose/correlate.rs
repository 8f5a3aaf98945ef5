//! Several files of one call read together (`analyze a b …`): a candidate trickled to one
//! connection that is another connection's own far end was delivered to the wrong peer (F1),
//! which neither file shows alone; and the two ends of one connection, paired by what their
//! descriptions name (`pairing`), compared: candidates one end gathered that the other never
//! added (`unadded`) and how far apart their clocks are (`skew`).

mod pairing;
mod skew;
mod unadded;

use serde::Serialize;

use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::{Event, Via};

pub use pairing::Key;
pub use skew::Clocks;
pub use unadded::Unadded;

/// Evidence lines quoted per cross-file finding.
const MAX_EVIDENCE: usize = 4;

/// One end of a paired connection: its file and connection id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct End {
    pub file: String,
    pub connection: String,
}

/// The two ends of one connection found in two files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    pub a: End,
    pub b: End,
    /// The identity values both show, ufrag first.
    pub paired_by: Vec<Key>,
    /// Candidates one end gathered that the other never added (either way).
    pub unadded: Vec<Unadded>,
    /// How far `b`'s clock is ahead of `a`'s, or why that cannot be told.
    pub clocks: Clocks,
}

/// Every pair of connections (in two files, or two of one dump) that are the two ends of one
/// connection.
pub fn correlate(conns: &[(&str, &Connection)]) -> Vec<Correlation> {
    let mut out = Vec::new();
    for (i, (la, a)) in conns.iter().enumerate() {
        for (lb, b) in conns.iter().skip(i + 1) {
            let paired_by = pairing::matching(la, a, lb, b);
            if paired_by.is_empty() {
                continue;
            }
            let mut missing = unadded::unadded(la, a, lb, b);
            missing.extend(unadded::unadded(lb, b, la, a));
            out.push(Correlation {
                a: End { file: (*la).to_owned(), connection: a.id.clone() },
                b: End { file: (*lb).to_owned(), connection: b.id.clone() },
                paired_by,
                unadded: missing,
                clocks: skew::clocks(la, a, lb, b),
            });
        }
    }
    out
}

/// The finding two paired ends support: candidates that never reached the far end's
/// connection. From the files alone it cannot be told whether they were never sent, sent to
/// the wrong peer, refused, or received and ignored (F5 on a server).
pub fn unadded_finding(correlations: &[Correlation]) -> Option<Finding> {
    let mut evidence: Vec<String> =
        correlations.iter().flat_map(|c| &c.unadded).flat_map(|u| u.evidence.iter().cloned()).collect();
    evidence.dedup();
    evidence.truncate(MAX_EVIDENCE * 2);
    (!evidence.is_empty()).then(|| Finding {
        code: "CANDIDATES-NOT-ADDED".into(),
        title: "candidates one end gathered that the other end never added".into(),
        evidence,
        fix: "every gathered candidate must reach the far end's connection: a server must add each trickled \
              client candidate to that client's own connection (F5), and send its own to that client only (F1) in \
              exactly one well-formed message (F3)"
            .into(),
    })
}

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
    ev.truncate(MAX_EVIDENCE);
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
    use crate::diagnose::connection::Description;
    use crate::diagnose::connection::Record;
    use crate::diagnose::timeline::{CandidateInfo, Direction, Stamped};
    use crate::signal::candidate::CandidateType;
    use crate::signal::sdp::SdpIdentity;

    /// A description naming `ufrag` and `fp`, at `unix_ms` when given.
    pub(super) fn desc(
        direction: Direction,
        kind: &str,
        ufrag: &str,
        fp: &str,
        unix_ms: Option<u64>,
    ) -> Description {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Description {
            t_ms: unix_ms.map_or(0, |u| u % 1000),
            origin: format!("line {}", kind.len()),
            direction,
            kind: kind.into(),
            identity: SdpIdentity { ufrag: some(ufrag), fingerprint: some(fp), session_id: None },
            unix_ms,
        }
    }

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
