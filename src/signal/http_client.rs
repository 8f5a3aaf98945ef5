//! One HTTP/1.1 exchange for the HTTP signalings (WHIP/WHEP): a fresh connection per request
//! (TLS from `crate::tls` for https, each phase bounded like the WebSocket client's), 307/308
//! redirects followed a few times, the answer's body read up to a limit. hyper does the HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;

use crate::signal::secret::Secret;
use crate::signal::error::{SignalingError, phase};
use crate::tls::{self, Stream};

/// Longest answer body read (an SDP answer is a few KiB).
const MAX_BODY: usize = 256 << 10;
/// How long the server may take to answer one request once connected (an SFU may gather first).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// Redirects (307/308) followed before giving up.
const MAX_REDIRECTS: usize = 3;

/// One request: what goes out besides the URL.
pub struct Request<'a> {
    pub method: Method,
    /// `Content-Type` and body, if any.
    pub body: Option<(&'static str, String)>,
    /// Sent as `Authorization: Bearer …` (never logged).
    pub token: Option<&'a Secret>,
    pub headers: Vec<(header::HeaderName, String)>,
}

/// What came back, and from where (after redirects).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub url: String,
    pub elapsed: Duration,
}

impl Response {
    pub fn header(&self, name: header::HeaderName) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// The body as text, printable and short: an error answer's reason.
    pub fn reason(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        line.chars().filter(|c| !c.is_control()).take(200).collect::<String>().trim().to_owned()
    }
}

/// Resolves `reference` (a Location: absolute, or a path) against the URL it came from.
pub fn resolve(base: &str, reference: &str) -> Option<String> {
    if reference.contains("://") {
        return reference.parse::<Uri>().ok().map(|_| reference.to_owned());
    }
    let uri: Uri = base.parse().ok()?;
    let (scheme, authority) = (uri.scheme_str()?, uri.authority()?);
    let path = if reference.starts_with('/') {
        reference.to_owned()
    } else {
        let dir = &uri.path()[..uri.path().rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{reference}")
    };
    let url = format!("{scheme}://{authority}{path}");
    url.parse::<Uri>().ok().map(|_| url)
}

/// Sends `req` to `url`, following 307/308 redirects.
pub async fn send(url: &str, req: &Request<'_>, trust: Option<Arc<ClientConfig>>) -> Result<Response, SignalingError> {
    let started = Instant::now();
    let mut url = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let (status, headers, body) = once(&url, req, trust.clone()).await?;
        let redirect = matches!(status, StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT);
        let next = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| resolve(&url, l));
        match next {
            Some(to) if redirect => url = to,
            _ => return Ok(Response { status, headers, body, url, elapsed: started.elapsed() }),
        }
    }
    Err(SignalingError::Http { url, cause: format!("more than {MAX_REDIRECTS} redirects") })
}

async fn once(
    url: &str,
    req: &Request<'_>,
    trust: Option<Arc<ClientConfig>>,
) -> Result<(StatusCode, HeaderMap, Bytes), SignalingError> {
    let bad = |cause: String| SignalingError::Http { url: url.to_owned(), cause };
    let uri: Uri = url.parse().map_err(|e| bad(format!("not a URL: {e}")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("not an http:// or https:// URL".into())),
    };
    let host = uri.host().ok_or_else(|| bad("no host".into()))?.to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = phase(url, "TCP connection", async {
        TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)).await.map_err(|cause| {
            match cause.kind() {
                std::io::ErrorKind::ConnectionRefused => SignalingError::Refused { url: url.to_owned() },
                _ => SignalingError::Tcp { url: url.to_owned(), cause },
            }
        })
    })
    .await?;
    let stream: Box<dyn Stream> = if https {
        let trust = trust.unwrap_or_else(tls::system_trust);
        let handshake = async {
            tls::connect(tcp, &host, trust).await.map_err(|cause| SignalingError::Tls { url: url.to_owned(), cause })
        };
        Box::new(phase(url, "TLS handshake", handshake).await?)
    } else {
        Box::new(tcp)
    };
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| bad(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = http::Request::builder()
        .method(req.method.clone())
        .uri(uri.clone())
        .header(header::HOST, uri.authority().map_or(host.clone(), |a| a.to_string()));
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    if let Some(t) = req.token {
        let mut value = header::HeaderValue::from_str(&format!("Bearer {}", t.expose()))
            .map_err(|_| SignalingError::BadToken)?;
        value.set_sensitive(true);
        builder = builder.header(header::AUTHORIZATION, value);
    }
    let body = match &req.body {
        Some((content_type, text)) => {
            builder = builder.header(header::CONTENT_TYPE, *content_type);
            Full::new(Bytes::from(text.clone()))
        }
        None => Full::new(Bytes::new()),
    };
    let request = builder.body(body).map_err(|e| bad(e.to_string()))?;
    let exchange = async {
        let response = sender.send_request(request).await.map_err(|e| bad(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| bad(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok((parts.status, parts.headers, body))
    };
    tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(bad(format!("no answer within {} s", ANSWER_TIMEOUT.as_secs()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_request_url() {
        let base = "http://127.0.0.1:8080/whip/room1";
        assert_eq!(resolve(base, "/whip/room1/abc").as_deref(), Some("http://127.0.0.1:8080/whip/room1/abc"));
        assert_eq!(resolve(base, "abc").as_deref(), Some("http://127.0.0.1:8080/whip/abc"));
        assert_eq!(resolve(base, "https://h.example/s/1").as_deref(), Some("https://h.example/s/1"));
        for hostile in ["http://", "/a b", "\u{0}", "javascript:alert(1)"] {
            let r = resolve(base, hostile);
            assert!(r.as_deref().is_none_or(|u| u.parse::<Uri>().is_ok()), "{hostile:?} gave {r:?}");
        }
        assert_eq!(resolve("not a url", "/x"), None);
    }
}
