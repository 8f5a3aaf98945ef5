//! The WebSocket signaling client: typed send and receive over tokio-tungstenite.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::sansio::protocol::{ClientMessage, DecodeError, MAX_FRAME_BYTES, ServerMessage};

#[derive(Debug, thiserror::Error)]
pub enum SignalingError {
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: tokio_tungstenite::tungstenite::Error },
    #[error("signaling socket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
}

/// What came in on the socket.
#[derive(Debug)]
pub enum Incoming {
    Message(ServerMessage),
    /// A frame that broke the protocol, with the raw text shortened for the timeline.
    Invalid(DecodeError),
}

pub struct SignalingClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl SignalingClient {
    pub async fn connect(url: &str) -> Result<Self, SignalingError> {
        let config = WebSocketConfig::default().max_message_size(Some(4 * MAX_FRAME_BYTES));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .map_err(|source| SignalingError::Connect { url: url.to_owned(), source })?;
        Ok(Self { ws })
    }

    pub async fn send(&mut self, msg: &ClientMessage) -> Result<(), SignalingError> {
        self.ws.send(Message::text(msg.encode())).await?;
        Ok(())
    }

    /// The next protocol frame, or `None` once the server closed the socket.
    pub async fn recv(&mut self) -> Option<Result<Incoming, SignalingError>> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => {
                    return Some(Ok(match ServerMessage::decode(t.as_str()) {
                        Ok(m) => Incoming::Message(m),
                        Err(e) => Incoming::Invalid(e),
                    }));
                }
                Ok(Message::Close(_)) => return None,
                Ok(_) => continue,
                Err(e) => return Some(Err(e.into())),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
