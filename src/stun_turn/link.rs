//! The transport under a STUN/TURN probe: a UDP socket, or a TCP or TLS stream framed with the
//! self-delimiting STUN / ChannelData lengths (RFC 8656 §12.5). TLS verifies the server
//! against the system roots plus an optional extra CA; it never skips verification.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::stun_turn::framing::{next_frame_len, padded, unpadded};
use crate::tls::{self, Stream};

pub enum Link {
    Udp { socket: UdpSocket, server: SocketAddr },
    Stream { io: Box<dyn Stream>, local: SocketAddr, buf: Vec<u8> },
}

/// Why a TLS link could not be set up.
pub enum TlsFailure {
    Config(String),
    Handshake(String),
}

impl Link {
    pub fn tcp(stream: TcpStream) -> std::io::Result<Self> {
        let local = stream.local_addr()?;
        Ok(Self::Stream { io: Box::new(stream), local, buf: Vec::new() })
    }

    /// TLS over an established TCP connection, verifying `host`'s certificate.
    pub async fn tls(stream: TcpStream, host: &str, extra_ca: Option<&Path>) -> Result<Self, TlsFailure> {
        let local = stream.local_addr().map_err(|e| TlsFailure::Handshake(e.to_string()))?;
        let config = tls::client_config(extra_ca.map(Path::to_path_buf).as_slice())
            .map_err(|e| TlsFailure::Config(format!("--turn-ca {e}")))?;
        let tls =
            tls::connect(stream, host, config).await.map_err(|e| TlsFailure::Handshake(e.to_string()))?;
        Ok(Self::Stream { io: Box::new(tls), local, buf: Vec::new() })
    }
}

impl Link {
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Udp { socket, .. } => socket.local_addr(),
            Self::Stream { local, .. } => Ok(*local),
        }
    }

    pub async fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        match self {
            Self::Udp { socket, server } => socket.send_to(datagram, *server).await.map(|_| ()),
            Self::Stream { io, .. } => {
                io.write_all(&padded(datagram)).await?;
                io.flush().await
            }
        }
    }

    /// The next datagram (or the next framed message from the stream).
    pub async fn recv(&mut self) -> io::Result<Vec<u8>> {
        match self {
            Self::Udp { socket, server } => loop {
                let mut buf = vec![0u8; 2048];
                let (n, from) = socket.recv_from(&mut buf).await?;
                if from == *server {
                    buf.truncate(n);
                    return Ok(buf);
                }
            },
            Self::Stream { io, buf, .. } => loop {
                match next_frame_len(buf) {
                    Ok(Some(len)) => {
                        let frame: Vec<u8> = buf.drain(..len).collect();
                        return Ok(unpadded(&frame).to_vec());
                    }
                    Ok(None) => {}
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
                let mut chunk = [0u8; 4096];
                let n = io.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
            },
        }
    }
}
