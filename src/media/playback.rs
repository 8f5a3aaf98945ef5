//! Speaker playback with cpal: the default or a named output device, in its default
//! configuration, fed by a [`Mixer`] at 48 kHz and converted in the device callback to the
//! device's rate, channel count and sample format.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample, StreamConfig};
use tokio::sync::mpsc;

use super::devices::{self, DeviceError, Direction, Failures, Negotiated, Pinned, with_sample_type};
use super::mixer::Mixer;
use super::resample::Converter;
use super::{FRAME_SAMPLES, SAMPLE_RATE};

/// Longest wait for queued audio to play out when closing.
const DRAIN: Duration = Duration::from_millis(500);

/// An open output stream playing what its mixer holds.
pub struct Playback {
    stream: cpal::Stream,
    mixer: Arc<Mixer>,
    pub negotiated: Negotiated,
}

fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    mixer: Arc<Mixer>,
    mut converter: Converter,
    failed: mpsc::UnboundedSender<DeviceError>,
    name: String,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let mut frame = vec![0.0f32; FRAME_SAMPLES];
    let mut pending: Vec<f32> = Vec::new();
    device.build_output_stream::<T, _, _>(
        *config,
        move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
            let wanted = out.len() / channels;
            while pending.len() < wanted {
                mixer.mix(&mut frame);
                if converter.push(&frame, &mut pending).is_err() {
                    pending.resize(wanted, 0.0);
                }
            }
            for (slot, s) in out.chunks_mut(channels).zip(pending.drain(..wanted)) {
                slot.fill(T::from_sample(s));
            }
        },
        {
            let mut failures = Failures::default();
            move |e| {
                if failures.is_fatal(&e) {
                    let _ = failed.send(devices::stream_error(Direction::Output, &name, e));
                } else {
                    tracing::warn!(cause = %e, "output stream error (continuing)");
                }
            }
        },
        None,
    )
}

impl Playback {
    /// Opens and starts the output stream; a later failure of the device (unplugged, say) is
    /// sent to `failed`. Blocking (device probing); call off the runtime.
    pub fn open(
        device: Option<&str>,
        mixer: Arc<Mixer>,
        failed: mpsc::UnboundedSender<DeviceError>,
    ) -> Result<Self, DeviceError> {
        let dev = devices::find(Direction::Output, device)?;
        let (config, format, negotiated) =
            devices::choose_config(&dev, Direction::Output, Pinned::default())?;
        let fail =
            |e: &dyn std::fmt::Display| devices::stream_error(Direction::Output, &negotiated.device, e);
        let converter = Converter::new(SAMPLE_RATE, negotiated.rate).map_err(|e| fail(&e))?;
        let stream = with_sample_type!(
            format,
            T => build::<T>(&dev, &config, mixer.clone(), converter, failed, negotiated.device.clone()),
            return Err(fail(&format!("sample format {format} is not supported")))
        )
        .map_err(|e| fail(&e))?;
        stream.play().map_err(|e| fail(&e))?;
        Ok(Self { stream, mixer, negotiated })
    }

    /// Lets what is queued play out (up to half a second), then stops the stream.
    pub fn close(self) {
        let deadline = Instant::now() + DRAIN;
        while self.mixer.queued() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // cpal does not drain on drop: give the device its last buffer.
        std::thread::sleep(Duration::from_millis(100));
        devices::release(self.stream, Duration::from_secs(1));
    }
}
