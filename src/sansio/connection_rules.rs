//! Rules for one peer connection read from a file after the fact (`analyze`): what a single
//! client-side timeline or browser dump can show on its own, each finding quoting where in the
//! file its evidence is. The probe's rules (`rules::diagnose`) still judge our own timelines;
//! these add what a file shows that a probe run does not (Chrome's verdicts, TURN errors,
//! check counts), and [`cannot_show`] says what no such file can hold. Rules that need several
//! files of one call are `sansio::correlate`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::import::{Connection, Format};
use super::rules::Finding;
use super::timeline::{Direction, Event, Via};

/// A peer must have been in the call this long for its silence to count.
const HEARING_WINDOW_MS: u64 = 2000;
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

/// The candidate strings the page passed to `addIceCandidate` with a doubled prefix: Chrome
/// accepts and logs them, a strict parser (RFC 8839 §5.1) refuses them.
fn doubled_prefix(c: &Connection) -> Option<Finding> {
    let ev: Vec<String> = c
        .added
        .iter()
        .filter(|a| a.candidate.trim_start().starts_with("candidate:candidate:"))
        .map(|a| format!("{} at {} ms: addIceCandidate({:?})", a.origin, a.t_ms, clip(&a.candidate)))
        .collect();
    (!ev.is_empty()).then(|| {
        finding(
            "F3-prefix",
            "remote candidates with a doubled `candidate:` prefix",
            ev,
            "send the attribute with exactly one `candidate:` prefix; Chrome tolerates the doubled one, \
             stricter stacks drop the candidate",
        )
    })
}

fn early_text(e: &str) -> bool {
    e.to_ascii_lowercase().contains("remote description was null")
}

/// Chrome refused a candidate for its content (not its timing).
fn refused(c: &Connection) -> Option<Finding> {
    let ev: Vec<String> = c
        .added
        .iter()
        .filter_map(|a| {
            let e = a.error.as_deref().filter(|e| !early_text(e))?;
            Some(format!(
                "{} at {} ms: addIceCandidate({:?}) failed: {}",
                a.origin,
                a.t_ms,
                clip(&a.candidate),
                clip(e)
            ))
        })
        .collect();
    (!ev.is_empty()).then(|| {
        finding(
            "F3",
            "the browser refused remote candidates",
            ev,
            "emit exactly {\"candidate\":\"candidate:…\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0} with a valid \
             RFC 8839 attribute",
        )
    })
}

/// Candidates added before any remote description: from a dump's order, or our own timeline's
/// `buffered` marks (a client that buffers them leaves no trace of it in a browser dump).
fn early(c: &Connection) -> Option<Finding> {
    let mut ev: Vec<String> = c
        .added
        .iter()
        .filter(|a| !a.after_remote_description || a.error.as_deref().is_some_and(early_text))
        .map(|a| {
            let why = a.error.as_deref().map(|e| format!(": {}", clip(e))).unwrap_or_default();
            format!("{} at {} ms: addIceCandidate before any setRemoteDescription{why}", a.origin, a.t_ms)
        })
        .collect();
    let mut remote_set = None;
    for r in &c.records {
        match &r.stamped.event {
            Event::Signal { direction: Direction::Received, kind, .. }
                if kind == "answer" || kind == "offer" =>
            {
                remote_set.get_or_insert(r.stamped.t_ms);
            }
            Event::RemoteCandidate { via: Via::Trickle, buffered: true, candidate }
                if remote_set.is_none() =>
            {
                ev.push(format!(
                    "{} at {} ms: remote candidate {}:{} arrived before the remote description (held back)",
                    r.origin, r.stamped.t_ms, candidate.address, candidate.port
                ))
            }
            _ => {}
        }
    }
    if let (Some(first), Some(d)) = (ev.first().cloned(), c.remote_descriptions.first()) {
        ev = vec![first, format!("{}: the remote description ({}) only at {} ms", d.origin, d.kind, d.t_ms)]
            .into_iter()
            .chain(ev.into_iter().skip(1))
            .collect();
    }
    (!ev.is_empty()).then(|| {
        finding(
            "F4",
            "remote candidates before the remote description",
            ev,
            "send the answer before any candidate; clients must buffer candidates until setRemoteDescription \
             has completed, then add them in arrival order",
        )
    })
}

/// A remote candidate whose ufrag or mid names no part of the remote description it was added
/// to (RFC 8839 §5.4): it belongs to another connection.
fn foreign(c: &Connection) -> Option<Finding> {
    let ufrags: Vec<&String> = c.remote_descriptions.iter().flat_map(|d| &d.ufrags).collect();
    let mids: Vec<&String> = c.remote_descriptions.iter().flat_map(|d| &d.mids).collect();
    let ev: Vec<String> = c
        .added
        .iter()
        .filter(|a| a.after_remote_description && a.error.is_none())
        .filter_map(|a| {
            if let Some(u) = a.ufrag.as_ref().filter(|u| !ufrags.is_empty() && !ufrags.contains(u)) {
                return Some(format!(
                    "{} at {} ms: candidate ufrag {u:?}, the remote description's {ufrags:?}",
                    a.origin, a.t_ms
                ));
            }
            let m = a.sdp_mid.as_ref().filter(|m| !mids.is_empty() && !mids.contains(m))?;
            Some(format!(
                "{} at {} ms: candidate sdpMid {m:?}, the remote description's mids {mids:?}",
                a.origin, a.t_ms
            ))
        })
        .collect();
    (!ev.is_empty()).then(|| {
        finding(
            "F1",
            "remote candidates that belong to another connection",
            ev,
            "send each server-side candidate to the peer whose connection produced it",
        )
    })
}

/// The plain cause of a STUN/TURN error an `icecandidateerror` reports (RFC 8656 §18, RFC 8489
/// §14.8; 701 is the W3C "no response" code).
fn turn_errors(c: &Connection) -> Vec<Finding> {
    let mut by: BTreeMap<(u16, String), Vec<String>> = BTreeMap::new();
    for e in &c.candidate_errors {
        by.entry((e.code, e.url.clone())).or_default().push(format!(
            "{} at {} ms: {} {}",
            e.origin,
            e.t_ms,
            e.code,
            clip(&e.text)
        ));
    }
    by.into_iter()
        .map(|((code, url), ev)| {
            let fix = match code {
                401 | 441 | 400 => {
                    "check the TURN username/credential the page is given (time-limited ones expire)"
                }
                438 => "check the server's nonce handling; retry the allocation",
                486 | 508 => "raise the TURN server's quota/capacity or release unused allocations",
                _ => "check the URL, the port and the firewall between the browser and the server",
            };
            let url = if url.is_empty() { "(no URL logged)".to_owned() } else { url };
            finding(&format!("TURN-{code}"), &format!("{url}: {}", super::turn_error::cause(code)), ev, fix)
        })
        .collect()
}

/// States, in order, with where they are logged.
fn states(c: &Connection, ice: bool) -> Vec<(&str, u64, &str)> {
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
fn ice_failed(c: &Connection) -> Option<Finding> {
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
    let relay = c.records.iter().any(|r| matches!(&r.stamped.event, Event::LocalCandidate { candidate, .. } if candidate.typ == super::candidate::CandidateType::Relay));
    if let Some(e) = c.candidate_errors.iter().find(|e| e.url.starts_with("turn")).filter(|_| !relay) {
        ev.push(format!(
            "no usable relay: TURN failed with {} at {} ({})",
            e.code,
            e.url,
            super::turn_error::cause(e.code)
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
fn consent_lost(c: &Connection) -> Option<Finding> {
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

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_loopback() || v.is_private() || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback() || (v.segments()[0] & 0xfe00) == 0xfc00 || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The host of `scheme://host[:port]/…`, if it is an IP literal.
fn url_ip(url: &str) -> Option<IpAddr> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    host.split(':').next()?.parse().ok()
}

/// Every remote candidate is loopback or private while the page or server is public: the
/// server advertises addresses no browser outside its network can reach.
fn private_only(c: &Connection) -> Option<Finding> {
    let url = c.page.clone().or_else(|| {
        c.records.iter().find_map(|r| match &r.stamped.event {
            Event::SignalingConnected { url } => Some(url.clone()),
            _ => None,
        })
    })?;
    let public = url_ip(&url).is_none_or(|ip| !private(ip));
    let remote: Vec<(&str, &str)> = c
        .records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::RemoteCandidate { candidate, .. } => Some((candidate.address.as_str(), r.origin.as_str())),
            _ => None,
        })
        .collect();
    let all_private = !remote.is_empty() && remote.iter().all(|(a, _)| a.parse().is_ok_and(private));
    (public && all_private).then(|| {
        finding(
            "REMOTE-PRIVATE-ONLY",
            "the server offers only loopback/private addresses",
            remote
                .iter()
                .map(|(a, o)| format!("{o}: remote candidate {a}"))
                .collect::<Vec<_>>()
                .into_iter()
                .chain([format!("the call was made through {url}")])
                .collect(),
            "give the server's peer connections a public address (or a NAT 1:1 mapping) or a TURN server",
        )
    })
}

/// A peer that joined while we were connected and stayed: no renegotiation offer and no new
/// track followed (our own timelines; a dump does not know who else was in the room).
fn later_peer_unheard(c: &Connection) -> Option<Finding> {
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

/// The remote description carried no candidate and none arrived later, with no rejected
/// candidate message to explain it. One side's file cannot tell why: the server never sent
/// any (it does not gather or trickle), sent them to another peer, or sent messages the page
/// refused before its connection saw them.
fn no_remote_candidates(c: &Connection) -> Option<Finding> {
    let (origin, kind, t) = match c.remote_descriptions.first() {
        Some(d) => (d.origin.clone(), d.kind.clone(), d.t_ms),
        None => c.records.iter().find_map(|r| match &r.stamped.event {
            Event::Signal { direction: Direction::Received, kind, .. }
                if kind == "answer" || kind == "offer" =>
            {
                Some((r.origin.clone(), kind.clone(), r.stamped.t_ms))
            }
            _ => None,
        })?,
    };
    let any = c
        .records
        .iter()
        .any(|r| matches!(r.stamped.event, Event::RemoteCandidate { .. } | Event::SignalRejected { .. }))
        || !c.added.is_empty();
    let end = c.records.last().map_or(t, |r| r.stamped.t_ms);
    (!any).then(|| {
        finding(
            "NO-REMOTE-CANDIDATE",
            "no remote candidate ever reached the connection",
            vec![format!(
                "{origin}: the remote description ({kind}) at {t} ms had no candidate, and none was added in the \
                 {} ms after",
                end.saturating_sub(t)
            )],
            "see what the server sent: a server that never gathers or trickles sends none; one that sends its \
             candidates to another peer shows them in that peer's file (give both files to analyze); a nested \
             candidate message or one with null sdpMid and sdpMLineIndex makes `new RTCIceCandidate()` throw in \
             a page before its connection sees it — the page's console, the server's log, a `join --json` \
             timeline or `rtc-assist probe` tells them apart",
        )
    })
}

/// An app's dump shows a TURN username without an expiry: long-term credentials shipped to
/// the client (the username is not repeated here).
fn static_credentials(c: &Connection) -> Option<Finding> {
    let ev: Vec<String> = c
        .static_turn
        .iter()
        .map(|(origin, urls)| {
            format!("{origin}: a TURN username that is not time-limited for {}", urls.join(" "))
        })
        .collect();
    (!ev.is_empty()).then(|| {
        finding(
            "F8",
            "static TURN credentials in the client",
            ev,
            "hand out time-limited TURN REST credentials: username `expiry:user`, password \
             base64(HMAC-SHA1(secret, username))",
        )
    })
}

/// A browser dump: connected and sending, yet no audio packet ever came in, with a single
/// negotiation. A dump does not know who else was in the room, so this is said as seen: with
/// someone talking, a track added without renegotiation does exactly this.
fn no_audio_in(c: &Connection) -> Option<Finding> {
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

/// Every finding a single connection's file supports.
pub fn diagnose_connection(c: &Connection) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(ice_failed(c));
    out.extend(turn_errors(c));
    out.extend(no_remote_candidates(c));
    out.extend(foreign(c));
    out.extend(doubled_prefix(c));
    out.extend(refused(c));
    out.extend(early(c));
    out.extend(later_peer_unheard(c));
    out.extend(no_audio_in(c));
    out.extend(static_credentials(c));
    out.extend(consent_lost(c));
    out.extend(private_only(c));
    out
}

/// The probe's findings on one lone timeline, kept where one side alone supports them:
/// "no server candidate arrived" cannot tell a server that never sends them (F2) from one that
/// sends them to another peer (F1), so it is left to [`no_remote_candidates`] and to the other
/// peers' files; "never connected" needs an offer that was sent.
pub fn lone_timeline(findings: Vec<Finding>, c: &Connection) -> Vec<Finding> {
    let offered = c.records.iter().any(
        |r| matches!(&r.stamped.event, Event::Signal { direction: Direction::Sent, kind, .. } if kind == "offer"),
    );
    findings.into_iter().filter(|f| f.code != "F2" && (f.code != "ICE-FAILED" || offered)).collect()
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

/// What a file of this format cannot show, whatever it holds.
pub fn cannot_show(format: Format, c: &Connection) -> Vec<String> {
    let mut out = vec![
        "whether the server added this side's trickled candidates to its own connection (server side: run `rtc-assist probe`)".to_owned(),
    ];
    match format {
        Format::WebrtcInternals | Format::Rtcstats => {
            out.push("candidate messages the page's JavaScript refused before the connection saw them (nested, or null sdpMid and sdpMLineIndex: `new RTCIceCandidate()` throws, the dump has no entry)".into());
            out.push("early candidates a page buffered itself: their early arrival leaves no trace".into());
            if format == Format::WebrtcInternals {
                out.push("stats before webrtc-internals was opened or after the tab was closed".into());
                out.push(if c.truncated_series > 0 {
                    format!(
                        "samples older than the last 1,000 of a stats series ({} series truncated here)",
                        c.truncated_series
                    )
                } else {
                    "samples older than the last 1,000 of a stats series".into()
                });
            } else {
                out.push("stats between two getStats polls, and after the last one".into());
            }
            out.push("addresses hidden behind mDNS `.local` names".into());
            out.push("who else was in the room, and the signaling messages themselves".into());
            out.push("TURN usernames and credentials (a dump holds neither)".into());
        }
        Format::RtcAssistNdjson | Format::ProbeJson => {
            out.push("what the other peers of the room received".into());
            out.push("candidate ufrags and mids (a timeline keeps only type, address and port)".into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sansio::import::{AddedCandidate, CandidateError, Record, RemoteDescription};
    use crate::sansio::timeline::Stamped;

    fn rec(t: u64, event: Event) -> Record {
        Record { origin: format!("line {t}"), stamped: Stamped { t_ms: t, event } }
    }

    fn added(t: u64, cand: &str, after: bool, error: Option<&str>) -> AddedCandidate {
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

    fn codes(c: &Connection) -> Vec<String> {
        diagnose_connection(c).into_iter().map(|f| f.code).collect()
    }

    const C: &str = "candidate:1 1 udp 1 127.0.0.1 5000 typ host";

    #[test]
    fn browser_verdicts_name_their_codes() {
        let desc = RemoteDescription {
            t_ms: 5,
            origin: "/d".into(),
            kind: "answer".into(),
            ufrags: vec!["u1".into()],
            mids: vec!["0".into()],
        };
        let mut c = Connection { remote_descriptions: vec![desc], ..Connection::default() };
        c.added = vec![added(9, &format!("candidate:{C}"), true, None)];
        assert_eq!(codes(&c), ["F3-prefix"]);
        c.added = vec![added(
            3,
            C,
            false,
            Some("Failed to execute 'addIceCandidate': The remote description was null"),
        )];
        let f = diagnose_connection(&c);
        assert_eq!(f.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["F4"]);
        assert!(f[0].evidence[1].contains("only at 5 ms"), "{f:?}");
        c.added = vec![added(9, C, true, Some("Error processing ICE candidate"))];
        assert_eq!(codes(&c), ["F3"]);
        let mut a = added(9, C, true, None);
        a.ufrag = Some("other".into());
        c.added = vec![a];
        assert_eq!(codes(&c), ["F1"]);
        c.added = vec![];
        assert_eq!(codes(&c), ["NO-REMOTE-CANDIDATE"]);
    }

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

    #[test]
    fn consent_loss_f7_and_private_addresses() {
        let host = |a: &str| crate::sansio::timeline::CandidateInfo {
            typ: crate::sansio::candidate::CandidateType::Host,
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
        assert_eq!(url_ip("ws://[::1]:80/x"), Some("::1".parse().unwrap()));
        assert_eq!(url_ip("nonsense"), None);
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
    fn a_static_turn_username_in_a_dump_is_f8_without_repeating_it() {
        let c = Connection {
            static_turn: vec![("line 4".into(), vec!["turn:127.0.0.1:3478".into()])],
            ..Connection::default()
        };
        let f = diagnose_connection(&c);
        assert_eq!(f.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["F8"]);
        assert_eq!(
            f[0].evidence,
            ["line 4: a TURN username that is not time-limited for turn:127.0.0.1:3478"]
        );
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
