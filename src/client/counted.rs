//! The load generator's media paths: a publisher loops Opus frames encoded once for the whole
//! run, and a receiver counts RTP sequence numbers and timestamps ([`RtpCount`]) without
//! decoding. Both are cheap enough for hundreds of peers in one process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::media::codec::{CodecError, OpusEncoder};
use crate::media::rtp_count::RtpCount;
use crate::media::tone::Tone;
use crate::media::{FRAME, FRAME_SAMPLES, SAMPLE_RATE};
use crate::peer::{LocalAudio, RemoteAudio};

/// One second of frames, looped (a tone repeats seamlessly at whole hertz).
const LOOP_FRAMES: usize = 50;

/// Every received stream's count, shared with whoever reports on the peer.
pub type StreamCounts = Arc<Mutex<Vec<Arc<Mutex<RtpCount>>>>>;

/// How late the publishers' 20 ms ticks fire, shared by all of them (the generator's pacing).
#[derive(Debug, Default)]
pub struct PacingLag {
    pub ticks: AtomicU64,
    pub late_total_us: AtomicU64,
    pub late_max_us: AtomicU64,
}

impl PacingLag {
    fn note(&self, late_us: u64) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.late_total_us.fetch_add(late_us, Ordering::Relaxed);
        self.late_max_us.fetch_max(late_us, Ordering::Relaxed);
    }

    /// Mean lateness of a tick so far, in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        let ticks = self.ticks.load(Ordering::Relaxed).max(1);
        self.late_total_us.load(Ordering::Relaxed) as f64 / ticks as f64 / 1000.0
    }
}

/// A load peer's media.
#[derive(Clone)]
pub struct Counted {
    /// Frames this peer publishes in a loop; `None`: it only listens.
    pub packets: Option<Arc<[Bytes]>>,
    pub streams: StreamCounts,
    /// Packets this peer has sent.
    pub sent: Arc<AtomicU64>,
    pub lag: Arc<PacingLag>,
    /// Publishing stops when this fires (the run's quiet period before its last count).
    pub quiet: CancellationToken,
}

impl std::fmt::Debug for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counted").field("publishes", &self.packets.is_some()).finish_non_exhaustive()
    }
}

/// One second of a `hz` tone, Opus-encoded at `bitrate` once for every publisher.
pub fn encode_tone(hz: f64, bitrate: i32) -> Result<Arc<[Bytes]>, CodecError> {
    let mut encoder = OpusEncoder::new(bitrate)?;
    let mut tone = Tone::new(hz);
    let mut frame = vec![0.0f32; FRAME_SAMPLES];
    (0..LOOP_FRAMES)
        .map(|_| {
            tone.fill(&mut frame);
            encoder.encode(&frame).map(Bytes::from)
        })
        .collect()
}

/// Sends `packets` round and round every 20 ms until `stop` or `quiet`, counting what went out.
pub fn spawn_sender(
    packets: Arc<[Bytes]>,
    track: LocalAudio,
    sent: Arc<AtomicU64>,
    lag: Arc<PacingLag>,
    stop: CancellationToken,
    quiet: CancellationToken,
) {
    tokio::spawn(
        async move {
            let mut clock = tokio::time::interval(FRAME);
            // Late ticks are caught up: a publisher keeps 50 packets a second on average.
            clock.set_missed_tick_behavior(MissedTickBehavior::Burst);
            let mut i = 0usize;
            loop {
                let due = tokio::select! {
                    due = clock.tick() => due,
                    () = stop.cancelled() => break,
                    () = quiet.cancelled() => break,
                };
                lag.note(due.elapsed().as_micros() as u64);
                match track.send(packets[i % packets.len()].clone(), FRAME).await {
                    Ok(true) => {
                        i += 1;
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(cause = %e, "sending stopped");
                        break;
                    }
                }
            }
        }
        .in_current_span(),
    );
}

/// Counts `track`'s packets into a new entry of `streams` until the track ends or `stop`.
pub async fn count(track: &RemoteAudio, streams: &StreamCounts, stop: &CancellationToken) {
    let count = Arc::new(Mutex::new(RtpCount::new(SAMPLE_RATE)));
    streams.lock().expect("stream counts lock").push(count.clone());
    let epoch = Instant::now();
    while let Some(pkt) = track.recv_until(stop).await {
        let at = epoch.elapsed().as_micros() as u64;
        let h = &pkt.header;
        count.lock().expect("stream count lock").push(h.sequence_number, h.timestamp, at);
    }
}
