//! What a receiver that never decodes learns from one RTP stream: packets, duplicates,
//! reordering, loss (from extended sequence numbers, RFC 3550 A.1) and interarrival jitter
//! (RFC 3550 A.8, from RTP timestamps against arrival times). Pure: the caller passes the
//! arrival time in microseconds.

use std::collections::VecDeque;

/// Sequence numbers remembered for duplicate detection (~1.3 s of 20 ms audio).
const RECENT: usize = 64;

/// The running account of one stream.
#[derive(Debug, Clone)]
pub struct RtpCount {
    clock_hz: u32,
    /// Extended (32-bit, wrap-counted) sequence numbers.
    first: Option<u64>,
    highest: u64,
    recent: VecDeque<u64>,
    pub packets: u64,
    pub duplicates: u64,
    /// Packets that arrived after a later sequence number.
    pub reordered: u64,
    /// RFC 3550 jitter estimate in timestamp units (× 16 fixed point is not needed in f64).
    jitter: f64,
    last_transit: Option<i64>,
}

/// A snapshot of a stream's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtpFigures {
    pub packets: u64,
    /// Packets expected from the first to the highest sequence number seen.
    pub expected: u64,
    /// `expected - (packets - duplicates)`, never negative.
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub jitter_ms: f64,
}

impl RtpFigures {
    /// Lost packets as a percentage of those expected (0 before anything arrived).
    pub fn loss_pct(&self) -> f64 {
        if self.expected == 0 { 0.0 } else { 100.0 * self.lost as f64 / self.expected as f64 }
    }
}

impl RtpCount {
    /// A stream whose RTP clock runs at `clock_hz` (48,000 for Opus).
    pub fn new(clock_hz: u32) -> Self {
        Self {
            clock_hz: clock_hz.max(1),
            first: None,
            highest: 0,
            recent: VecDeque::with_capacity(RECENT),
            packets: 0,
            duplicates: 0,
            reordered: 0,
            jitter: 0.0,
            last_transit: None,
        }
    }

    /// The extended sequence number of `seq`, taken as the one nearest the highest so far.
    fn extend(&self, seq: u16) -> u64 {
        if self.first.is_none() {
            // Start one cycle up so a packet just before the first does not underflow.
            return (1 << 16) | u64::from(seq);
        }
        let cycle = self.highest & !0xffff;
        let candidates = [cycle.wrapping_sub(1 << 16), cycle, cycle + (1 << 16)];
        candidates
            .into_iter()
            .map(|c| c | u64::from(seq))
            .min_by_key(|&e| e.abs_diff(self.highest))
            .unwrap_or(cycle | u64::from(seq))
    }

    /// One packet arrived at `arrival_us` with this sequence number and RTP timestamp.
    pub fn push(&mut self, seq: u16, timestamp: u32, arrival_us: u64) {
        self.packets += 1;
        let ext = self.extend(seq);
        if self.recent.contains(&ext) {
            self.duplicates += 1;
            return;
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(ext);
        match self.first {
            None => {
                self.first = Some(ext);
                self.highest = ext;
            }
            Some(first) => {
                if ext > self.highest {
                    self.highest = ext;
                } else {
                    self.reordered += 1;
                }
                if ext < first {
                    self.first = Some(ext);
                }
            }
        }
        // RFC 3550 A.8: transit = arrival (in RTP units) - timestamp; J += (|D| - J) / 16.
        let arrival = (arrival_us as u128 * u128::from(self.clock_hz) / 1_000_000) as i64;
        let transit = arrival - i64::from(timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs() as f64;
            // A timestamp jump of more than a second is a new source, not jitter.
            if d < f64::from(self.clock_hz) {
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.last_transit = Some(transit);
    }

    pub fn figures(&self) -> RtpFigures {
        let expected = self.first.map_or(0, |f| self.highest - f + 1);
        let unique = self.packets - self.duplicates;
        RtpFigures {
            packets: self.packets,
            expected,
            lost: expected.saturating_sub(unique),
            duplicates: self.duplicates,
            reordered: self.reordered,
            jitter_ms: self.jitter * 1000.0 / f64::from(self.clock_hz),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPUS: u32 = 48_000;

    /// Packets `seqs` at a perfect 20 ms pace (timestamps and arrivals in step).
    fn paced(seqs: &[u16]) -> RtpCount {
        let mut c = RtpCount::new(OPUS);
        for (i, &s) in seqs.iter().enumerate() {
            let i = i as u64;
            c.push(s, (s as u32).wrapping_mul(960), i * 20_000);
        }
        c
    }

    #[test]
    fn a_clean_stream_has_no_loss_and_no_jitter() {
        let seqs: Vec<u16> = (100..200).collect();
        let f = paced(&seqs).figures();
        assert_eq!((f.packets, f.expected, f.lost, f.duplicates, f.reordered), (100, 100, 0, 0, 0));
        assert!(f.jitter_ms < 0.01, "{}", f.jitter_ms);
    }

    #[test]
    fn gaps_are_loss_and_repeats_are_duplicates() {
        let f = paced(&[1, 2, 4, 5, 5, 8]).figures();
        assert_eq!(f.expected, 8);
        assert_eq!(f.duplicates, 1);
        assert_eq!(f.lost, 3); // 3, 6, 7
        assert!((f.loss_pct() - 37.5).abs() < 1e-9);
    }

    #[test]
    fn a_late_packet_is_reordered_not_lost() {
        let f = paced(&[1, 3, 2, 4]).figures();
        assert_eq!((f.lost, f.reordered), (0, 1));
    }

    #[test]
    fn sequence_numbers_wrap_without_loss() {
        let seqs: Vec<u16> = (65_530..=65_535).chain(0..6).collect();
        let f = paced(&seqs).figures();
        assert_eq!((f.expected, f.lost, f.reordered), (12, 0, 0));
    }

    #[test]
    fn a_packet_from_before_the_first_counts_back_the_start() {
        let f = paced(&[10, 9, 11]).figures();
        assert_eq!((f.expected, f.lost, f.reordered), (3, 0, 1));
    }

    #[test]
    fn jitter_follows_rfc3550_for_alternating_delay() {
        // Every other packet 4 ms late: |D| = 4 ms each step, J converges to 4 ms.
        let mut c = RtpCount::new(OPUS);
        for i in 0..2_000u64 {
            let late = if i % 2 == 1 { 4_000 } else { 0 };
            c.push(i as u16, (i as u32) * 960, i * 20_000 + late);
        }
        let j = c.figures().jitter_ms;
        assert!((j - 4.0).abs() < 0.05, "{j}");
    }

    #[test]
    fn hostile_sequences_never_panic() {
        let mut c = RtpCount::new(0);
        for (i, s) in [0u16, 65_535, 32_768, 0, 1, 65_535, 32_767].into_iter().enumerate() {
            c.push(s, u32::MAX - i as u32, u64::MAX / 2 + i as u64);
        }
        let f = c.figures();
        assert!(f.lost <= f.expected);
        assert_eq!(f.packets, 7);
    }
}
