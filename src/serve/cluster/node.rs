//! `serve --redis`: this node's membership of a cluster. One room lives on one node; Redis
//! holds who is alive (`node:{id}`, refreshed by [`registry`]) and which node owns which room
//! (`room:{name}`, decided by `placement` under a per-room lock). The pure decisions are in
//! `serve::cluster::model`; this module is the only one that talks to Redis.


use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::serve::cluster::model::{self, NoNode, NodeRecord, NodeState};
use crate::signal::secret::Secret;

pub use crate::serve::cluster::model::Placement;

/// How long one Redis round of a placement or a refresh may take before it counts as down.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET` a key and delete it only if it still holds this value (our id, our lock token).
const COMPARE_AND_DELETE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// The set of node ids that have registered; members whose `node:` key expired are dropped.
pub(super) const NODES_SET: &str = "nodes";

/// How a node joins a cluster (`serve --redis URL --advertise-url URL [--drain]`).
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `redis://…` (it may carry a password: never shown).
    pub redis: Secret,
    /// The `ws://…/ws` URL other nodes redirect clients to.
    pub advertise_url: String,
    /// Take no new rooms; keep the ones it has.
    pub drain: bool,
    /// Place no new room on a node with this many peer connections.
    pub max_peer_connections: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "the cluster registry (Redis at {0}) is unreachable: this node keeps its rooms but can place no new one; try again shortly"
    )]
    Unreachable(String),
    #[error("cannot place the room: {0}")]
    NoNode(#[from] NoNode),
    #[error("another node is placing this room right now; try again")]
    LockBusy,
    #[error("bad --redis URL {url}: {cause}")]
    BadUrl { url: String, cause: String },
}

/// This node's view of the cluster.
pub struct Cluster {
    pub id: String,
    pub(super) opts: ClusterOptions,
    /// The Redis URL as logs and errors show it.
    pub(super) shown: String,
    pub(super) conn: ConnectionManager,
    pub(super) script: redis::Script,
    /// Rooms this node owns: joins to them need no Redis (so they survive its outage).
    owned: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("id", &self.id).field("redis", &self.shown).finish()
    }
}

impl Cluster {
    /// Prepares the connection (made lazily, re-made whenever Redis comes back).
    pub fn new(opts: ClusterOptions) -> Result<Arc<Self>, ClusterError> {
        let shown = model::redact_redis_url(opts.redis.expose());
        let client = redis::Client::open(opts.redis.expose())
            .map_err(|e| ClusterError::BadUrl { url: shown.clone(), cause: format!("{:?}", e.kind()) })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| ClusterError::BadUrl { url: shown.clone(), cause: format!("{:?}", e.kind()) })?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        Ok(Arc::new(Self {
            id,
            opts,
            shown,
            conn,
            script: redis::Script::new(COMPARE_AND_DELETE),
            owned: Mutex::new(HashSet::new()),
        }))
    }

    /// The Redis URL without its password.
    pub fn redis_shown(&self) -> &str {
        &self.shown
    }

    pub fn advertise_url(&self) -> &str {
        &self.opts.advertise_url
    }

    pub(super) fn state(&self) -> NodeState {
        if self.opts.drain { NodeState::Draining } else { NodeState::Serving }
    }

    pub(super) fn owned(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.owned.lock().expect("owned rooms lock")
    }

    fn unreachable(&self, e: &redis::RedisError) -> ClusterError {
        tracing::warn!(redis = %self.shown, cause = ?e.kind(), "Redis request failed");
        ClusterError::Unreachable(self.shown.clone())
    }

    /// Runs one Redis round, bounded by [`REDIS_TIMEOUT`].
    pub(super) async fn bounded<T>(&self, fut: impl Future<Output = redis::RedisResult<T>>) -> Result<T, ClusterError> {
        match tokio::time::timeout(REDIS_TIMEOUT, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.unreachable(&e)),
            Err(_) => {
                tracing::warn!(redis = %self.shown, "Redis did not answer in time");
                Err(ClusterError::Unreachable(self.shown.clone()))
            }
        }
    }

    /// Every live node's record (a malformed one is skipped with a warning).
    pub async fn nodes(&self) -> Result<Vec<NodeRecord>, ClusterError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> =
            self.bounded(redis::cmd("SMEMBERS").arg(NODES_SET).query_async(&mut conn)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|i| model::node_key(i)).collect();
        let values: Vec<Option<String>> =
            self.bounded(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        let mut nodes = Vec::new();
        for (id, value) in ids.iter().zip(values) {
            match value.map(|v| NodeRecord::decode(&v)) {
                Some(Ok(r)) => nodes.push(r),
                Some(Err(e)) => tracing::warn!(node = %id, cause = %e, "skipping a bad node record"),
                None => {
                    // Expired: the node is gone.
                    let _: redis::RedisResult<()> =
                        redis::cmd("SREM").arg(NODES_SET).arg(id).query_async(&mut conn).await;
                }
            }
        }
        Ok(nodes)
    }

    /// The last member left `room`: forget it here and, if the mapping still names this node,
    /// delete it (never another node's).
    pub fn room_emptied(self: &Arc<Self>, room: &str) {
        self.owned().remove(room);
        let me = self.clone();
        let room = room.to_owned();
        tokio::spawn(async move {
            if me.owned().contains(&room) {
                return;
            }
            let mut conn = me.conn.clone();
            let key = model::room_key(&room);
            let _ = me.bounded(me.script.key(&key).arg(&me.id).invoke_async::<i64>(&mut conn)).await;
        });
    }
}
