//! SFU fan-out for one publishing peer: a reader task takes its RTP off the remote track and
//! hands a copy to each listener's queue without waiting (`try_send`: webrtc-rs drops packets
//! when its 256-packet receive queue fills, so the reader must never block); one writer task
//! per listener re-stamps and sends. Every packet is counted: received, forwarded, dropped
//! because a queue was full, or held back because the listener's track is not negotiated or its
//! connection not up yet.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::peer::{OutTrack, RemoteAudio, RtpPacket};

/// Packets a listener may lag behind before its copies are dropped (~1.3 s of 20 ms audio).
const LISTENER_QUEUE: usize = 64;

#[derive(Debug, Default)]
pub struct ListenerCounters {
    pub forwarded: AtomicU64,
    pub queue_full: AtomicU64,
    pub not_negotiated: AtomicU64,
}

/// Packets received from publishers, forwarded to listeners, dropped on full queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SfuTotals {
    pub received: u64,
    pub forwarded: u64,
    pub queue_full: u64,
}

impl std::ops::AddAssign for SfuTotals {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.forwarded += o.forwarded;
        self.queue_full += o.queue_full;
    }
}

struct Listener {
    tx: mpsc::Sender<RtpPacket>,
    counters: Arc<ListenerCounters>,
}

pub struct Publisher {
    pub peer_id: String,
    pub received: AtomicU64,
    listeners: Mutex<HashMap<String, Listener>>,
    /// Counters of listeners that have gone, so totals never shrink.
    gone: Mutex<HashMap<String, Arc<ListenerCounters>>>,
}

impl Publisher {
    pub fn new(peer_id: String) -> Arc<Self> {
        Arc::new(Self {
            peer_id,
            received: AtomicU64::new(0),
            listeners: Mutex::new(HashMap::new()),
            gone: Mutex::new(HashMap::new()),
        })
    }

    /// Reads the publisher's track until it ends, fanning each packet out.
    pub fn spawn_reader(self: &Arc<Self>, track: RemoteAudio) {
        let this = self.clone();
        tokio::spawn(
            async move {
                while let Some(pkt) = track.recv().await {
                    this.received.fetch_add(1, Ordering::Relaxed);
                    let listeners = this.listeners.lock().expect("listeners lock");
                    for l in listeners.values() {
                        if l.tx.try_send(pkt.clone()).is_err() {
                            l.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                tracing::debug!("publisher track ended");
            }
            .in_current_span(),
        );
    }

    /// Starts forwarding to `listener` through `out`.
    pub fn subscribe(&self, listener: &str, out: Arc<OutTrack>) {
        let (tx, mut rx) = mpsc::channel::<RtpPacket>(LISTENER_QUEUE);
        let counters = Arc::new(ListenerCounters::default());
        let c = counters.clone();
        tokio::spawn(
            async move {
                while let Some(pkt) = rx.recv().await {
                    match out.forward(pkt).await {
                        Ok(true) => c.forwarded.fetch_add(1, Ordering::Relaxed),
                        Ok(false) => c.not_negotiated.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            tracing::warn!(cause = %e, "forwarding stopped");
                            break;
                        }
                    };
                }
            }
            .in_current_span(),
        );
        self.listeners.lock().expect("listeners lock").insert(listener.to_owned(), Listener { tx, counters });
    }

    /// Stops forwarding to `listener` (its writer task ends when the queue closes).
    pub fn unsubscribe(&self, listener: &str) {
        if let Some(l) = self.listeners.lock().expect("listeners lock").remove(listener) {
            self.gone.lock().expect("gone lock").insert(listener.to_owned(), l.counters);
        }
    }

    /// Forwarded packets per listener, current and past.
    pub fn forwarded(&self) -> HashMap<String, u64> {
        let mut out: HashMap<String, u64> = self
            .gone
            .lock()
            .expect("gone lock")
            .iter()
            .map(|(k, c)| (k.clone(), c.forwarded.load(Ordering::Relaxed)))
            .collect();
        for (k, l) in self.listeners.lock().expect("listeners lock").iter() {
            out.insert(k.clone(), l.counters.forwarded.load(Ordering::Relaxed));
        }
        out
    }

    /// Packets dropped on full queues and held back before negotiation or connection, over all
    /// listeners.
    pub fn losses(&self) -> (u64, u64) {
        let sum = |c: &ListenerCounters| {
            (c.queue_full.load(Ordering::Relaxed), c.not_negotiated.load(Ordering::Relaxed))
        };
        let gone = self.gone.lock().expect("gone lock");
        let listeners = self.listeners.lock().expect("listeners lock");
        gone.values()
            .map(|c| sum(c))
            .chain(listeners.values().map(|l| sum(&l.counters)))
            .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
    }

    /// Everything this publisher's audio has done so far, over all listeners.
    pub fn totals(&self) -> SfuTotals {
        let (queue_full, _) = self.losses();
        SfuTotals {
            received: self.received.load(Ordering::Relaxed),
            forwarded: self.forwarded().values().sum(),
            queue_full,
        }
    }

    /// Stops every writer (the publisher left).
    pub fn close(&self) {
        let drained: Vec<String> = self.listeners.lock().expect("listeners lock").keys().cloned().collect();
        for l in drained {
            self.unsubscribe(&l);
        }
    }
}
