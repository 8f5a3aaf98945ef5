//! A `load --json` run read by `analyze`: its failed peers grouped by the phase they failed in,
//! one finding per phase quoting the peers' lines. Load names no failure mode: a phase says
//! which layer broke, and the fix says how to find out more.

use std::collections::BTreeMap;

use crate::diagnose::import::load_json::LoadRun;
use crate::diagnose::rules::Finding;

/// Peer lines quoted per finding.
const MAX_EVIDENCE: usize = 4;

/// What a failure in `phase` means and what to do about it.
fn phase(phase: &str) -> (&'static str, &'static str) {
    match phase {
        "websocket" => (
            "the signaling connection failed",
            "a 503 is a full server (`serve --max-sessions`); otherwise check the URL, TLS (`--ca`), the token and the \
             firewall",
        ),
        "join" => (
            "the server did not let the peer join",
            "see the reason: a full room, a refused token or a cluster placement",
        ),
        "answer" => {
            ("no answer to the offer", "the server's offer handling: its log names the SDP it refused")
        }
        "ice" => (
            "ICE never connected",
            "the server's candidates are unreachable or it ignores trickled ones (F5): `rtc-assist probe` tells which",
        ),
        "dtls" => (
            "ICE connected, DTLS never completed",
            "a certificate/fingerprint mismatch or packets lost after ICE",
        ),
        "rtp" => (
            "connected, but the audio it expected never arrived",
            "the server does not forward, or adds tracks without renegotiating (F7): `rtc-assist probe`",
        ),
        "dropped" => (
            "lost after it had connected",
            "the server closed it or stopped answering: overload or consent lost",
        ),
        _ => ("failed in a phase this version does not know", "see the reason"),
    }
}

/// One finding per phase peers failed in (`LOAD-WEBSOCKET`, `LOAD-ICE`, …).
pub fn diagnose_load(run: &LoadRun) -> Vec<Finding> {
    let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in &run.peers {
        let Some((ph, reason)) = &p.failure else { continue };
        let who = p.peer_id.as_deref().map_or_else(
            || "a peer that never joined".to_owned(),
            |id| format!("peer {}", &id[..id.len().min(8)]),
        );
        by.entry(ph.as_str()).or_default().push(format!("{}: {who} in room {}: {reason}", p.origin, p.room));
    }
    let total = run.summary.as_ref().map_or(run.peers.len() as u64, |s| s.1);
    by.into_iter()
        .map(|(ph, mut evidence)| {
            let (title, fix) = phase(ph);
            let n = evidence.len();
            evidence.truncate(MAX_EVIDENCE);
            Finding {
                code: format!(
                    "LOAD-{}",
                    ph.to_ascii_uppercase().chars().filter(char::is_ascii_alphabetic).collect::<String>()
                ),
                title: format!("{n} of {total} peer(s): {title}"),
                evidence,
                fix: fix.into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::import::load_json::LoadPeer;

    fn peer(line: usize, id: Option<&str>, failure: Option<(&str, &str)>) -> LoadPeer {
        LoadPeer {
            origin: format!("line {line}"),
            peer_id: id.map(str::to_owned),
            room: "r".into(),
            failure: failure.map(|(p, r)| (p.into(), r.into())),
        }
    }

    #[test]
    fn failed_peers_are_grouped_by_phase() {
        let run = LoadRun {
            peers: vec![
                peer(2, Some("62a5055196ba4bcf"), None),
                peer(3, None, Some(("websocket", "HTTP error: 503"))),
                peer(4, Some("ac40ca79"), Some(("ice", "ICE failed"))),
                peer(5, None, Some(("websocket", "HTTP error: 503"))),
                peer(6, None, Some(("<script>", "?"))),
            ],
            summary: Some(("line 7".into(), 5, 1, 4)),
        };
        let f = diagnose_load(&run);
        let codes: Vec<&str> = f.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["LOAD-SCRIPT", "LOAD-ICE", "LOAD-WEBSOCKET"]);
        assert_eq!(f[2].title, "2 of 5 peer(s): the signaling connection failed");
        assert_eq!(f[2].evidence[0], "line 3: a peer that never joined in room r: HTTP error: 503");
        assert_eq!(f[1].evidence[0], "line 4: peer ac40ca79 in room r: ICE failed");
        assert!(diagnose_load(&LoadRun::default()).is_empty());
    }
}
