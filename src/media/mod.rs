//! Audio: sources (tone, WAV file), the Opus codec, resampling, WAV recording, device listing
//! and the measurements of received audio. Only this module knows opus and cpal.

pub mod analysis;
pub mod codec;
pub mod devices;
pub mod resample;
pub mod tone;
pub mod wav;

/// The rate every internal audio path uses (Opus' native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

/// Where a peer's outgoing audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Tone {
        hz: f64,
    },
    /// A WAV file, played once; sending stops at its end.
    File(std::path::PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tone { hz } => write!(f, "tone:{hz}"),
            Self::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// The frames a source produces, 20 ms at a time.
pub enum Frames {
    Tone(tone::Tone),
    File { samples: Vec<f32>, pos: usize },
}

impl Frames {
    /// Opens the source (reads and converts a whole WAV file up front).
    pub fn open(source: &Source) -> Result<Self, wav::WavError> {
        Ok(match source {
            Source::Tone { hz } => Self::Tone(tone::Tone::new(*hz)),
            Source::File(path) => Self::File { samples: wav::read_48k_mono(path)?, pos: 0 },
        })
    }

    /// Steps a file back by one frame of `len` samples (it could not be sent yet, so the file
    /// starts with the first frame that goes out).
    pub fn unread(&mut self, len: usize) {
        if let Self::File { pos, .. } = self {
            *pos = pos.saturating_sub(len);
        }
    }

    /// Fills `out` with the next samples (a file's last frame padded with silence); false once
    /// a file has ended.
    pub fn fill(&mut self, out: &mut [f32]) -> bool {
        match self {
            Self::Tone(t) => {
                t.fill(out);
                true
            }
            Self::File { samples, pos } => {
                let n = out.len().min(samples.len().saturating_sub(*pos));
                out[..n].copy_from_slice(&samples[*pos..*pos + n]);
                out[n..].fill(0.0);
                *pos += n;
                n > 0
            }
        }
    }
}
