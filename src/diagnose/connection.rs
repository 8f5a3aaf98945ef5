//! The connection model that diagnosis judges, whatever the input: per peer connection, the same
//! `Stamped` events `join` records, each with where it came from (a line number or a JSON
//! pointer) so evidence can quote it, plus what only a browser dump holds (added remote
//! candidates with the browser's verdict, ICE candidate errors, check counts). The importers
//! (`diagnose::import`) fill it; the rules (`connection_rules`, `correlate`) read it.

use serde::Serialize;

use crate::diagnose::timeline::{Direction, Stamped, Timeline};
use crate::signal::sdp::SdpIdentity;

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
    /// Our own peer's connection (`join`, `probe`), not a browser's file: its selected pair
    /// is one rtc-assist chose, from candidates it paired.
    #[serde(skip)]
    pub own: bool,
}

impl Connection {
    /// A connection of our own, from a live timeline: each record's origin is its event number.
    pub fn from_timeline(id: &str, t: &Timeline) -> Self {
        let records = t
            .events()
            .iter()
            .enumerate()
            .map(|(i, s)| Record { origin: format!("event {}", i + 1), stamped: s.clone() })
            .collect();
        Self { id: id.to_owned(), records, own: true, ..Self::default() }
    }

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
