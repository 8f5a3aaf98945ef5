//! The node's record in Redis: `node:{id}` written with a 6 s expiry every 2 s (so a crashed
//! node drops out without a reaper), the rooms it owns re-asserted (after a Redis restart
//! lost them), and everything of the node removed when it shuts down cleanly.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::serve::cluster::model::{self, NODE_TTL_S, NodeRecord, REFRESH_EVERY_S};
use crate::serve::{Hub, HubStats};
use super::{Cluster, ClusterError, NODES_SET};

/// What the record needs from one refresh to the next: CPU seconds and forwarded packets.
#[derive(Default)]
struct Previous {
    at: Option<tokio::time::Instant>,
    cpu_seconds: f64,
    forwarded: u64,
}

impl Cluster {
    fn record(&self, stats: &HubStats, prev: &mut Previous) -> NodeRecord {
        let now = tokio::time::Instant::now();
        let cpu = stats.process.map(|p| p.cpu_seconds);
        let (cpu_pct, forwarded_pps) = match prev.at {
            Some(at) => {
                let secs = now.duration_since(at).as_secs_f64().max(0.001);
                let round = |x: f64| (x * 10.0).round() / 10.0;
                (
                    cpu.map(|c| round(100.0 * (c - prev.cpu_seconds) / secs)),
                    round(stats.forwarded_packets.saturating_sub(prev.forwarded) as f64 / secs),
                )
            }
            None => (None, 0.0),
        };
        *prev =
            Previous { at: Some(now), cpu_seconds: cpu.unwrap_or(0.0), forwarded: stats.forwarded_packets };
        NodeRecord {
            id: self.id.clone(),
            url: self.opts.advertise_url.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            state: self.state(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_pct,
            sessions: stats.sessions,
            peer_connections: stats.peer_connections,
            rooms: stats.rooms,
            forwarded_pps,
            updated_at: crate::serve::unix_now(),
        }
    }

    /// Writes the record and re-asserts the owned rooms (never over another node's mapping).
    async fn refresh(&self, record: &NodeRecord) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(model::node_key(&self.id))
            .arg(record.encode())
            .arg("EX")
            .arg(NODE_TTL_S)
            .ignore();
        pipe.cmd("SADD").arg(NODES_SET).arg(&self.id).ignore();
        let owned: Vec<String> = self.owned().iter().cloned().collect();
        for room in owned {
            pipe.cmd("SET").arg(model::room_key(&room)).arg(&self.id).arg("NX").ignore();
        }
        self.bounded(pipe.query_async::<()>(&mut conn)).await
    }

    /// Registers now, then every [`REFRESH_EVERY_S`] until `shutdown`; then leaves the cluster.
    /// A failed refresh is logged once per outage, and the node recovers when Redis answers.
    pub async fn run_registry(self: Arc<Self>, hub: Arc<Hub>, shutdown: CancellationToken) {
        let mut prev = Previous::default();
        let mut tick = tokio::time::interval(Duration::from_secs(REFRESH_EVERY_S));
        let mut down = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => break,
            }
            let record = self.record(&hub.stats(), &mut prev);
            match self.refresh(&record).await {
                Ok(()) if down => {
                    tracing::info!(redis = %self.shown, "cluster registry reachable again");
                    down = false;
                }
                Ok(()) => {}
                Err(e) if !down => {
                    tracing::warn!(cause = %e, "cannot refresh this node's record");
                    down = true;
                }
                Err(_) => {}
            }
        }
        self.leave().await;
    }

    /// A clean shutdown: the record and this node's room mappings go at once.
    async fn leave(&self) {
        let mut conn = self.conn.clone();
        let _ = self
            .bounded(redis::cmd("DEL").arg(model::node_key(&self.id)).query_async::<()>(&mut conn))
            .await;
        let _ =
            self.bounded(redis::cmd("SREM").arg(NODES_SET).arg(&self.id).query_async::<()>(&mut conn)).await;
        let owned: Vec<String> = self.owned().drain().collect();
        for room in owned {
            let key = model::room_key(&room);
            let _ = self.bounded(self.script.key(&key).arg(&self.id).invoke_async::<i64>(&mut conn)).await;
        }
    }
}
