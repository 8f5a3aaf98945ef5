//! Signaling: what travels between a peer and a signaling server. Pure: `protocol.rs` (the JSON
//! wire messages), `candidate.rs` (RFC 8839 candidate grammar), `sdp.rs`, `ice_url.rs` (STUN/TURN
//! URLs, TURN REST credentials), `token.rs` (room tokens) and `secret.rs`. Drivers:
//! `websocket.rs` (the WebSocket client, ws:// or wss://) behind the `transport.rs` seam that
//! every signaling transport implements.

pub mod candidate;
pub mod ice_url;
pub mod kind;
pub mod protocol;
pub mod sdp;
pub mod sdpfrag;
pub mod secret;
pub mod token;

runtime_modules!(http_client, transport, websocket, whip);
