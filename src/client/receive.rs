//! The receiving side: one task per remote track decodes Opus and reports, once a second and
//! at the end, packets, RMS level and dominant frequency of its stream; feeds the live view,
//! the mixers (speaker, mixed recording) and, with `--record`, a WAV per stream. A stream is
//! attributed to a peer only when its stream id names a peer of the room: servers need not
//! follow that convention, and an unnamed stream is reported all the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::{Event, StreamRef};
use crate::media::analysis::Meter;
use crate::media::codec::OpusDecoder;
use crate::media::mixer::Mixer;
use crate::media::wav::WavOut;
use crate::peer::RemoteAudio;
use crate::signal::protocol::short_id;

const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Packets between updates of the peer's bar in the live view (100 ms).
const LEVEL_EVERY: u64 = 5;
/// Longer timestamp jumps are a new stream or a reordering, not a gap to fill (5 s at 48 kHz).
const MAX_GAP: usize = 240_000;

/// `<stem>-<peer8>.wav` (or `<stem>-stream<N>.wav` for a stream that names no peer) beside `base`.
fn record_path(base: &Path, source: &StreamRef) -> PathBuf {
    let stem = base.file_stem().map_or("record".into(), |s| s.to_string_lossy().into_owned());
    let name = match &source.from_peer {
        Some(p) => short_id(p).to_owned(),
        None => format!("stream{}", source.stream),
    };
    base.with_file_name(format!("{stem}-{name}.wav"))
}

/// The short name of a stream in the live view and the mixers.
fn key(source: &StreamRef) -> String {
    match &source.from_peer {
        Some(p) => short_id(p).to_owned(),
        None => format!("stream {}", source.stream),
    }
}

/// Where received audio goes, shared by every remote track.
#[derive(Clone)]
pub struct Receiving {
    pub rec: Arc<Recorder>,
    /// Per-peer recordings beside this path.
    pub record: Option<PathBuf>,
    /// Fed with every peer's decoded audio (the speaker, a mixed recording).
    pub mixers: Vec<Arc<Mixer>>,
    /// Which SSRC carries which stream (to name the RTP statistics).
    pub ssrcs: Arc<Mutex<BTreeMap<u32, StreamRef>>>,
    /// The other peers of the room so far (a stream id may name one of them).
    pub peers: Arc<Mutex<BTreeSet<String>>>,
    /// Streams received so far (numbers them).
    pub streams: Arc<AtomicU32>,
    /// Count packets into these instead of decoding (the load generator).
    pub counted: Option<super::counted::StreamCounts>,
}

impl Receiving {
    /// Numbers a new stream and attributes it to the peer its stream id names, if any.
    fn identify(&self, stream_id: &str) -> StreamRef {
        let stream = self.streams.fetch_add(1, Ordering::Relaxed) + 1;
        let named = self.peers.lock().expect("peers lock").contains(stream_id);
        StreamRef { stream, from_peer: named.then(|| stream_id.to_owned()) }
    }
}

pub fn spawn(track: RemoteAudio, to: Receiving, stop: CancellationToken) {
    tokio::spawn(
        async move {
            let stream_id = track.stream_id().await;
            let source = to.identify(&stream_id);
            let Receiving { rec, record, mixers, ssrcs, counted, .. } = to;
            let name = key(&source);
            rec.record(Event::TrackReceived {
                source: source.clone(),
                stream_id,
                codec: track.codec().await,
            });
            if let Some(streams) = counted {
                super::counted::count(&track, &streams, &stop).await;
                return;
            }
            let mut decoder = match OpusDecoder::new() {
                Ok(d) => d,
                Err(e) => {
                    rec.record(Event::Error { message: format!("cannot decode audio of {name}: {e}") });
                    return;
                }
            };
            let mut meter = Meter::new();
            let mut out = match record.map(|base| record_path(&base, &source)) {
                Some(path) => match WavOut::create(&path) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        rec.record(Event::Error { message: format!("cannot record: {e}") });
                        None
                    }
                },
                None => None,
            };
            let mut packets = 0u64;
            let mut next_ts: Option<u32> = None;
            let mut decode_errors = 0u64;
            let mut last = Instant::now();
            let report = |packets: u64, meter: &Meter| Event::AudioLevel {
                source: source.clone(),
                packets,
                rms_dbfs: (meter.rms_dbfs() * 10.0).round() / 10.0,
                freq_hz: meter.dominant_hz().map(|f| (f * 10.0).round() / 10.0),
            };
            while let Some(pkt) = track.recv_until(&stop).await {
                packets += 1;
                if packets == 1 {
                    ssrcs.lock().expect("ssrc map lock").insert(pkt.header.ssrc, source.clone());
                }
                // A lost stretch (RTP timestamps run at 48 kHz for Opus) is recorded as silence,
                // so the recording keeps real time.
                let gap = next_ts.map_or(0, |n: u32| pkt.header.timestamp.wrapping_sub(n) as usize);
                if !pkt.payload.is_empty() {
                    match decoder.decode(&pkt.payload) {
                        Ok(samples) => {
                            meter.push(samples);
                            for m in &mixers {
                                m.push(&name, samples);
                            }
                            next_ts = Some(pkt.header.timestamp.wrapping_add(samples.len() as u32));
                            if let Some(w) = out.as_mut() {
                                let silence = if gap < MAX_GAP { gap } else { 0 };
                                let written = w.write_silence(silence).and_then(|()| w.write(samples));
                                if let Err(e) = written {
                                    rec.record(Event::Error { message: format!("recording stopped: {e}") });
                                    out = None;
                                }
                            }
                        }
                        Err(_) => decode_errors += 1,
                    }
                }
                if packets.is_multiple_of(LEVEL_EVERY) {
                    let hz = meter.dominant_hz().map(|f| format!("{f:.0} Hz")).unwrap_or_default();
                    rec.level(&name, meter.rms_dbfs(), &hz);
                }
                if last.elapsed() >= REPORT_EVERY {
                    last = Instant::now();
                    rec.record(report(packets, &meter));
                }
            }
            for m in &mixers {
                m.remove(&name);
            }
            if decode_errors > 0 {
                rec.record(Event::Error {
                    message: format!("{decode_errors} undecodable packet(s) in {name}"),
                });
            }
            if let Some(mut w) = out
                && let Err(e) = w.finish()
            {
                rec.record(Event::Error { message: format!("recording not finalized: {e}") });
            }
            rec.record(report(packets, &meter));
        }
        .in_current_span(),
    );
}
