//! A scenario as the formulas see it: [`pool_loads`], the **only** function of
//! `theory` that reads a [`Scenario`], boils it down to one [`PoolLoad`] per pool
//! (instances, size, timeout, arrival rate and kind, mean and variability of the
//! hold) plus a [`DatabaseBudget`], and lists the assumptions of the formulas that
//! the scenario breaks ([`Broken`]). `sim analyze` (`analysis.rs`) and the theory
//! block beside a run (`fit.rs`) both read scenarios through it, so they agree on
//! what a scenario breaks.

use serde::Serialize;

use super::fmt_secs;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
