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
//!
//! The precision is a const parameter, so the index computation is a few
//! shifts by constants; counts are `u32` (the 3-digit histogram's bins then
//! take half the cache), and the rare bin that passes 2^32 values keeps its
//! extra wraps on the side.

use crate::engine::SimDuration;
use crate::result::{Percentiles, Stats};

/// Highest value tracked exactly enough: 10 years (values above are clamped).
const HIGH_NS: u64 = 10 * 365 * 86_400 * 1_000_000_000;

/// A histogram of durations with exact count, sum, min and max, keeping
/// `SIGFIG` significant decimal digits (2 or 3).
#[derive(Debug, Clone)]
pub struct DurationHistogram<const SIGFIG: u32> {
    /// Counts per bin modulo 2^32, HdrHistogram's index order.
    counts: Vec<u32>,
    /// Bins whose count wrapped past `u32::MAX`, with how many times (almost always empty).
    wraps: Vec<(usize, u64)>,
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl<const SIGFIG: u32> Default for DurationHistogram<SIGFIG> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SIGFIG: u32> DurationHistogram<SIGFIG> {
    /// log2 of half the number of sub-buckets per bucket: the sub-buckets are
    /// the power of two that holds 2 × 10^SIGFIG values at unit resolution.
    const HALF_MAG: u32 = 63 - (2 * 10u64.pow(SIGFIG) - 1).leading_zeros();

    /// An empty histogram.
    pub fn new() -> Self {
        DurationHistogram {
            counts: vec![0; Self::index(HIGH_NS) + 1],
            wraps: Vec::new(),
            count: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    /// The bucket of `v`: how many doublings above the first bucket's range it lies.
    #[inline(always)]
    fn bucket(v: u64) -> u32 {
        let mask = (2u64 << Self::HALF_MAG) - 1;
        63 - Self::HALF_MAG - (v | mask).leading_zeros()
    }

    /// The bin of `v` (at most `HIGH_NS`).
    #[inline(always)]
    fn index(v: u64) -> usize {
        let b = Self::bucket(v);
        (((b as u64 + 1) << Self::HALF_MAG) + (v >> b) - (1u64 << Self::HALF_MAG)) as usize
    }

    /// The lowest value of bin `index`.
    fn value_of(index: usize) -> u64 {
        let half = 1u64 << Self::HALF_MAG;
        let bucket = (index as u64 >> Self::HALF_MAG) as i64 - 1;
        let sub = (index as u64 & (half - 1)) + half;
        if bucket < 0 { sub - half } else { sub << bucket }
    }

    /// Adds one value.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let i = Self::index(d.0.min(HIGH_NS));
        let c = &mut self.counts[i];
        *c = c.wrapping_add(1);
        if *c == 0 {
            self.wrapped(i);
        }
        self.count += 1;
        self.sum_ns += d.0 as u128;
        self.min_ns = self.min_ns.min(d.0);
        self.max_ns = self.max_ns.max(d.0);
    }

    /// Bin `i` passed `u32::MAX` values once more.
    #[cold]
    fn wrapped(&mut self, i: usize) {
        match self.wraps.iter_mut().find(|(bin, _)| *bin == i) {
            Some((_, n)) => *n += 1,
            None => self.wraps.push((i, 1)),
        }
    }

    /// How many values bin `i` holds.
    #[inline]
    fn bin_count(&self, i: usize) -> u64 {
        let wraps = self.wraps.iter().find(|(bin, _)| *bin == i).map_or(0, |&(_, n)| n);
        u64::from(self.counts[i]) + (wraps << 32)
    }

    /// The bins that hold values: from the minimum's to the maximum's.
    fn used_bins(&self) -> std::ops::RangeInclusive<usize> {
        Self::index(self.min_ns.min(HIGH_NS))..=Self::index(self.max_ns.min(HIGH_NS))
    }

    /// Empties the histogram (it clears only the bins between the minimum and the maximum).
    pub fn reset(&mut self) {
        if self.count > 0 {
            let used = self.used_bins();
            self.counts[used].fill(0);
            self.wraps.clear();
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
            seen += self.bin_count(i);
            if seen >= target {
                bin = i;
                break;
            }
        }
        let low = Self::value_of(bin);
        if q == 0.0 { low } else { low + (1u64 << Self::bucket(low)) - 1 }
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
        let mut h = DurationHistogram::<3>::new();
        for _ in 0..10 {
            h.record(SimDuration::from_millis(1100));
        }
        let s = h.stats();
        assert_eq!((s.p50, s.p99, s.max, s.mean), (1100.0, 1100.0, 1100.0, 1100.0));
    }

    #[test]
    fn percentiles_are_within_the_stated_precision() {
        let mut h = DurationHistogram::<3>::new();
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
        check_against_hdrhistogram::<2>(&mut next);
        check_against_hdrhistogram::<3>(&mut next);
    }

    fn check_against_hdrhistogram<const SIGFIG: u32>(next: &mut impl FnMut() -> u64) {
        let sigfig = SIGFIG as u8;
        let mut ours = DurationHistogram::<SIGFIG>::new();
        for round in 0..40 {
            let mut reference = hdrhistogram::Histogram::<u64>::new_with_bounds(1, HIGH_NS, sigfig).unwrap();
            let n = 1 + next() % 3000;
            // Log-uniform magnitudes from 0 to beyond the clamp, some repeated.
            let top = 1 + (round % 21) * 3; // up to 61 bits, past the clamp
            for _ in 0..n {
                let r = next();
                let v = if r.is_multiple_of(7) { 1_000_000_000 } else { r >> (64 - top) };
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

    /// A bin that passes 2^32 values keeps counting (its wraps are kept aside).
    #[test]
    fn a_bin_past_u32_max_keeps_its_count() {
        let mut h = DurationHistogram::<2>::new();
        let (small, big) = (SimDuration::from_millis(1), SimDuration::from_millis(9));
        h.record(small);
        let i = DurationHistogram::<2>::index(big.0);
        h.counts[i] = u32::MAX;
        h.count += u64::from(u32::MAX);
        h.record(big);
        assert_eq!(h.bin_count(i), 1 << 32);
        // Without the wrap the median would fall in the small value's bin.
        assert_eq!(h.quantile_ms(0.5), Some(9.0));
        h.reset();
        h.record(big);
        assert_eq!(h.bin_count(i), 1);
    }

    #[test]
    fn huge_values_are_clamped_not_lost() {
        let mut h = DurationHistogram::<2>::new();
        h.record(SimDuration(u64::MAX));
        assert_eq!(h.stats().count, 1);
        assert!(h.quantile_ms(0.5).unwrap() > 0.0);
    }
}
