//! Scraping the simulated state as Prometheus would (when a run asks for it:
//! alert rules or an OpenMetrics export): every interval, the instant levels of
//! each pool copy, the database and leaks, and the running totals of requests'
//! acquire timeouts, acquire waits, responses by status and latencies.
//!
//! The recorder owns the levels (it is told of every change); this keeps only
//! the running totals the timeline has no use for, and the rows taken so far.
//! Nothing here runs unless scraping is on: the recorder's hot calls test one
//! `Option`.

use crate::engine::{SimDuration, SimTime};
use crate::result::{CopySample, FleetSample, HISTOGRAM_LE_S, HistogramSample, Outcome, Scrapes};

/// The bounds of [`HISTOGRAM_LE_S`] in nanoseconds.
fn bounds_ns() -> [u64; HISTOGRAM_LE_S.len()] {
    HISTOGRAM_LE_S.map(|s| (s * 1e9).round() as u64)
}

/// A histogram's running totals: counts per bucket (not cumulative), sum, count.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    counts: [u64; HISTOGRAM_LE_S.len() + 1],
    sum_ns: u128,
    count: u64,
}

impl Totals {
    /// Counts `v` in the first bucket whose bound is at least `v` (Prometheus' `le`).
    #[inline]
    fn record(&mut self, bounds: &[u64; HISTOGRAM_LE_S.len()], v: SimDuration) {
        let i = bounds.partition_point(|&b| b < v.0);
        self.counts[i] += 1;
        self.sum_ns += u128::from(v.0);
        self.count += 1;
    }

    fn sample(&self) -> HistogramSample {
        let mut buckets = [0; HISTOGRAM_LE_S.len() + 1];
        let mut acc = 0;
        for (b, c) in buckets.iter_mut().zip(&self.counts) {
            acc += c;
            *b = acc;
        }
        HistogramSample { buckets, sum_s: self.sum_ns as f64 / 1e9, count: self.count }
    }
}

/// One pool copy's running totals.
#[derive(Debug, Clone, Copy, Default)]
struct CopyTotals {
    timeouts: u64,
    acquire: Totals,
}

/// The scrapes of a run, and the running totals they need.
#[derive(Debug)]
pub(super) struct Scraper {
    interval: SimDuration,
    /// When the next scrape is due.
    pub(super) next: SimTime,
    bounds: [u64; HISTOGRAM_LE_S.len()],
    copies: Vec<CopyTotals>,
    ok: u64,
    unavailable: u64,
    errors: u64,
    latency: Totals,
    refusals: u64,
    out: Scrapes,
}

impl Scraper {
    /// Scrapes every `interval` (the first at `interval`) for `copies` pool copies.
    pub(super) fn new(interval: SimDuration, copies: usize, db: (Option<u32>, Option<u32>)) -> Scraper {
        Scraper {
            interval,
            next: SimTime::ZERO + interval,
            bounds: bounds_ns(),
            copies: vec![CopyTotals::default(); copies],
            ok: 0,
            unavailable: 0,
            errors: 0,
            latency: Totals::default(),
            refusals: 0,
            out: Scrapes {
                interval_ms: (interval.0 / 1_000_000) as i64,
                max_connections: db.0,
                usable_connections: db.1,
                ..Scrapes::default()
            },
        }
    }

    /// A request's acquire wait ended in copy `instance` (served, or timed out).
    #[inline]
    pub(super) fn acquire_wait(&mut self, instance: usize, wait: SimDuration, timed_out: bool) {
        let c = &mut self.copies[instance];
        c.acquire.record(&self.bounds, wait);
        if timed_out {
            c.timeouts += 1;
        }
    }

    /// A response left.
    #[inline]
    pub(super) fn response(&mut self, latency: SimDuration, outcome: Outcome) {
        self.latency.record(&self.bounds, latency);
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::TimedOut => self.unavailable += 1,
            _ => self.errors += 1,
        }
    }

    /// The database refused a connection.
    pub(super) fn refusal(&mut self) {
        self.refusals += 1;
    }

    /// Takes the scrape due now: `levels` are each copy's (in use, idle, waiting, max_size).
    pub(super) fn scrape(&mut self, levels: impl Iterator<Item = (u32, u32, u32, u32)>, db_open: u32, leaked: u32) {
        self.out.times_ms.push((self.next.0 / 1_000_000) as i64);
        self.out.fleet.push(FleetSample {
            ok: self.ok,
            unavailable: self.unavailable,
            errors: self.errors,
            latency: self.latency.sample(),
            db_open,
            refusals: self.refusals,
            leaked,
        });
        for ((used, idle, waiting, max_size), c) in levels.zip(&self.copies) {
            self.out.copies.push(CopySample {
                used,
                idle,
                waiting,
                max_size,
                timeouts: c.timeouts,
                acquire: c.acquire.sample(),
            });
        }
        self.next += self.interval;
    }

    /// The scrapes taken.
    pub(super) fn finish(self) -> Scrapes {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_go_to_the_first_bucket_whose_bound_is_at_least_the_value() {
        let bounds = bounds_ns();
        let mut t = Totals::default();
        for ms in [0, 5, 6, 10_000, 10_001, 120_000] {
            t.record(&bounds, SimDuration::from_millis(ms));
        }
        let s = t.sample();
        // le 0.005 holds 0 and 5 ms (a value equal to a bound is in it); le 10 holds up to 10 s.
        assert_eq!(s.buckets[0], 2);
        assert_eq!(s.buckets[1], 3);
        assert_eq!(s.buckets[10], 4);
        assert_eq!(s.buckets[11], 5);
        assert_eq!(s.buckets[13], 6);
        assert_eq!(s.count, 6);
        assert!((s.sum_s - 140.012).abs() < 1e-9);
    }
}
