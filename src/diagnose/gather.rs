//! What a gathering run means, combined with the direct TURN tests: candidates by type, the
//! URLs webrtc-rs 0.21 would skip on its own (it gathers TURN over UDP only: `turns:` and
//! `?transport=tcp` are dropped with a log warning) and that rtc-assist's shim carries instead,
//! and verdicts such as "allocation works, but no relay candidate was gathered".

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnose::timeline::{CandidateInfo, Event, Timeline};
use crate::signal::candidate::CandidateType;
use crate::signal::ice_url::{IceUrl, Transport};

/// The direct allocation test's outcome for one TURN URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub ok: bool,
    pub code: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatherReport {
    pub candidates: Vec<(u64, CandidateInfo)>,
    pub states: Vec<(u64, String)>,
    pub counts: BTreeMap<CandidateType, usize>,
    /// (URL, how it was gathered) for the URLs webrtc-rs skips by itself.
    pub shimmed: Vec<(String, String)>,
    pub verdicts: Vec<String>,
    /// A UDP TURN server allocates but the peer gathered no relay candidate. (A skipped TCP/TLS
    /// URL is a limitation of webrtc-rs, reported but not counted; failed allocations are
    /// counted by the TURN tests themselves.)
    pub problem: bool,
}

fn kind(url: &IceUrl) -> &'static str {
    match (url.is_tls(), url.transport()) {
        (true, _) => "TURN/TLS",
        (false, Transport::Tcp) => "TURN/TCP",
        (false, Transport::Udp) => "TURN/UDP",
    }
}

/// Reads a gathering timeline against the configured URLs and their allocation results
/// (keyed by the URL as printed).
pub fn analyse(t: &Timeline, urls: &[IceUrl], allocations: &BTreeMap<String, Allocation>) -> GatherReport {
    let mut r = GatherReport {
        candidates: Vec::new(),
        states: Vec::new(),
        counts: BTreeMap::new(),
        shimmed: Vec::new(),
        verdicts: Vec::new(),
        problem: false,
    };
    for e in t.events() {
        match &e.event {
            Event::LocalCandidate { candidate, .. } => {
                *r.counts.entry(candidate.typ).or_default() += 1;
                r.candidates.push((e.t_ms, candidate.clone()));
            }
            Event::GatheringState { state } => r.states.push((e.t_ms, state.clone())),
            _ => {}
        }
    }
    let relays = r.counts.get(&CandidateType::Relay).copied().unwrap_or(0);
    for url in urls.iter().filter(|u| u.is_turn()) {
        let name = url.to_string();
        let alloc = allocations.get(&name);
        let via = if url.is_tls() || url.transport() == Transport::Tcp {
            r.shimmed.push((
                name.clone(),
                "webrtc-rs 0.21 gathers TURN over UDP only; rtc-assist's shim carries this URL".into(),
            ));
            format!(" (over {} through rtc-assist's shim)", kind(url))
        } else {
            String::new()
        };
        r.problem |= alloc.is_none_or(|a| a.ok) && relays == 0;
        let verdict = match alloc {
            Some(a) if !a.ok => format!("no relay from {name}: the allocation fails ({})", a.code),
            _ if relays == 0 => {
                format!(
                    "{} allocation works, but no relay candidate was gathered from {name}{via}",
                    kind(url)
                )
            }
            _ => format!("relay candidate gathered through {name}{via}"),
        };
        r.verdicts.push(verdict);
    }
    let stuns = urls.iter().filter(|u| !u.is_turn()).count();
    if stuns > 0 && !r.counts.contains_key(&CandidateType::Srflx) {
        r.verdicts.push(
            "no srflx: STUN over UDP unreachable, or the mapped address is a host address (no NAT in between)".into(),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_timeline(with_relay: bool) -> Timeline {
        let mut t = Timeline::new();
        let c = |typ| CandidateInfo {
            typ,
            protocol: "udp".into(),
            address: "127.0.0.1".into(),
            port: 1,
            related: None,
            url: None,
        };
        t.push(
            1,
            Event::LocalCandidate {
                candidate: c(CandidateType::Host),
                via: crate::diagnose::timeline::Via::Trickle,
            },
        );
        if with_relay {
            t.push(
                5,
                Event::LocalCandidate {
                    candidate: c(CandidateType::Relay),
                    via: crate::diagnose::timeline::Via::Trickle,
                },
            );
        }
        t.push(6, Event::GatheringState { state: "complete".into() });
        t
    }

    fn alloc(urls: &[(&str, bool)]) -> BTreeMap<String, Allocation> {
        urls.iter()
            .map(|(u, ok)| {
                (
                    IceUrl::parse(u).unwrap().to_string(),
                    Allocation { ok: *ok, code: if *ok { "ok".into() } else { "timeout".into() } },
                )
            })
            .collect()
    }

    #[test]
    fn tcp_turn_goes_through_the_shim_and_a_missing_relay_is_a_problem() {
        let urls = [IceUrl::parse("turn:h:443?transport=tcp").unwrap()];
        let ok = analyse(&relay_timeline(true), &urls, &alloc(&[("turn:h:443?transport=tcp", true)]));
        assert_eq!(ok.shimmed.len(), 1);
        assert!(
            !ok.problem && ok.verdicts[0].ends_with("(over TURN/TCP through rtc-assist's shim)"),
            "{:?}",
            ok.verdicts
        );
        let none = analyse(&relay_timeline(false), &urls, &alloc(&[("turn:h:443?transport=tcp", true)]));
        assert!(
            none.problem && none.verdicts[0].starts_with("TURN/TCP allocation works, but no relay candidate")
        );
    }

    #[test]
    fn udp_turn_with_a_relay_is_healthy_and_failures_are_named() {
        let urls = [IceUrl::parse("turn:h:3478").unwrap()];
        let ok = analyse(&relay_timeline(true), &urls, &alloc(&[("turn:h:3478", true)]));
        assert!(!ok.problem && ok.shimmed.is_empty());
        assert_eq!(ok.counts[&CandidateType::Relay], 1);
        let bad = analyse(&relay_timeline(false), &urls, &alloc(&[("turn:h:3478", false)]));
        assert!(!bad.problem && bad.verdicts[0].contains("allocation fails (timeout)"));
        let silent = analyse(&relay_timeline(false), &urls, &alloc(&[("turn:h:3478", true)]));
        assert!(
            silent.problem
                && silent.verdicts[0].ends_with("no relay candidate was gathered from turn:h:3478")
        );
        let stun = analyse(&relay_timeline(false), &[IceUrl::parse("stun:h").unwrap()], &BTreeMap::new());
        assert!(stun.verdicts[0].starts_with("no srflx"));
    }
}
