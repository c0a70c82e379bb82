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
