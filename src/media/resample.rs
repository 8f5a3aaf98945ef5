//! Sample-rate conversion to 48 kHz with rubato (FFT-based, fixed input chunks).

use rubato::{FftFixedIn, Resampler};

use super::SAMPLE_RATE;

const CHUNK: usize = 1024;

/// Converts mono samples at `rate` Hz to 48 kHz.
pub fn to_48k(input: &[f32], rate: u32) -> Result<Vec<f32>, String> {
    if rate == SAMPLE_RATE || input.is_empty() {
        return Ok(input.to_vec());
    }
    if !(8_000..=384_000).contains(&rate) {
        return Err(format!("unsupported sample rate {rate} Hz"));
    }
    let mut r = FftFixedIn::<f32>::new(rate as usize, SAMPLE_RATE as usize, CHUNK, 2, 1)
        .map_err(|e| e.to_string())?;
    let expected = (input.len() as u64 * u64::from(SAMPLE_RATE) / u64::from(rate)) as usize;
    let mut out = Vec::with_capacity(expected + CHUNK * 2);
    let delay = r.output_delay();
    let mut pos = 0;
    while pos + CHUNK <= input.len() {
        let chunk = r.process(&[&input[pos..pos + CHUNK]], None).map_err(|e| e.to_string())?;
        out.extend_from_slice(&chunk[0]);
        pos += CHUNK;
    }
    if pos < input.len() {
        let tail = r.process_partial(Some(&[&input[pos..]]), None).map_err(|e| e.to_string())?;
        out.extend_from_slice(&tail[0]);
    }
    // Flush the filter's delay so the end of the input is not lost.
    let flushed = r.process_partial::<&[f32]>(None, None).map_err(|e| e.to_string())?;
    out.extend_from_slice(&flushed[0]);
    Ok(out.into_iter().skip(delay).take(expected).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
