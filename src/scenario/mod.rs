//! Scenarios: TOML files that name a server setup (faults), the peers (source, offer style,
//! join delay, network conditions) and what must be observed (connection, who hears whom,
//! connect-time bounds, degraded audio, the exact set of diagnosed F-codes). `model` loads and
//! validates them, `expect` judges a run (pure), `runner` runs one in-process on ephemeral
//! loopback ports, `netem` impairs a peer's path, `junit` reports.

pub mod expect;
pub mod junit;
mod lab_run;
pub mod model;
mod netem;
pub mod network;
pub mod runner;
