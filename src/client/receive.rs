//! The receiving side: one task per remote track decodes Opus and reports, once a second and
//! at the end, packets, RMS level and dominant frequency for the peer that sent it; feeds the
//! live view, the mixers (speaker, mixed recording) and, with `--record`, a WAV per remote peer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::media::analysis::Meter;
use crate::media::codec::OpusDecoder;
use crate::media::mixer::Mixer;
use crate::media::wav::WavOut;
use crate::peer::RemoteAudio;
use crate::sansio::timeline::Event;
use crate::ui::{Recorder, short_id};

const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Packets between updates of the peer's bar in the live view (100 ms).
const LEVEL_EVERY: u64 = 5;
/// Longer timestamp jumps are a new stream or a reordering, not a gap to fill (5 s at 48 kHz).
const MAX_GAP: usize = 240_000;

/// `<stem>-<peer8>.wav` beside `base`.
fn record_path(base: &Path, peer: &str) -> PathBuf {
    let stem = base.file_stem().map_or("record".into(), |s| s.to_string_lossy().into_owned());
    base.with_file_name(format!("{stem}-{}.wav", short_id(peer)))
}

/// Where received audio goes, shared by every remote track.
#[derive(Clone)]
pub struct Receiving {
    pub rec: Arc<Recorder>,
    /// Per-peer recordings beside this path.
    pub record: Option<PathBuf>,
    /// Fed with every peer's decoded audio (the speaker, a mixed recording).
    pub mixers: Vec<Arc<Mixer>>,
    /// Which SSRC carries which peer's audio (to name the RTP statistics).
    pub ssrcs: Arc<Mutex<BTreeMap<u32, String>>>,
}

pub fn spawn(track: RemoteAudio, to: Receiving, stop: CancellationToken) {
    let Receiving { rec, record, mixers, ssrcs } = to;
    tokio::spawn(
        async move {
            let from_peer = track.stream_id().await;
            rec.record(Event::TrackReceived { from_peer: from_peer.clone(), codec: track.codec().await });
            let mut decoder = match OpusDecoder::new() {
                Ok(d) => d,
                Err(e) => {
                    rec.record(Event::Error {
                        message: format!("cannot decode audio from {from_peer}: {e}"),
                    });
                    return;
                }
            };
            let mut meter = Meter::new();
            let mut out = match record.map(|base| record_path(&base, &from_peer)) {
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
                from_peer: from_peer.clone(),
                packets,
                rms_dbfs: (meter.rms_dbfs() * 10.0).round() / 10.0,
                freq_hz: meter.dominant_hz().map(|f| (f * 10.0).round() / 10.0),
            };
            loop {
                let pkt = tokio::select! {
                    p = track.recv() => match p {
                        Some(p) => p,
                        None => break,
                    },
                    () = stop.cancelled() => break,
                };
                packets += 1;
                if packets == 1 {
                    ssrcs.lock().expect("ssrc map lock").insert(pkt.header.ssrc, from_peer.clone());
                }
                // A lost stretch (RTP timestamps run at 48 kHz for Opus) is recorded as silence,
                // so the recording keeps real time.
                let gap = next_ts.map_or(0, |n: u32| pkt.header.timestamp.wrapping_sub(n) as usize);
                if !pkt.payload.is_empty() {
                    match decoder.decode(&pkt.payload) {
                        Ok(samples) => {
                            meter.push(samples);
                            for m in &mixers {
                                m.push(&from_peer, samples);
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
                    rec.level(short_id(&from_peer), meter.rms_dbfs(), &hz);
                }
                if last.elapsed() >= REPORT_EVERY {
                    last = Instant::now();
                    rec.record(report(packets, &meter));
                }
            }
            for m in &mixers {
                m.remove(&from_peer);
            }
            if decode_errors > 0 {
                rec.record(Event::Error {
                    message: format!("{decode_errors} undecodable packet(s) from {from_peer}"),
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
