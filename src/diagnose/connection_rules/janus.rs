//! Janus sessions, from the `janus` events of a timeline: a request Janus refused
//! (`JANUS-ERROR`: a core error such as 458 No such session, or a plugin's `error_code` such as
//! 485 No such room, with the request it answered), a session Janus expired for lack of
//! requests (`JANUS-SESSION-TIMEOUT`), and a PeerConnection Janus hung up on its own
//! (`JANUS-HANGUP`: "ICE failed", "DTLS alert"…; our own hangup, reason "Janus API", is not one).

use std::collections::HashMap;

use super::finding;
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::Event;
use crate::signal::janus_api::JanusStep;

/// The reason Janus gives when a client asked for the hangup.
const OUR_HANGUP: &str = "Janus API";

fn steps(c: &Connection) -> impl Iterator<Item = (&str, u64, &JanusStep)> {
    c.records.iter().filter_map(|r| match &r.stamped.event {
        Event::Janus(step) => Some((r.origin.as_str(), r.stamped.t_ms, step)),
        _ => None,
    })
}

/// What to do about a Janus error code (janus/apierror.h and the plugins' own codes).
fn fix_for(code: i64) -> &'static str {
    match code {
        458 | 459 => {
            "the session or handle is gone (expired or destroyed): keep the session alive with keepalives inside session_timeout and create a new one"
        }
        403 | 419 | 420 => "Janus refused access: pass the API secret or token the deployment requires",
        485 | 426 => {
            "the room does not exist on this Janus: join a room its plugin configuration creates (janus.plugin.audiobridge.jcfg / janus.plugin.videoroom.jcfg) or create it first"
        }
        _ => "read Janus' reason above and its log (debug_level 5 and more shows the request it refused)",
    }
}

/// Every Janus finding the timeline supports.
pub(super) fn janus(c: &Connection) -> Vec<Finding> {
    let mut out = Vec::new();
    // What each transaction asked for, to say which request an error answered.
    let mut asked: HashMap<&str, String> = HashMap::new();
    let mut errors: Vec<(String, i64)> = Vec::new();
    let mut hangups = Vec::new();
    let mut timeout = None;
    let mut last_keepalive = None;
    for (origin, t_ms, s) in steps(c) {
        if s.direction == "sent" {
            if let Some(t) = &s.transaction {
                let what = s.what.as_ref().map_or(s.janus.clone(), |w| format!("{} {w}", s.janus));
                asked.insert(t, what);
            }
            if s.janus == "keepalive" {
                last_keepalive = Some(t_ms);
            }
            continue;
        }
        if let Some(code) = s.code {
            let request = s.transaction.as_deref().and_then(|t| asked.get(t));
            let answering = request.map(|r| format!(" (answering {r})")).unwrap_or_default();
            let reason = s.reason.as_deref().unwrap_or("");
            errors.push((format!("{origin} at {t_ms} ms: Janus error {code} {reason}{answering}"), code));
        } else if s.janus == "hangup" && s.reason.as_deref() != Some(OUR_HANGUP) {
            hangups.push(format!(
                "{origin} at {t_ms} ms: Janus hung up: {}",
                s.reason.as_deref().unwrap_or("no reason")
            ));
        } else if s.janus == "timeout" && timeout.is_none() {
            timeout = Some((origin, t_ms));
        }
    }
    if let Some(&(_, code)) = errors.first() {
        out.push(finding(
            "JANUS-ERROR",
            "Janus refused a request",
            errors.into_iter().map(|(e, _)| e).collect(),
            fix_for(code),
        ));
    }
    if let Some((origin, t_ms)) = timeout {
        let since = match last_keepalive {
            Some(k) => format!("the last keepalive went out at {k} ms"),
            None => "no keepalive was sent".to_owned(),
        };
        out.push(finding(
            "JANUS-SESSION-TIMEOUT",
            "Janus expired the session: no request reached it within its session_timeout",
            vec![format!("{origin} at {t_ms} ms: Janus sent timeout; {since}")],
            "send a keepalive (or any request) well inside the server's session_timeout (the info request says it; 60 s by default); a proxy that buffers or drops idle WebSocket frames does the same",
        ));
    }
    if !hangups.is_empty() {
        out.push(finding(
            "JANUS-HANGUP",
            "Janus closed the PeerConnection",
            hangups,
            "\"ICE failed\": Janus' checks to our candidates and ours to its advertised ones found no path (its nat_1_1_mapping, ice_enforce_list or a firewall); \"DTLS alert\": the handshake broke (fingerprint, certificate)",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::diagnose::timeline::Timeline;
    use crate::signal::janus_api;

    fn connection(frames: &[(&str, serde_json::Value)]) -> Connection {
        let mut t = Timeline::new();
        for (i, (dir, f)) in frames.iter().enumerate() {
            t.push(i as u64 * 10, Event::Janus(JanusStep::of(dir, f)));
        }
        Connection::from_timeline("janus", &t)
    }

    #[test]
    fn a_missing_room_is_named_with_the_request_it_answered() {
        let c = connection(&[
            ("sent", janus_api::message("t4", 1, 2, json!({"request": "join", "room": 9999}), None)),
            ("received", json!({"janus": "ack", "transaction": "t4"})),
            (
                "received",
                json!({"janus": "event", "transaction": "t4",
                "plugindata": {"data": {"audiobridge": "event", "error_code": 485, "error": "No such room (9999)"}}}),
            ),
        ]);
        let f = janus(&c);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "JANUS-ERROR");
        assert!(
            f[0].evidence[0].contains("485 No such room (9999) (answering message join)"),
            "{:?}",
            f[0].evidence
        );
        assert!(f[0].fix.contains("room"));
    }

    #[test]
    fn expiry_and_janus_own_hangups_are_named_ours_are_not() {
        let c = connection(&[
            ("sent", janus_api::session_request("keepalive", "t5", Some(1))),
            ("received", json!({"janus": "hangup", "reason": "Janus API"})),
            ("received", json!({"janus": "hangup", "reason": "ICE failed"})),
            ("received", json!({"janus": "timeout", "session_id": 1})),
        ]);
        let codes: Vec<String> = janus(&c).into_iter().map(|f| f.code).collect();
        assert_eq!(codes, ["JANUS-SESSION-TIMEOUT", "JANUS-HANGUP"]);
        let f = janus(&c);
        assert!(f[0].evidence[0].contains("last keepalive went out at 0 ms"));
        assert_eq!(f[1].evidence, ["event 3 at 20 ms: Janus hung up: ICE failed"]);
    }

    #[test]
    fn a_healthy_session_has_no_finding() {
        let c = connection(&[
            ("sent", janus_api::session_request("create", "t1", None)),
            ("received", json!({"janus": "success", "transaction": "t1", "data": {"id": 5}})),
            ("received", json!({"janus": "webrtcup"})),
            ("received", json!({"janus": "hangup", "reason": "Janus API"})),
        ]);
        assert!(janus(&c).is_empty());
    }
}
