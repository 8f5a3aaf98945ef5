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

use crate::signal::dialect::Dialect;
use crate::signal::error::{SignalingError, body_reason, phase};
use crate::signal::protocol::{ClientMessage, MAX_FRAME_BYTES, ServerMessage};
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::signal::transport::{Incoming, Transport};
use crate::tls::{self, Stream};

pub struct SignalingClient {
    ws: Socket,
    /// How messages are written: the native protocol, or a dialect file's names.
    dialect: Option<Arc<Dialect>>,
    /// The dialect's keepalive timer.
    keepalive: Option<tokio::time::Interval>,
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
        Ok(Self { ws: open(url, trust, token, None).await?, dialect: None, keepalive: None })
    }

    /// Connects to an app that speaks `dialect` (its subprotocol asked for, its keepalive sent).
    pub async fn connect_dialect(
        url: &str,
        trust: Option<Arc<ClientConfig>>,
        token: Option<&Secret>,
        dialect: Arc<Dialect>,
    ) -> Result<Self, SignalingError> {
        let ws = open(url, trust, token, dialect.subprotocol.as_deref()).await?;
        let keepalive = dialect.keepalive.as_ref().map(|(every, _)| {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + *every, *every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        });
        Ok(Self { ws, dialect: Some(dialect), keepalive })
    }

    fn decode(&self, text: &str) -> Option<Incoming> {
        let decoded = match &self.dialect {
            None => ServerMessage::decode(text).map(Some),
            Some(d) => d.decode(text),
        };
        match decoded {
            Ok(Some(m)) => Some(Incoming::Message(m)),
            Ok(None) => None,
            Err(e) => Some(Incoming::Invalid(e)),
        }
    }
}

/// Opens a WebSocket to `url` (see [`SignalingClient::connect`]), asking for `subprotocol`
/// when the server needs one (Janus: `janus-protocol`).
pub async fn open(
    url: &str,
    trust: Option<Arc<ClientConfig>>,
    token: Option<&Secret>,
    subprotocol: Option<&str>,
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
        let value = HeaderValue::from_str(p).map_err(|_| SignalingError::Http {
            url: url.to_owned(),
            cause: format!("subprotocol {p:?} cannot be sent in a header"),
        })?;
        request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
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
        let frame = match &self.dialect {
            None => msg.encode(),
            Some(d) => match d.encode(msg) {
                Some(f) => f,
                // The app has no such message (no leave, no trickle end): nothing to send.
                None => return Ok(()),
            },
        };
        self.ws.send(Message::text(frame)).await?;
        Ok(())
    }

    /// The next protocol frame, or `None` once the server closed the socket.
    async fn recv(&mut self) -> Option<Result<Incoming, SignalingError>> {
        loop {
            let frame = match self.keepalive.as_mut() {
                Some(tick) => tokio::select! {
                    frame = self.ws.next() => frame,
                    _ = tick.tick() => {
                        let ping = self.dialect.as_ref().and_then(|d| d.keepalive.as_ref()).map(|(_, m)| m.to_string());
                        if let Some(ping) = ping && let Err(e) = self.ws.send(Message::text(ping)).await {
                            return Some(Err(e.into()));
                        }
                        continue;
                    }
                },
                None => self.ws.next().await,
            };
            match frame? {
                Ok(Message::Text(t)) => match self.decode(t.as_str()) {
                    Some(incoming) => return Some(Ok(incoming)),
                    None => continue,
                },
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
