//! Files written by other tools (or by rtc-assist itself) turned into one model: per peer
//! connection, the same `Stamped` events `join` records, each with where in the file it came from
//! (a line number or a JSON pointer) so evidence can quote it, plus what only a browser dump
//! holds (added remote candidates with Chrome's verdict, ICE candidate errors, check counts).
//!
//! The format is recognised by content, never by the file name. Parsing only: the rules that
//! read the model are `diagnose::connection_rules`.

pub mod load_json;
pub mod ndjson;
pub mod rtcstats;
mod rtcstats_keys;
pub mod webrtc_internals;

use serde::Serialize;

use crate::diagnose::rules::PeerRun;
use crate::diagnose::timeline::{Direction, Stamped, Timeline};
use crate::signal::sdp::SdpIdentity;

/// Which kind of file an import came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `join --json` (or any stream of our `Stamped` lines).
    RtcAssistNdjson,
    /// `serve --record`: the same lines, the server's side of one session.
    ServeRecord,
    /// `probe --json`: one object holding every probe peer's run.
    ProbeJson,
    /// `load --json`: samples, one line per peer, a summary.
    LoadJson,
    /// The file `chrome://webrtc-internals` downloads.
    WebrtcInternals,
    /// An rtcstats dump (an app's telemetry, or Chromium's own rtcstats download).
    Rtcstats,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RtcAssistNdjson => "rtc-assist NDJSON",
            Self::ServeRecord => "rtc-assist serve record",
            Self::ProbeJson => "rtc-assist probe JSON",
            Self::LoadJson => "rtc-assist load JSON",
            Self::WebrtcInternals => "webrtc-internals dump",
            Self::Rtcstats => "rtcstats dump",
        }
    }
}

/// One event and where the file holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// `line 12` or a JSON pointer such as `/PeerConnections/1-2/updateLog/7`.
    pub origin: String,
    #[serde(flatten)]
    pub stamped: Stamped,
}

/// A remote candidate the page handed to `addIceCandidate`, as a browser dump shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddedCandidate {
    pub t_ms: u64,
    pub origin: String,
    /// The candidate string exactly as logged.
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub ufrag: Option<String>,
    /// Chrome's error text when the call failed.
    pub error: Option<String>,
    /// Whether a remote description had been set when the page added it.
    pub after_remote_description: bool,
}

/// An `icecandidateerror`: a STUN/TURN server answered with an error or not at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateError {
    pub t_ms: u64,
    pub origin: String,
    pub url: String,
    pub code: u16,
    pub text: String,
}

/// A remote description's ICE identity: what a remote candidate must match (RFC 8839 §5.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteDescription {
    pub t_ms: u64,
    pub origin: String,
    pub kind: String,
    pub ufrags: Vec<String>,
    pub mids: Vec<String>,
}

/// A session description set on the connection (`Sent`: its local one) and what names its end,
/// for pairing two files of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Description {
    pub t_ms: u64,
    pub origin: String,
    pub direction: Direction,
    pub kind: String,
    pub identity: SdpIdentity,
    /// The wall clock (ms since the Unix epoch) when the file says so for this event.
    pub unix_ms: Option<u64>,
}

/// A candidate pair's connectivity checks at the last stats sample (RFC 8445 §7.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairChecks {
    pub origin: String,
    pub state: String,
    pub requests_sent: u64,
    pub responses_received: u64,
    pub requests_received: u64,
}

/// One peer connection as far as the file shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Connection {
    /// The peer id (`join`), the probe role, or the dump's `"<rid>-<lid>"` key.
    pub id: String,
    /// The page that opened it (dumps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    pub records: Vec<Record>,
    /// The configured ICE server URLs (never credentials).
    pub ice_servers: Vec<String>,
    /// Where the configuration shows a TURN username that is not time-limited (no
    /// `expiry:` prefix), with its server's URLs; the username itself is not kept.
    pub static_turn: Vec<(String, Vec<String>)>,
    pub added: Vec<AddedCandidate>,
    pub candidate_errors: Vec<CandidateError>,
    pub remote_descriptions: Vec<RemoteDescription>,
    /// Every local and remote description, in order.
    pub descriptions: Vec<Description>,
    /// The wall clock (ms since the Unix epoch) at `t_ms` 0, when the file gives one.
    pub epoch_ms: Option<u64>,
    pub pairs: Vec<PairChecks>,
    /// Stats series that hit the dump's 1,000-point limit (older samples are gone).
    pub truncated_series: usize,
}

impl Connection {
    /// The wall clock of a description: its own, or the file's epoch plus its offset.
    pub fn wall_ms(&self, d: &Description) -> Option<u64> {
        d.unix_ms.or_else(|| self.epoch_ms.map(|e| e.saturating_add(d.t_ms)))
    }

    /// The events alone, as a timeline for the renderers and the summary.
    pub fn timeline(&self) -> Timeline {
        let mut t = Timeline::new();
        for r in &self.records {
            t.push(r.stamped.t_ms, r.stamped.event.clone());
        }
        t
    }
}

/// Everything one file yielded.
#[derive(Debug, Clone)]
pub struct Import {
    pub format: Format,
    pub connections: Vec<Connection>,
    /// The probe's runs, kept whole for the probe's own rules.
    pub probe_runs: Option<Vec<PeerRun>>,
    /// A `load --json` run's peers (its file has no connection timelines).
    pub load: Option<load_json::LoadRun>,
    /// Lines or entries skipped: kinds this version does not know (a newer writer) or broken.
    pub skipped: Vec<String>,
    /// What the writer of this file is, when it says (a dump's `UserAgent`).
    pub writer: Option<String>,
}

/// Why a file could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("not a webrtc-internals dump, rtcstats dump or rtc-assist timeline (it starts with {0:?})")]
    Unknown(String),
    #[error("{format} {origin}: {reason}")]
    Malformed { format: &'static str, origin: String, reason: String },
}

/// The first characters of a file, for an error message.
fn opening(text: &str) -> String {
    text.trim_start().chars().take(24).collect()
}

/// Recognises the format by content and imports it.
pub fn import(text: &str) -> Result<Import, ImportError> {
    let trimmed = text.trim().trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(ImportError::Empty);
    }
    if trimmed.starts_with("RTCStatsDump")
        || trimmed.lines().next().is_some_and(|l| l.contains("\"fileFormat\""))
    {
        return rtcstats::parse(trimmed);
    }
    if trimmed.starts_with('{') {
        // A load line is short; a one-line dump is not parsed twice.
        let first = trimmed
            .lines()
            .next()
            .filter(|l| l.len() < 1 << 16)
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok());
        if first.as_ref().and_then(serde_json::Value::as_object).is_some_and(load_json::recognises) {
            return load_json::parse(trimmed);
        }
        if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(trimmed) {
            if doc.contains_key("PeerConnections") {
                return webrtc_internals::parse(&doc);
            }
            if doc.contains_key("runs") {
                return ndjson::parse_probe(&doc);
            }
        }
        return ndjson::parse(trimmed).map_err(|e| match e {
            ImportError::Unknown(_) => ImportError::Unknown(opening(trimmed)),
            other => other,
        });
    }
    Err(ImportError::Unknown(opening(trimmed)))
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_empty_and_rtcstats_are_clear_errors() {
        assert_eq!(import("").unwrap_err(), ImportError::Empty);
        assert_eq!(import(" \n\u{feff}").unwrap_err(), ImportError::Empty);
        assert!(
            matches!(import("this is not a dump\n").unwrap_err(), ImportError::Unknown(s) if s == "this is not a dump")
        );
        assert!(matches!(
            import("RTCStatsDump\n{\"fileFormat\":2}\n").unwrap_err(),
            ImportError::Malformed { .. }
        ));
        assert!(matches!(import("{\"a\":1}").unwrap_err(), ImportError::Unknown(_)));
        assert!(matches!(import("[1,2,3]").unwrap_err(), ImportError::Unknown(_)));
        assert!(matches!(import("{{{{").unwrap_err(), ImportError::Unknown(_)));
        assert!(import(&"[".repeat(100_000)).is_err());
        assert!(import(&format!("{}{}", "{\"a\":".repeat(10_000), "1")).is_err());
    }
}
