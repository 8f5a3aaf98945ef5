//! `--record-mix`: every remote peer mixed into one WAV, paced by a 20 ms clock so the recording
//! keeps real time (silence while nobody talks).

use std::path::Path;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::Event;
use crate::media::mixer::Mixer;
use crate::media::wav::{WavError, WavOut};
use crate::media::{FRAME, FRAME_SAMPLES};

/// Starts writing `mixer`'s output to `path` until `stop`; await the handle to finalize the file.
pub fn spawn(
    path: &Path,
    mixer: Arc<Mixer>,
    rec: Arc<Recorder>,
    stop: CancellationToken,
) -> Result<JoinHandle<()>, WavError> {
    let mut out = WavOut::create(path)?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(FRAME);
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut frame = vec![0.0f32; FRAME_SAMPLES];
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => break,
            }
            mixer.mix(&mut frame);
            if let Err(e) = out.write(&frame) {
                rec.record(Event::Error { message: format!("mixed recording stopped: {e}") });
                return;
            }
        }
        if let Err(e) = out.finish() {
            rec.record(Event::Error { message: format!("mixed recording not finalized: {e}") });
        }
    }))
}
