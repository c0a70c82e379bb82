//! Sweeps and comparisons: many runs of scenario variants, in parallel, with the same bytes out
//! for any number of threads.
//!
//! - [`compare`]: several scenarios under the same seeds, side by side, with paired differences.
//! - This module: validating every point before any run, sharding, the parallel runner and the
//!   [`Table`] of figures per point that `output::sweep` writes and `sim merge` joins.
//!
//! Invariants:
//! - Determinism: a run depends only on (point scenario, replication seed). Workers pull task
//!   indices from an atomic counter, results are stored by index, and figures are averaged in
//!   replication order, so the table is the same for any `jobs`.
//! - Common random numbers: replication `r` of every point runs with [`replication_seed`]`(seed, r)`
//!   where `seed` is the point's scenario seed (or `--seed`); replication 0 uses the seed itself,
//!   so it reproduces `sim run` of the same point exactly.
//! - Nothing runs until every point of the whole grid (not just this shard) has validated, so every
//!   shard fails the same way on the same input.
//! - Figures are read generically from `output::json::summary_value` by dotted path: whatever
//!   numeric figures the summary has (including `database.*` and `theory.*` when present) become
//!   columns, without this module naming them.

pub mod compare;
pub mod merge;
pub mod size;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::Value as Json;

use crate::model::{RunOptions, SimError};
use crate::output::json::summary_value;
pub use crate::result::{Estimate, Row, Shard, Table};
pub use crate::scenario::grid::{self, Axis, Grid};
use crate::scenario::{Scenario, ScenarioError, validate};

/// Summary keys that describe a run rather than measure it; never figures.
const META_KEYS: &[&str] = &["name", "description", "seed", "scenario_hash", "version", "bucket_s", "events"];

pub use crate::scenario::sweep::MAX_REPLICATIONS;

/// Why a sweep or comparison could not be done. The detail of a variant with a `source` is in
/// that source (print the chain, e.g. anyhow's `{:#}`).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Swept keys that the scenario does not have, or values they do not accept (all of them).
    #[error("{}", render_values(.0))]
    Values(Vec<BadValue>),
    /// Each value is valid alone, but a combination is not.
    #[error("grid point {point} ({settings}) is not a valid scenario")]
    Point {
        /// Point index.
        point: usize,
        /// `key=value` settings of the point.
        settings: String,
        /// The validation messages.
        source: ScenarioError,
    },
    /// A simulation failed.
    #[error("point {point}, replication {replication} (seed {seed}) failed")]
    Run {
        /// Point (or scenario) index.
        point: usize,
        /// Replication index.
        replication: usize,
        /// The seed of that run.
        seed: u64,
        /// What went wrong.
        source: SimError,
    },
    /// Something else about the request (grid, shard, replications).
    #[error("{0}")]
    Invalid(String),
    /// The caller asked to stop (Ctrl-C).
    #[error("interrupted")]
    Stopped,
}

/// One `--set KEY=VALUE` the scenario refuses.
#[derive(Debug)]
pub struct BadValue {
    /// The key.
    pub key: String,
    /// The value as given (empty when the key itself is unknown).
    pub value: String,
    /// Why: the scenario's validation messages (with file, line and what the key accepts), or
    /// for an unknown key, the nearest keys the file has.
    pub message: String,
}

fn render_values(bad: &[BadValue]) -> String {
    let one = |b: &BadValue| match b.value.as_str() {
        "" => format!("--set {}: {}", b.key, b.message),
        v => format!("--set {}={v} is not valid for this scenario: {}", b.key, b.message),
    };
    match bad {
        [b] => one(b),
        _ => format!(
            "{} swept settings are not valid:\n{}",
            bad.len(),
            bad.iter().map(|b| format!("  {}", one(b))).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// Every path the YAML tree can be overridden at (mappings, sequences and scalars alike).
fn key_paths(node: &crate::scenario::yaml::Node, path: &mut String, out: &mut Vec<String>) {
    use crate::scenario::yaml::Value;
    let mut visit = |seg: &str, child: &crate::scenario::yaml::Node, path: &mut String| {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(seg);
        out.push(path.clone());
        key_paths(child, path, out);
        path.truncate(len);
    };
    match &node.value {
        Value::Map(entries) => entries.iter().for_each(|(k, n)| visit(&k.text, n, path)),
        Value::Seq(items) => items.iter().enumerate().for_each(|(i, n)| visit(&i.to_string(), n, path)),
        Value::Scalar { .. } => {}
    }
}

/// The message for a key the file does not have: the nearest keys it has.
fn unknown_key(key: &str, paths: &[String]) -> String {
    let mut near: Vec<(usize, &String)> =
        paths.iter().map(|p| (crate::scenario::validate::edit_distance(key, p), p)).collect();
    near.sort();
    let close: Vec<String> = near.iter().filter(|(d, _)| *d <= 3).take(3).map(|(_, p)| format!("`{p}`")).collect();
    let hint = if close.is_empty() {
        let some: Vec<String> = paths.iter().take(12).map(|p| format!("`{p}`")).collect();
        format!("keys it has include {}", some.join(", "))
    } else {
        format!("did you mean {}?", close.join(" or "))
    };
    format!("the scenario has no key `{key}` (a sweep changes keys the file writes; it does not add them); {hint}")
}

/// The seed of replication `r`: the seed itself for `r = 0`, else a SplitMix64 mix of
/// (seed, r). Independent of the point, so every point sees the same random inputs.
pub fn replication_seed(seed: u64, r: usize) -> u64 {
    if r == 0 { seed } else { splitmix64(seed ^ splitmix64(r as u64)) }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A sweep ready to run: the scenario text, the grid and every point of this shard, validated.
#[derive(Debug)]
pub struct Plan {
    /// The grid.
    pub grid: Grid,
    /// Runs per point.
    pub replications: usize,
    /// This run's share of the grid.
    pub shard: Shard,
    /// The scenario as written (no overrides), for metadata.
    pub base: Scenario,
    /// `(point index, scenario)` of this shard's points, in index order.
    pub points: Vec<(usize, Scenario)>,
    /// Seed override for every point (`--seed`); `None` uses each point's scenario seed.
    pub seed: Option<u64>,
}

impl Plan {
    /// Validates every key, every value alone, then every point of the grid, before anything
    /// runs. `src` is the scenario text, `file` names it in messages, `base_dir` resolves the
    /// scenario's relative paths.
    pub fn new(
        src: &str,
        file: &str,
        base_dir: Option<&Path>,
        grid: Grid,
        replications: usize,
        shard: Shard,
        seed: Option<u64>,
    ) -> Result<Plan, SweepError> {
        if replications == 0 || replications > MAX_REPLICATIONS {
            return Err(SweepError::Invalid(format!(
                "replications must be from 1 to {MAX_REPLICATIONS}, not {replications}"
            )));
        }
        if grid.is_empty() {
            return Err(SweepError::Invalid("the grid has no point".into()));
        }
        let base = validate::from_str(src, file, base_dir, &[])
            .map_err(|source| SweepError::Invalid(format!("the scenario itself is invalid:\n{source}")))?;
        // Keys first, then each value alone: every message names one key and value at fault,
        // and every bad setting is reported at once.
        let mut paths = Vec::new();
        if let Ok(root) = crate::scenario::yaml::parse(src) {
            key_paths(&root, &mut String::new(), &mut paths);
        }
        let mut bad = Vec::new();
        for axis in &grid.axes {
            if !paths.contains(&axis.key) {
                bad.push(BadValue {
                    key: axis.key.clone(),
                    value: String::new(),
                    message: unknown_key(&axis.key, &paths),
                });
                continue;
            }
            for v in &axis.values {
                let ov = [(axis.key.clone(), v.text.clone())];
                if let Err(e) = validate::from_str(src, file, base_dir, &ov) {
                    bad.push(BadValue { key: axis.key.clone(), value: v.text.clone(), message: e.to_string() });
                }
            }
        }
        if !bad.is_empty() {
            return Err(SweepError::Values(bad));
        }
        let mut points = Vec::new();
        for i in 0..grid.len() {
            let ov = grid.overrides(i);
            let s = validate::from_str(src, file, base_dir, &ov).map_err(|source| SweepError::Point {
                point: i,
                settings: ov.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
                source,
            })?;
            if shard.contains(i) {
                points.push((i, s));
            }
        }
        Ok(Plan { grid, replications, shard, base, points, seed })
    }

    /// Number of runs this shard will do.
    pub fn runs(&self) -> usize {
        self.points.len() * self.replications
    }

    /// Runs every point and replication of this shard on `jobs` threads and gathers the
    /// figures. `progress` is called once per finished run; `should_stop` is polled by runs.
    pub fn run(&self, ctl: &Control) -> Result<Table, SweepError> {
        let r = self.replications;
        let summaries = par_map(self.runs(), ctl, |t| {
            let (p, rep) = (t / r, t % r);
            let (point, s) = &self.points[p];
            let seed = replication_seed(self.seed.unwrap_or(s.seed), rep);
            run_one(s, seed, ctl).map(|res| summary_value(&res)).map_err(|source| SweepError::Run {
                point: *point,
                replication: rep,
                seed,
                source,
            })
        })?;
        let per_point: Vec<&[Json]> = summaries.chunks(r.max(1)).collect();
        let figures = figure_paths(summaries.iter());
        let rows = self
            .points
            .iter()
            .zip(per_point)
            .map(|((i, _), runs)| Row {
                point: *i,
                values: self.grid.overrides(*i).into_iter().map(|(_, v)| v).collect(),
                cells: figures.iter().map(|f| Estimate::of(&collect(runs, f))).collect(),
            })
            .collect();
        Ok(Table {
            keys: self.grid.axes.iter().map(|a| a.key.clone()).collect(),
            figures,
            replications: self.replications,
            rows,
        })
    }
}

/// How runs are executed: threads, progress and interruption.
pub struct Control<'a> {
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Called once per finished run, from any worker.
    pub progress: Option<&'a (dyn Fn() + Sync)>,
    /// Polled by runs; returning true stops them.
    pub should_stop: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl Control<'_> {
    /// One thread, no progress, no interruption.
    pub fn serial() -> Control<'static> {
        Control { jobs: 1, progress: None, should_stop: None }
    }
}

/// Runs one simulation with the control's stop check.
pub(crate) fn run_one(s: &Scenario, seed: u64, ctl: &Control) -> Result<crate::result::RunResult, SimError> {
    let mut opts = RunOptions::seed(seed);
    if let Some(stop) = ctl.should_stop {
        opts.should_stop = Some(stop as &dyn Fn() -> bool);
    }
    crate::run::run(s, opts)
}

/// `f(0..n)` on `ctl.jobs` threads, results in index order. On an error, workers stop taking new
/// tasks and the error of the lowest failed index is returned (the same for any thread count,
/// as long as that task was reached, which it is: tasks are taken in index order).
pub(crate) fn par_map<T: Send>(
    n: usize,
    ctl: &Control,
    f: impl Fn(usize) -> Result<T, SweepError> + Sync,
) -> Result<Vec<T>, SweepError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Mutex<Vec<Option<Result<T, SweepError>>>> = Mutex::new((0..n).map(|_| None).collect());
    let worker = || {
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            if ctl.should_stop.is_some_and(|s| s()) {
                failed.store(true, Ordering::Relaxed);
                break;
            }
            let out = f(i);
            if out.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(out);
            if let Some(p) = ctl.progress {
                p();
            }
        }
    };
    let jobs = ctl.jobs.clamp(1, n.max(1));
    std::thread::scope(|scope| {
        for _ in 1..jobs {
            scope.spawn(worker);
        }
        worker();
    });
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(n);
    for slot in slots {
        match slot {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            None => return Err(SweepError::Stopped),
        }
    }
    Ok(out)
}

/// Every numeric (or null) leaf of a summary that is a figure, as dotted paths, in order.
pub fn summary_figures(v: &Json) -> Vec<String> {
    crate::output::json::figure_leaves(v)
        .into_iter()
        .filter(|(p, _)| !META_KEYS.contains(&p.split('.').next().unwrap_or("")))
        .map(|(p, _)| p)
        .collect()
}

/// The union of the figures of several summaries: the first summary's order, then any path
/// first seen later, in the order seen.
pub fn figure_paths<'a>(summaries: impl Iterator<Item = &'a Json>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in summaries {
        for p in summary_figures(s) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The finite values of figure `path` over runs (runs where it is null or absent are left out).
pub fn collect(runs: &[Json], path: &str) -> Vec<f64> {
    runs.iter().filter_map(|r| crate::output::json::lookup(r, path)?.as_f64()).filter(|x| x.is_finite()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_key_and_value_is_reported_before_any_run() {
        let src = "name: t\npool: {max_size: 5}\nrequest: {hold: 1s}\nworkload:\n  - burst: {at: 0s, count: 3}\n";
        let g = Grid::new(vec![
            grid::parse_set("pool.max_sise=1,2").unwrap(),
            grid::parse_set("request.hold=1s,5,2s,-1s").unwrap(),
            grid::parse_set("workload.0.burst.count=1,2").unwrap(),
        ])
        .unwrap();
        let e = Plan::new(src, "t.yaml", None, g, 1, Shard::ALL, None).unwrap_err().to_string();
        assert!(e.starts_with("3 swept settings are not valid:"), "{e}");
        assert!(e.contains("--set pool.max_sise: the scenario has no key `pool.max_sise`"), "{e}");
        assert!(e.contains("did you mean `pool.max_size`?"), "{e}");
        assert!(e.contains("--set request.hold=5 is not valid") && e.contains("--set request.hold=-1s"), "{e}");
        assert!(!e.contains("workload"), "{e}");
    }

    #[test]
    fn replication_zero_is_the_seed_itself_and_others_differ() {
        assert_eq!(replication_seed(42, 0), 42);
        let seeds: Vec<u64> = (0..100).map(|r| replication_seed(42, r)).collect();
        let mut sorted = seeds.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 100);
        assert_ne!(replication_seed(42, 1), replication_seed(43, 1));
    }

    #[test]
    fn figures_are_numeric_leaves_without_metadata() {
        let v = serde_json::json!({"name": "x", "seed": 1, "requests": {"total": 3, "rate": 0.5},
            "first_503_s": null, "database": {"peak_connections": 7}, "label": "text"});
        assert_eq!(
            summary_figures(&v),
            ["requests.total", "requests.rate", "first_503_s", "database.peak_connections"]
        );
        let w = serde_json::json!({"requests": {"total": 1}, "extra": 2});
        assert_eq!(figure_paths([&w, &v].into_iter())[..2], ["requests.total".to_string(), "extra".into()]);
        assert_eq!(collect(&[v.clone(), w], "requests.total"), [3.0, 1.0]);
        assert!(collect(&[v], "first_503_s").is_empty());
    }

    #[test]
    fn par_map_keeps_index_order_for_any_thread_count() {
        for jobs in [1, 2, 5] {
            let ctl = Control { jobs, progress: None, should_stop: None };
            let out = par_map(50, &ctl, |i| Ok(i * i)).unwrap();
            assert_eq!(out, (0..50).map(|i| i * i).collect::<Vec<_>>());
        }
        let ctl = Control { jobs: 2, progress: None, should_stop: None };
        let err = par_map(10, &ctl, |i| if i >= 3 { Err(SweepError::Invalid(format!("{i}"))) } else { Ok(i) });
        assert_eq!(err.unwrap_err().to_string(), "3");
    }
}
