//! Audio: sources (tone), the Opus codec and the measurements of received audio.
//! Only this module knows opus (and, later, cpal).

pub mod analysis;
pub mod codec;
pub mod tone;

/// The rate every internal audio path uses (Opus' native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

/// Where a peer's outgoing audio comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    Tone { hz: f64 },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tone { hz } => write!(f, "tone:{hz}"),
        }
    }
}
