//! The seam every signaling transport implements. A peer speaks in the native protocol's typed
//! messages (`ClientMessage` out, [`Incoming`] in); a transport carries them its own way. Today
//! the one implementation is the JSON-over-WebSocket protocol (`websocket.rs`); WHIP/WHEP
//! (HTTP), Janus' WebSocket API and dialect files plug in here, each mapping its own steps onto
//! these messages and recording them in the timeline.

use async_trait::async_trait;

use crate::signal::protocol::{ClientMessage, DecodeError, ServerMessage};
use crate::signal::error::SignalingError;

/// What came in from the server.
#[derive(Debug)]
pub enum Incoming {
    Message(ServerMessage),
    /// A frame that broke the protocol, with the raw text shortened for the timeline.
    Invalid(DecodeError),
}

#[async_trait]
pub trait Transport: Send + Sync {
    async fn send(&mut self, msg: &ClientMessage) -> Result<(), SignalingError>;
    /// The next message, or `None` once the server ended the session.
    async fn recv(&mut self) -> Option<Result<Incoming, SignalingError>>;
    /// Ends the session politely (a close frame, a DELETE, a hangup).
    async fn close(self: Box<Self>);
}
