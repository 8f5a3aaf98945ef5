//! The closing summary of `join`: a text block or one NDJSON `summary` line.

use std::fmt::Write;

use colored::Colorize;
use serde_json::json;

use super::Style;
use crate::diagnose::summary::{Summary, Unheard, stream_label};
use crate::signal::protocol::short_id;

fn counts(m: &std::collections::BTreeMap<crate::signal::candidate::CandidateType, usize>) -> String {
    if m.is_empty() {
        return "none".to_owned();
    }
    m.iter().map(|(t, n)| format!("{n} {t}")).collect::<Vec<_>>().join(", ")
}

/// Renders the summary; `t_ms` stamps the JSON line, `unheard` is the `--expect-audio` verdict.
pub fn render_summary(
    s: &Summary,
    style: Style,
    t_ms: u64,
    unheard: &Unheard,
    label: Option<&str>,
) -> String {
    if style.json {
        return json!({
            "t_ms": t_ms,
            "event": "summary",
            "peer_id": s.peer_id,
            "gathering_state": s.gathering_state,
            "ice_state": s.ice_state,
            "connection_state": s.connection_state,
            "ever_connected": s.ever_connected,
            "local_candidates": s.local_candidates,
            "remote_candidates": s.remote_candidates,
            "selected_pair": s.selected_pair.as_ref().map(|(l, r)| json!({"local": l, "remote": r})),
            "packets_sent": s.packets_sent,
            "sent_report": s.sent_report,
            "streams": s.streams.values().map(|p| {
                let mut v = json!(p);
                v["loss_pct"] = json!(p.loss_pct());
                v["degraded"] = json!(p.degraded());
                v
            }).collect::<Vec<_>>(),
            "unheard_peers": unheard.peers,
            "session_teardown": s.teardown,
        })
        .to_string();
    }
    let mut out = String::new();
    let title = match label {
        Some(l) => format!("summary [{l}]"),
        None => "summary".to_owned(),
    };
    let _ = writeln!(out, "{}", title.bold().underline());
    let st = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    let conn = if s.ever_connected { st(&s.connection_state).green() } else { st(&s.connection_state).red() };
    let _ = writeln!(
        out,
        "  states      gathering {}, ICE {}, connection {} (connected: {})",
        st(&s.gathering_state),
        st(&s.ice_state),
        conn,
        if s.ever_connected { "yes".green() } else { "no".red() }
    );
    let _ = writeln!(
        out,
        "  candidates  local: {}; remote: {}",
        counts(&s.local_candidates),
        counts(&s.remote_candidates)
    );
    if let Some((l, r)) = &s.selected_pair {
        let _ = writeln!(
            out,
            "  pair        {} {}:{} ⇄ {} {}:{}",
            l.typ, l.address, l.port, r.typ, r.address, r.port
        );
    }
    let far = s.sent_report.as_ref().map_or(String::new(), |r| {
        let mut parts = Vec::new();
        if let Some(l) = r.lost {
            parts.push(format!("{l} lost"));
        }
        if let Some(j) = r.jitter_ms {
            parts.push(format!("jitter {j:.1} ms"));
        }
        if let Some(rtt) = r.rtt_ms {
            parts.push(format!("RTT {rtt:.1} ms"));
        }
        if parts.is_empty() { String::new() } else { format!(" (far end: {})", parts.join(", ")) }
    });
    let _ = writeln!(out, "  sent        {} packets{far}", s.packets_sent);
    if let Some(t) = &s.teardown {
        let shown = if t.contains("not ") || t.contains("expired") { t.yellow() } else { t.normal() };
        let _ = writeln!(out, "  session     {shown}");
    }
    for p in s.streams.values() {
        let name = stream_label(p.stream, p.from_peer.as_deref());
        let level = p.rms_dbfs.map_or("-".into(), |l| format!("{l:.1} dBFS"));
        let freq = p.freq_hz.map_or("-".into(), |f| format!("{f:.1} Hz"));
        let rtp = match (p.lost, p.jitter_ms, p.loss_pct()) {
            (Some(l), Some(j), Some(pct)) => format!(", {l} lost ({pct:.1} %), jitter {j:.1} ms"),
            _ => String::new(),
        };
        let _ = writeln!(out, "  {name:<26} {} packets, {level}, {freq}{rtp}", p.packets);
        if let Some(why) = p.degraded() {
            let _ = writeln!(out, "  {} audio of {name} is degraded: {why}", "warning:".yellow().bold(),);
        }
    }
    for id in &unheard.peers {
        let _ = writeln!(out, "  {} no audio from {}", "expectation failed:".red().bold(), short_id(id));
    }
    if !unheard.is_empty() && unheard.anonymous_audible > 0 {
        let _ = writeln!(
            out,
            "  ({} audible stream(s) name no peer: too few for {} peer(s))",
            unheard.anonymous_audible,
            unheard.peers.len()
        );
    }
    out.trim_end().to_owned()
}
