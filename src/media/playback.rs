//! Speaker playback with cpal: the default or a named output device, in its default
//! configuration, fed by a [`Mixer`] at 48 kHz and converted in the device callback to the
//! device's rate, channel count and sample format. A watchdog reopens the stream when the
//! device stops asking for samples or fails (a sound server can drop a fresh stream's
//! connection: seen with PulseAudio's ALSA plugin); when reopening fails too, the device is
//! reported as failed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
/// A device that has not asked for samples for this long has stalled.
const STALL: Duration = Duration::from_secs(2);
/// A stream that ran this long without trouble earns a fresh budget of reopens.
const HEALTHY: Duration = Duration::from_secs(10);
/// How often the watchdog looks.
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// Reopens tried before the device counts as failed.
const MAX_REOPENS: u32 = 3;

/// What the device callbacks tell the watchdog.
struct Health {
    start: Instant,
    /// Milliseconds since `start` of the last data callback.
    last_callback_ms: AtomicU64,
    /// A fatal stream error was reported.
    failed: AtomicBool,
}

impl Health {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_callback_ms: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        })
    }

    fn beat(&self) {
        self.last_callback_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn stalled(&self) -> bool {
        let last = Duration::from_millis(self.last_callback_ms.load(Ordering::Relaxed));
        self.failed.load(Ordering::Relaxed) || self.start.elapsed().saturating_sub(last) > STALL
    }
}

/// An open output stream playing what its mixer holds, watched and reopened when it stalls.
pub struct Playback {
    stream: Arc<Mutex<Option<cpal::Stream>>>,
    mixer: Arc<Mixer>,
    stop: Arc<AtomicBool>,
    pub negotiated: Negotiated,
}

fn build<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    mixer: Arc<Mixer>,
    mut converter: Converter,
    health: Arc<Health>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let mut frame = vec![0.0f32; FRAME_SAMPLES];
    let mut pending: Vec<f32> = Vec::new();
    let errors = health.clone();
    device.build_output_stream::<T, _, _>(
        *config,
        move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
            health.beat();
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
                    tracing::warn!(cause = %e, "output stream failed");
                    errors.failed.store(true, Ordering::Relaxed);
                } else {
                    tracing::warn!(cause = %e, "output stream error (continuing)");
                }
            }
        },
        None,
    )
}

/// Opens and starts one output stream on `device` (blocking).
fn start(
    device: Option<&str>,
    mixer: &Arc<Mixer>,
    health: Arc<Health>,
) -> Result<(cpal::Stream, Negotiated), DeviceError> {
    let dev = devices::find(Direction::Output, device)?;
    let (config, format, negotiated) = devices::choose_config(&dev, Direction::Output, Pinned::default())?;
    let fail = |e: &dyn std::fmt::Display| devices::stream_error(Direction::Output, &negotiated.device, e);
    let converter = Converter::new(SAMPLE_RATE, negotiated.rate).map_err(|e| fail(&e))?;
    let stream = with_sample_type!(
        format,
        T => build::<T>(&dev, &config, mixer.clone(), converter, health),
        return Err(fail(&format!("sample format {format} is not supported")))
    )
    .map_err(|e| fail(&e))?;
    stream.play().map_err(|e| fail(&e))?;
    Ok((stream, negotiated))
}

impl Playback {
    /// Opens and starts the output stream and its watchdog; a device that fails for good
    /// (reopening did not help) is sent to `failed`. Blocking (device probing); call off the
    /// runtime.
    pub fn open(
        device: Option<&str>,
        mixer: Arc<Mixer>,
        failed: mpsc::UnboundedSender<DeviceError>,
    ) -> Result<Self, DeviceError> {
        let health = Health::new();
        let (stream, negotiated) = start(device, &mixer, health.clone())?;
        let me = Self {
            stream: Arc::new(Mutex::new(Some(stream))),
            mixer,
            stop: Arc::new(AtomicBool::new(false)),
            negotiated,
        };
        let (slot, mixer, stop) = (me.stream.clone(), me.mixer.clone(), me.stop.clone());
        let (device, name) = (device.map(str::to_owned), me.negotiated.device.clone());
        let watchdog = move || {
            let (mut health, mut reopens) = (health, 0);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(WATCH_EVERY);
                if stop.load(Ordering::Relaxed) {
                    continue;
                }
                if !health.stalled() {
                    if health.start.elapsed() >= HEALTHY {
                        reopens = 0;
                    }
                    continue;
                }
                if let Some(old) = slot.lock().expect("playback stream lock").take() {
                    devices::release(old, Duration::ZERO);
                }
                reopens += 1;
                if reopens > MAX_REOPENS {
                    let _ = failed.send(devices::stream_error(Direction::Output, &name, "stalled or failed"));
                    return;
                }
                tracing::warn!(device = %name, reopens, "output stream stalled or failed; reopening");
                health = Health::new();
                match start(device.as_deref(), &mixer, health.clone()) {
                    Ok((stream, _)) => *slot.lock().expect("playback stream lock") = Some(stream),
                    Err(e) => {
                        let _ = failed.send(e);
                        return;
                    }
                }
            }
        };
        std::thread::Builder::new()
            .name("playback-watchdog".into())
            .spawn(watchdog)
            .map_err(|e| devices::stream_error(Direction::Output, &me.negotiated.device, e))?;
        Ok(me)
    }

    /// Lets what is queued play out (up to half a second), then stops the watchdog and the
    /// stream (as dropping does).
    pub fn close(self) {
        let deadline = Instant::now() + DRAIN;
        while self.mixer.queued() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // cpal does not drain on drop: give the device its last buffer.
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(stream) = self.stream.lock().expect("playback stream lock").take() {
            devices::release(stream, Duration::from_secs(1));
        }
    }
}
