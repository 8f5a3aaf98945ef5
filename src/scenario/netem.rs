//! A UDP relay that puts network conditions on one peer's path to the TURN server: the peer is
//! told the TURN server is here; datagrams go on to the real one and back, each direction
//! judged by its own [`Impairment`] (media only, see `scenario::conditions`). Loopback only; it ends
//! with its token.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::scenario::conditions::{Conditions, Impairment, Verdict};

/// Largest datagram relayed (TURN over UDP stays well below).
const MAX_DATAGRAM: usize = 2048;

/// Sends `datagram` to `to` through `socket` after the verdict's delay (or not at all).
fn forward(socket: &Arc<UdpSocket>, datagram: &[u8], to: SocketAddr, verdict: Verdict) {
    match verdict {
        Verdict::Drop => {}
        Verdict::Deliver(delay) if delay.is_zero() => {
            let _ = socket.try_send_to(datagram, to);
        }
        Verdict::Deliver(delay) => {
            let (socket, datagram) = (socket.clone(), datagram.to_vec());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = socket.send_to(&datagram, to).await;
            });
        }
    }
}

/// Starts relaying between the first peer that sends to the returned address and `turn`; give
/// the peer that address as its TURN server's.
pub async fn start(
    turn: SocketAddr,
    conditions: Conditions,
    seed: u64,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let front = Arc::new(UdpSocket::bind(SocketAddr::new(turn.ip(), 0)).await?);
    let back = Arc::new(UdpSocket::bind(SocketAddr::new(turn.ip(), 0)).await?);
    let addr = front.local_addr()?;
    tokio::spawn(async move {
        let (mut up, mut down) =
            (Impairment::new(conditions, seed), Impairment::new(conditions, seed ^ 0x5eed));
        let (mut from_peer, mut from_turn) = ([0u8; MAX_DATAGRAM], [0u8; MAX_DATAGRAM]);
        let mut peer: Option<SocketAddr> = None;
        loop {
            tokio::select! {
                r = front.recv_from(&mut from_peer) => {
                    let Ok((n, src)) = r else { break };
                    if *peer.get_or_insert(src) != src {
                        continue;
                    }
                    forward(&back, &from_peer[..n], turn, up.judge(&from_peer[..n]));
                }
                r = back.recv_from(&mut from_turn) => {
                    let Ok((n, src)) = r else { break };
                    match peer {
                        Some(p) if src == turn => forward(&front, &from_turn[..n], p, down.judge(&from_turn[..n])),
                        _ => {}
                    }
                }
                () = stop.cancelled() => break,
            }
        }
    });
    Ok(addr)
}
