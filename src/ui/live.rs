//! The live view of `join` on a terminal: one bar per audio stream (our own source, each remote
//! peer) showing its level as it changes, drawn on stderr under the timeline, which keeps
//! printing above it.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar spans -60..0 dBFS.
const RANGE_DB: f64 = 60.0;

pub struct LiveView {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl LiveView {
    /// A live view when both stdout and stderr are terminals; `None` otherwise (pipes, CI).
    pub fn for_terminal() -> Option<Self> {
        (std::io::stdout().is_terminal() && std::io::stderr().is_terminal()).then(|| Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
        })
    }

    /// Shows `stream`'s level (and a detail such as its frequency), adding its bar if new.
    pub fn level(&self, stream: &str, dbfs: f64, detail: &str) {
        let mut bars = self.bars.lock().expect("live bars lock");
        let bar = bars.entry(stream.to_owned()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(RANGE_DB as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>10} {bar:40.green/white} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(stream.to_owned());
            bar
        });
        bar.set_position((dbfs + RANGE_DB).clamp(0.0, RANGE_DB) as u64);
        bar.set_message(format!("{dbfs:>6.1} dBFS {detail}"));
    }

    /// Runs `f` (which prints) with the bars hidden, then redraws them.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// Removes the bars (before the closing summary).
    pub fn clear(&self) {
        for bar in self.bars.lock().expect("live bars lock").values() {
            bar.finish_and_clear();
        }
    }
}
