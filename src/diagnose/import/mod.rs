//! Files written by other tools (or by rtc-assist itself) turned into the one connection model
//! that rules judge (`diagnose::connection`), one importer per format.
//!
//! The format is recognised by content, never by the file name. Parsing only: the rules that
//! read the model are `diagnose::connection_rules`.

pub mod load_json;
pub mod ndjson;
pub mod rtcstats;
mod rtcstats_keys;
pub mod webrtc_internals;

use serde::Serialize;

use crate::diagnose::connection::Connection;
use crate::diagnose::rules::PeerRun;

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
