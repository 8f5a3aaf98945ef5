//! Scenarios: TOML files that name a server setup (faults), the peers (source, offer style,
//! join delay, network conditions) and what must be observed (connection, who hears whom,
//! connect-time bounds, degraded audio, the exact set of diagnosed F-codes). `model` loads and
//! validates them (with `network`, pure: built without the `runtime` feature too), `expect`
//! judges a run, `runner` runs one in-process on ephemeral loopback ports, `netem` impairs a
//! peer's path (its verdicts are the pure `conditions`), `junit` reports.

pub mod conditions;
#[cfg(feature = "runtime")]
pub mod expect;
#[cfg(feature = "runtime")]
pub mod junit;
#[cfg(feature = "runtime")]
mod lab_run;
pub mod model;
#[cfg(feature = "runtime")]
mod netem;
pub mod network;
#[cfg(feature = "runtime")]
pub mod runner;
