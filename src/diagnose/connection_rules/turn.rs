//! What a file shows about the TURN servers a connection used: their errors with a plain
//! cause, and long-term credentials shipped to the client (F8).

use std::collections::BTreeMap;

use super::{clip, finding};
use crate::diagnose::connection::Connection;
use crate::diagnose::rules::Finding;

/// The plain cause of a STUN/TURN error an `icecandidateerror` reports (RFC 8656 §18, RFC 8489
/// §14.8; 701 is the W3C "no response" code).
pub(super) fn turn_errors(c: &Connection) -> Vec<Finding> {
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
            finding(
                &format!("TURN-{code}"),
                &format!("{url}: {}", crate::diagnose::turn_error::cause(code)),
                ev,
                fix,
            )
        })
        .collect()
}

/// An app's dump shows a TURN username without an expiry: long-term credentials shipped to
/// the client (the username is not repeated here).
pub(super) fn static_credentials(c: &Connection) -> Option<Finding> {
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

#[cfg(test)]
mod tests {
    use crate::diagnose::connection::Connection;
    use crate::diagnose::connection_rules::diagnose_connection;

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
}
