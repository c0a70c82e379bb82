//! The timeline: one [`Bucket`] per `timeline.csv` row, one [`PoolRow`] per
//! bucket and pool copy (`pools.csv`), and the [`RowSink`] that takes closed
//! buckets' rows while a run goes on.

use serde::Serialize;

use super::Percentiles;

/// Column names of `timeline.csv`, in order.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "t_s",
    "arrivals",
    "ok",
    "timed_out",
    "failed",
    "db_pool_used_size_max",
    "db_pool_used_size_mean",
    "db_pool_free_size_min",
    "db_pool_waiting_requests_max",
    "db_pool_waiting_requests_mean",
    "db_pool_max_size",
    "db_pool_exhaustion_total",
    "latency_ms_p50",
    "latency_ms_p95",
    "latency_ms_p99",
    "acquire_wait_ms_p99",
    "refused",
    "statement_timeout",
    "terminated",
    "db_connections_open",
    "db_connections_usable",
    "db_refusals",
    "leaked_connections",
    "retries",
];

/// Receives the rows of closed buckets while the run goes on (the timeline's
/// [`Bucket`]s, the per-copy [`PoolRow`]s of `pools.csv`), so that they need not
/// be kept: their number grows with the length of the run (times the number of
/// pool copies, for pool rows).
pub trait RowSink<T> {
    /// Takes the rows of closed buckets, in bucket order; an error stops the run.
    fn rows(&mut self, rows: &[T]) -> std::io::Result<()>;
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
    /// Index into [`RunResult::instances`](super::RunResult::instances).
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
    /// [`TIMELINE_COLUMNS`]); `None` for an empty cell or an
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
