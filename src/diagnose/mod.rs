//! Diagnosis, pure from end to end: what happened (`timeline.rs`: `Event`, `Timeline`), the one
//! connection model that rules judge (`connection.rs`), the importers that fill it from files
//! (`import/`: our NDJSON, Chromium's webrtc-internals, rtcstats, `load --json`), the rules
//! (`rules.rs` over probe runs, `connection_rules/` over one connection, `correlate/` across
//! files, `load_rules.rs`, `gather.rs`), summaries (`summary.rs`, `teardown.rs`: whether the signaling session was torn down) and TURN
//! error causes. One
//! driver: `recorder.rs`, the clocked `Recorder` every driver emits its events through.

pub mod connection;
pub mod connection_rules;
pub mod correlate;
pub mod gather;
pub mod import;
pub mod load_rules;
#[cfg(feature = "runtime")]
pub mod recorder;
pub mod rules;
pub mod summary;
pub mod teardown;
pub mod timeline;
pub mod turn_error;
