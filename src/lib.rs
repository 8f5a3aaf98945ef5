//! rtc-assist: a WebRTC peer and connection diagnostic tool.
//!
//! # Layout
//! - [`sansio`]: the pure core (protocol, candidate grammar, rooms, timeline, summary).
//! - Drivers: [`server`] (signaling + SFU), [`client`] (a signaling peer), [`signaling`]
//!   (WebSocket client), [`peer`] (the webrtc-rs wrapper), [`media`] (tone, Opus, analysis).
//! - [`cmd`]: one module per subcommand, wiring drivers to the core; [`ui`] renders.
//!
//! `ARCHITECTURE.md` at the repository root lists the invariants.

pub mod cli;
pub mod client;
pub mod cmd;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod lab;
pub mod load;
pub mod media;
pub mod peer;
pub mod probe;
pub mod proc_stats;
pub mod sansio;
pub mod scenario;
pub mod server;
pub mod shutdown;
pub mod signaling;
pub mod stun_turn;
pub mod telemetry;
pub mod tls;
pub mod ui;

/// How a command ended, mapped to the process exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: everything worked and every expectation held.
    Success,
    /// Exit 1: a connection failed or an expectation did not hold.
    Problem,
}

/// Exit code for usage, configuration and internal errors.
pub const EXIT_USAGE: u8 = 2;

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Problem => 1,
        }
    }
}
