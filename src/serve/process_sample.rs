//! [`ProcessSample`]: what a process costs at one moment (CPU seconds used, resident memory,
//! threads), as `serve` publishes its own in `/stats` and `load` reads it (and its own, as the
//! generator's self-check). `proc_stats.rs` takes one from `/proc/self`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub threads: u64,
}
