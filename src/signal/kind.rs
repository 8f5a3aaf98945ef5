//! Which signaling a peer speaks (`--signal KIND`): rtc-assist's own JSON over WebSocket (the
//! default), WHIP (RFC 9725) and WHEP (the IETF draft) over HTTP, or Janus' WebSocket API with
//! one of its plugins; which URLs and rooms each takes, and whether the peer sends.

use std::fmt;
use std::str::FromStr;

use std::sync::Arc;

use crate::signal::dialect::Dialect;
use crate::signal::janus_api::Plugin;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SignalKind {
    /// The JSON-over-WebSocket protocol of `serve` and the guide's stack.
    #[default]
    RtcAssist,
    /// WHIP: publish by POSTing an SDP offer to an HTTP endpoint.
    Whip,
    /// WHEP: listen by POSTing a receive-only SDP offer to an HTTP endpoint.
    Whep,
    /// Janus Gateway's WebSocket API with one of its plugins.
    Janus(Plugin),
    /// An app's own JSON over WebSocket, described by a dialect file.
    Dialect(Arc<Dialect>),
}

/// Every kind, in the order `--help` lists them.
pub const ALL: [SignalKind; 6] = [
    SignalKind::RtcAssist,
    SignalKind::Whip,
    SignalKind::Whep,
    SignalKind::Janus(Plugin::EchoTest),
    SignalKind::Janus(Plugin::AudioBridge),
    SignalKind::Janus(Plugin::VideoRoom),
];

impl SignalKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::RtcAssist => "rtc-assist",
            Self::Whip => "whip",
            Self::Whep => "whep",
            Self::Janus(Plugin::EchoTest) => "janus-echotest",
            Self::Janus(Plugin::AudioBridge) => "janus-audiobridge",
            Self::Janus(Plugin::VideoRoom) => "janus-videoroom",
            Self::Dialect(_) => "dialect",
        }
    }

    /// Whether the peer sends audio: a WHEP viewer only listens.
    pub fn sends(&self) -> bool {
        *self != Self::Whep
    }

    /// Whether the protocol has rooms: a WHIP/WHEP URL names its endpoint instead, and
    /// Janus' echotest has none.
    pub fn has_rooms(&self) -> bool {
        match self {
            Self::RtcAssist => true,
            Self::Whip | Self::Whep => false,
            Self::Janus(plugin) => plugin.has_rooms(),
            Self::Dialect(d) => d.has_rooms(),
        }
    }

    /// Whether the peer trickles its candidates: a WHIP/WHEP client puts them all in the offer.
    pub fn trickles(&self) -> bool {
        !matches!(self, Self::Whip | Self::Whep)
    }

    /// Whether the server mixes the room into one stream (Janus' audiobridge): hearing that
    /// stream is hearing everyone.
    pub fn mixes(&self) -> bool {
        *self == Self::Janus(Plugin::AudioBridge)
    }

    /// Whether the server sends the first offer (a dialect that says so): the peer answers.
    pub fn server_offers(&self) -> bool {
        matches!(self, Self::Dialect(d) if d.server_offers)
    }

    /// Checks that `url` is one this kind of signaling can use (ws/wss or http/https).
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let ok = match self {
            Self::RtcAssist | Self::Janus(_) | Self::Dialect(_) => {
                matches!(scheme.as_deref(), Some("ws" | "wss"))
            }
            Self::Whip | Self::Whep => matches!(scheme.as_deref(), Some("http" | "https")),
        };
        if ok {
            return Ok(());
        }
        let wanted = match self {
            Self::Whip | Self::Whep => "http:// or https://",
            Self::RtcAssist | Self::Janus(_) | Self::Dialect(_) => "ws:// or wss://",
        };
        Err(format!("--signal {} needs a {wanted} URL, not {url:?}", self.as_str()))
    }
}

impl FromStr for SignalKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|k| k.as_str()).collect();
            let shown: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
            format!("unknown signaling {shown:?}: one of {}", names.join(", "))
        })
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
        for k in ALL {
            assert_eq!(k.as_str().parse(), Ok(k));
        }
        assert!("janus".parse::<SignalKind>().unwrap_err().contains("janus-audiobridge"));
        assert!(
            SignalKind::Janus(Plugin::AudioBridge).has_rooms()
                && !SignalKind::Janus(Plugin::EchoTest).has_rooms()
        );
        assert!(SignalKind::Janus(Plugin::EchoTest).check_url("ws://127.0.0.1:8188").is_ok());
        assert!(SignalKind::Janus(Plugin::EchoTest).check_url("http://127.0.0.1:8088/janus").is_err());
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
