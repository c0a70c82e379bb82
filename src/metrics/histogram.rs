//! Latency histograms: HDR histograms in nanoseconds, reported in milliseconds.
//!
//! Percentiles are clamped to the exactly tracked minimum and maximum, so a
//! constant 1 s hold reports exactly 1000 ms rather than its HDR bucket's upper edge.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::SimDuration;

/// Highest value tracked exactly enough: 10 years (values above are clamped).
const HIGH_NS: u64 = 10 * 365 * 86_400 * 1_000_000_000;

/// A histogram of durations with exact count, sum, min and max.
#[derive(Debug, Clone)]
pub struct DurationHistogram {
    hist: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

/// p50/p95/p99 of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Summary statistics of a set of durations, in milliseconds (all zero when empty).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// How many values.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean (exact, from the sum).
    pub mean: f64,
}

impl DurationHistogram {
    /// An empty histogram with `sigfig` significant decimal digits (2 or 3).
    pub fn new(sigfig: u8) -> DurationHistogram {
        // Bounds are constants known to be valid, so creation cannot fail.
        let hist = Histogram::new_with_bounds(1, HIGH_NS, sigfig).expect("valid histogram bounds");
        DurationHistogram { hist, count: 0, sum_ns: 0, min_ns: u64::MAX, max_ns: 0 }
    }

    /// Adds one value.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let v = d.0.min(HIGH_NS);
        self.hist.saturating_record(v);
        self.count += 1;
        self.sum_ns += d.0 as u128;
        self.min_ns = self.min_ns.min(d.0);
        self.max_ns = self.max_ns.max(d.0);
    }

    /// Empties the histogram (cheap when it is already empty).
    pub fn reset(&mut self) {
        if self.count > 0 {
            self.hist.reset();
            self.count = 0;
            self.sum_ns = 0;
            self.min_ns = u64::MAX;
            self.max_ns = 0;
        }
    }

    /// The `q` quantile in ms, clamped to the exact min and max; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let v = self.hist.value_at_quantile(q).clamp(self.min_ns, self.max_ns);
        Some(v as f64 / 1e6)
    }

    /// p50/p95/p99, or `None` when empty.
    pub fn percentiles(&self) -> Option<Percentiles> {
        Some(Percentiles { p50: self.quantile_ms(0.50)?, p95: self.quantile_ms(0.95)?, p99: self.quantile_ms(0.99)? })
    }

    /// Count, percentiles, max and mean.
    pub fn stats(&self) -> Stats {
        let q = |p| self.quantile_ms(p).unwrap_or(0.0);
        Stats {
            count: self.count,
            p50: q(0.50),
            p95: q(0.95),
            p99: q(0.99),
            max: if self.count == 0 { 0.0 } else { self.max_ns as f64 / 1e6 },
            mean: if self.count == 0 { 0.0 } else { self.sum_ns as f64 / self.count as f64 / 1e6 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_values_report_exactly() {
        let mut h = DurationHistogram::new(3);
        for _ in 0..10 {
            h.record(SimDuration::from_millis(1100));
        }
        let s = h.stats();
        assert_eq!((s.p50, s.p99, s.max, s.mean), (1100.0, 1100.0, 1100.0, 1100.0));
    }

    #[test]
    fn percentiles_are_within_the_stated_precision() {
        let mut h = DurationHistogram::new(3);
        for ms in 1..=1000 {
            h.record(SimDuration::from_millis(ms));
        }
        let p = h.percentiles().unwrap();
        assert!((p.p50 - 500.0).abs() <= 0.5 + 500.0 * 1e-3, "{p:?}");
        assert!((p.p99 - 990.0).abs() <= 0.5 + 990.0 * 1e-3, "{p:?}");
        h.reset();
        assert_eq!(h.percentiles(), None);
        assert_eq!(h.stats().count, 0);
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut h = DurationHistogram::new(2);
        h.record(SimDuration(u64::MAX));
        assert_eq!(h.stats().count, 1);
        assert!(h.quantile_ms(0.5).unwrap() > 0.0);
    }
}
