//! The terminal's [`Output`]: each event printed the moment it is recorded — a text line
//! (prefixed with a label when several peers share one terminal) or an NDJSON line — above the
//! live view's level bars when there is one.

use std::io::Write;

use crate::diagnose::timeline::{Output, Stamped};
use super::live::LiveView;
use super::{Style, human_line};

pub struct Printer {
    style: Style,
    /// Printed before each text line when several peers share one terminal (the demo).
    label: Option<String>,
    live: Option<LiveView>,
}

impl Printer {
    pub fn new(style: Style, label: Option<String>) -> Self {
        Self { style, label, live: None }
    }

    pub fn style(&self) -> Style {
        self.style
    }

    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Adds the live level bars (text output on a terminal).
    pub fn with_live(mut self, live: Option<LiveView>) -> Self {
        self.live = if self.style.json { None } else { live };
        self
    }
}

impl Output for Printer {
    fn event(&self, stamped: &Stamped) {
        let line = if self.style.json { stamped.to_ndjson() } else { human_line(stamped, self.label.as_deref()) };
        let print = || {
            let mut out = std::io::stdout().lock();
            // A closed stdout (e.g. `| head`) must not stop the peer.
            let _ = writeln!(out, "{line}");
        };
        match &self.live {
            Some(live) => live.suspend(print),
            None => print(),
        }
    }

    fn level(&self, stream: &str, dbfs: f64, detail: &str) {
        if let Some(live) = &self.live {
            live.level(stream, dbfs, detail);
        }
    }

    fn clear_live(&self) {
        if let Some(live) = &self.live {
            live.clear();
        }
    }
}
