//! Microphone capture with cpal: opens the default or a named input device (its default
//! configuration, or one the user pinned) and turns whatever it delivers — any sample format,
//! rate or channel count — into 48 kHz mono 20 ms frames for Opus, each stamped with the moment
//! its first sample was captured.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, Sample, SizedSample, StreamConfig};
use tokio::sync::mpsc;

use super::devices::{self, DeviceError, Direction, Failures, Negotiated, with_sample_type};
use super::resample::Converter;
use super::{FRAME_SAMPLES, SAMPLE_RATE};

pub use crate::media::source::InputChoice;

/// A device that delivers nothing for this long has failed (an idle PulseAudio source can take
/// 2 s to start).
const STALL: Duration = Duration::from_secs(5);
/// Device callbacks queued before the oldest are dropped (about 5 s at 20 ms each; an unclocked test device delivers faster than real time).
const QUEUE: usize = 250;

/// One device callback's samples, downmixed to mono at the device rate.
struct Block {
    samples: Vec<f32>,
    /// When the block's last sample was captured.
    captured: Instant,
}

/// An open input stream and the conversion of its samples into Opus frames.
pub struct Capture {
    /// Always `Some` until dropped.
    stream: Option<cpal::Stream>,
    blocks: mpsc::Receiver<Result<Block, String>>,
    converter: Converter,
    /// Converted 48 kHz samples not yet handed out as a frame.
    pending: Vec<f32>,
    /// When the newest pending sample was captured.
    newest: Option<Instant>,
    dropped: Arc<AtomicU64>,
    pub negotiated: Negotiated,
}

fn stream_error(n: &Negotiated, message: impl std::fmt::Display) -> DeviceError {
    devices::stream_error(Direction::Input, &n.device, message)
}

fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    tx: mpsc::Sender<Result<Block, String>>,
    dropped: Arc<AtomicU64>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let errors = tx.clone();
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], info: &cpal::InputCallbackInfo| {
            let ts = info.timestamp();
            let delay = ts.callback.duration_since(ts.capture);
            let captured = Instant::now().checked_sub(delay).unwrap_or_else(Instant::now);
            let samples = data
                .chunks(channels)
                .map(|frame| frame.iter().map(|s| f32::from_sample(*s)).sum::<f32>() / frame.len() as f32)
                .collect();
            if tx.try_send(Ok(Block { samples, captured })).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        },
        {
            let mut failures = Failures::default();
            move |e| {
                if failures.is_fatal(&e) {
                    let _ = errors.try_send(Err(e.to_string()));
                } else {
                    tracing::warn!(cause = %e, "input stream error (continuing)");
                }
            }
        },
        None,
    )
}

impl Capture {
    /// Opens and starts the input stream. Blocking (device probing); call off the runtime.
    pub fn open(choice: &InputChoice) -> Result<Self, DeviceError> {
        let device = devices::find(Direction::Input, choice.device.as_deref())?;
        let (config, format, negotiated) = devices::choose_config(&device, Direction::Input, choice.pinned)?;
        let (tx, blocks) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let stream = with_sample_type!(
            format,
            T => build::<T>(&device, &config, tx, dropped.clone()),
            return Err(stream_error(&negotiated, format!("sample format {format} is not supported")))
        )
        .map_err(|e| stream_error(&negotiated, e))?;
        stream.play().map_err(|e| stream_error(&negotiated, e))?;
        let converter =
            Converter::new(negotiated.rate, SAMPLE_RATE).map_err(|e| stream_error(&negotiated, e))?;
        Ok(Self {
            stream: Some(stream),
            blocks,
            converter,
            pending: Vec::new(),
            newest: None,
            dropped,
            negotiated,
        })
    }

    /// Device callbacks lost because frames were not taken fast enough.
    pub fn dropped_blocks(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Fills `frame` with the next 20 ms and returns when its first sample was captured;
    /// waits for the device. An error is the device failing (unplugged, say) or going silent
    /// for `STALL`.
    pub async fn next_frame(&mut self, frame: &mut [f32]) -> Result<Instant, DeviceError> {
        debug_assert_eq!(frame.len(), FRAME_SAMPLES);
        while self.pending.len() < FRAME_SAMPLES {
            let block = match tokio::time::timeout(STALL, self.blocks.recv()).await {
                Ok(Some(Ok(b))) => b,
                Ok(Some(Err(e))) => return Err(stream_error(&self.negotiated, e)),
                Ok(None) => return Err(stream_error(&self.negotiated, "the stream stopped")),
                Err(_) => {
                    let message = format!("delivered nothing for {} s", STALL.as_secs());
                    return Err(stream_error(&self.negotiated, message));
                }
            };
            self.converter
                .push(&block.samples, &mut self.pending)
                .map_err(|e| stream_error(&self.negotiated, e))?;
            self.newest = Some(block.captured);
        }
        let age = Duration::from_secs_f64(self.pending.len() as f64 / f64::from(SAMPLE_RATE));
        let newest = self.newest.unwrap_or_else(Instant::now);
        frame.copy_from_slice(&self.pending[..FRAME_SAMPLES]);
        self.pending.drain(..FRAME_SAMPLES);
        Ok(newest.checked_sub(age).unwrap_or(newest))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            devices::release(stream, Duration::ZERO);
        }
    }
}
