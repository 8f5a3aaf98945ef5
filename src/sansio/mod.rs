//! The pure core: no tokio, no webrtc, no sockets, no clock. Inputs and time come in as
//! arguments; messages, actions and findings go out. Everything here is unit-tested without I/O.

pub mod candidate;
pub mod cluster;
pub mod connection_rules;
pub mod correlate;
pub mod faults;
pub mod gather;
pub mod ice_url;
pub mod import;
pub mod internal_addr;
pub mod lab;
pub mod load_phases;
pub mod load_report;
pub mod load_rules;
pub mod netem;
pub mod origin;
pub mod pass_expr;
pub mod protocol;
pub mod quantiles;
pub mod ratelimit;
pub mod restamp;
pub mod room;
pub mod rtp_count;
pub mod rules;
pub mod sdp;
pub mod server_ice;
pub mod source;
pub mod stun_framing;
pub mod summary;
pub mod timeline;
pub mod token;
pub mod turn_error;
pub mod turn_limits;
