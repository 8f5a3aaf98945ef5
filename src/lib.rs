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

/// Declares modules that do I/O: built only with the `runtime` feature (the fuzz crate builds
/// the pure core without it).
macro_rules! runtime_modules {
    ($($name:ident),* $(,)?) => { $(#[cfg(feature = "runtime")] pub mod $name;)* };
}

runtime_modules!(
    cli, client, cmd, lab, load, media, peer, probe, proc_stats, server, shutdown, signaling, stun_turn,
    telemetry, tls, ui,
);
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod sansio;
pub mod scenario;

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
