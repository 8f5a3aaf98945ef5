//! Where a joining client's room lives: the room's existing owner if it is alive, otherwise a
//! new owner chosen by `serve::cluster::model::place` under the room's lock (`SET lock:{room} NX PX`),
//! written to `room:{room}` and counted in the chosen node's recent placements.

use std::collections::HashMap;
use std::time::Duration;

use crate::serve::cluster::model::{self, LOCK_MS, NodeRecord, RECENT_PLACEMENT_MS};
use super::{Cluster, ClusterError, Placement};

/// How long a join waits for another node's lock on the same room.
const LOCK_WAIT: Duration = Duration::from_secs(3);
const LOCK_RETRY: Duration = Duration::from_millis(25);
/// The most one placement may take, every Redis round and the lock wait included.
const PLACE_LIMIT: Duration = Duration::from_secs(5);

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Cluster {
    /// Decides where `room` lives, within `PLACE_LIMIT` in all (well inside a client's wait for
    /// `joined_room`). A room this node already owns needs no Redis.
    pub async fn place(&self, room: &str) -> Result<Placement, ClusterError> {
        tokio::time::timeout(PLACE_LIMIT, self.place_unbounded(room))
            .await
            .unwrap_or_else(|_| Err(ClusterError::Unreachable(self.shown.clone())))
    }

    async fn place_unbounded(&self, room: &str) -> Result<Placement, ClusterError> {
        if self.owned().contains(room) {
            return Ok(Placement::Local);
        }
        let mut conn = self.conn.clone();
        let key = model::room_key(room);
        let owner: Option<String> = self.bounded(redis::cmd("GET").arg(&key).query_async(&mut conn)).await?;
        if owner.as_deref() == Some(self.id.as_str()) {
            return Ok(self.owns(room));
        }
        let nodes = self.nodes().await?;
        if let Some(o) = &owner
            && let Some(n) = nodes.iter().find(|n| &n.id == o)
        {
            return Ok(Placement::Elsewhere { node: n.id.clone(), url: n.url.clone() });
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.lock(room, &token).await?;
        let placed = self.place_locked(room, &nodes).await;
        let lock = model::lock_key(room);
        let _ = self.bounded(self.script.key(&lock).arg(&token).invoke_async::<i64>(&mut conn)).await;
        placed
    }

    fn owns(&self, room: &str) -> Placement {
        self.owned().insert(room.to_owned());
        Placement::Local
    }

    async fn lock(&self, room: &str, token: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let lock = model::lock_key(room);
        let until = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            let got: Option<String> = self
                .bounded(
                    redis::cmd("SET")
                        .arg(&lock)
                        .arg(token)
                        .arg("NX")
                        .arg("PX")
                        .arg(LOCK_MS)
                        .query_async(&mut conn),
                )
                .await?;
            if got.is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= until {
                return Err(ClusterError::LockBusy);
            }
            tokio::time::sleep(LOCK_RETRY).await;
        }
    }

    /// Under the lock: read the mapping again (another node may have placed the room while we
    /// waited), choose, and record the choice.
    async fn place_locked(&self, room: &str, nodes: &[NodeRecord]) -> Result<Placement, ClusterError> {
        let mut conn = self.conn.clone();
        let key = model::room_key(room);
        let owner: Option<String> = self.bounded(redis::cmd("GET").arg(&key).query_async(&mut conn)).await?;
        let now = unix_ms();
        let mut recent = HashMap::new();
        let mut pipe = redis::pipe();
        for n in nodes {
            let placed = model::placed_key(&n.id);
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&placed)
                .arg("-inf")
                .arg(now.saturating_sub(RECENT_PLACEMENT_MS))
                .ignore();
            pipe.cmd("ZCARD").arg(&placed);
        }
        let counts: Vec<usize> = self.bounded(pipe.query_async(&mut conn)).await?;
        for (n, c) in nodes.iter().zip(counts) {
            recent.insert(n.id.clone(), c);
        }
        let (chosen, placement) =
            model::place(owner.as_deref(), nodes, &recent, self.opts.max_peer_connections, &self.id)?;
        if owner.as_deref() != Some(chosen.as_str()) {
            let placed = model::placed_key(&chosen);
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(&key).arg(&chosen).ignore();
            pipe.cmd("ZADD").arg(&placed).arg(now).arg(room).ignore();
            pipe.cmd("PEXPIRE").arg(&placed).arg(2 * RECENT_PLACEMENT_MS).ignore();
            self.bounded(pipe.query_async::<()>(&mut conn)).await?;
            tracing::info!(room, node = %chosen, previous = ?owner, "room placed");
        }
        Ok(match placement {
            Placement::Local => self.owns(room),
            other => other,
        })
    }
}
