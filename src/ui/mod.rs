//! Output: the style decided once at start-up, the live event recorder, and the renderers
//! for timelines and summaries. stdout carries results; stderr carries logs.

mod analyze;
mod live;
pub mod load;
mod progress;
mod recorder;
mod report;
mod summary;
mod timeline;
mod turn;

use std::io::IsTerminal;

pub use analyze::{ConnectionReport, FileReport, render_analysis};
pub use live::LiveView;
pub use progress::{Spinners, done as spinner_done};
pub use recorder::Recorder;
pub use report::{render_findings, render_probe};
pub use summary::render_summary;
pub use timeline::human_line;
pub use turn::{render_gather, render_stun, render_turn};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub json: bool,
    pub color: bool,
}

fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

impl Style {
    /// Decides the style for stdout: JSON if asked; colour only on a TTY without `NO_COLOR`.
    pub fn detect(json: bool) -> Self {
        let color = !json && std::io::stdout().is_terminal() && colour_allowed();
        colored::control::set_override(color);
        Self { json, color }
    }

    /// Whether log lines on stderr may carry ANSI colour.
    pub fn stderr_is_colourful() -> bool {
        std::io::stderr().is_terminal() && colour_allowed()
    }
}

/// The first 8 characters of a peer id, as logs and timelines show it (F6).
pub fn short_id(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(i, _)| &id[..i])
}

/// How a received stream is named: after its peer when its stream id names one.
pub fn stream_label(stream: u32, from_peer: Option<&str>) -> String {
    match from_peer {
        Some(p) => format!("from {} (stream {stream})", short_id(p)),
        None => format!("stream {stream}, peer unknown"),
    }
}
