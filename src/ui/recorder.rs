//! The live recorder: stamps each event with milliseconds since the command started, keeps it
//! in the timeline and prints it at once (a text line or an NDJSON line), above the live view's
//! level bars when there is one. A recorder can instead write its NDJSON lines to a file
//! (`serve --record`: one per session), through the same encoder.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::live::LiveView;
use super::{Style, human_line};
use crate::signal::sdp;
use crate::diagnose::timeline::{Direction, Event, Stamped, Timeline};

pub struct Recorder {
    start: Instant,
    style: Style,
    /// Printed before each text line when several peers share one terminal (the demo).
    label: Option<String>,
    timeline: Mutex<Timeline>,
    quiet: bool,
    live: Option<LiveView>,
    /// Where the NDJSON lines go instead of stdout.
    file: Option<Mutex<LineWriter<File>>>,
}

impl Recorder {
    pub fn new(start: Instant, style: Style, label: Option<String>) -> Self {
        Self {
            start,
            style,
            label,
            timeline: Mutex::new(Timeline::new()),
            quiet: false,
            live: None,
            file: None,
        }
    }

    /// A recorder that writes each event as one NDJSON line to `file` and prints nothing.
    pub fn to_file(start: Instant, file: File) -> Self {
        Self { file: Some(Mutex::new(LineWriter::new(file))), ..Self::silent(start) }
    }

    /// A recorder that keeps the timeline but prints nothing (tests, benchmarks).
    pub fn silent(start: Instant) -> Self {
        Self { quiet: true, ..Self::new(start, Style { json: true, color: false }, None) }
    }

    /// Adds the live level bars (text output on a terminal).
    pub fn with_live(mut self, live: Option<LiveView>) -> Self {
        self.live = if self.style.json { None } else { live };
        self
    }

    /// Updates `stream`'s level bar, if there is a live view.
    pub fn level(&self, stream: &str, dbfs: f64, detail: &str) {
        if let Some(live) = &self.live {
            live.level(stream, dbfs, detail);
        }
    }

    /// Removes the live view's bars (before the closing summary).
    pub fn clear_live(&self) {
        if let Some(live) = &self.live {
            live.clear();
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn record(&self, event: Event) {
        let t_ms = self.elapsed_ms();
        let line = {
            let mut t = self.timeline.lock().expect("timeline lock");
            let stamped = t.push(t_ms, event);
            if let Some(file) = &self.file {
                // A full disk must not stop the call; the record just ends there.
                let _ = writeln!(file.lock().expect("record file lock"), "{}", stamped.to_ndjson());
            }
            if self.quiet { None } else { Some(self.render(stamped)) }
        };
        if let Some(line) = line {
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
    }

    /// Records what names this end or the other in a session description that just went out
    /// or came in, with the wall clock (for `analyze` to pair two files and compare clocks).
    pub fn describe(&self, direction: Direction, kind: &str, sdp_text: &str) {
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_millis() as u64);
        self.record(Event::Description {
            direction,
            kind: kind.into(),
            identity: sdp::identity(sdp_text),
            unix_ms,
        });
    }

    fn render(&self, s: &Stamped) -> String {
        if self.style.json { s.to_ndjson() } else { human_line(s, self.label.as_deref()) }
    }

    /// A copy of everything recorded so far.
    pub fn timeline(&self) -> Timeline {
        self.timeline.lock().expect("timeline lock").clone()
    }

    pub fn style(&self) -> Style {
        self.style
    }

    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}
