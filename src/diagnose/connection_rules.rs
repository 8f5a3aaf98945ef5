//! Rules for one peer connection read from a file after the fact (`analyze`): what a single
//! client-side timeline or browser dump can show on its own, each finding quoting where in the
//! file its evidence is. The probe's rules (`rules::diagnose`) still judge our own timelines;
//! these add what a file shows that a probe run does not (Chrome's verdicts, TURN errors,
//! check counts), and [`cannot_show`] says what no such file can hold. Rules that need several
//! files of one call are `diagnose::correlate`.
//!
//! One file per kind of evidence: `candidate_messages` (what the remote candidates the page was
//! given show), `ice` (why ICE failed, consent lost), `turn` (TURN errors, static credentials),
//! `addresses` (private-only remote candidates), `audio` (audio that never arrived), `whip`
//! (WHIP/WHEP sessions: refused, no Location, wrong answer type, never deleted), `janus` (Janus'
//! refusals, expired sessions, PeerConnections it hung up) and `cannot_show`.

mod addresses;
mod audio;
mod candidate_messages;
mod cannot_show;
mod ice;
mod janus;
mod turn;
mod whip;

use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::{Direction, Event};

pub use cannot_show::cannot_show;

/// Evidence lines quoted per finding.
const MAX_EVIDENCE: usize = 4;

fn finding(code: &str, title: &str, mut evidence: Vec<String>, fix: &str) -> Finding {
    evidence.truncate(MAX_EVIDENCE);
    Finding { code: code.into(), title: title.into(), evidence, fix: fix.into() }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Every finding a single connection's file supports.
pub fn diagnose_connection(c: &Connection) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(ice::ice_failed(c));
    out.extend(turn::turn_errors(c));
    out.extend(candidate_messages::no_remote_candidates(c));
    out.extend(candidate_messages::foreign(c));
    out.extend(candidate_messages::doubled_prefix(c));
    out.extend(candidate_messages::refused(c));
    out.extend(candidate_messages::early(c));
    out.extend(audio::later_peer_unheard(c));
    out.extend(audio::no_audio_in(c));
    out.extend(turn::static_credentials(c));
    out.extend(ice::consent_lost(c));
    out.extend(addresses::private_only(c));
    out.extend(addresses::advertised_silent(c));
    out.extend(whip::whip(c));
    out.extend(janus::janus(c));
    out
}

/// The probe's findings on one lone timeline, kept where one side alone supports them:
/// "no server candidate arrived" cannot tell a server that never sends them (F2) from one that
/// sends them to another peer (F1), so it is left to `candidate_messages::no_remote_candidates` and to the other
/// peers' files; "never connected" needs an offer that was sent.
pub fn lone_timeline(findings: Vec<Finding>, c: &Connection) -> Vec<Finding> {
    let offered = c.records.iter().any(
        |r| matches!(&r.stamped.event, Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer"),
    );
    findings.into_iter().filter(|f| f.code != "F2" && (f.code != "ICE-FAILED" || offered)).collect()
}

/// What a server's own record of a session supports alone: how ICE went. The client-side
/// rules do not apply (its remote candidates are the client's); the rest needs the client's
/// file beside it (`diagnose::correlate`).
pub fn server_record(c: &Connection) -> Vec<Finding> {
    ice::ice_failed(c).into_iter().chain(ice::consent_lost(c)).collect()
}

/// `more` merged into `base`: a code already there gains the new evidence, others are appended.
pub fn merge(mut base: Vec<Finding>, more: Vec<Finding>) -> Vec<Finding> {
    for f in more {
        match base.iter_mut().find(|b| b.code == f.code) {
            Some(b) => {
                for e in f.evidence {
                    if b.evidence.len() < MAX_EVIDENCE * 2 && !b.evidence.contains(&e) {
                        b.evidence.push(e);
                    }
                }
            }
            None => base.push(f),
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::connection::{AddedCandidate, Record};
    use crate::diagnose::import::Format;
    use crate::diagnose::timeline::{Stamped, Via};

    pub(super) fn rec(t: u64, event: Event) -> Record {
        Record { origin: format!("line {t}"), stamped: Stamped { t_ms: t, event } }
    }

    pub(super) fn added(t: u64, cand: &str, after: bool, error: Option<&str>) -> AddedCandidate {
        AddedCandidate {
            t_ms: t,
            origin: format!("/PeerConnections/1-1/updateLog/{t}"),
            candidate: cand.into(),
            sdp_mid: Some("0".into()),
            ufrag: None,
            error: error.map(str::to_owned),
            after_remote_description: after,
        }
    }

    pub(super) fn codes(c: &Connection) -> Vec<String> {
        diagnose_connection(c).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn consent_loss_f7_and_private_addresses() {
        let host = |a: &str| crate::diagnose::timeline::CandidateInfo {
            typ: crate::signal::candidate::CandidateType::Host,
            protocol: "udp".into(),
            address: a.into(),
            port: 1,
            related: None,
            url: None,
        };
        let mut c = Connection {
            records: vec![
                rec(0, Event::SignalingConnected { url: "wss://203.0.113.5/ws".into() }),
                rec(
                    1,
                    Event::RemoteCandidate {
                        candidate: host("10.0.0.2"),
                        via: Via::Trickle,
                        buffered: false,
                    },
                ),
                rec(2, Event::IceState { state: "connected".into() }),
                rec(3, Event::ConnectionState { state: "connected".into() }),
                rec(500, Event::PeerJoined { peer_id: "abcdef0123456789".into() }),
                rec(4000, Event::IceState { state: "disconnected".into() }),
            ],
            ..Connection::default()
        };
        assert_eq!(codes(&c), ["F7", "CONSENT-LOST", "REMOTE-PRIVATE-ONLY"]);
        c.records[0] = rec(0, Event::SignalingConnected { url: "ws://127.0.0.1:8765/ws".into() });
        c.records.insert(
            5,
            rec(600, Event::Signal { direction: Direction::Received, kind: "offer".into(), detail: None }),
        );
        assert_eq!(codes(&c), ["CONSENT-LOST"]);
    }

    #[test]
    fn a_lone_timeline_drops_what_one_side_cannot_support() {
        let f = |code: &str| finding(code, "t", vec!["e".into()], "f");
        let mut c = Connection::default();
        let kept = lone_timeline(vec![f("F2"), f("ICE-FAILED"), f("F4")], &c);
        assert_eq!(kept.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["F4"]);
        c.records
            .push(rec(1, Event::Signal { direction: Direction::Sent, kind: "offer".into(), detail: None }));
        assert_eq!(lone_timeline(vec![f("F2"), f("ICE-FAILED")], &c).len(), 1);
    }

    #[test]
    fn merge_keeps_one_finding_per_code() {
        let a = finding("F4", "t", vec!["one".into()], "f");
        let b = finding("F4", "t", vec!["one".into(), "two".into()], "f");
        let m = merge(vec![a], vec![b, finding("F7", "t", vec![], "f")]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].evidence, ["one", "two"]);
    }

    #[test]
    fn nothing_to_say_about_an_empty_connection() {
        assert!(codes(&Connection::default()).is_empty());
        assert!(
            cannot_show(Format::WebrtcInternals, &Connection::default()).iter().all(|s| !s.contains("F5"))
        );
    }
}
