//! Capacity math and queueing theory for every pool of a scenario (`sim analyze`).
//!
//! Two layers, so that the scenario format can change without touching the math:
//!
//! 1. [`pool_loads`], the **only** function here that reads a [`Scenario`]: it boils
//!    the scenario down to one [`PoolLoad`] per pool (instances, size, timeout, arrival
//!    rate and kind, mean and variability of the hold) plus a [`DatabaseBudget`], and
//!    lists the assumptions of the formulas that the scenario breaks.
//! 2. [`analyze`] and everything below it work on [`Loads`] only: offered load,
//!    capacity, Erlang B and C, `M/M/c+D`, the Allen–Cunneen correction, closed-loop
//!    and burst arithmetic, and the connection budget against the database.
//!
//! Invariants: every [`Figure`] names the assumptions it rests on ([`Assumption`] ids)
//! and says whether the scenario keeps all of them (`holds`); figures are computed per
//! pool *instance* (one worker's or one pod's copy of the pool), with the instance's
//! share of the traffic; nothing here simulates, reads files or prints.

use serde::Serialize;

use super::{erlang_b, mmc, mmc_plus_d, mmc_plus_d_wait_quantile};
use crate::engine::SimDuration;
use crate::scenario::{Change, Scenario, WorkloadKind};
use crate::workload::{ArrivalProcess, Dist};

/// How the requests of one source arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalKind {
    /// Open loop, exponential gaps, constant rate: the M of M/M/c.
    Poisson,
    /// Open loop, evenly spaced, constant rate.
    Constant,
    /// Open loop whose rate steps or ramps over time.
    TimeVarying,
    /// Many requests at one instant.
    Burst,
    /// Virtual users who send the next request when the last one is answered.
    ClosedLoop,
}

/// A closed-loop source (virtual users) feeding a pool instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedLoad {
    /// Most users active at once, per pool instance.
    pub users: f64,
    /// Mean think time between a response and the next request, seconds.
    pub think_mean_s: f64,
}

/// A burst feeding a pool instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurstLoad {
    /// When it arrives, seconds from the start.
    pub at_s: f64,
    /// How many requests, per pool instance.
    pub count: f64,
    /// Whether other traffic (another source, or an earlier burst still draining) uses
    /// the pool when it arrives: the burst arithmetic assumes an idle pool.
    pub competing: bool,
}

/// Everything the formulas need to know about one pool, per instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolLoad {
    /// The pool's name.
    pub name: String,
    /// The scenario key that sets this pool's size (for `sim size`), e.g. `pool.max_size`.
    pub size_key: Option<String>,
    /// How many copies of the pool exist (1 per worker for a per-worker pool...).
    pub instances: u32,
    /// Connections per instance (HikariCP `maximumPoolSize`).
    pub max_size: u32,
    /// Extra connections per instance above `max_size` (SQLAlchemy `max_overflow`): they serve
    /// like the others while open, so the formulas count `max_size + max_overflow` servers.
    pub max_overflow: u32,
    /// Acquire timeout in seconds; `None` waits forever.
    pub acquire_timeout_s: Option<f64>,
    /// Open-loop arrival rate per instance, requests per second: the sum of the open
    /// sources' peak rates (bursts and users are listed separately).
    pub arrival_rate_per_s: f64,
    /// Mean open-loop arrival rate per instance over the sources' active windows.
    pub arrival_rate_mean_per_s: f64,
    /// The kinds of the sources that feed the pool, sorted, without repeats.
    pub arrival_kinds: Vec<ArrivalKind>,
    /// Closed-loop sources.
    pub closed: Vec<ClosedLoad>,
    /// Bursts.
    pub bursts: Vec<BurstLoad>,
    /// Mean hold time (connection held per request), seconds; a traffic-weighted
    /// mixture when several classes share the pool.
    pub hold_mean_s: f64,
    /// Coefficient of variation (standard deviation / mean) of the hold: 1 for the
    /// exponential, 0 for a constant.
    pub hold_cv: f64,
    /// Names of the hold distributions (one per class).
    pub hold_dists: Vec<String>,
    /// Mean time spent outside the pool per request (overhead), seconds.
    pub overhead_mean_s: f64,
    /// The request classes that use the pool.
    pub classes: Vec<String>,
    /// Assumptions of the queueing formulas that this pool's traffic breaks.
    pub broken: Vec<Broken>,
}

/// The database side of the connection budget. Every field is `None` when the scenario
/// does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatabaseBudget {
    /// The database's connection limit (PostgreSQL `max_connections`).
    pub max_connections: Option<u32>,
    /// Connections kept back for administrators (`superuser_reserved_connections`).
    pub reserved_connections: Option<u32>,
    /// CPU cores of the database server (for HikariCP's rule).
    pub cores: Option<u32>,
    /// Effective spindles (disks) of the database server (for HikariCP's rule).
    pub spindles: Option<u32>,
    /// Application pods.
    pub pods: Option<u32>,
    /// Worker processes per pod.
    pub workers_per_pod: Option<u32>,
}

/// A scenario as the formulas see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loads {
    /// Scenario name.
    pub scenario: String,
    /// One entry per pool.
    pub pools: Vec<PoolLoad>,
    /// The database limit and fleet shape.
    pub database: DatabaseBudget,
    /// Scenario-wide broken assumptions (e.g. timed changes).
    pub broken: Vec<Broken>,
}

/// An assumption some formula rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assumption {
    /// Requests arrive as a Poisson process (independent, exponential gaps).
    PoissonArrivals,
    /// Arrivals do not depend on responses (no virtual users waiting for answers).
    OpenLoop,
    /// Rates, holds and pool settings stay put long enough to reach a steady state.
    SteadyState,
    /// Hold times are exponential (memoryless).
    ExponentialHolds,
    /// Hold times are all the same (constant).
    ConstantHolds,
    /// The pool is idle when the burst arrives and nothing else competes with it.
    IdleBeforeBurst,
    /// Traffic is spread evenly over the pool's instances.
    EvenRouting,
    /// Every hold runs to its end: no statement timeout cuts it.
    UncutHolds,
    /// The database accepts every connection the pools open (no refusals).
    DatabaseAcceptsAll,
    /// A connection is there as soon as it is opened (no connect time while connections come and go).
    InstantConnections,
    /// Hold times do not depend on the load (the database has a core for every query).
    LoadIndependentHolds,
    /// Waiters are served first come, first served, the instant a connection is free.
    FifoWaiters,
    /// Connections reach the database directly (no pooler queue in between).
    DirectConnections,
}

impl Assumption {
    /// Short description.
    pub fn describe(self) -> &'static str {
        match self {
            Assumption::PoissonArrivals => "Poisson arrivals",
            Assumption::OpenLoop => "open-loop arrivals",
            Assumption::SteadyState => "a steady state (constant rate and settings)",
            Assumption::ExponentialHolds => "exponential holds",
            Assumption::ConstantHolds => "constant holds",
            Assumption::IdleBeforeBurst => "an idle pool before the burst",
            Assumption::EvenRouting => "traffic split evenly over instances",
            Assumption::UncutHolds => "holds that run to their end (no statement timeout)",
            Assumption::DatabaseAcceptsAll => "a database that accepts every connection",
            Assumption::InstantConnections => "connections that open instantly",
            Assumption::LoadIndependentHolds => "holds that do not depend on the load",
            Assumption::FifoWaiters => "waiters served first come, first served, at once",
            Assumption::DirectConnections => "connections straight to the database (no pooler)",
        }
    }
}

/// An assumption the scenario breaks, with what it means for the figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Broken {
    /// Which assumption.
    pub assumption: Assumption,
    /// Why it is broken and what to make of the figures that rest on it.
    pub message: String,
}

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

// ------------------------------------------------------------------------ the adapter

/// The one place that reads a [`Scenario`]: one [`PoolLoad`] per pool, the database
/// budget and the broken assumptions.
///
/// Rates of open workloads are their peak rates (the figures describe the busiest
/// moment); several open workloads on one pool are summed, as if they overlapped.
///
/// In a fleet, a pool has one copy per worker, per pod or one shared copy, and
/// the load balancer spreads traffic evenly, so each copy sees `1 / instances`
/// of its pool's traffic (at the pods the scenario starts with). A workload that
/// names no class is split over the classes by their shares. Background jobs
/// using a pool are listed as a broken assumption (extra holders the formulas
/// leave out). The database budget comes from `database:` and `fleet:`.
pub fn pool_loads(s: &Scenario) -> Loads {
    let horizon_s = s.duration.map_or(f64::INFINITY, SimDuration::as_secs_f64);
    let total_share: f64 = s.classes.iter().map(|c| c.share).sum();
    let mut pools = Vec::with_capacity(s.pools.len());
    for (pi, pool) in s.pools.iter().enumerate() {
        let instances = s.instances_with(crate::scenario::PoolId(pi as u16), s.fleet.pods).max(1);
        let per_instance = 1.0 / f64::from(instances);
        // The single-pool format's key is `pool.max_size`; a `pools:` list is addressed by index.
        let single = s.pools.len() == 1 && pool.name == "pool";
        let mut load = PoolLoad {
            name: pool.name.clone(),
            size_key: Some(if single { "pool.max_size".to_string() } else { format!("pools.{pi}.max_size") }),
            instances,
            max_size: pool.max_size,
            max_overflow: pool.max_overflow,
            acquire_timeout_s: (pool.acquire_timeout != SimDuration::MAX).then(|| pool.acquire_timeout.as_secs_f64()),
            arrival_rate_per_s: 0.0,
            arrival_rate_mean_per_s: 0.0,
            arrival_kinds: Vec::new(),
            closed: Vec::new(),
            bursts: Vec::new(),
            hold_mean_s: 0.0,
            hold_cv: 0.0,
            hold_dists: Vec::new(),
            overhead_mean_s: 0.0,
            classes: Vec::new(),
            broken: Vec::new(),
        };
        // Busy windows (start, end) of open and closed sources, and the bursts, for the
        // "idle before the burst" check.
        let mut windows: Vec<(f64, f64)> = Vec::new();
        let mut bursts_at: Vec<usize> = Vec::new();
        // (class weight by traffic, hold, overhead, priority, name) for the mixture.
        let mut mix: Vec<(f64, &Dist, &Dist, crate::scenario::Priority, &str)> = Vec::new();
        for (ci, class) in s.classes.iter().enumerate() {
            if usize::from(class.pool.0) != pi {
                continue;
            }
            let mut weight = 0.0;
            for w in &s.workloads {
                // The part of this workload's traffic that is of this class.
                let fraction = match w.class {
                    Some(c) if usize::from(c.0) == ci => 1.0,
                    Some(_) => continue,
                    None => class.share / total_share,
                };
                let share = per_instance * fraction;
                match &w.kind {
                    WorkloadKind::Open { from, until, profile, process } => {
                        let peak = profile.peak();
                        let end = until.map_or(horizon_s, |u| u.as_secs_f64()).min(horizon_s);
                        let window = (end - from.as_secs_f64()).max(0.0);
                        let probe = if window.is_finite() && window > 0.0 { window } else { 3600.0 };
                        let mean = profile.cumulative(probe) / probe;
                        windows.push((from.as_secs_f64(), end));
                        let steady = profile.rate_at(0.0) == peak && (mean - peak).abs() <= 1e-9 * peak.max(1.0);
                        load.arrival_rate_per_s += peak * share;
                        load.arrival_rate_mean_per_s += mean * share;
                        weight += mean * fraction;
                        load.arrival_kinds.push(match (steady, process) {
                            (false, _) => ArrivalKind::TimeVarying,
                            (true, ArrivalProcess::Poisson) => ArrivalKind::Poisson,
                            (true, ArrivalProcess::Constant) => ArrivalKind::Constant,
                        });
                        if !steady {
                            load.broken.push(Broken {
                                assumption: Assumption::SteadyState,
                                message: format!(
                                    "workload `{}` changes its rate over time (mean {:.4}/s, peak {:.4}/s): the \
                                     steady-state figures are computed at the peak rate and hold only if the peak \
                                     lasts many hold times",
                                    w.name, mean, peak
                                ),
                            });
                        }
                        if *process == ArrivalProcess::Constant {
                            load.broken.push(Broken {
                                assumption: Assumption::PoissonArrivals,
                                message: format!(
                                    "workload `{}` sends evenly spaced requests, not Poisson ones: evenly spaced \
                                     arrivals queue less, so the Erlang and M/M/c+D figures are pessimistic for it",
                                    w.name
                                ),
                            });
                        }
                    }
                    WorkloadKind::Burst { at, count } => {
                        load.bursts.push(BurstLoad {
                            at_s: at.as_secs_f64(),
                            count: *count as f64 * share,
                            competing: false,
                        });
                        bursts_at.push(load.bursts.len() - 1);
                        load.arrival_kinds.push(ArrivalKind::Burst);
                        weight += *count as f64 * fraction / horizon_s.clamp(1.0, 3600.0);
                        load.broken.push(Broken {
                            assumption: Assumption::SteadyState,
                            message: format!(
                                "workload `{}` sends {count} request(s) at once at {:.3} s: a transient that \
                                 steady-state formulas do not describe; see the burst figures",
                                w.name,
                                at.as_secs_f64()
                            ),
                        });
                    }
                    WorkloadKind::Closed { schedule, think, .. } => {
                        let users = f64::from(schedule.peak) * share;
                        let start = match &w.kind {
                            WorkloadKind::Closed { at, .. } => at.as_secs_f64(),
                            _ => 0.0,
                        };
                        windows.push((start, start + schedule.end_s()));
                        load.closed.push(ClosedLoad { users, think_mean_s: think.mean_secs() });
                        load.arrival_kinds.push(ArrivalKind::ClosedLoop);
                        weight += users / per_instance;
                        load.broken.push(Broken {
                            assumption: Assumption::OpenLoop,
                            message: format!(
                                "workload `{}` is {} virtual user(s) who wait for each answer: they cannot \
                                 overload the pool the way open traffic does (the wait settles where users / \
                                 throughput = cycle time); see the closed-loop figures",
                                w.name, schedule.peak
                            ),
                        });
                    }
                }
            }
            if let Some(t) = class.statement_timeout {
                let cut = if class.hold.is_exponential() {
                    format!(
                        " ({:.3} % of its exponential holds)",
                        (-t.as_secs_f64() / class.hold.mean_secs()).exp() * 100.0
                    )
                } else {
                    String::new()
                };
                load.broken.push(Broken {
                    assumption: Assumption::UncutHolds,
                    message: format!(
                        "class `{}` has a statement_timeout of {}: holds longer than that are cut there and the \
                         requests fail (500){cut}, so the pool serves min(hold, timeout), not the hold the figures use",
                        class.name,
                        fmt_secs(t.as_secs_f64())
                    ),
                });
            }
            load.classes.push(class.name.clone());
            load.hold_dists.push(class.hold.name().to_string());
            mix.push((weight, &class.hold, &class.overhead, class.priority, &class.name));
        }
        let total_weight: f64 = mix.iter().map(|m| m.0).sum();
        let n = mix.len().max(1) as f64;
        let weights: Vec<f64> =
            mix.iter().map(|m| if total_weight > 0.0 { m.0 / total_weight } else { 1.0 / n }).collect();
        let mean: f64 = mix.iter().zip(&weights).map(|(m, w)| w * m.1.mean_secs()).sum();
        let second: f64 =
            mix.iter().zip(&weights).map(|(m, w)| w * (dist_variance(m.1) + m.1.mean_secs().powi(2))).sum();
        load.hold_mean_s = mean;
        load.hold_cv = if mean > 0.0 { (second - mean * mean).max(0.0).sqrt() / mean } else { 0.0 };
        load.overhead_mean_s = mix.iter().zip(&weights).map(|(m, w)| w * m.2.mean_secs()).sum();
        // The classes that get traffic (all of them when none does) decide the
        // holds' shape and the waiters' order.
        let served: Vec<_> = match mix.iter().filter(|m| m.0 > 0.0).collect::<Vec<_>>() {
            v if v.is_empty() => mix.iter().collect(),
            v => v,
        };
        let one_dist = served.windows(2).all(|w| w[0].1 == w[1].1);
        let mut priorities: Vec<_> = served.iter().map(|m| m.3).collect();
        priorities.sort_unstable();
        priorities.dedup();
        // With a zero timeout nobody waits (Erlang B), and the order cannot matter.
        if priorities.len() > 1 && load.acquire_timeout_s.is_some_and(|d| d > 0.0) {
            let named: Vec<String> = served.iter().map(|m| format!("{} {}", m.4, m.3.name())).collect();
            load.broken.push(Broken {
                assumption: Assumption::FifoWaiters,
                message: format!(
                    "classes of different priorities share the pool ({}): waiters are served by priority, not \
                     first come, first served, so the low-priority ones take most of the acquire timeouts, and \
                     more time out in all than the figures say (serving the oldest waiter first loses the fewest \
                     to a fixed timeout)",
                    named.join(", ")
                ),
            });
        }
        if served.len() > 1 && !one_dist {
            load.broken.push(Broken {
                assumption: Assumption::ExponentialHolds,
                message: format!(
                    "{} request classes share the pool ({}): their holds form a mixture (mean {:.1} ms, cv {:.2}), \
                     not one exponential",
                    mix.len(),
                    load.classes.join(", "),
                    mean * 1e3,
                    load.hold_cv
                ),
            });
        } else if let Some((_, hold, ..)) = served.first()
            && !hold.is_exponential()
        {
            load.broken.push(Broken {
                assumption: Assumption::ExponentialHolds,
                message: format!(
                    "holds are {} (cv {:.2}), not exponential (cv 1): Erlang B still holds (it depends only on the \
                     mean hold), the waiting figures do not; less variable holds wait less (see Allen-Cunneen)",
                    hold.name(),
                    load.hold_cv
                ),
            });
        }
        if load.hold_cv > 1e-12 && !load.bursts.is_empty() {
            load.broken.push(Broken {
                assumption: Assumption::ConstantHolds,
                message: format!("holds vary (cv {:.2}): burst figures are for the mean hold", load.hold_cv),
            });
        }
        // A burst drains in ceil(n / c) batches of one mean hold each.
        let drain = |b: &BurstLoad| b.at_s + (b.count / f64::from(pool.max_size.max(1))).ceil() * mean;
        for &i in &bursts_at {
            let at = load.bursts[i].at_s;
            let busy = windows.iter().any(|&(from, to)| from <= at && at < to)
                || load
                    .bursts
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.at_s <= at && at < drain(o).max(o.at_s + 1e-12));
            if busy {
                load.bursts[i].competing = true;
                load.broken.push(Broken {
                    assumption: Assumption::IdleBeforeBurst,
                    message: format!(
                        "the burst at {} meets other traffic on the pool: its figures are a lower bound on waits and 503s",
                        fmt_secs(at)
                    ),
                });
            }
        }
        let jobs: Vec<&str> = s.jobs.iter().filter(|j| usize::from(j.pool.0) == pi).map(|j| j.name.as_str()).collect();
        if !jobs.is_empty() {
            load.broken.push(Broken {
                assumption: Assumption::SteadyState,
                message: format!(
                    "background job(s) {} also take connections from this pool: the figures leave them out, so they \
                     are optimistic",
                    jobs.join(", ")
                ),
            });
        }
        fleet_assumptions(s, pool, instances, &mut load);
        load.arrival_kinds.sort();
        load.arrival_kinds.dedup();
        load.broken.sort_by_key(|b| b.assumption);
        pools.push(load);
    }
    let mut broken = Vec::new();
    if !s.changes.is_empty() {
        let actions: usize = s.changes.iter().map(|c| c.actions.len()).sum();
        let what: Vec<&str> = s
            .changes
            .iter()
            .flat_map(|c| &c.actions)
            .map(|a| match a {
                Change::Hold(..) => "hold time",
                Change::Overhead(..) => "overhead",
                Change::MaxSize(..) => "pool size",
                Change::AcquireTimeout(..) => "acquire timeout",
                Change::Rate(..) => "arrival rate",
                Change::ClassPool(..) => "class moved to another pool",
                Change::Pods(..) => "pod count",
                Change::StartJob(..) | Change::StopJob(..) => "background job",
                Change::ClosePool(..) => "pool closed",
                Change::KillConnections { .. } => "connections killed",
            })
            .collect();
        let mut what = what;
        what.sort_unstable();
        what.dedup();
        broken.push(Broken {
            assumption: Assumption::SteadyState,
            message: format!(
                "{actions} timed change(s) ({}) during the run: the figures describe the configuration at the start",
                what.join(", ")
            ),
        });
    }
    if let Some(c) = s.client.as_ref().filter(|c| c.retries > 0) {
        broken.push(Broken {
            assumption: Assumption::OpenLoop,
            message: format!(
                "clients retry failed calls (up to {} time(s), backoff {}): retries come exactly when the pool \
                 fails, on top of the workloads' rates, so arrivals depend on the responses; the figures leave \
                 retries out and are optimistic once 503s start",
                c.retries,
                fmt_secs(c.backoff.as_secs_f64())
            ),
        });
    }
    let fleet = s.fleet.pods > 1 || s.fleet.workers_per_pod > 1;
    let database = DatabaseBudget {
        max_connections: s.database.max_connections,
        reserved_connections: s.database.max_connections.map(|_| s.database.reserved_connections),
        cores: s.database.cores,
        spindles: None,
        pods: (fleet || s.database.max_connections.is_some()).then_some(s.fleet.pods),
        workers_per_pod: (fleet || s.database.max_connections.is_some()).then_some(s.fleet.workers_per_pod),
    };
    Loads { scenario: s.name.clone(), pools, database, broken }
}

/// What the fleet around a pool does to the formulas' assumptions: how requests are
/// routed to its copies, workers that queue requests before the pool, a database that
/// refuses connections or shares its cores, and connections that take time to open.
fn fleet_assumptions(s: &Scenario, pool: &crate::scenario::PoolSpec, instances: u32, load: &mut PoolLoad) {
    use crate::scenario::{Handoff, Routing};
    let open = load.arrival_rate_per_s > 0.0;
    if instances > 1 && open && s.fleet.routing != Routing::Random {
        let how = match s.fleet.routing {
            Routing::RoundRobin => format!(
                "round robin hands each of the {instances} copies every {instances}-th request: its gaps are \
                 Erlang-{instances}, less variable than Poisson, so the figures (per copy, at 1/{instances} of the rate) \
                 are pessimistic"
            ),
            _ => format!(
                "least-outstanding routing sends each request to the least busy of the {instances} copies: the copies \
                 are not independent queues, and the figures (per copy, at 1/{instances} of the rate) are pessimistic"
            ),
        };
        load.broken.push(Broken { assumption: Assumption::PoissonArrivals, message: how });
    }
    if let Some(n) = s.fleet.worker_concurrency {
        load.broken.push(Broken {
            assumption: Assumption::PoissonArrivals,
            message: format!(
                "a worker serves {n} request(s) at once and queues the rest: requests reach the pool as workers \
                 free up, not as they arrive"
            ),
        });
    }
    if let Some(p) = &s.database.pooler {
        load.broken.push(Broken {
            assumption: Assumption::DirectConnections,
            message: format!(
                "a pooler (transaction mode, default_pool_size {}{}) sits between the pools and the database: every \
                 transaction also queues for one of its server connections, shared by all pools, which the per-pool \
                 figures leave out; they hold while the pools are the bottleneck, not the pooler",
                p.default_pool_size,
                if p.reserve_pool_size > 0 { format!(" + reserve {}", p.reserve_pool_size) } else { String::new() }
            ),
        });
    }
    if let Handoff::WakeUp(t) = pool.handoff {
        load.broken.push(Broken {
            assumption: Assumption::FifoWaiters,
            message: format!(
                "a returned connection reaches its waiter {} later (handoff: wake_up), and a request that asks in \
                 between takes it: waiters can be overtaken and each hand-off leaves the connection unused that long, \
                 so waits and timeouts can be worse than the figures",
                fmt_secs(t.as_secs_f64())
            ),
        });
    }
    if let Some(usable) = s.database.usable()
        && s.database.pooler.is_none()
        && s.possible_connections() > u64::from(usable)
    {
        load.broken.push(Broken {
            assumption: Assumption::DatabaseAcceptsAll,
            message: format!(
                "the pools may open {} connections but the database accepts {usable}: opens are refused under load \
                 (on_refused: {}), which the figures leave out",
                s.possible_connections(),
                match pool.on_refused {
                    crate::scenario::OnRefused::Fail => "fail, so requests fail at once",
                    crate::scenario::OnRefused::Wait => "wait, so requests wait for a free slot",
                    crate::scenario::OnRefused::FailOpener => "fail_opener, so the requests that open fail at once",
                    crate::scenario::OnRefused::Retry =>
                        "retry, so requests wait while the pool retries after a backoff",
                }
            ),
        });
    }
    if let Some(cores) = s.database.cores
        && s.possible_connections() > u64::from(cores)
    {
        load.broken.push(Broken {
            assumption: Assumption::LoadIndependentHolds,
            message: format!(
                "the database has {cores} core(s) for up to {} queries at once: past {cores} running, every query \
                 runs slower (processor sharing), so holds grow with the load the figures assume fixed",
                s.possible_connections()
            ),
        });
    }
    let churn: Vec<&str> = [
        (pool.max_overflow > 0, "max_overflow"),
        (pool.idle_timeout.is_some(), "idle_timeout"),
        (pool.max_lifetime.is_some(), "max_lifetime"),
    ]
    .into_iter()
    .filter_map(|(on, key)| on.then_some(key))
    .collect();
    if !churn.is_empty() && s.database.connect_time.mean_secs() > 0.0 {
        load.broken.push(Broken {
            assumption: Assumption::InstantConnections,
            message: format!(
                "connections take {} (mean) to open and this pool closes and reopens them ({}): requests that \
                 wait for a new connection wait longer than the figures say",
                fmt_secs(s.database.connect_time.mean_secs()),
                churn.join(", ")
            ),
        });
    }
    if let Some(n) = pool.open_concurrency
        && pool.min_idle < pool.max_size
        && s.database.connect_time.mean_secs() > 0.0
        && s.database.pooler.is_none()
    {
        load.broken.push(Broken {
            assumption: Assumption::InstantConnections,
            message: format!(
                "this pool opens {n} connection(s) at a time ({} each, mean): a burst waits for the opens one after \
                 another, longer than the figures say",
                fmt_secs(s.database.connect_time.mean_secs())
            ),
        });
    }
}

/// Variance of a hold distribution, seconds squared.
fn dist_variance(d: &Dist) -> f64 {
    match d {
        Dist::Constant(_) => 0.0,
        Dist::Uniform { min, max } => (max.as_secs_f64() - min.as_secs_f64()).powi(2) / 12.0,
        Dist::Exponential { mean } => mean.as_secs_f64().powi(2),
        Dist::Normal { mean, stddev } => {
            let (m, s) = (mean.as_secs_f64(), stddev.as_secs_f64());
            if s == 0.0 {
                return 0.0;
            }
            // N(m, s) truncated to [0, inf): var = s^2 (1 + alpha h - h^2), alpha = -m/s,
            // h = phi(alpha) / (1 - Phi(alpha)) (the inverse Mills ratio).
            let alpha = -m / s;
            let phi = (-0.5 * alpha * alpha).exp() / std::f64::consts::TAU.sqrt();
            let tail = 0.5 * erfc(alpha / std::f64::consts::SQRT_2);
            let h = phi / tail;
            s * s * (1.0 + alpha * h - h * h).max(0.0)
        }
        Dist::LogNormal { sigma, .. } => {
            // Mean m = e^{mu + s^2/2}, variance (e^{s^2} - 1) m^2.
            let m = d.mean_secs();
            (sigma * sigma).exp_m1() * m * m
        }
        Dist::Empirical(values) => {
            let n = values.len() as f64;
            let m = values.iter().map(|&v| v as f64 / 1e9).sum::<f64>() / n;
            values.iter().map(|&v| (v as f64 / 1e9 - m).powi(2)).sum::<f64>() / n
        }
    }
}

/// Complementary error function (W. J. Cody's rational approximations are overkill for a
/// coefficient of variation: this is Numerical Recipes' `erfcc`, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
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

/// Seconds in a short human form: `250 ms`, `1.5 s`, `never`.
pub fn fmt_secs(s: f64) -> String {
    if !s.is_finite() {
        "never".into()
    } else if s < 1.0 {
        format!("{} ms", trim(s * 1e3))
    } else {
        format!("{} s", trim(s))
    }
}

fn trim(x: f64) -> String {
    let t = format!("{x:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::validate::from_str;
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

    #[test]
    fn hold_variance_of_each_distribution() {
        let ms = SimDuration::from_millis;
        assert_eq!(dist_variance(&Dist::Constant(ms(5))), 0.0);
        assert!((dist_variance(&Dist::Exponential { mean: ms(200) }) - 0.04).abs() < 1e-15);
        // A normal far from zero is hardly truncated.
        let v = dist_variance(&Dist::Normal { mean: ms(1000), stddev: ms(100) });
        assert!((v - 0.01).abs() < 1e-9, "{v}");
        // Half-normal (mean 0): variance s^2 (1 - 2/pi).
        let v = dist_variance(&Dist::Normal { mean: ms(0), stddev: ms(1000) });
        assert!((v - (1.0 - 2.0 / std::f64::consts::PI)).abs() < 1e-6, "{v}");
        // Log-normal: median 50 ms, p99 400 ms -> sigma = ln 8 / z99.
        let sigma = 8.0_f64.ln() / 2.326_347_874_040_840_8;
        let m = 0.05 * (sigma * sigma / 2.0).exp();
        let v = dist_variance(&Dist::lognormal(ms(50), ms(400)));
        assert!((v - (sigma * sigma).exp_m1() * m * m).abs() < 1e-12, "{v}");
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
