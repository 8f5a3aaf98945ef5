//! A source opened for sending: tone, WAV file or microphone frames, paced by a 20 ms timer or
//! by the device, and the errors of opening one.


use std::time::{Duration, Instant};

use tokio::time::{Interval, MissedTickBehavior};

use super::{Source, capture, devices, tone, wav};


/// The rate every internal audio path uses (Opus' native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;
/// One frame's duration.
pub const FRAME: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Wav(#[from] wav::WavError),
    #[error(transparent)]
    Device(#[from] devices::DeviceError),
}

/// The frames a source produces, 20 ms at a time: a tone or file paced by a timer, a
/// microphone by its device.
pub enum Frames {
    Tone { tone: tone::Tone, clock: Option<Interval> },
    File { samples: Vec<f32>, pos: usize, clock: Option<Interval> },
    Mic(Box<capture::Capture>),
}

async fn tick(clock: &mut Option<Interval>) -> Instant {
    let clock = clock.get_or_insert_with(|| {
        let mut i = tokio::time::interval(FRAME);
        i.set_missed_tick_behavior(MissedTickBehavior::Delay);
        i
    });
    clock.tick().await.into_std()
}

impl Frames {
    /// Opens the source: reads and converts a whole WAV file up front, or opens and starts the
    /// input device. Blocking; call off the runtime.
    pub fn open(source: &Source) -> Result<Self, SourceError> {
        Ok(match source {
            Source::Tone { hz } => Self::Tone { tone: tone::Tone::new(*hz), clock: None },
            Source::File(path) => Self::File { samples: wav::read_48k_mono(path)?, pos: 0, clock: None },
            Source::Mic(choice) => Self::Mic(Box::new(capture::Capture::open(choice)?)),
        })
    }

    /// Steps a file back by one frame of `len` samples (it could not be sent yet, so the file
    /// starts with the first frame that goes out). Live sources cannot step back.
    pub fn unread(&mut self, len: usize) {
        if let Self::File { pos, .. } = self {
            *pos = pos.saturating_sub(len);
        }
    }

    /// Waits for and fills `out` with the next frame (a file's last frame padded with
    /// silence); returns when its first sample was captured (or generated), `None` once a file
    /// has ended.
    pub async fn next(&mut self, out: &mut [f32]) -> Result<Option<Instant>, SourceError> {
        match self {
            Self::Tone { tone, clock } => {
                let at = tick(clock).await;
                tone.fill(out);
                Ok(Some(at))
            }
            Self::File { samples, pos, clock } => {
                let at = tick(clock).await;
                let n = out.len().min(samples.len().saturating_sub(*pos));
                out[..n].copy_from_slice(&samples[*pos..*pos + n]);
                out[n..].fill(0.0);
                *pos += n;
                Ok((n > 0).then_some(at))
            }
            Self::Mic(capture) => Ok(Some(capture.next_frame(out).await?)),
        }
    }
}
