//! What a load run reports while it runs: one [`Sample`] a second, handed to a
//! [`ProgressSink`] (the terminal's bar or NDJSON lines, rendered by `ui::load`).

/// The run once a second.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t_ms: u64,
    pub started: usize,
    pub connected: usize,
    pub failed: usize,
    pub server_forwarded: Option<u64>,
    pub server_cpu_seconds: Option<f64>,
}

/// Where a load run's samples go as it runs.
pub trait ProgressSink: Send {
    fn sample(&mut self, s: &Sample);
    /// The run is over (before the closing report).
    fn finish(&self);
}
