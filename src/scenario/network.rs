//! A scenario's optional `[network]` table: where the server, the probe, each peer and the TURN
//! server stand in the network lab (`public`, behind a NAT type, behind the UDP-blocking
//! firewall) and which transports TURN offers. A scenario with it runs in the lab (root);
//! without it, on loopback as before.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::lab::plan::{HostSpec, LinkConditions, Placement, Plan};
use crate::scenario::conditions::Conditions;

/// Where signaling listens (a UDP-blocking firewall lets TCP 443 out).
pub const SIGNALING_PORT: u16 = 443;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NetworkTable {
    #[serde(default = "public")]
    server: String,
    #[serde(default = "public")]
    probe: String,
    /// TURN transports of a coturn on a public host: "udp", "tcp"; none: no TURN server.
    #[serde(default)]
    turn: Vec<String>,
    /// Placement by peer name (default public).
    #[serde(default)]
    peers: BTreeMap<String, String>,
}

fn public() -> String {
    "public".into()
}

/// How peers reach the lab's TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnTransport {
    Udp,
    Tcp,
}

/// A validated `[network]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabSetup {
    pub server: Placement,
    pub probe: Placement,
    pub turn: Vec<TurnTransport>,
    pub peers: BTreeMap<String, Placement>,
}

fn placement(field: &str, v: &str) -> Result<Placement, String> {
    v.parse().map_err(|e| format!("network.{field}: {e}"))
}

/// What the lab needs of a scenario peer: its name and the conditions on its link.
#[derive(Debug, Clone, Copy)]
pub struct LabPeer<'a> {
    pub name: &'a str,
    pub network: Option<Conditions>,
}

impl NetworkTable {
    pub(super) fn turn_is_empty(&self) -> bool {
        self.turn.is_empty()
    }

    /// Checks the table against the scenario's peers (name and link conditions each).
    pub(super) fn validate(&self, peers: &[LabPeer<'_>], server_turn: bool) -> Result<LabSetup, String> {
        let server = placement("server", &self.server)?;
        if server_turn && server != Placement::Public {
            return Err(
                "network.server: [server] turn = true needs a public server (use network.turn for a TURN host)".into(),
            );
        }
        let mut turn = Vec::new();
        for t in &self.turn {
            let t = match t.as_str() {
                "udp" => TurnTransport::Udp,
                "tcp" => TurnTransport::Tcp,
                other => {
                    return Err(format!("network.turn: {other:?} is not udp or tcp"));
                }
            };
            if turn.contains(&t) {
                return Err("network.turn: a transport named twice".into());
            }
            turn.push(t);
        }
        let mut by_peer = BTreeMap::new();
        for (name, p) in &self.peers {
            if !peers.iter().any(|q| q.name == name) {
                return Err(format!("network.peers: unknown peer {name:?}"));
            }
            by_peer.insert(name.clone(), placement(&format!("peers.{name}"), p)?);
        }
        let setup = LabSetup { server, probe: placement("probe", &self.probe)?, turn, peers: by_peer };
        Plan::new("rtclab-check-", &setup.hosts(peers)).map_err(|e| format!("network: {e}"))?;
        Ok(setup)
    }
}

impl LabSetup {
    /// The lab's hosts: `server` (its signaling port forwarded when behind a NAT), `turn` when
    /// TURN is asked for, `probe`, and one host per peer named after it, with the peer's link
    /// conditions on its link.
    pub fn hosts(&self, peers: &[LabPeer<'_>]) -> Vec<HostSpec> {
        let mut server = HostSpec::new("server", self.server);
        if self.server != Placement::Public {
            server.forward_tcp = vec![SIGNALING_PORT];
        }
        let mut hosts = vec![server];
        if !self.turn.is_empty() {
            hosts.push(HostSpec::new("turn", Placement::Public));
        }
        hosts.push(HostSpec::new("probe", self.probe));
        for p in peers {
            let mut h = HostSpec::new(p.name, self.peers.get(p.name).copied().unwrap_or(Placement::Public));
            if let Some(c) = p.network {
                h.link = LinkConditions {
                    delay_ms: c.delay.as_millis() as u64,
                    jitter_ms: c.jitter.as_millis() as u64,
                    loss_pct: c.loss_pct,
                };
            }
            hosts.push(h);
        }
        hosts
    }
}
