//! A token bucket: `rate` tokens a second up to `burst`, one taken per event. Used for a
//! session's messages and for WebSocket upgrades per source address. Time comes in as
//! milliseconds from the caller's own clock.

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_s: f64,
    burst: f64,
    tokens: f64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn new(rate_per_s: f64, burst: u32, now_ms: u64) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate_per_s: rate_per_s.max(0.0), burst, tokens: burst, last_ms: now_ms }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.rate_per_s).min(self.burst);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Milliseconds until a token is there (0: one is there now).
    pub fn ms_until_token(&mut self, now_ms: u64) -> u64 {
        self.refill(now_ms);
        if self.tokens >= 1.0 || self.rate_per_s == 0.0 {
            return if self.tokens >= 1.0 { 0 } else { u64::MAX };
        }
        ((1.0 - self.tokens) / self.rate_per_s * 1000.0).ceil() as u64
    }

    /// The bucket is full again: it holds no state worth keeping.
    pub fn is_full(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        self.tokens >= self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let mut b = TokenBucket::new(5.0, 20, 0);
        assert_eq!((0..25).filter(|_| b.take(0)).count(), 20);
        assert!(!b.take(100));
        assert!(b.take(200), "one token per 200 ms at 5/s");
        assert!(!b.take(250));
        assert_eq!((0..100).filter(|_| b.take(60_000)).count(), 20, "refills only up to the burst");
    }

    #[test]
    fn a_clock_that_goes_back_takes_nothing_away() {
        let mut b = TokenBucket::new(1.0, 1, 10_000);
        assert!(b.take(10_000));
        assert!(!b.take(5_000));
        assert!(b.take(11_000));
        assert!(!b.is_full(11_500) && b.is_full(12_000));
    }

    #[test]
    fn the_wait_for_the_next_token() {
        let mut b = TokenBucket::new(5.0, 1, 0);
        assert_eq!(b.ms_until_token(0), 0);
        assert!(b.take(0));
        assert_eq!(b.ms_until_token(0), 200);
        assert_eq!(b.ms_until_token(150), 50);
        assert_eq!(TokenBucket::new(0.0, 1, 0).ms_until_token(0), 0);
        let mut empty = TokenBucket::new(0.0, 1, 0);
        assert!(empty.take(0));
        assert_eq!(empty.ms_until_token(1), u64::MAX);
    }
}
