//! Latency histograms in nanoseconds, reported in milliseconds.
//!
//! The layout is HdrHistogram's with a lowest value of 1 ns: buckets of doubling
//! width, each split into 2^m sub-buckets, so that every value is kept to
//! `sigfig` significant decimal digits over the whole range (1 ns to 10 years)
//! in a fixed array. Quantiles follow HdrHistogram's definition (the highest
//! value equivalent to the first bin where the cumulative count reaches
//! ceil(q × count)); a test checks every figure against the `hdrhistogram`
//! crate. It is written here rather than used from that crate because recording
//! is on the engine's hot path (four records per request): an index computation
//! and an increment, with no error path and no resizing.
//!
//! Percentiles are clamped to the exactly tracked minimum and maximum, so a
//! constant 1 s hold reports exactly 1000 ms rather than its bin's upper edge.

use serde::Serialize;

use crate::engine::SimDuration;

/// Highest value tracked exactly enough: 10 years (values above are clamped).
const HIGH_NS: u64 = 10 * 365 * 86_400 * 1_000_000_000;

/// A histogram of durations with exact count, sum, min and max.
#[derive(Debug, Clone)]
pub struct DurationHistogram {
    /// Counts per bin, HdrHistogram's index order.
    counts: Vec<u64>,
    /// log2 of half the number of sub-buckets per bucket.
    half_mag: u32,
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
        // Sub-buckets: the power of two that holds 2 × 10^sigfig values at unit resolution.
        let single_unit = 2 * 10u64.pow(u32::from(sigfig));
        let magnitude = 64 - (single_unit - 1).leading_zeros();
        let mut h = DurationHistogram {
            counts: Vec::new(),
            half_mag: magnitude - 1,
            count: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        };
        h.counts = vec![0; h.index(HIGH_NS) + 1];
        h
    }

    /// The bucket of `v`: how many doublings above the first bucket's range it lies.
    #[inline(always)]
    fn bucket(&self, v: u64) -> u32 {
        let mask = (2u64 << self.half_mag) - 1;
        63 - self.half_mag - (v | mask).leading_zeros()
    }

    /// The bin of `v` (at most `HIGH_NS`).
    #[inline(always)]
    fn index(&self, v: u64) -> usize {
        let b = self.bucket(v);
        (((b as u64 + 1) << self.half_mag) + (v >> b) - (1u64 << self.half_mag)) as usize
    }

    /// The lowest value of bin `index`.
    fn value_of(&self, index: usize) -> u64 {
        let half = 1u64 << self.half_mag;
        let bucket = (index as u64 >> self.half_mag) as i64 - 1;
        let sub = (index as u64 & (half - 1)) + half;
        if bucket < 0 { sub - half } else { sub << bucket }
    }

    /// Adds one value.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let i = self.index(d.0.min(HIGH_NS));
        self.counts[i] += 1;
        self.count += 1;
        self.sum_ns += d.0 as u128;
        self.min_ns = self.min_ns.min(d.0);
        self.max_ns = self.max_ns.max(d.0);
    }

    /// The bins that hold values: from the minimum's to the maximum's.
    fn used_bins(&self) -> std::ops::RangeInclusive<usize> {
        self.index(self.min_ns.min(HIGH_NS))..=self.index(self.max_ns.min(HIGH_NS))
    }

    /// Empties the histogram (it clears only the bins between the minimum and the maximum).
    pub fn reset(&mut self) {
        if self.count > 0 {
            let used = self.used_bins();
            self.counts[used].fill(0);
            self.count = 0;
            self.sum_ns = 0;
            self.min_ns = u64::MAX;
            self.max_ns = 0;
        }
    }

    /// HdrHistogram's value at quantile `q`: the highest value equivalent to
    /// the first bin where the cumulative count reaches ceil(q × count) (the
    /// lowest for q = 0). Needs `count > 0`.
    fn value_at_quantile(&self, q: f64) -> u64 {
        let q = q.min(1.0);
        let target = ((q * self.count as f64).ceil() as u64).max(1);
        let used = self.used_bins();
        let mut seen = 0;
        let mut bin = *used.end();
        for i in used {
            seen += self.counts[i];
            if seen >= target {
                bin = i;
                break;
            }
        }
        let low = self.value_of(bin);
        if q == 0.0 { low } else { low + (1u64 << self.bucket(low)) - 1 }
    }

    /// The `q` quantile in ms, clamped to the exact min and max; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let v = self.value_at_quantile(q).clamp(self.min_ns, self.max_ns);
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

    /// Every quantile agrees with the `hdrhistogram` crate's on the same
    /// values, over the whole range, at both precisions, after resets too.
    #[test]
    fn quantiles_match_hdrhistogram() {
        let mut state = 7u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        for sigfig in [2u8, 3] {
            let mut ours = DurationHistogram::new(sigfig);
            for round in 0..40 {
                let mut reference = hdrhistogram::Histogram::<u64>::new_with_bounds(1, HIGH_NS, sigfig).unwrap();
                let n = 1 + next() % 3000;
                // Log-uniform magnitudes from 0 to beyond the clamp, some repeated.
                let top = 1 + (round % 21) * 3; // up to 61 bits, past the clamp
                for _ in 0..n {
                    let r = next();
                    let v = if r % 7 == 0 { 1_000_000_000 } else { r >> (64 - top) };
                    ours.record(SimDuration(v));
                    reference.saturating_record(v.min(HIGH_NS));
                }
                for q in [0.0, 0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
                    let expected = reference.value_at_quantile(q);
                    assert_eq!(ours.value_at_quantile(q), expected, "sigfig {sigfig} round {round} q {q}");
                }
                ours.reset();
            }
        }
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut h = DurationHistogram::new(2);
        h.record(SimDuration(u64::MAX));
        assert_eq!(h.stats().count, 1);
        assert!(h.quantile_ms(0.5).unwrap() > 0.0);
    }
}
