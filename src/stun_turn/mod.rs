//! STUN/TURN tests (`probe --stun`, `probe --turn`) and the TURN TCP/TLS shim for our own
//! peers. `framing.rs` (STUN / ChannelData framing over streams) is pure; `link.rs` (UDP, framed
//! TCP, TLS), `stun.rs` (binding, RFC 5780), `allocation.rs` (TURN allocation), `verdict.rs` and `shim.rs`
//! are drivers.

pub mod framing;

runtime_modules!(allocation, link, session, shim, stun, verdict);

#[cfg(feature = "runtime")]
pub use allocation::*;
#[cfg(feature = "runtime")]
pub use session::Step;
#[cfg(feature = "runtime")]
pub use stun::{StunReport, probe_stun};
