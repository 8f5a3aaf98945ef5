//! The diagnosis: a pure function from the timelines of the probe's peers to findings, one
//! rule per failure mode of the catalogue (failure-modes.md), each with its evidence (the
//! offending message or the missing one, with timestamps) and the fix.
//!
//! Every rule judges what a browser would experience, not how our own server happens to work:
//! audio is attributed by the tone each probe peer sends (servers need not name streams after
//! peers), F7 is a peer that never hears a later one whether or not an offer came, and F1 is a
//! server candidate that belongs to another probe peer's connection, whether or not the call
//! still connects.
//!
//! The probe runs an *observer* (a browser-like peer), a *withholder* (never uses the server's
//! candidates, so only the server's checks towards its trickled candidates can connect it) and,
//! when the observer cannot connect, a *control* (every candidate inside its offer).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diagnose::summary::SILENCE_DBFS;
use crate::diagnose::timeline::{Direction, Event, Stamped, Via};
use crate::signal::candidate::CandidateType;

/// What a probe peer was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Observer,
    Withholder,
    Control,
}

/// One probe peer's run: its role, the tone it sent and everything it observed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerRun {
    pub role: Role,
    pub tone_hz: f64,
    pub events: Vec<Stamped>,
}

/// One diagnosed problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `F1`…`F8` (with F3's variant), or a network verdict such as `ICE-FAILED`.
    pub code: String,
    pub title: String,
    pub evidence: Vec<String>,
    pub fix: String,
}

/// A frequency counts as heard within ±2 %.
const FREQ_TOLERANCE: f64 = 0.02;
/// A later peer must have been connected this long before the end for its silence to count.
const HEARING_WINDOW_MS: u64 = 2000;

/// A server candidate's transport address: what ties it to one server-side connection.
type Addr = (String, u16);

/// What the rules need from one peer's timeline.
#[derive(Debug, Default)]
struct Facts {
    id: Option<String>,
    /// The tone this probe peer sent.
    tone_hz: f64,
    joined_ms: Option<u64>,
    offer_ms: Option<u64>,
    answer_ms: Option<u64>,
    connected_ms: Option<u64>,
    local_trickled: usize,
    server_trickled: Vec<u64>,
    /// Trickled server candidates: when, where, which type.
    trickled: Vec<(u64, Addr, CandidateType)>,
    /// Addresses of this peer's own server-side connection: the candidates of the server's
    /// answer and the remote end of the selected pair.
    own: BTreeMap<Addr, &'static str>,
    /// Audible frequencies heard, on any stream.
    heard_hz: Vec<f64>,
    packets_sent: u64,
    /// Candidates inside the server's answer (not its renegotiation offers).
    server_in_sdp: usize,
    /// Valid server candidates that arrived before the answer.
    early: Vec<u64>,
    rejected: Vec<(u64, String, String)>,
    offers_received: Vec<u64>,
    /// TURN URLs handed out with a credential that carries no expiry.
    static_turn: Vec<(u64, String)>,
    end_ms: u64,
}

fn facts(run: &PeerRun) -> Facts {
    let mut f = Facts { tone_hz: run.tone_hz, ..Facts::default() };
    let mut last_received = "";
    for s in &run.events {
        let t = s.t_ms;
        f.end_ms = f.end_ms.max(t);
        match &s.event {
            Event::JoinedRoom { peer_id, .. } => {
                f.id = Some(peer_id.clone());
                f.joined_ms.get_or_insert(t);
            }
            Event::IceServersOffered { servers } => {
                for s in servers.iter().filter(|s| s.credential && s.expires_in_s.is_none()) {
                    f.static_turn
                        .extend(s.urls.iter().filter(|u| u.starts_with("turn")).map(|u| (t, u.clone())));
                }
            }
            Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer" => {
                f.offer_ms.get_or_insert(t);
            }
            Event::Signal { direction: Direction::Received, kind, .. } => {
                last_received = if kind == "answer" { "answer" } else { "" };
                if kind == "answer" {
                    f.answer_ms.get_or_insert(t);
                } else if kind == "offer" {
                    f.offers_received.push(t);
                }
            }
            Event::LocalCandidate { via: Via::Trickle, .. } => f.local_trickled += 1,
            Event::RemoteCandidate { via: Via::Trickle, candidate, .. } => {
                f.server_trickled.push(t);
                f.trickled.push((t, (candidate.address.clone(), candidate.port), candidate.typ));
                if f.answer_ms.is_none() {
                    f.early.push(t);
                }
            }
            Event::RemoteCandidate { via: Via::Sdp, candidate, .. } if last_received == "answer" => {
                f.server_in_sdp += 1;
                f.own.insert((candidate.address.clone(), candidate.port), "in its answer");
            }
            Event::SelectedPair { remote, .. } => {
                f.own.entry((remote.address.clone(), remote.port)).or_insert("its selected pair");
            }
            Event::MediaSent { packets } => f.packets_sent = *packets,
            Event::SignalRejected { violation: Some(v), message, .. } => {
                f.rejected.push((t, v.clone(), message.clone()))
            }
            Event::ConnectionState { state } if state == "connected" => {
                f.connected_ms.get_or_insert(t);
            }
            Event::AudioLevel { freq_hz: Some(hz), rms_dbfs, .. } if *rms_dbfs > SILENCE_DBFS => {
                f.heard_hz.push(*hz)
            }
            _ => {}
        }
    }
    f
}

impl Facts {
    /// Heard `hz` (within ±2 %) on any stream.
    fn heard(&self, hz: f64) -> bool {
        self.heard_hz.iter().any(|f| (f - hz).abs() <= hz * FREQ_TOLERANCE)
    }
}

fn name(role: Role) -> &'static str {
    match role {
        Role::Observer => "observer",
        Role::Withholder => "withholder",
        Role::Control => "control",
    }
}

fn finding(code: &str, title: &str, evidence: Vec<String>, fix: &str) -> Finding {
    Finding { code: code.into(), title: title.into(), evidence, fix: fix.into() }
}

/// F3: malformed candidate messages, one finding per variant seen.
fn malformed(runs: &[(Role, Facts)]) -> Vec<Finding> {
    let mut by_code: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, f) in runs {
        for (t, v, msg) in &f.rejected {
            let code = if v == "F3-grammar" { "F3".to_owned() } else { v.clone() };
            by_code
                .entry(code)
                .or_default()
                .push(format!("{} at {t} ms rejected a candidate: {msg}", name(*role)));
        }
    }
    by_code
        .into_iter()
        .map(|(code, mut ev)| {
            ev.truncate(3);
            finding(
                &code,
                "malformed candidate messages from the server",
                ev,
                "emit exactly {\"candidate\":\"candidate:…\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}: one prefix, \
                 no extra nesting, mid and mline never null",
            )
        })
        .collect()
}

/// F4: server candidates before the answer.
fn early_candidates(runs: &[(Role, Facts)]) -> Option<Finding> {
    let ev: Vec<String> = runs
        .iter()
        .filter(|(_, f)| !f.early.is_empty())
        .map(|(role, f)| {
            format!(
                "{} received {} candidate(s) from {} ms, the answer only at {}",
                name(*role),
                f.early.len(),
                f.early[0],
                f.answer_ms.map_or("never".into(), |a| format!("{a} ms"))
            )
        })
        .collect();
    (!ev.is_empty()).then(|| {
        finding(
            "F4",
            "server candidates sent before the answer",
            ev,
            "send the answer first; clients must still buffer candidates until setRemoteDescription completed",
        )
    })
}

/// F2: no server candidate reaches anyone, neither in the answer nor trickled.
fn candidates_missing(runs: &[(Role, Facts)]) -> Option<Finding> {
    let answered: Vec<&(Role, Facts)> = runs.iter().filter(|(_, f)| f.answer_ms.is_some()).collect();
    if answered.is_empty() || answered.iter().any(|(_, f)| !f.rejected.is_empty()) {
        return None;
    }
    if answered.iter().any(|(_, f)| f.server_trickled.len() + f.server_in_sdp > 0) {
        return None;
    }
    let ev = answered
        .iter()
        .map(|(role, f)| {
            format!(
                "{} offered at {} ms: 0 candidates in the answer, 0 trickled in {} ms",
                name(*role),
                f.offer_ms.unwrap_or(0),
                f.end_ms.saturating_sub(f.answer_ms.unwrap_or(0))
            )
        })
        .collect();
    Some(finding(
        "F2",
        "the server's candidates never arrive: none in the answer, none trickled",
        ev,
        "wait for gathering (TURN allocation) before answering, or trickle the late candidates",
    ))
}

/// F1: a trickled server candidate that belongs to another probe peer's connection (it is in
/// that peer's answer, or the far end of its selected pair) and not to the receiver's own.
fn candidates_misdelivered(runs: &[(Role, Facts)]) -> Option<Finding> {
    let mut ev = Vec::new();
    for (role, f) in runs {
        for (t, addr, typ) in &f.trickled {
            if f.own.contains_key(addr) {
                continue;
            }
            let owner =
                runs.iter().find_map(|(r, o)| Some((*r, o.own.get(addr)?)).filter(|(r, _)| r != role));
            if let Some((owner, how)) = owner {
                ev.push(format!(
                    "{} received the server candidate {}:{} ({typ}) at {t} ms: it belongs to the {}'s \
                     connection ({how})",
                    name(*role),
                    addr.0,
                    addr.1,
                    name(owner)
                ));
            }
        }
    }
    if ev.is_empty() {
        return None;
    }
    ev.truncate(4);
    ev.extend(runs.iter().filter(|(_, f)| f.answer_ms.is_some() && f.server_trickled.is_empty()).map(
        |(role, f)| {
            format!(
                "{} offered at {} ms and was trickled 0 server candidates of its own",
                name(*role),
                f.offer_ms.unwrap_or(0)
            )
        },
    ));
    Some(finding(
        "F1",
        "server candidates go to the wrong peer",
        ev,
        "send each server-side candidate to the peer whose connection produced it",
    ))
}

/// F5 (and plain ICE failure): whether the server checks towards trickled candidates.
fn connectivity(runs: &[(Role, Facts)]) -> Option<Finding> {
    let get = |r: Role| runs.iter().find(|(role, _)| *role == r).map(|(_, f)| f);
    let observer = get(Role::Observer)?;
    let control = get(Role::Control);
    let withholder = get(Role::Withholder);
    if observer.connected_ms.is_none() && control.is_none_or(|c| c.connected_ms.is_none()) {
        return Some(finding(
            "ICE-FAILED",
            "no connection at all, whatever the offer carried: a network problem, not signaling",
            vec![format!("observer offered at {} ms and never connected", observer.offer_ms.unwrap_or(0))],
            "check that the server's media ports are reachable (UDP), or configure TURN",
        ));
    }
    if observer.connected_ms.is_none() {
        let c = control?;
        return Some(finding(
            "F5",
            "trickled client candidates are ignored by the server",
            vec![
                format!("observer trickled {} candidate(s) and never connected", observer.local_trickled),
                format!(
                    "control with every candidate in its offer connected at {} ms",
                    c.connected_ms.unwrap_or(0)
                ),
            ],
            "add every trickled client candidate to that client's own server-side connection",
        ));
    }
    let w = withholder?;
    if w.answer_ms.is_some() && w.local_trickled > 0 && w.connected_ms.is_none() {
        return Some(finding(
            "F5",
            "trickled client candidates are ignored by the server",
            vec![
                format!(
                    "withholder trickled {} candidate(s) and waited {} ms: the server never checked them",
                    w.local_trickled,
                    w.end_ms.saturating_sub(w.answer_ms.unwrap_or(0))
                ),
                format!(
                    "observer connected at {} ms through its own checks",
                    observer.connected_ms.unwrap_or(0)
                ),
            ],
            "add every trickled client candidate to that client's own server-side connection",
        ));
    }
    None
}

/// F7: a peer that was in the room first never hears a peer that came later and sent audio
/// (judged by the later peer's tone); whether a renegotiation offer came is evidence.
fn later_peer_unheard(runs: &[(Role, Facts)]) -> Option<Finding> {
    let mut ev = Vec::new();
    for (first_role, first) in runs {
        let (Some(first_joined), Some(_)) = (first.joined_ms, first.connected_ms) else { continue };
        for (later_role, later) in runs {
            let (hz, first_hz) = (later.tone_hz, first.tone_hz);
            let Some(later_joined) = later.joined_ms.filter(|t| *t > first_joined) else { continue };
            let Some(connected) = later.connected_ms else { continue };
            if later.packets_sent == 0
                || first.end_ms.saturating_sub(connected) < HEARING_WINDOW_MS
                || first.heard(hz)
            {
                continue;
            }
            let offers = first.offers_received.iter().filter(|t| **t >= later_joined).count();
            let back = if later.heard(first_hz) { "heard" } else { "did not hear either" };
            ev.push(format!(
                "{} never heard the {}'s {hz} Hz ({} packets sent from {connected} ms); the {} {back} \
                 the {}'s {first_hz} Hz; server offers to the {} after the {} joined at {later_joined} ms: \
                 {offers}",
                name(*first_role),
                name(*later_role),
                later.packets_sent,
                name(*later_role),
                name(*first_role),
                name(*first_role),
                name(*later_role),
            ));
        }
    }
    (!ev.is_empty()).then(|| {
        finding(
            "F7",
            "tracks added without renegotiation",
            ev,
            "after adding a forwarded track, send the peer a new offer and apply its answer — or carry \
             the later peer's audio on a track the peer has already negotiated",
        )
    })
}

/// F8: long-term TURN credentials handed to clients.
fn static_credentials(runs: &[(Role, Facts)]) -> Option<Finding> {
    let (role, f) = runs.iter().find(|(_, f)| !f.static_turn.is_empty())?;
    let (t, url) = &f.static_turn[0];
    Some(finding(
        "F8",
        "static TURN credentials handed to clients",
        vec![format!(
            "joined_room at {t} ms gave {} a credential for {url} whose username carries no expiry",
            name(*role)
        )],
        "hand out time-limited TURN REST credentials: username `expiry:user`, password \
         base64(HMAC-SHA1(secret, username))",
    ))
}

/// Every finding the timelines support, most fundamental first.
pub fn diagnose(runs: &[PeerRun]) -> Vec<Finding> {
    let facts: Vec<(Role, Facts)> = runs.iter().map(|r| (r.role, facts(r))).collect();
    let mut out = Vec::new();
    out.extend(connectivity(&facts));
    out.extend(candidates_missing(&facts));
    out.extend(candidates_misdelivered(&facts));
    out.extend(malformed(&facts));
    out.extend(early_candidates(&facts));
    out.extend(later_peer_unheard(&facts));
    out.extend(static_credentials(&facts));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timelines recorded by `probe --json` against `serve` (healthy and with each fault).
    fn fixture(name: &str) -> Vec<PeerRun> {
        let text = match name {
            "healthy" => include_str!("../../tests/fixtures/rules/healthy.json"),
            "F1" => include_str!("../../tests/fixtures/rules/F1.json"),
            "F2" => include_str!("../../tests/fixtures/rules/F2.json"),
            "F3-prefix" => include_str!("../../tests/fixtures/rules/F3-prefix.json"),
            "F3-nested" => include_str!("../../tests/fixtures/rules/F3-nested.json"),
            "F3-null" => include_str!("../../tests/fixtures/rules/F3-null.json"),
            "F4" => include_str!("../../tests/fixtures/rules/F4.json"),
            "F5" => include_str!("../../tests/fixtures/rules/F5.json"),
            "F7" => include_str!("../../tests/fixtures/rules/F7.json"),
            "F8" => include_str!("../../tests/fixtures/rules/F8.json"),
            other => panic!("no fixture {other}"),
        };
        serde_json::from_str(text).expect("fixture parses")
    }

    /// The same probe against the aiortc double of the guide's server (tests/interop/):
    /// random stream ids, no server offers, every candidate in the answer.
    fn aiortc_fixture(name: &str) -> Vec<PeerRun> {
        let text = match name {
            "healthy" => include_str!("../../tests/fixtures/rules/aiortc/healthy.json"),
            "F1" => include_str!("../../tests/fixtures/rules/aiortc/F1.json"),
            "F2" => include_str!("../../tests/fixtures/rules/aiortc/F2.json"),
            "F3-prefix" => include_str!("../../tests/fixtures/rules/aiortc/F3-prefix.json"),
            "F3-nested" => include_str!("../../tests/fixtures/rules/aiortc/F3-nested.json"),
            "F3-null" => include_str!("../../tests/fixtures/rules/aiortc/F3-null.json"),
            "F4" => include_str!("../../tests/fixtures/rules/aiortc/F4.json"),
            "F5" => include_str!("../../tests/fixtures/rules/aiortc/F5.json"),
            "F7" => include_str!("../../tests/fixtures/rules/aiortc/F7.json"),
            other => panic!("no fixture {other}"),
        };
        serde_json::from_str(text).expect("fixture parses")
    }

    fn codes(runs: &[PeerRun]) -> Vec<String> {
        diagnose(runs).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_healthy_browser_style_session_has_no_findings() {
        assert_eq!(codes(&fixture("healthy")), Vec::<String>::new());
    }

    #[test]
    fn each_recorded_fault_is_named_exactly() {
        for code in ["F1", "F2", "F3-prefix", "F3-nested", "F3-null", "F4", "F5", "F7", "F8"] {
            assert_eq!(codes(&fixture(code)), vec![code.to_string()], "fixture {code}");
        }
    }

    #[test]
    fn the_same_rules_name_each_fault_of_an_aiortc_server_exactly() {
        assert_eq!(codes(&aiortc_fixture("healthy")), Vec::<String>::new());
        for code in ["F1", "F2", "F3-prefix", "F3-nested", "F3-null", "F4", "F5", "F7"] {
            assert_eq!(codes(&aiortc_fixture(code)), vec![code.to_string()], "aiortc fixture {code}");
        }
    }

    #[test]
    fn f1_is_a_candidate_of_another_connection_even_when_the_call_connects() {
        let f = diagnose(&aiortc_fixture("F1"));
        assert!(f[0].evidence[0].contains("belongs to the withholder's connection (in its answer)"), "{f:?}");
        // Every probe peer still connected: the misdelivery is the finding, not a failure.
        assert!(aiortc_fixture("F1").iter().all(|r| facts(r).connected_ms.is_some()));
    }

    #[test]
    fn f7_is_judged_by_audio_and_an_offer_is_only_evidence() {
        // The observer got a renegotiation offer after the withholder joined, and still never
        // heard it: F7 all the same (what a browser experiences is silence).
        let mut runs = fixture("F7");
        let joined = facts(&runs[1]).joined_ms.unwrap();
        let offer = Event::Signal { direction: Direction::Received, kind: "offer".into(), detail: None };
        runs[0].events.push(Stamped { t_ms: joined + 100, event: offer });
        let f = diagnose(&runs);
        assert_eq!(f.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), vec!["F7"]);
        assert!(f[0].evidence[0].ends_with(&format!("joined at {joined} ms: 1")), "{f:?}");
        // A later peer that had only just connected when the run ended is not judged.
        let mut short = fixture("F7");
        let connected = facts(&short[1]).connected_ms.unwrap();
        short[0].events.retain(|e| e.t_ms < connected + 500);
        assert!(codes(&short).is_empty(), "{:?}", codes(&short));
    }

    #[test]
    fn findings_carry_evidence_and_a_fix() {
        for f in diagnose(&fixture("F5")) {
            assert!(!f.evidence.is_empty() && !f.fix.is_empty());
            assert!(f.evidence.iter().any(|e| e.contains("withholder")), "{f:?}");
        }
    }

    fn never_connected(mut runs: Vec<PeerRun>, role: Role) -> Vec<PeerRun> {
        for r in runs.iter_mut().filter(|r| r.role == role) {
            r.events
                .retain(|e| !matches!(&e.event, Event::ConnectionState { state } if state == "connected"));
        }
        runs
    }

    #[test]
    fn no_connection_at_all_is_a_network_verdict_not_f5() {
        let runs = never_connected(never_connected(fixture("healthy"), Role::Observer), Role::Withholder);
        assert_eq!(codes(&runs), vec!["ICE-FAILED".to_string()]);
    }

    #[test]
    fn a_control_offer_that_connects_where_trickle_failed_is_f5() {
        let mut runs = never_connected(fixture("healthy"), Role::Observer);
        let mut control = fixture("healthy").remove(0);
        control.role = Role::Control;
        runs.push(control);
        assert!(codes(&runs).contains(&"F5".to_string()), "{:?}", codes(&runs));
    }

    #[test]
    fn empty_and_partial_timelines_do_not_panic() {
        assert!(diagnose(&[]).is_empty());
        let lone = PeerRun { role: Role::Withholder, tone_hz: 660.0, events: vec![] };
        assert!(diagnose(&[lone]).is_empty());
    }
}
