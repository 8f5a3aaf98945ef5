//! Sequence numbers and timestamps of one outgoing RTP stream whose source can change: an SFU
//! track that carries one publisher now and another later (the downlink on a client's own
//! transceiver). Each new source is shifted so the outgoing stream continues where it was —
//! the receiver sees one stream with no jump back (SRTP replay protection would drop it) and
//! no gap (its jitter buffer would wait). RFC 3550 §5.1: both fields wrap around.

/// RTP timestamp units between two 20 ms Opus frames at 48 kHz.
const FRAME_TICKS: u32 = 960;

#[derive(Debug, Default)]
pub struct Restamp {
    /// The SSRC of the source being carried, and the offsets applied to it.
    source: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    /// The last sequence number and timestamp sent.
    last: Option<(u16, u32)>,
}

impl Restamp {
    /// The outgoing sequence number and timestamp for a packet of `ssrc` numbered `seq` at `ts`.
    pub fn apply(&mut self, ssrc: u32, seq: u16, ts: u32) -> (u16, u32) {
        if self.source != Some(ssrc) {
            self.source = Some(ssrc);
            (self.seq_offset, self.ts_offset) = match self.last {
                Some((last_seq, last_ts)) => (
                    last_seq.wrapping_add(1).wrapping_sub(seq),
                    last_ts.wrapping_add(FRAME_TICKS).wrapping_sub(ts),
                ),
                None => (0, 0),
            };
        }
        let out = (seq.wrapping_add(self.seq_offset), ts.wrapping_add(self.ts_offset));
        let newer = self.last.is_none_or(|(last, _)| out.0.wrapping_sub(last) < 0x8000);
        if newer {
            self.last = Some(out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_source_passes_unchanged() {
        let mut r = Restamp::default();
        assert_eq!(r.apply(7, 100, 48_000), (100, 48_000));
        assert_eq!(r.apply(7, 101, 48_960), (101, 48_960));
    }

    #[test]
    fn a_new_source_continues_the_stream() {
        let mut r = Restamp::default();
        r.apply(7, 100, 48_000);
        r.apply(7, 101, 48_960);
        assert_eq!(r.apply(9, 5, 1_000), (102, 49_920));
        assert_eq!(r.apply(9, 6, 1_960), (103, 50_880));
        // Back to the first source: still forward.
        assert_eq!(r.apply(7, 500, 9_000), (104, 51_840));
    }

    #[test]
    fn wrap_around_and_reordering_stay_consistent() {
        let mut r = Restamp::default();
        r.apply(1, u16::MAX, u32::MAX - 100);
        assert_eq!(r.apply(2, 10, 0), (0, (u32::MAX - 100).wrapping_add(FRAME_TICKS)));
        // A late packet of the new source keeps its place and does not move `last` back.
        assert_eq!(r.apply(2, 12, 1_920), (2, (u32::MAX - 100).wrapping_add(FRAME_TICKS * 3)));
        assert_eq!(r.apply(2, 11, 960), (1, (u32::MAX - 100).wrapping_add(FRAME_TICKS * 2)));
        assert_eq!(r.apply(3, 0, 0), (3, (u32::MAX - 100).wrapping_add(FRAME_TICKS * 4)));
    }
}
