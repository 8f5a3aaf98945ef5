//! The transport under a STUN/TURN probe: a UDP socket, or a TCP stream framed with the
//! self-delimiting STUN / ChannelData lengths (RFC 8656 §12.5).

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::sansio::stun_framing::{next_frame_len, padded, unpadded};

pub enum Link {
    Udp { socket: UdpSocket, server: SocketAddr },
    Tcp { stream: TcpStream, buf: Vec<u8> },
}

impl Link {
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Udp { socket, .. } => socket.local_addr(),
            Self::Tcp { stream, .. } => stream.local_addr(),
        }
    }

    pub async fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        match self {
            Self::Udp { socket, server } => socket.send_to(datagram, *server).await.map(|_| ()),
            Self::Tcp { stream, .. } => stream.write_all(&padded(datagram)).await,
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
            Self::Tcp { stream, buf } => loop {
                match next_frame_len(buf) {
                    Ok(Some(len)) => {
                        let frame: Vec<u8> = buf.drain(..len).collect();
                        return Ok(unpadded(&frame).to_vec());
                    }
                    Ok(None) => {}
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await?;
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
