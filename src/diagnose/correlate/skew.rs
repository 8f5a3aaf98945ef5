//! The clock skew between two files of one call, NTP-style (RFC 5905 §8) from the offer and
//! the answer: the offer left one side at t1 and reached the other at t2, the answer left it at
//! t3 and came back at t4. The other side's clock is ahead by ((t2 − t1) + (t3 − t4)) / 2,
//! give or take half the time the messages spent in flight, ((t4 − t1) − (t3 − t2)) / 2.

use serde::Serialize;

use crate::diagnose::connection::{Connection, Description};
use crate::diagnose::timeline::Direction;

/// What the two files' clocks say about each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "clocks", rename_all = "kebab-case")]
pub enum Clocks {
    /// `skew_ms`: how far the second file's clock is ahead of the first's (negative: behind),
    /// good to ± `within_ms`.
    Compared { skew_ms: f64, within_ms: f64, evidence: Vec<String> },
    /// Why no estimate is possible.
    Unknown { why: String },
}

/// The first description going `direction` of `kind` and, when given, naming `like`'s end.
fn find<'a>(
    c: &'a Connection,
    direction: Direction,
    kind: &str,
    like: Option<&Description>,
) -> Option<&'a Description> {
    c.descriptions.iter().find(|d| {
        d.direction == direction
            && d.kind == kind
            && like.is_none_or(|l| l.identity.ufrag.is_none() || d.identity.ufrag == l.identity.ufrag)
    })
}

/// Compares the clocks of `a` (file `la`) and `b` (file `lb`), whichever of them offered.
pub fn clocks(la: &str, a: &Connection, lb: &str, b: &Connection) -> Clocks {
    let a_offered = find(a, Direction::Sent, "offer", None).is_some_and(|ao| {
        find(b, Direction::Sent, "offer", None).is_none_or(|bo| {
            // Both offered (a renegotiation): the earlier offer on its own clock decides.
            ao.t_ms <= bo.t_ms
        })
    });
    let (off, ans, lo, lans) = if a_offered { (a, b, la, lb) } else { (b, a, lb, la) };
    let sent_offer = find(off, Direction::Sent, "offer", None);
    let got_offer = find(ans, Direction::Received, "offer", sent_offer);
    let sent_answer = find(ans, Direction::Sent, "answer", None);
    let got_answer = find(off, Direction::Received, "answer", sent_answer);
    let (Some(d1), Some(d2), Some(d3), Some(d4)) = (sent_offer, got_offer, sent_answer, got_answer) else {
        return Clocks::Unknown {
            why: "the two files do not both show the offer and the answer going out and coming in".into(),
        };
    };
    let wall =
        [(off, d1, lo), (ans, d2, lans), (ans, d3, lans), (off, d4, lo)].map(|(c, d, l)| (c.wall_ms(d), l));
    if let Some((_, l)) = wall.iter().find(|(w, _)| w.is_none()) {
        return Clocks::Unknown {
            why: format!(
                "{l} has no wall-clock times (a dump with locale times only, or a timeline from an older \
                 rtc-assist): the clocks cannot be compared"
            ),
        };
    }
    let [t1, t2, t3, t4] = wall.map(|(w, _)| w.unwrap_or_default() as f64);
    // Seen from the offerer: how far the answerer's clock is ahead.
    let theta = ((t2 - t1) + (t3 - t4)) / 2.0;
    let flight = ((t4 - t1) - (t3 - t2)).max(0.0) / 2.0;
    let skew_ms = if a_offered { theta } else { -theta };
    let line = |l: &str, d: &Description, w: f64, what: &str| {
        format!("{l} {} at {} ms: {what} at {w:.0} (ms since the Unix epoch)", d.origin, d.t_ms)
    };
    Clocks::Compared {
        skew_ms,
        within_ms: flight,
        evidence: vec![
            line(lo, d1, t1, "offer sent"),
            line(lans, d2, t2, "offer received"),
            line(lans, d3, t3, "answer sent"),
            line(lo, d4, t4, "answer received"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::correlate::tests::desc;

    fn conn(descriptions: Vec<Description>) -> Connection {
        Connection { descriptions, ..Connection::default() }
    }

    #[test]
    fn the_answerers_clock_ahead_by_100_ms_with_10_ms_in_flight_each_way() {
        let offerer = conn(vec![
            desc(Direction::Sent, "offer", "o", "", Some(1_000_000)),
            desc(Direction::Received, "answer", "a", "", Some(1_000_050)),
        ]);
        let answerer = conn(vec![
            desc(Direction::Received, "offer", "o", "", Some(1_000_110)),
            desc(Direction::Sent, "answer", "a", "", Some(1_000_140)),
        ]);
        let Clocks::Compared { skew_ms, within_ms, evidence } = clocks("a", &offerer, "b", &answerer) else {
            panic!("no estimate")
        };
        assert_eq!((skew_ms, within_ms), (100.0, 10.0));
        assert!(evidence[1].starts_with("b line 5"), "{evidence:?}");
        // Seen the other way round, the first file's clock is behind.
        let Clocks::Compared { skew_ms, .. } = clocks("b", &answerer, "a", &offerer) else { panic!() };
        assert_eq!(skew_ms, -100.0);
    }

    #[test]
    fn without_wall_clocks_or_an_answer_it_says_so() {
        let offerer = conn(vec![
            desc(Direction::Sent, "offer", "o", "", Some(1_000_000)),
            desc(Direction::Received, "answer", "a", "", Some(1_000_050)),
        ]);
        let old = conn(vec![
            desc(Direction::Received, "offer", "o", "", None),
            desc(Direction::Sent, "answer", "a", "", None),
        ]);
        let Clocks::Unknown { why } = clocks("new", &offerer, "old.ndjson", &old) else { panic!() };
        assert!(why.starts_with("old.ndjson has no wall-clock times"), "{why}");
        let Clocks::Unknown { why } = clocks("a", &offerer, "b", &Connection::default()) else { panic!() };
        assert!(why.contains("do not both show"), "{why}");
    }
}
