//! Signaling: what travels between a peer and a signaling server. Pure: `protocol.rs` (the JSON
//! wire messages), `candidate.rs` (RFC 8839 candidate grammar), `sdp.rs` and `sdpfrag.rs` (SDP
//! reading; WHIP answers and RFC 8840 fragments), `http_step.rs` (an HTTP request as recorded),
//! `janus_api.rs` (Janus' WebSocket API: messages and steps), `dialect.rs` (dialect files: an
//! app's own JSON names), `ice_url.rs` (STUN/TURN URLs, TURN REST credentials), `ice_link.rs`
//! (ICE servers in HTTP `Link` headers), `kind.rs` (which signaling, `--signal`), `token.rs` (room
//! tokens) and `secret.rs`. Drivers: the `transport.rs` seam every signaling transport
//! implements — `websocket.rs` (ws:// or wss://, the native protocol or a dialect), `whip.rs`
//! (WHIP/WHEP over `http_client.rs`) and `janus.rs` (Janus' WebSocket API) — and `error.rs`, why
//! signaling failed.

pub mod candidate;
pub mod dialect;
pub mod http_step;
pub mod janus_api;
pub mod ice_link;
pub mod ice_url;
pub mod kind;
pub mod protocol;
pub mod sdp;
pub mod sdpfrag;
pub mod secret;
pub mod token;

runtime_modules!(error, http_client, janus, transport, websocket, whip);
