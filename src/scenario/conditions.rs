//! Network conditions on a relayed media path, decided without I/O: each datagram between a
//! peer and its TURN server gets a verdict — drop it, or deliver it after a delay — from the
//! conditions and a seeded generator, so a scenario sees the same pattern of losses every run.
//! Only media is impaired: RTP/RTCP carried in TURN ChannelData (RFC 8656 §12.4). STUN, TURN
//! control and the DTLS handshake pass untouched, so a scenario about audio quality connects as
//! reliably as a healthy one.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Loss, fixed delay and jitter applied in each direction.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Conditions {
    /// Share of media datagrams dropped, in percent.
    pub loss_pct: f64,
    pub delay: Duration,
    /// Each datagram's delay is `delay` plus a uniform 0..=`jitter` (so datagrams reorder).
    pub jitter: Duration,
}

/// What happens to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Drop,
    Deliver(Duration),
}

/// Whether `datagram` (as sent to or from a TURN server over UDP) is ChannelData carrying RTP
/// or RTCP: channel numbers 0x4000-0x4FFF, then a payload whose version bits are 2.
pub fn is_media(datagram: &[u8]) -> bool {
    matches!(datagram, [0x40..=0x4f, _, _, _, first, ..] if (first >> 6) == 2)
}

/// The verdicts for one direction of one path.
pub struct Impairment {
    conditions: Conditions,
    rng: StdRng,
}

impl Impairment {
    pub fn new(conditions: Conditions, seed: u64) -> Self {
        Self { conditions, rng: StdRng::seed_from_u64(seed) }
    }

    pub fn judge(&mut self, datagram: &[u8]) -> Verdict {
        if !is_media(datagram) {
            return Verdict::Deliver(Duration::ZERO);
        }
        let c = self.conditions;
        if c.loss_pct > 0.0 && self.rng.random::<f64>() * 100.0 < c.loss_pct {
            return Verdict::Drop;
        }
        let jitter_us = c.jitter.as_micros() as u64;
        let extra = if jitter_us > 0 { self.rng.random_range(0..=jitter_us) } else { 0 };
        Verdict::Deliver(c.delay + Duration::from_micros(extra))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel_data(payload_first: u8) -> Vec<u8> {
        vec![0x40, 0x00, 0x00, 0x0c, payload_first, 0x6f, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    }

    #[test]
    fn only_rtp_and_rtcp_in_channel_data_count_as_media() {
        assert!(is_media(&channel_data(0x80)) && is_media(&channel_data(0xbf)));
        let stun_binding = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        let dtls_in_channel = channel_data(22);
        for other in
            [&stun_binding[..], &dtls_in_channel, &[0x40, 0x00, 0x00][..], &[], &[0x50, 0, 0, 1, 0x80]]
        {
            assert!(!is_media(other), "{other:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_losses_near_the_asked_rate() {
        let c = Conditions {
            loss_pct: 10.0,
            delay: Duration::from_millis(40),
            jitter: Duration::from_millis(20),
        };
        let run = |seed| {
            let mut i = Impairment::new(c, seed);
            (0..5_000).map(|_| i.judge(&channel_data(0x80))).collect::<Vec<_>>()
        };
        let (a, b) = (run(7), run(7));
        assert_eq!(a, b);
        let dropped = a.iter().filter(|v| **v == Verdict::Drop).count();
        assert!((400..=600).contains(&dropped), "{dropped} of 5000");
        for v in &a {
            if let Verdict::Deliver(d) = v {
                assert!(*d >= Duration::from_millis(40) && *d <= Duration::from_millis(60), "{d:?}");
            }
        }
    }

    #[test]
    fn control_traffic_is_never_dropped_or_delayed() {
        let c = Conditions { loss_pct: 100.0, delay: Duration::from_secs(1), jitter: Duration::ZERO };
        let mut i = Impairment::new(c, 1);
        assert_eq!(i.judge(&[0x00, 0x01, 0x00, 0x00]), Verdict::Deliver(Duration::ZERO));
        assert_eq!(i.judge(&channel_data(0x80)), Verdict::Drop);
    }
}
