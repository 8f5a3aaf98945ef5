//! Where a peer's outgoing audio comes from, as plain data: a tone, a WAV file or an input
//! device with the configuration the user pinned, and the parsers of their command-line and
//! scenario-file spellings (`tone[:HZ]`, `file:PATH.wav`, `mic`; `f32`, `i16`, …). Opening a
//! source is `media`'s job; the sample formats are named as cpal names them, and `media` maps
//! them to cpal's own type (only `media/` knows cpal).

use std::fmt;
use std::path::PathBuf;

/// Where a peer's outgoing audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Tone {
        hz: f64,
    },
    /// A WAV file, played once; sending stops at its end.
    File(PathBuf),
    /// An input device, clocked by the device.
    Mic(InputChoice),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tone { hz } => write!(f, "tone:{hz}"),
            Self::File(p) => write!(f, "file:{}", p.display()),
            Self::Mic(c) => write!(f, "mic:{}", c.device.as_deref().unwrap_or("default")),
        }
    }
}

/// Which input device and configuration to capture from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputChoice {
    pub device: Option<String>,
    pub pinned: Pinned,
}

/// What the user pinned of a stream's configuration; unpinned parts follow the device default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pinned {
    pub format: Option<SampleFormat>,
    pub rate: Option<u32>,
    pub channels: Option<u16>,
}

impl fmt::Display for Pinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(x) = self.format {
            parts.push(x.to_string());
        }
        if let Some(r) = self.rate {
            parts.push(format!("{r} Hz"));
        }
        if let Some(c) = self.channels {
            parts.push(format!("{c} ch"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// A device sample format a stream can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    I8,
    I16,
    I24,
    I32,
    U8,
    U16,
    U24,
    U32,
    F32,
    F64,
}

impl SampleFormat {
    pub const ALL: [Self; 10] = [
        Self::I8,
        Self::I16,
        Self::I24,
        Self::I32,
        Self::U8,
        Self::U16,
        Self::U24,
        Self::U32,
        Self::F32,
        Self::F64,
    ];

    /// The name cpal (and `--input-format`) use.
    pub fn name(self) -> &'static str {
        match self {
            Self::I8 => "i8",
            Self::I16 => "i16",
            Self::I24 => "i24",
            Self::I32 => "i32",
            Self::U8 => "u8",
            Self::U16 => "u16",
            Self::U24 => "u24",
            Self::U32 => "u32",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a sample format as cpal names it (`f32`, `i16`, `u16`, …).
pub fn parse_format(s: &str) -> Result<SampleFormat, String> {
    SampleFormat::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
        format!(
            "unknown sample format {s:?}; expected one of {}",
            SampleFormat::ALL.map(SampleFormat::name).join(", ")
        )
    })
}

/// Parses `tone[:HZ]` (20-20000 Hz, 440 by default), `file:PATH.wav` or `mic` (the default
/// input device; `--input-device` and friends choose another).
pub fn parse_source(s: &str) -> Result<Source, String> {
    let (kind, arg) = s.split_once(':').map_or((s, None), |(k, a)| (k, Some(a)));
    match kind {
        "tone" => {
            let hz = match arg {
                None => 440.0,
                Some(a) => a.parse::<f64>().map_err(|_| format!("tone frequency {a:?} is not a number"))?,
            };
            if !(20.0..=20_000.0).contains(&hz) {
                return Err(format!("tone frequency {hz} Hz is outside 20-20000 Hz"));
            }
            Ok(Source::Tone { hz })
        }
        "file" => match arg {
            Some(path) if !path.is_empty() => Ok(Source::File(path.into())),
            _ => Err("file source needs a path: file:PATH.wav".into()),
        },
        "mic" if arg.is_none() => Ok(Source::Mic(Default::default())),
        "mic" => Err("the microphone source takes no argument; choose the device with --input-device".into()),
        _ => Err(format!("unknown source {s:?}; expected mic, tone[:HZ] or file:PATH.wav")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_hostile_ones_are_refused() {
        assert_eq!(parse_source("tone").unwrap(), Source::Tone { hz: 440.0 });
        assert_eq!(parse_source("tone:660").unwrap(), Source::Tone { hz: 660.0 });
        assert_eq!(parse_source("file:a.wav").unwrap(), Source::File("a.wav".into()));
        assert_eq!(parse_source("mic").unwrap(), Source::Mic(Default::default()));
        for bad in [
            "tone:", "tone:abc", "tone:-5", "tone:1e9", "tone:NaN", "tone:inf", "beep", "", "file:", "mic:x",
            "mic:",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_parse_by_cpal_name_and_hostile_ones_are_refused() {
        assert_eq!(parse_format("i16"), Ok(SampleFormat::I16));
        assert_eq!(parse_format("f32"), Ok(SampleFormat::F32));
        for f in SampleFormat::ALL {
            assert_eq!(parse_format(&f.to_string()), Ok(f));
        }
        for bad in ["", "I16", "f16", "i16 ", "\u{0}", "s16le"] {
            let e = parse_format(bad).unwrap_err();
            assert!(e.contains("expected one of") && e.contains("u24"), "{e}");
        }
    }

    #[test]
    fn a_source_shows_as_it_is_spelled() {
        assert_eq!(Source::Tone { hz: 660.0 }.to_string(), "tone:660");
        assert_eq!(Source::Mic(Default::default()).to_string(), "mic:default");
        let pinned = Pinned { format: Some(SampleFormat::I24), rate: Some(44_100), channels: Some(2) };
        assert_eq!(pinned.to_string(), "i24 44100 Hz 2 ch");
    }
}
