//! Observation only: the model reports what happens, this module keeps the
//! timeline buckets, histograms and counters, and builds the summary. It never
//! schedules events and never changes what the simulation does.
//!
//! Memory is O(buckets): per-request data is folded into HDR histograms as it
//! happens (one live histogram per timeline bucket, reset when the bucket closes)
//! and is never stored, unless a [`RequestSink`] streams it out. The per-copy
//! rows of `pools.csv` and the timeline's are kept only until a [`RowSink`] takes them (when
//! the run was given one), so a fleet's memory does not grow with copies × buckets.

mod histogram;
mod recorder;

pub use histogram::{Percentiles, Stats};
pub use recorder::{Recorded, Recorder};

use serde::Serialize;

use crate::engine::{SimDuration, SimTime};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Got a connection and was answered (HTTP 200).
    Ok,
    /// Gave up waiting for a connection after the acquire timeout (HTTP 503).
    TimedOut,
    /// The database refused a new connection: `FATAL: remaining connection
    /// slots are reserved for non-replication superuser connections` (HTTP 500).
    Refused,
    /// The query ran past the statement timeout and was cancelled (HTTP 500).
    StatementTimeout,
    /// The connection was terminated under the request (`pg_terminate_backend`, a pool closed).
    Terminated,
}

impl Outcome {
    /// The name used in `requests.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::TimedOut => "timed_out",
            Outcome::Refused => "refused",
            Outcome::StatementTimeout => "statement_timeout",
            Outcome::Terminated => "terminated",
        }
    }
}

/// One finished request, as streamed to `requests.csv` with `--requests`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRecord {
    /// Request number, in arrival order from 0.
    pub id: u64,
    /// Index of the workload that sent it.
    pub workload: u16,
    /// When it arrived.
    pub arrival: SimTime,
    /// When it got a connection (`None` if it never did).
    pub acquired: Option<SimTime>,
    /// How long it waited for a connection (its acquire timeout if it gave up).
    pub wait: SimDuration,
    /// When it was answered.
    pub finished: SimTime,
    /// How it ended.
    pub outcome: Outcome,
}

/// Receives every finished request, in the order they finish.
pub trait RequestSink {
    /// Takes one record; an error stops the run.
    fn record(&mut self, r: &RequestRecord) -> std::io::Result<()>;
}

/// Receives the rows of closed buckets while the run goes on (the timeline's
/// [`Bucket`]s, the per-copy [`PoolRow`]s of `pools.csv`), so that they need not
/// be kept: their number grows with the length of the run (times the number of
/// pool copies, for pool rows).
pub trait RowSink<T> {
    /// Takes the rows of closed buckets, in bucket order; an error stops the run.
    fn rows(&mut self, rows: &[T]) -> std::io::Result<()>;
}

/// Hands `rows` to `sink`, if there is one and at least `min` rows are
/// waiting, and forgets them.
pub(crate) fn hand_off<T>(
    rows: &mut Vec<T>,
    sink: Option<&mut (dyn RowSink<T> + '_)>,
    min: usize,
) -> std::io::Result<()> {
    if let Some(sink) = sink
        && rows.len() >= min
    {
        sink.rows(rows)?;
        rows.clear();
    }
    Ok(())
}

/// One row of the timeline: what happened during `[t_s, t_s + bucket)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Start of the bucket, in seconds.
    pub t_s: f64,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests answered with success (200).
    pub ok: u64,
    /// Requests answered with 503 after the acquire timeout.
    pub timed_out: u64,
    /// Requests that failed for other reasons.
    pub failed: u64,
    /// Most connections in use at any instant.
    pub db_pool_used_size_max: u32,
    /// Time-weighted mean of connections in use.
    pub db_pool_used_size_mean: f64,
    /// Fewest free connections at any instant (pool size minus in use).
    pub db_pool_free_size_min: u32,
    /// Most requests waiting for a connection at any instant.
    pub db_pool_waiting_requests_max: u32,
    /// Time-weighted mean of requests waiting.
    pub db_pool_waiting_requests_mean: f64,
    /// Pool size (sum over pools) at the end of the bucket.
    pub db_pool_max_size: u32,
    /// Acquire timeouts since the start of the run (cumulative).
    pub db_pool_exhaustion_total: u64,
    /// Latency percentiles of requests answered in the bucket (ms); `None` if none were.
    pub latency_ms: Option<Percentiles>,
    /// 99th percentile of acquire waits that ended in the bucket (ms).
    pub acquire_wait_ms_p99: Option<f64>,
    /// Requests failed because the database refused a connection.
    pub refused: u64,
    /// Requests failed by the statement timeout.
    pub statement_timeout: u64,
    /// Requests failed because their connection was terminated.
    pub terminated: u64,
    /// Most connections open at the database at any instant (opening ones included).
    pub db_connections_open: u32,
    /// Connections applications may open (`max_connections - reserved_connections`); `None`: no limit.
    pub db_connections_usable: Option<u32>,
    /// Connection attempts the database refused.
    pub db_refusals: u64,
    /// Leaked connections still checked out at the end of the bucket.
    pub leaked_connections: u32,
    /// Retries clients scheduled (after a failure or their own timeout).
    pub retries: u64,
}

impl Bucket {
    /// Folds the next bucket into this one, as one wider bucket would read,
    /// this one standing for `n_self` buckets of the run and `next` for
    /// `n_next`: counts add up, maxima and minima keep the extreme, means are
    /// weighted by those numbers, end-of-bucket levels and running totals take
    /// the later value. Percentiles cannot be merged exactly: the larger of the
    /// two is kept (what a figure of the worst bucket shows).
    pub fn merge(&mut self, next: &Bucket, n_self: u32, n_next: u32) {
        let (a, b) = (f64::from(n_self), f64::from(n_next));
        let mean = |x: f64, y: f64| (x * a + y * b) / (a + b);
        let max_opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
        self.arrivals += next.arrivals;
        self.ok += next.ok;
        self.timed_out += next.timed_out;
        self.failed += next.failed;
        self.db_pool_used_size_max = self.db_pool_used_size_max.max(next.db_pool_used_size_max);
        self.db_pool_used_size_mean = mean(self.db_pool_used_size_mean, next.db_pool_used_size_mean);
        self.db_pool_free_size_min = self.db_pool_free_size_min.min(next.db_pool_free_size_min);
        self.db_pool_waiting_requests_max = self.db_pool_waiting_requests_max.max(next.db_pool_waiting_requests_max);
        self.db_pool_waiting_requests_mean =
            mean(self.db_pool_waiting_requests_mean, next.db_pool_waiting_requests_mean);
        self.db_pool_max_size = next.db_pool_max_size;
        self.db_pool_exhaustion_total = next.db_pool_exhaustion_total;
        self.latency_ms = match (self.latency_ms, next.latency_ms) {
            (Some(a), Some(b)) => {
                Some(Percentiles { p50: a.p50.max(b.p50), p95: a.p95.max(b.p95), p99: a.p99.max(b.p99) })
            }
            (a, b) => a.or(b),
        };
        self.acquire_wait_ms_p99 = max_opt(self.acquire_wait_ms_p99, next.acquire_wait_ms_p99);
        self.refused += next.refused;
        self.statement_timeout += next.statement_timeout;
        self.terminated += next.terminated;
        self.db_connections_open = self.db_connections_open.max(next.db_connections_open);
        self.db_connections_usable = next.db_connections_usable;
        self.db_refusals += next.db_refusals;
        self.leaked_connections = next.leaked_connections;
        self.retries += next.retries;
    }
}

/// One row of `pools.csv`: one copy of a pool during one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolRow {
    /// Start of the bucket, in seconds.
    pub t_s: f64,
    /// Index into [`RunResult::instances`].
    pub instance: u32,
    /// Most connections in use (leaked ones included) at any instant.
    pub used_max: u32,
    /// Idle connections at the end of the bucket.
    pub idle: u32,
    /// Most waiters at any instant.
    pub waiting_max: u32,
    /// Acquire timeouts in the bucket.
    pub timeouts: u32,
}

/// Which pool a copy belongs to and where it lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolInstance {
    /// Pool name.
    pub pool: String,
    /// Pod index (`None` for a shared pool).
    pub pod: Option<u32>,
    /// Worker index within the pod (`None` unless the pool is per worker).
    pub worker: Option<u32>,
}

impl Bucket {
    /// The value of one `timeline.csv` column by name (see
    /// [`crate::output::csv::TIMELINE_COLUMNS`]); `None` for an empty cell or an
    /// unknown name. Lets plots and checks read any column without knowing the struct.
    pub fn value(&self, column: &str) -> Option<f64> {
        Some(match column {
            "t_s" => self.t_s,
            "arrivals" => self.arrivals as f64,
            "ok" => self.ok as f64,
            "timed_out" => self.timed_out as f64,
            "failed" => self.failed as f64,
            "db_pool_used_size_max" => self.db_pool_used_size_max as f64,
            "db_pool_used_size_mean" => self.db_pool_used_size_mean,
            "db_pool_free_size_min" => self.db_pool_free_size_min as f64,
            "db_pool_waiting_requests_max" => self.db_pool_waiting_requests_max as f64,
            "db_pool_waiting_requests_mean" => self.db_pool_waiting_requests_mean,
            "db_pool_max_size" => self.db_pool_max_size as f64,
            "db_pool_exhaustion_total" => self.db_pool_exhaustion_total as f64,
            "latency_ms_p50" => self.latency_ms?.p50,
            "latency_ms_p95" => self.latency_ms?.p95,
            "latency_ms_p99" => self.latency_ms?.p99,
            "acquire_wait_ms_p99" => self.acquire_wait_ms_p99?,
            "refused" => self.refused as f64,
            "statement_timeout" => self.statement_timeout as f64,
            "terminated" => self.terminated as f64,
            "db_connections_open" => self.db_connections_open as f64,
            "db_connections_usable" => self.db_connections_usable? as f64,
            "db_refusals" => self.db_refusals as f64,
            "leaked_connections" => self.leaked_connections as f64,
            "retries" => self.retries as f64,
            _ => return None,
        })
    }
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
    /// Time-weighted mean of connections in use over the run.
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
    /// at this instant included); the mean of connections in use and
    /// `db_pool_exhaustion_total` cover the whole run.
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
    /// What queueing theory predicts, when the scenario fits its assumptions.
    pub theory: Option<crate::theory::fit::Prediction>,
    /// The database, pools, jobs and leaks.
    pub fleet: FleetSummary,
    /// Every copy of every pool, in the order of [`PoolRow::instance`].
    pub instances: Vec<PoolInstance>,
    /// One row per bucket and pool copy (`pools.csv`); empty when the run
    /// handed them to a [`RowSink`] instead.
    pub pool_rows: Vec<PoolRow>,
}

/// Figures of the database, pools, jobs and leaks over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FleetSummary {
    /// The database and the connection budget.
    pub database: DatabaseSummary,
    /// Per pool (all its copies together).
    pub pools: Vec<PoolSummary>,
    /// Per background job.
    pub jobs: Vec<JobSummary>,
    /// Leaked connections and leak warnings.
    pub leaks: LeakSummary,
    /// What the clients saw (with a `client:` block).
    pub client: Option<ClientSummary>,
    /// Queueing at workers (with `fleet.worker_concurrency`).
    pub workers: Option<WorkerSummary>,
    /// Things a reviewer should know (e.g. an over-committed connection budget).
    pub warnings: Vec<String>,
}

/// Requests that waited for a busy worker before asking for a connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkerSummary {
    /// Requests one worker serves at once.
    pub concurrency: u32,
    /// Requests that queued at their worker.
    pub queued: u64,
    /// Most requests queued at one worker at once, from the warm-up on (the
    /// queues at the warm-up instant included).
    pub queue_max: u32,
}

/// Calls as the clients saw them: a call is a first attempt and its retries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientSummary {
    /// Calls made (first attempts).
    pub calls: u64,
    /// Retries sent.
    pub retries: u64,
    /// Requests the servers received per call (1 + retries / calls): the retry storm's amplification.
    pub amplification: f64,
    /// Calls that got a 200 in time.
    pub succeeded: u64,
    /// Calls that failed after their last attempt.
    pub gave_up: u64,
    /// Attempts the client stopped waiting for (the server kept working on them).
    pub client_timeouts: u64,
}

/// The database over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatabaseSummary {
    /// `max_connections` (`None`: no limit).
    pub max_connections: Option<u32>,
    /// Slots reserved for superusers.
    pub reserved_connections: u32,
    /// CPU cores, when modelled (queries share them).
    pub cores: Option<u32>,
    /// Connections applications may open.
    pub usable_connections: Option<u32>,
    /// Connections the pools could open at the start: every copy of every pool at
    /// `max_size + max_overflow`.
    pub possible_connections: u64,
    /// Whether `possible_connections` exceeds `usable_connections`.
    pub overcommitted: bool,
    /// Most connections open at once (opening ones included), from the
    /// warm-up on (those open at the warm-up instant included).
    pub peak_connections: u32,
    /// Connection attempts refused because the database was full, from the
    /// warm-up instant on (by when they happened: a refusal need not be a request's).
    pub refusals: u64,
}

/// One pool, all copies together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    /// Name.
    pub name: String,
    /// `worker`, `pod` or `shared`.
    pub scope: &'static str,
    /// Copies at the start.
    pub instances: u32,
    /// `max_size` of each copy at the start.
    pub max_size: u32,
    /// Most connections in use at once (leaked ones included), summed over
    /// all copies: the peak of the sum, not of one copy. From the warm-up on
    /// (the level in force at the warm-up instant included).
    pub peak_used: u32,
    /// Most connections open at once (idle or in use, not opening), summed
    /// over all copies, from the warm-up on (as `peak_used`).
    pub peak_open: u32,
    /// Acquire timeouts (requests and jobs), over the whole run.
    pub timeouts: u64,
    /// Connections opened.
    pub connections_opened: u64,
    /// Connections closed (idle timeout, lifetime, overflow, shrink, kill).
    pub connections_closed: u64,
}

/// One background job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    /// Name.
    pub name: String,
    /// Runs started (over all copies).
    pub runs: u64,
    /// Runs that failed with the job's own error (`error_rate`).
    pub failed_runs: u64,
    /// Connections the job could not get (acquire timeout or refusal).
    pub acquire_failures: u64,
    /// Connections it leaked.
    pub leaked_connections: u64,
}

/// Leaks over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeakSummary {
    /// Connections leaked in total.
    pub leaked_total: u64,
    /// Leaked connections still checked out at the end.
    pub leaked_at_end: u32,
    /// Most leaked connections checked out at once, from the warm-up on (those
    /// checked out at the warm-up instant included).
    pub leaked_peak: u32,
    /// Holds longer than a pool's `leak_detection_threshold` (HikariCP's
    /// "Connection leak detection triggered" warning), counted when the hold
    /// ends, or when it crosses the threshold for leaked connections.
    pub leak_warnings: u64,
}
