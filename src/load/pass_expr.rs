//! `load --pass 'connect_p99<200ms,failed<1%,loss_p95<1%'`: thresholds on the run's figures.
//! Each term is `METRIC OP NUMBER[UNIT]` with `<`, `<=`, `>`, `>=`; the unit must suit the
//! metric (times in `ms` or `s`, shares in `%`, counts bare), so a typo is an error, not a
//! silently passing test.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Self::Lt => value < limit,
            Self::Le => value <= limit,
            Self::Gt => value > limit,
            Self::Ge => value >= limit,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// What a metric measures, which decides the units it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Milliseconds (`ms`, `s`, or bare).
    Time,
    /// A percentage (`%` or bare).
    Percent,
    /// A count of peers: bare, or `%` of all peers.
    Peers,
    /// A plain number (packets per second, bytes).
    Number,
}

/// The metrics a threshold may name.
pub const METRICS: &[(&str, Kind)] = &[
    ("connected", Kind::Peers),
    ("failed", Kind::Peers),
    ("connect_p50", Kind::Time),
    ("connect_p90", Kind::Time),
    ("connect_p99", Kind::Time),
    ("connect_max", Kind::Time),
    ("offer_to_connected_p99", Kind::Time),
    ("loss_p50", Kind::Percent),
    ("loss_p95", Kind::Percent),
    ("loss_max", Kind::Percent),
    ("jitter_p50", Kind::Time),
    ("jitter_p95", Kind::Time),
    ("jitter_max", Kind::Time),
    ("forwarded_pps", Kind::Number),
    ("forwarded_pps_per_core", Kind::Number),
    ("server_cpu", Kind::Percent),
    ("server_us_per_packet", Kind::Number),
    ("server_rss_bytes", Kind::Number),
    ("server_queue_drops", Kind::Number),
    ("peers_short", Kind::Peers),
    ("packets_short", Kind::Number),
    ("packets_extra", Kind::Number),
    ("packets_lost", Kind::Number),
    ("duplicates", Kind::Number),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub metric: &'static str,
    op: Op,
    /// In the metric's base unit (ms, %, peers or a number).
    limit: f64,
    /// A peer count given as a share of all peers.
    of_peers: bool,
    text: String,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A threshold judged against the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub threshold: String,
    /// The figure compared (in the threshold's unit), `None` when the run has no such figure.
    pub value: Option<f64>,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("empty threshold in --pass")]
    Empty,
    #[error("{0:?}: expected METRIC<VALUE (operators < <= > >=)")]
    NoOperator(String),
    #[error("{0:?}: unknown metric (known: {known})", known = METRICS.iter().map(|m| m.0).collect::<Vec<_>>().join(", "))]
    UnknownMetric(String),
    #[error("{0:?}: not a number")]
    BadNumber(String),
    #[error("{term:?}: {metric} does not take the unit {unit:?}")]
    BadUnit { term: String, metric: &'static str, unit: String },
}

const MAX_TERMS: usize = 32;

/// A whole `--pass` list (one command-line value).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds(pub Vec<Threshold>);

impl Thresholds {
    pub fn parse(text: &str) -> Result<Self, PassError> {
        parse(text).map(Self)
    }
}

/// Parses a comma-separated list of thresholds.
pub fn parse(text: &str) -> Result<Vec<Threshold>, PassError> {
    let terms: Vec<&str> = text.split(',').map(str::trim).collect();
    if terms.len() > MAX_TERMS {
        return Err(PassError::NoOperator(format!("more than {MAX_TERMS} thresholds")));
    }
    terms.into_iter().map(parse_term).collect()
}

fn parse_term(term: &str) -> Result<Threshold, PassError> {
    if term.is_empty() {
        return Err(PassError::Empty);
    }
    let at = term.find(['<', '>']).ok_or_else(|| PassError::NoOperator(term.into()))?;
    let (name, rest) = term.split_at(at);
    let (op, rest) = match rest.as_bytes() {
        [b'<', b'=', ..] => (Op::Le, &rest[2..]),
        [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
        [b'<', ..] => (Op::Lt, &rest[1..]),
        _ => (Op::Gt, &rest[1..]),
    };
    let name = name.trim();
    let &(metric, kind) =
        METRICS.iter().find(|(m, _)| *m == name).ok_or_else(|| PassError::UnknownMetric(name.into()))?;
    let rest = rest.trim();
    let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, unit) = rest.split_at(split);
    let value: f64 = number.parse().map_err(|_| PassError::BadNumber(term.into()))?;
    if !value.is_finite() {
        return Err(PassError::BadNumber(term.into()));
    }
    let unit = unit.trim();
    let bad = || PassError::BadUnit { term: term.into(), metric, unit: unit.into() };
    let (limit, of_peers) = match (kind, unit) {
        (Kind::Time, "" | "ms") => (value, false),
        (Kind::Time, "s") => (value * 1000.0, false),
        (Kind::Percent, "" | "%") => (value, false),
        (Kind::Peers, "") => (value, false),
        (Kind::Peers, "%") => (value, true),
        (Kind::Number, "") => (value, false),
        _ => return Err(bad()),
    };
    Ok(Threshold { metric, op, limit, of_peers, text: format!("{metric}{}{number}{unit}", op.as_str()) })
}

/// Judges `thresholds`; `figure(metric)` gives the run's value in the metric's base unit and
/// `peers` the number of peers (for shares). A missing figure fails its threshold.
pub fn judge(thresholds: &[Threshold], peers: usize, figure: impl Fn(&str) -> Option<f64>) -> Vec<Verdict> {
    thresholds
        .iter()
        .map(|t| {
            let value =
                figure(t.metric).map(|v| if t.of_peers { 100.0 * v / peers.max(1) as f64 } else { v });
            Verdict {
                threshold: t.text.clone(),
                value,
                passed: value.is_some_and(|v| t.op.holds(v, t.limit)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(m: &str) -> Option<f64> {
        match m {
            "connect_p99" => Some(180.0),
            "failed" => Some(1.0),
            "loss_p95" => Some(0.4),
            _ => None,
        }
    }

    #[test]
    fn the_issue_example_parses_and_judges() {
        let t = parse("connect_p99<200ms,failed<1%,loss_p95<1%").unwrap();
        let v = judge(&t, 200, figures);
        assert!(v.iter().all(|v| v.passed), "{v:?}");
        // One failed peer of 50 is 2 %.
        let v = judge(&t, 50, figures);
        assert_eq!(v[1], Verdict { threshold: "failed<1%".into(), value: Some(2.0), passed: false });
    }

    #[test]
    fn units_convert_and_operators_are_exact() {
        let t = parse(" connect_p99 <= 0.18s , failed>=1").unwrap();
        assert!(judge(&t, 10, figures).iter().all(|v| v.passed));
        let t = parse("connect_p99<180").unwrap();
        assert!(!judge(&t, 10, figures)[0].passed);
    }

    #[test]
    fn a_missing_figure_fails() {
        let t = parse("forwarded_pps>100").unwrap();
        assert_eq!(
            judge(&t, 1, figures)[0],
            Verdict { threshold: "forwarded_pps>100".into(), value: None, passed: false }
        );
    }

    #[test]
    fn hostile_expressions_are_named_errors() {
        assert_eq!(parse(""), Err(PassError::Empty));
        assert_eq!(parse("connect_p99<1ms,"), Err(PassError::Empty));
        assert!(matches!(parse("connect_p99"), Err(PassError::NoOperator(_))));
        assert!(matches!(parse("latency<5"), Err(PassError::UnknownMetric(_))));
        assert!(matches!(parse("failed<"), Err(PassError::BadNumber(_))));
        assert!(matches!(parse("failed<1.2.3"), Err(PassError::BadNumber(_))));
        assert!(matches!(parse("loss_p95<1ms"), Err(PassError::BadUnit { .. })));
        assert!(matches!(parse("connect_p99<1%"), Err(PassError::BadUnit { .. })));
        assert!(matches!(parse("failed<<1"), Err(PassError::BadNumber(_))));
        assert!(parse(&"failed<1,".repeat(40)).is_err());
        assert!(parse("connect_p99<1e400").is_err());
        assert!(parse("connect_p99<\u{202e}5").is_err());
    }
}
