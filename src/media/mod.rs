//! Audio and RTP: sources (tone, WAV file, microphone), the Opus codec, resampling, WAV
//! recording, playback, device listing and the measurements of received audio. Only this module
//! knows opus and cpal. Pure: `source.rs` (what a source is, its spellings), `rtp_count.rs` (a
//! receiver's RTP account), `restamp.rs` (continuous sequence numbers across publishers).

pub mod restamp;
pub mod rtp_count;
pub mod source;

#[cfg(all(feature = "runtime", target_os = "linux"))]
mod alsa_log;
runtime_modules!(analysis, capture, codec, devices, frames, mixer, playback, resample, tone, wav);

#[cfg(feature = "runtime")]
pub use frames::*;
pub use source::Source;
