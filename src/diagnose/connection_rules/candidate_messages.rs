//! What the remote candidate messages a connection was given show on their own: a doubled
//! `candidate:` prefix, Chrome's refusals, candidates before the remote description (F4),
//! candidates of another connection (F1), and no remote candidate at all.

use super::{clip, finding};
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::{Direction, Event, Via};

/// The candidate strings the page passed to `addIceCandidate` with a doubled prefix: Chrome
/// accepts and logs them, a strict parser (RFC 8839 §5.1) refuses them.
pub(super) fn doubled_prefix(c: &Connection) -> Option<Finding> {
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
pub(super) fn refused(c: &Connection) -> Option<Finding> {
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
pub(super) fn early(c: &Connection) -> Option<Finding> {
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
pub(super) fn foreign(c: &Connection) -> Option<Finding> {
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

/// The remote description carried no candidate and none arrived later, with no rejected
/// candidate message to explain it. One side's file cannot tell why: the server never sent
/// any (it does not gather or trickle), sent them to another peer, or sent messages the page
/// refused before its connection saw them.
pub(super) fn no_remote_candidates(c: &Connection) -> Option<Finding> {
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

#[cfg(test)]
mod tests {
    use crate::diagnose::connection::{Connection, RemoteDescription};
    use crate::diagnose::connection_rules::diagnose_connection;
    use crate::diagnose::connection_rules::tests::{added, codes};

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
}
