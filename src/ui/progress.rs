//! Spinners on stderr while probes run: one per server, only on a TTY and never with `--json`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Spinners {
    multi: MultiProgress,
}

impl Spinners {
    pub fn new(json: bool) -> Self {
        let target = if json || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self { multi: MultiProgress::with_draw_target(target) }
    }

    /// A spinning line for `what`; finish it with [`done`].
    pub fn start(&self, what: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}

/// Stops a spinner, leaving nothing behind (the report follows on stdout).
pub fn done(bar: &ProgressBar) {
    bar.finish_and_clear();
}
