//! Why signaling failed, in one line each, for every transport (WebSocket, HTTP): refused,
//! timed out in a named phase, TLS, 401/403 with the server's reason, an HTTP error answer;
//! and [`phase`], which bounds each connection phase. URLs in them have their `token=` redacted.

use std::io;
use std::time::Duration;

use tokio_tungstenite::tungstenite;

use crate::tls::HandshakeError;

/// How long each connection phase (TCP connect, TLS handshake, WebSocket upgrade) may take.
const PHASE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take in all (TCP, TLS, the WebSocket upgrade).
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
    /// Janus refused a request: a core error (458 No such session) or a plugin's
    /// `error_code` (485 No such room).
    #[error("Janus error {code}: {reason}")]
    Janus { code: i64, reason: String },
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
pub(super) fn body_reason(body: Option<&[u8]>) -> String {
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
