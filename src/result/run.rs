//! A run's result: the [`RunResult`] every writer and figure reads, its whole-run
//! [`Summary`] and the theory block ([`Prediction`]) put beside it.

use serde::Serialize;

use super::{Alerts, Annotation, Bucket, FleetSummary, PoolInstance, PoolRow, Scrapes};

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

/// Counts of requests by outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestCounts {
    /// All requests that arrived.
    pub total: u64,
    /// Answered with success.
    pub ok: u64,
    /// Answered with 503 after waiting the acquire timeout.
    pub timed_out: u64,
    /// Failed for other reasons (refused + statement_timeout + terminated).
    pub failed: u64,
    /// Failed because the database refused a new connection.
    pub refused: u64,
    /// Failed because the query ran past the statement timeout.
    pub statement_timeout: u64,
    /// Failed because their connection was terminated.
    pub terminated: u64,
    /// Still waiting, holding or being answered when the run ended (of the
    /// requests counted: `total` = `ok` + `timed_out` + `failed` + `unfinished`).
    pub unfinished: u64,
    /// Found no free connection on arrival and had to wait (or, with a zero
    /// acquire timeout, were refused at once).
    pub queued: u64,
    /// timed_out / total (0 when there were no requests).
    pub timed_out_rate: f64,
}

/// Figures of a whole run, written to `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Requests by outcome.
    pub requests: RequestCounts,
    /// Latency of every answered request (wait + hold + overhead), ms.
    pub latency_ms: Stats,
    /// Acquire wait of every request that got a connection or gave up, ms.
    pub acquire_wait_ms: Stats,
    /// Most requests waiting for a connection at once, from the warm-up on
    /// (the level in force at the warm-up instant included).
    pub queue_depth_max: u32,
    /// Most connections in use at once, from the warm-up on (the level in
    /// force at the warm-up instant included).
    pub pool_used_max: u32,
    /// Time-weighted mean of connections in use from the warm-up instant to the end.
    pub pool_used_mean: f64,
    /// Requests' acquire timeouts over the whole run, warm-up included: the
    /// lab's counter, which a warm-up does not reset, at the end (the last
    /// row of the timeline). Jobs' timeouts are not in it.
    pub db_pool_exhaustion_total: u64,
    /// When the first 503 of a request counted (one that arrived from the
    /// warm-up on) was answered, in seconds (`None` if there was none).
    pub first_503_s: Option<f64>,
    /// Successful responses (of the requests counted) per simulated second
    /// of the span they were counted over, `duration - warmup` (0 when it is empty).
    pub throughput_ok_per_s: f64,
    /// Simulated length of the run, in seconds.
    pub duration_s: f64,
    /// Requests that arrived before this were left out of the counts and
    /// percentiles above, and peaks are taken from it on (the level in force
    /// at this instant included), and the mean of connections in use covers
    /// [warmup, end); `db_pool_exhaustion_total` covers the whole run.
    pub warmup_s: f64,
}

/// Facts about how a result was produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMeta {
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: String,
    /// Seed the run used.
    pub seed: u64,
    /// Hash of the validated scenario (see `Scenario::hash`).
    pub scenario_hash: String,
    /// poolsim version.
    pub version: String,
    /// Width of a timeline bucket, in seconds.
    pub bucket_s: f64,
    /// Events processed (a measure of the work done).
    pub events: u64,
    /// The distinct acquire timeouts of the pools that requests use, at the start of the run,
    /// in seconds, smallest first; a pool that waits forever has none (figures draw these on
    /// the latency panel).
    pub acquire_timeouts_s: Vec<f64>,
}

impl RunMeta {
    /// [`RunMeta::acquire_timeouts_s`] of a scenario.
    pub fn acquire_timeouts_of(s: &crate::scenario::Scenario) -> Vec<f64> {
        let mut out: Vec<f64> = s
            .classes
            .iter()
            .map(|c| s.pools[c.pool.0 as usize].acquire_timeout)
            .filter(|t| *t != crate::engine::SimDuration::MAX)
            .map(|t| t.as_secs_f64())
            .collect();
        out.sort_by(f64::total_cmp);
        out.dedup();
        out
    }
}

/// Everything a run produces, ready for the writers and plots.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// How it was produced.
    pub meta: RunMeta,
    /// One row per bucket.
    pub timeline: Vec<Bucket>,
    /// Whole-run figures.
    pub summary: Summary,
    /// What queueing theory predicts, or why it does not apply; `None` for a bare
    /// simulation (every command's run puts it beside the result).
    pub theory: Option<Theory>,
    /// The database, pools, jobs and leaks.
    pub fleet: FleetSummary,
    /// Every copy of every pool, in the order of [`PoolRow::instance`].
    pub instances: Vec<PoolInstance>,
    /// One row per bucket and pool copy (`pools.csv`); empty when the run
    /// handed them to a [`RowSink`](super::RowSink) instead.
    pub pool_rows: Vec<PoolRow>,
    /// What Prometheus would have scraped, when the run was asked to scrape.
    pub scrapes: Option<Scrapes>,
    /// What the alert rules did, when the run had rules.
    pub alerts: Option<Alerts>,
    /// Marks on the time axis: the scenario's timed events and the alerts' firing
    /// and resolving, by time.
    pub annotations: Vec<Annotation>,
}

/// What queueing theory predicts for a scenario, in the summary's units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// `M/M/c+D` (finite acquire timeout, including zero: Erlang B) or `M/M/c` (no timeout).
    pub model: &'static str,
    /// Copies of the pool (one per worker, per pod, or one shared), each a queue of its own.
    pub copies: u32,
    /// Connections that serve at once in each copy: `max_size + max_overflow` (the `c`).
    pub connections_per_copy: u32,
    /// Requests per second reaching each copy (the `lambda`).
    pub arrival_rate_per_copy_per_s: f64,
    /// Offered load in Erlangs over all copies: arrival rate x mean hold.
    pub offered_load: f64,
    /// Probability that a request finds no free connection.
    pub p_wait: f64,
    /// Probability that a request times out (the 503 fraction).
    pub timed_out_rate: f64,
    /// Mean acquire wait over all requests, in ms (timed-out ones count their full timeout).
    pub acquire_wait_ms_mean: f64,
    /// Mean connections in use, over all copies (as the summary's `pool_used_mean`).
    pub pool_used_mean: f64,
}

/// What queueing theory says beside a run: its prediction when the scenario fits the
/// model, or why it does not (so a missing prediction is never mistaken for a good one).
#[derive(Debug, Clone, PartialEq)]
pub enum Theory {
    /// The scenario keeps every assumption of the model: its steady-state figures.
    Predicted(Prediction),
    /// The scenario breaks the model: the reasons, one sentence each.
    NotApplicable(Vec<String>),
}
