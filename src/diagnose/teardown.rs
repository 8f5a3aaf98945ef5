//! Whether a signaling session was torn down at hang-up, from the timeline alone: a WHIP/WHEP
//! session by a successful DELETE on its Location, a Janus session by the success of its
//! `destroy`. The summary prints it; `WHIP-NO-DELETE` is the finding when it was not.

use crate::diagnose::timeline::{Event, Timeline};

/// One line about the session's end, or `None` when the signaling has no session to tear
/// down (rtc-assist's own protocol: closing the socket is the hang-up).
pub fn teardown(t: &Timeline) -> Option<String> {
    let mut http_session = None::<Option<String>>;
    let mut delete = None::<Option<u16>>;
    let (mut janus_session, mut destroy_tx, mut destroyed, mut expired) = (false, None, false, false);
    for e in t.events() {
        match &e.event {
            Event::Http(s) if s.method == "POST" && matches!(s.status, Some(200 | 201)) => {
                http_session = Some(s.location.clone());
            }
            Event::Http(s) if s.method == "DELETE" => delete = Some(s.status),
            Event::Janus(s) if s.direction == "sent" && s.janus == "destroy" => {
                destroy_tx = s.transaction.clone()
            }
            Event::Janus(s) if s.direction == "received" => match s.janus.as_str() {
                "success" if s.transaction.is_some() && s.transaction == destroy_tx => destroyed = true,
                "success" => janus_session = true,
                "timeout" => expired = true,
                _ => {}
            },
            _ => {}
        }
    }
    if let Some(location) = http_session {
        return Some(match (location, delete) {
            (None, _) => "not torn down: the server gave no Location to DELETE".to_owned(),
            (Some(_), Some(Some(s))) if (200..300).contains(&s) => format!("torn down (DELETE {s})"),
            (Some(_), Some(Some(s))) => format!("not torn down: DELETE answered {s}"),
            (Some(_), Some(None)) => "not torn down: the DELETE got no answer".to_owned(),
            (Some(_), None) => "not torn down: no DELETE was sent".to_owned(),
        });
    }
    janus_session.then(|| {
        match (destroyed, expired) {
            (true, _) => "Janus session destroyed",
            (false, true) => "Janus session expired (timeout) before hang-up",
            (false, false) => "Janus session not destroyed (Janus drops it when the socket closes)",
        }
        .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::signal::http_step::HttpStep;
    use crate::signal::janus_api::{self, JanusStep};

    fn http(method: &str, status: Option<u16>, location: Option<&str>) -> Event {
        Event::Http(HttpStep {
            method: method.into(),
            url: "http://127.0.0.1/whip/r".into(),
            status,
            elapsed_ms: 1,
            content_type: None,
            location: location.map(Into::into),
            etag: None,
            body: None,
            ice_servers: Vec::new(),
        })
    }

    fn timeline(events: Vec<Event>) -> Timeline {
        let mut t = Timeline::new();
        for (i, e) in events.into_iter().enumerate() {
            t.push(i as u64, e);
        }
        t
    }

    #[test]
    fn a_whip_session_is_torn_down_by_a_successful_delete() {
        let created = || http("POST", Some(201), Some("/whip/r/1"));
        let says = |events| teardown(&timeline(events)).unwrap();
        assert_eq!(says(vec![created(), http("DELETE", Some(200), None)]), "torn down (DELETE 200)");
        assert_eq!(
            says(vec![created(), http("DELETE", Some(405), None)]),
            "not torn down: DELETE answered 405"
        );
        assert_eq!(
            says(vec![created(), http("DELETE", None, None)]),
            "not torn down: the DELETE got no answer"
        );
        assert_eq!(says(vec![created()]), "not torn down: no DELETE was sent");
        assert!(says(vec![http("POST", Some(201), None)]).contains("no Location"));
        // Refused outright: no session was made, nothing to tear down.
        assert_eq!(teardown(&timeline(vec![http("POST", Some(500), None)])), None);
    }

    #[test]
    fn a_janus_session_is_torn_down_by_its_destroy() {
        let step = |dir: &str, v: serde_json::Value| Event::Janus(JanusStep::of(dir, &v));
        let created =
            || step("received", json!({"janus": "success", "transaction": "t2", "data": {"id": 1}}));
        let destroy = || step("sent", janus_api::session_request("destroy", "t9", Some(1)));
        let done = step("received", json!({"janus": "success", "transaction": "t9"}));
        assert_eq!(teardown(&timeline(vec![created(), destroy(), done])).unwrap(), "Janus session destroyed");
        assert!(teardown(&timeline(vec![created(), destroy()])).unwrap().contains("not destroyed"));
        let timeout = step("received", json!({"janus": "timeout", "session_id": 1}));
        assert!(teardown(&timeline(vec![created(), timeout])).unwrap().contains("expired"));
        assert_eq!(teardown(&timeline(vec![Event::SignalingConnected { url: "ws://x".into() }])), None);
    }
}
