//! Judging a scenario run (pure): every expectation that does not hold becomes one message
//! saying which expectation and what was observed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{PairTypes, Scenario};
use crate::diagnose::summary::{StreamAudio, Summary};
use crate::diagnose::timeline::{Direction, Event, Timeline};

/// The types of the last pair selected in `t`.
fn selected_pair(t: &Timeline) -> Option<PairTypes> {
    t.events().iter().rev().find_map(|e| match &e.event {
        Event::SelectedPair { local, remote, .. } => Some(PairTypes { local: local.typ, remote: remote.typ }),
        _ => None,
    })
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Observed {
    /// Each peer's timeline, by scenario peer name.
    pub timelines: BTreeMap<String, Timeline>,
    /// Codes the probe reported, when the scenario asked for a probe.
    pub probe: Option<Vec<String>>,
    pub wall: Duration,
}

fn peer_id(t: &Timeline) -> Option<&str> {
    t.events().iter().find_map(|e| match &e.event {
        Event::JoinedRoom { peer_id, .. } => Some(peer_id.as_str()),
        _ => None,
    })
}

fn connect_ms(t: &Timeline) -> Option<u64> {
    let offer = t.events().iter().find_map(|e| match &e.event {
        Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer" => Some(e.t_ms),
        _ => None,
    })?;
    let connected = t.events().iter().find_map(|e| match &e.event {
        Event::ConnectionState { state } if state == "connected" => Some(e.t_ms),
        _ => None,
    })?;
    Some(connected.saturating_sub(offer))
}

/// The streams that carry `other`'s audio: those named after its peer id and, for a tone
/// peer, those whose dominant frequency is its tone (a server need not name streams after
/// peers). When neither can tell, every stream that names no peer.
fn from_peer<'s>(summary: &'s Summary, id: Option<&str>, tone: Option<f64>) -> Vec<&'s StreamAudio> {
    summary
        .streams
        .values()
        .filter(|p| match (&p.from_peer, tone) {
            (Some(named), _) => Some(named.as_str()) == id,
            (None, Some(hz)) => p.carries_tone(hz),
            (None, None) => true,
        })
        .collect()
}

/// Every failed expectation, as "which expectation: what was observed".
pub fn check(s: &Scenario, obs: &Observed) -> Vec<String> {
    let mut failures = Vec::new();
    let ids: BTreeMap<&str, &str> =
        obs.timelines.iter().filter_map(|(n, t)| Some((n.as_str(), peer_id(t)?))).collect();
    for (name, want) in &s.expect_peers {
        let Some(t) = obs.timelines.get(name) else {
            failures.push(format!("peer {name}: no timeline (it never ran)"));
            continue;
        };
        let summary = Summary::from_timeline(t);
        if let Some(c) = want.connected
            && summary.ever_connected != c
        {
            failures.push(format!(
                "peer {name}: expected connected = {c}; observed final state {}",
                summary.connection_state.as_deref().unwrap_or("none")
            ));
        }
        for other in &want.hears {
            let hz = s.tone_of(other).unwrap_or_default();
            let got = from_peer(&summary, ids.get(other.as_str()).copied(), s.tone_of(other));
            if !got.iter().any(|p| p.carries_tone(hz)) {
                let seen = if got.is_empty() {
                    "nothing".to_owned()
                } else {
                    got.iter()
                        .map(|p| {
                            let f = p.freq_hz.map_or("no tone".into(), |f| format!("{f:.1} Hz"));
                            format!("{} packets, {f}", p.packets)
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                failures.push(format!("peer {name}: expected to hear {other} ({hz} Hz); observed {seen}"));
            }
        }
        for other in &want.not_hears {
            let got = from_peer(&summary, ids.get(other.as_str()).copied(), s.tone_of(other));
            let packets: u64 = got.iter().map(|p| p.packets).sum();
            if packets > 0 {
                failures
                    .push(format!("peer {name}: expected no audio from {other}; observed {packets} packets"));
            }
        }
        if let Some(want_degraded) = want.degraded {
            let degraded: Vec<String> = summary
                .streams
                .values()
                .filter_map(|p| {
                    let why = p.degraded()?;
                    Some(format!(
                        "{}: {why}",
                        crate::diagnose::summary::stream_label(p.stream, p.from_peer.as_deref())
                    ))
                })
                .collect();
            if degraded.is_empty() == want_degraded {
                let seen =
                    if degraded.is_empty() { "no degraded audio".to_owned() } else { degraded.join("; ") };
                failures.push(format!("peer {name}: expected degraded = {want_degraded}; observed {seen}"));
            }
        }
        if let Some(pair) = want.selected_pair {
            match selected_pair(t) {
                Some(got) if got == pair => {}
                Some(got) => {
                    failures.push(format!("peer {name}: expected selected pair {pair}; observed {got}"))
                }
                None => failures.push(format!("peer {name}: expected selected pair {pair}; none selected")),
            }
        }
        if let Some(max) = want.max_connect_ms {
            match connect_ms(t) {
                Some(ms) if ms <= max => {}
                Some(ms) => {
                    failures.push(format!("peer {name}: expected connect within {max} ms; took {ms} ms"))
                }
                None => {
                    failures.push(format!("peer {name}: expected connect within {max} ms; never connected"))
                }
            }
        }
    }
    if let Some(want) = &s.expect_probe {
        let mut want = want.clone();
        want.sort();
        let mut got = obs.probe.clone().unwrap_or_default();
        got.sort();
        if got != want {
            failures.push(format!("probe: expected findings {want:?}; observed {got:?}"));
        }
    }
    if let Some(max) = s.max_wall
        && obs.wall > max
    {
        failures.push(format!(
            "wall time: expected at most {:.1} s; took {:.1} s",
            max.as_secs_f64(),
            obs.wall.as_secs_f64()
        ));
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::timeline::StreamRef;
    use crate::signal::candidate::CandidateType;

    const SCENARIO: &str = r#"
name = "t"
[[peer]]
name = "a"
source = "tone:440"
[[peer]]
name = "b"
source = "tone:660"
[expect]
probe = []
max_wall_s = 10
[expect.peers.a]
connected = true
hears = ["b"]
max_connect_ms = 100
[expect.peers.b]
not_hears = ["a"]
"#;

    fn timeline(me: &str, connected_at: Option<u64>, heard: Option<(&str, f64)>) -> Timeline {
        let mut t = Timeline::new();
        t.push(0, Event::JoinedRoom { room: "r".into(), peer_id: me.into(), peers: vec![] });
        t.push(1, Event::Signal { direction: Direction::Sent, kind: "offer".into(), detail: None });
        if let Some(ms) = connected_at {
            t.push(ms, Event::ConnectionState { state: "connected".into() });
        }
        if let Some((from, hz)) = heard {
            let source = StreamRef { stream: 1, from_peer: Some(from.into()) };
            t.push(2000, Event::AudioLevel { source, packets: 90, rms_dbfs: -13.0, freq_hz: Some(hz) });
        }
        t
    }

    #[test]
    fn degraded_audio_is_expected_or_refused_with_the_reason() {
        let text = "name = \"t\"\n[server]\nturn = true\n[[peer]]\nname = \"a\"\nrelay_only = true\n\
                    [peer.network]\nloss_pct = 10\n[[peer]]\nname = \"b\"\n\
                    [expect.peers.a]\ndegraded = true\n[expect.peers.b]\ndegraded = false\n";
        let s = Scenario::parse(text).unwrap();
        let lossy = |me: &str, from: &str| {
            let mut t = timeline(me, Some(40), Some((from, 440.0)));
            let source = StreamRef { stream: 1, from_peer: Some(from.into()) };
            t.push(3000, Event::InboundRtp { source, packets: 90, lost: 10, jitter_ms: 2.0 });
            t
        };
        let obs = |a: Timeline, b: Timeline| Observed {
            timelines: [("a".into(), a), ("b".into(), b)].into(),
            probe: None,
            wall: Duration::from_secs(5),
        };
        let both_lossy = check(&s, &obs(lossy("ida", "idb"), lossy("idb", "ida")));
        assert_eq!(both_lossy.len(), 1, "{both_lossy:?}");
        assert!(
            both_lossy[0].contains("peer b: expected degraded = false") && both_lossy[0].contains("10.0 %")
        );
        let clean = check(&s, &obs(timeline("ida", Some(40), None), timeline("idb", Some(40), None)));
        assert_eq!(clean, vec!["peer a: expected degraded = true; observed no degraded audio".to_string()]);
    }

    fn with_pair(mut t: Timeline, local: CandidateType, remote: CandidateType) -> Timeline {
        let info = |typ| crate::diagnose::timeline::CandidateInfo {
            typ,
            protocol: "udp".into(),
            address: "203.0.113.12".into(),
            port: 50_000,
            related: None,
            url: None,
        };
        t.push(50, Event::SelectedPair { local: info(local), remote: info(remote), rtt_ms: None });
        t
    }

    #[test]
    fn the_selected_pair_is_expected_by_type_on_both_sides() {
        let text = "name = \"t\"\n[[peer]]\nname = \"a\"\n[[peer]]\nname = \"b\"\n\
                    [expect.peers.a]\nselected_pair = \"relay/relay\"\n\
                    [expect.peers.b]\nselected_pair = \"relay/host\"\n";
        let s = Scenario::parse(text).unwrap();
        let want = PairTypes { local: CandidateType::Relay, remote: CandidateType::Relay };
        assert_eq!(s.expect_peers["a"].selected_pair, Some(want));
        use CandidateType::{Host, Prflx, Relay};
        let obs = |a: Timeline, b: Timeline| Observed {
            timelines: [("a".into(), a), ("b".into(), b)].into(),
            probe: None,
            wall: Duration::from_secs(5),
        };
        let good = obs(with_pair(timeline("ida", Some(40), None), Relay, Relay), {
            // A later pair replaces an earlier one: the last selected counts.
            let t = with_pair(timeline("idb", Some(40), None), Host, Host);
            with_pair(t, Relay, Host)
        });
        assert_eq!(check(&s, &good), Vec::<String>::new());
        let bad = obs(with_pair(timeline("ida", Some(40), None), Relay, Prflx), timeline("idb", None, None));
        assert_eq!(
            check(&s, &bad),
            [
                "peer a: expected selected pair relay/relay; observed relay/prflx",
                "peer b: expected selected pair relay/host; none selected"
            ]
        );
    }

    #[test]
    fn hostile_selected_pairs_are_refused_with_the_key_named() {
        for bad in [
            "\"\"",
            "\"relay\"",
            "\"relay/\"",
            "\"/relay\"",
            "\"relay/relay/relay\"",
            "\"RELAY/relay\"",
            "\"relay/moon\"",
            "\"relay / relay\"",
            "\"\\u0000/\\uFFFF\"",
            "3",
            "[\"relay\", \"relay\"]",
        ] {
            let text =
                format!("name = \"t\"\n[[peer]]\nname = \"a\"\n[expect.peers.a]\nselected_pair = {bad}\n");
            let e = Scenario::parse(&text).unwrap_err().to_string();
            assert!(e.contains("selected_pair") || e.contains("invalid type"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_run_that_meets_everything_has_no_failures() {
        let s = Scenario::parse(SCENARIO).unwrap();
        let obs = Observed {
            timelines: [
                ("a".into(), timeline("ida", Some(40), Some(("idb", 660.4)))),
                ("b".into(), timeline("idb", Some(30), None)),
            ]
            .into(),
            probe: Some(vec![]),
            wall: Duration::from_secs(5),
        };
        assert_eq!(check(&s, &obs), Vec::<String>::new());
    }

    #[test]
    fn each_broken_expectation_says_what_was_observed() {
        let s = Scenario::parse(SCENARIO).unwrap();
        let obs = Observed {
            timelines: [
                ("a".into(), timeline("ida", None, Some(("idb", 500.0)))),
                ("b".into(), timeline("idb", Some(30), Some(("ida", 440.0)))),
            ]
            .into(),
            probe: Some(vec!["F7".into()]),
            wall: Duration::from_secs(12),
        };
        let f = check(&s, &obs);
        let joined = f.join("\n");
        for want in [
            "peer a: expected connected = true; observed final state none",
            "peer a: expected to hear b (660 Hz); observed 90 packets, 500.0 Hz",
            "peer a: expected connect within 100 ms; never connected",
            "peer b: expected no audio from a; observed 90 packets",
            "probe: expected findings []; observed [\"F7\"]",
            "wall time: expected at most 10.0 s; took 12.0 s",
        ] {
            assert!(joined.contains(want), "missing {want:?} in:\n{joined}");
        }
        assert_eq!(f.len(), 6);
    }
}
