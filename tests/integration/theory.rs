//! The engine against queueing theory: Poisson arrivals and exponential holds
//! into c connections (M/M/c), with no timeout (Erlang C), a zero timeout
//! (Erlang B) and a finite timeout (M/M/c+D, deterministic patience).
//!
//! Each case runs R independent replications (fixed seeds) and compares the
//! mean of the replications with the formula. The tolerance is derived from the
//! sample, not tuned: 4.5 standard errors of the replication mean (a false alarm
//! has probability below 0.2% under Student's t with R-1 degrees of freedom),
//! plus a small allowance for the empty-start transient, 1 / sqrt(requests).

use poolsim::theory::{erlang_b, erlang_c, mmc, mmc_plus_d};

use crate::common::{run, scenario};

const REPLICATIONS: u64 = 8;

struct Case {
    c: u32,
    lambda: f64,
    hold_s: f64,
    /// `None` waits forever.
    timeout_s: Option<f64>,
    requests_per_rep: f64,
}

struct Observed {
    p_wait: Vec<f64>,
    p_timeout: Vec<f64>,
    mean_wait_s: Vec<f64>,
}

fn simulate(case: &Case) -> Observed {
    let until = case.requests_per_rep / case.lambda;
    let timeout = case.timeout_s.map_or("never".to_string(), |t| format!("{}us", (t * 1e6).round()));
    let yaml = format!(
        "name: mmc\npool: {{max_size: {}, acquire_timeout: {timeout}}}\nrequest: {{hold: {{dist: exponential, mean: {}us}}}}\nworkload:\n  - open: {{rate: {}/s, process: poisson, until: {}ms}}\ntimeline: {{bucket: 1h}}\n",
        case.c,
        (case.hold_s * 1e6).round(),
        case.lambda,
        (until * 1e3).round()
    );
    let s = scenario(&yaml);
    let mut obs = Observed { p_wait: vec![], p_timeout: vec![], mean_wait_s: vec![] };
    for seed in 1..=REPLICATIONS {
        let r = run(&s, seed);
        let total = r.summary.requests.total as f64;
        obs.p_timeout.push(r.summary.requests.timed_out as f64 / total);
        obs.mean_wait_s.push(r.summary.acquire_wait_ms.mean / 1000.0);
        obs.p_wait.push(r.summary.requests.queued as f64 / total);
    }
    obs
}

fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn assert_close(what: &str, case: &Case, xs: &[f64], expected: f64, scale: f64) {
    let (m, se) = mean_se(xs);
    let transient = scale / case.requests_per_rep.sqrt();
    let tol = 4.5 * se + transient;
    assert!(
        (m - expected).abs() <= tol,
        "c={} lambda={} hold={} timeout={:?}: {what} simulated {m:.5} (se {se:.5}) vs theory {expected:.5}, tolerance {tol:.5}",
        case.c,
        case.lambda,
        case.hold_s,
        case.timeout_s
    );
}

#[test]
fn erlang_c_without_timeout() {
    for (c, load) in [(1, 0.5), (5, 0.8), (20, 0.9)] {
        let case = Case { c, lambda: load * c as f64, hold_s: 1.0, timeout_s: None, requests_per_rep: 200_000.0 };
        let theory = mmc(c, case.lambda, case.hold_s).unwrap();
        assert!((theory.p_wait - erlang_c(c, case.lambda)).abs() < 1e-12);
        let obs = simulate(&case);
        assert_close("P(wait)", &case, &obs.p_wait, theory.p_wait, 1.0);
        assert_close("mean wait (s)", &case, &obs.mean_wait_s, theory.mean_wait_s, theory.mean_wait_s.max(0.1) * 3.0);
        assert!(obs.p_timeout.iter().all(|&p| p == 0.0));
    }
}

#[test]
fn erlang_b_with_zero_timeout() {
    for (c, a) in [(1, 0.5), (5, 4.0), (10, 12.0), (50, 45.0)] {
        let case = Case { c, lambda: a, hold_s: 1.0, timeout_s: Some(0.0), requests_per_rep: 100_000.0 };
        let obs = simulate(&case);
        assert_close("P(blocked)", &case, &obs.p_timeout, erlang_b(c, a), 1.0);
    }
}

#[test]
fn mmc_plus_d_with_a_finite_timeout() {
    // Pools of 1 to 100, loads 0.5 to 1.3, timeouts from a tenth of a hold to three holds.
    let grid =
        [(1, 0.5, 0.5), (2, 1.3, 0.1), (5, 0.9, 1.0), (5, 1.2, 2.0), (10, 1.0, 0.5), (30, 1.1, 0.25), (100, 0.95, 3.0)];
    for (c, load, patience_holds) in grid {
        let hold_s = 0.2;
        let case = Case {
            c,
            lambda: load * c as f64 / hold_s,
            hold_s,
            timeout_s: Some(patience_holds * hold_s),
            requests_per_rep: 150_000.0,
        };
        let theory = mmc_plus_d(c, case.lambda, hold_s, patience_holds * hold_s);
        let obs = simulate(&case);
        assert_close("P(timeout)", &case, &obs.p_timeout, theory.p_timeout, 1.0);
        assert_close("P(wait)", &case, &obs.p_wait, theory.p_wait, 1.0);
        assert_close("mean wait (s)", &case, &obs.mean_wait_s, theory.mean_wait_s, hold_s * 3.0);
    }
}

/// The theory block a run carries (`summary.json`'s `theory`) against the same run's
/// figures, over R replications with the tolerance above.
fn theory_block_matches(yaml: &str, requests_per_rep: f64) -> poolsim::result::Prediction {
    let s = scenario(yaml);
    let first = run(&s, 1);
    let Some(poolsim::result::Theory::Predicted(p)) = first.theory.clone() else {
        panic!("no prediction: {:?}", first.theory)
    };
    let case = Case {
        c: p.connections_per_copy,
        lambda: p.arrival_rate_per_copy_per_s,
        hold_s: 0.0,
        timeout_s: None,
        requests_per_rep,
    };
    let (mut timed_out, mut waits, mut used) = (vec![], vec![], vec![]);
    for seed in 1..=REPLICATIONS {
        let r = if seed == 1 { first.clone() } else { run(&s, seed) };
        timed_out.push(r.summary.requests.timed_out_rate);
        waits.push(r.summary.acquire_wait_ms.mean / 1000.0);
        used.push(r.summary.pool_used_mean);
    }
    assert_close("P(503) of the theory block", &case, &timed_out, p.timed_out_rate, 1.0);
    assert_close("mean wait (s) of the theory block", &case, &waits, p.acquire_wait_ms_mean / 1000.0, 3.0);
    let connections = f64::from(p.connections_per_copy * p.copies);
    assert_close("connections in use of the theory block", &case, &used, p.pool_used_mean, connections);
    p
}

/// The independent check's case: the fleet-wide rate put on one copy predicted 11.75 % of
/// 503s where the simulation gave 0.54 %. With random routing each of the 8 per-worker
/// copies is its own M/M/c+D queue at 1/8 of the rate, and the block says so.
#[test]
fn the_theory_block_of_several_copies_is_per_copy() {
    let p = theory_block_matches(
        "name: copies\nfleet: {pods: 4, workers_per_pod: 2, routing: random}\n\
         pools: [{name: app, scope: worker, max_size: 4, acquire_timeout: 500ms}]\n\
         request: {hold: {dist: exponential, mean: 1s}}\n\
         workload:\n  - open: {rate: 24/s, process: poisson, until: 3000s}\ntimeline: {bucket: 1h}\n",
        72_000.0 / 8.0,
    );
    assert_eq!((p.copies, p.connections_per_copy, p.arrival_rate_per_copy_per_s), (8, 4, 3.0));
    assert!((p.timed_out_rate - mmc_plus_d(4, 3.0, 1.0, 0.5).p_timeout).abs() < 1e-15);
    // What putting the fleet's 24/s on one copy of 4 would have said: most requests fail.
    assert!(mmc_plus_d(4, 24.0, 1.0, 0.5).p_timeout > 0.8);
}

/// SQLAlchemy's `pool_size=3, max_overflow=2`: 5 connections serve at once (overflow ones
/// are closed when released with nobody waiting and reopened on demand, instantly without a
/// database), so the run is M/M/5+D, not M/M/3+D.
#[test]
fn the_theory_block_counts_overflow_connections() {
    let p = theory_block_matches(
        "name: overflow\npool: {max_size: 3, max_overflow: 2, acquire_timeout: 1s}\n\
         request: {hold: {dist: exponential, mean: 200ms}}\n\
         workload:\n  - open: {rate: 20/s, process: poisson, until: 5000s}\ntimeline: {bucket: 1h}\n",
        100_000.0,
    );
    assert_eq!(p.connections_per_copy, 5);
    assert!(mmc_plus_d(3, 20.0, 0.2, 1.0).p_timeout > 2.0 * p.timed_out_rate);
}

/// Two classes with the same exponential hold, one served before the other: the holds are
/// still one exponential, and with no acquire timeout the order of service does not change
/// how many wait or how long they wait on average (the conservation law of work-conserving
/// disciplines with identical holds), so the block predicts the totals, and they hold.
/// With an acquire timeout, serving by priority lets more waiters run out of time than
/// first come, first served does, and the block says it does not apply.
#[test]
fn the_theory_block_of_priority_classes_predicts_totals_without_a_timeout() {
    let yaml = |timeout: &str| {
        format!(
            "name: prio\npool: {{max_size: 5, acquire_timeout: {timeout}}}\n\
             classes:\n  - {{name: a, share: 50%, priority: high, hold: {{dist: exponential, mean: 500ms}}}}\n\
             \x20 - {{name: b, share: 50%, priority: low, hold: {{dist: exponential, mean: 500ms}}}}\n\
             workload:\n  - open: {{rate: 8/s, process: poisson, until: 5000s}}\ntimeline: {{bucket: 1h}}\n"
        )
    };
    let p = theory_block_matches(&yaml("never"), 40_000.0);
    assert_eq!((p.model, p.connections_per_copy), ("M/M/c", 5));
    assert!((p.acquire_wait_ms_mean / 1000.0 - mmc(5, 8.0, 0.5).unwrap().mean_wait_s).abs() < 1e-12);
    let s = scenario(&yaml("500ms"));
    let Some(poolsim::result::Theory::NotApplicable(why)) = run(&s, 1).theory else { panic!("a prediction") };
    assert!(why.iter().any(|w| w.contains("a high, b low")), "{why:?}");
    // And the run shows why: more 503s than first come, first served would give.
    let fifo = scenario(&yaml("500ms").replace("priority: high, ", "").replace("priority: low, ", ""));
    let (prio, fcfs): (Vec<f64>, Vec<f64>) = (1..=4)
        .map(|seed| (run(&s, seed).summary.requests.timed_out_rate, run(&fifo, seed).summary.requests.timed_out_rate))
        .unzip();
    assert!(mean_se(&prio).0 > 1.1 * mean_se(&fcfs).0, "priority {prio:?} vs first come {fcfs:?}");
}
