//! The sending side: the source's samples (tone or WAV file), encoded with Opus in 20 ms frames, paced by a
//! 20 ms clock and written to the local track.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::media::codec::{DEFAULT_BITRATE, OpusEncoder};
use crate::media::{FRAME_SAMPLES, Frames, Source};
use crate::peer::LocalAudio;

const FRAME: Duration = Duration::from_millis(20);

/// Starts sending; `sent` counts packets that went out. Stops with `stop`.
pub fn spawn(
    source: Source,
    track: LocalAudio,
    sent: Arc<AtomicU64>,
    stop: CancellationToken,
) -> Result<(), String> {
    let mut encoder = OpusEncoder::new(DEFAULT_BITRATE).map_err(|e| e.to_string())?;
    let mut frames = Frames::open(&source).map_err(|e| e.to_string())?;
    tokio::spawn(
        async move {
            let mut frame = vec![0.0f32; FRAME_SAMPLES];
            let mut tick = tokio::time::interval(FRAME);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stop.cancelled() => break,
                }
                if !frames.fill(&mut frame) {
                    tracing::info!("source ended");
                    break;
                }
                let packet = match encoder.encode(&frame) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(cause = %e, "encoding stopped");
                        break;
                    }
                };
                match track.send(packet, FRAME).await {
                    Ok(true) => {
                        sent.fetch_add(1, Ordering::Relaxed);
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
