//! What a Prometheus server would have scraped from the simulated fleet: at every
//! scrape, the instant value of each gauge and the running total of each
//! counter and histogram, for every pool copy and for the fleet.
//!
//! A scrape at `T` sees everything that happened strictly before `T` (as a
//! timeline bucket does); the first is at one interval, as a server's first
//! scrape comes one interval after the target starts. [`super::series`] names
//! these rows as Prometheus series.

use serde::Serialize;

/// Buckets of a classic histogram: upper bounds in seconds (`le`), `+Inf` implied.
pub use crate::alerts::catalog::HISTOGRAM_LE_S;

/// A histogram's running totals at one scrape.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct HistogramSample {
    /// Cumulative counts per bound of [`HISTOGRAM_LE_S`], then `+Inf` (= `count`).
    pub buckets: [u64; HISTOGRAM_LE_S.len() + 1],
    /// Sum of the values, seconds.
    pub sum_s: f64,
    /// Number of values.
    pub count: u64,
}

/// One pool copy at one scrape.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct CopySample {
    /// Connections checked out (leaked ones included).
    pub used: u32,
    /// Idle open connections.
    pub idle: u32,
    /// Requests (and jobs) waiting for a connection.
    pub waiting: u32,
    /// The copy's `max_size`.
    pub max_size: u32,
    /// Requests' acquire timeouts so far.
    pub timeouts: u64,
    /// Requests' acquire waits so far (served or timed out).
    pub acquire: HistogramSample,
}

/// The fleet at one scrape.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct FleetSample {
    /// Responses so far with status 200.
    pub ok: u64,
    /// Responses so far with status 503 (acquire timeouts).
    pub unavailable: u64,
    /// Responses so far with status 500 (refused, statement timeout, terminated).
    pub errors: u64,
    /// Latencies of the responses so far.
    pub latency: HistogramSample,
    /// Connections open at the database (opening ones included).
    pub db_open: u32,
    /// Connection attempts the database refused so far.
    pub refusals: u64,
    /// Leaked connections still checked out.
    pub leaked: u32,
}

/// Every scrape of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scrapes {
    /// Time between scrapes, ms.
    pub interval_ms: i64,
    /// Scrape times, ms of simulated time, increasing.
    pub times_ms: Vec<i64>,
    /// The fleet at each scrape (one per time).
    pub fleet: Vec<FleetSample>,
    /// Every pool copy at each scrape: `copies` rows per time, in the order of
    /// `RunResult::instances`.
    pub copies: Vec<CopySample>,
    /// The database's `max_connections` and usable connections (`None`: no limit).
    pub max_connections: Option<u32>,
    /// `max_connections - reserved_connections` (`None`: no limit).
    pub usable_connections: Option<u32>,
}

impl Scrapes {
    /// The pool copies' rows of scrape `i`.
    pub fn copies_at(&self, i: usize) -> &[CopySample] {
        let n = self.copies.len() / self.times_ms.len().max(1);
        &self.copies[i * n..(i + 1) * n]
    }
}
