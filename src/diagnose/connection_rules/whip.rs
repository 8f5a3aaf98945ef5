//! WHIP/WHEP sessions (RFC 9725), from the `http` events of a timeline: an error answer to the
//! offer (`WHIP-STATUS`), a `201 Created` without `Location` (`WHIP-NO-LOCATION`: the client can
//! neither trickle nor hang up), an answer that is not `application/sdp` (`WHIP-CONTENT-TYPE`),
//! a session that was never torn down (`WHIP-NO-DELETE`), a trickle PATCH refused for its
//! `If-Match` (`WHIP-PATCH-PRECONDITION`: 412/428, the ETag handshake), and candidates trickled
//! to a server that refuses PATCH (`WHIP-TRICKLE-REFUSED`; a refused PATCH alone is legal when
//! the offer held the candidates). WHEP sessions use the same codes.

use super::{clip, finding};
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;
use crate::diagnose::timeline::Event;
use crate::signal::http_step::HttpStep;

/// One `http` event with where the file holds it.
struct Exchange<'a> {
    origin: &'a str,
    t_ms: u64,
    method: &'a str,
    url: &'a str,
    status: Option<u16>,
    content_type: Option<&'a str>,
    location: Option<&'a str>,
    body: Option<&'a str>,
}

fn exchanges(c: &Connection) -> Vec<Exchange<'_>> {
    c.records
        .iter()
        .filter_map(|r| match &r.stamped.event {
            Event::Http(HttpStep { method, url, status, content_type, location, body, .. }) => {
                Some(Exchange {
                    origin: &r.origin,
                    t_ms: r.stamped.t_ms,
                    method,
                    url,
                    status: *status,
                    content_type: content_type.as_deref(),
                    location: location.as_deref(),
                    body: body.as_deref(),
                })
            }
            _ => None,
        })
        .collect()
}

fn created(e: &Exchange<'_>) -> bool {
    e.method == "POST" && matches!(e.status, Some(200 | 201))
}

/// Every WHIP/WHEP finding the timeline supports.
pub(super) fn whip(c: &Connection) -> Vec<Finding> {
    let all = exchanges(c);
    let mut out = Vec::new();
    let refused: Vec<String> = all
        .iter()
        .filter(|e| e.method == "POST" && !created(e))
        .map(|e| {
            let answer = e.status.map_or("no answer".to_owned(), |s| format!("answered {s}"));
            let body = e.body.map(|b| format!(": {}", clip(b))).unwrap_or_default();
            format!("{} at {} ms: POST {} {answer}{body}", e.origin, e.t_ms, e.url)
        })
        .collect();
    if !refused.is_empty() {
        out.push(finding(
            "WHIP-STATUS",
            "the WHIP/WHEP endpoint refused the offer",
            refused,
            "read the server's reason above: a wrong endpoint URL (404), a missing or refused --token (401/403), an offer it cannot take (400/406/415), or the server's own failure (5xx)",
        ));
    }
    let Some(post) = all.iter().find(|e| created(e)) else { return out };
    if post.location.is_none() {
        out.push(finding(
            "WHIP-NO-LOCATION",
            "the server created a session but gave no Location for it",
            vec![format!("{} at {} ms: POST {} answered {} without a Location header", post.origin, post.t_ms, post.url, post.status.unwrap_or(201))],
            "send `Location: <session URL>` with the 201 (RFC 9725 §4.2): without it a client can neither trickle candidates nor DELETE the session, which then lingers until it times out",
        ));
    }
    let sdp = post.content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/sdp"))
    });
    if !sdp {
        out.push(finding(
            "WHIP-CONTENT-TYPE",
            "the answer was not sent as application/sdp",
            vec![format!(
                "{} at {} ms: POST {} answered with Content-Type {}",
                post.origin,
                post.t_ms,
                post.url,
                post.content_type.unwrap_or("(none)")
            )],
            "answer with `Content-Type: application/sdp` (RFC 9725 §4.2); strict clients refuse anything else",
        ));
    }
    let patches: Vec<&Exchange<'_>> = all.iter().filter(|e| e.method == "PATCH").collect();
    let line = |e: &Exchange<'_>| {
        let answer = e.status.map_or("no answer".to_owned(), |s| format!("answered {s}"));
        let body = e.body.map(|b| format!(": {}", clip(b))).unwrap_or_default();
        format!("{} at {} ms: PATCH {} {answer}{body}", e.origin, e.t_ms, e.url)
    };
    let precondition: Vec<String> =
        patches.iter().filter(|e| matches!(e.status, Some(412 | 428))).map(|e| line(e)).collect();
    if !precondition.is_empty() {
        out.push(finding(
            "WHIP-PATCH-PRECONDITION",
            "trickled candidates were refused over the ETag/If-Match handshake",
            precondition,
            "428: the server requires `If-Match: <ETag of the 201>` and the client sent none; 412: the ETag did not match (the server changed it, or the client sent another session's). Clients must echo the ETag (RFC 9725 §4.3.1); servers that enforce it break clients that skip it",
        ));
    }
    let trickled = c.records.iter().any(|r| {
        matches!(&r.stamped.event, Event::LocalCandidate { via: crate::diagnose::timeline::Via::Trickle, .. })
    });
    let refused: Vec<String> = patches
        .iter()
        .filter(|e| e.status.is_none_or(|s| !(200..300).contains(&s) && !matches!(s, 412 | 428)))
        .map(|e| line(e))
        .collect();
    if trickled && !refused.is_empty() {
        out.push(finding(
            "WHIP-TRICKLE-REFUSED",
            "our candidates were trickled by PATCH and the server refused them",
            refused,
            "a server without PATCH (405/501) is legal only for clients that put every candidate in the offer: gather first (rtc-assist does unless --trickle), or accept RFC 8840 fragments on the session URL",
        ));
    }
    if post.location.is_some() {
        let deleted =
            all.iter().any(|e| e.method == "DELETE" && e.status.is_some_and(|s| (200..300).contains(&s)));
        if !deleted {
            let tried: Vec<String> = all
                .iter()
                .filter(|e| e.method == "DELETE")
                .map(|e| {
                    let answer = e.status.map_or("no answer".to_owned(), |s| format!("answered {s}"));
                    format!("{} at {} ms: DELETE {} {answer}", e.origin, e.t_ms, e.url)
                })
                .collect();
            let evidence = if tried.is_empty() {
                vec![format!(
                    "{} at {} ms: session created at {}; no DELETE followed",
                    post.origin,
                    post.t_ms,
                    post.location.unwrap_or_default()
                )]
            } else {
                tried
            };
            out.push(finding(
                "WHIP-NO-DELETE",
                "the WHIP/WHEP session was not torn down",
                evidence,
                "accept DELETE on the session URL (RFC 9725 §4.2) and free the session; until then it holds the server's resources",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::timeline::Timeline;

    fn http(method: &str, status: Option<u16>, content_type: Option<&str>, location: Option<&str>) -> Event {
        Event::Http(HttpStep {
            method: method.into(),
            url: "http://127.0.0.1:8080/whip/r".into(),
            status,
            elapsed_ms: 5,
            content_type: content_type.map(Into::into),
            location: location.map(Into::into),
            etag: None,
            body: status.filter(|s| *s >= 400).map(|_| "internal error (fault)".into()),
            ice_servers: Vec::new(),
        })
    }

    fn conn(events: Vec<Event>) -> Connection {
        let mut t = Timeline::new();
        for (i, event) in events.into_iter().enumerate() {
            t.push(i as u64 * 10, event);
        }
        Connection::from_timeline("p", &t)
    }

    fn codes(events: Vec<Event>) -> Vec<String> {
        whip(&conn(events)).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_healthy_session_is_created_and_deleted() {
        let ok = vec![
            http("POST", Some(201), Some("application/sdp"), Some("/whip/r/1")),
            http("DELETE", Some(200), None, None),
        ];
        assert!(codes(ok).is_empty());
        assert!(codes(vec![]).is_empty(), "no WHIP at all, no finding");
    }

    #[test]
    fn each_breaker_is_named_with_its_evidence() {
        let refused = whip(&conn(vec![http("POST", Some(500), Some("text/plain"), None)]));
        assert_eq!(refused[0].code, "WHIP-STATUS");
        assert!(refused[0].evidence[0].contains("answered 500: internal error (fault)"), "{:?}", refused[0]);
        assert_eq!(codes(vec![http("POST", None, None, None)]), ["WHIP-STATUS"]);
        assert_eq!(codes(vec![http("POST", Some(201), Some("application/sdp"), None)]), ["WHIP-NO-LOCATION"]);
        assert_eq!(
            codes(vec![
                http("POST", Some(201), Some("text/plain"), Some("/s")),
                http("DELETE", Some(200), None, None)
            ]),
            ["WHIP-CONTENT-TYPE"]
        );
        assert_eq!(
            codes(vec![
                http("POST", Some(201), Some("application/sdp; charset=utf-8"), Some("/s")),
                http("DELETE", Some(405), None, None)
            ]),
            ["WHIP-NO-DELETE"]
        );
        assert_eq!(
            codes(vec![http("POST", Some(201), Some("application/sdp"), Some("/s"))]),
            ["WHIP-NO-DELETE"]
        );
    }
}
