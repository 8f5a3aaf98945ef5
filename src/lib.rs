//! rtc-assist: a WebRTC peer and connection diagnostic tool.
//!
//! # Layout: one folder per capability
//! - [`signal`]: what travels between peers and signaling servers (wire messages, candidates,
//!   SDP, ICE URLs, tokens) and the transports that carry it.
//! - [`serve`]: the signaling server with rooms, the SFU, TURN and the cluster.
//! - [`client`]: the peer behind `join`, `demo` and `load`; [`peer`]: the webrtc-rs wrapper.
//! - [`probe`] and [`stun_turn`]: the end-to-end probe and the STUN/TURN tests.
//! - [`diagnose`]: timeline, connection model, importers, rules, summaries.
//! - [`load`], [`lab`] (network namespaces), [`scenario`], [`media`] (audio and RTP).
//! - [`cmd`]: one module per subcommand with its arguments, wiring drivers to the core;
//!   [`ui`] only renders.
//!
//! Each capability keeps its pure core (no tokio, no webrtc, no sockets, no clock) in modules
//! of its own beside its drivers; the drivers need the default `runtime` feature. Without it
//! only the pure modules build, which is what the fuzz targets (`fuzz/`, properties in
//! `fuzzing`) link; `tests/purity.rs` checks the rule.
//!
//! `ARCHITECTURE.md` at the repository root lists the invariants.

/// Declares modules that do I/O: built only with the `runtime` feature (the fuzz crate builds
/// the pure core without it).
macro_rules! runtime_modules {
    ($($name:ident),* $(,)?) => { $(#[cfg(feature = "runtime")] pub mod $name;)* };
}

runtime_modules!(client, cmd, peer, probe, shutdown, telemetry, tls, ui);
pub mod diagnose;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod lab;
pub mod load;
pub mod media;
pub mod scenario;
pub mod serve;
pub mod signal;
pub mod stun_turn;

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
