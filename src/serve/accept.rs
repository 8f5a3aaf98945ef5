//! The accept loop under `serve`, one for plain HTTP and for TLS: each connection gets its TLS
//! handshake first when there is a certificate (bounded), then hyper's HTTP/1.1 with upgrades
//! (WebSocket) and a header-read timeout, so a client that never finishes its request
//! (slowloris) or its handshake cannot hold a connection. Cancelling stops accepting and asks
//! every open connection to finish gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig as TlsConfig;
use tokio_util::sync::CancellationToken;

use crate::tls::Stream;
use super::limits::Limits;

/// The client's address, in every request's extensions (per-address limits).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(200);

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` is cancelled, then waits
/// for the open connections to finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<TlsConfig>>,
    app: Router,
    limits: &Limits,
    shutdown: CancellationToken,
) {
    let tls = tls.map(TlsAcceptor::from);
    let times = (limits.tls_handshake, limits.header_read);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                while connections.try_join_next().is_some() {}
                let app = app.clone().layer(axum::Extension(ClientAddr(peer)));
                connections.spawn(connection(tcp, peer, tls.clone(), app, times, shutdown.clone()));
            }
            Err(e) => {
                tracing::warn!(cause = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    (tls_handshake, header_read): (Duration, Duration),
    shutdown: CancellationToken,
) {
    let io: Box<dyn Stream> = match tls {
        None => Box::new(tcp),
        Some(acceptor) => {
            let handshake = tokio::select! {
                () = shutdown.cancelled() => return,
                r = tokio::time::timeout(tls_handshake, acceptor.accept(tcp)) => r,
            };
            match handshake {
                Ok(Ok(stream)) => Box::new(stream),
                Ok(Err(e)) => {
                    tracing::debug!(%peer, cause = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "no TLS handshake within {} s", tls_handshake.as_secs());
                    return;
                }
            }
        }
    };
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app)).with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, cause = %e, "HTTP connection ended with an error");
    }
}
