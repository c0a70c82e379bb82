//! Observation only: the model reports what happens, this module keeps the
//! timeline buckets, histograms and counters, and builds the summary. It never
//! schedules events and never changes what the simulation does.
//!
//! Memory is O(buckets): per-request data is folded into HDR histograms as it
//! happens (one live histogram per timeline bucket, reset when the bucket closes)
//! and is never stored, unless a [`RequestSink`] streams it out.

mod histogram;
mod recorder;

pub use histogram::{Percentiles, Stats};
pub use recorder::Recorder;

use serde::Serialize;

use crate::engine::{SimDuration, SimTime};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Got a connection and was answered (HTTP 200).
    Ok,
    /// Gave up waiting for a connection after the acquire timeout (HTTP 503).
    TimedOut,
    /// Failed for another reason (e.g. the database refused a connection).
    Failed,
}

impl Outcome {
    /// The name used in `requests.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::TimedOut => "timed_out",
            Outcome::Failed => "failed",
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
    /// Failed for other reasons.
    pub failed: u64,
    /// Still waiting, holding or being answered when the run ended.
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
    /// Most requests waiting for a connection at once.
    pub queue_depth_max: u32,
    /// Most connections in use at once.
    pub pool_used_max: u32,
    /// Time-weighted mean of connections in use over the run.
    pub pool_used_mean: f64,
    /// Acquire timeouts in total (`db_pool_exhaustion_total` at the end).
    pub db_pool_exhaustion_total: u64,
    /// When the first 503 was answered, in seconds (`None` if there was none).
    pub first_503_s: Option<f64>,
    /// Successful responses per simulated second.
    pub throughput_ok_per_s: f64,
    /// Simulated length of the run, in seconds.
    pub duration_s: f64,
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
}
