//! `sim size`: the smallest value of an integer scenario key (by default the pool's
//! `max_size`) that meets every target on the run's summary figures.
//!
//! Theory first, simulation second:
//!
//! 1. **Theory** ([`theory_smallest`]): for the targets it can predict
//!    (`requests.timed_out_rate`, `acquire_wait_ms.mean`/`p50`/`p95`/`p99`,
//!    `pool_used_mean`), the `M/M/c+D` figures at the pool's peak arrival rate give a
//!    first answer. It is only a starting point: the simulation decides.
//! 2. **Simulation** ([`size`]): each candidate value is simulated with `R`
//!    replications (seeds `seed, seed+1, ...`, the same for every candidate: common
//!    random numbers make neighbouring candidates comparable), and a target is met when
//!    the *mean over the replications* of its figure meets it. From the theory's answer
//!    the search gallops (1, 2, 4... steps) down while candidates pass or up while they
//!    fail, then bisects, so the answer `v` passes and `v - 1` was simulated and failed
//!    (unless `v` is the smallest value allowed).
//!
//! Invariants: the search assumes the figures are monotone in the key (more connections
//! never make things worse); when evaluated points contradict that (noise, or a key
//! that is not monotone), the report says so. Figures are read generically by dotted
//! path from the run's summary, so new summary figures work as targets unchanged.
//! Same file, targets, options and seed give the same report.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::model::SimError;
use crate::output::json::{lookup, summary_value};
use crate::result::RunResult;
use crate::scenario::{self, ScenarioError};
use crate::theory::analysis::{BudgetAnalysis, budget, budget_max_size};
use crate::theory::loads::{Loads, PoolLoad, pool_loads};
use crate::theory::{mmc_plus_d, mmc_plus_d_wait_quantile};

/// A comparison in a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A target on one summary figure, e.g. `requests.timed_out_rate<0.001`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// Dotted path in `summary.json`.
    pub path: String,
    /// The comparison.
    pub op: Op,
    /// The bound.
    pub value: f64,
}

impl Target {
    /// Whether `x` meets the target (a NaN never does).
    pub fn met_by(&self, x: f64) -> bool {
        match self.op {
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
            Op::Gt => x > self.value,
            Op::Ge => x >= self.value,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.path, self.op.as_str(), self.value)
    }
}

impl FromStr for Target {
    type Err = String;

    /// Parses `PATH OP NUMBER` with `OP` one of `<`, `<=`, `>`, `>=` (spaces allowed).
    fn from_str(s: &str) -> Result<Target, String> {
        let at = s.find(['<', '>']).ok_or_else(|| {
            format!("target `{s}` has no comparison; write e.g. `requests.timed_out_rate<0.001` (<, <=, > or >=)")
        })?;
        let path = s[..at].trim();
        let rest = &s[at..];
        let (op, num) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else {
            (Op::Gt, &rest[1..])
        };
        if path.is_empty() || !path.split('.').all(|seg| !seg.is_empty() && !seg.contains(char::is_whitespace)) {
            return Err(format!("target `{s}`: `{path}` is not a dotted summary path like `acquire_wait_ms.p99`"));
        }
        let value: f64 = num.trim().parse().map_err(|_| format!("target `{s}`: `{}` is not a number", num.trim()))?;
        if !value.is_finite() {
            return Err(format!("target `{s}`: the bound must be a finite number"));
        }
        Ok(Target { path: path.to_string(), op, value })
    }
}

/// Why `sim size` could not run.
#[derive(Debug, thiserror::Error)]
pub enum SizeError {
    /// The scenario (or an override of the key) is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A simulation failed.
    #[error("simulating {key} = {value}, seed {seed}")]
    Sim {
        /// The key.
        key: String,
        /// Its value.
        value: u32,
        /// The seed.
        seed: u64,
        /// What went wrong.
        #[source]
        source: SimError,
    },
    /// A target names a figure the summary does not have, or one that is not a number.
    #[error("target `{path}`: {problem}")]
    Figure {
        /// The path.
        path: String,
        /// What is wrong, with the figures that do exist.
        problem: String,
    },
    /// The options make no sense.
    #[error("{0}")]
    Options(String),
}

/// What queueing theory predicts for a target at one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predicted {
    /// The target's path.
    pub path: String,
    /// The predicted figure (`None`: not defined, e.g. infinite).
    pub value: Option<f64>,
}

/// The theory's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TheoryAnswer {
    /// The smallest value meeting every target theory can predict (`None`: none up to
    /// the maximum, or theory predicts no target).
    pub value: Option<u32>,
    /// Where the predictions below are taken: `value`, or the maximum when there is none.
    pub at: u32,
    /// The targets theory predicts, with their predicted figures at `at`.
    pub predicted: Vec<Predicted>,
    /// Targets it cannot predict (left to the simulation).
    pub unpredicted: Vec<String>,
    /// The model and the assumptions it rests on, and which the scenario breaks.
    pub note: String,
}

/// The theory's prediction of a summary figure for `p` resized to `c` connections, or
/// `None` when the path is not one it predicts or the pool has no open-loop traffic.
pub fn theory_figure(path: &str, p: &PoolLoad, size: u32) -> Option<f64> {
    // Overflow connections serve on top of the size being searched for.
    let c = size + p.max_overflow;
    let lambda = p.arrival_rate_per_s;
    let h = p.hold_mean_s;
    if lambda <= 0.0 || h <= 0.0 {
        return None;
    }
    let d = p.acquire_timeout_s.unwrap_or(f64::INFINITY);
    let quantile = |q: f64| Some(mmc_plus_d_wait_quantile(c, lambda, h, d, q) * 1e3);
    match path {
        "requests.timed_out_rate" => Some(mmc_plus_d(c, lambda, h, d).p_timeout),
        "acquire_wait_ms.mean" => Some(mmc_plus_d(c, lambda, h, d).mean_wait_s * 1e3),
        "acquire_wait_ms.p50" => quantile(0.50),
        "acquire_wait_ms.p95" => quantile(0.95),
        "acquire_wait_ms.p99" => quantile(0.99),
        "pool_used_mean" => Some(mmc_plus_d(c, lambda, h, d).utilisation * f64::from(c)),
        _ => None,
    }
}

/// The smallest `c` in `min..=max` meeting every target [`theory_figure`] predicts.
pub fn theory_smallest(p: &PoolLoad, targets: &[Target], min: u32, max: u32) -> TheoryAnswer {
    let probe = min.max(1);
    let (predictable, unpredicted): (Vec<&Target>, Vec<&Target>) =
        targets.iter().partition(|t| theory_figure(&t.path, p, probe).is_some());
    let broken: Vec<&str> = p.broken.iter().map(|b| b.assumption.describe()).collect();
    let mut note = format!(
        "M/M/c+D at the peak arrival rate {:.4}/s and mean hold {:.3} ms, per pool instance",
        p.arrival_rate_per_s,
        p.hold_mean_s * 1e3
    );
    if !broken.is_empty() {
        note.push_str(&format!("; the scenario breaks: {} (a starting point only)", broken.join(", ")));
    }
    let mut value = None;
    if !predictable.is_empty() {
        value = (min.max(1)..=max).find(|&c| {
            predictable.iter().all(|t| theory_figure(&t.path, p, c).is_some_and(|x| !x.is_nan() && t.met_by(x)))
        });
    }
    let at = value.unwrap_or(max.max(1));
    TheoryAnswer {
        value,
        at,
        predicted: predictable
            .iter()
            .map(|t| Predicted { path: t.path.clone(), value: theory_figure(&t.path, p, at).filter(|x| x.is_finite()) })
            .collect(),
        unpredicted: unpredicted.iter().map(|t| t.path.clone()).collect(),
        note: if predictable.is_empty() {
            "theory predicts none of the targets (or the pool has no open-loop traffic)".into()
        } else {
            note
        },
    }
}

/// Options of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeOptions {
    /// The scenario key to size (`pool.max_size`).
    pub key: String,
    /// Replications per candidate value.
    pub replications: u32,
    /// Smallest value to consider.
    pub min: u32,
    /// Largest value to consider.
    pub max: u32,
    /// Seed of the first replication; `None`: the scenario's seed.
    pub seed: Option<u64>,
    /// Replications run in parallel (results do not depend on it).
    pub jobs: usize,
    /// Text appended to the number in the override (`ms` for a duration key), empty for
    /// plain integers.
    pub suffix: String,
}

/// One simulated figure at one candidate value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    /// The target's path.
    pub path: String,
    /// Mean over the replications.
    pub mean: f64,
    /// Standard error of that mean (0 with one replication).
    pub std_error: f64,
    /// Smallest replication value.
    pub min: f64,
    /// Largest replication value.
    pub max: f64,
    /// Whether the mean meets the target.
    pub met: bool,
}

/// One simulated candidate value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The key's value.
    pub value: u32,
    /// One entry per target.
    pub observed: Vec<Observed>,
    /// Whether every target is met.
    pub meets: bool,
}

/// The answer of `sim size`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeReport {
    /// Scenario name.
    pub scenario: String,
    /// The key sized.
    pub key: String,
    /// The targets, as written.
    pub targets: Vec<String>,
    /// The range searched.
    pub range: (u32, u32),
    /// Replications per candidate and their seeds.
    pub replications: u32,
    /// Seeds used for every candidate.
    pub seeds: Vec<u64>,
    /// The theory's answer, when the key is a pool's size.
    pub theory: Option<TheoryAnswer>,
    /// Every simulated candidate, by value.
    pub points: Vec<Point>,
    /// The smallest value meeting every target in simulation; `None`: none up to the maximum.
    pub answer: Option<u32>,
    /// Whether `answer - 1` was simulated and failed (or `answer` is the minimum).
    pub confirmed: bool,
    /// Evaluated points that contradict monotonicity (a pass below a fail), if any.
    pub non_monotone: Vec<u32>,
    /// The connection budget with the answer in place (when the key is a pool's size).
    pub budget: Option<BudgetAnalysis>,
    /// The largest size the database budget allows this pool (every instance at once,
    /// other pools unchanged); `None` without a database limit or a pool-size key.
    pub budget_max: Option<u32>,
    /// Whether the answer fits that budget (`None` when either is unknown).
    pub budget_allows: Option<bool>,
}

/// Finds the smallest value of `opts.key` in `opts.min..=opts.max` whose simulated
/// figures meet every target; see the module docs. `on_point` is called after each
/// candidate is simulated (for progress output).
pub fn size(
    file: &Path,
    targets: &[Target],
    opts: &SizeOptions,
    on_point: &mut dyn FnMut(&Point),
) -> Result<SizeReport, SizeError> {
    if targets.is_empty() {
        return Err(SizeError::Options("give at least one --target".into()));
    }
    if opts.replications == 0 {
        return Err(SizeError::Options("--replications must be at least 1".into()));
    }
    if opts.min > opts.max {
        return Err(SizeError::Options(format!("--min {} is above --max {}", opts.min, opts.max)));
    }
    let base = scenario::load(file)?;
    let seed0 = opts.seed.unwrap_or(base.seed);
    let seeds: Vec<u64> = (0..u64::from(opts.replications)).map(|i| seed0.wrapping_add(i)).collect();
    let loads = pool_loads(&base);
    let pool_index = loads.pools.iter().position(|p| p.size_key.as_deref() == Some(opts.key.as_str()));
    let theory = pool_index.map(|i| theory_smallest(&loads.pools[i], targets, opts.min, opts.max));

    let mut points: Vec<Point> = Vec::new();
    let mut eval = |value: u32, points: &mut Vec<Point>| -> Result<bool, SizeError> {
        if let Some(p) = points.iter().find(|p| p.value == value) {
            return Ok(p.meets);
        }
        let point = simulate_point(file, targets, opts, &seeds, value)?;
        on_point(&point);
        let meets = point.meets;
        points.push(point);
        Ok(meets)
    };

    // Theory's answer; when theory predicts targets but none is met up to the maximum,
    // start at the maximum (one simulation then settles it); without theory, at --min.
    let start = match &theory {
        Some(t) if t.value.is_some() => t.value.unwrap_or(opts.min),
        Some(t) if !t.predicted.is_empty() => opts.max,
        _ => opts.min,
    }
    .clamp(opts.min, opts.max);
    // (lo, hi): lo fails (or is below the range), hi passes.
    let (mut lo, mut hi): (i64, Option<i64>);
    if eval(start, &mut points)? {
        hi = Some(i64::from(start));
        lo = i64::from(opts.min) - 1;
        let mut step = 1_i64;
        loop {
            let next = hi.unwrap_or(0) - step;
            if next < i64::from(opts.min) {
                break;
            }
            if eval(next as u32, &mut points)? {
                hi = Some(next);
                step *= 2;
            } else {
                lo = next;
                break;
            }
        }
    } else {
        lo = i64::from(start);
        hi = None;
        let mut step = 1_i64;
        while lo < i64::from(opts.max) {
            let next = (lo + step).min(i64::from(opts.max));
            if eval(next as u32, &mut points)? {
                hi = Some(next);
                break;
            }
            lo = next;
            step *= 2;
        }
    }
    if let Some(mut h) = hi {
        while h - lo > 1 {
            let mid = lo + (h - lo) / 2;
            if eval(mid as u32, &mut points)? {
                h = mid;
            } else {
                lo = mid;
            }
        }
        hi = Some(h);
    }
    points.sort_by_key(|p| p.value);
    let answer = hi.map(|h| h as u32);
    let confirmed = answer.is_some_and(|a| a == opts.min || points.iter().any(|p| p.value == a - 1 && !p.meets));
    let mut non_monotone = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if p.meets && points[i + 1..].iter().any(|q| !q.meets) {
            non_monotone.push(p.value);
        }
    }
    let budget = match (answer, pool_index) {
        (Some(a), Some(i)) => {
            let mut sized: Loads = loads.clone();
            sized.pools[i].max_size = a;
            Some(budget(&sized.pools, &sized.database))
        }
        _ => None,
    };
    let budget_max = pool_index.and_then(|i| budget_max_size(&loads, i));
    let budget_allows = answer.zip(budget_max).map(|(a, m)| a <= m);
    Ok(SizeReport {
        budget_max,
        budget_allows,
        scenario: base.name.clone(),
        key: opts.key.clone(),
        targets: targets.iter().map(Target::to_string).collect(),
        range: (opts.min, opts.max),
        replications: opts.replications,
        seeds,
        theory,
        points,
        answer,
        confirmed,
        non_monotone,
        budget,
    })
}

/// Simulates one candidate value with every seed and checks the targets.
fn simulate_point(
    file: &Path,
    targets: &[Target],
    opts: &SizeOptions,
    seeds: &[u64],
    value: u32,
) -> Result<Point, SizeError> {
    let s = scenario::load_with_overrides(file, &[(opts.key.clone(), format!("{value}{}", opts.suffix))])?;
    let jobs = opts.jobs.clamp(1, seeds.len().max(1));
    let mut results: Vec<Option<Result<RunResult, SimError>>> = (0..seeds.len()).map(|_| None).collect();
    for (chunk_seeds, chunk_out) in seeds.chunks(jobs).zip(results.chunks_mut(jobs)) {
        std::thread::scope(|scope| {
            for (seed, out) in chunk_seeds.iter().zip(chunk_out.iter_mut()) {
                let s = &s;
                scope.spawn(move || *out = Some(crate::run::simulate(s, *seed)));
            }
        });
    }
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(seeds.len()); targets.len()];
    for (seed, r) in seeds.iter().zip(results) {
        let r = r.expect("every replication ran").map_err(|source| SizeError::Sim {
            key: opts.key.clone(),
            value,
            seed: *seed,
            source,
        })?;
        // Unrounded figures first (summary.json rounds to 3 decimals, too coarse for a
        // 503 rate of 0.1%), then the full summary for anything else (metadata, theory...).
        let raw = serde_json::to_value(&r.summary).unwrap_or(Value::Null);
        let full = summary_value(&r);
        for (t, vs) in targets.iter().zip(values.iter_mut()) {
            let v = lookup(&raw, &t.path).or_else(|| lookup(&full, &t.path));
            vs.push(figure_value(v, &t.path, &full)?);
        }
    }
    let observed: Vec<Observed> = targets
        .iter()
        .zip(values)
        .map(|(t, vs)| {
            let n = vs.len() as f64;
            let mean = vs.iter().sum::<f64>() / n;
            let var = if vs.len() > 1 { vs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
            Observed {
                path: t.path.clone(),
                mean,
                std_error: (var / n).sqrt(),
                min: vs.iter().copied().fold(f64::INFINITY, f64::min),
                max: vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                met: t.met_by(mean),
            }
        })
        .collect();
    let meets = observed.iter().all(|o| o.met);
    Ok(Point { value, observed, meets })
}

/// The number at `v`, or an error naming the figures that exist.
fn figure_value(v: Option<&Value>, path: &str, full: &Value) -> Result<f64, SizeError> {
    match v {
        Some(Value::Number(n)) => {
            n.as_f64().ok_or_else(|| SizeError::Figure { path: path.into(), problem: "is not a finite number".into() })
        }
        // serde_json writes NaN and infinities as null: treat as "not met" by returning NaN.
        Some(Value::Null) => Ok(f64::NAN),
        Some(_) => Err(SizeError::Figure {
            path: path.into(),
            problem: "is a group of figures, not a number; name one of its members".into(),
        }),
        None => Err(SizeError::Figure {
            path: path.into(),
            problem: format!("the summary has no such figure; numeric figures: {}", numeric_paths(full).join(", ")),
        }),
    }
}

/// Every dotted path to a number in a JSON tree, in order.
fn numeric_paths(v: &Value) -> Vec<String> {
    crate::output::json::figure_leaves(v).into_iter().filter(|(_, x)| x.is_number()).map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::validate::from_str;

    #[test]
    fn targets_parse_and_compare() {
        let t: Target = "requests.timed_out_rate<0.001".parse().unwrap();
        assert_eq!((t.path.as_str(), t.op, t.value), ("requests.timed_out_rate", Op::Lt, 0.001));
        assert!(t.met_by(0.0009) && !t.met_by(0.001) && !t.met_by(f64::NAN));
        let t: Target = " acquire_wait_ms.p99 <= 100 ".parse().unwrap();
        assert_eq!((t.op, t.value), (Op::Le, 100.0));
        assert!(t.met_by(100.0));
        assert_eq!("x>=2".parse::<Target>().unwrap().op, Op::Ge);
        assert_eq!("x>2".parse::<Target>().unwrap().op, Op::Gt);
        assert_eq!("a.b<=1e-3".parse::<Target>().unwrap().to_string(), "a.b<=0.001");
        for bad in ["nothing", "<1", "a..b<1", "a<", "a<x", "a<inf", "a b<1"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    fn load(yaml: &str) -> PoolLoad {
        pool_loads(&from_str(yaml, "t.yaml", None, &[]).unwrap()).pools.remove(0)
    }

    /// Textbook sizing: 80 erlangs of Poisson traffic, exponential holds. With a zero
    /// timeout the 503 rate is Erlang B, and published tables give 1% blocking at
    /// 80 E for 96 lines (B(96, 80) = 0.0094, B(95, 80) = 0.0114).
    #[test]
    fn theory_answer_matches_erlang_b_tables() {
        let p = load(
            "name: t\npool: {max_size: 10, acquire_timeout: 0s}\nrequest: {hold: {dist: exponential, mean: 1s}}\nworkload:\n  - open: {rate: 80/s, process: poisson, until: 1h}\n",
        );
        let targets = vec!["requests.timed_out_rate<0.01".parse().unwrap(), "latency_ms.p99<5000".parse().unwrap()];
        let a = theory_smallest(&p, &targets, 1, 500);
        assert_eq!(a.value, Some(96));
        assert_eq!(a.unpredicted, vec!["latency_ms.p99".to_string()]);
        assert!((a.predicted[0].value.unwrap() - crate::theory::erlang_b(96, 80.0)).abs() < 1e-15);
        // Out of range: no answer.
        assert_eq!(theory_smallest(&p, &targets, 1, 95).value, None);
    }

    /// With no timeout, a p99-wait target is the M/M/c tail: C(c, a) e^{-(c - a) t / h} <= 1%.
    #[test]
    fn theory_answer_for_a_wait_percentile() {
        let p = load(
            "name: t\npool: {max_size: 1, acquire_timeout: never}\nrequest: {hold: {dist: exponential, mean: 100ms}}\nworkload:\n  - open: {rate: 45/s, process: poisson, until: 1h}\n",
        );
        let target: Target = "acquire_wait_ms.p99<50".parse().unwrap();
        let c = theory_smallest(&p, std::slice::from_ref(&target), 1, 100).value.unwrap();
        let p99 = |c: u32| crate::theory::mmc_wait_exceeds(c, 45.0, 0.1, 0.05).unwrap();
        assert!(p99(c) <= 0.01 && p99(c - 1) > 0.01, "c = {c}");
    }

    #[test]
    fn no_open_traffic_means_no_theory() {
        let p = load("name: t\npool: {max_size: 5}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 50}\n");
        let a = theory_smallest(&p, &["requests.timed_out_rate<0.01".parse().unwrap()], 1, 100);
        assert_eq!(a.value, None);
        assert!(a.predicted.is_empty());
    }

    #[test]
    fn numeric_paths_lists_leaves() {
        let v = serde_json::json!({"a": 1, "b": {"c": 2.5, "d": "x"}, "e": null});
        assert_eq!(numeric_paths(&v), vec!["a".to_string(), "b.c".to_string()]);
    }
}
