//! Measurements of received audio: RMS level in dBFS and the dominant frequency (FFT with a
//! Hann window and parabolic peak interpolation) over the most recent samples.

use std::collections::VecDeque;
use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::SAMPLE_RATE;

/// Analysis window: 16384 samples ≈ 341 ms, 2.9 Hz per bin before interpolation.
const WINDOW: usize = 16_384;
/// Level reported for digital silence.
const FLOOR_DBFS: f64 = -120.0;

pub struct Meter {
    samples: VecDeque<f32>,
    fft: Arc<dyn Fft<f32>>,
}

impl Default for Meter {
    fn default() -> Self {
        Self::new()
    }
}

impl Meter {
    pub fn new() -> Self {
        Self { samples: VecDeque::with_capacity(WINDOW), fft: FftPlanner::new().plan_fft_forward(WINDOW) }
    }

    /// Adds samples, keeping only the most recent window.
    pub fn push(&mut self, samples: &[f32]) {
        for &s in samples {
            if self.samples.len() == WINDOW {
                self.samples.pop_front();
            }
            self.samples.push_back(s);
        }
    }

    /// RMS level of the window in dBFS (full-scale sine = -3 dB).
    pub fn rms_dbfs(&self) -> f64 {
        if self.samples.is_empty() {
            return FLOOR_DBFS;
        }
        let power: f64 = self.samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>()
            / self.samples.len() as f64;
        if power <= 0.0 { FLOOR_DBFS } else { (10.0 * power.log10()).max(FLOOR_DBFS) }
    }

    /// The strongest frequency in the window, or `None` before a full window or in silence.
    pub fn dominant_hz(&self) -> Option<f64> {
        if self.samples.len() < WINDOW || self.rms_dbfs() < -70.0 {
            return None;
        }
        let n = WINDOW as f32;
        let mut buf: Vec<Complex<f32>> = self
            .samples
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let hann = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / (n - 1.0)).cos();
                Complex::new(s * hann, 0.0)
            })
            .collect();
        self.fft.process(&mut buf);
        let mags: Vec<f32> = buf[..WINDOW / 2].iter().map(|c| c.norm()).collect();
        let (peak, _) = mags.iter().enumerate().skip(1).max_by(|a, b| a.1.total_cmp(b.1))?;
        if peak + 1 >= mags.len() {
            return None;
        }
        // Parabolic interpolation on log magnitudes around the peak bin.
        let (a, b, c) = (
            f64::from(mags[peak - 1].max(1e-12)).ln(),
            f64::from(mags[peak].max(1e-12)).ln(),
            f64::from(mags[peak + 1].max(1e-12)).ln(),
        );
        let denom = a - 2.0 * b + c;
        let offset = if denom.abs() > 1e-12 { 0.5 * (a - c) / denom } else { 0.0 };
        Some((peak as f64 + offset) * f64::from(SAMPLE_RATE) / WINDOW as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_no_frequency_and_a_floor_level() {
        let mut m = Meter::new();
        m.push(&vec![0.0; WINDOW]);
        assert_eq!(m.dominant_hz(), None);
        assert_eq!(m.rms_dbfs(), FLOOR_DBFS);
    }

    #[test]
    fn a_partial_window_gives_no_frequency() {
        let mut m = Meter::new();
        m.push(&vec![0.5; 100]);
        assert_eq!(m.dominant_hz(), None);
    }
}
