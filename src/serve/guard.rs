//! One session's guard against abuse and dead clients: its message rate (a token bucket, then
//! `rate_limited` errors, then a close), whether its pongs keep coming, the deadlines of its
//! call (offer after joining, connection after offering) and its remote-candidate budget.

use std::time::{Duration, Instant};

use crate::serve::ratelimit::TokenBucket;
use super::limits::Limits;

/// What to do with a client message.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Over the rate: drop it; `reply` for the first of a run (one error, not one per message).
    Refuse {
        reply: bool,
    },
    /// Sustained abuse: close the session.
    Close,
}

/// A call step that must happen in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    Offer,
    Connected,
}

impl Deadline {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Offer => "no offer after joining",
            Self::Connected => "the peer connection did not come up after the offer",
        }
    }
}

pub struct Guard {
    limits: Limits,
    started: Instant,
    bucket: TokenBucket,
    strikes: u32,
    last_pong: Instant,
    deadline: Option<(Instant, Deadline)>,
    candidates: usize,
}

impl Guard {
    pub fn new(limits: &Limits) -> Self {
        let now = Instant::now();
        Self {
            bucket: TokenBucket::new(limits.message_rate, limits.message_burst, 0),
            limits: limits.clone(),
            started: now,
            strikes: 0,
            last_pong: now,
            deadline: None,
            candidates: 0,
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Judges one incoming protocol message against the rate.
    pub fn message(&mut self) -> Verdict {
        let now = self.now_ms();
        if self.bucket.take(now) {
            self.strikes = 0;
            return Verdict::Accept;
        }
        self.strikes += 1;
        if self.strikes >= self.limits.abuse_strikes {
            Verdict::Close
        } else {
            Verdict::Refuse { reply: self.strikes == 1 }
        }
    }

    pub fn pong(&mut self) {
        self.last_pong = Instant::now();
    }

    /// No pong for longer than the limit: the client is gone or not reading.
    pub fn pong_overdue(&self) -> bool {
        self.last_pong.elapsed() > self.limits.pong_timeout
    }

    pub fn ping_interval(&self) -> Duration {
        self.limits.ping_interval
    }

    /// The client joined a room: its offer is due.
    pub fn joined(&mut self) {
        self.deadline = Some((Instant::now() + self.limits.join_timeout, Deadline::Offer));
    }

    /// The client offered: its connection is due (once; renegotiations do not move it).
    pub fn offered(&mut self) {
        if matches!(self.deadline, Some((_, Deadline::Offer))) {
            self.deadline = Some((Instant::now() + self.limits.connect_timeout, Deadline::Connected));
        }
    }

    /// Connected, or left the room: nothing is due.
    pub fn settled(&mut self) {
        self.deadline = None;
    }

    pub fn deadline(&self) -> Option<(Instant, Deadline)> {
        self.deadline
    }

    /// Counts one remote candidate; false once the budget is spent.
    pub fn candidate(&mut self) -> bool {
        self.candidates += 1;
        self.candidates <= self.limits.max_candidates
    }

    pub fn max_candidates(&self) -> usize {
        self.limits.max_candidates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_gets_one_error_then_a_close() {
        let limits = Limits { message_rate: 0.0, message_burst: 3, abuse_strikes: 5, ..Limits::default() };
        let mut g = Guard::new(&limits);
        let verdicts: Vec<Verdict> = (0..8).map(|_| g.message()).collect();
        assert_eq!(&verdicts[..3], &[Verdict::Accept, Verdict::Accept, Verdict::Accept]);
        assert_eq!(verdicts[3], Verdict::Refuse { reply: true });
        assert_eq!(verdicts[4], Verdict::Refuse { reply: false });
        assert_eq!(verdicts[7], Verdict::Close);
    }

    #[test]
    fn deadlines_follow_the_call_and_candidates_are_budgeted() {
        let limits = Limits { max_candidates: 2, ..Limits::default() };
        let mut g = Guard::new(&limits);
        assert_eq!(g.deadline(), None);
        g.offered();
        assert_eq!(g.deadline(), None, "an offer before joining sets nothing");
        g.joined();
        assert_eq!(g.deadline().map(|d| d.1), Some(Deadline::Offer));
        g.offered();
        assert_eq!(g.deadline().map(|d| d.1), Some(Deadline::Connected));
        g.settled();
        assert_eq!(g.deadline(), None);
        assert!(g.candidate() && g.candidate() && !g.candidate());
    }
}
