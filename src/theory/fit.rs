//! Theory beside simulation: when a scenario fits the M/M/c+D model, the
//! steady-state figures the formulas predict for it; when it does not, why.
//!
//! The scenario is read through [`pool_loads`], the adapter `sim analyze` uses,
//! so the theory block and the analysis agree on what a scenario breaks: one
//! pool whose every copy gets Poisson arrivals at a constant rate (one copy,
//! or random routing, which thins a Poisson stream into Poisson streams),
//! exponential holds that run to their end, no timed changes, jobs, retries or
//! worker queues, a database that accepts every connection with cores to
//! spare, and connections that open instantly where they come and go.
//! Each copy is its own M/M/c+D queue with `c = max_size + max_overflow`
//! (overflow connections serve like the others while open) at its share of
//! the rate; the fleet's figures are the copies' (rates and P(503) the same
//! for every copy, connections in use summed).
//!
//! A run is finite and starts empty, so its figures differ from these by
//! sampling noise and a start-up transient; `tests/integration/theory.rs`
//! bounds that difference.

use super::analysis::QUEUE_ASSUMPTIONS;
use super::loads::{ArrivalKind, Assumption, pool_loads};
use super::{mmc, mmc_plus_d};
use crate::result::{Prediction, Theory};
use crate::scenario::Scenario;

/// The prediction for `s`, or the reasons the model does not describe it.
pub fn predict(s: &Scenario) -> Theory {
    let loads = pool_loads(s);
    let mut why: Vec<String> = loads.broken.iter().map(|b| b.message.clone()).collect();
    let [p] = loads.pools.as_slice() else {
        why.push(format!(
            "{} pools: M/M/c+D describes one pool, and the summary's figures mix them",
            loads.pools.len()
        ));
        return Theory::NotApplicable(why);
    };
    let model_assumes = |a: Assumption| QUEUE_ASSUMPTIONS.contains(&a) || a == Assumption::EvenRouting;
    why.extend(p.broken.iter().filter(|b| model_assumes(b.assumption)).map(|b| b.message.clone()));
    // Bursts, users, even spacing and ramps are each a reason of their own above.
    if why.is_empty() && (p.arrival_rate_per_s <= 0.0 || !p.arrival_kinds.iter().all(|k| *k == ArrivalKind::Poisson)) {
        why.push(
            "the pool gets no open-loop Poisson traffic at a constant rate, the only arrivals the model knows".into(),
        );
    }
    if !why.is_empty() {
        why.dedup();
        return Theory::NotApplicable(why);
    }
    let (lambda, hold_s) = (p.arrival_rate_per_s, p.hold_mean_s);
    let c = p.max_size + p.max_overflow;
    let copies = f64::from(p.instances);
    let base = |model| Prediction {
        model,
        copies: p.instances,
        connections_per_copy: c,
        arrival_rate_per_copy_per_s: lambda,
        offered_load: lambda * hold_s * copies,
        p_wait: 0.0,
        timed_out_rate: 0.0,
        acquire_wait_ms_mean: 0.0,
        pool_used_mean: 0.0,
    };
    match p.acquire_timeout_s {
        None => match mmc(c, lambda, hold_s) {
            Some(f) => Theory::Predicted(Prediction {
                p_wait: f.p_wait,
                acquire_wait_ms_mean: f.mean_wait_s * 1e3,
                pool_used_mean: lambda * hold_s * copies,
                ..base("M/M/c")
            }),
            None => Theory::NotApplicable(vec![format!(
                "the offered load per copy ({:.3} erlangs) reaches its {c} connections and there is no acquire \
                 timeout: the queue grows without bound, with no steady state to predict",
                lambda * hold_s
            )]),
        },
        Some(d) => {
            let f = mmc_plus_d(c, lambda, hold_s, d);
            Theory::Predicted(Prediction {
                p_wait: f.p_wait,
                timed_out_rate: f.p_timeout,
                acquire_wait_ms_mean: f.mean_wait_s * 1e3,
                pool_used_mean: f.utilisation * f64::from(c) * copies,
                ..base("M/M/c+D")
            })
        }
    }
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

    fn predicted(t: Theory) -> Prediction {
        match t {
            Theory::Predicted(p) => p,
            Theory::NotApplicable(why) => panic!("not applicable: {why:?}"),
        }
    }

    fn reasons(t: Theory) -> Vec<String> {
        match t {
            Theory::Predicted(p) => panic!("predicted {p:?}"),
            Theory::NotApplicable(why) => why,
        }
    }

    #[test]
    fn fits_poisson_arrivals_and_exponential_holds() {
        let p = predicted(predict(&scenario("", "{dist: exponential, mean: 1s}")));
        assert_eq!(p.model, "M/M/c+D");
        assert!((p.offered_load - 9.0).abs() < 1e-12);
        assert_eq!(p.timed_out_rate, mmc_plus_d(10, 9.0, 1.0, 2.0).p_timeout);
        assert_eq!((p.copies, p.connections_per_copy), (1, 10));
    }

    #[test]
    fn refuses_scenarios_that_break_the_assumptions_and_says_why() {
        let exp = "{dist: exponential, mean: 1s}";
        assert!(reasons(predict(&scenario("", "1s")))[0].contains("not exponential"));
        let change = "events:\n  - {at: 1m, set: {pool.max_size: 3}}\n";
        assert!(reasons(predict(&scenario(change, exp)))[0].contains("timed change"));
        let cut = "name: t\npool: {max_size: 10, acquire_timeout: 2s}\nclasses: [{name: q, hold: {dist: exponential, mean: 1s}, statement_timeout: 3s}]\nworkload:\n  - open: {rate: 9/s, until: 1h}\n";
        let why = reasons(predict(&from_str(cut, "t.yaml", None, &[]).unwrap()));
        // e^{-3} of exponential holds of mean 1 s run past 3 s.
        assert!(why[0].contains("statement_timeout of 3 s") && why[0].contains("4.979 %"), "{why:?}");
        let retries = "client: {timeout: 5s, retries: 2}\n";
        assert!(reasons(predict(&scenario(retries, exp)))[0].contains("retry"));
    }

    /// The independent check's case: 4 per-worker copies of a pool of 2 under 4/s of Poisson
    /// traffic. The model applies per copy (1/s each), and only with random routing.
    #[test]
    fn several_copies_are_predicted_one_copy_at_a_time() {
        let fleet = |routing: &str| {
            let src = format!(
                "name: t\nfleet: {{pods: 2, workers_per_pod: 2, routing: {routing}}}\n\
                 pools: [{{name: app, scope: worker, max_size: 2, acquire_timeout: 1s}}]\n\
                 request: {{hold: {{dist: exponential, mean: 1s}}}}\nworkload:\n  - open: {{rate: 4/s, until: 1h}}\n"
            );
            predict(&from_str(&src, "t.yaml", None, &[]).unwrap())
        };
        let p = predicted(fleet("random"));
        assert_eq!((p.copies, p.connections_per_copy), (4, 2));
        assert_eq!(p.arrival_rate_per_copy_per_s, 1.0);
        assert_eq!(p.timed_out_rate, mmc_plus_d(2, 1.0, 1.0, 1.0).p_timeout);
        assert!((p.offered_load - 4.0).abs() < 1e-12);
        let m = mmc_plus_d(2, 1.0, 1.0, 1.0);
        assert!((p.pool_used_mean - 4.0 * 2.0 * m.utilisation).abs() < 1e-12);
        assert!(reasons(fleet("round_robin"))[0].contains("Erlang-4"));
    }

    /// Classes with one and the same hold distribution share one exponential, not a mixture;
    /// classes with different means do form a mixture (cv above 1).
    #[test]
    fn classes_with_the_same_exponential_hold_are_one_exponential() {
        let classes = |b: &str| {
            let src = format!(
                "name: t\npool: {{max_size: 10, acquire_timeout: 2s}}\nclasses:\n  - {{name: a, hold: {{dist: exponential, mean: 1s}}}}\n  - {{name: b, hold: {{dist: exponential, mean: {b}}}}}\nworkload:\n  - open: {{rate: 9/s, until: 1h}}\n"
            );
            predict(&from_str(&src, "t.yaml", None, &[]).unwrap())
        };
        let p = predicted(classes("1s"));
        assert_eq!(p.timed_out_rate, mmc_plus_d(10, 9.0, 1.0, 2.0).p_timeout);
        let why = reasons(classes("3s"));
        assert!(why[0].contains("mixture") && why[0].contains("mean 2000.0 ms"), "{why:?}");
    }

    /// SQLAlchemy's `pool_size=2, max_overflow=3` serves 5 at once: M/M/5+D, not M/M/2+D.
    #[test]
    fn overflow_connections_count_as_servers() {
        let p = predicted(predict(&scenario("", "{dist: exponential, mean: 1s}").clone()));
        assert_eq!(p.connections_per_copy, 10);
        let src = "name: t\npool: {max_size: 2, max_overflow: 3, acquire_timeout: 2s}\nrequest: {hold: {dist: exponential, mean: 1s}}\nworkload:\n  - open: {rate: 3/s, until: 1h}\n";
        let p = predicted(predict(&from_str(src, "t.yaml", None, &[]).unwrap()));
        assert_eq!(p.connections_per_copy, 5);
        assert_eq!(p.timed_out_rate, mmc_plus_d(5, 3.0, 1.0, 2.0).p_timeout);
    }
}
