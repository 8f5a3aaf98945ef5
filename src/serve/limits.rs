//! What `serve` allows one client, and for how long: every limit a public server needs against
//! abuse and dead peers, each with its `serve` flag and default (docs/security.md, "Security model").

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// A client's request headers must arrive within this (slowloris).
    pub header_read: Duration,
    /// A TLS client must finish its handshake within this.
    pub tls_handshake: Duration,
    /// Largest WebSocket message read at all; larger ones close the socket with 1009.
    pub ws_message_bytes: usize,
    /// Largest protocol frame; larger ones get a `too_large` error and the socket stays open.
    pub frame_bytes: usize,
    /// A ping goes out this often; a client that sends no pong for `pong_timeout` is closed.
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    /// A client that joined must offer within this, and its connection must be up within
    /// `connect_timeout` of its offer.
    pub join_timeout: Duration,
    pub connect_timeout: Duration,
    /// Messages per second a client may send, with this burst; beyond, `rate_limited` errors,
    /// and a close after `abuse_strikes` refused messages in a row.
    pub message_rate: f64,
    pub message_burst: u32,
    pub abuse_strikes: u32,
    /// Remote candidates one session may add (each costs ICE work for the whole call).
    pub max_candidates: usize,
    /// A client whose socket takes longer than this to accept a message is dropped (it does not
    /// read); its queue of pending messages is bounded by `outbound_queue`.
    pub send_timeout: Duration,
    pub outbound_queue: usize,
    /// WebSocket upgrades per second from one source address, with a burst of 3× that.
    pub upgrades_per_ip: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(30),
            tls_handshake: Duration::from_secs(10),
            ws_message_bytes: 2 * 1024 * 1024,
            frame_bytes: crate::signal::protocol::MAX_FRAME_BYTES,
            ping_interval: Duration::from_secs(5),
            pong_timeout: Duration::from_secs(15),
            join_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(15),
            message_rate: 5.0,
            message_burst: 20,
            abuse_strikes: 50,
            max_candidates: 50,
            send_timeout: Duration::from_secs(5),
            outbound_queue: 256,
            upgrades_per_ip: 20.0,
        }
    }
}
