//! How ICE went for one connection: why it failed, as far as the file tells, and a path lost
//! after it connected.

use super::finding;
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::Event;
use crate::signal::candidate::CandidateType;

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

/// One ICE generation: from the offer that started it (a new ufrag, RFC 8445 §9: an ICE
/// restart) to the next one.
#[derive(Debug, PartialEq)]
struct Generation<'a> {
    ufrag: Option<&'a str>,
    from: u64,
    until: Option<u64>,
}

impl Generation<'_> {
    fn holds(&self, t: u64) -> bool {
        t >= self.from && self.until.is_none_or(|u| t < u)
    }
}

/// The connection's ICE generations: a new one starts with each offer (either way) whose ufrag
/// differs from the one that side used before. A renegotiation keeps its ufrag.
fn generations(c: &Connection) -> Vec<Generation<'_>> {
    let mut out = vec![Generation { ufrag: None, from: 0, until: None }];
    let mut last: [Option<&str>; 2] = [None, None];
    for d in &c.descriptions {
        let Some(u) = d.identity.ufrag.as_deref() else { continue };
        let side = usize::from(d.direction == crate::diagnose::timeline::Direction::Sent);
        let restart = d.kind == "offer" && last[side].is_some_and(|l| l != u);
        if restart {
            if let Some(g) = out.last_mut() {
                g.until = Some(d.t_ms);
            }
            out.push(Generation { ufrag: Some(u), from: d.t_ms, until: None });
        } else if out.len() == 1 && d.kind == "offer" && out[0].ufrag.is_none() {
            out[0].ufrag = Some(u);
        }
        last[side] = Some(u);
    }
    out
}

/// What the file shows of why ICE found no path among the records `t` admits: candidate
/// counts and reasons. Check counts (a stats sample, the last one) only when `checks`.
fn reasons(c: &Connection, admit: impl Fn(u64) -> bool, checks: bool) -> (usize, usize, Vec<String>) {
    let count = |local: bool| {
        c.records
            .iter()
            .filter(|r| admit(r.stamped.t_ms))
            .filter(|r| match r.stamped.event {
                Event::LocalCandidate { .. } => local,
                Event::RemoteCandidate { .. } => !local,
                _ => false,
            })
            .count()
    };
    let (local, remote) = (count(true), count(false));
    let mut ev = Vec::new();
    let sent: u64 = c.pairs.iter().map(|p| p.requests_sent).sum();
    let answered: u64 = c.pairs.iter().map(|p| p.responses_received).sum();
    let checked: u64 = c.pairs.iter().map(|p| p.requests_received).sum();
    if remote == 0 {
        ev.push("no remote candidate was ever added: there was nothing to check".into());
    } else if checks && !c.pairs.is_empty() {
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
    let relay = c.records.iter().filter(|r| admit(r.stamped.t_ms)).any(|r| matches!(&r.stamped.event, Event::LocalCandidate { candidate, .. } if candidate.typ == CandidateType::Relay));
    let turn_error = c.candidate_errors.iter().filter(|e| admit(e.t_ms)).find(|e| e.url.starts_with("turn"));
    if let Some(e) = turn_error.filter(|_| !relay) {
        ev.push(format!(
            "no usable relay: TURN failed with {} at {} ({})",
            e.code,
            e.url,
            crate::diagnose::turn_error::cause(e.code)
        ));
    }
    (local, remote, ev)
}

/// The first state of `wanted` among the records `admit` lets through.
fn first_state<'a>(
    c: &'a Connection,
    admit: impl Fn(u64) -> bool,
    wanted: &[&str],
) -> Option<(&'a str, u64, &'a str)> {
    states(c, false)
        .into_iter()
        .chain(states(c, true))
        .filter(|(s, t, _)| admit(*t) && wanted.contains(s))
        .min_by_key(|(_, t, _)| *t)
}

const UP: &[&str] = &["connected", "completed"];

/// ICE failed: why, as far as the file can tell — after ICE restarts, for each generation.
pub(super) fn ice_failed(c: &Connection) -> Option<Finding> {
    let gens = generations(c);
    if gens.len() > 1 {
        return failed_generations(c, &gens);
    }
    if first_state(c, |_| true, UP).is_some() {
        return None;
    }
    let (_, t, origin) = first_state(c, |_| true, &["failed"])?;
    let (local, remote, reasons) = reasons(c, |_| true, true);
    let mut ev =
        vec![format!("{origin} at {t} ms: ICE failed; {local} local and {remote} remote candidate(s)")];
    ev.extend(reasons);
    Some(ice_failed_finding(ev))
}

fn ice_failed_finding(evidence: Vec<String>) -> Finding {
    finding(
        "ICE-FAILED",
        "the connection never got through",
        evidence,
        "make a path possible: reachable media ports (UDP), or a working TURN server both sides use",
    )
}

/// After ICE restarts: unless the last generation got through, one line per generation
/// saying how it went and, for those that failed, why.
fn failed_generations(c: &Connection, gens: &[Generation]) -> Option<Finding> {
    let last = gens.last()?;
    if first_state(c, |t| last.holds(t), UP).is_some() {
        return None;
    }
    let mut any_failed = false;
    let ev: Vec<String> = gens
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let name =
                format!("generation {} (ufrag {}, from {} ms)", i + 1, g.ufrag.unwrap_or("unknown"), g.from);
            if let Some((_, t, origin)) = first_state(c, |t| g.holds(t), UP) {
                return format!("{name}: connected at {t} ms ({origin}), then restarted");
            }
            let is_last = std::ptr::eq(g, last);
            let (local, remote, why) = reasons(c, |t| g.holds(t), is_last);
            let counts = format!("{local} local and {remote} remote candidate(s)");
            match first_state(c, |t| g.holds(t), &["failed"]) {
                Some((_, t, origin)) => {
                    any_failed = true;
                    let why = if why.is_empty() { String::new() } else { format!("; {}", why.join("; ")) };
                    format!("{name}: ICE failed at {t} ms ({origin}); {counts}{why}")
                }
                None => format!("{name}: never connected; {counts}"),
            }
        })
        .collect();
    any_failed.then(|| ice_failed_finding(ev))
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
    use serde_json::{Value, json};

    use super::*;
    use crate::diagnose::connection::{CandidateError, Connection};
    use crate::diagnose::connection_rules::diagnose_connection;
    use crate::diagnose::connection_rules::tests::rec;
    use crate::diagnose::timeline::Event;

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

    /// A webrtc-internals dump (current dialect) of one connection with an ICE restart:
    /// generation 1 (`gen1` events), then a new local offer ufrag `u2` and `gen2` events.
    fn restarted(gen1: &[(&str, &str)], gen2: &[(&str, &str)], stats: Value) -> Connection {
        let desc = |t: f64, typ: &str, kind: &str, ufrag: &str, cand: &str| {
            json!({"timestamp": t, "type": typ, "value": {"type": kind,
                "sdp": format!("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=ice-ufrag:{ufrag}\r\na=mid:0\r\n{cand}")}})
        };
        let cand = "a=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n";
        let state = |t: f64, (typ, v): &(&str, &str)| json!({"timestamp": t, "type": typ, "value": format!("\"{v}\"")});
        let mut log = vec![
            desc(1000.0, "setLocalDescription", "offer", "u1", ""),
            desc(1010.0, "setRemoteDescription", "answer", "r1", ""),
        ];
        log.extend(gen1.iter().enumerate().map(|(i, e)| state(1100.0 + i as f64, e)));
        log.push(desc(6000.0, "setLocalDescription", "offer", "u2", ""));
        log.push(desc(6010.0, "setRemoteDescription", "answer", "r2", cand));
        log.extend(gen2.iter().enumerate().map(|(i, e)| state(6100.0 + i as f64, e)));
        let doc = json!({"PeerConnections": {"1-1": {"updateLog": log, "stats": stats}}});
        crate::diagnose::import::import(&doc.to_string()).unwrap().connections.remove(0)
    }

    const ICE: &str = "oniceconnectionstatechange";

    #[test]
    fn an_ice_restart_splits_the_connection_into_generations() {
        let c = restarted(&[(ICE, "checking")], &[], json!({}));
        let g = generations(&c);
        assert_eq!(
            g,
            [
                Generation { ufrag: Some("u1"), from: 0, until: Some(5000) },
                Generation { ufrag: Some("u2"), from: 5000, until: None }
            ]
        );
        // A renegotiation with the same ufrag is no restart.
        let mut same = c.clone();
        same.descriptions.retain(|d| d.identity.ufrag.as_deref() != Some("u2"));
        assert_eq!(generations(&same).len(), 1);
    }

    #[test]
    fn each_generation_is_explained_on_its_own() {
        let checks = json!({
            "CP1-requestsSent": {"statsType": "candidate-pair", "values": "[3,9]"},
            "CP1-responsesReceived": {"statsType": "candidate-pair", "values": "[0,0]"},
            "CP1-requestsReceived": {"statsType": "candidate-pair", "values": "[0,0]"},
            "CP1-state": {"statsType": "candidate-pair", "values": "[\"in-progress\",\"failed\"]"},
        });
        let c = restarted(
            &[(ICE, "checking"), (ICE, "connected"), (ICE, "disconnected")],
            &[(ICE, "checking"), (ICE, "failed")],
            checks.clone(),
        );
        let f = ice_failed(&c).expect("the last generation failed");
        assert_eq!(f.evidence.len(), 2, "{f:?}");
        assert_eq!(
            f.evidence[0],
            "generation 1 (ufrag u1, from 0 ms): connected at 101 ms (/PeerConnections/1-1/updateLog/3), then restarted"
        );
        assert!(
            f.evidence[1].starts_with("generation 2 (ufrag u2, from 5000 ms): ICE failed at 5101 ms"),
            "{f:?}"
        );
        assert!(f.evidence[1].contains("your checks reached nobody: 9 request(s) sent"), "{f:?}");
        assert!(f.evidence[1].contains("the other side never checked you"), "{f:?}");

        // Both generations failed: the first had nothing to check, the second's checks went unanswered.
        let c =
            restarted(&[(ICE, "checking"), (ICE, "failed")], &[(ICE, "checking"), (ICE, "failed")], checks);
        let f = ice_failed(&c).unwrap();
        assert!(
            f.evidence[0].starts_with("generation 1 (ufrag u1, from 0 ms): ICE failed at 101 ms"),
            "{f:?}"
        );
        assert!(f.evidence[0].contains("0 remote candidate(s); no remote candidate was ever added"), "{f:?}");
        assert!(!f.evidence[0].contains("checks reached nobody"), "{f:?}");
        assert!(f.evidence[1].contains("1 remote candidate(s); your checks reached nobody"), "{f:?}");
    }

    #[test]
    fn a_restart_that_got_through_is_no_failure() {
        let c = restarted(
            &[(ICE, "checking"), (ICE, "failed")],
            &[(ICE, "checking"), (ICE, "connected")],
            json!({}),
        );
        assert!(ice_failed(&c).is_none());
        // A generation that neither connected nor failed is said as such.
        let c = restarted(&[(ICE, "checking"), (ICE, "failed")], &[(ICE, "checking")], json!({}));
        let f = ice_failed(&c).unwrap();
        assert_eq!(
            f.evidence[1],
            "generation 2 (ufrag u2, from 5000 ms): never connected; 0 local and 1 remote candidate(s)"
        );
    }
}
