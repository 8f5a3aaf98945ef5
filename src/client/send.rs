//! The sending side: 20 ms frames from the source (tone, WAV file or microphone), encoded with
//! Opus and written to the local track; a tone or file is paced by a timer, a microphone by its
//! device. Our own level feeds the live view.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::Event;
use crate::media::analysis::Meter;
use crate::media::codec::OpusEncoder;
use crate::media::devices::DeviceError;
use crate::media::{FRAME, FRAME_SAMPLES, Frames, SourceError};
use crate::peer::LocalAudio;

/// The live view's name for our own stream.
pub const OWN_STREAM: &str = "you";
/// Frames between updates of our level in the live view (100 ms).
const LEVEL_EVERY: u64 = 5;

/// What the sender needs besides its source.
pub struct Sending {
    pub track: LocalAudio,
    pub bitrate: i32,
    /// Counts packets that went out.
    pub sent: Arc<AtomicU64>,
    pub rec: Arc<Recorder>,
    /// Where a failing source device is reported (the session then ends with exit 2).
    pub failed: tokio::sync::mpsc::UnboundedSender<DeviceError>,
}

/// Starts sending `frames`; stops with `stop`, at the end of a file or when the device fails.
pub fn spawn(mut frames: Frames, s: Sending, stop: CancellationToken) -> Result<(), String> {
    let mut encoder = OpusEncoder::new(s.bitrate).map_err(|e| e.to_string())?;
    tokio::spawn(
        async move {
            let mut frame = vec![0.0f32; FRAME_SAMPLES];
            let mut meter = Meter::new();
            let mut count = 0u64;
            loop {
                let next = tokio::select! {
                    n = frames.next(&mut frame) => n,
                    () = stop.cancelled() => break,
                };
                match next {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        tracing::info!("source ended");
                        break;
                    }
                    Err(SourceError::Device(e)) => {
                        let _ = s.failed.send(e);
                        break;
                    }
                    Err(e) => {
                        s.rec.record(Event::Error { message: format!("audio source stopped: {e}") });
                        break;
                    }
                }
                meter.push(&frame);
                count += 1;
                if count.is_multiple_of(LEVEL_EVERY) {
                    s.rec.level(OWN_STREAM, meter.rms_dbfs(), "");
                }
                let packet = match encoder.encode(&frame) {
                    Ok(p) => p,
                    Err(e) => {
                        s.rec.record(Event::Error { message: format!("encoding stopped: {e}") });
                        break;
                    }
                };
                match s.track.send(packet.into(), FRAME).await {
                    Ok(true) => {
                        s.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => frames.unread(FRAME_SAMPLES),
                    Err(e) => {
                        tracing::warn!(cause = %e, "sending stopped");
                        break;
                    }
                }
            }
        }
        .in_current_span(),
    );
    Ok(())
}
