//! Nearest-rank quantiles of a sample (the figures `load` and the benchmarks print).

use serde::Serialize;

/// The `q`-quantile (0 ≤ q ≤ 1) of `sorted` by nearest rank; `None` for an empty sample.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `values` sorted, NaNs dropped.
pub fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Times: p50, p90, p99 and max, rounded to 0.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tail {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Tail {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let v = sorted(values);
        let q = |q| quantile(&v, q).map(round1);
        Self { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1.0) }
    }
}

/// Rates across peers (loss, jitter): p50, p95 and max, rounded to 0.1 (loss to 0.01).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>, decimals: i32) -> Self {
        let v = sorted(values);
        let scale = 10f64.powi(decimals);
        let q = |q| quantile(&v, q).map(|x| (x * scale).round() / scale);
        Self { p50: q(0.5), p95: q(0.95), max: q(1.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v = sorted((1..=100).map(f64::from));
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn a_small_sample_puts_p99_at_its_max() {
        let t = Tail::of([12.0, 15.0, 1015.0, 13.0]);
        assert_eq!((t.p50, t.p99, t.max), (Some(13.0), Some(1015.0), Some(1015.0)));
    }

    #[test]
    fn nan_and_out_of_range_q_are_harmless() {
        let v = sorted([f64::NAN, 2.0, 1.0]);
        assert_eq!(v, vec![1.0, 2.0]);
        assert_eq!(quantile(&v, 7.0), Some(2.0));
        assert_eq!(quantile(&v, -1.0), Some(1.0));
        assert_eq!(Spread::of([0.123_456], 2).p95, Some(0.12));
    }
}
