//! The embedded TURN server (`turn` 0.17.2, UDP; RFC 8656) that `serve --turn` runs: REST
//! shared-secret credentials in the coturn form `expiry:user` (the crate's own handler only
//! takes a bare expiry), checked for expiry only when an allocation is created, so a call
//! outlives its credential; relaying refused towards internal peers unless allowed (RFC 8656
//! §21) — enforced on the relay socket itself, since the crate has no permission hook; and the
//! allocation quotas, permission cap and nonce lifetime of `gate.rs`.


use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::net::UdpSocket;
use turn::auth::{AuthHandler, generate_auth_key};
use turn::relay::RelayAddressGenerator;
use turn::server::config::{ConnConfig, ServerConfig as TurnServerConfig};
use webrtc_util::Conn;

use crate::serve::turn::internal_addr::{internal_range, is_internal_address};
use crate::serve::turn::limits::{Ledger, TurnLimits};
use crate::signal::ice_url::{rest_credentials, rest_expiry, rest_password};
use crate::signal::protocol::IceServer;
use super::gate::Gate;

const REALM: &str = "rtc-assist";

/// How `serve` runs its TURN server.
#[derive(Clone)]
pub struct TurnOptions {
    pub listen: SocketAddr,
    /// The shared secret of the REST scheme (never logged).
    pub secret: String,
    /// Lifetime of the credentials handed out in `joined_room`.
    pub ttl: Duration,
    /// Relay to loopback/private/link-local peers too (tests on one machine need it).
    pub allow_internal_peers: bool,
    /// F8: hand out (and accept) these static long-term credentials instead.
    pub static_credentials: Option<(String, String)>,
    /// Allocation quotas (per username and in total).
    pub limits: TurnLimits,
}

impl TurnOptions {
    /// A random secret unless one is given; with `f8`, static credentials instead of REST ones.
    pub fn new(
        listen: SocketAddr,
        secret: Option<String>,
        ttl: Duration,
        allow_internal_peers: bool,
        f8: bool,
    ) -> Self {
        Self {
            listen,
            secret: secret.unwrap_or_else(|| format!("{:032x}", rand::random::<u128>())),
            ttl,
            allow_internal_peers,
            static_credentials: f8
                .then(|| ("rtc-assist-static".to_owned(), format!("{:016x}", rand::random::<u64>()))),
            limits: TurnLimits::default(),
        }
    }
}

impl std::fmt::Debug for TurnOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnOptions")
            .field("listen", &self.listen)
            .field("ttl", &self.ttl)
            .field("allow_internal_peers", &self.allow_internal_peers)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The key of a username. The crate asks on every authenticated request without saying which
/// method it is, so a REST username's expiry is waived for the client that already holds a live
/// allocation made with it (a Refresh, CreatePermission or ChannelBind of that allocation).
struct RestAuth {
    secret: String,
    static_credentials: Option<(String, String)>,
    ledger: Arc<Mutex<Ledger>>,
}

impl AuthHandler for RestAuth {
    fn auth_handle(&self, username: &str, realm: &str, src: SocketAddr) -> Result<Vec<u8>, turn::Error> {
        if let Some((user, pass)) = &self.static_credentials
            && user == username
        {
            return Ok(generate_auth_key(username, realm, pass));
        }
        let expiry =
            rest_expiry(username).ok_or_else(|| turn::Error::Other("username has no expiry".into()))?;
        if expiry < now_unix()
            && !self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner).holds(src, username)
        {
            return Err(turn::Error::Other("expired time-limited username".into()));
        }
        Ok(generate_auth_key(username, realm, &rest_password(&self.secret, username)))
    }
}

/// Allocates relay sockets on one address, guarded against internal peers.
struct GuardedRelays {
    ip: IpAddr,
    allow_internal_peers: bool,
}

#[async_trait]
impl RelayAddressGenerator for GuardedRelays {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }

    async fn allocate_conn(
        &self,
        _use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let socket = UdpSocket::bind((self.ip, requested_port))
            .await
            .map_err(|e| turn::Error::Other(e.to_string()))?;
        let addr = socket.local_addr().map_err(|e| turn::Error::Other(e.to_string()))?;
        Ok((Arc::new(GuardedConn { socket, allow_internal_peers: self.allow_internal_peers }), addr))
    }
}

/// A relay socket that neither sends to nor accepts from internal peers unless allowed.
struct GuardedConn {
    socket: UdpSocket,
    allow_internal_peers: bool,
}

impl GuardedConn {
    fn allowed(&self, peer: SocketAddr) -> bool {
        self.allow_internal_peers || !is_internal_address(peer.ip())
    }
}

#[async_trait]
impl Conn for GuardedConn {
    async fn connect(&self, addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(self.socket.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.recv(buf).await?)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket.recv_from(buf).await?;
            if self.allowed(from) {
                return Ok((n, from));
            }
            tracing::debug!(%from, "relay dropped a datagram from an internal address");
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        Ok(self.socket.send(buf).await?)
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if !self.allowed(target) {
            let range = internal_range(target.ip()).unwrap_or_default();
            tracing::info!(%target, range, "relay refused to send to an internal address");
            return Err(webrtc_util::Error::Other(format!(
                "relaying to internal address {target} is not allowed"
            )));
        }
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

/// A running TURN server.
pub struct EmbeddedTurn {
    server: turn::server::Server,
    addr: SocketAddr,
    url: String,
    opts: TurnOptions,
}

impl EmbeddedTurn {
    pub async fn start(opts: TurnOptions) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind(opts.listen).await?;
        let addr = socket.local_addr()?;
        let ledger = Arc::new(Mutex::new(Ledger::new(opts.limits)));
        let auth = Arc::new(RestAuth {
            secret: opts.secret.clone(),
            static_credentials: opts.static_credentials.clone(),
            ledger: Arc::clone(&ledger),
        });
        let crypto =
            rtc_crypto::default_provider().map_err(|e| anyhow::anyhow!("no crypto provider: {e}"))?;
        let gate = Gate::new(socket, Arc::clone(&ledger), Arc::clone(&auth) as _, REALM, crypto)
            .refusing_internal_peers(!opts.allow_internal_peers);
        // Allocations end in the crate (released, expired, closed): it tells us here.
        let (closed_tx, mut closed_rx) = tokio::sync::mpsc::channel::<turn::allocation::AllocationInfo>(64);
        tokio::spawn(async move {
            while let Some(info) = closed_rx.recv().await {
                ledger
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .released(info.five_tuple.src_addr);
            }
        });
        let server = turn::server::Server::new(TurnServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(gate),
                relay_addr_generator: Box::new(GuardedRelays {
                    ip: addr.ip(),
                    allow_internal_peers: opts.allow_internal_peers,
                }),
            }],
            realm: REALM.to_owned(),
            auth_handler: auth,
            channel_bind_timeout: Duration::from_secs(0),
            alloc_close_notify: Some(closed_tx),
        })
        .await?;
        let host = if addr.is_ipv6() { format!("[{}]", addr.ip()) } else { addr.ip().to_string() };
        let url = format!("turn:{host}:{}?transport=udp", addr.port());
        tracing::info!(
            %url,
            user_quota = opts.limits.user_quota,
            total_quota = opts.limits.total_quota,
            "embedded TURN server listening"
        );
        Ok(Self { server, addr, url, opts })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ICE server entry for `peer`: time-limited REST credentials (or F8's static ones).
    pub fn ice_server(&self, peer: &str) -> IceServer {
        let (username, credential) = match &self.opts.static_credentials {
            Some(pair) => pair.clone(),
            None => rest_credentials(&self.opts.secret, peer, now_unix(), self.opts.ttl.as_secs()),
        };
        IceServer { urls: vec![self.url.clone()], username: Some(username), credential: Some(credential) }
    }

    pub async fn close(&self) {
        if let Err(e) = self.server.close().await {
            tracing::debug!(cause = %e, "closing TURN server");
        }
    }
}
