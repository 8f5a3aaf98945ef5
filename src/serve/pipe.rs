//! An in-memory WebSocket: a session task speaks to it exactly as to a client's socket (a
//! stream of messages in, a sink of messages out), while the other end is plain channels. The
//! HTTP signalings (WHIP/WHEP) drive a normal session through it, so rooms, the SFU, faults,
//! limits and recording behave the same whatever the client's signaling.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::ws::Message;
use futures_util::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

/// What a session reads from and writes to: a client's WebSocket, or a [`Pipe`].
pub trait SessionSocket:
    Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Send + Unpin
{
}

impl<T> SessionSocket for T where
    T: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Send + Unpin
{
}

/// The session's end.
pub struct Pipe {
    rx: mpsc::Receiver<Message>,
    tx: PollSender<Message>,
}

/// The other end: what the session sends comes out of `rx`; what goes into `tx` reaches it.
pub struct PipeEnd {
    pub tx: mpsc::Sender<Message>,
    pub rx: mpsc::Receiver<Message>,
}

/// A connected pair holding at most `capacity` messages each way.
pub fn pipe(capacity: usize) -> (Pipe, PipeEnd) {
    let (to_session, from_end) = mpsc::channel(capacity);
    let (to_end, from_session) = mpsc::channel(capacity);
    (Pipe { rx: from_end, tx: PollSender::new(to_end) }, PipeEnd { tx: to_session, rx: from_session })
}

fn closed() -> axum::Error {
    axum::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
}

impl Stream for Pipe {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|m| m.map(Ok))
    }
}

impl Sink<Message> for Pipe {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
        self.tx.poll_reserve(cx).map_err(|_| closed())
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), axum::Error> {
        self.tx.send_item(item).map_err(|_| closed())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
        self.tx.close();
        Poll::Ready(Ok(()))
    }
}
