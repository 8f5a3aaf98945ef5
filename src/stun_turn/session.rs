//! One STUN/TURN client session, shared by the STUN and TURN probes: resolve, connect (TCP/TLS)
//! or bind (UDP), the sans-I/O client of `rtc-turn` over that link, what the raw responses said
//! (the client hides error codes), and the timer that turns each step into a [`Step`].

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc_stun::error_code::ErrorCodeAttribute;
use rtc_stun::message::{CLASS_ERROR_RESPONSE, CLASS_SUCCESS_RESPONSE, Getter, METHOD_ALLOCATE, METHOD_BINDING, METHOD_REFRESH, Message};
use rtc_stun::xoraddr::XorMappedAddress;
use rtc_turn::client::{Client, ClientConfig, Event};
use rtc_turn::proto::lifetime::Lifetime;
use sansio::Protocol;
use serde::Serialize;
use tokio::net::{TcpStream, UdpSocket};

use crate::signal::ice_url::{IceUrl, Transport};
use super::link::{self, Link};
use super::verdict::{self, Verdict};

/// One timed step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub ms: f64,
    pub ok: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}


/// What the raw responses said, read alongside the client (which hides error codes).
#[derive(Default)]
pub(super) struct Observed {
    pub(super) challenge: Option<(String, bool)>,
    pub(super) last_error: Option<(u16, String)>,
    pub(super) mapped: Option<SocketAddr>,
    pub(super) lifetime: Option<Duration>,
    pub(super) allocate_errors: usize,
    pub(super) refreshed: bool,
    /// RFC 5780 OTHER-ADDRESS of a binding response.
    pub(super) other_address: Option<SocketAddr>,
}

impl Observed {
    pub(super) fn read(&mut self, datagram: &[u8]) {
        let mut m = Message::new();
        if m.unmarshal_binary(datagram).is_err() {
            return;
        }
        if m.typ.class == CLASS_ERROR_RESPONSE {
            let mut e = ErrorCodeAttribute::default();
            if e.get_from(&m).is_ok() {
                let reason = String::from_utf8_lossy(&e.reason).into_owned();
                if m.typ.method == METHOD_ALLOCATE {
                    self.allocate_errors += 1;
                    if e.code.0 == 401 && self.challenge.is_none() {
                        let realm = rtc_stun::textattrs::TextAttribute::get_from_as(
                            &m,
                            rtc_stun::attributes::ATTR_REALM,
                        )
                        .map(|t| t.text)
                        .unwrap_or_default();
                        let nonce = m.contains(rtc_stun::attributes::ATTR_NONCE);
                        self.challenge = Some((realm, nonce));
                        return;
                    }
                }
                self.last_error = Some((e.code.0, reason));
            }
        } else if m.typ.class == CLASS_SUCCESS_RESPONSE && m.typ.method == METHOD_BINDING {
            let mut other = rtc_stun::addr::MappedAddress::default();
            if other.get_from_as(&m, rtc_stun::attributes::ATTR_OTHER_ADDRESS).is_ok() {
                self.other_address = Some(SocketAddr::new(other.ip, other.port));
            }
        } else if m.typ.class == CLASS_SUCCESS_RESPONSE && m.typ.method == METHOD_REFRESH {
            self.refreshed = true;
        } else if m.typ.class == CLASS_SUCCESS_RESPONSE && m.typ.method == METHOD_ALLOCATE {
            let mut x = XorMappedAddress::default();
            if x.get_from(&m).is_ok() {
                self.mapped = Some(SocketAddr::new(x.ip, x.port));
            }
            let mut l = Lifetime::default();
            if l.get_from(&m).is_ok() {
                self.lifetime = Some(l.0);
            }
        }
    }
}

pub(super) struct Session {
    /// Datagrams or frames written, retransmissions included.
    pub(super) sends: u32,
    pub(super) client: Client,
    pub(super) link: Link,
    pub(super) local: SocketAddr,
    pub(super) server: SocketAddr,
    pub(super) protocol: TransportProtocol,
    pub(super) seen: Observed,
}

pub(super) enum Wait<T> {
    Done(T),
    Failed(Verdict),
}

impl Session {
    pub(super) async fn flush(&mut self) -> std::io::Result<()> {
        while let Some(t) = self.client.poll_write() {
            self.link.send(&t.message).await?;
            self.sends += 1;
        }
        Ok(())
    }

    /// Waits for the Refresh(0) answer: true if the server confirmed the release.
    pub(super) async fn released(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        if self.flush().await.is_err() {
            return false;
        }
        while !self.seen.refreshed && Instant::now() < deadline {
            match tokio::time::timeout_at(deadline.into(), self.link.recv()).await {
                Ok(Ok(datagram)) => self.seen.read(&datagram),
                _ => break,
            }
        }
        self.seen.refreshed
    }

    /// Runs the client until `pick` accepts an event, the deadline passes, or the link fails.
    pub(super) async fn wait<T>(
        &mut self,
        step: &str,
        limit: Duration,
        mut pick: impl FnMut(Event) -> Option<Result<T, Verdict>>,
    ) -> Wait<T> {
        let deadline = Instant::now() + limit;
        loop {
            if let Err(e) = self.flush().await {
                return Wait::Failed(verdict::from_io(step, &e));
            }
            while let Some(ev) = self.client.poll_event() {
                match ev {
                    Event::TransactionTimeout(_) => return Wait::Failed(verdict::timeout(step)),
                    other => {
                        if let Some(r) = pick(other) {
                            return match r {
                                Ok(v) => Wait::Done(v),
                                Err(v) => Wait::Failed(v),
                            };
                        }
                    }
                }
            }
            let wake = self.client.poll_timeout().map_or(deadline, |t| t.min(deadline));
            tokio::select! {
                r = self.link.recv() => match r {
                    Ok(datagram) => {
                        self.seen.read(&datagram);
                        let msg = TaggedBytesMut {
                            now: Instant::now(),
                            transport: TransportContext {
                                local_addr: self.local,
                                peer_addr: self.server,
                                transport_protocol: self.protocol,
                                ecn: None,
                            },
                            message: BytesMut::from(&datagram[..]),
                        };
                        if let Err(e) = self.client.handle_read(msg) {
                            tracing::debug!(cause = %e, "TURN client rejected a message");
                        }
                    }
                    Err(e) => return Wait::Failed(verdict::from_io(step, &e)),
                },
                () = tokio::time::sleep_until(wake.into()) => {
                    if Instant::now() >= deadline {
                        return Wait::Failed(verdict::timeout(step));
                    }
                    let _ = self.client.handle_timeout(Instant::now());
                }
            }
        }
    }
}

pub(super) struct Timer {
    pub(super) steps: Vec<Step>,
    pub(super) at: Instant,
}

impl Timer {
    pub(super) fn new() -> Self {
        Self { steps: Vec::new(), at: Instant::now() }
    }

    pub(super) fn done(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
        self.steps.push(Step {
            name,
            ms: self.at.elapsed().as_secs_f64() * 1000.0,
            ok,
            detail: detail.into(),
        });
        self.at = Instant::now();
    }
}

/// Resolves, connects (TCP/TLS) or binds (UDP) and builds the sans-I/O client for `url`.
pub(super) async fn open_session(
    url: &IceUrl,
    username: &str,
    password: &str,
    limit: Duration,
    bind: IpAddr,
    ca: Option<&Path>,
    timer: &mut Timer,
) -> Result<Session, Verdict> {
    let host = format!("{}:{}", url.host, url.port);
    let server = match tokio::time::timeout(limit, tokio::net::lookup_host(&host)).await {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(a) => a,
            None => return Err(verdict::dns(&url.host, "no address")),
        },
        Ok(Err(e)) => return Err(verdict::dns(&url.host, &e.to_string())),
        Err(_) => return Err(verdict::timeout("resolve")),
    };
    timer.done("resolve", true, server.to_string());
    let (link, protocol) = if !url.is_tls() && url.transport() == Transport::Udp {
        match UdpSocket::bind(SocketAddr::new(bind, 0)).await {
            Ok(s) => (Link::Udp { socket: s, server }, TransportProtocol::UDP),
            Err(e) => return Err(verdict::from_io("bind", &e)),
        }
    } else {
        let stream = match tokio::time::timeout(limit, TcpStream::connect(server)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(verdict::from_io("connect", &e)),
            Err(_) => return Err(verdict::timeout("connect")),
        };
        timer.done("connect", true, "");
        let link = if url.is_tls() {
            match tokio::time::timeout(limit, Link::tls(stream, &url.host, ca)).await {
                Ok(Ok(l)) => {
                    timer.done("TLS handshake", true, "certificate verified");
                    l
                }
                Ok(Err(link::TlsFailure::Config(e))) => return Err(verdict::tls(&e)),
                Ok(Err(link::TlsFailure::Handshake(e))) => {
                    timer.done("TLS handshake", false, "");
                    return Err(verdict::tls(&e));
                }
                Err(_) => return Err(verdict::timeout("TLS handshake")),
            }
        } else {
            match Link::tcp(stream) {
                Ok(l) => l,
                Err(e) => return Err(verdict::from_io("connect", &e)),
            }
        };
        (link, TransportProtocol::TCP)
    };
    if protocol == TransportProtocol::UDP {
        timer.done("connect", true, "");
    }
    let local = match link.local_addr() {
        Ok(a) => a,
        Err(e) => return Err(verdict::from_io("connect", &e)),
    };
    let provider = match rtc_crypto::default_provider() {
        Ok(p) => p,
        Err(e) => {
            return Err(Verdict { ok: false, code: "error", message: format!("no crypto provider: {e}") });
        }
    };
    let config = ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        local_addr: local,
        transport_protocol: protocol,
        username: username.to_owned(),
        password: password.to_owned(),
        realm: String::new(),
        software: "rtc-assist probe".into(),
        rto_in_ms: 200,
        allocation_refresh_interval_cap: None,
    };
    let client = match Client::new(config, provider) {
        Ok(c) => c,
        Err(e) => return Err(Verdict { ok: false, code: "error", message: format!("TURN client: {e}") }),
    };
    Ok(Session { sends: 0, client, link, local, server, protocol, seen: Observed::default() })
}

