//! The recorder: folds what the model reports into timeline buckets and totals.
//!
//! The model calls it in simulated-time order. Each call first closes every
//! bucket that ended before the call's time, so a bucket's figures cover exactly
//! `[start, start + width)`. Gauges (connections in use, waiting requests) are
//! integrated over time for their means.

use super::hand_off;
use super::histogram::DurationHistogram;
use super::scrape::Scraper;
use crate::engine::{SimDuration, SimTime};
use crate::result::{Bucket, Outcome, PoolRow, RequestCounts, RowSink, Scrapes, Summary};

/// Collects the timeline and the summary of one run.
#[derive(Debug)]
pub struct Recorder {
    width: SimDuration,
    bucket_start: SimTime,
    bucket_end: SimTime,
    /// The next instant the recorder must stop at: the bucket's end, or an
    /// earlier scrape (one compare per report either way).
    boundary: SimTime,
    /// Prometheus-style scrapes, when the run asks for them.
    scrape: Option<Box<Scraper>>,
    /// Connections in use integrated from 0 to the warm-up instant, once reached:
    /// the summary's mean covers [warmup, end).
    area_at_warmup: Option<u128>,
    timeline: Vec<Bucket>,
    cur: Counts,
    // Gauges: current values and their time integrals within the bucket.
    used: u32,
    waiting: u32,
    max_size: u32,
    last_t: SimTime,
    used_area: u128,
    waiting_area: u128,
    run_used_area: u128,
    used_max: u32,
    free_min: u32,
    waiting_max: u32,
    // Per-bucket distributions (2 significant digits: plots need no more).
    bucket_latency: DurationHistogram<2>,
    bucket_wait: DurationHistogram<2>,
    // Whole-run figures.
    latency: DurationHistogram<3>,
    wait: DurationHistogram<3>,
    totals: Counts,
    exhaustion_total: u64,
    queued_total: u64,
    queue_depth_max: u32,
    pool_used_max: u32,
    first_503: Option<SimTime>,
    // Steady state: requests that arrived before `warmup` stay out of the summary,
    // and its peaks (`queue_depth_max`, `pool_used_max`, `db_peak`) are the
    // maxima of the levels over [warmup, end): until the warm-up they follow
    // the level, so the one in force at the warm-up instant counts.
    warmup: SimTime,
    // The database and leaks.
    db_open: u32,
    db_open_max: u32,
    db_usable: u32,
    db_peak: u32,
    refusals_bucket: u64,
    refusals_total: u64,
    leaked: u32,
    // Per pool copy, for `pools.csv`.
    copies: Vec<CopyLevels>,
    /// Rows of closed buckets, until the run hands them to its pool-row sink (or to the end).
    pool_rows: Vec<PoolRow>,
    /// Whether a bucket closed since the last [`hand_off_rows`](Self::hand_off_rows).
    closed: bool,
}

/// One pool copy's levels now and its figures in the current bucket (for `pools.csv`).
#[derive(Debug, Default, Clone, Copy)]
struct CopyLevels {
    used: u32,
    idle: u32,
    waiting: u32,
    max_size: u32,
    used_max: u32,
    waiting_max: u32,
    timeouts: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    arrivals: u64,
    ok: u64,
    timed_out: u64,
    failed: u64,
    refused: u64,
    statement_timeout: u64,
    terminated: u64,
    retries: u64,
}

impl Recorder {
    /// A recorder with buckets of `width` and the pool size at the start, for
    /// `instances` pool copies and a database of `db_usable` connections
    /// (`u32::MAX`: no limit); requests arriving before `warmup` are left out of
    /// the summary.
    pub fn new(width: SimDuration, max_size: u32, warmup: SimTime, instances: usize, db_usable: u32) -> Recorder {
        Recorder {
            width,
            bucket_start: SimTime::ZERO,
            bucket_end: SimTime::ZERO + width,
            boundary: SimTime::ZERO + width,
            scrape: None,
            area_at_warmup: (warmup == SimTime::ZERO).then_some(0),
            timeline: Vec::new(),
            cur: Counts::default(),
            used: 0,
            waiting: 0,
            max_size,
            last_t: SimTime::ZERO,
            used_area: 0,
            waiting_area: 0,
            run_used_area: 0,
            used_max: 0,
            free_min: max_size,
            waiting_max: 0,
            bucket_latency: DurationHistogram::new(),
            bucket_wait: DurationHistogram::new(),
            latency: DurationHistogram::new(),
            wait: DurationHistogram::new(),
            totals: Counts::default(),
            exhaustion_total: 0,
            queued_total: 0,
            queue_depth_max: 0,
            pool_used_max: 0,
            first_503: None,
            warmup,
            db_open: 0,
            db_open_max: 0,
            db_usable,
            db_peak: 0,
            refusals_bucket: 0,
            refusals_total: 0,
            leaked: 0,
            copies: vec![CopyLevels::default(); instances],
            pool_rows: Vec::new(),
            closed: false,
        }
    }

    /// Whether anything was counted in the current bucket.
    fn bucket_has_data(&self) -> bool {
        let c = &self.cur;
        c.arrivals + c.ok + c.timed_out + c.failed + c.retries + self.refusals_bucket > 0
            || self.bucket_latency.percentiles().is_some()
            || self.bucket_wait.quantile_ms(0.99).is_some()
    }

    #[inline]
    fn counts(&self, arrival: SimTime) -> bool {
        arrival >= self.warmup
    }

    /// Closes every bucket that ends at or before `t` and integrates gauges up to `t`.
    #[inline]
    fn advance_to(&mut self, t: SimTime) {
        // Most calls come at the instant of the previous one (several reports
        // per event): nothing to integrate then. `bucket_end > last_t` always.
        if t == self.last_t {
            return;
        }
        while t >= self.boundary {
            self.cross_boundary();
        }
        self.integrate(t);
    }

    /// Reaches the next boundary: closes the bucket that ends there, takes the
    /// scrape due there (which sees what happened strictly before it), or both.
    #[cold]
    #[inline(never)]
    fn cross_boundary(&mut self) {
        let at = self.boundary;
        self.integrate(at);
        if at == self.bucket_end {
            self.close_bucket();
        }
        if let Some(s) = &mut self.scrape
            && s.next == at
        {
            let levels = self.copies.iter().map(|c| (c.used, c.idle, c.waiting, c.max_size));
            s.scrape(levels, self.db_open, self.leaked);
        }
        self.boundary = self.next_boundary();
    }

    fn next_boundary(&self) -> SimTime {
        self.scrape.as_ref().map_or(self.bucket_end, |s| s.next.min(self.bucket_end))
    }

    /// Scrapes every `interval` from then on (the first at `interval`), for
    /// alert rules or an OpenMetrics export; `db` is the database's
    /// `max_connections` and usable connections (`None`: no limit).
    pub fn scrape_every(&mut self, interval: SimDuration, db: (Option<u32>, Option<u32>)) {
        self.scrape = Some(Box::new(Scraper::new(interval, self.copies.len(), db)));
        self.boundary = self.next_boundary();
    }

    /// The warm-up instant `t` is reached, before anything at or after it
    /// happens: the summary's mean of connections in use starts here.
    pub fn warmup_reached(&mut self, t: SimTime) {
        self.advance_to(t);
        self.area_at_warmup = Some(self.run_used_area + self.used_area);
    }

    #[inline]
    fn integrate(&mut self, t: SimTime) {
        let dt = (t - self.last_t).0 as u128;
        self.used_area += self.used as u128 * dt;
        self.waiting_area += self.waiting as u128 * dt;
        self.last_t = t;
    }

    fn close_bucket(&mut self) {
        let width = (self.bucket_end - self.bucket_start).0 as f64;
        self.run_used_area += self.used_area;
        self.timeline.push(Bucket {
            t_s: self.bucket_start.as_secs_f64(),
            arrivals: self.cur.arrivals,
            ok: self.cur.ok,
            timed_out: self.cur.timed_out,
            failed: self.cur.failed,
            db_pool_used_size_max: self.used_max,
            db_pool_used_size_mean: self.used_area as f64 / width,
            db_pool_free_size_min: self.free_min,
            db_pool_waiting_requests_max: self.waiting_max,
            db_pool_waiting_requests_mean: self.waiting_area as f64 / width,
            db_pool_max_size: self.max_size,
            db_pool_exhaustion_total: self.exhaustion_total,
            latency_ms: self.bucket_latency.percentiles(),
            acquire_wait_ms_p99: self.bucket_wait.quantile_ms(0.99),
            refused: self.cur.refused,
            statement_timeout: self.cur.statement_timeout,
            terminated: self.cur.terminated,
            db_connections_open: self.db_open_max,
            db_connections_usable: (self.db_usable != u32::MAX).then_some(self.db_usable),
            db_refusals: self.refusals_bucket,
            leaked_connections: self.leaked,
            retries: self.cur.retries,
        });
        let t_s = self.bucket_start.as_secs_f64();
        for (i, c) in self.copies.iter_mut().enumerate() {
            self.pool_rows.push(PoolRow {
                t_s,
                instance: i as u32,
                used_max: c.used_max,
                idle: c.idle,
                waiting_max: c.waiting_max,
                timeouts: c.timeouts,
            });
            (c.used_max, c.waiting_max, c.timeouts) = (c.used, c.waiting, 0);
        }
        self.db_open_max = self.db_open;
        self.refusals_bucket = 0;
        self.cur = Counts::default();
        self.used_area = 0;
        self.waiting_area = 0;
        self.used_max = self.used;
        self.waiting_max = self.waiting;
        self.free_min = self.max_size.saturating_sub(self.used);
        self.bucket_latency.reset();
        self.bucket_wait.reset();
        self.bucket_start = self.bucket_end;
        self.bucket_end += self.width;
        self.closed = true;
    }

    /// Hands the timeline rows and the pool rows of closed buckets to their
    /// sinks (each one that is given, once at least `min` of its rows wait).
    #[inline]
    pub fn hand_off_rows(
        &mut self,
        timeline: Option<&mut (dyn RowSink<Bucket> + '_)>,
        pools: Option<&mut (dyn RowSink<PoolRow> + '_)>,
        min: usize,
    ) -> std::io::Result<()> {
        // Rows only come when a bucket closes: one test per event otherwise.
        if !self.closed {
            return Ok(());
        }
        self.closed = false;
        hand_off(&mut self.timeline, timeline, min)?;
        hand_off(&mut self.pool_rows, pools, min)
    }

    /// A request arrived.
    #[inline]
    pub fn arrival(&mut self, t: SimTime) {
        self.advance_to(t);
        self.cur.arrivals += 1;
        if self.counts(t) {
            self.totals.arrivals += 1;
        }
    }

    /// A request that arrived at `arrival` got a connection after waiting `wait`.
    #[inline]
    pub fn acquired(&mut self, t: SimTime, wait: SimDuration, arrival: SimTime, instance: usize) {
        self.advance_to(t);
        self.bucket_wait.record(wait);
        if let Some(s) = &mut self.scrape {
            s.acquire_wait(instance, wait, false);
        }
        if self.counts(arrival) {
            self.wait.record(wait);
        }
    }

    /// A request that arrived at `arrival` found no free connection.
    #[inline]
    pub fn queued(&mut self, arrival: SimTime) {
        if self.counts(arrival) {
            self.queued_total += 1;
        }
    }

    /// A request gave up waiting after `wait` (the acquire timeout) in pool copy `instance`.
    #[inline]
    pub fn timed_out(&mut self, t: SimTime, wait: SimDuration, arrival: SimTime, instance: usize) {
        self.advance_to(t);
        self.bucket_wait.record(wait);
        self.copies[instance].timeouts += 1;
        self.exhaustion_total += 1;
        if let Some(s) = &mut self.scrape {
            s.acquire_wait(instance, wait, true);
        }
        if self.counts(arrival) {
            self.wait.record(wait);
        }
    }

    /// A request that arrived at `arrival` was answered `latency` after it arrived.
    #[inline]
    pub fn responded(&mut self, t: SimTime, latency: SimDuration, outcome: Outcome, arrival: SimTime) {
        self.advance_to(t);
        self.bucket_latency.record(latency);
        if let Some(s) = &mut self.scrape {
            s.response(latency, outcome);
        }
        let counts = self.counts(arrival);
        if counts {
            self.latency.record(latency);
        }
        let (bucket, total) = match outcome {
            Outcome::Ok => (&mut self.cur.ok, &mut self.totals.ok),
            Outcome::TimedOut => {
                // The first 503 of the requests the summary counts (none or
                // one with `timed_out`), not of the warm-up's.
                if counts {
                    self.first_503.get_or_insert(t);
                }
                (&mut self.cur.timed_out, &mut self.totals.timed_out)
            }
            Outcome::Refused => (&mut self.cur.refused, &mut self.totals.refused),
            Outcome::StatementTimeout => (&mut self.cur.statement_timeout, &mut self.totals.statement_timeout),
            Outcome::Terminated => (&mut self.cur.terminated, &mut self.totals.terminated),
        };
        *bucket += 1;
        if counts {
            *total += 1;
        }
        if !matches!(outcome, Outcome::Ok | Outcome::TimedOut) {
            self.cur.failed += 1;
            if counts {
                self.totals.failed += 1;
            }
        }
    }

    /// Connections open at the database (opening ones included) changed.
    #[inline]
    pub fn db_level(&mut self, t: SimTime, open: u32) {
        self.advance_to(t);
        self.db_open = open;
        self.db_open_max = self.db_open_max.max(open);
        if t >= self.warmup {
            self.db_peak = self.db_peak.max(open);
        } else {
            // The level in force when the warm-up ends counts: it is the last one before it.
            self.db_peak = open;
        }
    }

    /// A client scheduled a retry.
    #[inline]
    pub fn retry(&mut self, t: SimTime) {
        self.advance_to(t);
        self.cur.retries += 1;
    }

    /// The database refused a connection. The summary counts refusals from
    /// the warm-up on: a refusal is the database's event, not always a
    /// request's (a job's, a pool opening for its waiters), so it goes by
    /// when it happened.
    #[inline]
    pub fn refusal(&mut self, t: SimTime) {
        self.advance_to(t);
        self.refusals_bucket += 1;
        if let Some(s) = &mut self.scrape {
            s.refusal();
        }
        if t >= self.warmup {
            self.refusals_total += 1;
        }
    }

    /// Connections leaked and still checked out changed.
    #[inline]
    pub fn leaked_level(&mut self, t: SimTime, leaked: u32) {
        self.advance_to(t);
        self.leaked = leaked;
    }

    /// One pool copy's connections in use, idle connections, waiters or size changed.
    #[inline]
    pub fn instance_level(&mut self, instance: usize, used: u32, idle: u32, waiting: u32, max_size: u32) {
        let c = &mut self.copies[instance];
        (c.used, c.idle, c.waiting, c.max_size) = (used, idle, waiting, max_size);
        c.used_max = c.used_max.max(used);
        c.waiting_max = c.waiting_max.max(waiting);
    }

    /// The pools' totals changed: connections in use, requests waiting, pool size.
    #[inline]
    pub fn pool_level(&mut self, t: SimTime, used: u32, waiting: u32, max_size: u32) {
        self.advance_to(t);
        self.used = used;
        self.waiting = waiting;
        self.max_size = max_size;
        self.used_max = self.used_max.max(used);
        self.waiting_max = self.waiting_max.max(waiting);
        self.free_min = self.free_min.min(max_size.saturating_sub(used));
        if t >= self.warmup {
            self.pool_used_max = self.pool_used_max.max(used);
            self.queue_depth_max = self.queue_depth_max.max(waiting);
        } else {
            // The levels in force when the warm-up ends count: they are the last ones before it.
            self.pool_used_max = used;
            self.queue_depth_max = waiting;
        }
    }

    /// Closes the timeline at `end` (a partial last bucket is kept and reported
    /// over its true width) and builds the summary; `unfinished` counts the
    /// requests still in flight that arrived from the warm-up on.
    pub fn finish(mut self, end: SimTime, unfinished: u64) -> Recorded {
        self.advance_to(end);
        if end > self.bucket_start {
            self.bucket_end = end;
            self.close_bucket();
        } else if self.bucket_start == SimTime::ZERO || self.bucket_has_data() {
            // (`bucket_start` is still zero exactly when no bucket was closed:
            // the rows themselves may have gone to a sink already.)
            // A run that ends exactly at a bucket boundary (its last events at
            // that instant) or at time zero still reports that bucket, over its
            // nominal width: what happened at `end` is not dropped.
            self.close_bucket();
        }
        if end < self.warmup {
            // The run ended before the warm-up did: nothing was observed.
            (self.pool_used_max, self.queue_depth_max, self.db_peak) = (0, 0, 0);
        }
        // Scrapes due up to the end see the state the run ends in.
        while let Some(s) = &mut self.scrape
            && s.next <= end
        {
            let levels = self.copies.iter().map(|c| (c.used, c.idle, c.waiting, c.max_size));
            s.scrape(levels, self.db_open, self.leaked);
        }
        // The mean of connections in use over [warmup, end), like the other figures.
        let pool_used_mean = match self.area_at_warmup {
            Some(before) if end > self.warmup => (self.run_used_area - before) as f64 / (end - self.warmup).0 as f64,
            _ => 0.0,
        };
        let total = self.totals.arrivals;
        let duration_s = end.as_secs_f64();
        // The counts cover what arrived from the warm-up on: per second of that span.
        let observed_s = if end > self.warmup { (end - self.warmup).as_secs_f64() } else { 0.0 };
        let summary = Summary {
            requests: RequestCounts {
                total,
                ok: self.totals.ok,
                timed_out: self.totals.timed_out,
                failed: self.totals.failed,
                refused: self.totals.refused,
                statement_timeout: self.totals.statement_timeout,
                terminated: self.totals.terminated,
                unfinished,
                queued: self.queued_total,
                timed_out_rate: if total == 0 { 0.0 } else { self.totals.timed_out as f64 / total as f64 },
            },
            latency_ms: self.latency.stats(),
            acquire_wait_ms: self.wait.stats(),
            queue_depth_max: self.queue_depth_max,
            pool_used_max: self.pool_used_max,
            pool_used_mean,
            db_pool_exhaustion_total: self.exhaustion_total,
            first_503_s: self.first_503.map(|t| t.as_secs_f64()),
            throughput_ok_per_s: if observed_s > 0.0 { self.totals.ok as f64 / observed_s } else { 0.0 },
            duration_s,
            warmup_s: self.warmup.as_secs_f64(),
        };
        Recorded {
            timeline: self.timeline,
            summary,
            pool_rows: self.pool_rows,
            db_peak_connections: self.db_peak,
            db_refusals: self.refusals_total,
            scrapes: self.scrape.map(|s| s.finish()),
        }
    }
}

/// What a [`Recorder`] hands back at the end of a run.
#[derive(Debug)]
pub struct Recorded {
    /// One row per bucket.
    pub timeline: Vec<Bucket>,
    /// Whole-run request figures.
    pub summary: Summary,
    /// One row per bucket and pool copy.
    pub pool_rows: Vec<PoolRow>,
    /// Most connections open at the database at once from the warm-up on
    /// (those open at the warm-up instant included).
    pub db_peak_connections: u32,
    /// Connections the database refused from the warm-up on.
    pub db_refusals: u64,
    /// The scrapes, when the run asked for them.
    pub scrapes: Option<Scrapes>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime(x * 1_000_000_000)
    }

    #[test]
    fn gauges_are_time_weighted_within_buckets() {
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, SimTime::ZERO, 1, u32::MAX);
        r.pool_level(SimTime(0), 5, 0, 5);
        r.pool_level(SimTime(500_000_000), 1, 3, 5);
        let rec = r.finish(s(2), 0);
        let (tl, sum) = (rec.timeline, rec.summary);
        assert_eq!(tl.len(), 2);
        assert!((tl[0].db_pool_used_size_mean - 3.0).abs() < 1e-12);
        assert_eq!(tl[0].db_pool_used_size_max, 5);
        assert_eq!(tl[0].db_pool_free_size_min, 0);
        assert!((tl[0].db_pool_waiting_requests_mean - 1.5).abs() < 1e-12);
        assert_eq!(tl[1].db_pool_used_size_max, 1);
        assert!((tl[1].db_pool_used_size_mean - 1.0).abs() < 1e-12);
        assert!((sum.pool_used_mean - 2.0).abs() < 1e-12);
    }

    #[test]
    fn events_land_in_the_bucket_of_their_time() {
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, SimTime::ZERO, 1, u32::MAX);
        r.arrival(SimTime(999_999_999));
        r.arrival(s(1));
        r.responded(s(3), SimDuration::from_secs(2), Outcome::TimedOut, s(1));
        let rec = r.finish(s(4), 1);
        let (tl, sum) = (rec.timeline, rec.summary);
        assert_eq!(tl.iter().map(|b| b.arrivals).collect::<Vec<_>>(), vec![1, 1, 0, 0]);
        assert_eq!(tl[3].timed_out, 1);
        assert_eq!(sum.first_503_s, Some(3.0));
        assert_eq!(sum.requests.unfinished, 1);
        assert!(tl[2].latency_ms.is_none());
    }

    #[test]
    fn responses_at_the_very_end_of_a_run_stay_in_the_timeline() {
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, SimTime::ZERO, 1, u32::MAX);
        r.arrival(SimTime::ZERO);
        r.responded(s(2), SimDuration::from_secs(2), Outcome::TimedOut, SimTime::ZERO);
        let tl = r.finish(s(2), 0).timeline;
        assert_eq!(tl.iter().map(|b| b.timed_out).sum::<u64>(), 1);
        assert_eq!(tl.last().unwrap().t_s, 2.0);
    }

    #[test]
    fn throughput_divides_the_counted_responses_by_the_span_after_the_warm_up() {
        // Warm-up 2 s, end 10 s: one request answered in the warm-up (left
        // out), four that arrived after it answered: 4 in 8 s, not in 10 s.
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(2), 1, u32::MAX);
        r.arrival(s(1));
        r.responded(s(1), SimDuration::ZERO, Outcome::Ok, s(1));
        for t in 3..7 {
            r.arrival(s(t));
            r.responded(s(t + 1), SimDuration::from_secs(1), Outcome::Ok, s(t));
        }
        let sum = r.finish(s(10), 0).summary;
        assert_eq!(sum.requests.ok, 4);
        assert_eq!(sum.throughput_ok_per_s, 4.0 / 8.0);
    }

    #[test]
    fn peaks_from_the_warm_up_count_the_levels_in_force_at_the_warm_up_instant() {
        // Warm-up 2 s. At 0.5 s: 4 in use, 3 waiting, 6 open at the database
        // (above what is in force at 2 s: left out); at 1 s: 3 in use, 1
        // waiting, 5 open, unchanged through the warm-up instant and to the
        // end. After it only a lower level comes: the peaks are the levels
        // in force at 2 s, which no rise after it reports.
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(2), 1, 10);
        r.pool_level(SimTime(500_000_000), 4, 3, 5);
        r.db_level(SimTime(500_000_000), 6);
        r.pool_level(s(1), 3, 1, 5);
        r.db_level(s(1), 5);
        r.pool_level(s(3), 2, 0, 5);
        r.db_level(s(3), 4);
        let rec = r.finish(s(4), 0);
        assert_eq!((rec.summary.pool_used_max, rec.summary.queue_depth_max), (3, 1));
        assert_eq!(rec.db_peak_connections, 5);
        // The timeline's bucket from 2 s shows the same levels.
        let b = &rec.timeline[2];
        assert_eq!((b.db_pool_used_size_max, b.db_pool_waiting_requests_max, b.db_connections_open), (3, 1, 5));
    }

    #[test]
    fn a_rise_at_the_warm_up_instant_counts_and_a_run_that_ends_before_it_has_no_peaks() {
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(2), 1, 10);
        r.pool_level(s(1), 1, 0, 5);
        r.pool_level(s(2), 4, 2, 5);
        r.db_level(s(2), 4);
        r.pool_level(s(3), 0, 0, 5);
        let sum = r.finish(s(4), 0).summary;
        assert_eq!((sum.pool_used_max, sum.queue_depth_max), (4, 2));
        // Warm-up 5 s, end 4 s: the window is empty.
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(5), 1, 10);
        r.pool_level(s(1), 3, 2, 5);
        r.db_level(s(1), 3);
        let rec = r.finish(s(4), 0);
        assert_eq!((rec.summary.pool_used_max, rec.summary.queue_depth_max, rec.db_peak_connections), (0, 0, 0));
    }

    #[test]
    fn refusals_are_counted_from_the_warm_up_instant_on() {
        // Warm-up 2 s: refusals at 1 s and 1.9 s are left out of the total,
        // those at 2 s and 3 s are not; the timeline keeps all four.
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(2), 1, 6);
        for t in [s(1), SimTime(1_900_000_000), s(2), s(3)] {
            r.refusal(t);
        }
        let rec = r.finish(s(4), 0);
        assert_eq!(rec.db_refusals, 2);
        assert_eq!(rec.timeline.iter().map(|b| b.db_refusals).collect::<Vec<_>>(), [0, 2, 1, 1]);
    }

    #[test]
    fn the_first_503_is_the_first_of_a_request_that_arrived_after_the_warm_up() {
        // Warm-up 2 s: the 503s at 1.5 s and 3 s answer requests that arrived
        // in the warm-up (0.5 s, 1 s); the one at 4 s a request of 2 s.
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(2), 1, u32::MAX);
        r.responded(SimTime(1_500_000_000), SimDuration::from_secs(1), Outcome::TimedOut, SimTime(500_000_000));
        r.responded(s(3), SimDuration::from_secs(2), Outcome::TimedOut, s(1));
        r.responded(s(4), SimDuration::from_secs(2), Outcome::TimedOut, s(2));
        let rec = r.finish(s(5), 0);
        assert_eq!((rec.summary.requests.timed_out, rec.summary.first_503_s), (1, Some(4.0)));
        assert_eq!(rec.timeline.iter().map(|b| b.timed_out).sum::<u64>(), 3);
    }

    /// The mean of connections in use covers [warmup, end): 5 in use over [0, 1.5 s),
    /// 1 over [1.5 s, 3 s); warm-up at 1 s: (0.5 x 5 + 1.5 x 1) / 2 = 2.
    #[test]
    fn the_mean_in_use_starts_at_the_warm_up() {
        let mut r = Recorder::new(SimDuration::from_secs(1), 5, s(1), 1, u32::MAX);
        r.pool_level(SimTime(0), 5, 0, 5);
        r.warmup_reached(s(1));
        r.pool_level(SimTime(1_500_000_000), 1, 0, 5);
        let sum = r.finish(s(3), 0).summary;
        assert!((sum.pool_used_mean - 2.0).abs() < 1e-12, "{}", sum.pool_used_mean);
        // A run that ends before its warm-up observed nothing.
        let r = Recorder::new(SimDuration::from_secs(1), 5, s(5), 1, u32::MAX);
        assert_eq!(r.finish(s(3), 0).summary.pool_used_mean, 0.0);
    }

    #[test]
    fn a_partial_last_bucket_is_kept() {
        let r = Recorder::new(SimDuration::from_secs(1), 5, SimTime::ZERO, 1, u32::MAX);
        let tl = r.finish(SimTime(2_500_000_000), 0).timeline;
        assert_eq!(tl.len(), 3);
        assert_eq!(tl[2].t_s, 2.0);
    }
}
