//! `serve`: the signaling server with rooms and an audio SFU. Its pure core (rooms, the fault
//! switches, Origin rules, rate limits, the server's own ICE servers, the cluster's decisions,
//! the TURN quotas and deny-list) sits beside the drivers: the HTTP/WebSocket front
//! (`routes.rs`, `accept.rs`; who may upgrade is `auth.rs`'s), one session task per socket, the
//! hub that owns rooms and routes messages between sessions, the SFU fan-out, the embedded TURN
//! server and the Redis cluster.

pub mod faults;
pub mod origin;
pub mod process_sample;
pub mod ratelimit;
pub mod room;
pub mod server_ice;

pub mod cluster;
pub mod turn;

runtime_modules!(accept, auth, guard, hub, limits, pipe, proc_stats, routes, session, sfu, whip);

#[cfg(feature = "runtime")]
pub use auth::{Access, AuthError, TokenKey, unix_now};
#[cfg(feature = "runtime")]
pub use hub::{Hub, HubStats, PublisherStats};
#[cfg(feature = "runtime")]
pub use limits::Limits;
#[cfg(feature = "runtime")]
pub use routes::*;
#[cfg(feature = "runtime")]
pub use turn::TurnOptions;
