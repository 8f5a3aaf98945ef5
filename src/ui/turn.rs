//! The STUN and TURN probe tables (one block per URL × transport, each step with its time, then the
//! verdict) and the gathering report (every candidate as it appeared, counts, skipped URLs).

use std::fmt::Write;

use colored::Colorize;

use crate::stun_turn::TurnReport;

pub fn render_turn(reports: &[TurnReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "{} {} ({})", "TURN".bold(), r.url, r.transport);
        for s in &r.steps {
            let mark = if s.ok { "✓".green() } else { "✗".red() };
            let _ = writeln!(out, "  {mark} {:<24} {:>8.1} ms  {}", s.name, s.ms, s.detail);
        }
        if let Some(m) = &r.mapped {
            let _ = writeln!(out, "    mapped {m}, lifetime {} s", r.lifetime_s.unwrap_or(0));
        }
        let verdict = if r.verdict.ok { r.verdict.message.green() } else { r.verdict.message.red() };
        let _ = writeln!(out, "  {} [{}] {verdict}", "verdict".bold(), r.verdict.code);
    }
    out.trim_end().to_owned()
}

pub fn render_stun(reports: &[crate::stun_turn::StunReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(out, "{} {}", "STUN".bold(), r.url);
        for s in &r.steps {
            let mark = if s.ok { "✓".green() } else { "✗".red() };
            let _ = writeln!(out, "  {mark} {:<24} {:>8.1} ms  {}", s.name, s.ms, s.detail);
        }
        let _ = writeln!(out, "    retransmissions {}", r.retransmissions);
        match (&r.other_address, &r.mapping) {
            (Some(o), Some(m)) => {
                let _ = writeln!(out, "    OTHER-ADDRESS {o}: {m}");
            }
            _ => {
                let _ =
                    writeln!(out, "    no OTHER-ADDRESS: the server cannot run the RFC 5780 behaviour tests");
            }
        }
        let verdict = if r.verdict.ok { r.verdict.message.green() } else { r.verdict.message.red() };
        let _ = writeln!(out, "  {} [{}] {verdict}", "verdict".bold(), r.verdict.code);
    }
    out.trim_end().to_owned()
}

pub fn render_gather(g: &crate::diagnose::gather::GatherReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", "gathering (webrtc-rs peer)".bold());
    for (t, state) in &g.states {
        let _ = writeln!(out, "  {t:>6} ms  gathering {state}");
    }
    for (t, c) in &g.candidates {
        let related = c.related.as_ref().map(|r| format!(" from {r}")).unwrap_or_default();
        let url = c.url.as_ref().map(|u| format!(" via {u}")).unwrap_or_default();
        let _ =
            writeln!(out, "  {t:>6} ms  {:<5} {} {}:{}{related}{url}", c.typ, c.protocol, c.address, c.port);
    }
    let counts: Vec<String> = g.counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
    let _ =
        writeln!(out, "  candidates: {}", if counts.is_empty() { "none".into() } else { counts.join(", ") });
    for (url, how) in &g.shimmed {
        let _ = writeln!(out, "  {} {url}: {how}", "shim".yellow());
    }
    for v in &g.verdicts {
        let line = if v.starts_with("relay candidate gathered") { v.green() } else { v.red() };
        let _ = writeln!(out, "  {line}");
    }
    out.trim_end().to_owned()
}
