//! Theory beside simulation: when a scenario fits the M/M/c+D model (one pool,
//! Poisson arrivals at a constant rate, exponential holds, no timed changes),
//! the steady-state figures the formulas predict for it.
//!
//! A run is finite and starts empty, so its figures differ from these by
//! sampling noise and a start-up transient; `tests/integration/theory.rs`
//! bounds that difference.

use super::{mmc, mmc_plus_d};
use crate::engine::SimDuration;
use crate::result::Prediction;
use crate::scenario::{Scenario, WorkloadKind};
use crate::workload::ArrivalProcess;

/// The prediction for `s`, or `None` when the scenario breaks an assumption of the model
/// (or, without a timeout, the pool is overloaded and has no steady state).
pub fn predict(s: &Scenario) -> Option<Prediction> {
    if s.pools.len() != 1 || s.classes.len() != 1 || !s.changes.is_empty() || !s.classes[0].hold.is_exponential() {
        return None;
    }
    let mut lambda = 0.0;
    for w in &s.workloads {
        let WorkloadKind::Open { profile, process: ArrivalProcess::Poisson, .. } = &w.kind else { return None };
        let rate = profile.rate_at(0.0);
        if profile.peak() != rate {
            return None;
        }
        lambda += rate;
    }
    let (c, hold_s) = (s.pools[0].max_size, s.classes[0].hold.mean_secs());
    let a = lambda * hold_s;
    let timeout = s.pools[0].acquire_timeout;
    if timeout == SimDuration::MAX {
        let f = mmc(c, lambda, hold_s)?;
        return Some(Prediction {
            model: "M/M/c",
            offered_load: a,
            p_wait: f.p_wait,
            timed_out_rate: 0.0,
            acquire_wait_ms_mean: f.mean_wait_s * 1e3,
            pool_used_mean: a,
        });
    }
    let f = mmc_plus_d(c, lambda, hold_s, timeout.as_secs_f64());
    Some(Prediction {
        model: "M/M/c+D",
        offered_load: a,
        p_wait: f.p_wait,
        timed_out_rate: f.p_timeout,
        acquire_wait_ms_mean: f.mean_wait_s * 1e3,
        pool_used_mean: f.utilisation * c as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::validate::from_str;

    fn scenario(extra: &str, hold: &str) -> Scenario {
        let src = format!(
            "name: t\npool: {{max_size: 10, acquire_timeout: 2s}}\nrequest: {{hold: {hold}}}\nworkload:\n  - open: {{rate: 9/s, until: 1h}}\n{extra}"
        );
        from_str(&src, "t.yaml", None, &[]).unwrap()
    }

    #[test]
    fn fits_poisson_arrivals_and_exponential_holds() {
        let p = predict(&scenario("", "{dist: exponential, mean: 1s}")).unwrap();
        assert_eq!(p.model, "M/M/c+D");
        assert!((p.offered_load - 9.0).abs() < 1e-12);
        assert_eq!(p.timed_out_rate, mmc_plus_d(10, 9.0, 1.0, 2.0).p_timeout);
    }

    #[test]
    fn refuses_scenarios_that_break_the_assumptions() {
        assert_eq!(predict(&scenario("", "1s")), None, "constant holds");
        let change = "events:\n  - {at: 1m, set: {pool.max_size: 3}}\n";
        assert_eq!(predict(&scenario(change, "{dist: exponential, mean: 1s}")), None, "timed changes");
    }
}
