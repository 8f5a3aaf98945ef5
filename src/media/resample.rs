//! Sample-rate conversion with rubato (FFT-based, fixed input chunks): a streaming [`Converter`]
//! for live audio (device rate to 48 kHz for capture, 48 kHz to device rate for playback) and
//! [`to_48k`] for a whole buffer (WAV files).

use rubato::{FftFixedIn, Resampler};

use super::SAMPLE_RATE;

/// Input chunk the resampler works on: 10 ms at 48 kHz keeps the added latency small.
const CHUNK: usize = 480;

#[derive(Debug, thiserror::Error)]
#[error("resampling {from} Hz to {to} Hz: {message}")]
pub struct ResampleError {
    from: u32,
    to: u32,
    message: String,
}

/// Converts a mono stream from one rate to another, chunk by chunk, with the filter's delay
/// removed so output sample 0 lines up with input sample 0.
pub struct Converter {
    inner: Option<FftFixedIn<f32>>,
    from: u32,
    to: u32,
    pending: Vec<f32>,
    /// Output samples still to drop (the filter's delay).
    skip: usize,
}

impl Converter {
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        let err = |message: String| ResampleError { from, to, message };
        for rate in [from, to] {
            if !(8_000..=384_000).contains(&rate) {
                return Err(err(format!("unsupported sample rate {rate} Hz")));
            }
        }
        let inner = if from == to {
            None
        } else {
            Some(FftFixedIn::new(from as usize, to as usize, CHUNK, 1, 1).map_err(|e| err(e.to_string()))?)
        };
        let skip = inner.as_ref().map_or(0, Resampler::output_delay);
        Ok(Self { inner, from, to, pending: Vec::new(), skip })
    }

    /// Wraps a rubato error with the rates (a closure that does not borrow `self`).
    fn error(&self) -> impl Fn(rubato::ResampleError) -> ResampleError + use<> {
        let (from, to) = (self.from, self.to);
        move |e| ResampleError { from, to, message: e.to_string() }
    }

    fn emit(&mut self, chunk: &[f32], out: &mut Vec<f32>) {
        let drop = self.skip.min(chunk.len());
        self.skip -= drop;
        out.extend_from_slice(&chunk[drop..]);
    }

    /// Converts `input`, appending what is ready to `out` (input short of a chunk waits).
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let error = self.error();
        let Some(r) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut used = 0;
        let mut ready = Vec::new();
        loop {
            let need = r.input_frames_next();
            if self.pending.len() - used < need {
                break;
            }
            match r.process(&[&self.pending[used..used + need]], None) {
                Ok(mut chunk) => ready.push(chunk.remove(0)),
                Err(e) => return Err(error(e)),
            }
            used += need;
        }
        self.pending.drain(..used);
        for chunk in ready {
            self.emit(&chunk, out);
        }
        Ok(())
    }

    /// Converts what is still pending and the filter's tail, appending to `out`.
    pub fn flush(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let error = self.error();
        let Some(r) = self.inner.as_mut() else { return Ok(()) };
        let mut chunks = Vec::new();
        if !self.pending.is_empty() {
            let tail = std::mem::take(&mut self.pending);
            chunks.push(r.process_partial(Some(&[&tail[..]]), None).map_err(&error)?.remove(0));
        }
        // Feed silence until the filter has given back as much as it holds.
        let r = self.inner.as_mut().expect("checked above");
        let (delay, mut flushed) = (r.output_delay(), 0);
        while flushed < delay.max(1) {
            let chunk = r.process_partial::<&[f32]>(None, None).map_err(&error)?.remove(0);
            flushed += chunk.len();
            chunks.push(chunk);
        }
        for chunk in chunks {
            self.emit(&chunk, out);
        }
        Ok(())
    }
}

/// Converts a whole mono buffer at `rate` Hz to 48 kHz (exactly as long as the input).
pub fn to_48k(input: &[f32], rate: u32) -> Result<Vec<f32>, ResampleError> {
    if rate == SAMPLE_RATE || input.is_empty() {
        return Ok(input.to_vec());
    }
    let mut c = Converter::new(rate, SAMPLE_RATE)?;
    let expected = (input.len() as u64 * u64::from(SAMPLE_RATE) / u64::from(rate)) as usize;
    let mut out = Vec::with_capacity(expected + CHUNK * 4);
    c.push(input, &mut out)?;
    c.flush(&mut out)?;
    out.truncate(expected);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{analysis::Meter, tone::Tone};

    #[test]
    fn lengths_scale_and_odd_rates_are_refused() {
        let one_second = vec![0.25f32; 44_100];
        let out = to_48k(&one_second, 44_100).unwrap();
        assert_eq!(out.len(), 48_000);
        assert!((out[24_000] - 0.25).abs() < 0.01);
        assert_eq!(to_48k(&[0.5; 10], 48_000).unwrap().len(), 10);
        assert!(to_48k(&[0.0; 10], 0).is_err() && to_48k(&[0.0; 10], 1_000_000).is_err());
        assert_eq!(to_48k(&vec![0.0; 2048], 16_000).unwrap().len(), 6144);
        assert!(to_48k(&[], 16_000).unwrap().is_empty());
    }

    #[test]
    fn streaming_in_odd_blocks_keeps_pitch_and_level() {
        // 1 s of 440 Hz at 48 kHz, converted to 44.1 kHz in blocks of 333 samples and back.
        let mut tone = Tone::new(440.0);
        let mut input = vec![0.0; 48_000];
        tone.fill(&mut input);
        let (mut down, mut up) =
            (Converter::new(48_000, 44_100).unwrap(), Converter::new(44_100, 48_000).unwrap());
        let (mut mid, mut out) = (Vec::new(), Vec::new());
        for block in input.chunks(333) {
            down.push(block, &mut mid).unwrap();
        }
        down.flush(&mut mid).unwrap();
        for block in mid.chunks(441) {
            up.push(block, &mut out).unwrap();
        }
        up.flush(&mut out).unwrap();
        assert!((mid.len() as i64 - 44_100).abs() < 1_000, "{}", mid.len());
        assert!((out.len() as i64 - 48_000).abs() < 2_000, "{}", out.len());
        let mut meter = Meter::new();
        meter.push(&out[4_800..43_200]);
        let hz = meter.dominant_hz().unwrap();
        assert!((hz - 440.0).abs() < 4.4, "{hz}");
        let mut reference = Meter::new();
        reference.push(&input);
        assert!((meter.rms_dbfs() - reference.rms_dbfs()).abs() < 0.5);
    }
}
