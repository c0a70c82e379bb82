//! `sim analyze`'s figures against the simulator over a grid of 15 points: pools of 1 to
//! 100 connections, offered loads of 0.5 to 1.3 per connection, acquire timeouts from 0
//! to 4 mean holds (Poisson arrivals, exponential holds, where the models are exact).
//!
//! Unlike `theory.rs`, which calls the formulas, this goes through the whole analysis
//! path: YAML -> `pool_loads` (the scenario adapter) -> `analyze` -> figures by id, so a
//! wrong rate, hold or timeout in the adapter fails here. It also checks the p99 wait,
//! which the simulator measures with its HDR histograms.
//!
//! Tolerances come from the sample: each point runs R replications with fixed seeds and
//! the replication mean must lie within 4.5 standard errors of the formula (under
//! Student's t with R - 1 = 5 degrees of freedom a false alarm has probability about
//! 0.6% per comparison), plus `scale / sqrt(requests)` for the empty-start transient.

use poolsim::theory::analysis::analyze;
use poolsim::theory::loads::pool_loads;

use crate::common::{run, scenario};

const REPLICATIONS: u64 = 6;
const REQUESTS_PER_REP: f64 = 100_000.0;

/// The mean and the standard error of the mean.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

#[test]
fn analysis_matches_simulation_over_a_grid() {
    // (connections, offered load per connection, acquire timeout in mean holds)
    let grid = [
        (1_u32, 0.5, 0.0),
        (1, 0.9, 2.0),
        (2, 1.3, 0.5),
        (3, 0.7, 4.0),
        (5, 1.0, 1.0),
        (8, 1.2, 0.0),
        (10, 0.8, 0.25),
        (20, 1.1, 3.0),
        (25, 0.95, 0.1),
        (50, 1.3, 1.5),
        (75, 0.6, 0.0),
        (100, 1.0, 0.5),
        (100, 0.5, 2.0),
        (10, 0.7, 2.0),
        (100, 0.9, 1.0),
    ];
    let hold_ms = 100.0;
    let mut failures = Vec::new();
    for (c, load, patience_holds) in grid {
        let lambda = load * f64::from(c) / (hold_ms / 1e3);
        let until_ms = (REQUESTS_PER_REP / lambda * 1e3).round();
        let timeout_us = (patience_holds * hold_ms * 1e3).round();
        let yaml = format!(
            "name: grid\npool: {{max_size: {c}, acquire_timeout: {timeout_us}us}}\nrequest: {{hold: {{dist: exponential, mean: {hold_ms}ms}}}}\nworkload:\n  - open: {{rate: {lambda}/s, process: poisson, until: {until_ms}ms}}\ntimeline: {{bucket: 1h}}\n"
        );
        let s = scenario(&yaml);
        let analysis = analyze(&pool_loads(&s));
        let pool = &analysis.pools[0];
        let fig = |id: &str| {
            let f = pool.figures.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no figure {id}"));
            assert!(f.holds, "{id} should rest on kept assumptions for M/M/c+D input");
            f.value.unwrap_or_else(|| panic!("{id} has no value"))
        };
        let (p_timeout, p_wait, mean_wait_ms, p99_ms) =
            (fig("mmc_d.p_timeout"), fig("mmc_d.p_wait"), fig("mmc_d.mean_wait_ms"), fig("mmc_d.p99_wait_ms"));
        if patience_holds == 0.0 {
            assert_eq!(p_timeout, fig("erlang_b.p_blocked"), "a zero timeout is Erlang B");
        }

        let (mut sim_timeout, mut sim_wait, mut sim_mean, mut sim_p99) = (vec![], vec![], vec![], vec![]);
        for seed in 1..=REPLICATIONS {
            let r = run(&s, seed);
            let total = r.summary.requests.total as f64;
            sim_timeout.push(r.summary.requests.timed_out as f64 / total);
            sim_wait.push(r.summary.requests.queued as f64 / total);
            sim_mean.push(r.summary.acquire_wait_ms.mean);
            sim_p99.push(r.summary.acquire_wait_ms.p99);
        }
        let transient = 1.0 / REQUESTS_PER_REP.sqrt();
        let mut check = |what: &str, xs: &[f64], want: f64, scale: f64, resolution: f64| {
            let (m, se) = mean_se(xs);
            let tol = 4.5 * se + scale * transient + resolution;
            if (m - want).abs() > tol {
                failures.push(format!(
                    "c={c} load={load} timeout={patience_holds} holds: {what} simulated {m:.5} (se {se:.5}) vs theory {want:.5}, tolerance {tol:.5}"
                ));
            }
        };
        check("P(503)", &sim_timeout, p_timeout, 1.0, 0.0);
        check("P(wait)", &sim_wait, p_wait, 1.0, 0.0);
        check("mean wait (ms)", &sim_mean, mean_wait_ms, 3.0 * hold_ms, 0.0);
        // The p99 jumps where 1% of requests start to wait or to time out; the HDR
        // histogram keeps 3 significant digits (0.1%). Skip the p99 at those edges.
        let near_edge = (p_wait - 0.01).abs() < 0.004 || (p_timeout - 0.01).abs() < 0.004;
        if !near_edge {
            check("p99 wait (ms)", &sim_p99, p99_ms, 3.0 * hold_ms, 2e-3 * p99_ms);
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
