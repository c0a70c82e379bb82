//! The domain model: requests, pools and workloads as event handlers.
//!
//! [`Simulation::new`] builds the state from a validated scenario and schedules
//! the first events; [`Simulation::run`] pops events in (time, sequence) order
//! and hands each to its handler, which changes the state, schedules follow-up
//! events and reports to the [`Recorder`]. Handlers check that an event is still
//! current before acting (lazy cancellation): a timeout for a request that has
//! since got its connection is ignored.
//!
//! A request's life: arrive -> routed to a worker of a pod -> (wait) -> acquire
//! -> hold -> release -> overhead -> respond. Its latency is wait + hold +
//! overhead; a request that waits the whole acquire timeout gives up and is
//! answered 503 after its overhead.
//!
//! A connection's life: opened lazily when a request finds no idle one (taking
//! `connect_time`, and a slot at the database, which may refuse it) -> in use
//! -> idle in its pool -> closed by the idle timeout, its lifetime, a shrink, a
//! kill or its pool closing. A background job's failed run may leak it: it
//! stays checked out until killed or its pool closes.

//!
//! Where each part lives: this file holds the events, the state and the event
//! loop ([`Simulation::run`]); `arrivals.rs` where requests come from;
//! `routing.rs` which worker and pool copy serve them; `life.rs` a request's
//! life from arrival to response (acquire, wait, timeout, hold, release,
//! retries); `connections.rs` connections and the database (opening, refusals,
//! idle connections, closing); `cpu.rs` the database's cores; `jobs.rs`
//! background jobs and leaks; `changes.rs` timed changes; `figures.rs` the
//! end-of-run fleet figures; `pool.rs` one pool copy's waiters and
//! connections; `request.rs` the requests in flight.

mod arrivals;
mod changes;
mod connections;
mod cpu;
mod figures;
mod jobs;
mod life;
pub mod pool;
mod pooler;
mod request;
mod routing;

use crate::engine::queue::Lane;
use crate::engine::{EventQueue, RngStreams, SimDuration, SimTime, StreamId, StreamRng};
use crate::metrics::{Recorder, hand_off};
use crate::result::{Bucket, PoolRow, RequestSink, RowSink, RunMeta, RunResult};
use crate::scenario::{OnRefused, Scenario, Scope, WorkloadKind};
use crate::workload::{ArrivalProcess, Dist};
use arrivals::{ClosedRun, OpenRun, WorkloadRun, WorkloadState};
use connections::Database;
use jobs::JobState;
use life::ClientCounts;
use pool::{ConnState, Conns, PoolCopy};
use request::{NOT_A_JOB, Requests};

pub use figures::pool_instances;

/// Default limit of requests in flight at once (see [`RunOptions::max_in_flight`]).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000_000;

/// Default budget of events for one run (see [`RunOptions::max_events`]).
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;

/// Everything that can happen. Kept small (16 bytes) and free of heap data: the
/// queue moves millions of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// Next arrival of an open workload; stale if the workload's epoch moved on (rate change).
    Arrive { workload: u16, epoch: u32 },
    /// A burst fires.
    Burst { workload: u16 },
    /// A virtual user sends its next request.
    UserSend { workload: u16, user: u32 },
    /// The number of active users of a closed workload changes (step of its schedule).
    UsersChange { workload: u16, step: u32 },
    /// The earliest waiter of a pool copy may give up (see `PoolCopy::timer`);
    /// stale if the copy's timer was re-armed since.
    AcquireTimeout { instance: u32, epoch: u32 },
    /// A request is done with its connection.
    HoldDone { slot: u32, generation: u32 },
    /// A request's response leaves after its overhead.
    Respond { slot: u32, generation: u32 },
    /// Timed changes number `index` take effect.
    Change { index: u32 },
    /// A connection finished connecting.
    Connected { conn: u32, generation: u32 },
    /// Idle connections of a pool copy may have reached the idle timeout.
    IdleCheck { instance: u32 },
    /// A copy of a background job runs; stale if the job's epoch moved on.
    JobRun { job: u16, copy: u32, epoch: u32 },
    /// A leaked connection crosses its pool's leak detection threshold.
    LeakWarning { conn: u32, generation: u32 },
    /// The client stops waiting for a request.
    ClientTimeout { slot: u32, generation: u32 },
    /// A client retries a call.
    Retry { workload: u16, class: u16, attempt: u8, counted_call: bool, user: u32 },
    /// The next query at the database's CPU may be done (stale if the epoch moved on).
    CpuDone { epoch: u32 },
    /// An open the database refused fails, after `database.refuse_time`.
    Refused { conn: u32, generation: u32 },
    /// A pool copy that retries refused opens tries again (`on_refused: retry`).
    RetryOpen { instance: u32, epoch: u32 },
    /// A waiter woken for a returned connection takes it (`handoff: wake_up`).
    WakeUp { slot: u32, generation: u32 },
    /// A server connection of the pooler finished connecting.
    ServerConnected { server: u32, generation: u32 },
    /// The pooler's oldest waiting query may reach `query_wait_timeout`.
    QueryWaitCheck { epoch: u32 },
    /// The pooler may open a server connection again (reserve pool, login retry).
    PoolerOpen { epoch: u32 },
    /// Idle server connections may have reached `server_idle_timeout`.
    ServerIdleCheck,
    /// A pool's reset query on a pooler server connection is done.
    ResetDone { slot: u32, generation: u32 },
}

// The queue moves millions of these: new variants must not make it wider.
const _: () = assert!(std::mem::size_of::<Event>() <= 16);

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The run needed more events than allowed.
    #[error(
        "stopped after {events} events at simulated t={t_s:.3}s: the run exceeds its event budget; \
         raise it with --max-events, or shorten the scenario"
    )]
    EventBudget {
        /// Events processed.
        events: u64,
        /// Simulated time reached, in seconds.
        t_s: f64,
    },
    /// More requests were in flight at once than allowed.
    #[error(
        "more than {limit} requests in flight at once at simulated t={t_s:.3}s: the pool can never catch up \
         with this load (give the pool an acquire_timeout, lower the rates, or shorten the run)"
    )]
    InFlight {
        /// The limit.
        limit: usize,
        /// Simulated time reached, in seconds.
        t_s: f64,
    },
    /// Writing per-request records (or the rows of closed buckets) failed.
    #[error("writing per-request records, timeline rows or pool rows failed: {0}")]
    Sink(#[from] std::io::Error),
    /// The caller asked the run to stop (Ctrl-C).
    #[error("interrupted at simulated t={t_s:.3}s")]
    Interrupted {
        /// Simulated time reached, in seconds.
        t_s: f64,
    },
}

/// Knobs of one run that are not part of the scenario.
pub struct RunOptions<'a> {
    /// Seed of every random stream.
    pub seed: u64,
    /// Stop with an error after this many events.
    pub max_events: u64,
    /// Stop with an error when more requests than this are in flight at once (a
    /// pool that can never catch up would otherwise exhaust memory).
    pub max_in_flight: usize,
    /// Receives every finished request (`--requests`).
    pub sink: Option<&'a mut dyn RequestSink>,
    /// Receives the rows of `pools.csv` as buckets close, instead of
    /// [`RunResult::pool_rows`]: memory then no longer grows with the length
    /// of the run times the number of pool copies.
    pub pool_sink: Option<&'a mut dyn RowSink<PoolRow>>,
    /// Receives the timeline's rows as buckets close, instead of
    /// [`RunResult::timeline`] (which is then empty).
    pub timeline_sink: Option<&'a mut dyn RowSink<Bucket>>,
    /// Polled every few million events; returning true stops the run.
    pub should_stop: Option<&'a dyn Fn() -> bool>,
    /// Scrape the state every this long, as Prometheus would, into
    /// [`RunResult::scrapes`] (for alert rules and the OpenMetrics export).
    pub scrape_interval: Option<SimDuration>,
}

impl RunOptions<'_> {
    /// Options with this seed and nothing else.
    pub fn seed<'a>(seed: u64) -> RunOptions<'a> {
        RunOptions {
            seed,
            max_events: DEFAULT_MAX_EVENTS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            sink: None,
            pool_sink: None,
            timeline_sink: None,
            should_stop: None,
            scrape_interval: None,
        }
    }
}

/// Random stream kinds beyond the engine's (see the determinism contract):
/// each names *what* draws, so adding a job never moves the arrivals.
mod streams {
    /// Class of each request of workload k (when it draws by shares).
    pub const CLASS: u32 = 5;
    /// The load balancer's random choices.
    pub const ROUTING: u32 = 6;
    /// Job j: phases of its copies and whether each run fails.
    pub const JOB: u32 = 7;
    /// Job j: hold times.
    pub const JOB_HOLD: u32 = 8;
    /// Connect times of pool p.
    pub const CONNECT: u32 = 9;
    /// Retry backoff jitter of workload k.
    pub const RETRY: u32 = 10;
    /// Pool p: the jitter of its first wait before retrying a refused open.
    pub const RECONNECT: u32 = 11;
    /// Pool p: how long the database takes to refuse its opens.
    pub const REFUSE: u32 = 12;
    /// The pooler's server connections: connect times.
    pub const POOLER: u32 = 13;
}

/// Per-class settings that timed changes may replace.
struct ClassState {
    pool: usize,
    hold: Dist,
    overhead: Dist,
    overhead_is_zero: bool,
    priority: usize,
    statement_timeout: SimDuration,
    /// Its pool's reset query on release, added to its holds (zero: none, or
    /// behind a pooler, where the reset is a transaction of its own).
    reset: SimDuration,
    /// Holds at or above this are cut or lengthened (see `hold_cap`).
    hold_cap: SimDuration,
    /// The queue lane of its responses (they come in time order while the overhead is constant).
    respond_lane: Option<Lane>,
}

/// The reset query added to the holds of a class using `pool` (none behind a
/// pooler, where it is a transaction of its own).
fn class_reset(s: &Scenario, pool: usize) -> SimDuration {
    match (&s.database.pooler, s.pools[pool].reset_on_release) {
        (None, Some(d)) => d,
        _ => SimDuration::ZERO,
    }
}

/// The hold from which a class's holds need a second look: just past its
/// statement timeout (which cuts them), or zero when a reset query lengthens
/// every one of them. One compare on the hot path covers both.
fn hold_cap(statement_timeout: Option<SimDuration>, reset: SimDuration) -> SimDuration {
    match statement_timeout {
        _ if !reset.is_zero() => SimDuration::ZERO,
        Some(t) => SimDuration(t.0.saturating_add(1)),
        None => SimDuration::MAX,
    }
}

/// Per-pool settings and figures (all copies).
struct PoolState {
    scope: Scope,
    /// First copy's index in `Simulation::copies`.
    base: u32,
    min_idle: u32,
    max_overflow: u32,
    idle_timeout: SimDuration,
    max_lifetime: SimDuration,
    leak_threshold: SimDuration,
    on_refused: OnRefused,
    connect_rng: StreamRng,
    /// Most opens under way at once (`u32::MAX`: no limit).
    max_opening: u32,
    /// The wake-up time of a `handoff: wake_up` pool (zero: direct hand-off).
    wake_up: SimDuration,
    /// Overflow connections close only once `max_size` are idle (SQLAlchemy).
    overflow_idle_full: bool,
    /// The reset query on release (`reset_on_release`).
    reset: Option<SimDuration>,
    /// The backoff of `on_refused: retry`.
    reconnect: Option<crate::scenario::Reconnect>,
    reconnect_rng: StreamRng,
    refuse_rng: StreamRng,
    used: u32,
    open: u32,
    peak_used: u32,
    peak_open: u32,
    timeouts: u64,
    opened: u64,
    closed: u64,
}

/// One run of a scenario.
pub struct Simulation<'s> {
    scenario: &'s Scenario,
    queue: EventQueue<Event>,
    now: SimTime,
    end: SimTime,
    /// Where the run loop stops to look: the warm-up instant while the peaks
    /// still wait for it (see [`start_peaks`](Self::start_peaks)), then `end`.
    stop_at: SimTime,
    /// The warm-up instant, until the peaks have started from it (`None`
    /// then, or without a warm-up).
    peaks_from: Option<SimTime>,
    copies: Vec<PoolCopy>,
    pools: Vec<PoolState>,
    conns: Conns,
    db: Database,
    classes: Vec<ClassState>,
    /// Cumulative class shares, for drawing a class.
    share_cdf: Vec<f64>,
    workloads: Vec<WorkloadState>,
    jobs: Vec<JobState>,
    requests: Requests,
    recorder: Recorder,
    used_total: u32,
    waiting_total: u32,
    max_total: u32,
    leaked_now: u32,
    leaked_peak: u32,
    leak_warnings: u64,
    /// Pods receiving requests now.
    active_pods: u32,
    /// Requests at each worker, queued ones included (for least-outstanding routing).
    outstanding: Vec<u32>,
    /// Requests each worker is serving (at most `worker_concurrency`).
    active: Vec<u32>,
    /// Requests waiting for their worker (with a concurrency limit).
    worker_queues: Vec<std::collections::VecDeque<(u32, u32)>>,
    worker_queued: u64,
    worker_queue_max: u32,
    /// The database's cores, when the scenario gives them.
    cpu: Option<cpu::Cpu>,
    /// Responses without overhead and without follow-up (no virtual user, no
    /// client retry, no worker queue), answered right after the current event
    /// rather than through the event queue: the same order, one event less.
    respond_now: Vec<(u32, u32)>,
    /// Whether a finished request can schedule anything (users, retries, worker queues).
    inline_ok: bool,
    /// Waiters woken for a returned connection that have not taken it yet
    /// (`handoff: wake_up`), with their copy: few at any time.
    woken: Vec<(u32, pool::Waiter)>,
    /// Per pool copy: the backoff of a copy that retries refused opens
    /// (empty unless some pool has `on_refused: retry`).
    retries: Vec<connections::RetryState>,
    /// Refused opens fail after `database.refuse_time`, not at once.
    refuse_delayed: bool,
    /// The pooler in front of the database (`database.pooler`).
    pooler: Option<pooler::Pooler>,
    rr_next: u32,
    routing_rng: StreamRng,
    next_request_id: u64,
    events: u64,
    audit: bool,
    client: ClientCounts,
}

impl<'s> Simulation<'s> {
    /// Builds the state and schedules the first events.
    pub fn new(scenario: &'s Scenario, seed: u64) -> Simulation<'s> {
        let streams = RngStreams::new(seed);
        let fleet = &scenario.fleet;
        let mut copies = Vec::new();
        let mut pools = Vec::new();
        for (i, p) in scenario.pools.iter().enumerate() {
            let base = copies.len() as u32;
            let (pods, per_pod) = match p.scope {
                Scope::Worker => (fleet.max_pods, fleet.workers_per_pod),
                Scope::Pod => (fleet.max_pods, 1),
                Scope::Shared => (1, 1),
            };
            for pod in 0..pods {
                for _ in 0..per_pod {
                    let mut c = PoolCopy::new(i as u16, pod, p.max_size, p.acquire_timeout);
                    c.draining = p.scope != Scope::Shared && pod >= fleet.pods;
                    c.idle_fifo = p.reuse == crate::scenario::Reuse::Fifo;
                    c.wakes = p.handoff != crate::scenario::Handoff::Direct;
                    c.slow_release = c.draining || c.wakes;
                    copies.push(c);
                }
            }
            let never = |d: Option<SimDuration>| d.unwrap_or(SimDuration::MAX);
            pools.push(PoolState {
                scope: p.scope,
                base,
                min_idle: p.min_idle,
                max_overflow: p.max_overflow,
                idle_timeout: never(p.idle_timeout),
                max_lifetime: never(p.max_lifetime),
                leak_threshold: never(p.leak_detection_threshold),
                on_refused: p.on_refused,
                connect_rng: streams.stream(StreamId::new(streams::CONNECT, i as u32)),
                max_opening: p.open_concurrency.unwrap_or(u32::MAX),
                wake_up: match p.handoff {
                    crate::scenario::Handoff::Direct => SimDuration::ZERO,
                    crate::scenario::Handoff::WakeUp(t) => t,
                },
                overflow_idle_full: p.overflow_close == crate::scenario::OverflowClose::WhenIdleFull,
                reset: p.reset_on_release,
                reconnect: p.reconnect,
                reconnect_rng: streams.stream(StreamId::new(streams::RECONNECT, i as u32)),
                refuse_rng: streams.stream(StreamId::new(streams::REFUSE, i as u32)),
                used: 0,
                open: 0,
                peak_used: 0,
                peak_open: 0,
                timeouts: 0,
                opened: 0,
                closed: 0,
            });
        }
        let mut queue = EventQueue::new();
        let classes = scenario
            .classes
            .iter()
            .map(|c| ClassState {
                respond_lane: c.overhead.constant_value().filter(|d| !d.is_zero()).and_then(|_| queue.lane()),
                pool: c.pool.0 as usize,
                hold: c.hold.clone(),
                overhead_is_zero: c.overhead.constant_value() == Some(SimDuration::ZERO),
                overhead: c.overhead.clone(),
                priority: c.priority as usize,
                statement_timeout: c.statement_timeout.unwrap_or(SimDuration::MAX),
                reset: class_reset(scenario, c.pool.0 as usize),
                hold_cap: hold_cap(c.statement_timeout, class_reset(scenario, c.pool.0 as usize)),
            })
            .collect();
        let total_share: f64 = scenario.classes.iter().map(|c| c.share).sum();
        let share_cdf = scenario
            .classes
            .iter()
            .scan(0.0, |acc, c| {
                *acc += c.share / total_share;
                Some(*acc)
            })
            .collect();
        let mut workloads = Vec::with_capacity(scenario.workloads.len());
        for (i, w) in scenario.workloads.iter().enumerate() {
            let idx = i as u32;
            let id = i as u16;
            let kind = match &w.kind {
                WorkloadKind::Burst { at, count } => {
                    queue.push(*at, Event::Burst { workload: id });
                    WorkloadRun::Burst { count: *count }
                }
                WorkloadKind::Open { from, until, profile, process } => {
                    let mut run = OpenRun {
                        from: *from,
                        origin: *from,
                        until: until.unwrap_or(SimTime::MAX),
                        profile: profile.clone(),
                        process: *process,
                        rng: streams.stream(StreamId::new(StreamId::ARRIVALS, idx)),
                        pos_s: 0.0,
                        hint: 0,
                        epoch: 0,
                        lane: queue.lane(),
                        ahead: None,
                    };
                    // A constant process sends its first request at `from`; a Poisson
                    // one after an exponential gap, like every later one.
                    let first = match process {
                        ArrivalProcess::Constant if profile.rate_at(0.0) > 0.0 => Some(*from),
                        _ => run.next_arrival(),
                    };
                    if let Some(t) = first {
                        queue.push_in(run.lane, t, Event::Arrive { workload: id, epoch: 0 });
                    }
                    WorkloadRun::Open(run)
                }
                WorkloadKind::Closed { at, schedule, think, max_requests } => {
                    if !schedule.changes.is_empty() {
                        let t0 = *at + SimDuration::from_secs_f64(schedule.changes[0].0);
                        queue.push(t0, Event::UsersChange { workload: id, step: 0 });
                    }
                    WorkloadRun::Closed(ClosedRun {
                        start: *at,
                        schedule: schedule.clone(),
                        think: think.clone(),
                        think_rng: streams.stream(StreamId::new(StreamId::THINK, idx)),
                        target: 0,
                        busy: Vec::new(),
                        sent: 0,
                        max_requests: *max_requests,
                    })
                }
            };
            workloads.push(WorkloadState {
                class: w.class.map(|c| c.0 as usize),
                kind,
                hold_rng: streams.stream(StreamId::new(StreamId::HOLD, idx)),
                overhead_rng: streams.stream(StreamId::new(StreamId::OVERHEAD, idx)),
                class_rng: streams.stream(StreamId::new(streams::CLASS, idx)),
                retry_rng: streams.stream(StreamId::new(streams::RETRY, idx)),
            });
        }
        let jobs = scenario
            .jobs
            .iter()
            .enumerate()
            .map(|(j, spec)| JobState {
                reset: class_reset(scenario, spec.pool.0 as usize),
                active: false,
                epoch: 0,
                rng: streams.stream(StreamId::new(streams::JOB, j as u32)),
                hold_rng: streams.stream(StreamId::new(streams::JOB_HOLD, j as u32)),
                runs: 0,
                failed_runs: 0,
                acquire_failures: 0,
                leaked: 0,
            })
            .collect();
        for (i, c) in scenario.changes.iter().enumerate() {
            queue.push(c.at, Event::Change { index: i as u32 });
        }
        let max_total = (0..scenario.pools.len())
            .map(|i| {
                scenario.instances_with(crate::scenario::PoolId(i as u16), fleet.pods) * scenario.pools[i].max_size
            })
            .sum();
        let db_usable = scenario.database.usable().unwrap_or(u32::MAX);
        // Behind a pooler the pools' connections are its clients: they are
        // limited by max_client_conn, and the database sees only the pooler's
        // server connections.
        let client_limit = scenario.database.pooler.as_ref().map_or(db_usable, |p| p.max_client_conn);
        let pooler = scenario
            .database
            .pooler
            .as_ref()
            .map(|p| pooler::Pooler::new(p, db_usable, streams.stream(StreamId::new(streams::POOLER, 0))));
        let retries = if scenario.pools.iter().any(|p| p.on_refused == OnRefused::Retry) {
            vec![connections::RetryState::default(); copies.len()]
        } else {
            Vec::new()
        };
        let warmup = SimTime::ZERO + scenario.warmup;
        let end = scenario.duration.map_or(SimTime::MAX, |d| SimTime::ZERO + d);
        let peaks_from = (warmup > SimTime::ZERO).then_some(warmup);
        let n_copies = copies.len();
        let mut sim = Simulation {
            scenario,
            queue,
            now: SimTime::ZERO,
            end,
            stop_at: peaks_from.unwrap_or(end),
            peaks_from,
            copies,
            pools,
            conns: Conns::default(),
            db: Database {
                usable: client_limit,
                open: 0,
                // Behind a pooler the pools' connections are client connections,
                // which it accepts at once; its server connections take the time.
                connect_is_zero: scenario.database.pooler.is_some()
                    || scenario.database.connect_time.constant_value() == Some(SimDuration::ZERO),
                waiting_copies: Default::default(),
            },
            classes,
            share_cdf,
            workloads,
            jobs,
            requests: Requests::default(),
            recorder: Recorder::new(scenario.bucket, max_total, warmup, n_copies, db_usable),
            used_total: 0,
            waiting_total: 0,
            max_total,
            leaked_now: 0,
            leaked_peak: 0,
            leak_warnings: 0,
            active_pods: fleet.pods,
            outstanding: vec![0; (fleet.max_pods * fleet.workers_per_pod) as usize],
            active: vec![0; (fleet.max_pods * fleet.workers_per_pod) as usize],
            worker_queues: match fleet.worker_concurrency {
                Some(_) => vec![Default::default(); (fleet.max_pods * fleet.workers_per_pod) as usize],
                None => Vec::new(),
            },
            worker_queued: 0,
            worker_queue_max: 0,
            cpu: scenario.database.cores.map(cpu::Cpu::new),
            respond_now: Vec::new(),
            inline_ok: scenario.client.is_none() && fleet.worker_concurrency.is_none(),
            woken: Vec::new(),
            retries,
            refuse_delayed: scenario.database.refuse_time.constant_value() != Some(SimDuration::ZERO),
            pooler,
            rr_next: 0,
            routing_rng: streams.stream(StreamId::new(streams::ROUTING, 0)),
            next_request_id: 0,
            events: 0,
            audit: false,
            client: ClientCounts::default(),
        };
        sim.start_fleet();
        sim
    }

    /// Checks the connection accounting after every event and panics on the
    /// first violation: for tests (it costs O(connections) per event).
    pub fn with_audit(mut self) -> Self {
        self.audit = true;
        self
    }

    /// Panics unless every connection is accounted for: per pool copy, open =
    /// idle + in use (leaked included); the database's count is the sum of
    /// every copy's open and opening connections and stays within its limit.
    fn check_invariants(&self) {
        let mut per_copy = vec![[0u32; 5]; self.copies.len()]; // opening, idle, in use, leaked, refusing
        for id in self.conns.all(|_| true) {
            let c = self.conns.get(id);
            let k = match c.state {
                ConnState::Opening => 0,
                ConnState::Idle => 1,
                ConnState::InUse => 2,
                ConnState::Leaked => 3,
                ConnState::Refusing => 4,
                ConnState::Free => unreachable!(),
            };
            per_copy[c.instance as usize][k] += 1;
        }
        let mut db = 0;
        let mut used = 0;
        let mut leaked = 0;
        for (i, (copy, n)) in self.copies.iter().zip(&per_copy).enumerate() {
            let t = self.now;
            assert_eq!(copy.opening, n[0], "t={t}: copy {i} opening");
            assert_eq!(copy.open, n[1] + n[2] + n[3], "t={t}: copy {i}: open = idle + in use + leaked");
            assert_eq!(copy.in_use, n[2] + n[3], "t={t}: copy {i} in use");
            assert_eq!(copy.refusing, n[4], "t={t}: copy {i} refusing");
            assert!(
                copy.pending() <= self.pools[copy.pool as usize].max_opening,
                "t={t}: copy {i} opens too many at once"
            );
            db += copy.open + copy.opening;
            used += copy.in_use;
            leaked += n[3];
        }
        assert_eq!(self.db.open, db, "t={}: database count", self.now);
        assert!(db <= self.db.usable, "t={}: {db} connections open, {} usable", self.now, self.db.usable);
        assert_eq!(self.used_total, used, "t={}: connections in use", self.now);
        assert_eq!(self.leaked_now, leaked, "t={}: leaked connections", self.now);
        let queued: usize = self.copies.iter().map(|c| c.waiting as usize).sum();
        assert!(self.woken.len() <= queued, "t={}: woken waiters are counted as waiting", self.now);
        if let Some(p) = &self.pooler {
            self.check_pooler(p);
        }
    }

    /// Runs to the end (the scenario's `duration`, or until nothing is left to do).
    pub fn run(mut self, mut opts: RunOptions<'_>) -> Result<RunResult, SimError> {
        const POLL_EVERY: u64 = 1 << 22;
        if let Some(interval) = opts.scrape_interval {
            let db = &self.scenario.database;
            self.recorder.scrape_every(interval, (db.max_connections, db.usable()));
        }
        // Rows of closed buckets go to their sinks in batches of about this
        // many: few enough that the rows waiting are a small, fixed amount of
        // memory (a day of 1-minute buckets is 1,440 timeline rows, ~330 KB,
        // which batches of 4,096 kept to the end), enough to make a sink's
        // call per batch cheap.
        const FLUSH_ROWS: usize = 64;
        while let Some(t) = self.queue.peek_time() {
            // One compare per event, as with `end` alone: the warm-up is looked
            // at once, when the first event at or after it is next.
            if t >= self.stop_at {
                if self.peaks_from.is_none() {
                    break;
                }
                self.start_peaks(true);
                continue;
            }
            let Some((t, ev)) = self.queue.pop() else { break };
            self.events += 1;
            if self.events > opts.max_events {
                return Err(SimError::EventBudget { events: self.events - 1, t_s: t.as_secs_f64() });
            }
            if self.events.is_multiple_of(POLL_EVERY) && opts.should_stop.is_some_and(|stop| stop()) {
                return Err(SimError::Interrupted { t_s: t.as_secs_f64() });
            }
            // Lazily cancelled timers are dropped here, before they can move the
            // clock: a run without `duration` ends at its last real event.
            if self.is_stale(ev) {
                continue;
            }
            if let Event::AcquireTimeout { instance, .. } = ev
                && !self.timeout_due(instance)
            {
                continue;
            }
            debug_assert!(t >= self.now, "the clock went back from {} to {t}", self.now);
            self.now = t;
            self.handle(ev, &mut opts)?;
            if !self.respond_now.is_empty() {
                self.respond_inline(&mut opts)?;
            }
            if self.audit {
                self.check_invariants();
            }
            if self.requests.live() > opts.max_in_flight {
                return Err(SimError::InFlight { limit: opts.max_in_flight, t_s: t.as_secs_f64() });
            }
            self.recorder.hand_off_rows(
                opts.timeline_sink.as_deref_mut(),
                opts.pool_sink.as_deref_mut(),
                FLUSH_ROWS,
            )?;
        }
        let end = if self.end == SimTime::MAX { self.now } else { self.end };
        if let Some(warmup) = self.peaks_from {
            // Nothing happened from the warm-up to the end (if it came).
            self.start_peaks(end >= warmup);
        }
        // The requests in flight that the summary counts: those that arrived from the warm-up on.
        let warmup = SimTime::ZERO + self.scenario.warmup;
        let unfinished = if warmup == SimTime::ZERO {
            self.requests.live_requests()
        } else {
            self.requests.slots_where(|r| r.job == NOT_A_JOB && r.arrival >= warmup).len() as u64
        };
        let fleet = self.fleet_summary();
        let mut rec = self.recorder.finish(end, unfinished);
        hand_off(&mut rec.timeline, opts.timeline_sink.as_deref_mut(), 0)?;
        hand_off(&mut rec.pool_rows, opts.pool_sink.as_deref_mut(), 0)?;
        let mut fleet = fleet;
        fleet.database.peak_connections = rec.db_peak_connections;
        fleet.database.refusals = rec.db_refusals;
        Ok(RunResult {
            meta: RunMeta {
                name: self.scenario.name.clone(),
                description: self.scenario.description.clone(),
                seed: opts.seed,
                scenario_hash: self.scenario.hash_hex(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                bucket_s: self.scenario.bucket.as_secs_f64(),
                events: self.events,
                acquire_timeouts_s: RunMeta::acquire_timeouts_of(self.scenario),
            },
            timeline: rec.timeline,
            summary: rec.summary,
            // Computed beside the run, by the layer above that owns theory.
            theory: None,
            fleet,
            instances: pool_instances(self.scenario),
            pool_rows: rec.pool_rows,
            scrapes: rec.scrapes,
            alerts: None,
            annotations: Vec::new(),
        })
    }

    /// The warm-up instant is reached, before any event at or after it: the
    /// peaks of the pools, leaks and worker queues start again from the
    /// levels in force now, which nothing has changed since the last event.
    /// Like the recorder's, they are then the maxima over [warmup, end) with
    /// the level at the warm-up instant counted (they only need to follow
    /// rises from there). `observed` is false for a run that ended before
    /// its warm-up: it has no peaks.
    #[cold]
    #[inline(never)]
    fn start_peaks(&mut self, observed: bool) {
        if let Some(warmup) = self.peaks_from
            && observed
        {
            self.recorder.warmup_reached(warmup);
        }
        self.peaks_from = None;
        self.stop_at = self.end;
        let level = |x: u32| if observed { x } else { 0 };
        for p in &mut self.pools {
            (p.peak_used, p.peak_open) = (level(p.used), level(p.open));
        }
        self.leaked_peak = level(self.leaked_now);
        if let Some(p) = &mut self.pooler {
            p.start_peaks(observed);
        }
        self.worker_queue_max = level(self.worker_queues.iter().map(|q| q.len() as u32).max().unwrap_or(0));
    }

    /// Whether an event was cancelled after it was scheduled.
    #[inline(always)]
    fn is_stale(&self, ev: Event) -> bool {
        match ev {
            Event::AcquireTimeout { instance, epoch } => self.copies[instance as usize].timer_epoch != epoch,
            Event::HoldDone { slot, generation } => !self.requests.is_holding(slot, generation),
            Event::Arrive { workload, epoch } => {
                matches!(&self.workloads[workload as usize].kind, WorkloadRun::Open(run) if run.epoch != epoch)
            }
            Event::Connected { conn, generation } => !self.conns.is(conn, generation, ConnState::Opening),
            Event::LeakWarning { conn, generation } => !self.conns.is(conn, generation, ConnState::Leaked),
            Event::ClientTimeout { slot, generation } => !self.requests.is_current(slot, generation),
            Event::CpuDone { epoch } => self.cpu.as_ref().is_none_or(|c| c.epoch != epoch),
            Event::Refused { conn, generation } => !self.conns.is(conn, generation, ConnState::Refusing),
            Event::RetryOpen { instance, epoch } => self.retries[instance as usize].epoch != epoch,
            Event::WakeUp { slot, generation } => !self.requests.is_in(slot, generation, request::Phase::Woken),
            Event::ServerConnected { server, generation } => {
                self.pooler.as_ref().is_none_or(|p| !p.is_opening(server, generation))
            }
            Event::QueryWaitCheck { epoch } => self.pooler.as_ref().is_none_or(|p| p.check_epoch != epoch),
            Event::PoolerOpen { epoch } => self.pooler.as_ref().is_none_or(|p| p.open_epoch != epoch),
            Event::ResetDone { slot, generation } => !self.requests.is_in(slot, generation, request::Phase::Resetting),
            Event::JobRun { job, epoch, .. } => {
                let j = &self.jobs[job as usize];
                !j.active || j.epoch != epoch
            }
            _ => false,
        }
    }

    #[inline(always)]
    fn handle(&mut self, ev: Event, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
        match ev {
            Event::Arrive { workload, .. } => self.on_arrive(workload),
            Event::Burst { workload } => {
                if let WorkloadRun::Burst { count } = self.workloads[workload as usize].kind {
                    for _ in 0..count {
                        self.start_request(workload, u32::MAX, None, 0, None);
                    }
                }
            }
            Event::UserSend { workload, user } => self.on_user_send(workload, user),
            Event::UsersChange { workload, step } => self.on_users_change(workload, step),
            Event::AcquireTimeout { instance, .. } => self.on_acquire_timeout(instance),
            Event::HoldDone { slot, generation } => self.on_hold_done(slot, generation),
            Event::Respond { slot, generation } => {
                if self.requests.is_current(slot, generation) {
                    self.finish(slot, opts)?;
                }
            }
            Event::Change { index } => self.apply_changes(index as usize),
            Event::Connected { conn, .. } => self.on_connected(conn),
            Event::IdleCheck { instance } => self.on_idle_check(instance),
            Event::JobRun { job, copy, .. } => self.on_job_run(job, copy),
            Event::LeakWarning { .. } => self.leak_warnings += 1,
            Event::ClientTimeout { slot, .. } => self.on_client_timeout(slot),
            Event::Retry { workload, class, attempt, counted_call, user } => {
                self.start_request(workload, user, Some(class as usize), attempt, Some(counted_call))
            }
            Event::CpuDone { .. } => self.on_cpu_done(),
            Event::Refused { conn, .. } => self.on_refused_open(conn),
            Event::RetryOpen { instance, .. } => self.on_retry_open(instance),
            Event::WakeUp { slot, generation } => self.on_wake_up(slot, generation),
            Event::ServerConnected { server, .. } => self.on_server_connected(server),
            Event::QueryWaitCheck { .. } => self.on_query_wait_check(),
            Event::PoolerOpen { .. } => self.pooler_open(),
            Event::ServerIdleCheck => self.on_server_idle_check(),
            Event::ResetDone { slot, generation } => self.on_reset_done(slot, generation),
        }
        Ok(())
    }

    /// Reports the totals and one copy's levels to the recorder.
    #[inline(always)]
    fn report(&mut self, instance: u32) {
        self.recorder.pool_level(self.now, self.used_total, self.waiting_total, self.max_total);
        let c = &self.copies[instance as usize];
        self.recorder.instance_level(instance as usize, c.in_use, c.idle_count(), c.waiting, c.max_size);
    }

    /// Opens `min_idle` connections of every active pool copy and schedules the
    /// jobs that start on their own.
    pub(super) fn start_fleet(&mut self) {
        for i in 0..self.copies.len() as u32 {
            let pool = self.copies[i as usize].pool as usize;
            let min_idle = self.pools[pool].min_idle;
            if self.copies[i as usize].draining {
                continue;
            }
            if self.pools[pool].max_opening != u32::MAX && !self.db.connect_is_zero {
                // One (or a few) at a time: each connect starts the next (`fill`).
                self.fill(i);
                continue;
            }
            for _ in 0..min_idle {
                let Some(conn) = self.open_conn(i) else {
                    self.fill_refused(i);
                    break;
                };
                self.connect(conn);
            }
        }
        for (j, spec) in self.scenario.jobs.iter().enumerate() {
            if let Some(at) = spec.start {
                self.start_job(j as u16, at);
            }
        }
    }
}
