//! The WebSocket signaling client: connects over `ws://` or `wss://` (TLS from `crate::tls`,
//! each phase bounded and its failure named in one line; a room token goes in the upgrade's
//! `Authorization: Bearer` header, and a server's 401/403 is named), then the native protocol's
//! typed messages over tokio-tungstenite: the [`Transport`] of the default `rtc-assist` signaling. URLs in errors have their `token=` values redacted.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::signal::error::{SignalingError, body_reason, phase};
use crate::signal::protocol::{ClientMessage, MAX_FRAME_BYTES, ServerMessage};
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::signal::transport::{Incoming, Transport};
use crate::tls::{self, Stream};

pub struct SignalingClient {
    ws: Socket,
}

/// A WebSocket to a signaling server, any protocol.
pub type Socket = WebSocketStream<Box<dyn Stream>>;

impl SignalingClient {
    /// Connects to a `ws://` or `wss://` URL; `trust` verifies `wss://` servers (`None`: the
    /// system roots only); `token` is sent as `Authorization: Bearer`.
    pub async fn connect(
        url: &str,
        trust: Option<Arc<ClientConfig>>,
        token: Option<&Secret>,
    ) -> Result<Self, SignalingError> {
        Ok(Self { ws: open(url, trust, token, None).await? })
    }
}

/// Opens a WebSocket to `url` (see [`SignalingClient::connect`]), asking for `subprotocol`
/// when the server needs one (Janus: `janus-protocol`).
pub async fn open(
    url: &str,
    trust: Option<Arc<ClientConfig>>,
    token: Option<&Secret>,
    subprotocol: Option<&'static str>,
) -> Result<Socket, SignalingError> {
    // `url` from here on is the one errors show.
    let (real_url, shown) = (url, redact_url(url));
    let url = shown.as_str();
    let mut request =
        real_url.into_client_request().map_err(|cause| SignalingError::Url { url: url.to_owned(), cause })?;
    if let Some(t) = token {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", t.expose())).map_err(|_| SignalingError::BadToken)?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    if let Some(p) = subprotocol {
        request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
    }
    let mode = tungstenite::client::uri_mode(request.uri())
        .map_err(|cause| SignalingError::Url { url: url.to_owned(), cause })?;
    let secure = matches!(mode, tungstenite::stream::Mode::Tls);
    let host = request.uri().host().unwrap_or_default().to_owned();
    let port = request.uri().port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = phase(url, "TCP connection", async {
        let addr = host.trim_start_matches('[').trim_end_matches(']');
        TcpStream::connect((addr, port)).await.map_err(|cause| match cause.kind() {
            io::ErrorKind::ConnectionRefused => SignalingError::Refused { url: url.to_owned() },
            _ => SignalingError::Tcp { url: url.to_owned(), cause },
        })
    })
    .await?;
    let stream: Box<dyn Stream> = if secure {
        let trust = trust.unwrap_or_else(tls::system_trust);
        let handshake = async {
            tls::connect(tcp, &host, trust)
                .await
                .map_err(|cause| SignalingError::Tls { url: url.to_owned(), cause })
        };
        Box::new(phase(url, "TLS handshake", handshake).await?)
    } else {
        Box::new(tcp)
    };
    let config = WebSocketConfig::default().max_message_size(Some(4 * MAX_FRAME_BYTES));
    let upgrade = async {
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await.map_err(|cause| {
            match cause {
                // Not an HTTP answer at all: a TLS server answering a plain request, most likely.
                tungstenite::Error::Protocol(
                    ProtocolError::HttparseError(_) | ProtocolError::HandshakeIncomplete,
                ) if !secure => SignalingError::NotPlain { url: url.to_owned() },
                tungstenite::Error::Http(r) if r.status() == StatusCode::UNAUTHORIZED => {
                    SignalingError::Unauthorized {
                        token_sent: token.is_some() || real_url.contains("token="),
                        reason: body_reason(r.body().as_deref()),
                    }
                }
                tungstenite::Error::Http(r) if r.status() == StatusCode::FORBIDDEN => {
                    SignalingError::Forbidden
                }
                cause => SignalingError::Connect { url: url.to_owned(), cause },
            }
        })
    };
    let (ws, _) = phase(url, "WebSocket upgrade", upgrade).await?;
    Ok(ws)
}

#[async_trait]
impl Transport for SignalingClient {
    async fn send(&mut self, msg: &ClientMessage) -> Result<(), SignalingError> {
        self.ws.send(Message::text(msg.encode())).await?;
        Ok(())
    }

    /// The next protocol frame, or `None` once the server closed the socket.
    async fn recv(&mut self) -> Option<Result<Incoming, SignalingError>> {
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

    async fn close(mut self: Box<Self>) {
        let _ = self.ws.close(None).await;
    }
}
