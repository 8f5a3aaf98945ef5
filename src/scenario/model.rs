//! The scenario file format and its validation. Every outside value is checked here: unknown
//! keys, duplicate or unknown peer names, out-of-range times, unknown fault codes and sources
//! are errors that name the offending field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::network::{LabPeer, LabSetup, NetworkTable};
use crate::media::source::{Source, parse_source};
use crate::scenario::conditions::Conditions;
use crate::serve::faults::{Faults, parse_faults};
use crate::signal::candidate::CandidateType;

/// `selected_pair = "LOCAL/REMOTE"`: the candidate types of the pair a peer's ICE selected, its
/// own candidate first, the far side's second (what the peer's timeline shows of both sides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PairTypes {
    pub local: CandidateType,
    pub remote: CandidateType,
}

impl TryFrom<String> for PairTypes {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("selected_pair {s:?}: LOCAL/REMOTE, each one of host, srflx, prflx, relay");
        let (local, remote) = s.split_once('/').ok_or_else(bad)?;
        let typ = |t: &str| CandidateType::from_name(t).ok_or_else(bad);
        Ok(Self { local: typ(local)?, remote: typ(remote)? })
    }
}

impl std::fmt::Display for PairTypes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.local, self.remote)
    }
}

/// Largest scenario file read.
const MAX_FILE_BYTES: usize = 64 * 1024;
const MAX_PEERS: usize = 8;
const MAX_SECONDS: f64 = 60.0;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_duration")]
    duration_s: f64,
    #[serde(default)]
    server: ServerSpec,
    #[serde(default, rename = "peer")]
    peers: Vec<PeerSpec>,
    #[serde(default)]
    expect: ExpectSpec,
    network: Option<NetworkTable>,
}

fn default_duration() -> f64 {
    5.0
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSpec {
    #[serde(default)]
    faults: Vec<String>,
    /// Run the embedded TURN server (relaying to loopback allowed: everything is local).
    #[serde(default)]
    turn: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerSpec {
    name: String,
    #[serde(default = "default_source")]
    source: String,
    #[serde(default)]
    join_delay_ms: u64,
    /// Join only once this earlier peer is connected (then `join_delay_ms` more).
    join_after: Option<String>,
    duration_s: Option<f64>,
    #[serde(default)]
    offer: OfferStyle,
    #[serde(default)]
    withhold_checks: bool,
    #[serde(default)]
    relay_only: bool,
    network: Option<NetworkSpec>,
}

/// Conditions on the peer's path to the TURN server (media only; see `scenario::conditions`), or in
/// the lab on the peer's link (`tc netem`, every packet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkSpec {
    #[serde(default)]
    loss_pct: f64,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    jitter_ms: u64,
}

impl NetworkSpec {
    fn conditions(&self, peer: &str) -> Result<Conditions, ScenarioError> {
        if !(self.loss_pct.is_finite() && (0.0..=50.0).contains(&self.loss_pct)) {
            return Err(bad(format!("peer {peer}: network.loss_pct = {}: must be 0-50", self.loss_pct)));
        }
        if self.delay_ms > 1_000 || self.jitter_ms > 500 {
            return Err(bad(format!("peer {peer}: network delay_ms at most 1000, jitter_ms at most 500")));
        }
        Ok(Conditions {
            loss_pct: self.loss_pct,
            delay: Duration::from_millis(self.delay_ms),
            jitter: Duration::from_millis(self.jitter_ms),
        })
    }
}

fn default_source() -> String {
    "tone:440".into()
}

/// How a scenario peer offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfferStyle {
    /// Like a browser: offer at once, candidates trickled.
    #[default]
    Trickle,
    /// Every candidate inside the offer, none trickled.
    FullSdp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSpec {
    /// Exact set of codes `probe` must report against this server (empty: healthy).
    probe: Option<Vec<String>>,
    /// Upper bound on the whole scenario's wall time.
    max_wall_s: Option<f64>,
    #[serde(default)]
    peers: BTreeMap<String, PeerExpectation>,
}

/// What one peer must observe.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerExpectation {
    /// Reached `connected` (true) or never did (false).
    pub connected: Option<bool>,
    /// Peers whose tone this peer must decode (±2 %).
    #[serde(default)]
    pub hears: Vec<String>,
    /// Peers whose tone this peer must not receive.
    #[serde(default)]
    pub not_hears: Vec<String>,
    /// Offer sent → `connected` at most this long.
    pub max_connect_ms: Option<u64>,
    /// Whether the summary calls the audio this peer hears degraded (loss or jitter).
    pub degraded: Option<bool>,
    /// The candidate types of the pair ICE selected, `"LOCAL/REMOTE"` (e.g. `"relay/relay"`).
    pub selected_pair: Option<PairTypes>,
}

/// A validated peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerPlan {
    pub name: String,
    pub source: Source,
    pub join_delay: Duration,
    /// The earlier peer that must be connected before this one joins (its index in `peers`).
    pub join_after: Option<usize>,
    pub duration: Duration,
    pub offer: OfferStyle,
    pub withhold_checks: bool,
    pub relay_only: bool,
    /// Conditions on the path to the TURN server (in the lab: on the peer's link).
    pub network: Option<Conditions>,
}

/// The lab's view of the peers: each one's name and link conditions.
pub fn lab_peers(peers: &[PeerPlan]) -> Vec<LabPeer<'_>> {
    peers.iter().map(|p| LabPeer { name: &p.name, network: p.network }).collect()
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub faults: Faults,
    pub turn: bool,
    pub peers: Vec<PeerPlan>,
    pub expect_probe: Option<Vec<String>>,
    pub max_wall: Option<Duration>,
    pub expect_peers: BTreeMap<String, PeerExpectation>,
    /// Run in the network lab, placed as this says.
    pub network: Option<LabSetup>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ScenarioError(String);

impl ScenarioError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

fn bad(msg: impl Into<String>) -> ScenarioError {
    ScenarioError(msg.into())
}

fn seconds(field: &str, v: f64) -> Result<Duration, ScenarioError> {
    if !(v.is_finite() && v > 0.0 && v <= MAX_SECONDS) {
        return Err(bad(format!("{field} = {v}: must be between 0 and {MAX_SECONDS} seconds")));
    }
    Ok(Duration::from_secs_f64(v))
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Scenario {
    /// Parses and validates a scenario file's text.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(bad(format!("file larger than {MAX_FILE_BYTES} bytes")));
        }
        let f: File = toml::from_str(text).map_err(|e| bad(e.message().to_owned()))?;
        if !valid_name(&f.name) {
            return Err(bad(format!("name {:?}: 1-64 letters, digits, '-' or '_'", f.name)));
        }
        let duration = seconds("duration_s", f.duration_s)?;
        let faults =
            parse_faults(&f.server.faults.join(",")).map_err(|e| bad(format!("server.faults: {e}")))?;
        if f.peers.len() > MAX_PEERS {
            return Err(bad(format!("at most {MAX_PEERS} peers")));
        }
        if f.peers.is_empty() && f.expect.probe.is_none() {
            return Err(bad("nothing to run: no [[peer]] and no expect.probe"));
        }
        let mut peers = Vec::new();
        for p in f.peers {
            if !valid_name(&p.name) {
                return Err(bad(format!("peer name {:?}: 1-64 letters, digits, '-' or '_'", p.name)));
            }
            if peers.iter().any(|q: &PeerPlan| q.name == p.name) {
                return Err(bad(format!("peer {:?} defined twice", p.name)));
            }
            if p.join_delay_ms > 30_000 {
                return Err(bad(format!("peer {}: join_delay_ms above 30000", p.name)));
            }
            let join_after = match &p.join_after {
                None => None,
                Some(_) if f.network.is_some() => {
                    return Err(bad(format!("peer {}: join_after is not available in lab scenarios", p.name)));
                }
                Some(other) => Some(peers.iter().position(|q: &PeerPlan| &q.name == other).ok_or_else(|| {
                    bad(format!("peer {}: join_after {other:?} names no earlier peer", p.name))
                })?),
            };
            let source = parse_source(&p.source).map_err(|e| bad(format!("peer {}: {e}", p.name)))?;
            if matches!(source, Source::Mic(_)) {
                // A scenario must give the same result on any machine, with or without a sound card.
                return Err(bad(format!(
                    "peer {}: scenarios send tone[:HZ] or file:PATH.wav, not mic",
                    p.name
                )));
            }
            let duration = match p.duration_s {
                Some(d) => seconds(&format!("peer {} duration_s", p.name), d)?,
                None => duration,
            };
            let lab_turn = f.network.as_ref().is_some_and(|n| !n.turn_is_empty());
            if p.relay_only && !f.server.turn && !lab_turn {
                return Err(bad(format!(
                    "peer {}: relay_only needs [server] turn = true (or network.turn)",
                    p.name
                )));
            }
            let network = match &p.network {
                // The conditions sit on the path to the TURN server, so the peer must use it
                // (in the lab they sit on the peer's own link).
                Some(_) if !p.relay_only && f.network.is_none() => {
                    return Err(bad(format!("peer {}: network conditions need relay_only = true", p.name)));
                }
                Some(n) => Some(n.conditions(&p.name)?),
                None => None,
            };
            peers.push(PeerPlan {
                name: p.name,
                source,
                join_delay: Duration::from_millis(p.join_delay_ms),
                join_after,
                duration,
                offer: p.offer,
                withhold_checks: p.withhold_checks,
                relay_only: p.relay_only,
                network,
            });
        }
        for (name, e) in &f.expect.peers {
            for other in std::iter::once(name).chain(&e.hears).chain(&e.not_hears) {
                if !peers.iter().any(|p| &p.name == other) {
                    return Err(bad(format!("expect.peers.{name}: unknown peer {other:?}")));
                }
            }
        }
        if let Some(codes) = &f.expect.probe {
            for c in codes {
                let known = c.starts_with('F') && c.len() <= 12 || c == "ICE-FAILED";
                if !known {
                    return Err(bad(format!("expect.probe: {c:?} is not a finding code")));
                }
            }
        }
        let max_wall = f.expect.max_wall_s.map(|s| seconds("expect.max_wall_s", s)).transpose()?;
        let network = f
            .network
            .as_ref()
            .map(|n| n.validate(&lab_peers(&peers), f.server.turn).map_err(ScenarioError))
            .transpose()?;
        Ok(Self {
            name: f.name,
            description: f.description,
            faults,
            turn: f.server.turn,
            peers,
            expect_probe: f.expect.probe,
            max_wall,
            expect_peers: f.expect.peers,
            network,
        })
    }

    /// The tone frequency of peer `name`, if it sends a tone.
    pub fn tone_of(&self, name: &str) -> Option<f64> {
        self.peers.iter().find(|p| p.name == name).and_then(|p| match p.source {
            Source::Tone { hz } => Some(hz),
            Source::File(_) | Source::Mic(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "two"
duration_s = 4
[server]
faults = ["F7"]
[[peer]]
name = "a"
source = "tone:440"
[[peer]]
name = "b"
source = "tone:660"
join_delay_ms = 500
join_after = "a"
offer = "full-sdp"
[expect]
probe = ["F7"]
[expect.peers.a]
connected = true
not_hears = ["b"]
"#;

    #[test]
    fn a_good_file_loads() {
        let s = Scenario::parse(GOOD).unwrap();
        assert_eq!(s.peers.len(), 2);
        assert_eq!(s.peers[1].offer, OfferStyle::FullSdp);
        assert_eq!(s.peers[1].join_delay, Duration::from_millis(500));
        assert_eq!((s.peers[0].join_after, s.peers[1].join_after), (None, Some(0)));
        assert_eq!(s.tone_of("b"), Some(660.0));
        assert_eq!(s.expect_probe, Some(vec!["F7".to_string()]));
    }

    #[test]
    fn hostile_files_are_refused_with_the_field_named() {
        let cases: &[(&str, &str)] = &[
            ("", "missing field `name`"),
            ("name = 3", "invalid type"),
            ("name = \"x\"\nbogus = 1", "unknown field"),
            ("name = \"a b\"\n[[peer]]\nname=\"a\"", "name \"a b\""),
            ("name = \"x\"", "nothing to run"),
            ("name = \"x\"\nduration_s = -1\n[[peer]]\nname=\"a\"", "duration_s"),
            ("name = \"x\"\nduration_s = 1e308\n[[peer]]\nname=\"a\"", "duration_s"),
            ("name = \"x\"\n[server]\nfaults=[\"F9\"]\n[[peer]]\nname=\"a\"", "server.faults"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\n[[peer]]\nname=\"a\"", "defined twice"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\nsource=\"mic\"", "peer a"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\njoin_delay_ms=99999999", "join_delay_ms"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\njoin_delay_ms=-1", "invalid value"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\njoin_after=\"a\"", "names no earlier peer"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\njoin_after=\"zz\"", "names no earlier peer"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\njoin_after=5", "invalid type"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\noffer=\"carrier-pigeon\"", "unknown variant"),
            (
                "name = \"x\"\n[[peer]]\nname=\"a\"\n[expect.peers.a]\nhears=[\"ghost\"]",
                "unknown peer \"ghost\"",
            ),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\n[expect]\nprobe=[\"rm -rf\"]", "not a finding code"),
            ("name = \"x\"\n[[peer]\nname=\"a\"", "unclosed"),
            ("name = \"x\"\n[[peer]]\nname=\"a\"\n[peer.network]\nloss_pct=5", "need relay_only"),
            (
                "name = \"x\"\n[server]\nturn=true\n[[peer]]\nname=\"a\"\nrelay_only=true\n[peer.network]\nloss_pct=90",
                "must be 0-50",
            ),
            (
                "name = \"x\"\n[server]\nturn=true\n[[peer]]\nname=\"a\"\nrelay_only=true\n[peer.network]\nloss_pct=nan",
                "must be 0-50",
            ),
            (
                "name = \"x\"\n[server]\nturn=true\n[[peer]]\nname=\"a\"\nrelay_only=true\n[peer.network]\ndelay_ms=99999",
                "at most 1000",
            ),
            (
                "name = \"x\"\n[server]\nturn=true\n[[peer]]\nname=\"a\"\nrelay_only=true\n[peer.network]\nbandwidth=1",
                "unknown field",
            ),
        ];
        for (text, want) in cases {
            let e = Scenario::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let many = format!(
            "name=\"x\"\n{}",
            (0..9).map(|i| format!("[[peer]]\nname=\"p{i}\"\n")).collect::<String>()
        );
        assert!(Scenario::parse(&many).unwrap_err().to_string().contains("at most"));
        assert!(Scenario::parse(&"#".repeat(70_000)).is_err());
    }

    #[test]
    fn a_network_table_places_every_host_of_the_lab() {
        let text = "name = \"x\"\n[network]\nserver = \"symmetric\"\nprobe = \"udp-blocked\"\n\
                    turn = [\"tcp\", \"udp\"]\n[network.peers]\na = \"full-cone\"\n[[peer]]\nname = \"a\"\n\
                    relay_only = true\n[peer.network]\nloss_pct = 5\n[[peer]]\nname = \"b\"\n";
        let s = Scenario::parse(text).unwrap();
        let hosts = s.network.as_ref().unwrap().hosts(&lab_peers(&s.peers));
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["server", "turn", "probe", "a", "b"]);
        assert_eq!(hosts[0].forward_tcp, [super::super::network::SIGNALING_PORT]);
        assert_eq!(hosts[3].placement.to_string(), "full-cone");
        assert_eq!(hosts[3].link.loss_pct, 5.0);
        assert_eq!(hosts[4].placement.to_string(), "public");
        // Without [network] nothing changes: loopback as before.
        assert_eq!(Scenario::parse(GOOD).unwrap().network, None);
    }

    #[test]
    fn hostile_network_tables_are_refused_with_the_key_named() {
        let peer = "[[peer]]\nname = \"a\"\n";
        let cases: &[(&str, &str)] = &[
            ("[network]\nserver = \"moon\"\n", "network.server: \"moon\" is not a placement"),
            ("[network]\nprobe = 3\n", "invalid type"),
            ("[network]\nturn = [\"sctp\"]\n", "network.turn: \"sctp\" is not udp or tcp"),
            ("[network]\nturn = [\"udp\", \"udp\"]\n", "named twice"),
            ("[network]\nturn = \"udp\"\n", "invalid type"),
            ("[network.peers]\nghost = \"public\"\n", "network.peers: unknown peer \"ghost\""),
            ("[network.peers]\na = \"\"\n", "network.peers.a"),
            ("[network]\nfirewall = true\n", "unknown field"),
            ("[server]\nturn = true\n[network]\nserver = \"symmetric\"\n", "needs a public server"),
        ];
        for (table, want) in cases {
            let text = format!("name = \"x\"\n{table}{peer}");
            let e = Scenario::parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        // Peers become lab hosts: their names must suit a namespace name and not clash with
        // the lab's own hosts.
        for name in ["server", "a_b", "p23456789012345678"] {
            let text = format!("name = \"x\"\n[network]\n[[peer]]\nname = \"{name}\"\n");
            let e = Scenario::parse(&text).unwrap_err().to_string();
            assert!(e.starts_with("network: host"), "{name}: {e}");
        }
        let relay = format!("name = \"x\"\n[network]\n{peer}relay_only = true\n");
        assert!(Scenario::parse(&relay).unwrap_err().to_string().contains("network.turn"));
    }
}
