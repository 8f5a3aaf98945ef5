//! Candidates one side of a connection gathered that the other side never added as a remote
//! candidate (RFC 8838 trickle: every gathered candidate is meant to reach the far end).

use serde::Serialize;

use crate::diagnose::connection::Connection;
use crate::diagnose::timeline::{CandidateInfo, Event, Via};

/// A local candidate of one side missing from the other side's remote candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unadded {
    /// The file whose connection gathered it.
    pub from: String,
    #[serde(flatten)]
    pub candidate: CandidateInfo,
    pub via: Via,
    /// Where the gathering side shows it, and what the other side shows instead.
    pub evidence: Vec<String>,
}

fn same(a: &CandidateInfo, b: &CandidateInfo) -> bool {
    a.address == b.address && a.port == b.port && a.protocol.eq_ignore_ascii_case(&b.protocol)
}

/// `a`'s local candidates (file `la`) that `b` (file `lb`) never added.
pub fn unadded(la: &str, a: &Connection, lb: &str, b: &Connection) -> Vec<Unadded> {
    let remote: Vec<(&CandidateInfo, &str)> = b
        .records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::RemoteCandidate { candidate, .. } => Some((candidate, r.origin.as_str())),
            _ => None,
        })
        .collect();
    let other = match remote.as_slice() {
        [] => format!("{lb}: no remote candidate was ever added"),
        [(c, o), rest @ ..] => format!(
            "{lb}: {} remote candidate(s) added, none of them this one (first: {o} {}:{})",
            rest.len() + 1,
            c.address,
            c.port
        ),
    };
    let mut out: Vec<Unadded> = Vec::new();
    for r in &a.records {
        let Event::LocalCandidate { candidate, via } = &r.stamped.event else { continue };
        if remote.iter().any(|(c, _)| same(c, candidate)) || out.iter().any(|u| same(&u.candidate, candidate))
        {
            continue;
        }
        let how = match via {
            Via::Sdp => "in its SDP",
            Via::Trickle => "trickled",
        };
        out.push(Unadded {
            from: la.to_owned(),
            candidate: candidate.clone(),
            via: *via,
            evidence: vec![
                format!(
                    "{la} {} at {} ms: local candidate {} {} {}:{} ({how})",
                    r.origin,
                    r.stamped.t_ms,
                    candidate.typ.as_str(),
                    candidate.protocol,
                    candidate.address,
                    candidate.port
                ),
                other.clone(),
            ],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::connection::Record;
    use crate::diagnose::timeline::Stamped;
    use crate::signal::candidate::CandidateType;

    fn host(port: u16, protocol: &str) -> CandidateInfo {
        CandidateInfo {
            typ: CandidateType::Host,
            protocol: protocol.into(),
            address: "127.0.0.1".into(),
            port,
            related: None,
            url: None,
        }
    }

    fn conn(events: Vec<Event>) -> Connection {
        let records = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                origin: format!("line {}", i + 1),
                stamped: Stamped { t_ms: 10, event },
            })
            .collect();
        Connection { records, ..Connection::default() }
    }

    #[test]
    fn a_gathered_candidate_the_other_side_never_added_is_listed_once() {
        let local = |p, proto| Event::LocalCandidate { candidate: host(p, proto), via: Via::Trickle };
        let a = conn(vec![local(5000, "udp"), local(5001, "udp"), local(5001, "udp"), local(5000, "tcp")]);
        let b = conn(vec![Event::RemoteCandidate {
            candidate: host(5000, "UDP"),
            via: Via::Trickle,
            buffered: false,
        }]);
        let u = unadded("a.gz", &a, "b.ndjson", &b);
        assert_eq!(
            u.iter().map(|u| (u.candidate.port, u.candidate.protocol.as_str())).collect::<Vec<_>>(),
            [(5001, "udp"), (5000, "tcp")]
        );
        assert_eq!(
            u[0].evidence,
            [
                "a.gz line 2 at 10 ms: local candidate host udp 127.0.0.1:5001 (trickled)",
                "b.ndjson: 1 remote candidate(s) added, none of them this one (first: line 1 127.0.0.1:5000)"
            ]
        );
        let none = unadded("a", &a, "b", &Connection::default());
        assert_eq!(none[0].evidence[1], "b: no remote candidate was ever added");
        assert!(unadded("b", &b, "a", &a).is_empty());
    }
}
