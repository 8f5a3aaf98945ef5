//! WAV files (hound): reading a source file into 48 kHz mono, writing received audio.

use std::path::Path;

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};

use super::SAMPLE_RATE;
use super::resample::to_48k;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("{path}: {source}")]
    Hound { path: String, source: hound::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads any PCM WAV (8/16/24/32-bit integer or 32-bit float, any rate, any channel count) as
/// 48 kHz mono f32, channels averaged.
pub fn read_48k_mono(path: &Path) -> Result<Vec<f32>, WavError> {
    let name = path.display().to_string();
    let hound = |source| WavError::Hound { path: name.clone(), source };
    let reader = WavReader::open(path).map_err(hound)?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(WavError::Invalid { path: name, message: "no channels or no sample rate".into() });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>().map_err(hound)?,
        SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(hound)?
        }
    };
    let ch = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved.chunks(ch).map(|f| f.iter().sum::<f32>() / ch as f32).collect();
    to_48k(&mono, spec.sample_rate).map_err(|e| WavError::Invalid { path: name, message: e.to_string() })
}

/// A 48 kHz mono 16-bit WAV being written; finalized on [`WavOut::finish`] or drop.
pub struct WavOut {
    writer: Option<WavWriter<std::io::BufWriter<std::fs::File>>>,
}

impl WavOut {
    pub fn create(path: &Path) -> Result<Self, WavError> {
        let spec = WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let writer = WavWriter::create(path, spec)
            .map_err(|source| WavError::Hound { path: path.display().to_string(), source })?;
        Ok(Self { writer: Some(writer) })
    }

    pub fn write(&mut self, samples: &[f32]) -> Result<(), hound::Error> {
        if let Some(w) = self.writer.as_mut() {
            for s in samples {
                w.write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)?;
            }
        }
        Ok(())
    }

    /// Writes `n` samples of silence (a gap left by lost packets).
    pub fn write_silence(&mut self, n: usize) -> Result<(), hound::Error> {
        if let Some(w) = self.writer.as_mut() {
            for _ in 0..n {
                w.write_sample(0i16)?;
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<(), hound::Error> {
        match self.writer.take() {
            Some(w) => w.finalize(),
            None => Ok(()),
        }
    }
}

impl Drop for WavOut {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::analysis::Meter;

    fn tone_file(path: &Path, rate: u32, channels: u16, hz: f64, secs: f64) {
        let spec =
            WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: SampleFormat::Int };
        let mut w = WavWriter::create(path, spec).unwrap();
        for i in 0..(f64::from(rate) * secs) as usize {
            let v = (12_000.0 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin()) as i16;
            for _ in 0..channels {
                w.write_sample(v).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn a_44k1_stereo_file_becomes_48k_mono_with_its_frequency() {
        let dir = std::env::temp_dir().join(format!("rtc-assist-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.wav");
        tone_file(&path, 44_100, 2, 523.25, 2.0);
        let samples = read_48k_mono(&path).unwrap();
        assert!((samples.len() as i64 - 96_000).abs() < 2_000, "{}", samples.len());
        let mut m = Meter::new();
        m.push(&samples[48_000..]);
        let f = m.dominant_hz().unwrap();
        assert!((f - 523.25).abs() < 523.25 * 0.01, "{f}");
        let out = dir.join("out.wav");
        let mut w = WavOut::create(&out).unwrap();
        w.write(&samples).unwrap();
        w.finish().unwrap();
        assert_eq!(WavReader::open(&out).unwrap().spec().sample_rate, 48_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("rtc-assist-badwav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.wav");
        for content in [&b""[..], b"RIFF", b"RIFF\xff\xff\xff\xffWAVEfmt ", &[0u8; 1000][..]] {
            std::fs::write(&path, content).unwrap();
            assert!(read_48k_mono(&path).is_err());
        }
        assert!(read_48k_mono(&dir.join("missing.wav")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
