//! A comparison's result: several designs under the same seeds, one
//! [`FigureRow`] per figure with each design's value and its paired difference
//! from the baseline.

use super::{Estimate, RunResult};

/// The outcome of a comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Display names of the scenarios (their `name`, made unique), baseline first.
    pub names: Vec<String>,
    /// The base seed (replication 0 runs with it).
    pub seed: u64,
    /// Runs per scenario.
    pub replications: usize,
    /// Replication 0 of each scenario, for the overlay plots.
    pub first: Vec<RunResult>,
    /// One row per figure.
    pub rows: Vec<FigureRow>,
}

/// One figure of every scenario, and the differences from the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRow {
    /// Dotted path in `summary.json`.
    pub path: String,
    /// Per scenario (`None` when it has no such figure).
    pub values: Vec<Option<Estimate>>,
    /// Per scenario after the baseline: paired difference from the baseline.
    pub diffs: Vec<Option<Estimate>>,
}
