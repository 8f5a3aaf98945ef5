//! A sine tone source: the headless stand-in for a microphone, with a known frequency that
//! the far end can measure.

use std::f64::consts::TAU;

use super::SAMPLE_RATE;

/// Peak amplitude of the tone (-10.5 dBFS): loud, far from clipping.
const AMPLITUDE: f64 = 0.3;

#[derive(Debug, Clone)]
pub struct Tone {
    hz: f64,
    phase: f64,
}

impl Tone {
    pub fn new(hz: f64) -> Self {
        Self { hz, phase: 0.0 }
    }

    /// Fills `out` with the next samples, continuing the phase across calls.
    pub fn fill(&mut self, out: &mut [f32]) {
        let step = TAU * self.hz / f64::from(SAMPLE_RATE);
        for s in out {
            *s = (AMPLITUDE * self.phase.sin()) as f32;
            self.phase = (self.phase + step) % TAU;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::analysis::Meter;

    #[test]
    fn tone_has_its_frequency_and_level() {
        let mut t = Tone::new(523.0);
        let mut m = Meter::new();
        let mut buf = vec![0.0; 960];
        for _ in 0..50 {
            t.fill(&mut buf);
            m.push(&buf);
        }
        let f = m.dominant_hz().unwrap();
        assert!((f - 523.0).abs() < 2.0, "{f}");
        let db = m.rms_dbfs();
        assert!((db - (-13.5)).abs() < 0.5, "{db}");
    }
}
