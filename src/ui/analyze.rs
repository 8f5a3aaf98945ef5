//! The `analyze` report: per file and peer connection, the timeline (the same lines as `join`),
//! ICE servers, a candidate table, connect phases, audio in and out (the `join` summary), the
//! findings (the probe's renderer and JSON shape) and what the file cannot show; then, for
//! several files of one call, the connections paired across them (`correlation`).

use std::fmt::Write;

use colored::Colorize;
use serde::Serialize;
use serde_json::{Value, json};

use crate::diagnose::connection::Connection;
use crate::diagnose::correlate::{Clocks, Correlation};
use crate::diagnose::import::Format;
use crate::diagnose::import::load_json::LoadRun;
use crate::diagnose::rules::Finding;
use crate::diagnose::summary::{Summary, Unheard};
use crate::diagnose::timeline::{CandidateInfo, Direction, Event, Via};
use super::report::render_findings;
use super::{Style, human_line, render_summary};

/// One peer connection with what the rules concluded.
#[derive(Debug)]
pub struct ConnectionReport {
    pub connection: Connection,
    pub findings: Vec<Finding>,
    pub cannot_show: Vec<String>,
}

/// One file: its format, what was skipped, findings across its connections (a probe run's).
#[derive(Debug)]
pub struct FileReport {
    pub path: String,
    pub format: Format,
    pub writer: Option<String>,
    pub skipped: Vec<String>,
    pub findings: Vec<Finding>,
    pub connections: Vec<ConnectionReport>,
    /// A `load --json` run's peers (such a file has no connections).
    pub load: Option<LoadRun>,
    /// What the file as a whole cannot show (a load run; connections carry their own).
    pub cannot_show: Vec<String>,
}

impl FileReport {
    pub fn healthy(&self) -> bool {
        self.findings.is_empty() && self.connections.iter().all(|c| c.findings.is_empty())
    }
}

/// A row of the candidate table.
#[derive(Debug, Serialize, PartialEq)]
struct Row<'a> {
    side: &'static str,
    #[serde(flatten)]
    candidate: &'a CandidateInfo,
    /// `sdp`, `trickle`, or `trickle (held back)` for a candidate buffered before the remote description.
    arrived: String,
}

fn rows(c: &Connection) -> Vec<Row<'_>> {
    let mut out: Vec<Row> = Vec::new();
    for r in &c.records {
        let row = match &r.stamped.event {
            Event::LocalCandidate { candidate, via } => {
                Row { side: "local", candidate, arrived: arrived(*via, false) }
            }
            Event::RemoteCandidate { candidate, via, buffered } => {
                Row { side: "remote", candidate, arrived: arrived(*via, *buffered) }
            }
            _ => continue,
        };
        if !out.iter().any(|o| o.side == row.side && o.candidate == row.candidate) {
            out.push(row);
        }
    }
    out
}

fn arrived(via: Via, buffered: bool) -> String {
    match (via, buffered) {
        (Via::Sdp, _) => "sdp".into(),
        (Via::Trickle, false) => "trickle".into(),
        (Via::Trickle, true) => "trickle (held back)".into(),
    }
}

/// Milliseconds of the first offer, answer, ICE checking/connected and connected.
fn phases(c: &Connection) -> Vec<(&'static str, u64)> {
    let mut out: Vec<(&'static str, u64)> = Vec::new();
    let mut mark = |name: &'static str, t: u64| {
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, t));
        }
    };
    for r in &c.records {
        let t = r.stamped.t_ms;
        match &r.stamped.event {
            Event::Signal { kind, direction, .. } if kind == "offer" || kind == "answer" => {
                let name = match (kind.as_str(), direction) {
                    ("offer", Direction::Sent) => "offer sent",
                    ("offer", Direction::Received) => "offer received",
                    (_, Direction::Sent) => "answer sent",
                    (_, Direction::Received) => "answer received",
                };
                mark(name, t)
            }
            Event::IceState { state } if state == "checking" => mark("ICE checking", t),
            Event::IceState { state } if state == "connected" || state == "completed" => {
                mark("ICE connected", t)
            }
            Event::ConnectionState { state } if state == "connected" => mark("connected", t),
            _ => {}
        }
    }
    out
}

fn selected(c: &Connection) -> Option<(&CandidateInfo, &CandidateInfo)> {
    c.records.iter().rev().find_map(|r| match &r.stamped.event {
        Event::SelectedPair { local, remote, .. } => Some((local, remote)),
        _ => None,
    })
}

fn connection_json(r: &ConnectionReport) -> Value {
    let c = &r.connection;
    let summary: Value = serde_json::from_str(&render_summary(
        &Summary::from_timeline(&c.timeline()),
        Style { json: true, color: false },
        c.records.last().map_or(0, |r| r.stamped.t_ms),
        &Unheard::default(),
        None,
    ))
    .unwrap_or_default();
    json!({
        "id": c.id,
        "page": c.page,
        "ice_servers": c.ice_servers,
        "timeline": c.records,
        "candidates": rows(c),
        "selected_pair": selected(c).map(|(l, r)| json!({"local": l, "remote": r})),
        "phases_ms": phases(c).into_iter().map(|(n, t)| (n.to_owned(), json!(t))).collect::<serde_json::Map<_, _>>(),
        "audio": {"sent_packets": summary["packets_sent"], "streams": summary["streams"]},
        "pairs": c.pairs,
        "findings": r.findings,
        "cannot_show": r.cannot_show,
    })
}

fn load_json(run: &LoadRun) -> Value {
    let peers: Vec<Value> = run
        .peers
        .iter()
        .map(|p| {
            json!({
                "origin": p.origin,
                "peer_id": p.peer_id,
                "room": p.room,
                "failure": p.failure.as_ref().map(|(phase, reason)| json!({"phase": phase, "reason": reason})),
            })
        })
        .collect();
    let summary = run.summary.as_ref().map(|(origin, peers, connected, failed)| {
        json!({"origin": origin, "peers": peers, "connected": connected, "failed": failed})
    });
    json!({"peers": peers, "summary": summary})
}

fn connection_text(out: &mut String, r: &ConnectionReport) {
    let c = &r.connection;
    let page = c.page.as_ref().map(|p| format!(" (page {p})")).unwrap_or_default();
    let _ = writeln!(out, "{} {}{page}", "connection".bold(), c.id.bold());
    for rec in &c.records {
        let _ = writeln!(out, "{}", human_line(&rec.stamped, None));
    }
    let servers = if c.ice_servers.is_empty() { "none".to_owned() } else { c.ice_servers.join(", ") };
    let _ = writeln!(out, "  ICE servers {servers}");
    let table = rows(c);
    if !table.is_empty() {
        let _ = writeln!(
            out,
            "  {:<6} {:<5} {:<5} {:<28} {:<20} url",
            "side", "type", "proto", "address", "arrived"
        );
        for row in table {
            let k = row.candidate;
            let _ = writeln!(
                out,
                "  {:<6} {:<5} {:<5} {:<28} {:<20} {}",
                row.side,
                k.typ.as_str(),
                k.protocol,
                format!("{}:{}", k.address, k.port),
                row.arrived,
                k.url.as_deref().unwrap_or("-")
            );
        }
    }
    let ph: Vec<String> = phases(c).into_iter().map(|(n, t)| format!("{n} {t} ms")).collect();
    if !ph.is_empty() {
        let _ = writeln!(out, "  phases      {}", ph.join(", "));
    }
    let s = Summary::from_timeline(&c.timeline());
    let _ = writeln!(
        out,
        "{}",
        render_summary(&s, Style { json: false, color: false }, 0, &Unheard::default(), Some(&c.id))
    );
    out.push_str(&render_findings(&r.findings));
    let _ = writeln!(out, "  {}", "what this file cannot show:".dimmed());
    for n in &r.cannot_show {
        let _ = writeln!(out, "    - {n}");
    }
}

fn correlation_text(out: &mut String, c: &Correlation) {
    let keys: Vec<String> = c.paired_by.iter().map(|k| format!("{} {}", k.key, k.value)).collect();
    let _ = writeln!(
        out,
        "  {} {} and {} {}: paired by {}",
        c.a.file,
        c.a.connection,
        c.b.file,
        c.b.connection,
        keys.join(", ")
    );
    for e in c.paired_by.first().map(|k| k.evidence.as_slice()).unwrap_or_default() {
        let _ = writeln!(out, "      {e}");
    }
    if c.unadded.is_empty() {
        let _ = writeln!(out, "    every candidate one end gathered was added by the other");
    }
    for u in &c.unadded {
        let _ = writeln!(
            out,
            "    {} {} {}:{} from {} never added by the other end",
            u.candidate.typ.as_str(),
            u.candidate.protocol,
            u.candidate.address,
            u.candidate.port,
            u.from
        );
    }
    match &c.clocks {
        Clocks::Compared { skew_ms, within_ms, evidence } => {
            let (ahead, behind) =
                if *skew_ms >= 0.0 { (&c.b.file, &c.a.file) } else { (&c.a.file, &c.b.file) };
            let _ = writeln!(
                out,
                "    clocks: {ahead} is {:.1} ms ahead of {behind} (± {within_ms:.1} ms, from the offer and answer times)",
                skew_ms.abs()
            );
            for e in evidence {
                let _ = writeln!(out, "      {e}");
            }
        }
        Clocks::Unknown { why } => {
            let _ = writeln!(out, "    clocks: not compared: {why}");
        }
    }
}

/// The report; `across` holds findings that need several files of one call, `correlations`
/// the connections paired across them.
pub fn render_analysis(
    files: &[FileReport],
    across: &[Finding],
    correlations: &[Correlation],
    json: bool,
) -> String {
    let files_healthy = files.iter().all(FileReport::healthy);
    if json {
        let files: Vec<Value> = files
            .iter()
            .map(|f| {
                json!({
                    "path": f.path,
                    "format": f.format,
                    "writer": f.writer,
                    "skipped": f.skipped,
                    "findings": f.findings,
                    "connections": f.connections.iter().map(connection_json).collect::<Vec<_>>(),
                    "load": f.load.as_ref().map(load_json),
                    "cannot_show": f.cannot_show,
                })
            })
            .collect();
        let healthy = across.is_empty() && files_healthy;
        return json!({
            "files": files,
            "correlation": {"pairs": correlations},
            "findings": across,
            "healthy": healthy,
        })
        .to_string();
    }
    let mut out = String::new();
    for f in files {
        let writer = f.writer.as_ref().map(|w| format!(", written by {w}")).unwrap_or_default();
        let _ = writeln!(out, "{} {} ({}{writer})", "file".bold(), f.path, f.format.as_str());
        if !f.skipped.is_empty() {
            let _ = writeln!(out, "  {} line(s)/entries skipped, first: {}", f.skipped.len(), f.skipped[0]);
        }
        if let Some(run) = &f.load {
            let failed = run.peers.iter().filter(|p| p.failure.is_some()).count();
            let _ = writeln!(out, "  load run: {} peer line(s), {failed} failed", run.peers.len());
            if let Some((origin, peers, connected, failed)) = &run.summary {
                let _ = writeln!(
                    out,
                    "  summary ({origin}): {peers} peers, {connected} connected, {failed} failed"
                );
            }
            if f.findings.is_empty() {
                let _ = writeln!(out, "{}", "healthy: every peer connected".green());
            }
        }
        if !f.findings.is_empty() {
            out.push_str(&render_findings(&f.findings));
        }
        if !f.cannot_show.is_empty() {
            let _ = writeln!(out, "  {}", "what this file cannot show:".dimmed());
            for n in &f.cannot_show {
                let _ = writeln!(out, "    - {n}");
            }
        }
        for c in &f.connections {
            connection_text(&mut out, c);
        }
    }
    if !correlations.is_empty() {
        let _ = writeln!(out, "{}", "correlation".bold());
        for c in correlations {
            correlation_text(&mut out, c);
        }
    }
    if !across.is_empty() {
        let _ = writeln!(out, "{}", "across the files".bold());
        out.push_str(&render_findings(across));
    }
    out.trim_end().to_owned()
}
