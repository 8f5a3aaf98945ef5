//! libopus at 48 kHz mono, 20 ms frames, tuned for speech (VoIP application, in-band FEC on,
//! DTX off).

use opus::{Application, Bitrate, Channels, Decoder, Encoder};

use super::{FRAME_SAMPLES, SAMPLE_RATE};

/// Largest Opus packet we produce (RFC 6716 allows 1275 bytes per frame).
const MAX_PACKET: usize = 1500;
/// Default speech bitrate.
pub const DEFAULT_BITRATE: i32 = 32_000;

#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct CodecError(#[from] opus::Error);

pub struct OpusEncoder {
    inner: Encoder,
}

impl OpusEncoder {
    pub fn new(bitrate: i32) -> Result<Self, CodecError> {
        let mut inner = Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip)?;
        inner.set_bitrate(Bitrate::Bits(bitrate))?;
        inner.set_inband_fec(true)?;
        inner.set_packet_loss_perc(5)?;
        inner.set_dtx(false)?;
        Ok(Self { inner })
    }

    /// Encodes one 20 ms frame of [`FRAME_SAMPLES`] samples.
    pub fn encode(&mut self, frame: &[f32]) -> Result<Vec<u8>, CodecError> {
        debug_assert_eq!(frame.len(), FRAME_SAMPLES);
        Ok(self.inner.encode_vec_float(frame, MAX_PACKET)?)
    }
}

pub struct OpusDecoder {
    inner: Decoder,
    buf: Vec<f32>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, CodecError> {
        // 120 ms is the longest frame Opus allows.
        Ok(Self { inner: Decoder::new(SAMPLE_RATE, Channels::Mono)?, buf: vec![0.0; 5760] })
    }

    /// Decodes one packet (mono or stereo, downmixed) into 48 kHz mono samples.
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[f32], CodecError> {
        let n = self.inner.decode_float(packet, &mut self.buf, false)?;
        Ok(&self.buf[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{analysis::Meter, tone::Tone};

    #[test]
    fn a_tone_survives_encode_and_decode() {
        let mut enc = OpusEncoder::new(DEFAULT_BITRATE).unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut tone = Tone::new(660.0);
        let mut meter = Meter::new();
        let mut frame = vec![0.0; FRAME_SAMPLES];
        for _ in 0..100 {
            tone.fill(&mut frame);
            let pkt = enc.encode(&frame).unwrap();
            assert!(pkt.len() < 400);
            meter.push(dec.decode(&pkt).unwrap());
        }
        let f = meter.dominant_hz().unwrap();
        assert!((f - 660.0).abs() < 660.0 * 0.01, "{f}");
        assert!(meter.rms_dbfs() > -20.0);
    }

    #[test]
    fn garbage_packets_are_errors_not_panics() {
        let mut dec = OpusDecoder::new().unwrap();
        for pkt in [&[0xffu8; 3][..], &[0x0b, 0xff, 0xff, 0xff][..], &[0u8; 2000][..]] {
            let _ = dec.decode(pkt);
        }
    }
}
