//! The recorder every driver emits its events through: it stamps each event with milliseconds
//! since the command started, keeps it in the timeline, appends its NDJSON line to a file when
//! asked (`serve --record`: one per session) and hands it to the command's [`Output`], if any —
//! the terminal renderer, which lives in `ui`. Drivers never print.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::diagnose::timeline::{Direction, Event, Output, Timeline};
use crate::signal::sdp;

pub struct Recorder {
    start: Instant,
    timeline: Mutex<Timeline>,
    /// Where the NDJSON lines go as well (`serve --record`).
    file: Option<Mutex<LineWriter<File>>>,
    output: Option<Box<dyn Output>>,
}

impl Recorder {
    /// A recorder that keeps the timeline and shows nothing (probes, load peers, tests).
    pub fn silent(start: Instant) -> Self {
        Self { start, timeline: Mutex::new(Timeline::new()), file: None, output: None }
    }

    /// A recorder that also writes each event as one NDJSON line to `file`.
    pub fn to_file(start: Instant, file: File) -> Self {
        Self { file: Some(Mutex::new(LineWriter::new(file))), ..Self::silent(start) }
    }

    /// A recorder that also hands each event to `output` as it happens.
    pub fn with_output(start: Instant, output: impl Output + 'static) -> Self {
        Self { output: Some(Box::new(output)), ..Self::silent(start) }
    }

    /// A level measured on `stream` (for a live view, if the output has one).
    pub fn level(&self, stream: &str, dbfs: f64, detail: &str) {
        if let Some(output) = &self.output {
            output.level(stream, dbfs, detail);
        }
    }

    /// Tells the output the live part is over (before the closing summary).
    pub fn clear_live(&self) {
        if let Some(output) = &self.output {
            output.clear_live();
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn record(&self, event: Event) {
        let t_ms = self.elapsed_ms();
        let mut t = self.timeline.lock().expect("timeline lock");
        let stamped = t.push(t_ms, event);
        if let Some(file) = &self.file {
            // A full disk must not stop the call; the record just ends there.
            let _ = writeln!(file.lock().expect("record file lock"), "{}", stamped.to_ndjson());
        }
        if let Some(output) = &self.output {
            output.event(stamped);
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

    /// A copy of everything recorded so far.
    pub fn timeline(&self) -> Timeline {
        self.timeline.lock().expect("timeline lock").clone()
    }
}
