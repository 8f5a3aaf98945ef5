//! The WebSocket signaling client: connects over `ws://` or `wss://` (TLS from `crate::tls`,
//! each phase bounded and its failure named in one line; a room token goes in the upgrade's
//! `Authorization: Bearer` header, and a server's 401/403 is named), then the native protocol's
//! typed messages over tokio-tungstenite: the [`Transport`] of the default `rtc-assist` signaling. URLs in errors have their `token=` values redacted.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::signal::protocol::{ClientMessage, MAX_FRAME_BYTES, ServerMessage};
use crate::signal::transport::{Incoming, Transport};
use crate::signal::secret::Secret;
use crate::signal::token::redact_url;
use crate::tls::{self, HandshakeError, Stream};

/// How long each connection phase (TCP connect, TLS handshake, WebSocket upgrade) may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`SignalingClient::connect`] may take in all (its three phases).
pub const CONNECT_LIMIT: Duration = PHASE_TIMEOUT.saturating_mul(3);

#[derive(Debug, thiserror::Error)]
pub enum SignalingError {
    #[error("{url} is not a WebSocket URL: {cause}")]
    Url { url: String, cause: tungstenite::Error },
    #[error("cannot connect to {url}: connection refused (is the server running on that port?)")]
    Refused { url: String },
    #[error("cannot connect to {url}: {cause}")]
    Tcp { url: String, cause: io::Error },
    #[error("cannot connect to {url}: no {phase} within {} s", PHASE_TIMEOUT.as_secs())]
    Timeout { url: String, phase: &'static str },
    #[error("cannot connect to {url}: {cause}{}", ca_hint(cause))]
    Tls { url: String, cause: HandshakeError },
    #[error(
        "cannot connect to {url}: the server did not answer the WebSocket upgrade over plain HTTP (a TLS server? try wss://)"
    )]
    NotPlain { url: String },
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: tungstenite::Error },
    #[error("the --token cannot be sent in an HTTP header")]
    BadToken,
    #[error("the server refused the connection: 401 Unauthorized ({})", refused_hint(*.token_sent, .reason))]
    Unauthorized { token_sent: bool, reason: String },
    #[error(
        "the server refused the connection: 403 Forbidden (its Origin allow-list, or a proxy, turned us away)"
    )]
    Forbidden,
    #[error("{url}: {cause}")]
    Http { url: String, cause: String },
    #[error("signaling socket: {0}")]
    Socket(#[from] tungstenite::Error),
}

fn refused_hint(token_sent: bool, reason: &str) -> String {
    match (token_sent, reason) {
        (false, _) => "a room token is required: pass --token".to_owned(),
        (true, "") => "the room token was refused".to_owned(),
        (true, r) => format!("the room token was refused: {r}"),
    }
}

/// The first line of a refusal's body, printable and short: the server's reason.
fn body_reason(body: Option<&[u8]>) -> String {
    let text = String::from_utf8_lossy(body.unwrap_or_default());
    let line = text.lines().next().unwrap_or_default();
    line.chars().filter(|c| !c.is_control()).take(120).collect::<String>().trim().to_owned()
}

fn ca_hint(e: &HandshakeError) -> &'static str {
    match e {
        HandshakeError::UnknownIssuer { .. } => "; pass --ca FILE",
        _ => "",
    }
}

/// Bounds one connection phase.
pub(super) async fn phase<T>(
    url: &str,
    name: &'static str,
    fut: impl Future<Output = Result<T, SignalingError>>,
) -> Result<T, SignalingError> {
    tokio::time::timeout(PHASE_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(SignalingError::Timeout { url: url.to_owned(), phase: name }))
}

pub struct SignalingClient {
    ws: WebSocketStream<Box<dyn Stream>>,
}

impl SignalingClient {
    /// Connects to a `ws://` or `wss://` URL; `trust` verifies `wss://` servers (`None`: the
    /// system roots only); `token` is sent as `Authorization: Bearer`.
    pub async fn connect(
        url: &str,
        trust: Option<Arc<ClientConfig>>,
        token: Option<&Secret>,
    ) -> Result<Self, SignalingError> {
        // `url` from here on is the one errors show.
        let (real_url, shown) = (url, redact_url(url));
        let url = shown.as_str();
        let mut request = real_url
            .into_client_request()
            .map_err(|cause| SignalingError::Url { url: url.to_owned(), cause })?;
        if let Some(t) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .map_err(|_| SignalingError::BadToken)?;
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
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
            tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await.map_err(
                |cause| {
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
                },
            )
        };
        let (ws, _) = phase(url, "WebSocket upgrade", upgrade).await?;
        Ok(Self { ws })
    }

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
