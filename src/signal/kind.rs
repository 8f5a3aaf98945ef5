//! Which signaling a peer speaks (`--signal KIND`): rtc-assist's own JSON over WebSocket (the
//! default), or WHIP (RFC 9725) and WHEP (the IETF draft) over HTTP; which URLs and rooms each
//! takes, and whether the peer sends.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SignalKind {
    /// The JSON-over-WebSocket protocol of `serve` and the guide's stack.
    #[default]
    RtcAssist,
    /// WHIP: publish by POSTing an SDP offer to an HTTP endpoint.
    Whip,
    /// WHEP: listen by POSTing a receive-only SDP offer to an HTTP endpoint.
    Whep,
}

/// Kinds named by the issue that this build does not speak yet.
const PLANNED: &[&str] = &["janus-echotest", "janus-audiobridge", "janus-videoroom"];

impl SignalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RtcAssist => "rtc-assist",
            Self::Whip => "whip",
            Self::Whep => "whep",
        }
    }

    /// Whether the peer sends audio: a WHEP viewer only listens.
    pub fn sends(self) -> bool {
        self != Self::Whep
    }

    /// Whether the protocol has rooms: a WHIP/WHEP URL names its endpoint instead.
    pub fn has_rooms(self) -> bool {
        self == Self::RtcAssist
    }

    /// Checks that `url` is one this kind of signaling can use (ws/wss or http/https).
    pub fn check_url(self, url: &str) -> Result<(), String> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let ok = match self {
            Self::RtcAssist => matches!(scheme.as_deref(), Some("ws" | "wss")),
            Self::Whip | Self::Whep => matches!(scheme.as_deref(), Some("http" | "https")),
        };
        if ok {
            return Ok(());
        }
        let wanted = if self == Self::RtcAssist { "ws:// or wss://" } else { "http:// or https://" };
        Err(format!("--signal {} needs a {wanted} URL, not {url:?}", self.as_str()))
    }
}

impl FromStr for SignalKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rtc-assist" => Ok(Self::RtcAssist),
            "whip" => Ok(Self::Whip),
            "whep" => Ok(Self::Whep),
            other if PLANNED.contains(&other) => Err(format!(
                "--signal {other} is not built yet (this build speaks rtc-assist, whip and whep)"
            )),
            other => Err(format!("unknown signaling {other:?}: rtc-assist, whip or whep")),
        }
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_hostile_names_are_refused() {
        assert_eq!("whip".parse(), Ok(SignalKind::Whip));
        assert_eq!("rtc-assist".parse(), Ok(SignalKind::RtcAssist));
        for bad in ["", "WHIP", "whip ", "janus", "../x.toml", "\u{0}", &"w".repeat(10_000)] {
            assert!(bad.parse::<SignalKind>().is_err(), "{bad:?}");
        }
        assert!("janus-echotest".parse::<SignalKind>().unwrap_err().contains("not built yet"));
        assert_eq!("whep".parse(), Ok(SignalKind::Whep));
        assert!(!SignalKind::Whep.sends() && SignalKind::Whip.sends());
    }

    #[test]
    fn each_kind_takes_its_own_urls() {
        assert!(SignalKind::RtcAssist.check_url("ws://127.0.0.1:8765/ws").is_ok());
        assert!(SignalKind::RtcAssist.check_url("http://127.0.0.1/whip/r").is_err());
        assert!(SignalKind::Whip.check_url("http://127.0.0.1:8080/whip/r").is_ok());
        assert!(SignalKind::Whip.check_url("HTTPS://h.example/whip").is_ok());
        for bad in ["ws://127.0.0.1/ws", "127.0.0.1/whip", "", "file:///etc/passwd"] {
            assert!(SignalKind::Whip.check_url(bad).is_err(), "{bad}");
        }
        assert!(SignalKind::Whip.has_rooms() == false && SignalKind::RtcAssist.has_rooms());
    }
}
