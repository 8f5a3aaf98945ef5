//! Argument groups and parsers of outside input that several subcommands share: URLs, rooms,
//! secrets, durations, ICE tuning, the input device.

use clap::Args;

use crate::signal::ice_url::IceUrl;
use crate::signal::secret::Secret;

#[derive(Debug, Clone, Args)]
pub struct IceTuning {
    /// Interval between ICE connectivity checks in milliseconds (webrtc-rs default: 200).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub ice_check_interval_ms: u64,
}

/// Which input device to capture from, and the configuration to ask it for.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Capture from this input device (a name from `rtc-assist devices`) [default: the
    /// default input device].
    #[arg(long)]
    pub input_device: Option<String>,
    /// Ask the input device for this sample format (f32, i16, u16, …) [default: its default].
    #[arg(long, value_parser = crate::media::devices::parse_format)]
    pub input_format: Option<crate::media::devices::SampleFormat>,
    /// Ask the input device for this sample rate in Hz [default: its default].
    #[arg(long, value_parser = clap::value_parser!(u32).range(8_000..=384_000))]
    pub input_rate: Option<u32>,
    /// Ask the input device for this many channels [default: its default].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub input_channels: Option<u16>,
}

impl InputArgs {
    pub fn choice(&self) -> crate::media::capture::InputChoice {
        crate::media::capture::InputChoice {
            device: self.input_device.clone(),
            pinned: crate::media::devices::Pinned {
                format: self.input_format,
                rate: self.input_rate,
                channels: self.input_channels,
            },
        }
    }
}

pub fn parse_ws_url(s: &str) -> Result<String, String> {
    url_with_scheme(s, &["ws", "wss"], "ws:// or wss://")
}

/// A signaling server's URL: ws(s):// for rtc-assist's protocol, http(s):// for WHIP/WHEP
/// (which one `--signal` needs is checked with the rest of the options).
pub fn parse_signal_url(s: &str) -> Result<String, String> {
    url_with_scheme(s, &["ws", "wss", "http", "https"], "ws://, wss://, http:// or https://")
}

fn url_with_scheme(s: &str, schemes: &[&str], shown: &str) -> Result<String, String> {
    let uri: http::Uri = s.parse().map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    if !uri.scheme_str().is_some_and(|scheme| schemes.contains(&scheme)) {
        return Err(format!("URL {s:?} must start with {shown}"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("URL {s:?} has no host"));
    }
    Ok(s.to_owned())
}

pub fn parse_ice_url(s: &str) -> Result<IceUrl, String> {
    IceUrl::parse(s).map_err(|e| e.to_string())
}

pub fn parse_room(s: &str) -> Result<String, String> {
    crate::signal::protocol::validate_room(s).map_err(|e| e.message)?;
    Ok(s.to_owned())
}

/// A secret or token from the command line or the environment: not empty, no whitespace.
pub fn parse_secret(s: &str) -> Result<Secret, String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be non-empty, without spaces or control characters".into());
    }
    Ok(Secret::new(s))
}

pub fn parse_duration(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        return Err(format!("duration {s} must be between 0 and 86400 seconds"));
    }
    Ok(v)
}

/// `--signal`: a built-in kind (`rtc-assist`, `whip`, `janus-echotest`, …) or the path of a
/// dialect file (`*.toml`); a malformed file is refused naming its line and key.
pub fn parse_signal(s: &str) -> Result<crate::signal::kind::SignalKind, String> {
    use crate::signal::dialect::{Dialect, MAX_DIALECT_BYTES};
    use crate::signal::kind::SignalKind;
    if !s.ends_with(".toml") {
        return s.parse::<SignalKind>().map_err(|e| format!("{e}, or the path of a dialect file (*.toml)"));
    }
    let path = std::path::Path::new(s);
    let size = std::fs::metadata(path).map_err(|e| format!("dialect file {s}: {e}"))?.len();
    if size > MAX_DIALECT_BYTES as u64 {
        return Err(format!("dialect file {s}: larger than {MAX_DIALECT_BYTES} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("dialect file {s}: {e}"))?;
    let dialect = Dialect::parse(&text).map_err(|e| format!("dialect file {s}: {e}"))?;
    Ok(SignalKind::Dialect(std::sync::Arc::new(dialect)))
}
