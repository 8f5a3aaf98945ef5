//! A load run summed up: connect-phase tails, failures by phase, loss and jitter across peers,
//! the server's forwarding rate and CPU per packet from its `/stats` samples, whether clients
//! received what the server says it forwarded, and whether the generator itself was the limit.
//! Pure: the driver hands in per-peer results and timed samples.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::load::pass_expr::{self, Threshold, Verdict};
use crate::load::phases::{Failure, Phase, Phases};
use crate::load::quantiles::{Spread, Tail};
use crate::serve::process_sample::ProcessSample;

/// One peer at the end of the run.
#[derive(Debug, Clone, Default)]
pub struct PeerResult {
    pub phases: Phases,
    pub failure: Option<Failure>,
    /// Over the measured window, summed over its received streams.
    pub expected: u64,
    pub lost: u64,
    pub received: u64,
    /// The worst stream's RFC 3550 jitter.
    pub jitter_ms: Option<f64>,
    pub sent: u64,
}

impl PeerResult {
    pub fn loss_pct(&self) -> Option<f64> {
        (self.expected > 0).then(|| 100.0 * self.lost as f64 / self.expected as f64)
    }
}

/// The counters read from a server's `/stats` (ours; any field may be missing elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct ServerSample {
    #[serde(default)]
    pub forwarded_packets: Option<u64>,
    #[serde(default)]
    pub queue_full_packets: Option<u64>,
    #[serde(default)]
    pub peer_connections: Option<u64>,
    #[serde(default)]
    pub process: Option<ProcessSample>,
}

/// The server over the measured window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ServerWindow {
    pub forwarded_pps: f64,
    /// Forwarded packets per second per core the server kept busy.
    pub forwarded_pps_per_core: Option<f64>,
    pub cpu_pct: Option<f64>,
    /// Server CPU per forwarded packet.
    pub us_per_packet: Option<f64>,
    pub rss_bytes: Option<u64>,
    pub rss_bytes_per_peer_connection: Option<u64>,
    pub threads: Option<u64>,
    pub forwarded: u64,
    pub queue_drops: u64,
}

fn round(x: f64, decimals: i32) -> f64 {
    let s = 10f64.powi(decimals);
    (x * s).round() / s
}

/// The server's rates between two samples taken `t0_ms` and `t1_ms`.
pub fn server_window(first: (u64, ServerSample), last: (u64, ServerSample)) -> Option<ServerWindow> {
    let ((t0, a), (t1, b)) = (first, last);
    let secs = t1.checked_sub(t0).filter(|&d| d > 0)? as f64 / 1000.0;
    let forwarded = b.forwarded_packets?.saturating_sub(a.forwarded_packets?);
    let forwarded_pps = forwarded as f64 / secs;
    let cpu = match (a.process, b.process) {
        (Some(p), Some(q)) => Some((q.cpu_seconds - p.cpu_seconds).max(0.0)),
        _ => None,
    };
    let cpu_pct = cpu.map(|c| 100.0 * c / secs);
    let busy = cpu_pct.map(|p| p / 100.0).filter(|&cores| cores > 0.0);
    let rss = b.process.map(|p| p.rss_bytes);
    Some(ServerWindow {
        forwarded_pps: round(forwarded_pps, 1),
        forwarded_pps_per_core: busy.map(|cores| round(forwarded_pps / cores, 0)),
        cpu_pct: cpu_pct.map(|p| round(p, 1)),
        us_per_packet: cpu.filter(|_| forwarded > 0).map(|c| round(c * 1e6 / forwarded as f64, 1)),
        rss_bytes: rss,
        rss_bytes_per_peer_connection: rss.zip(b.peer_connections.filter(|&n| n > 0)).map(|(r, n)| r / n),
        threads: b.process.map(|p| p.threads),
        forwarded,
        queue_drops: b.queue_full_packets.zip(a.queue_full_packets).map_or(0, |(b, a)| b.saturating_sub(a)),
    })
}

/// One peer's line in `load --json`: totals since it joined, counted after the quiet period
/// (publishers stopped, queues drained), against what the server says it forwarded to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerLine {
    pub event: &'static str,
    pub room: String,
    pub peer_id: Option<String>,
    /// The signaling URL it ended on (after redirects: its room's node in a cluster).
    pub node: Option<String>,
    pub publishes: bool,
    pub connect_ms: Option<u64>,
    pub failure: Option<Failure>,
    /// Streams received.
    pub streams: usize,
    /// Distinct packets received, over every stream.
    pub received: u64,
    pub lost: u64,
    pub duplicates: u64,
    /// What the server's `/stats` says it forwarded to this peer (our server only).
    pub server_forwarded: Option<u64>,
}

impl PeerLine {
    /// Packets the server forwarded that never arrived (0 when it cannot tell).
    pub fn short(&self) -> u64 {
        self.server_forwarded.map_or(0, |f| f.saturating_sub(self.received))
    }

    /// Packets received beyond what the server forwarded (0 when it cannot tell).
    pub fn extra(&self) -> u64 {
        self.server_forwarded.map_or(0, |f| self.received.saturating_sub(f))
    }
}

/// Where packets went missing: in the server's queues, or after it sent them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delivery {
    pub forwarded: u64,
    pub received: u64,
    pub server_queue_drops: u64,
    /// Forwarded but not received: the network or the clients (negative counts are timing).
    pub missing_after_forwarding: i64,
    /// After the quiet period: peers that received fewer packets than the server forwarded to
    /// them, and the packets they miss in all.
    pub peers_short: usize,
    pub packets_short: u64,
    /// After the quiet period, over every peer since it joined: packets received beyond what
    /// was forwarded to it, sequence gaps, and packets received twice. All four zero (with no
    /// queue drops) means every receiver's RTP sequence set is exactly what was forwarded to it.
    pub packets_extra: u64,
    pub packets_lost: u64,
    pub duplicates: u64,
}

/// The generator's own load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Generator {
    pub cpu_pct: f64,
    pub cores: usize,
    /// Mean lateness of the publishers' 20 ms ticks.
    pub pacing_lag_ms: f64,
}

impl Generator {
    /// The generator, not the server, was the limit: its ticks ran late or it used nearly
    /// every core it had.
    pub fn bound(&self) -> bool {
        self.pacing_lag_ms > 5.0 || self.cpu_pct > 85.0 * self.cores as f64
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    pub phase: &'static str,
    pub reason: String,
    pub peers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassVerdict {
    pub threshold: String,
    pub value: Option<f64>,
    pub passed: bool,
}

impl From<Verdict> for PassVerdict {
    fn from(v: Verdict) -> Self {
        Self { threshold: v.threshold, value: v.value.map(|x| round(x, 2)), passed: v.passed }
    }
}

/// The final object of `load --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub event: &'static str,
    pub peers: usize,
    pub connected: usize,
    pub failed: usize,
    pub failures: BTreeMap<&'static str, usize>,
    pub failure_reasons: Vec<ReasonCount>,
    pub connect_ms: Tail,
    pub offer_to_connected_ms: Tail,
    /// In phase order (a JSON object keyed by phase).
    #[serde(serialize_with = "in_order")]
    pub phases_ms: Vec<(&'static str, Tail)>,
    pub loss_pct: Spread,
    pub jitter_ms: Spread,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub server: Option<ServerWindow>,
    pub delivery: Option<Delivery>,
    pub generator: Generator,
    pub generator_bound: bool,
    pub measured_s: f64,
    /// Peers per signaling URL they ended on (a cluster run spreads them over its nodes).
    pub nodes: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pass: Vec<PassVerdict>,
}

fn in_order<S: serde::Serializer>(v: &[(&'static str, Tail)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, t)| (k, t)))
}

/// Distinct failure reasons listed in the summary.
const MAX_REASONS: usize = 10;

impl Summary {
    pub fn new(
        peers: &[PeerResult],
        server: Option<ServerWindow>,
        generator: Generator,
        measured_s: f64,
    ) -> Self {
        let connected =
            peers.iter().filter(|p| p.phases.get(Phase::Connected).is_some() && p.failure.is_none()).count();
        let mut failures = BTreeMap::new();
        let mut reasons: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
        for f in peers.iter().filter_map(|p| p.failure.as_ref()) {
            *failures.entry(f.phase.as_str()).or_insert(0) += 1;
            *reasons.entry((f.phase.as_str(), f.reason.clone())).or_insert(0) += 1;
        }
        let mut failure_reasons: Vec<ReasonCount> = reasons
            .into_iter()
            .map(|((phase, reason), peers)| ReasonCount { phase, reason, peers })
            .collect();
        failure_reasons.sort_by_key(|r| std::cmp::Reverse(r.peers));
        failure_reasons.truncate(MAX_REASONS);
        let at = |phase| peers.iter().filter_map(move |p| p.phases.get(phase)).map(|t| t as f64);
        let phases_ms = Phase::ALL.iter().map(|&ph| (ph.as_str(), Tail::of(at(ph)))).collect();
        let received: u64 = peers.iter().map(|p| p.received).sum();
        let delivery = server.map(|s| Delivery {
            forwarded: s.forwarded,
            received,
            server_queue_drops: s.queue_drops,
            missing_after_forwarding: s.forwarded as i64 - received as i64,
            peers_short: 0,
            packets_short: 0,
            packets_extra: 0,
            packets_lost: 0,
            duplicates: 0,
        });
        Self {
            event: "summary",
            peers: peers.len(),
            connected,
            failed: peers.iter().filter(|p| p.failure.is_some()).count(),
            failures,
            failure_reasons,
            connect_ms: Tail::of(at(Phase::Connected)),
            offer_to_connected_ms: Tail::of(
                peers.iter().filter_map(|p| p.phases.offer_to_connected()).map(|t| t as f64),
            ),
            phases_ms,
            loss_pct: Spread::of(peers.iter().filter_map(PeerResult::loss_pct), 2),
            jitter_ms: Spread::of(peers.iter().filter_map(|p| p.jitter_ms), 1),
            packets_sent: peers.iter().map(|p| p.sent).sum(),
            packets_received: received,
            server,
            delivery,
            generator,
            generator_bound: generator.bound(),
            measured_s: round(measured_s, 1),
            nodes: BTreeMap::new(),
            pass: Vec::new(),
        }
    }

    /// Takes in the peer lines: the nodes peers ended on, and the peers whose totals fall short
    /// of what the server forwarded to them.
    pub fn note_peers(&mut self, lines: &[PeerLine]) {
        for node in lines.iter().filter_map(|l| l.node.clone()) {
            *self.nodes.entry(node).or_insert(0) += 1;
        }
        if let Some(d) = self.delivery.as_mut() {
            d.peers_short = lines.iter().filter(|l| l.short() > 0).count();
            d.packets_short = lines.iter().map(PeerLine::short).sum();
            d.packets_extra = lines.iter().map(PeerLine::extra).sum();
            d.packets_lost = lines.iter().map(|l| l.lost).sum();
            d.duplicates = lines.iter().map(|l| l.duplicates).sum();
        }
    }

    /// The figure a `--pass` metric names.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let s = self.server.as_ref();
        match name {
            "connected" => Some(self.connected as f64),
            "failed" => Some(self.failed as f64),
            "connect_p50" => self.connect_ms.p50,
            "connect_p90" => self.connect_ms.p90,
            "connect_p99" => self.connect_ms.p99,
            "connect_max" => self.connect_ms.max,
            "offer_to_connected_p99" => self.offer_to_connected_ms.p99,
            "loss_p50" => self.loss_pct.p50,
            "loss_p95" => self.loss_pct.p95,
            "loss_max" => self.loss_pct.max,
            "jitter_p50" => self.jitter_ms.p50,
            "jitter_p95" => self.jitter_ms.p95,
            "jitter_max" => self.jitter_ms.max,
            "forwarded_pps" => s.map(|s| s.forwarded_pps),
            "forwarded_pps_per_core" => s.and_then(|s| s.forwarded_pps_per_core),
            "server_cpu" => s.and_then(|s| s.cpu_pct),
            "server_us_per_packet" => s.and_then(|s| s.us_per_packet),
            "server_rss_bytes" => s.and_then(|s| s.rss_bytes).map(|b| b as f64),
            "server_queue_drops" => self.delivery.map(|d| d.server_queue_drops as f64),
            "peers_short" => self.delivery.map(|d| d.peers_short as f64),
            "packets_short" => self.delivery.map(|d| d.packets_short as f64),
            "packets_extra" => self.delivery.map(|d| d.packets_extra as f64),
            "packets_lost" => self.delivery.map(|d| d.packets_lost as f64),
            "duplicates" => self.delivery.map(|d| d.duplicates as f64),
            _ => None,
        }
    }

    /// Judges `thresholds` and keeps the verdicts; true when all held.
    pub fn judge(&mut self, thresholds: &[Threshold]) -> bool {
        let verdicts = pass_expr::judge(thresholds, self.peers, |m| self.metric(m));
        self.pass = verdicts.into_iter().map(PassVerdict::from).collect();
        self.pass.iter().all(|v| v.passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::timeline::{Direction, Event, Timeline};
    use crate::load::phases::{FailedIn, PeerEnd, judge};

    fn connected_peer(connect_ms: u64, lost: u64) -> PeerResult {
        let mut t = Timeline::new();
        t.push(1, Event::SignalingConnected { url: "ws://x".into() });
        t.push(2, Event::JoinedRoom { room: "r".into(), peer_id: "p".into(), peers: vec![] });
        t.push(3, Event::Signal { direction: Direction::Sent, kind: "offer".into(), detail: None });
        t.push(connect_ms, Event::ConnectionState { state: "connected".into() });
        let (phases, failure) =
            judge(&PeerEnd { events: t.events(), error: None, stop_ms: 1000, expects_audio: false });
        PeerResult {
            phases,
            failure,
            expected: 1000,
            lost,
            received: 1000 - lost,
            jitter_ms: Some(1.5),
            sent: 1000,
        }
    }

    fn sample(forwarded: u64, cpu: f64) -> ServerSample {
        ServerSample {
            forwarded_packets: Some(forwarded),
            queue_full_packets: Some(0),
            peer_connections: Some(40),
            process: Some(ProcessSample { cpu_seconds: cpu, rss_bytes: 40 << 20, threads: 4 }),
        }
    }

    #[test]
    fn the_server_window_gives_rates_per_core_and_per_packet() {
        let w = server_window((1_000, sample(0, 1.0)), (11_000, sample(60_000, 3.0))).unwrap();
        assert_eq!(w.forwarded_pps, 6_000.0);
        assert_eq!(w.cpu_pct, Some(20.0));
        assert_eq!(w.forwarded_pps_per_core, Some(30_000.0));
        assert_eq!(w.us_per_packet, Some(33.3));
        assert_eq!(w.rss_bytes_per_peer_connection, Some(1 << 20));
        // A server without counters, or no time between samples, gives no window.
        assert_eq!(server_window((0, ServerSample::default()), (1_000, ServerSample::default())), None);
        assert_eq!(server_window((5, sample(0, 0.0)), (5, sample(1, 0.0))), None);
    }

    #[test]
    fn the_summary_counts_phases_failures_and_spreads() {
        let mut peers: Vec<PeerResult> = (0..9).map(|i| connected_peer(20 + i, i)).collect();
        let mut t = Timeline::new();
        t.push(1, Event::SignalingConnected { url: "ws://x".into() });
        let (phases, failure) = judge(&PeerEnd {
            events: t.events(),
            error: Some("room full"),
            stop_ms: 100,
            expects_audio: true,
        });
        assert_eq!(failure.as_ref().map(|f| f.phase), Some(FailedIn::Join));
        peers.push(PeerResult { phases, failure, ..Default::default() });
        let gen_ = Generator { cpu_pct: 30.0, cores: 2, pacing_lag_ms: 0.2 };
        let mut s = Summary::new(&peers, None, gen_, 20.0);
        assert_eq!((s.peers, s.connected, s.failed), (10, 9, 1));
        assert_eq!(s.failures.get("join"), Some(&1));
        assert_eq!(s.failure_reasons[0].reason, "room full");
        assert_eq!(s.connect_ms.max, Some(28.0));
        assert_eq!(s.offer_to_connected_ms.p50, Some(21.0));
        assert_eq!(s.loss_pct.max, Some(0.8));
        assert!(!s.generator_bound);
        let ok = s.judge(&pass_expr::parse("connect_p99<30ms,failed<=10%").unwrap());
        assert!(ok, "{:?}", s.pass);
        assert!(!s.judge(&pass_expr::parse("failed<1%").unwrap()));
        assert!(!s.judge(&pass_expr::parse("forwarded_pps>1").unwrap()), "no server figures: fails");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["connect_ms"]["p99"], 28.0);
        assert_eq!(json["event"], "summary");
    }

    fn line(received: u64, lost: u64, duplicates: u64, server_forwarded: Option<u64>) -> PeerLine {
        PeerLine {
            event: "peer",
            room: "r".into(),
            peer_id: None,
            node: None,
            publishes: true,
            connect_ms: Some(20),
            failure: None,
            streams: 1,
            received,
            lost,
            duplicates,
            server_forwarded,
        }
    }

    #[test]
    fn delivery_holds_every_peer_against_what_was_forwarded_to_it() {
        let peers = vec![connected_peer(20, 0), connected_peer(21, 0)];
        let w = server_window((1_000, sample(0, 1.0)), (11_000, sample(60_000, 3.0)));
        let gen_ = Generator { cpu_pct: 30.0, cores: 2, pacing_lag_ms: 0.2 };
        let nothing_lost = "peers_short<1,packets_extra<1,packets_lost<1,duplicates<1,server_queue_drops<1";
        let mut s = Summary::new(&peers, w, gen_, 10.0);
        s.note_peers(&[line(500, 0, 0, Some(500)), line(500, 0, 0, Some(500))]);
        assert!(s.judge(&pass_expr::parse(nothing_lost).unwrap()), "{:?}", s.pass);
        // One peer two short and one with a gap and a repeat; another given more than forwarded.
        let mut s = Summary::new(&peers, w, gen_, 10.0);
        s.note_peers(&[line(498, 1, 1, Some(500)), line(503, 0, 0, Some(500))]);
        let d = s.delivery.unwrap();
        assert_eq!(
            (d.peers_short, d.packets_short, d.packets_extra, d.packets_lost, d.duplicates),
            (1, 2, 3, 1, 1)
        );
        assert!(!s.judge(&pass_expr::parse(nothing_lost).unwrap()));
        assert_eq!(s.pass.iter().filter(|v| !v.passed).count(), 4, "{:?}", s.pass);
        // A server without /stats gives no delivery figures: such thresholds fail, never pass.
        let mut s = Summary::new(&peers, None, gen_, 10.0);
        s.note_peers(&[line(500, 0, 0, None)]);
        assert!(!s.judge(&pass_expr::parse("packets_short<1").unwrap()));
    }

    #[test]
    fn a_late_or_busy_generator_is_bound() {
        assert!(Generator { cpu_pct: 10.0, cores: 2, pacing_lag_ms: 12.0 }.bound());
        assert!(Generator { cpu_pct: 180.0, cores: 2, pacing_lag_ms: 0.1 }.bound());
        assert!(!Generator { cpu_pct: 100.0, cores: 2, pacing_lag_ms: 0.1 }.bound());
    }
}
