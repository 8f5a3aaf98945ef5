//! Plain verdicts for TURN failures: what a STUN error code or a socket error means to
//! someone whose call has no relay candidate (RFC 8656 §6, §18; RFC 8489 §14.8).

use std::io;

use serde::Serialize;

use crate::diagnose::turn_error::cause;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub ok: bool,
    /// Stable machine-readable code: `ok`, `wrong-credentials`, `timeout`, …
    pub code: &'static str,
    pub message: String,
}

pub fn ok(message: impl Into<String>) -> Verdict {
    Verdict { ok: true, code: "ok", message: message.into() }
}

fn bad(code: &'static str, message: impl Into<String>) -> Verdict {
    Verdict { ok: false, code, message: message.into() }
}

/// An error response to an authenticated request. `expiry` is the REST username's expiry
/// (Unix seconds) if it has one.
pub fn from_error_code(code: u16, reason: &str, expiry: Option<u64>, now_unix: u64) -> Verdict {
    match code {
        401 if expiry.is_some_and(|e| e < now_unix) => {
            bad("expired-credentials", "401 after authentication: the time-limited username has expired")
        }
        401 => bad("wrong-credentials", "401 after authentication: wrong username or password (or secret)"),
        // Some servers (the `turn` crate's) answer a failed authentication with 400.
        400 if expiry.is_some_and(|e| e < now_unix) => {
            bad("expired-credentials", "400 after authentication: the time-limited username has expired")
        }
        400 => bad("wrong-credentials", "400 after authentication: the server rejected the credentials"),
        403 => bad("forbidden", format!("403 {} ({reason})", cause(403))),
        c => match code_name(c) {
            Some(name) => bad(name, format!("{c} {}", cause(c))),
            None => bad("error-response", format!("error response {c} {reason}")),
        },
    }
}

/// The verdict code of a TURN error that needs no more context than its number.
fn code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        437 => "allocation-mismatch",
        438 => "stale-nonce",
        441 => "wrong-credentials",
        442 => "unsupported-transport",
        486 => "quota",
        508 => "insufficient-capacity",
        _ => return None,
    })
}

/// A socket-level failure while connecting or waiting.
pub fn from_io(step: &str, e: &io::Error) -> Verdict {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            bad("refused", format!("{step}: connection refused: nothing listens on that port"))
        }
        io::ErrorKind::TimedOut => timeout(step),
        _ => bad("error", format!("{step}: {e}")),
    }
}

pub fn timeout(step: &str) -> Verdict {
    bad(
        "timeout",
        format!("{step}: no answer in time: the port or the protocol is blocked, or the server is down"),
    )
}

pub fn dns(host: &str, e: &str) -> Verdict {
    bad("dns", format!("cannot resolve {host}: {e}"))
}

pub fn tls(cause: &str) -> Verdict {
    bad("tls", format!("TLS failed: {cause}"))
}

pub fn relay_blocked() -> Verdict {
    bad(
        "relay-blocked",
        "allocation works but no data came back through the relay (peer permission or relay filtering)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_plain_verdicts() {
        assert_eq!(from_error_code(401, "", Some(10), 100).code, "expired-credentials");
        assert_eq!(from_error_code(401, "", Some(1000), 100).code, "wrong-credentials");
        assert_eq!(from_error_code(401, "", None, 100).code, "wrong-credentials");
        assert_eq!(from_error_code(400, "", None, 100).code, "wrong-credentials");
        assert_eq!(from_error_code(400, "", Some(10), 100).code, "expired-credentials");
        for (c, want) in [
            (403, "forbidden"),
            (437, "allocation-mismatch"),
            (441, "wrong-credentials"),
            (442, "unsupported-transport"),
            (486, "quota"),
            (508, "insufficient-capacity"),
            (438, "stale-nonce"),
            (500, "error-response"),
        ] {
            assert_eq!(from_error_code(c, "x", None, 0).code, want, "{c}");
        }
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "x");
        assert_eq!(from_io("connect", &refused).code, "refused");
    }
}
