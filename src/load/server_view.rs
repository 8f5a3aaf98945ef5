//! The server's own view during a load run: `GET /stats` (beside the WebSocket path, or
//! `--stats-url`) once a second over one kept-alive HTTP/1.1 connection, TLS for `https`. A
//! server without it (not ours) simply has no view; nothing else depends on it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;

use crate::load::report::ServerSample;
use crate::tls::{self, Stream};

/// Longest answer to one poll.
const POLL_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest `/stats` body read.
const MAX_BODY: usize = 4 << 20;

/// `/stats` beside a WebSocket URL's path: `ws://h:p/ws` → `http://h:p/stats`.
pub fn stats_url_for(ws_url: &str) -> Option<String> {
    let uri: http::Uri = ws_url.parse().ok()?;
    let scheme = match uri.scheme_str()? {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let authority = uri.authority()?;
    let path = uri.path();
    let dir = &path[..path.rfind('/').unwrap_or(0)];
    Some(format!("{scheme}://{authority}{dir}/stats"))
}

pub struct ServerView {
    uri: http::Uri,
    trust: Option<Arc<ClientConfig>>,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl ServerView {
    pub fn new(url: &str, trust: Option<Arc<ClientConfig>>) -> Option<Self> {
        Some(Self { uri: url.parse().ok()?, trust, sender: None })
    }

    async fn connect(&self) -> Option<SendRequest<Empty<Bytes>>> {
        let host = self.uri.host()?.to_owned();
        let https = self.uri.scheme_str() == Some("https");
        let port = self.uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp =
            TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)).await.ok()?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = if https {
            let trust = self.trust.clone().unwrap_or_else(tls::system_trust);
            Box::new(tls::connect(tcp, &host, trust).await.ok()?)
        } else {
            Box::new(tcp)
        };
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Some(sender)
    }

    async fn get(&mut self) -> Option<serde_json::Value> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.sender = self.connect().await;
        }
        let sender = self.sender.as_mut()?;
        sender.ready().await.ok()?;
        let authority = self.uri.authority()?.as_str().to_owned();
        let request = http::Request::get(self.uri.clone())
            .header(http::header::HOST, authority)
            .body(Empty::new())
            .ok()?;
        let response = sender.send_request(request).await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body =
            http_body_util::Limited::new(response.into_body(), MAX_BODY).collect().await.ok()?.to_bytes();
        serde_json::from_slice(&body).ok()
    }

    /// The statistics as JSON, or `None` when the server has none (readable) right now.
    async fn json(&mut self) -> Option<serde_json::Value> {
        let got = tokio::time::timeout(POLL_TIMEOUT, self.get()).await.ok().flatten();
        if got.is_none() {
            self.sender = None;
        }
        got
    }

    /// One sample of the server's counters.
    pub async fn sample(&mut self) -> Option<ServerSample> {
        serde_json::from_value(self.json().await?).ok()
    }

    /// Packets the server says it forwarded to each listener (by peer id), over every
    /// publisher it has now (`rtc-assist serve`'s `publishers[].forwarded`).
    pub async fn forwarded_to_listeners(&mut self) -> Option<BTreeMap<String, u64>> {
        let stats = self.json().await?;
        let mut to: BTreeMap<String, u64> = BTreeMap::new();
        for p in stats.get("publishers")?.as_array()? {
            for (listener, n) in p.get("forwarded")?.as_object()? {
                *to.entry(listener.clone()).or_insert(0) += n.as_u64().unwrap_or(0);
            }
        }
        Some(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_sit_beside_the_websocket_path() {
        assert_eq!(stats_url_for("ws://127.0.0.1:8765/ws").as_deref(), Some("http://127.0.0.1:8765/stats"));
        assert_eq!(
            stats_url_for("wss://h.example/app/ws?token=x").as_deref(),
            Some("https://h.example/app/stats")
        );
        assert_eq!(stats_url_for("ws://[::1]:9/").as_deref(), Some("http://[::1]:9/stats"));
        assert_eq!(stats_url_for("http://127.0.0.1/ws"), None);
        assert_eq!(stats_url_for("not a url"), None);
    }
}
