//! What `load` shows: a progress bar on a terminal (or one NDJSON sample a second with
//! `--json`) while it runs, and the closing table (or the summary object as the last line).

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::load::progress::{ProgressSink, Sample};
use crate::load::quantiles::{Spread, Tail};
use crate::load::report::Summary;

#[derive(Serialize)]
struct SampleLine {
    event: &'static str,
    t_ms: u64,
    started: usize,
    connected: usize,
    failed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_forwarded_pps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_cpu_pct: Option<f64>,
}

pub struct Progress {
    json: bool,
    bar: ProgressBar,
    last: Option<Sample>,
}

fn print_line(line: &str) {
    // A closed stdout (e.g. `| head`) must not stop the run.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

impl Progress {
    pub fn new(json: bool, planned: usize) -> Self {
        let target = if json || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(planned as u64), target);
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} joined {pos}/{len} {wide_bar} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self { json, bar, last: None }
    }

}

impl ProgressSink for Progress {
    fn sample(&mut self, s: &Sample) {
        let (pps, cpu) = match self.last {
            Some(l) if s.t_ms > l.t_ms => {
                let secs = (s.t_ms - l.t_ms) as f64 / 1000.0;
                let rate = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?) as f64 / secs);
                let cpu = |a: Option<f64>, b: Option<f64>| Some(100.0 * (b? - a?) / secs);
                (
                    rate(l.server_forwarded, s.server_forwarded).map(|x| x.round()),
                    cpu(l.server_cpu_seconds, s.server_cpu_seconds).map(|x| x.round()),
                )
            }
            _ => (None, None),
        };
        if s.server_forwarded.is_some() {
            self.last = Some(*s);
        }
        if self.json {
            let line = SampleLine {
                event: "sample",
                t_ms: s.t_ms,
                started: s.started,
                connected: s.connected,
                failed: s.failed,
                server_forwarded_pps: pps,
                server_cpu_pct: cpu,
            };
            print_line(&serde_json::to_string(&line).unwrap_or_default());
            return;
        }
        self.bar.set_position(s.started as u64);
        let server = match (pps, cpu) {
            (Some(p), Some(c)) => format!(" · server {p} pkt/s at {c}% CPU"),
            (Some(p), None) => format!(" · server {p} pkt/s"),
            _ => String::new(),
        };
        self.bar.set_message(format!("connected {} · failed {}{server}", s.connected, s.failed));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn ms(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.0}"))
}

fn tail_row(name: &str, t: &Tail) -> String {
    format!("  {name:<22} {:>7} {:>7} {:>7} {:>7}", ms(t.p50), ms(t.p90), ms(t.p99), ms(t.max))
}

fn spread(name: &str, s: &Spread, unit: &str) -> String {
    let f = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v}{unit}"));
    format!("  {name:<22} p50 {}  p95 {}  max {}", f(s.p50), f(s.p95), f(s.max))
}

/// The closing report: JSON (one line) or a table.
pub fn render(s: &Summary, json: bool) -> String {
    if json {
        return serde_json::to_string(s).unwrap_or_default();
    }
    let mut out = vec![format!("{} peers: {} connected, {} failed", s.peers, s.connected, s.failed)];
    for r in &s.failure_reasons {
        out.push(format!("  failed in {}: {} peer(s): {}", r.phase, r.peers, r.reason));
    }
    out.push(format!("  {:<22} {:>7} {:>7} {:>7} {:>7}", "ms from start", "p50", "p90", "p99", "max"));
    for (name, t) in &s.phases_ms {
        out.push(tail_row(name, t));
    }
    out.push(tail_row("offer → connected", &s.offer_to_connected_ms));
    out.push(spread("loss", &s.loss_pct, " %"));
    out.push(spread("jitter", &s.jitter_ms, " ms"));
    out.push(format!(
        "  packets sent {}, received {} ({:.0} s measured)",
        s.packets_sent, s.packets_received, s.measured_s
    ));
    match &s.server {
        Some(w) => {
            let opt = |x: Option<f64>, unit: &str| x.map_or("-".into(), |v| format!("{v}{unit}"));
            out.push(format!(
                "  server: {} forwarded pkt/s, {} per busy core, CPU {}, {} per packet",
                w.forwarded_pps,
                opt(w.forwarded_pps_per_core, ""),
                opt(w.cpu_pct, " %"),
                opt(w.us_per_packet, " µs"),
            ));
            if let Some(rss) = w.rss_bytes {
                let per = w.rss_bytes_per_peer_connection.map_or(String::new(), |b| {
                    format!(", {:.2} MiB per peer connection", b as f64 / 1048576.0)
                });
                out.push(format!(
                    "  server memory: {:.1} MiB resident{per}, {} threads",
                    rss as f64 / 1048576.0,
                    w.threads.unwrap_or(0)
                ));
            }
        }
        None => {
            out.push("  server: no /stats (not an rtc-assist server?): server figures unavailable".into())
        }
    }
    if let Some(d) = &s.delivery {
        out.push(format!(
            "  delivery: server forwarded {}, clients received {}, dropped in server queues {}, missing after forwarding {}",
            d.forwarded, d.received, d.server_queue_drops, d.missing_after_forwarding
        ));
        out.push(format!(
            "  per peer, since joining: {} peer(s) {} packet(s) short of what was forwarded to them, {} beyond it, {} lost, {} duplicated",
            d.peers_short, d.packets_short, d.packets_extra, d.packets_lost, d.duplicates
        ));
    }
    if s.nodes.len() > 1 {
        for (node, peers) in &s.nodes {
            out.push(format!("  node {node}: {peers} peer(s)"));
        }
    }
    let g = &s.generator;
    out.push(format!(
        "  generator: CPU {} % of {} core(s), pacing lag {} ms",
        g.cpu_pct, g.cores, g.pacing_lag_ms
    ));
    if s.generator_bound {
        out.push("  warning: generator-bound — this process, not the server, was the limit".into());
    }
    for v in &s.pass {
        let value = v.value.map_or("no figure".into(), |x| x.to_string());
        out.push(format!("  {} {} ({value})", if v.passed { "pass" } else { "FAIL" }, v.threshold));
    }
    out.join("\n")
}
