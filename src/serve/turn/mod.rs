//! `serve --turn`: the embedded TURN server. `limits.rs` (quotas, the permission cap, nonce
//! ages) and `internal_addr.rs` (the relay-peer deny-list) are pure; `server.rs` runs the
//! `turn` crate's server and `gate.rs` guards its listening socket.

pub mod internal_addr;
pub mod limits;

runtime_modules!(gate, server);

#[cfg(feature = "runtime")]
pub use server::*;
