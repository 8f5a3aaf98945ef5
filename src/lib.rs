//! rtc-assist: a WebRTC peer and connection diagnostic tool.
//!
//! # Layout
//! - [`sansio`]: the pure core (protocol, candidate grammar, rooms, timeline, summary).
//! - Drivers: [`server`] (signaling + SFU), [`client`] (a signaling peer), [`signaling`]
//!   (WebSocket client), [`peer`] (the webrtc-rs wrapper), [`media`] (tone, Opus, analysis).
//! - [`cmd`]: one module per subcommand, wiring drivers to the core; [`ui`] renders.
//!
//! The drivers, commands and renderers need the default `runtime` feature; without it only
//! [`sansio`] and the scenario file model ([`scenario::model`]) build, which is what the fuzz
//! targets (`fuzz/`, properties in `fuzzing`) link.
//!
//! `ARCHITECTURE.md` at the repository root lists the invariants.

#[cfg(feature = "runtime")]
pub mod cli;
#[cfg(feature = "runtime")]
pub mod client;
#[cfg(feature = "runtime")]
pub mod cmd;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
#[cfg(feature = "runtime")]
pub mod lab;
#[cfg(feature = "runtime")]
pub mod load;
#[cfg(feature = "runtime")]
pub mod media;
#[cfg(feature = "runtime")]
pub mod peer;
#[cfg(feature = "runtime")]
pub mod probe;
#[cfg(feature = "runtime")]
pub mod proc_stats;
pub mod sansio;
pub mod scenario;
#[cfg(feature = "runtime")]
pub mod server;
#[cfg(feature = "runtime")]
pub mod shutdown;
#[cfg(feature = "runtime")]
pub mod signaling;
#[cfg(feature = "runtime")]
pub mod stun_turn;
#[cfg(feature = "runtime")]
pub mod telemetry;
#[cfg(feature = "runtime")]
pub mod tls;
#[cfg(feature = "runtime")]
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
