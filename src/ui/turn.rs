//! The TURN probe table: one block per URL × transport, each step with its time, then the verdict.

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
