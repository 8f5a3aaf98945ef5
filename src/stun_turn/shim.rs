//! The TURN transport shim: webrtc-rs 0.21 gathers TURN over UDP only, so for each
//! `turn:…?transport=tcp` or `turns:` URL a peer is given, a local UDP socket on loopback is
//! presented to it as a plain `turn:127.0.0.1:PORT?transport=udp` server. Each datagram ICE
//! sends there goes over one TCP (or TLS) connection to the real TURN server; each STUN or
//! ChannelData message read from that stream (self-delimiting, RFC 8656 §12.5) comes back as a
//! datagram. The relayed address is still the real server's, so the far side can use it.
//! A lost stream is an allocation loss: reported, and the next datagram reconnects.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::signal::ice_url::{IceUrl, Transport};
use crate::signal::protocol::IceServer;
use super::link::{Link, TlsFailure};

/// What a shim reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShimEvent {
    Connected { url: String },
    Lost { url: String, cause: String },
}

/// Running shims; they stop when this is dropped.
pub struct Shims {
    stop: CancellationToken,
    /// (original URL, the local URL presented to ICE)
    pub mapping: Vec<(String, String)>,
}

impl Drop for Shims {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Whether webrtc-rs cannot use `url` itself (TURN over TCP or TLS).
pub fn needs_shim(url: &IceUrl) -> bool {
    url.is_turn() && (url.is_tls() || url.transport() == Transport::Tcp)
}

/// Replaces every TCP/TLS TURN URL in `servers` by a local UDP shim URL.
pub async fn wrap(
    servers: Vec<IceServer>,
    ca: Option<PathBuf>,
    events: mpsc::UnboundedSender<ShimEvent>,
) -> io::Result<(Vec<IceServer>, Shims)> {
    let mut shims = Shims { stop: CancellationToken::new(), mapping: Vec::new() };
    let mut out = Vec::new();
    for mut server in servers {
        let mut urls = Vec::new();
        for raw in &server.urls {
            match IceUrl::parse(raw) {
                Ok(url) if needs_shim(&url) => {
                    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
                    let local = format!("turn:127.0.0.1:{}?transport=udp", socket.local_addr()?.port());
                    shims.mapping.push((raw.clone(), local.clone()));
                    tokio::spawn(run(socket, url, ca.clone(), events.clone(), shims.stop.clone()));
                    urls.push(local);
                }
                _ => urls.push(raw.clone()),
            }
        }
        server.urls = urls;
        out.push(server);
    }
    Ok((out, shims))
}

async fn connect(url: &IceUrl, ca: Option<&std::path::Path>) -> Result<Link, String> {
    let addr = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    if url.is_tls() {
        Link::tls(stream, &url.host, ca).await.map_err(|e| match e {
            TlsFailure::Config(m) | TlsFailure::Handshake(m) => format!("TLS: {m}"),
        })
    } else {
        Link::tcp(stream).map_err(|e| e.to_string())
    }
}

async fn run(
    socket: UdpSocket,
    url: IceUrl,
    ca: Option<PathBuf>,
    events: mpsc::UnboundedSender<ShimEvent>,
    stop: CancellationToken,
) {
    let name = url.to_string();
    let mut ice: Option<SocketAddr> = None;
    let mut link: Option<Link> = None;
    let mut buf = vec![0u8; 2048];
    loop {
        let from_stream = async {
            match link.as_mut() {
                Some(l) => l.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { break };
                ice = Some(from);
                if link.is_none() {
                    match connect(&url, ca.as_deref()).await {
                        Ok(l) => {
                            let _ = events.send(ShimEvent::Connected { url: name.clone() });
                            link = Some(l);
                        }
                        Err(cause) => {
                            let _ = events.send(ShimEvent::Lost { url: name.clone(), cause });
                            continue;
                        }
                    }
                }
                if let Some(l) = link.as_mut()
                    && let Err(e) = l.send(&buf[..n]).await
                {
                    let _ = events.send(ShimEvent::Lost { url: name.clone(), cause: e.to_string() });
                    link = None;
                }
            }
            r = from_stream => match (r, ice) {
                (Ok(datagram), Some(to)) => {
                    let _ = socket.send_to(&datagram, to).await;
                }
                (Ok(_), None) => {}
                (Err(e), _) => {
                    let _ = events.send(ShimEvent::Lost { url: name.clone(), cause: e.to_string() });
                    link = None;
                }
            },
        }
    }
}

/// Wraps `servers` and records every shim event on `rec` (the shims live as long as the result).
pub async fn wrap_recorded(
    servers: Vec<IceServer>,
    ca: Option<PathBuf>,
    rec: std::sync::Arc<crate::diagnose::recorder::Recorder>,
) -> io::Result<(Vec<IceServer>, Shims)> {
    use crate::diagnose::timeline::Event;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (servers, shims) = wrap(servers, ca, tx).await?;
    for (url, local) in &shims.mapping {
        rec.record(Event::TurnShim {
            url: url.clone(),
            state: "listening".into(),
            detail: Some(local.clone()),
        });
    }
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            rec.record(match ev {
                ShimEvent::Connected { url } => {
                    Event::TurnShim { url, state: "connected".into(), detail: None }
                }
                ShimEvent::Lost { url, cause } => {
                    Event::TurnShim { url, state: "lost".into(), detail: Some(cause) }
                }
            });
        }
    });
    Ok((servers, shims))
}
