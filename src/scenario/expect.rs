//! The `expect:` block: assertions on a run's figures, checked by `sim check`.
//!
//! ```yaml
//! expect:
//!   requests.timed_out: {equals: 0}
//!   latency_ms.p99: {max: 200}
//!   requests.timed_out_rate: {min: 0.01, max: 0.05}
//!   timeline.timed_out: {max: 0, window: {from: 0s, until: 3m}, stat: sum}
//!   timeline.db_pool_waiting_requests_max:     # several bounds on one figure: a list
//!     - {max: 0, window: {until: 1m}}
//!     - {min: 40, window: {from: 2m, until: 3m}}
//! ```
//!
//! Each key is the dotted path of a figure in `summary.json`, or `timeline.COLUMN`
//! for a `timeline.csv` column reduced over a time window. Only the *form* of an
//! assertion is checked here (bounds are finite numbers, `min <= max`, windows
//! are ordered): which figures exist is decided by the run, and grows with the
//! model, so an unknown path is reported when the file is checked, with close
//! matches (by `sim check`). The block is read by `validate/expect.rs`. Invariant: every [`Expectation`] has at least
//! one bound, and `window`/`stat` only on timeline paths.

use super::yaml::Pos;
use crate::engine::SimTime;

/// Prefix of the paths that address a timeline column rather than a summary figure.
pub const TIMELINE_PREFIX: &str = "timeline.";

/// One assertion on a figure of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Dotted path of the figure in `summary.json` (`latency_ms.p99`), or
    /// `timeline.COLUMN` for a timeline column.
    pub path: String,
    /// Where the assertion is written (for messages at check time).
    pub pos: Pos,
    /// The bound the figure must satisfy.
    pub bound: Bound,
    /// For timeline columns: the part of the run looked at (`None`: the whole run).
    pub window: Option<Window>,
    /// For timeline columns: how the buckets are reduced to one number
    /// (`None`: the column's default, see [`Stat::default_for`]).
    pub stat: Option<Stat>,
}

impl Expectation {
    /// The timeline column this assertion reads, if it reads one.
    pub fn timeline_column(&self) -> Option<&str> {
        self.path.strip_prefix(TIMELINE_PREFIX)
    }
}

/// Limits on a figure: `min <= x <= max`, or `|x - equals| <= tolerance`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// Smallest accepted value.
    pub min: Option<f64>,
    /// Largest accepted value.
    pub max: Option<f64>,
    /// The exact expected value.
    pub equals: Option<f64>,
    /// Accepted distance from `equals` (0 unless written).
    pub tolerance: f64,
}

impl Bound {
    /// Whether `x` satisfies the bound.
    pub fn accepts(&self, x: f64) -> bool {
        if x.is_nan() {
            return false;
        }
        if let Some(e) = self.equals {
            return (x - e).abs() <= self.tolerance;
        }
        self.min.is_none_or(|m| x >= m) && self.max.is_none_or(|m| x <= m)
    }
}

impl std::fmt::Display for Bound {
    /// `= 0`, `= 5 ± 0.1`, `<= 200`, `>= 0.01`, `0.01 ..= 0.05`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.equals, self.min, self.max) {
            (Some(e), _, _) if self.tolerance > 0.0 => write!(f, "= {} ± {}", num(e), num(self.tolerance)),
            (Some(e), _, _) => write!(f, "= {}", num(e)),
            (None, Some(lo), Some(hi)) => write!(f, "{} ..= {}", num(lo), num(hi)),
            (None, Some(lo), None) => write!(f, ">= {}", num(lo)),
            (None, None, Some(hi)) => write!(f, "<= {}", num(hi)),
            (None, None, None) => f.write_str("any"),
        }
    }
}

/// A number as short as it can be written without losing it (`0`, `0.05`, `1e12`).
pub fn num(x: f64) -> String {
    format!("{x}")
}

/// The part of a run a timeline assertion looks at: the buckets that *start* in
/// `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// First instant included.
    pub from: SimTime,
    /// First instant excluded (`None`: the end of the run).
    pub until: Option<SimTime>,
}

/// How a timeline column is reduced over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Sum of the buckets (counts of events).
    Sum,
    /// Largest bucket value (gauges, percentiles, cumulative totals).
    Max,
    /// Smallest bucket value.
    Min,
    /// Mean of the buckets that have a value.
    Mean,
}

impl Stat {
    /// The name written in scenarios and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Sum => "sum",
            Stat::Max => "max",
            Stat::Min => "min",
            Stat::Mean => "mean",
        }
    }

    /// The default reduction of a column, from its name: per-bucket event counts
    /// (`arrivals`, `ok`, `timed_out`, `failed`, `*_refusals`, `*_count`) are
    /// summed, `*_min` columns take the minimum, everything else (gauges such as
    /// `db_pool_used_size_max` or `db_connections_open`, percentiles, cumulative
    /// `*_total` counters) takes the maximum. Decided by name so that columns
    /// added later get a sensible default without a list to maintain.
    pub fn default_for(column: &str) -> Stat {
        const COUNTS: &[&str] = &["arrivals", "ok", "timed_out", "failed", "refused", "refusals"];
        let last = column.rsplit('_').next().unwrap_or(column);
        if COUNTS.contains(&column) || column.ends_with("_refusals") || column.ends_with("_count") {
            Stat::Sum
        } else if last == "min" {
            Stat::Min
        } else {
            Stat::Max
        }
    }
}
