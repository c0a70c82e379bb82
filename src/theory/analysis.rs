//! Capacity math and queueing theory for every pool of a scenario (`sim analyze`).
//!
//! Two layers, so that the scenario format can change without touching the math:
//!
//! 1. [`pool_loads`](super::loads::pool_loads) (in `loads.rs`), the **only** function of `theory` that reads a
//!    [`Scenario`](crate::scenario::Scenario): one [`PoolLoad`] per pool plus a
//!    [`DatabaseBudget`], and the assumptions of the formulas the scenario breaks.
//! 2. [`analyze`] and everything below it, here, work on [`Loads`] only: offered load,
//!    capacity, Erlang B and C, `M/M/c+D`, the Allen–Cunneen correction, closed-loop
//!    and burst arithmetic, and the connection budget against the database.
//!
//! Invariants: every [`Figure`] names the assumptions it rests on ([`Assumption`] ids)
//! and says whether the scenario keeps all of them (`holds`); figures are computed per
//! pool *instance* (one worker's or one pod's copy of the pool), with the instance's
//! share of the traffic; nothing here simulates, reads files or prints.

use serde::Serialize;

use super::loads::{ArrivalKind, Assumption, Broken, DatabaseBudget, Loads, PoolLoad};
use super::{erlang_b, fmt_secs, mmc, mmc_plus_d, mmc_plus_d_wait_quantile};

/// One figure of the analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// Stable identifier (JSON key), e.g. `erlang_c.p_wait`.
    pub id: &'static str,
    /// What it is, for people.
    pub label: String,
    /// The value; `None` when it does not exist (e.g. no steady state).
    pub value: Option<f64>,
    /// Unit of `value`.
    pub unit: &'static str,
    /// The model or rule it comes from.
    pub model: &'static str,
    /// Assumptions it rests on.
    pub rests_on: Vec<Assumption>,
    /// Whether the scenario keeps every assumption in `rests_on`.
    pub holds: bool,
    /// A remark (why there is no value, how to read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The analysis of one pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolAnalysis {
    /// The pool's inputs.
    pub load: PoolLoad,
    /// The figures, in reading order.
    pub figures: Vec<Figure>,
}

/// The connection budget against the database limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetAnalysis {
    /// Budget figures (total connections, the floor formula, HikariCP's rule).
    pub figures: Vec<Figure>,
    /// `Some(true)` when every pool instance can open all its connections at once.
    pub fits: Option<bool>,
    /// Plain-language verdicts.
    pub verdicts: Vec<String>,
}

/// The whole report of `sim analyze`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Scenario name.
    pub scenario: String,
    /// One entry per pool.
    pub pools: Vec<PoolAnalysis>,
    /// The database budget.
    pub budget: BudgetAnalysis,
    /// Scenario-wide broken assumptions.
    pub broken: Vec<Broken>,
}

// ------------------------------------------------------------------------ the math

/// The assumptions of the open-loop queueing models for this pool.
pub(super) const QUEUE_ASSUMPTIONS: [Assumption; 10] = [
    Assumption::PoissonArrivals,
    Assumption::OpenLoop,
    Assumption::SteadyState,
    Assumption::ExponentialHolds,
    Assumption::UncutHolds,
    Assumption::DatabaseAcceptsAll,
    Assumption::InstantConnections,
    Assumption::LoadIndependentHolds,
    Assumption::FifoWaiters,
    Assumption::DirectConnections,
];

/// What every figure built on the mean hold and the pool's connections rests on, whatever
/// the arrivals: holds as drawn, and the connections there when asked for.
const SERVICE_ASSUMPTIONS: [Assumption; 3] =
    [Assumption::UncutHolds, Assumption::DatabaseAcceptsAll, Assumption::LoadIndependentHolds];

/// Figure builder: `holds` is filled in from the broken list.
struct Figures {
    broken: Vec<Assumption>,
    out: Vec<Figure>,
}

impl Figures {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: &'static str,
        label: impl Into<String>,
        value: Option<f64>,
        unit: &'static str,
        model: &'static str,
        rests_on: &[Assumption],
        note: Option<String>,
    ) {
        let holds = rests_on.iter().all(|a| !self.broken.contains(a));
        self.push_holds(id, label, value, unit, model, rests_on, note, holds);
    }

    /// Like `push`, with `holds` decided by the caller (for per-source assumptions).
    #[allow(clippy::too_many_arguments)]
    fn push_holds(
        &mut self,
        id: &'static str,
        label: impl Into<String>,
        value: Option<f64>,
        unit: &'static str,
        model: &'static str,
        rests_on: &[Assumption],
        note: Option<String>,
        holds: bool,
    ) {
        self.out.push(Figure {
            id,
            label: label.into(),
            value: value.filter(|v| !v.is_nan()),
            unit,
            model,
            rests_on: rests_on.to_vec(),
            holds,
            note,
        });
    }
}

/// Analyses every pool and the database budget.
pub fn analyze(loads: &Loads) -> Analysis {
    let scenario_broken: Vec<Assumption> = loads.broken.iter().map(|b| b.assumption).collect();
    let pools = loads
        .pools
        .iter()
        .map(|p| {
            let mut broken: Vec<Assumption> = p.broken.iter().map(|b| b.assumption).collect();
            broken.extend(&scenario_broken);
            PoolAnalysis { load: p.clone(), figures: pool_figures(p, broken) }
        })
        .collect();
    Analysis {
        scenario: loads.scenario.clone(),
        pools,
        budget: budget(&loads.pools, &loads.database),
        broken: loads.broken.clone(),
    }
}

/// The figures of one pool instance.
fn pool_figures(p: &PoolLoad, broken: Vec<Assumption>) -> Vec<Figure> {
    let mut f = Figures { broken, out: Vec::new() };
    // Overflow connections serve like the others while they are open.
    let c = p.max_size + p.max_overflow;
    let cf = f64::from(c);
    let size = if p.max_overflow > 0 { "(max_size + max_overflow)" } else { "max_size" };
    let h = p.hold_mean_s;
    let lambda = p.arrival_rate_per_s;
    let a = lambda * h;
    let mut on_load = vec![Assumption::UncutHolds];
    if p.instances > 1 {
        on_load.push(Assumption::EvenRouting);
    }
    let on_load = on_load.as_slice();
    let has_open = lambda > 0.0;

    if h > 0.0 {
        f.push(
            "capacity_per_s",
            format!("capacity: {size} / mean hold"),
            Some(cf / h),
            "req/s",
            "the lab's rule",
            &SERVICE_ASSUMPTIONS,
            None,
        );
    }
    if has_open {
        f.push(
            "offered_load_erlangs",
            "offered load: arrival rate x mean hold",
            Some(a),
            "erlangs",
            "Little's law",
            on_load,
            None,
        );
        let note = if a > cf {
            Some(format!(
                "overloaded: at least {:.1}% of requests cannot be served (1 - {size} / offered load)",
                (1.0 - cf / a) * 100.0
            ))
        } else if a == cf {
            Some("at capacity: without a timeout the queue has no steady state".into())
        } else {
            None
        };
        f.push(
            "utilisation",
            format!("utilisation: offered load / {size}"),
            Some(a / cf),
            "",
            "Little's law",
            on_load,
            note,
        );

        let mut on = QUEUE_ASSUMPTIONS.to_vec();
        on.extend(on_load);
        on.sort();
        on.dedup();
        // Erlang C: no timeout.
        match mmc(c, lambda, h) {
            Some(m) => {
                f.push(
                    "erlang_c.p_wait",
                    "P(wait) without a timeout",
                    Some(m.p_wait),
                    "",
                    "M/M/c (Erlang C)",
                    &on,
                    None,
                );
                f.push(
                    "erlang_c.mean_wait_ms",
                    "mean acquire wait without a timeout",
                    Some(m.mean_wait_s * 1e3),
                    "ms",
                    "M/M/c (Erlang C)",
                    &on,
                    None,
                );
                let p99 = mmc_plus_d_wait_quantile(c, lambda, h, f64::INFINITY, 0.99);
                f.push(
                    "erlang_c.p99_wait_ms",
                    "p99 acquire wait without a timeout",
                    Some(p99 * 1e3),
                    "ms",
                    "M/M/c (Erlang C)",
                    &on,
                    None,
                );
            }
            None => f.push(
                "erlang_c.p_wait",
                "P(wait) without a timeout",
                None,
                "",
                "M/M/c (Erlang C)",
                &on,
                Some(format!("no steady state: offered load >= {size}, the queue grows without bound")),
            ),
        }
        // Erlang B: insensitive to the hold distribution (only its mean matters).
        let mut on_b = vec![
            Assumption::PoissonArrivals,
            Assumption::OpenLoop,
            Assumption::SteadyState,
            Assumption::InstantConnections,
        ];
        on_b.extend(SERVICE_ASSUMPTIONS);
        on_b.extend(on_load);
        on_b.sort();
        on_b.dedup();
        f.push(
            "erlang_b.p_blocked",
            "P(503) with a zero acquire timeout",
            Some(erlang_b(c, a)),
            "",
            "M/M/c/c (Erlang B)",
            &on_b,
            Some("any hold distribution with this mean gives the same value".into()),
        );
        // M/M/c+D with the pool's timeout.
        if let Some(d) = p.acquire_timeout_s {
            let m = mmc_plus_d(c, lambda, h, d);
            let label = format!("with the {} acquire timeout", fmt_secs(d));
            f.push("mmc_d.p_wait", format!("P(wait) {label}"), Some(m.p_wait), "", "M/M/c+D", &on, None);
            f.push("mmc_d.p_timeout", format!("P(503) {label}"), Some(m.p_timeout), "", "M/M/c+D", &on, None);
            f.push(
                "mmc_d.mean_wait_ms",
                format!("mean acquire wait {label}"),
                Some(m.mean_wait_s * 1e3),
                "ms",
                "M/M/c+D",
                &on,
                Some("503s count their full timeout".into()),
            );
            f.push(
                "mmc_d.mean_wait_served_ms",
                format!("mean wait of served requests {label}"),
                Some(m.mean_wait_served_s * 1e3),
                "ms",
                "M/M/c+D",
                &on,
                None,
            );
            let p99 = mmc_plus_d_wait_quantile(c, lambda, h, d, 0.99);
            f.push(
                "mmc_d.p99_wait_ms",
                format!("p99 acquire wait {label}"),
                Some(p99 * 1e3),
                "ms",
                "M/M/c+D",
                &on,
                None,
            );
            f.push(
                "mmc_d.throughput_per_s",
                format!("served requests {label}"),
                Some(m.throughput),
                "req/s",
                "M/M/c+D",
                &on,
                None,
            );
        }
        // Allen-Cunneen: when the holds or the arrivals are not exponential.
        let ca2 = if p.arrival_kinds.iter().all(|k| *k == ArrivalKind::Constant) { 0.0 } else { 1.0 };
        let cs2 = p.hold_cv * p.hold_cv;
        if (ca2 != 1.0 || (cs2 - 1.0).abs() > 1e-9)
            && let Some(m) = mmc(c, lambda, h)
        {
            let mut on_ac = vec![Assumption::OpenLoop, Assumption::SteadyState, Assumption::InstantConnections];
            on_ac.extend(SERVICE_ASSUMPTIONS);
            on_ac.extend(on_load);
            on_ac.sort();
            on_ac.dedup();
            f.push(
                "allen_cunneen.mean_wait_ms",
                format!("mean acquire wait without a timeout, for this hold cv ({:.2})", p.hold_cv),
                Some(m.mean_wait_s * (ca2 + cs2) / 2.0 * 1e3),
                "ms",
                "Allen-Cunneen (M/M/c x (ca^2 + cs^2) / 2)",
                &on_ac,
                Some("an approximation; exact for one connection and Poisson arrivals (Pollaczek-Khinchine)".into()),
            );
        }
    }
    // Closed loop: the asymptotic (mean-value) bounds.
    for (i, cl) in p.closed.iter().enumerate() {
        let cycle = h + p.overhead_mean_s + cl.think_mean_s;
        let x = (cl.users / cycle).min(cf / h);
        let saturated = cl.users / cycle > cf / h;
        let wait = if saturated { cl.users * h / cf - cycle } else { 0.0 };
        let on = [Assumption::SteadyState, SERVICE_ASSUMPTIONS[0], SERVICE_ASSUMPTIONS[1], SERVICE_ASSUMPTIONS[2]];
        let label =
            if p.closed.len() > 1 { format!(" (users source {}, alone on the pool)", i + 1) } else { String::new() };
        let who = if cl.users == 1.0 { "1 user".to_string() } else { format!("{:.0} users", cl.users) };
        f.push(
            "closed_loop.throughput_per_s",
            format!("{who}: throughput min(users / cycle, capacity){label}"),
            Some(x),
            "req/s",
            "closed-loop bound",
            &on,
            Some(format!("cycle without waiting: hold + overhead + think = {}", fmt_secs(cycle))),
        );
        f.push(
            "closed_loop.mean_wait_ms",
            format!("{who}: mean acquire wait users x hold / {size} - cycle{label}"),
            Some(wait * 1e3),
            "ms",
            "closed-loop bound",
            &on,
            None,
        );
    }
    // The users at which the mean wait reaches the timeout: N h / c - cycle >= D. A wait
    // of exactly D times out (the simulator's tie rule), hence ceil, not floor + 1.
    if let (Some(d), Some(think)) =
        (p.acquire_timeout_s, p.closed.iter().map(|cl| cl.think_mean_s).min_by(f64::total_cmp))
    {
        let cycle = h + p.overhead_mean_s + think;
        let users = (cf * (d + cycle) / h * (1.0 - 1e-12)).ceil();
        f.push(
            "closed_loop.users_for_503",
            format!("users at which the mean wait reaches the {} timeout", fmt_secs(d)),
            Some(users),
            "users",
            "closed-loop bound",
            &[Assumption::SteadyState, SERVICE_ASSUMPTIONS[0], SERVICE_ASSUMPTIONS[1], SERVICE_ASSUMPTIONS[2]],
            Some(format!("ceil({size} x (timeout + cycle) / hold); with random holds 503s start with fewer users")),
        );
    }
    // Bursts: batches of max_size, one hold apart.
    for (i, b) in p.bursts.iter().enumerate() {
        let batches = (b.count / cf).ceil();
        let on = [
            Assumption::ConstantHolds,
            Assumption::IdleBeforeBurst,
            SERVICE_ASSUMPTIONS[0],
            SERVICE_ASSUMPTIONS[1],
            SERVICE_ASSUMPTIONS[2],
        ];
        let holds = !b.competing
            && [Assumption::ConstantHolds, SERVICE_ASSUMPTIONS[0], SERVICE_ASSUMPTIONS[1], SERVICE_ASSUMPTIONS[2]]
                .iter()
                .all(|a| !f.broken.contains(a));
        let label =
            if p.bursts.len() > 1 { format!(" (burst {} at {})", i + 1, fmt_secs(b.at_s)) } else { String::new() };
        f.push_holds(
            "burst.last_wait_ms",
            format!("{:.0} at once: wait of the last, (ceil(n / {size}) - 1) x hold{label}", b.count),
            Some((batches - 1.0).max(0.0) * h * 1e3),
            "ms",
            "burst arithmetic",
            &on,
            None,
            holds,
        );
        if let Some(d) = p.acquire_timeout_s {
            let served_batches = if d > 0.0 { (d / h).ceil() } else { 1.0 };
            let timed_out = (b.count - cf * served_batches).max(0.0);
            f.push_holds(
                "burst.timed_out",
                format!("{:.0} at once: 503s, n - {size} x ceil(timeout / hold){label}", b.count),
                Some(timed_out),
                "requests",
                "burst arithmetic",
                &on,
                None,
                holds,
            );
        }
    }
    f.out
}

/// The connection budget: total connections against the database limit, the write-up's
/// floor formula and HikariCP's rule.
pub fn budget(pools: &[PoolLoad], db: &DatabaseBudget) -> BudgetAnalysis {
    let mut out = Vec::new();
    let mut verdicts = Vec::new();
    let total: u64 = pools.iter().map(|p| u64::from(p.instances) * u64::from(p.max_size + p.max_overflow)).sum();
    let fig = |id, label: String, value: f64, unit, model, note: Option<String>| Figure {
        id,
        label,
        value: Some(value),
        unit,
        model,
        rests_on: vec![],
        holds: true,
        note,
    };
    out.push(fig(
        "connections.total",
        "connections all pool instances may open: sum of instances x (max_size + max_overflow)".into(),
        total as f64,
        "connections",
        "pool settings",
        None,
    ));
    let workers = u64::from(db.pods.unwrap_or(1)) * u64::from(db.workers_per_pod.unwrap_or(1));
    let mut fits = None;
    match db.max_connections {
        Some(max) => {
            let reserved = db.reserved_connections.unwrap_or(0);
            let usable = u64::from(max.saturating_sub(reserved));
            out.push(fig(
                "database.usable_connections",
                "database connections for applications: max_connections - reserved".into(),
                usable as f64,
                "connections",
                "database settings",
                None,
            ));
            let floor = u64::from(max) / workers.max(1);
            out.push(fig(
                "database.floor_per_worker",
                format!(
                    "largest per-worker pool: floor(max_connections / (pods x workers)) = floor({max} / {workers})"
                ),
                floor as f64,
                "connections",
                "the write-up's floor formula",
                (reserved > 0).then(|| format!("{} after the reserved connections", usable / workers.max(1))),
            ));
            let ok = total <= usable;
            fits = Some(ok);
            verdicts.push(if ok {
                format!("the pools may open {total} connections at once; the database accepts {usable}: fits")
            } else {
                format!(
                    "the pools may open {total} connections at once but the database accepts {usable}: under load, \
                     {} connection attempts are refused",
                    total - usable
                )
            });
        }
        None => verdicts.push("the scenario sets no database connection limit: the budget is not checked".into()),
    }
    if let Some(cores) = db.cores {
        let spindles = db.spindles.unwrap_or(0);
        let rule = u64::from(cores) * 2 + u64::from(spindles);
        out.push(fig(
            "hikari.connections",
            format!("HikariCP's rule: cores x 2 + spindles = {cores} x 2 + {spindles}"),
            rule as f64,
            "connections",
            "HikariCP 'About Pool Sizing'",
            (db.spindles.is_none()).then(|| "spindles unknown: taken as 0 (a cached working set)".into()),
        ));
        verdicts.push(format!(
            "HikariCP's rule sizes the connections the database runs at once, fleet-wide: {rule}; the pools may \
             open {total}{}",
            if total > rule { ", so the database will run more at once than it has cores to serve" } else { "" }
        ));
    }
    BudgetAnalysis { figures: out, fits, verdicts }
}

/// The largest `max_size` pool `index` may have, with every other pool unchanged, so that
/// every instance of every pool can open all its connections within the database's usable
/// connections (`max_connections - reserved_connections`); `None` without a database limit.
pub fn budget_max_size(loads: &Loads, index: usize) -> Option<u32> {
    let max = loads.database.max_connections?;
    let usable = u64::from(max.saturating_sub(loads.database.reserved_connections.unwrap_or(0)));
    let others: u64 = loads
        .pools
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, p)| u64::from(p.instances) * u64::from(p.max_size + p.max_overflow))
        .sum();
    let pool = loads.pools.get(index)?;
    let per_instance = usable.saturating_sub(others) / u64::from(pool.instances.max(1));
    // Its own overflow connections come on top of the size.
    Some(u32::try_from(per_instance.saturating_sub(u64::from(pool.max_overflow))).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::scenario::validate::from_str;
    use crate::theory::loads::pool_loads;
    use crate::theory::{erlang_c, mmc_plus_d};

    fn scenario(yaml: &str) -> Scenario {
        from_str(yaml, "t.yaml", None, &[]).unwrap()
    }

    fn value(a: &PoolAnalysis, id: &str) -> Option<f64> {
        a.figures.iter().find(|f| f.id == id).and_then(|f| f.value)
    }

    fn figure<'a>(a: &'a PoolAnalysis, id: &str) -> &'a Figure {
        a.figures.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no figure {id}"))
    }

    const MM: &str = "name: t\npool: {max_size: 10, acquire_timeout: 2s}\nrequest: {hold: {dist: exponential, mean: 100ms}}\nworkload:\n  - open: {rate: 80/s, process: poisson, until: 1h}\n";

    #[test]
    fn poisson_exponential_pool_keeps_every_assumption() {
        let loads = pool_loads(&scenario(MM));
        let p = &loads.pools[0];
        assert_eq!((p.max_size, p.instances), (10, 1));
        assert_eq!(p.arrival_kinds, vec![ArrivalKind::Poisson]);
        assert!((p.hold_cv - 1.0).abs() < 1e-12 && (p.arrival_rate_per_s - 80.0).abs() < 1e-9);
        assert!(p.broken.is_empty() && loads.broken.is_empty(), "{:?}", p.broken);
        let a = analyze(&loads);
        let pa = &a.pools[0];
        assert!(pa.figures.iter().all(|f| f.holds));
        assert!((value(pa, "offered_load_erlangs").unwrap() - 8.0).abs() < 1e-9);
        assert!((value(pa, "capacity_per_s").unwrap() - 100.0).abs() < 1e-9);
        assert_eq!(value(pa, "erlang_c.p_wait").unwrap(), erlang_c(10, 8.0));
        assert_eq!(value(pa, "erlang_b.p_blocked").unwrap(), erlang_b(10, 8.0));
        assert_eq!(value(pa, "mmc_d.p_timeout").unwrap(), mmc_plus_d(10, 80.0, 0.1, 2.0).p_timeout);
        assert!(value(pa, "allen_cunneen.mean_wait_ms").is_none(), "no correction for M/M/c");
        // Erlang C(10, 8) = 0.409 (published tables); W = C / (c mu - lambda) = 0.409 / 20 s.
        assert!((value(pa, "erlang_c.mean_wait_ms").unwrap() - erlang_c(10, 8.0) / 20.0 * 1e3).abs() < 1e-9);
        assert_eq!(a.budget.fits, None);
    }

    #[test]
    fn constant_holds_and_bursts_are_flagged_and_computed() {
        // Lab 04 exercise 3 with 1.2 s holds: 50 at once, pool 5, timeout 10 s: 5 time out.
        let yaml = "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1200ms}\nworkload:\n  - burst: {count: 50}\n";
        let a = analyze(&pool_loads(&scenario(yaml)));
        let pa = &a.pools[0];
        assert_eq!(value(pa, "burst.timed_out"), Some(5.0));
        assert!((value(pa, "burst.last_wait_ms").unwrap() - 10_800.0).abs() < 1e-6);
        assert!(figure(pa, "burst.timed_out").holds);
        let kinds: Vec<Assumption> = pa.load.broken.iter().map(|b| b.assumption).collect();
        assert!(kinds.contains(&Assumption::SteadyState) && kinds.contains(&Assumption::ExponentialHolds));
        assert!(value(pa, "erlang_c.p_wait").is_none(), "no open traffic, no queueing figures");
        // With 1 s holds: ceil(10 / 1) = 10 batches served, nobody times out.
        let yaml = yaml.replace("1200ms", "1s");
        let pa = &analyze(&pool_loads(&scenario(&yaml))).pools[0];
        assert_eq!(value(pa, "burst.timed_out"), Some(0.0));
    }

    #[test]
    fn closed_loop_bound_reproduces_the_lab() {
        // 50 users, pool 5, 1 s hold, 100 ms overhead, no think: 5/s, wait 50/5 - 1.1 = 8.9 s.
        let yaml = "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s, overhead: 100ms}\nworkload:\n  - users: {stages: [{duration: 10s, target: 50}, {duration: 1m, target: 50}]}\n";
        let pa = &analyze(&pool_loads(&scenario(yaml))).pools[0];
        assert!((value(pa, "closed_loop.throughput_per_s").unwrap() - 5.0).abs() < 1e-9);
        assert!((value(pa, "closed_loop.mean_wait_ms").unwrap() - 8900.0).abs() < 1e-6);
        // 5 x (10 + 1.1) / 1 = 55.5: the 56th user pushes the mean wait past 10 s.
        assert_eq!(value(pa, "closed_loop.users_for_503"), Some(56.0));
        // With 900 ms of overhead the bound is exactly 5 x (10 + 2) = 60 users: a wait of
        // exactly the timeout is a 503.
        let yaml = yaml.replace("overhead: 100ms", "overhead: 900ms");
        let pa = &analyze(&pool_loads(&scenario(&yaml))).pools[0];
        assert_eq!(value(pa, "closed_loop.users_for_503"), Some(60.0));
        assert!(pa.load.broken.iter().any(|b| b.assumption == Assumption::OpenLoop));
        assert!(figure(pa, "closed_loop.mean_wait_ms").holds);
    }

    #[test]
    fn non_exponential_holds_get_allen_cunneen_and_keep_erlang_b() {
        let yaml = MM.replace("{dist: exponential, mean: 100ms}", "{dist: uniform, min: 50ms, max: 150ms}");
        let pa = &analyze(&pool_loads(&scenario(&yaml))).pools[0];
        let cv = (0.1_f64.powi(2) / 12.0).sqrt() / 0.1;
        assert!((pa.load.hold_cv - cv).abs() < 1e-12);
        assert!(figure(pa, "erlang_b.p_blocked").holds, "Erlang B is insensitive to the hold distribution");
        assert!(!figure(pa, "erlang_c.p_wait").holds);
        let ac = value(pa, "allen_cunneen.mean_wait_ms").unwrap();
        let mmc_w = value(pa, "erlang_c.mean_wait_ms").unwrap();
        assert!((ac - mmc_w * (1.0 + cv * cv) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn overload_without_timeout_has_no_steady_state() {
        let yaml = MM.replace("acquire_timeout: 2s", "acquire_timeout: never").replace("80/s", "120/s");
        let pa = &analyze(&pool_loads(&scenario(&yaml))).pools[0];
        assert!(value(pa, "utilisation").unwrap() > 1.0);
        let f = figure(pa, "erlang_c.p_wait");
        assert!(f.value.is_none() && f.note.as_deref().unwrap().contains("no steady state"));
        assert!(pa.figures.iter().all(|f| !f.id.starts_with("mmc_d.")));
    }

    #[test]
    fn timed_changes_and_ramps_break_the_steady_state() {
        let yaml = "name: t\npool: {max_size: 10}\nrequest: {hold: {dist: exponential, mean: 100ms}}\nworkload:\n  - open: {start_rate: 10/s, stages: [{duration: 1m, target: 90/s}], until: 5m}\nevents:\n  - {at: 1m, set: {pool.max_size: 20}}\n";
        let loads = pool_loads(&scenario(yaml));
        assert_eq!(loads.broken.len(), 1);
        assert!(loads.broken[0].message.contains("pool size"));
        let p = &loads.pools[0];
        assert_eq!(p.arrival_kinds, vec![ArrivalKind::TimeVarying]);
        assert!((p.arrival_rate_per_s - 90.0).abs() < 1e-9, "peak rate");
        assert!(p.arrival_rate_mean_per_s < 90.0);
        let pa = &analyze(&loads).pools[0];
        assert!(!figure(pa, "mmc_d.p_timeout").holds);
    }

    /// The incident: 20 pods x 4 workers, a pool of 10 per worker, a 500-connection
    /// database: 800 connections wanted, floor(500 / 80) = 6 per worker.
    #[test]
    fn incident_budget() {
        let mut loads = pool_loads(&scenario(MM));
        loads.pools[0].instances = 80;
        loads.database = DatabaseBudget {
            max_connections: Some(500),
            reserved_connections: Some(3),
            cores: Some(16),
            spindles: None,
            pods: Some(20),
            workers_per_pod: Some(4),
        };
        let b = analyze(&loads).budget;
        let get = |id: &str| b.figures.iter().find(|f| f.id == id).and_then(|f| f.value);
        assert_eq!(get("connections.total"), Some(800.0));
        assert_eq!(get("database.floor_per_worker"), Some(6.0));
        assert_eq!(get("database.usable_connections"), Some(497.0));
        assert_eq!(get("hikari.connections"), Some(32.0));
        assert_eq!(b.fits, Some(false));
        assert!(b.verdicts[0].contains("303 connection attempts are refused"), "{:?}", b.verdicts);
        // floor(497 / 80) = 6 connections per worker pool; with a per-pod job pool of 10
        // (20 instances, 200 connections) only floor(297 / 80) = 3 are left.
        assert_eq!(budget_max_size(&loads, 0), Some(6));
        let mut job = loads.pools[0].clone();
        job.instances = 20;
        loads.pools.push(job);
        assert_eq!(budget_max_size(&loads, 0), Some(3));
        loads.database.max_connections = None;
        assert_eq!(budget_max_size(&loads, 0), None);
    }

    /// What a scenario does that the formulas leave out is flagged: a statement timeout
    /// cuts holds, retries make arrivals depend on responses, round robin over copies is
    /// not Poisson, a database that refuses or shares its cores; overflow is counted in `c`.
    #[test]
    fn statement_timeouts_retries_routing_and_the_database_are_flagged_and_overflow_counted() {
        let base = "name: t\npool: {max_size: 4, max_overflow: 2, acquire_timeout: 1s}\n\
                    classes: [{name: q, hold: {dist: exponential, mean: 100ms}, statement_timeout: 200ms}]\n\
                    client: {timeout: 3s, retries: 1}\nworkload:\n  - open: {rate: 30/s, until: 1h}\n";
        let loads = pool_loads(&from_str(base, "t.yaml", None, &[]).unwrap());
        let p = &loads.pools[0];
        assert_eq!((p.max_size, p.max_overflow), (4, 2));
        assert_eq!(p.broken.iter().map(|b| b.assumption).collect::<Vec<_>>(), [Assumption::UncutHolds]);
        // e^{-2} of exponential holds of mean 100 ms run past 200 ms.
        assert!(p.broken[0].message.contains("13.534 %"), "{}", p.broken[0].message);
        assert_eq!(loads.broken.iter().map(|b| b.assumption).collect::<Vec<_>>(), [Assumption::OpenLoop]);
        let a = analyze(&loads);
        let fig = |id: &str| a.pools[0].figures.iter().find(|f| f.id == id).unwrap().clone();
        // c = 4 + 2 in every formula, and every queueing figure is marked.
        assert_eq!(fig("capacity_per_s").value, Some(60.0));
        assert_eq!(fig("mmc_d.p_timeout").value, Some(mmc_plus_d(6, 30.0, 0.1, 1.0).p_timeout));
        assert!(a.pools[0].figures.iter().all(|f| !f.holds), "{:#?}", a.pools[0].figures);
        assert_eq!(budget(&loads.pools, &loads.database).figures[0].value, Some(6.0));

        let fleet = "name: t\ndatabase: {max_connections: 10, reserved_connections: 0, cores: 2, connect_time: 5ms}\n\
                     fleet: {pods: 2, workers_per_pod: 2}\n\
                     pools: [{name: app, scope: worker, max_size: 3, max_overflow: 1, acquire_timeout: 1s}]\n\
                     request: {hold: {dist: exponential, mean: 100ms}}\nworkload:\n  - open: {rate: 30/s, until: 1h}\n";
        let loads = pool_loads(&from_str(fleet, "t.yaml", None, &[]).unwrap());
        let kinds: Vec<Assumption> = loads.pools[0].broken.iter().map(|b| b.assumption).collect();
        assert_eq!(
            kinds,
            [
                Assumption::PoissonArrivals,
                Assumption::DatabaseAcceptsAll,
                Assumption::InstantConnections,
                Assumption::LoadIndependentHolds
            ]
        );
        assert!(loads.pools[0].broken[0].message.contains("Erlang-4"));
        assert!(loads.pools[0].broken[1].message.contains("16 connections but the database accepts 10"));
        // Every copy at max_size + max_overflow fits 10 only at 1 + 1: the largest size is 1.
        assert_eq!(budget_max_size(&loads, 0), Some(1));
    }

    /// Library behaviours the formulas leave out are flagged: a woken waiter that can be
    /// overtaken (SQLAlchemy, HikariCP), opens one at a time, and a pooler in front of
    /// the database; a plain pool of the same size keeps every assumption.
    #[test]
    fn presets_that_break_the_model_and_a_pooler_are_flagged() {
        let plain = "name: t\npool: {max_size: 4, acquire_timeout: 1s}\nrequest: {hold: {dist: exponential, mean: 100ms}}\n\
                     workload:\n  - open: {rate: 30/s, until: 1h}\n";
        let kinds = |yaml: &str| -> Vec<Assumption> {
            pool_loads(&from_str(yaml, "t.yaml", None, &[]).unwrap()).pools[0]
                .broken
                .iter()
                .map(|b| b.assumption)
                .collect()
        };
        assert!(kinds(plain).is_empty());
        let sqla = plain.replace("max_size: 4,", "max_size: 4, max_overflow: 0, library: sqlalchemy,");
        assert_eq!(kinds(&sqla), [Assumption::FifoWaiters]);
        let serial = plain
            .replace("max_size: 4,", "max_size: 4, min_idle: 0, library: psycopg,")
            .replace("name: t\n", "name: t\ndatabase: {max_connections: 100, connect_time: 5ms}\n");
        assert!(kinds(&serial).contains(&Assumption::InstantConnections), "{:?}", kinds(&serial));
        let pooled = plain.replace(
            "name: t\n",
            "name: t\ndatabase:\n  max_connections: 100\n  pooler: {pool_mode: transaction, default_pool_size: 2}\n",
        );
        let loads = pool_loads(&from_str(&pooled, "t.yaml", None, &[]).unwrap());
        let b = &loads.pools[0].broken;
        assert_eq!(b[0].assumption, Assumption::DirectConnections);
        assert!(b[0].message.contains("default_pool_size 2"), "{b:?}");
    }
}
