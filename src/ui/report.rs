//! The probe report: one line per probe peer, then each finding with evidence and fix.

use std::fmt::Write;

use colored::Colorize;

use crate::diagnose::rules::{Finding, Role};
use crate::diagnose::summary::Summary;
use crate::diagnose::timeline::Timeline;
use crate::probe::ProbeReport;
use crate::probe::endpoint::EndpointReport;
use crate::ui::human_line;

fn role(r: Role) -> &'static str {
    match r {
        Role::Observer => "observer  (trickle-only offer)",
        Role::Withholder => "withholder (uses no server candidate)",
        Role::Control => "control   (all candidates in the offer)",
    }
}

pub fn render_probe(report: &ProbeReport, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(report).unwrap_or_default();
        v["healthy"] = report.findings.is_empty().into();
        return v.to_string();
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} {} (room {})", "probe".bold(), report.url, report.room);
    for run in &report.runs {
        let mut t = Timeline::new();
        for e in &run.events {
            t.push(e.t_ms, e.event.clone());
        }
        let s = Summary::from_timeline(&t);
        let remote: usize = s.remote_candidates.values().sum();
        let heard: Vec<String> =
            s.streams.values().filter_map(|p| p.freq_hz).map(|f| format!("{f:.0} Hz")).collect();
        let state = if s.ever_connected { "connected".green() } else { "not connected".red() };
        let _ = writeln!(
            out,
            "  {:<40} {state}; {remote} server candidate(s); heard {}",
            role(run.role),
            if heard.is_empty() { "nothing".to_owned() } else { heard.join(", ") }
        );
    }
    out.push_str(&render_findings(&report.findings));
    out.trim_end().to_owned()
}

/// The endpoint probe (`probe --signal whip|whep`): its timeline, then the findings.
pub fn render_endpoint(report: &EndpointReport, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(report).unwrap_or_default();
        v["healthy"] = report.healthy().into();
        return v.to_string();
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} {} {}", "probe".bold(), report.signal, report.url);
    for s in &report.timeline {
        let _ = writeln!(out, "{}", human_line(s, None));
    }
    out.push_str(&render_findings(&report.findings));
    out.trim_end().to_owned()
}

/// Findings as text: each code and title, its evidence and fix; `healthy:` when there are none.
pub fn render_findings(findings: &[Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        let _ = writeln!(out, "{} no failure mode found", "healthy:".green().bold());
    }
    for f in findings {
        let _ = writeln!(out, "{} {}", f.code.red().bold(), f.title.bold());
        for e in &f.evidence {
            let _ = writeln!(out, "    {e}");
        }
        let _ = writeln!(out, "    {} {}", "fix:".cyan(), f.fix);
    }
    out
}
