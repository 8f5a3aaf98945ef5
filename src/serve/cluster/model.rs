//! The cluster's pure decisions: the Redis key names, the `node:{id}` record (encoded as JSON,
//! decoded with a clear error for anything malformed or oversized), and placement — which node
//! a new room goes to, given every live node's record and the placements it received lately.
//! No Redis, no clock: the rest of `serve/cluster/` does the I/O and passes the time in.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Seconds a `node:{id}` record lives unless refreshed: a crashed node drops out this fast.
pub const NODE_TTL_S: u64 = 6;
/// How often a node refreshes its record.
pub const REFRESH_EVERY_S: u64 = 2;
/// Placements younger than this count towards a node's load (so a burst does not pile up).
pub const RECENT_PLACEMENT_MS: u64 = 20_000;
/// Milliseconds a per-room placement lock is held at most.
pub const LOCK_MS: u64 = 5_000;
/// The longest `node:` record accepted from Redis.
const MAX_RECORD_BYTES: usize = 4096;
/// Longest node id accepted.
const MAX_NODE_ID: usize = 64;

pub fn node_key(id: &str) -> String {
    format!("node:{id}")
}

pub fn room_key(room: &str) -> String {
    format!("room:{room}")
}

pub fn lock_key(room: &str) -> String {
    format!("lock:{room}")
}

/// A sorted set of the rooms placed on node `id`, scored by placement time (unix ms).
pub fn placed_key(id: &str) -> String {
    format!("placed:{id}")
}

/// Whether a node takes new rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Serving,
    /// `--drain`: keeps its rooms, takes no new ones.
    Draining,
}

/// What a node publishes about itself at `node:{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: String,
    /// The public `ws://…/ws` or `wss://…/ws` URL clients are redirected to.
    pub url: String,
    pub version: String,
    pub state: NodeState,
    pub cores: usize,
    /// CPU load of the serve process, in percent of one core (since its last refresh).
    #[serde(default)]
    pub cpu_pct: Option<f64>,
    pub sessions: usize,
    pub peer_connections: usize,
    pub rooms: usize,
    /// Packets forwarded per second since the last refresh.
    #[serde(default)]
    pub forwarded_pps: f64,
    /// Unix seconds of the refresh.
    pub updated_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("node record of {0} bytes is larger than {MAX_RECORD_BYTES}")]
    TooLarge(usize),
    #[error("node record is not valid: {0}")]
    Invalid(String),
    #[error("node record has a bad id or URL")]
    BadField,
}

impl NodeRecord {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a node record always serializes")
    }

    pub fn decode(text: &str) -> Result<Self, RecordError> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge(text.len()));
        }
        let r: Self = serde_json::from_str(text).map_err(|e| {
            let mut why = e.to_string();
            why.truncate(120);
            RecordError::Invalid(why)
        })?;
        let id_ok = !r.id.is_empty()
            && r.id.len() <= MAX_NODE_ID
            && r.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok || crate::signal::protocol::validate_redirect_url(&r.url).is_err() {
            return Err(RecordError::BadField);
        }
        Ok(r)
    }

    /// The load placement compares: live sessions plus rooms placed on it lately.
    fn load(&self, recent: usize) -> usize {
        self.sessions + recent
    }
}

/// The whole cluster's figures: what `/stats?cluster=1` adds up over every live node.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub nodes: usize,
    pub serving: usize,
    pub sessions: usize,
    pub peer_connections: usize,
    pub rooms: usize,
    pub forwarded_pps: f64,
}

pub fn totals(nodes: &[NodeRecord]) -> Totals {
    nodes.iter().fold(Totals::default(), |t, n| Totals {
        nodes: t.nodes + 1,
        serving: t.serving + usize::from(n.state == NodeState::Serving),
        sessions: t.sessions + n.sessions,
        peer_connections: t.peer_connections + n.peer_connections,
        rooms: t.rooms + n.rooms,
        forwarded_pps: t.forwarded_pps + n.forwarded_pps,
    })
}

/// Where a joining client's room lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On this node: join here.
    Local,
    /// On another node: redirect the client to its URL.
    Elsewhere { node: String, url: String },
}

/// Why no node could take a new room.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoNode {
    #[error("no serving node in the cluster (all draining or gone)")]
    NoneServing,
    #[error("every serving node is at its limit of {0} peer connections")]
    AllFull(usize),
}

/// The least-loaded serving node below `max_peer_connections` (load: sessions plus `recent`
/// placements per node id); ties go to `local` (no redirect), then to the lowest id.
pub fn choose<'a>(
    nodes: &'a [NodeRecord],
    recent: &HashMap<String, usize>,
    max_peer_connections: Option<usize>,
    local: &str,
) -> Result<&'a NodeRecord, NoNode> {
    let serving: Vec<&NodeRecord> = nodes.iter().filter(|n| n.state == NodeState::Serving).collect();
    if serving.is_empty() {
        return Err(NoNode::NoneServing);
    }
    let under_limit = |n: &&NodeRecord| max_peer_connections.is_none_or(|max| n.peer_connections < max);
    serving
        .into_iter()
        .filter(under_limit)
        .min_by_key(|n| (n.load(recent.get(&n.id).copied().unwrap_or(0)), n.id != local, n.id.clone()))
        .ok_or(NoNode::AllFull(max_peer_connections.unwrap_or(0)))
}

/// Where a room goes, given its current owner (the `room:` mapping, if any) and the live nodes:
/// an owner that is still alive keeps it (draining or not); otherwise [`choose`] picks one.
pub fn place(
    owner: Option<&str>,
    nodes: &[NodeRecord],
    recent: &HashMap<String, usize>,
    max_peer_connections: Option<usize>,
    local: &str,
) -> Result<(String, Placement), NoNode> {
    let live = owner.and_then(|o| nodes.iter().find(|n| n.id == o));
    let node = match live {
        Some(n) => n,
        None => choose(nodes, recent, max_peer_connections, local)?,
    };
    let placement = if node.id == local {
        Placement::Local
    } else {
        Placement::Elsewhere { node: node.id.clone(), url: node.url.clone() }
    };
    Ok((node.id.clone(), placement))
}

/// A Redis URL with any password (`redis://user:pass@host`) replaced, for logs and errors.
pub fn redact_redis_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "<redis URL>".into() };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let userinfo = if authority.contains('@') { "***@" } else { "" };
    let sep = if rest.contains('/') { "/" } else { "" };
    format!("{scheme}://{userinfo}{host}{sep}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, sessions: usize) -> NodeRecord {
        NodeRecord {
            id: id.into(),
            url: format!("ws://127.0.0.1:1/{id}"),
            version: "0.1.0".into(),
            state: NodeState::Serving,
            cores: 2,
            cpu_pct: None,
            sessions,
            peer_connections: sessions,
            rooms: 0,
            forwarded_pps: 0.0,
            updated_at: 1,
        }
    }

    #[test]
    fn records_round_trip() {
        let n = node("a1", 3);
        assert_eq!(NodeRecord::decode(&n.encode()).unwrap(), n);
    }

    #[test]
    fn hostile_records_are_refused_with_a_reason() {
        let good = node("a", 0).encode();
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(5000));
        let cases = [
            String::new(),
            "null".into(),
            "[]".into(),
            "{".into(),
            big,
            good.replace(r#""sessions":0"#, r#""sessions":-1"#),
            good.replace(r#""state":"serving""#, r#""state":"on fire""#),
            good.replace(r#""id":"a""#, r#""id":"""#),
            good.replace(r#""id":"a""#, r#""id":"a b""#),
            good.replace("ws://127.0.0.1:1/a", "http://evil/"),
            good.replace("ws://127.0.0.1:1/a", "ws://"),
        ];
        for c in cases {
            let e = NodeRecord::decode(&c).unwrap_err();
            assert!(e.to_string().len() < 200, "{e}");
        }
    }

    #[test]
    fn the_least_loaded_serving_node_wins_and_ties_stay_local() {
        let nodes = [node("a", 4), node("b", 1), node("c", 1)];
        let none = HashMap::new();
        assert_eq!(choose(&nodes, &none, None, "a").unwrap().id, "b");
        assert_eq!(choose(&nodes, &none, None, "c").unwrap().id, "c");
        let recent = HashMap::from([("b".to_owned(), 2)]);
        assert_eq!(choose(&nodes, &recent, None, "a").unwrap().id, "c");
    }

    #[test]
    fn a_burst_of_placements_spreads_over_every_node() {
        let nodes = [node("n1", 0), node("n2", 0), node("n3", 0)];
        let mut recent: HashMap<String, usize> = HashMap::new();
        for _ in 0..12 {
            let id = choose(&nodes, &recent, None, "n1").unwrap().id.clone();
            *recent.entry(id).or_default() += 1;
        }
        assert_eq!(recent.values().copied().collect::<Vec<_>>(), vec![4, 4, 4]);
    }

    #[test]
    fn draining_and_full_nodes_take_no_new_rooms() {
        let mut d = node("a", 0);
        d.state = NodeState::Draining;
        let nodes = [d.clone(), node("b", 10)];
        assert_eq!(choose(&nodes, &HashMap::new(), None, "a").unwrap().id, "b");
        assert_eq!(choose(&nodes, &HashMap::new(), Some(10), "a"), Err(NoNode::AllFull(10)));
        assert_eq!(choose(&[d], &HashMap::new(), None, "a"), Err(NoNode::NoneServing));
        assert_eq!(choose(&[], &HashMap::new(), None, "a"), Err(NoNode::NoneServing));
    }

    #[test]
    fn a_live_owner_keeps_its_room_and_a_gone_one_is_replaced() {
        let mut a = node("a", 50);
        a.state = NodeState::Draining;
        let nodes = [a, node("b", 0)];
        let none = HashMap::new();
        assert_eq!(place(Some("a"), &nodes, &none, None, "a").unwrap(), ("a".into(), Placement::Local));
        let (id, p) = place(Some("gone"), &nodes, &none, None, "a").unwrap();
        assert_eq!(id, "b");
        assert_eq!(p, Placement::Elsewhere { node: "b".into(), url: "ws://127.0.0.1:1/b".into() });
    }

    #[test]
    fn totals_add_up_every_node() {
        let mut d = node("b", 2);
        d.state = NodeState::Draining;
        d.rooms = 1;
        d.forwarded_pps = 50.0;
        let t = totals(&[node("a", 3), d]);
        assert_eq!((t.nodes, t.serving, t.sessions, t.peer_connections, t.rooms), (2, 1, 5, 5, 1));
        assert_eq!(t.forwarded_pps, 50.0);
        assert_eq!(totals(&[]), Totals::default());
    }

    #[test]
    fn redis_passwords_never_show() {
        assert_eq!(redact_redis_url("redis://:s3cret@127.0.0.1:6379/0"), "redis://***@127.0.0.1:6379/0");
        assert_eq!(redact_redis_url("redis://u:p@h"), "redis://***@h");
        assert_eq!(redact_redis_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact_redis_url("garbage:pw"), "<redis URL>");
    }
}
