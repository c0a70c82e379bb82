//! Several scenarios under identical traffic: each replication `r` runs every scenario with the
//! same seed ([`super::replication_seed`]), so (by the engine's per-source random streams) the
//! same arrival times meet every design, and differences are paired.
//!
//! Invariants:
//! - The first scenario is the baseline; every difference is `scenario - baseline`, and with
//!   replications its confidence interval comes from the paired differences per replication
//!   (which common random numbers make much narrower than two independent intervals).
//! - Figures are read generically by path from `summary_value`, as in sweeps.

use serde_json::Value as Json;

use super::{Control, Estimate, SweepError, collect, figure_paths, par_map, replication_seed, run_one};
use crate::output::json::summary_value;
use crate::result::{Comparison, FigureRow};
use crate::scenario::Scenario;

/// Runs every scenario `replications` times with the same seeds, on `ctl.jobs` threads.
pub fn compare(
    scenarios: &[Scenario],
    seed: u64,
    replications: usize,
    ctl: &Control,
) -> Result<Comparison, SweepError> {
    if scenarios.len() < 2 {
        return Err(SweepError::Invalid("compare needs at least two scenarios".into()));
    }
    if replications == 0 || replications > super::MAX_REPLICATIONS {
        return Err(SweepError::Invalid(format!(
            "replications must be from 1 to {}, not {replications}",
            super::MAX_REPLICATIONS
        )));
    }
    let r = replications;
    let results = par_map(scenarios.len() * r, ctl, |t| {
        let (i, rep) = (t / r, t % r);
        let s = replication_seed(seed, rep);
        let res = run_one(&scenarios[i], s, ctl).map_err(|source| SweepError::Run {
            point: i,
            replication: rep,
            seed: s,
            source,
        })?;
        let summary = summary_value(&res);
        // Keep the whole timeline only for replication 0 (the overlay); the rest is summaries.
        Ok((summary, (rep == 0).then_some(res)))
    })?;
    let mut summaries: Vec<Vec<Json>> = vec![Vec::new(); scenarios.len()];
    let mut first = Vec::new();
    for (t, (summary, res)) in results.into_iter().enumerate() {
        summaries[t / r].push(summary);
        first.extend(res);
    }
    let figures = figure_paths(summaries.iter().flatten());
    let rows = figures
        .into_iter()
        .map(|path| {
            let values = summaries.iter().map(|runs| Estimate::of(&collect(runs, &path))).collect();
            let diffs = summaries[1..].iter().map(|runs| Estimate::of(&paired(&summaries[0], runs, &path))).collect();
            FigureRow { path, values, diffs }
        })
        .collect();
    Ok(Comparison { names: unique_names(scenarios), seed, replications, first, rows })
}

/// `b - a` per replication where both runs have the figure.
fn paired(a: &[Json], b: &[Json], path: &str) -> Vec<f64> {
    let get = |v: &Json| crate::output::json::lookup(v, path).and_then(Json::as_f64).filter(|x| x.is_finite());
    a.iter().zip(b).filter_map(|(x, y)| Some(get(y)? - get(x)?)).collect()
}

/// Scenario names, with `#2`, `#3`... appended to repeats so columns stay distinct.
fn unique_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scenarios {
        let mut name = s.name.clone();
        let mut k = 2;
        while out.contains(&name) {
            name = format!("{}#{k}", s.name);
            k += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_differences_skip_missing_figures() {
        let a = [serde_json::json!({"x": 1.0}), serde_json::json!({"x": 2.0}), serde_json::json!({"x": null})];
        let b = [serde_json::json!({"x": 4.0}), serde_json::json!({"x": 7.0}), serde_json::json!({"x": 1.0})];
        assert_eq!(paired(&a, &b, "x"), [3.0, 5.0]);
    }
}
