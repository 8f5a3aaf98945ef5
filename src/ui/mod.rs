//! Rendering only: the style decided once at start-up, the terminal's event printer, and the
//! renderers for timelines, summaries and reports. stdout carries results; stderr carries logs.

mod analyze;
mod live;
pub mod load;
mod progress;
mod printer;
mod report;
mod summary;
mod timeline;
mod turn;

use std::io::IsTerminal;

pub use analyze::{ConnectionReport, FileReport, render_analysis};
pub use live::LiveView;
pub use printer::Printer;
pub use progress::{Spinners, done as spinner_done};
pub use report::{render_endpoint, render_findings, render_probe};
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
