//! The listening socket of the embedded TURN server, wrapped: the `turn` crate reads every
//! request through it and writes every response through it, one datagram at a time, so it
//! can enforce what the crate has no hook for. Before the crate sees a request it
//!
//! * answers a request the crate would challenge with a newly minted nonce (401 without
//!   MESSAGE-INTEGRITY, 438 Stale Nonce for a nonce not handed out in the last 600 s; the
//!   crate's own limit is a fixed 3600 s) itself, with the latest nonce the crate minted while
//!   that is younger than 300 s. The crate keeps every nonce it mints until it is presented
//!   again, so without this anyone could grow its map by one entry per datagram; with it, the
//!   map grows by one entry per 300 s. Only when no nonce is young enough does the crate see
//!   the request (a stale nonce overwritten, so it cannot accept it) and mint one;
//! * answers an authenticated Allocate beyond the per-username or total quota with 486
//!   (Allocation Quota Reached) itself — the crate never sees it;
//! * answers an authenticated CreatePermission or ChannelBind that would take an allocation
//!   past 1,024 permissions with 508 (Insufficient Capacity) itself.
//!
//! On the way out it records the nonces handed out and the allocations and permissions the
//! crate granted, in the shared [`Ledger`]. Releases come from the crate's close notifications.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use rtc_crypto::RTCCryptoProvider;
use rtc_stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM, ATTR_USERNAME, ATTR_XOR_PEER_ADDRESS};
use rtc_stun::error_code::{ErrorCode, ErrorCodeAttribute};
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_REFRESH, Message, MessageType, Method, Setter, TransactionId, is_stun_message};
use rtc_stun::textattrs::TextAttribute;
use tokio::net::UdpSocket;
use turn::auth::AuthHandler;
use webrtc_util::Conn;

use crate::serve::turn::internal_addr::is_internal_address;
use crate::serve::turn::limits::{Ledger, Refusal};

const MAGIC_COOKIE: u32 = 0x2112_a442;
const HEADER: usize = 20;
/// The requests the crate authenticates (RFC 8656 §5): the ones it answers with a nonce.
const AUTHENTICATED: [Method; 4] = [METHOD_ALLOCATE, METHOD_REFRESH, METHOD_CREATE_PERMISSION, METHOD_CHANNEL_BIND];

/// What a request the gate let through will be recorded as, once the crate grants it.
enum Grant {
    Allocation(String),
    Permissions(Vec<IpAddr>),
}

struct Pending {
    transaction: TransactionId,
    client: SocketAddr,
    grant: Grant,
}

/// The TURN server's listening socket with the limits in front of the crate.
pub(super) struct Gate {
    socket: UdpSocket,
    ledger: Arc<Mutex<Ledger>>,
    /// The crate's own auth handler: the gate checks integrity with the same keys.
    auth: Arc<dyn AuthHandler + Send + Sync>,
    realm: String,
    crypto: Arc<dyn RTCCryptoProvider>,
    started: Instant,
    /// The request being handled: the crate answers it before it reads the next one.
    pending: Mutex<Option<Pending>>,
    /// Answer a permission towards an internal address with 403 (the relay socket would drop
    /// its traffic anyway; the client should know at once).
    refuse_internal: bool,
}

/// What to do with a request.
enum Verdict {
    Pass,
    Answer(Vec<u8>),
}

impl Gate {
    pub(super) fn new(
        socket: UdpSocket,
        ledger: Arc<Mutex<Ledger>>,
        auth: Arc<dyn AuthHandler + Send + Sync>,
        realm: &str,
        crypto: Arc<dyn RTCCryptoProvider>,
    ) -> Self {
        Self {
            socket,
            ledger,
            auth,
            realm: realm.to_owned(),
            crypto,
            started: Instant::now(),
            pending: Mutex::new(None),
            refuse_internal: false,
        }
    }

    pub(super) fn refusing_internal_peers(mut self, refuse: bool) -> Self {
        self.refuse_internal = refuse;
        self
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn inspect(&self, datagram: &mut [u8], from: SocketAddr) -> Verdict {
        let mut m = Message::new();
        if !is_stun_message(datagram) || m.unmarshal_binary(datagram).is_err() || m.typ.class != CLASS_REQUEST
        {
            return Verdict::Pass;
        }
        if let Some(verdict) = self.challenge(datagram, &m, from) {
            return verdict;
        }
        let Some(key) = self.authenticated_key(&m, from) else { return Verdict::Pass };
        let now_ms = self.now_ms();
        let (grant, verdict) = if m.typ.method == METHOD_ALLOCATE {
            let Ok(username) = TextAttribute::get_from_as(&m, ATTR_USERNAME) else { return Verdict::Pass };
            let ledger = self.ledger();
            if ledger.holds(from, &username.text) {
                // A second Allocate on this 5-tuple: the crate's 437, not a quota refusal.
                return Verdict::Pass;
            }
            let verdict = ledger.may_allocate(&username.text);
            if let Err(refusal) = verdict {
                let (held, total) = (ledger.held_by(&username.text), ledger.allocation_count());
                tracing::info!(%from, ?refusal, held, total, "TURN Allocate refused: quota reached");
            }
            (Grant::Allocation(username.text), verdict)
        } else if m.typ.method == METHOD_CREATE_PERMISSION || m.typ.method == METHOD_CHANNEL_BIND {
            let peers = peer_addresses(&m);
            let verdict = if self.refuse_internal && peers.iter().any(|ip| is_internal_address(*ip)) {
                tracing::info!(%from, "TURN permission refused: an internal peer address");
                Err(Refusal::InternalPeer)
            } else {
                self.ledger().may_permit(from, &peers, now_ms)
            };
            if verdict == Err(Refusal::Permissions) {
                tracing::info!(%from, "TURN permission refused: the allocation holds 1024 permissions");
            }
            (Grant::Permissions(peers), verdict)
        } else {
            return Verdict::Pass;
        };
        match verdict {
            Ok(()) => {
                let pending = Pending { transaction: m.transaction_id, client: from, grant };
                *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(pending);
                Verdict::Pass
            }
            Err(refusal) => match self.refusal(&m, refusal, key) {
                Some(answer) => Verdict::Answer(answer),
                None => Verdict::Pass,
            },
        }
    }

    /// What to do with a request the crate would answer with a newly minted nonce (`None`:
    /// the request carries a fresh one, or is not one the crate authenticates).
    fn challenge(&self, datagram: &mut [u8], m: &Message, from: SocketAddr) -> Option<Verdict> {
        if !AUTHENTICATED.contains(&m.typ.method) {
            return None;
        }
        let now_ms = self.now_ms();
        let (code, reason) = if !m.contains(ATTR_MESSAGE_INTEGRITY) {
            (401, "Unauthorized")
        } else {
            // Integrity without a nonce is the crate's 400; it mints nothing for that.
            let nonce = TextAttribute::get_from_as(m, ATTR_NONCE).ok()?;
            if self.ledger().nonce_fresh(&nonce.text, now_ms) {
                return None;
            }
            (438, "Stale Nonce")
        };
        let shared = self.ledger().shared_nonce(now_ms).map(str::to_owned);
        let Some(nonce) = shared else {
            if code == 438 {
                tracing::debug!(%from, "TURN request with a nonce older than 600 s: made stale");
                overwrite_attribute(datagram, ATTR_NONCE.0, b'x');
            }
            return Some(Verdict::Pass);
        };
        let tail: Vec<Box<dyn Setter>> = vec![
            Box::new(TextAttribute::new(ATTR_NONCE, nonce)),
            Box::new(TextAttribute::new(ATTR_REALM, self.realm.clone())),
        ];
        Some(error_response(m, code, reason, tail).map_or(Verdict::Pass, Verdict::Answer))
    }

    /// The long-term key of a request whose MESSAGE-INTEGRITY checks out.
    fn authenticated_key(&self, m: &Message, from: SocketAddr) -> Option<Vec<u8>> {
        let username = TextAttribute::get_from_as(m, ATTR_USERNAME).ok()?;
        let realm = TextAttribute::get_from_as(m, ATTR_REALM).ok()?;
        if realm.text != self.realm {
            return None;
        }
        let key = self.auth.auth_handle(&username.text, &realm.text, from).ok()?;
        MessageIntegrity::check(&mut m.clone(), &key, self.crypto.crypto()).ok()?;
        Some(key)
    }

    /// The error response carrying `refusal`'s code, integrity-protected with `key`.
    fn refusal(&self, m: &Message, refusal: Refusal, key: Vec<u8>) -> Option<Vec<u8>> {
        let (code, reason) = refusal.code();
        let integrity = MessageIntegrity::new_raw_integrity_with_provider(key, self.crypto.crypto());
        error_response(m, code, reason, vec![Box::new(integrity)])
    }

    /// Records what a response the crate sends tells: a nonce handed out, a grant made.
    fn observe(&self, datagram: &[u8], to: SocketAddr) {
        let mut m = Message::new();
        if !is_stun_message(datagram) || m.unmarshal_binary(datagram).is_err() {
            return;
        }
        let now_ms = self.now_ms();
        if m.typ.class == CLASS_ERROR_RESPONSE
            && let Ok(nonce) = TextAttribute::get_from_as(&m, ATTR_NONCE)
        {
            self.ledger().nonce_issued(&nonce.text, now_ms);
        }
        let pending = {
            let mut slot = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match slot.as_ref() {
                Some(p) if p.transaction == m.transaction_id && p.client == to => slot.take(),
                _ => None,
            }
        };
        if let Some(p) = pending
            && m.typ.class == CLASS_SUCCESS_RESPONSE
        {
            let mut ledger = self.ledger();
            match p.grant {
                Grant::Allocation(username) => ledger.allocated(to, &username),
                Grant::Permissions(peers) => ledger.permitted(to, &peers, now_ms),
            }
        }
    }
}

/// The error response to request `m` with `code`, then the attributes of `tail`.
fn error_response<'a>(
    m: &Message,
    code: u16,
    reason: &str,
    tail: Vec<Box<dyn Setter + 'a>>,
) -> Option<Vec<u8>> {
    let mut setters: Vec<Box<dyn Setter + 'a>> = vec![
        Box::new(m.transaction_id),
        Box::new(MessageType::new(m.typ.method, CLASS_ERROR_RESPONSE)),
        Box::new(ErrorCodeAttribute { code: ErrorCode(code), reason: reason.as_bytes().to_vec() }),
    ];
    setters.extend(tail);
    let mut out = Message::new();
    match out.build(&setters) {
        Ok(()) => Some(out.raw),
        Err(e) => {
            tracing::warn!(cause = %e, "building a TURN error response");
            None
        }
    }
}

/// Overwrites the value of every attribute of type `typ` with `fill` bytes.
fn overwrite_attribute(datagram: &mut [u8], typ: u16, fill: u8) {
    let mut at = HEADER;
    while at + 4 <= datagram.len() {
        let t = u16::from_be_bytes([datagram[at], datagram[at + 1]]);
        let len = usize::from(u16::from_be_bytes([datagram[at + 2], datagram[at + 3]]));
        let end = (at + 4 + len).min(datagram.len());
        if t == typ {
            datagram[at + 4..end].fill(fill);
        }
        at += 4 + len.div_ceil(4) * 4;
    }
}

/// Every XOR-PEER-ADDRESS of `m` (RFC 8656 §18.3), IP only: permissions are per IP address.
fn peer_addresses(m: &Message) -> Vec<IpAddr> {
    let mut xor = [0u8; 16];
    xor[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    xor[4..].copy_from_slice(&m.transaction_id.0);
    m.attributes
        .0
        .iter()
        .filter(|a| a.typ == ATTR_XOR_PEER_ADDRESS)
        .filter_map(|a| match (a.value.get(1), a.value.len()) {
            (Some(1), 8) => {
                let b: [u8; 4] = std::array::from_fn(|i| a.value[4 + i] ^ xor[i]);
                Some(IpAddr::V4(Ipv4Addr::from(b)))
            }
            (Some(2), 20) => {
                let b: [u8; 16] = std::array::from_fn(|i| a.value[4 + i] ^ xor[i]);
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => None,
        })
        .collect()
}

#[async_trait]
impl Conn for Gate {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(self.socket.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.recv(buf).await?)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket.recv_from(buf).await?;
            match self.inspect(&mut buf[..n], from) {
                Verdict::Pass => return Ok((n, from)),
                Verdict::Answer(reply) => {
                    self.socket.send_to(&reply, from).await?;
                }
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.send(buf).await?)
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        self.observe(buf, target);
        Ok(self.socket.send_to(buf, target).await?)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_stun::message::BINDING_REQUEST;

    #[test]
    fn nonces_are_overwritten_in_place_and_peers_decoded() {
        let mut m = Message::new();
        let peer = rtc_stun::xoraddr::XorMappedAddress { ip: "198.51.100.7".parse().unwrap(), port: 9 };
        let setters: [Box<dyn Setter>; 4] = [
            Box::new(TransactionId::new()),
            Box::new(BINDING_REQUEST),
            Box::new(TextAttribute::new(ATTR_NONCE, "abcde".into())),
            Box::new(PeerSetter(peer)),
        ];
        m.build(&setters).unwrap();
        assert_eq!(peer_addresses(&m), vec![IpAddr::from([198, 51, 100, 7])]);
        let mut raw = m.raw.clone();
        overwrite_attribute(&mut raw, ATTR_NONCE.0, b'x');
        let mut back = Message::new();
        back.unmarshal_binary(&raw).unwrap();
        assert_eq!(TextAttribute::get_from_as(&back, ATTR_NONCE).unwrap().text, "xxxxx");
        assert_eq!(peer_addresses(&back), peer_addresses(&m), "other attributes untouched");
    }

    struct PeerSetter(rtc_stun::xoraddr::XorMappedAddress);

    impl Setter for PeerSetter {
        fn add_to(&self, m: &mut Message) -> rtc_shared::error::Result<()> {
            self.0.add_to_as(m, ATTR_XOR_PEER_ADDRESS)
        }
    }
}
