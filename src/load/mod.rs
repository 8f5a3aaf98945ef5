//! `load`: many peers in one process against any signaling server. The pure part judges and
//! sums up: `phases.rs` (a peer's connect phases and where it failed), `report.rs` (the load
//! summary), `pass_expr.rs` (`--pass` thresholds), `quantiles.rs`, `progress.rs` (the samples a
//! run reports as it goes). `run.rs` paces and runs the
//! peers; `server_view.rs` polls the server's `/stats`.

pub mod pass_expr;
pub mod phases;
pub mod progress;
pub mod quantiles;
pub mod report;

runtime_modules!(run, server_view);

#[cfg(feature = "runtime")]
pub use run::*;
#[cfg(feature = "runtime")]
pub use server_view::stats_url_for;
