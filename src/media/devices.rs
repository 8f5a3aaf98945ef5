//! Audio devices as cpal sees them: hosts, input and output devices, which are the defaults and
//! the configurations each supports (a machine without a sound card lists nothing; that is not
//! an error); finding the device a user named and choosing its stream configuration, with
//! one-line errors that name the devices that do exist.

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{BufferSize, StreamConfig, SupportedBufferSize, SupportedStreamConfig};
use serde::Serialize;

pub use crate::media::source::{Pinned, SampleFormat, parse_format};

/// Frames per device callback we ask for (20 ms at 48 kHz); cpal's default gives ALSA 1-frame
/// periods on some devices.
const CALLBACK_FRAMES: u32 = 960;

/// Supported configurations of one sample format and rate range, over a range of channel
/// counts (ALSA plugins offer every count from 1 to 64).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub min_channels: u16,
    pub max_channels: u16,
    pub min_rate: u32,
    pub max_rate: u32,
    pub sample_format: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// What `--input-device` / `--output-device` take (the ALSA PCM name, say).
    pub name: String,
    pub description: String,
    pub default: bool,
    /// The configuration a stream gets unless one is pinned (none when it cannot be opened).
    pub default_config: Option<DefaultConfig>,
    pub configs: Vec<Config>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefaultConfig {
    pub sample_format: String,
    pub channels: u16,
    pub rate: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub name: String,
    pub inputs: Vec<Device>,
    pub outputs: Vec<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which way a device is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no {direction} device found ({direction} devices: {})", names(available))]
    NoDevice { direction: &'static str, available: Vec<String> },
    #[error("no {direction} device named {name:?} ({direction} devices: {})", names(available))]
    NotFound { direction: &'static str, name: String, available: Vec<String> },
    #[error("{direction} device {name:?} offers no {wanted} configuration (it offers: {offered})")]
    Unsupported { direction: &'static str, name: String, wanted: String, offered: String },
    #[error("{direction} device {name:?}: {message} ({direction} devices: {})", names(available))]
    Stream { direction: &'static str, name: String, message: String, available: Vec<String> },
}

fn names(names: &[String]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

/// A device's name as the user gives it: the host's id for it ("default", "hw:0,0", "pulse").
pub fn name_of(d: &cpal::Device) -> Option<String> {
    d.id().ok().map(|id| id.id().to_owned())
}

fn configs<I: Iterator<Item = cpal::SupportedStreamConfigRange>>(it: Result<I, cpal::Error>) -> Vec<Config> {
    let mut out: Vec<Config> = Vec::new();
    for c in it.into_iter().flatten() {
        let (channels, sample_format) = (c.channels(), c.sample_format().to_string());
        let (min_rate, max_rate) = (c.min_sample_rate(), c.max_sample_rate());
        match out.last_mut() {
            Some(last)
                if last.sample_format == sample_format
                    && (last.min_rate, last.max_rate) == (min_rate, max_rate)
                    && last.max_channels + 1 == channels =>
            {
                last.max_channels = channels;
            }
            _ => out.push(Config {
                min_channels: channels,
                max_channels: channels,
                min_rate,
                max_rate,
                sample_format,
            }),
        }
    }
    out
}

/// The default host, with ALSA's error messages routed into our logs first.
fn host() -> cpal::Host {
    #[cfg(target_os = "linux")]
    super::alsa_log::route_errors();
    cpal::default_host()
}

fn devices(host: &cpal::Host, direction: Direction) -> Vec<cpal::Device> {
    let devs = match direction {
        Direction::Input => host.input_devices().map(Iterator::collect),
        Direction::Output => host.output_devices().map(Iterator::collect),
    };
    devs.unwrap_or_default()
}

fn default_device(host: &cpal::Host, direction: Direction) -> Option<cpal::Device> {
    match direction {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
}

fn describe(host: &cpal::Host, direction: Direction) -> Vec<Device> {
    let default = default_device(host, direction).and_then(|d| name_of(&d));
    devices(host, direction)
        .into_iter()
        .filter_map(|d| {
            let name = name_of(&d)?;
            let description = d.description().map(|x| x.name().to_owned()).unwrap_or_default();
            let (configs, default_config) = match direction {
                Direction::Input => (configs(d.supported_input_configs()), d.default_input_config()),
                Direction::Output => (configs(d.supported_output_configs()), d.default_output_config()),
            };
            let default_config = default_config.ok().map(|c| DefaultConfig {
                sample_format: c.sample_format().to_string(),
                channels: c.channels(),
                rate: c.sample_rate(),
            });
            Some(Device {
                default: default.as_deref() == Some(name.as_str()),
                default_config,
                configs,
                description,
                name,
            })
        })
        .collect()
}

/// Every host cpal was built with, and its devices.
pub fn list() -> Vec<Host> {
    #[cfg(target_os = "linux")]
    super::alsa_log::route_errors();
    cpal::available_hosts()
        .into_iter()
        .map(|id| {
            let mut host =
                Host { name: id.name().to_owned(), inputs: Vec::new(), outputs: Vec::new(), error: None };
            match cpal::host_from_id(id) {
                Ok(h) => {
                    host.inputs = describe(&h, Direction::Input);
                    host.outputs = describe(&h, Direction::Output);
                }
                Err(e) => host.error = Some(e.to_string()),
            }
            host
        })
        .collect()
}

/// The device named `name` (its id, full id or description), or the default one.
pub fn find(direction: Direction, name: Option<&str>) -> Result<cpal::Device, DeviceError> {
    let host = host();
    let dir = direction.as_str();
    let available = || devices(&host, direction).iter().filter_map(name_of).collect::<Vec<_>>();
    let Some(name) = name else {
        return default_device(&host, direction)
            .ok_or_else(|| DeviceError::NoDevice { direction: dir, available: available() });
    };
    let matches = |d: &cpal::Device| {
        d.id().is_ok_and(|id| id.id() == name || id.to_string() == name)
            || d.description().is_ok_and(|x| x.name() == name)
    };
    if let Some(d) = default_device(&host, direction).filter(matches) {
        return Ok(d);
    }
    devices(&host, direction).into_iter().find(matches).ok_or_else(|| DeviceError::NotFound {
        direction: dir,
        name: name.to_owned(),
        available: available(),
    })
}

/// A device that exists but fails, with the devices there are.
pub fn stream_error(direction: Direction, name: &str, message: impl std::fmt::Display) -> DeviceError {
    let available = devices(&host(), direction).iter().filter_map(name_of).collect();
    DeviceError::Stream {
        direction: direction.as_str(),
        name: name.to_owned(),
        message: message.to_string(),
        available,
    }
}

/// The configuration a stream was opened with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Negotiated {
    pub device: String,
    pub sample_format: String,
    pub channels: u16,
    pub rate: u32,
}

/// The device default, or the supported configuration matching what is pinned (preferring
/// the default's format, rate and channel count for what is not), with 20 ms callbacks where
/// the device allows them.
pub fn choose_config(
    device: &cpal::Device,
    direction: Direction,
    pinned: Pinned,
) -> Result<(StreamConfig, cpal::SampleFormat, Negotiated), DeviceError> {
    let name = name_of(device).unwrap_or_default();
    let dir = direction.as_str();
    let stream_err = |e: cpal::Error| stream_error(direction, &name, e);
    let default = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(stream_err)?;
    let chosen: SupportedStreamConfig = if pinned == Pinned::default() {
        default
    } else {
        let ranges = match direction {
            Direction::Input => device.supported_input_configs().map(Iterator::collect::<Vec<_>>),
            Direction::Output => device.supported_output_configs().map(Iterator::collect::<Vec<_>>),
        }
        .map_err(stream_err)?;
        let format = pinned.format.map(cpal_format).unwrap_or(default.sample_format());
        let rate = pinned.rate.unwrap_or(default.sample_rate());
        let channels = pinned.channels.unwrap_or(default.channels());
        let fits = |r: &&cpal::SupportedStreamConfigRange| {
            r.sample_format() == format && r.channels() == channels && r.try_with_sample_rate(rate).is_some()
        };
        match ranges.iter().find(fits) {
            Some(r) => r.with_sample_rate(rate),
            None => {
                let offered = configs(Ok::<_, cpal::Error>(ranges.into_iter()))
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {}-{} ch {}-{} Hz",
                            c.sample_format, c.min_channels, c.max_channels, c.min_rate, c.max_rate
                        )
                    })
                    .collect::<Vec<_>>();
                return Err(DeviceError::Unsupported {
                    direction: dir,
                    name,
                    wanted: format!("{format} {channels} ch {rate} Hz"),
                    offered: names(&offered),
                });
            }
        }
    };
    let mut config = chosen.config();
    if let SupportedBufferSize::Range { min, max } = chosen.buffer_size()
        && (*min..=*max).contains(&CALLBACK_FRAMES)
    {
        config.buffer_size = BufferSize::Fixed(CALLBACK_FRAMES);
    }
    let negotiated = Negotiated {
        device: name,
        sample_format: chosen.sample_format().to_string(),
        channels: config.channels,
        rate: config.sample_rate,
    };
    Ok((config, chosen.sample_format(), negotiated))
}

/// Decides which errors a running stream reports end the session: the device gone or the
/// stream invalidated at once; an xrun or a change of route never; anything else only when it
/// keeps coming back (20 within a second: cpal's ALSA worker retries a failing device in a
/// tight loop, while a sound server starting a stream may fail once or twice).
#[derive(Debug)]
pub struct Failures {
    window_start: std::time::Instant,
    count: u32,
}

impl Default for Failures {
    fn default() -> Self {
        Self { window_start: std::time::Instant::now(), count: 0 }
    }
}

impl Failures {
    const LIMIT: u32 = 20;

    pub fn is_fatal(&mut self, e: &cpal::Error) -> bool {
        use cpal::ErrorKind as K;
        match e.kind() {
            K::DeviceNotAvailable | K::HostUnavailable | K::StreamInvalidated => true,
            K::Xrun | K::DeviceChanged | K::RealtimeDenied => false,
            _ => {
                if self.window_start.elapsed() > std::time::Duration::from_secs(1) {
                    *self = Self::default();
                }
                self.count += 1;
                self.count >= Self::LIMIT
            }
        }
    }
}

/// Stops a stream on a thread of its own, waiting at most `wait` for it: dropping the stream of
/// a device that died (PulseAudio gone, say) can hang inside the ALSA plugin, and must neither
/// block the async runtime nor keep the process from exiting.
pub fn release(stream: cpal::Stream, wait: std::time::Duration) {
    let (done, finished) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("audio-release".into()).spawn(move || {
        drop(stream);
        let _ = done.send(());
    });
    if spawned.is_ok() {
        let _ = finished.recv_timeout(wait);
    }
}

/// cpal's name for a format the user can pin.
fn cpal_format(f: SampleFormat) -> cpal::SampleFormat {
    match f {
        SampleFormat::I8 => cpal::SampleFormat::I8,
        SampleFormat::I16 => cpal::SampleFormat::I16,
        SampleFormat::I24 => cpal::SampleFormat::I24,
        SampleFormat::I32 => cpal::SampleFormat::I32,
        SampleFormat::U8 => cpal::SampleFormat::U8,
        SampleFormat::U16 => cpal::SampleFormat::U16,
        SampleFormat::U24 => cpal::SampleFormat::U24,
        SampleFormat::U32 => cpal::SampleFormat::U32,
        SampleFormat::F32 => cpal::SampleFormat::F32,
        SampleFormat::F64 => cpal::SampleFormat::F64,
    }
}

/// Runs `$body` with `$t` bound to the Rust sample type of `$format`, or evaluates `$other`.
macro_rules! with_sample_type {
    ($format:expr, $t:ident => $body:expr, $other:expr) => {
        match $format {
            cpal::SampleFormat::I8 => {
                type $t = i8;
                $body
            }
            cpal::SampleFormat::I16 => {
                type $t = i16;
                $body
            }
            cpal::SampleFormat::I24 => {
                type $t = cpal::I24;
                $body
            }
            cpal::SampleFormat::I32 => {
                type $t = i32;
                $body
            }
            cpal::SampleFormat::U8 => {
                type $t = u8;
                $body
            }
            cpal::SampleFormat::U16 => {
                type $t = u16;
                $body
            }
            cpal::SampleFormat::U24 => {
                type $t = cpal::U24;
                $body
            }
            cpal::SampleFormat::U32 => {
                type $t = u32;
                $body
            }
            cpal::SampleFormat::F32 => {
                type $t = f32;
                $body
            }
            cpal::SampleFormat::F64 => {
                type $t = f64;
                $body
            }
            _ => $other,
        }
    };
}
pub(crate) use with_sample_type;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pinnable_format_is_cpal_format_of_the_same_name() {
        for f in SampleFormat::ALL {
            assert_eq!(cpal_format(f).to_string(), f.name());
        }
    }

    #[test]
    fn errors_are_one_line_and_name_what_exists() {
        let e = DeviceError::NotFound {
            direction: "input",
            name: "usb mic".into(),
            available: vec!["default".into(), "pulse".into()],
        };
        assert_eq!(e.to_string(), "no input device named \"usb mic\" (input devices: default, pulse)");
        let none = DeviceError::NoDevice { direction: "output", available: vec![] };
        assert_eq!(none.to_string(), "no output device found (output devices: none)");
    }
}
