//! STUN/TURN allocation probes: drives the sans-I/O TURN client of `rtc-turn` over our own
//! UDP socket or framed TCP stream, timing every step — resolve, connect, Allocate, the 401
//! challenge, the authenticated Allocate, CreatePermission, a data round trip through the relay
//! back to a second socket of ours, Refresh(0) — and maps any failure to a plain verdict.

mod link;
pub mod shim;
mod stun;
pub mod verdict;

pub use stun::{StunReport, probe_stun};

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc_stun::error_code::ErrorCodeAttribute;
use rtc_stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_SUCCESS_RESPONSE, Getter, METHOD_ALLOCATE, METHOD_BINDING, METHOD_REFRESH,
    Message,
};
use rtc_stun::xoraddr::XorMappedAddress;
use rtc_turn::client::{Client, ClientConfig, Event};
use rtc_turn::proto::lifetime::Lifetime;
use sansio::Protocol;
use serde::Serialize;
use tokio::net::{TcpStream, UdpSocket};

use crate::sansio::ice_url::{IceUrl, Transport, rest_expiry};
use link::Link;
use verdict::Verdict;

/// One TURN server to test, with its credentials (never printed: `Debug` redacts them).
#[derive(Clone)]
pub struct TurnTarget {
    pub url: IceUrl,
    pub username: String,
    pub credential: String,
}

impl std::fmt::Debug for TurnTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnTarget").field("url", &self.url.to_string()).finish_non_exhaustive()
    }
}

/// One timed step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub ms: f64,
    pub ok: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What one URL × transport showed.
#[derive(Debug, Clone, Serialize)]
pub struct TurnReport {
    pub url: String,
    pub transport: &'static str,
    pub steps: Vec<Step>,
    pub relayed: Option<String>,
    pub mapped: Option<String>,
    pub lifetime_s: Option<u64>,
    pub verdict: Verdict,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the raw responses said, read alongside the client (which hides error codes).
#[derive(Default)]
struct Observed {
    challenge: Option<(String, bool)>,
    last_error: Option<(u16, String)>,
    mapped: Option<SocketAddr>,
    lifetime: Option<Duration>,
    allocate_errors: usize,
    refreshed: bool,
    /// RFC 5780 OTHER-ADDRESS of a binding response.
    other_address: Option<SocketAddr>,
}

impl Observed {
    fn read(&mut self, datagram: &[u8]) {
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

struct Session {
    /// Datagrams or frames written, retransmissions included.
    sends: u32,
    client: Client,
    link: Link,
    local: SocketAddr,
    server: SocketAddr,
    protocol: TransportProtocol,
    seen: Observed,
}

enum Wait<T> {
    Done(T),
    Failed(Verdict),
}

impl Session {
    async fn flush(&mut self) -> std::io::Result<()> {
        while let Some(t) = self.client.poll_write() {
            self.link.send(&t.message).await?;
            self.sends += 1;
        }
        Ok(())
    }

    /// Waits for the Refresh(0) answer: true if the server confirmed the release.
    async fn released(&mut self, limit: Duration) -> bool {
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
    async fn wait<T>(
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

struct Timer {
    steps: Vec<Step>,
    at: Instant,
}

impl Timer {
    fn new() -> Self {
        Self { steps: Vec::new(), at: Instant::now() }
    }

    fn done(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
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
async fn open_session(
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

/// Tests one TURN URL end to end with a per-step timeout; `bind` is the local address used.
pub async fn probe_turn(
    target: &TurnTarget,
    step_timeout: Duration,
    bind: IpAddr,
    ca: Option<&Path>,
) -> TurnReport {
    let transport = match (target.url.transport(), target.url.is_tls()) {
        (_, true) => "tls",
        (Transport::Tcp, false) => "tcp",
        (Transport::Udp, false) => "udp",
    };
    let mut report = TurnReport {
        url: target.url.to_string(),
        transport,
        steps: Vec::new(),
        relayed: None,
        mapped: None,
        lifetime_s: None,
        verdict: verdict::ok(""),
    };
    let mut timer = Timer::new();
    report.verdict = run_steps(target, step_timeout, bind, ca, &mut timer, &mut report).await;
    report.steps = timer.steps;
    report
}

async fn run_steps(
    target: &TurnTarget,
    limit: Duration,
    bind: IpAddr,
    ca: Option<&Path>,
    timer: &mut Timer,
    report: &mut TurnReport,
) -> Verdict {
    let mut s =
        match open_session(&target.url, &target.username, &target.credential, limit, bind, ca, timer).await {
            Ok(s) => s,
            Err(v) => return v,
        };
    if let Err(e) = s.client.allocate(Instant::now()) {
        return Verdict { ok: false, code: "error", message: format!("allocate: {e}") };
    }
    let allocated = s
        .wait("allocate", limit, |ev| match ev {
            Event::AllocateResponse(_, relayed) => Some(Ok(relayed)),
            Event::AllocateError(_, e) => {
                Some(Err(Verdict { ok: false, code: "error", message: e.to_string() }))
            }
            _ => None,
        })
        .await;
    match &s.seen.challenge {
        Some((realm, nonce)) => {
            let step = Step {
                name: "401 challenge",
                ms: 0.0,
                ok: *nonce,
                detail: format!("realm {realm:?}, nonce {}", if *nonce { "given" } else { "missing" }),
            };
            timer.steps.push(step);
        }
        None => {
            timer.steps.push(Step { name: "401 challenge", ms: 0.0, ok: false, detail: "none seen".into() })
        }
    }
    let relayed = match allocated {
        Wait::Done(r) => r,
        Wait::Failed(v) => {
            timer.done("authenticated allocate", false, "");
            return match s.seen.last_error.clone() {
                Some((code, reason)) => {
                    verdict::from_error_code(code, &reason, rest_expiry(&target.username), now_unix())
                }
                None => v,
            };
        }
    };
    report.relayed = Some(relayed.to_string());
    report.mapped = s.seen.mapped.map(|m| m.to_string());
    report.lifetime_s = s.seen.lifetime.map(|l| l.as_secs());
    timer.done("authenticated allocate", true, format!("relayed {relayed}"));

    let peer = match UdpSocket::bind(SocketAddr::new(s.local.ip(), 0)).await {
        Ok(p) => p,
        Err(e) => return verdict::from_io("peer socket", &e),
    };
    let peer_addr = match peer.local_addr() {
        Ok(a) => a,
        Err(e) => return verdict::from_io("peer socket", &e),
    };
    match s.client.relay(relayed).and_then(|mut r| r.create_permission(Instant::now(), peer_addr)) {
        Ok(_) => {}
        Err(e) => return Verdict { ok: false, code: "error", message: format!("create permission: {e}") },
    }
    let permitted = s
        .wait("create permission", limit, |ev| match ev {
            Event::CreatePermissionResponse(..) => Some(Ok(())),
            Event::CreatePermissionError(_, e) => {
                Some(Err(Verdict { ok: false, code: "error", message: e.to_string() }))
            }
            _ => None,
        })
        .await;
    if let Wait::Failed(v) = permitted {
        timer.done("create permission", false, "");
        return match s.seen.last_error.clone() {
            Some((code, reason)) => verdict::from_error_code(code, &reason, None, now_unix()),
            None => v,
        };
    }
    timer.done("create permission", true, peer_addr.to_string());

    // Round trip: us → relay → our peer socket → relay → us.
    let payload = b"rtc-assist relay check";
    if let Err(e) = s.client.relay(relayed).and_then(|mut r| r.send_to(Instant::now(), payload, peer_addr)) {
        return Verdict { ok: false, code: "error", message: format!("send through relay: {e}") };
    }
    let echo = async {
        let mut buf = [0u8; 512];
        let (n, from) = peer.recv_from(&mut buf).await?;
        peer.send_to(&buf[..n], from).await
    };
    let echoed = tokio::time::timeout(limit, async {
        tokio::join!(
            echo,
            s.wait("round trip", limit, |ev| match ev {
                Event::DataIndicationOrChannelData(_, from, data)
                    if from == peer_addr && data[..] == payload[..] =>
                    Some(Ok(())),
                _ => None,
            })
        )
    })
    .await;
    match echoed {
        Ok((Ok(_), Wait::Done(()))) => timer.done("round trip", true, format!("via {relayed}")),
        _ => {
            timer.done("round trip", false, "");
            return verdict::relay_blocked();
        }
    }
    if let Ok(mut r) = s.client.relay(relayed) {
        let _ = r.close(Instant::now());
    }
    let released = s.released(limit).await;
    timer.done("refresh(0)", released, if released { "allocation released" } else { "refresh refused" });
    verdict::ok(format!("relay {relayed} works"))
}
