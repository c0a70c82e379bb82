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

mod cpu;
mod fleet;
pub mod pool;
mod request;

use crate::engine::queue::Lane;
use crate::engine::{EventQueue, RngStreams, SimDuration, SimTime, StreamId, StreamRng};
use crate::metrics::{
    Bucket, Outcome, PoolRow, Recorder, RequestRecord, RequestSink, RowSink, RunMeta, RunResult, hand_off,
};
use crate::scenario::{OnRefused, Scenario, Scope, WorkloadKind};
use crate::workload::{ArrivalProcess, Dist, RateProfile, UserSchedule};
use pool::{ConnState, Conns, PoolCopy, Waiter};
use request::{NOT_A_JOB, NewRequest, Phase, Requests};

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
    Retry { workload: u16, class: u16, attempt: u16, user: u32 },
    /// The next query at the database's CPU may be done (stale if the epoch moved on).
    CpuDone { epoch: u32 },
}

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
}

/// Per-class settings that timed changes may replace.
struct ClassState {
    pool: usize,
    hold: Dist,
    overhead: Dist,
    overhead_is_zero: bool,
    priority: usize,
    statement_timeout: SimDuration,
    /// The queue lane of its responses (they come in time order while the overhead is constant).
    respond_lane: Option<Lane>,
}

/// Run-time state of a workload.
struct WorkloadState {
    class: Option<usize>,
    kind: WorkloadRun,
    hold_rng: StreamRng,
    overhead_rng: StreamRng,
    class_rng: StreamRng,
    retry_rng: StreamRng,
}

enum WorkloadRun {
    Burst { count: u64 },
    Open(OpenRun),
    Closed(ClosedRun),
}

struct OpenRun {
    /// When the workload starts.
    from: SimTime,
    /// Start of the current profile (moves when the rate changes).
    origin: SimTime,
    until: SimTime,
    profile: RateProfile,
    process: ArrivalProcess,
    rng: StreamRng,
    /// Position of the last arrival in seconds after `origin`.
    pos_s: f64,
    hint: usize,
    epoch: u32,
    /// The queue lane of its arrivals (one pending at a time, in time order).
    lane: Option<Lane>,
    /// The arrival after the pending one, worked out one arrival early: its
    /// draw and its time under the current profile (see [`OpenRun::next_arrival`]).
    ahead: Option<(f64, Option<SimTime>)>,
}

struct ClosedRun {
    start: SimTime,
    schedule: UserSchedule,
    think: Dist,
    think_rng: StreamRng,
    target: u32,
    /// Whether each user has a request (or think time) in progress.
    busy: Vec<bool>,
    sent: u64,
    max_requests: Option<u64>,
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
    used: u32,
    open: u32,
    peak_used: u32,
    peak_open: u32,
    timeouts: u64,
    opened: u64,
    closed: u64,
}

/// Run-time state of a background job.
struct JobState {
    active: bool,
    epoch: u32,
    rng: StreamRng,
    hold_rng: StreamRng,
    runs: u64,
    failed_runs: u64,
    acquire_failures: u64,
    leaked: u64,
}

/// The database server.
struct Database {
    /// Connections applications may open (`u32::MAX`: no limit).
    usable: u32,
    /// Open or opening.
    open: u32,
    connect_is_zero: bool,
    /// Pool copies waiting for a free slot (on_refused: wait), oldest first.
    waiting_copies: std::collections::VecDeque<u32>,
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
    rr_next: u32,
    routing_rng: StreamRng,
    next_request_id: u64,
    events: u64,
    audit: bool,
    client: ClientCounts,
}

/// What the clients saw (with a `client:` block).
#[derive(Debug, Default, Clone, Copy)]
struct ClientCounts {
    calls: u64,
    retries: u64,
    succeeded: u64,
    gave_up: u64,
    timeouts: u64,
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
            .map(|(j, _)| JobState {
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
                usable: db_usable,
                open: 0,
                connect_is_zero: scenario.database.connect_time.constant_value() == Some(SimDuration::ZERO),
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
        let mut per_copy = vec![[0u32; 4]; self.copies.len()]; // opening, idle, in use, leaked
        for id in self.conns.all(|_| true) {
            let c = self.conns.get(id);
            let k = match c.state {
                ConnState::Opening => 0,
                ConnState::Idle => 1,
                ConnState::InUse => 2,
                ConnState::Leaked => 3,
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
            db += copy.open + copy.opening;
            used += copy.in_use;
            leaked += n[3];
        }
        assert_eq!(self.db.open, db, "t={}: database count", self.now);
        assert!(db <= self.db.usable, "t={}: {db} connections open, {} usable", self.now, self.db.usable);
        assert_eq!(self.used_total, used, "t={}: connections in use", self.now);
        assert_eq!(self.leaked_now, leaked, "t={}: leaked connections", self.now);
    }

    /// Runs to the end (the scenario's `duration`, or until nothing is left to do).
    pub fn run(mut self, mut opts: RunOptions<'_>) -> Result<RunResult, SimError> {
        const POLL_EVERY: u64 = 1 << 22;
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
        let instances = self.instances();
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
            },
            timeline: rec.timeline,
            summary: rec.summary,
            theory: crate::theory::fit::predict(self.scenario),
            fleet,
            instances,
            pool_rows: rec.pool_rows,
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
        self.peaks_from = None;
        self.stop_at = self.end;
        let level = |x: u32| if observed { x } else { 0 };
        for p in &mut self.pools {
            (p.peak_used, p.peak_open) = (level(p.used), level(p.open));
        }
        self.leaked_peak = level(self.leaked_now);
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
                        self.start_request(workload, u32::MAX, None, 0);
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
            Event::Retry { workload, class, attempt, user } => {
                self.start_request(workload, user, Some(class as usize), attempt)
            }
            Event::CpuDone { .. } => self.on_cpu_done(),
        }
        Ok(())
    }

    fn on_arrive(&mut self, workload: u16) {
        let WorkloadRun::Open(run) = &mut self.workloads[workload as usize].kind else { return };
        let next = run.next_arrival();
        if let Some(t) = next {
            self.queue.push_in(run.lane, t, Event::Arrive { workload, epoch: run.epoch });
        }
        self.start_request(workload, u32::MAX, None, 0);
    }

    fn on_user_send(&mut self, workload: u16, user: u32) {
        let WorkloadRun::Closed(run) = &mut self.workloads[workload as usize].kind else { return };
        let retired = user >= run.target;
        let exhausted = run.max_requests.is_some_and(|m| run.sent >= m);
        if retired || exhausted {
            run.busy[user as usize] = false;
            return;
        }
        run.sent += 1;
        self.start_request(workload, user, None, 0);
    }

    fn on_users_change(&mut self, workload: u16, step: u32) {
        let now = self.now;
        let WorkloadRun::Closed(run) = &mut self.workloads[workload as usize].kind else { return };
        let (_, target) = run.schedule.changes[step as usize];
        let old = run.target;
        run.target = target;
        if run.busy.len() < target as usize {
            run.busy.resize(target as usize, false);
        }
        // Users that join (or rejoin) and are idle start now; a user still busy
        // from before keeps going when its response arrives.
        for user in old..target {
            if !run.busy[user as usize] {
                run.busy[user as usize] = true;
                self.queue.push(now, Event::UserSend { workload, user });
            }
        }
        if let Some(&(at, _)) = run.schedule.changes.get(step as usize + 1) {
            let t = run.start + SimDuration::from_secs_f64(at);
            self.queue.push(t, Event::UsersChange { workload, step: step + 1 });
        }
    }

    /// A request arrives: pick its class (a retry keeps its call's) and worker,
    /// then ask its pool copy for a connection.
    fn start_request(&mut self, workload: u16, user: u32, class: Option<usize>, attempt: u16) {
        let now = self.now;
        let class = class.unwrap_or_else(|| self.pick_class(workload));
        let worker = self.route();
        let instance = self.copy_for(self.classes[class].pool, worker);
        let id = self.next_request_id;
        self.next_request_id += 1;
        let (slot, generation) = self.requests.insert(NewRequest {
            id,
            workload,
            job: NOT_A_JOB,
            user,
            class: class as u16,
            worker,
            instance,
            error: false,
            attempt,
            arrival: now,
        });
        self.outstanding[worker as usize] += 1;
        if let Some(c) = &self.scenario.client {
            if attempt == 0 {
                self.client.calls += 1;
            }
            if let Some(t) = c.timeout {
                self.queue.push(now + t, Event::ClientTimeout { slot, generation });
            }
        }
        self.recorder.arrival(now);
        if let Some(limit) = self.scenario.fleet.worker_concurrency
            && self.active[worker as usize] >= limit
        {
            // A busy sync worker: the request waits for it before asking the pool.
            self.requests.get_mut(slot).phase = Phase::AtWorker;
            let q = &mut self.worker_queues[worker as usize];
            q.push_back((slot, generation));
            self.worker_queued += 1;
            self.worker_queue_max = self.worker_queue_max.max(q.len() as u32);
            return;
        }
        self.active[worker as usize] += 1;
        let priority = self.classes[class].priority;
        self.acquire(slot, generation, instance, priority);
    }

    /// A worker freed a slot: its oldest queued request asks its pool now.
    fn next_at_worker(&mut self, worker: u32) {
        let Some((slot, generation)) = self.worker_queues.get_mut(worker as usize).and_then(|q| q.pop_front()) else {
            return;
        };
        self.active[worker as usize] += 1;
        let class = self.requests.get(slot).class as usize;
        let instance = self.copy_for(self.classes[class].pool, worker);
        let r = self.requests.get_mut(slot);
        r.phase = Phase::Waiting;
        r.entered = self.now;
        r.wait_end = self.now;
        r.instance = instance;
        let priority = self.classes[class].priority;
        self.acquire(slot, generation, instance, priority);
    }

    /// The class of a request: the workload's own, or drawn by the classes' shares.
    #[inline]
    fn pick_class(&mut self, workload: u16) -> usize {
        let w = &mut self.workloads[workload as usize];
        match w.class {
            Some(c) => c,
            None if self.share_cdf.len() == 1 => 0,
            None => {
                let u = w.class_rng.unit();
                self.share_cdf.iter().position(|&c| u < c).unwrap_or(self.share_cdf.len() - 1)
            }
        }
    }

    /// Asks pool copy `instance` for a connection: an idle one, a new one, or a
    /// place in the queue (or a 503 at once with a zero acquire timeout).
    fn acquire(&mut self, slot: u32, generation: u32, instance: u32, priority: usize) {
        let now = self.now;
        // A new request never overtakes a waiter.
        if self.copies[instance as usize].waiting == 0 {
            if let Some(conn) = self.pop_idle(instance) {
                self.grant(slot, generation, conn);
                return;
            }
            if self.db.connect_is_zero && self.can_open(instance) && !self.copies[instance as usize].wants_db {
                match self.open_conn(instance) {
                    Some(conn) => {
                        self.established(conn);
                        self.grant(slot, generation, conn);
                        return;
                    }
                    None => {
                        let pool = self.copies[instance as usize].pool as usize;
                        if self.pools[pool].on_refused == OnRefused::Fail {
                            self.refused(slot, generation);
                            return;
                        }
                        // Wait for a free slot at the database, queued like any waiter.
                        self.copies[instance as usize].wants_db = true;
                        self.db.waiting_copies.push_back(instance);
                    }
                }
            }
        }
        let is_request = self.requests.get(slot).job == NOT_A_JOB;
        if is_request {
            self.recorder.queued(self.requests.get(slot).arrival);
        }
        let copy = &mut self.copies[instance as usize];
        if copy.acquire_timeout.is_zero() {
            self.gave_up(slot, generation, instance, SimDuration::ZERO);
            return;
        }
        // The waiter takes the sequence number its own timeout event would have
        // had: the copy's one timer then times waiters out in exactly that order.
        let deadline = if copy.acquire_timeout == SimDuration::MAX {
            u128::MAX
        } else {
            let seq = self.queue.reserve_seq();
            (u128::from((now + copy.acquire_timeout).0) << 64) | u128::from(seq)
        };
        copy.enqueue(Waiter { slot, generation, deadline }, priority);
        if deadline < copy.timer {
            self.arm_timer(instance, deadline);
        }
        self.waiting_total += 1;
        self.open_for_waiters(instance, Some((slot, generation)));
        self.report(instance);
    }

    /// Whether the copy may open one more connection (pool limits only).
    #[inline]
    fn can_open(&self, instance: u32) -> bool {
        let c = &self.copies[instance as usize];
        !c.draining && c.total() < c.max_size + self.pools[c.pool as usize].max_overflow
    }

    /// Takes a slot at the database for a new connection of `instance`, in
    /// state `Opening` (`opening` counted); `None` when the database is full
    /// (the refusal is recorded).
    fn open_conn(&mut self, instance: u32) -> Option<u32> {
        if self.db.open >= self.db.usable {
            self.recorder.refusal(self.now);
            return None;
        }
        self.db.open += 1;
        self.recorder.db_level(self.now, self.db.open);
        let conn = self.conns.open(instance, self.now);
        let copy = &mut self.copies[instance as usize];
        copy.opening += 1;
        let pool = &mut self.pools[copy.pool as usize];
        pool.opened += 1;
        Some(conn)
    }

    /// Starts connections for waiters that no connection is coming for yet.
    /// `trigger` is the request that just started waiting: with `on_refused:
    /// fail` it is the one that fails when the database refuses.
    ///
    /// The common answer, nothing to open, is worked out inline (every
    /// request that waits asks); the rest is out of line.
    #[inline(always)]
    fn open_for_waiters(&mut self, instance: u32, trigger: Option<(u32, u32)>) {
        if self.opens_for_waiters(instance) {
            self.open_more_for_waiters(instance, trigger);
        }
    }

    /// Whether the copy should open a connection for its waiters: more of them
    /// wait than connections are being opened, the pool has room, and the copy
    /// is not already waiting for the database to free a slot.
    #[inline(always)]
    fn opens_for_waiters(&self, instance: u32) -> bool {
        let c = &self.copies[instance as usize];
        c.opening < c.waiting && self.can_open(instance) && !c.wants_db
    }

    /// [`open_for_waiters`](Self::open_for_waiters) once a connection may be opened.
    #[inline(never)]
    fn open_more_for_waiters(&mut self, instance: u32, trigger: Option<(u32, u32)>) {
        while self.opens_for_waiters(instance) {
            match self.open_conn(instance) {
                Some(conn) => self.connect(conn),
                None => {
                    let pool = self.copies[instance as usize].pool as usize;
                    match self.pools[pool].on_refused {
                        OnRefused::Fail => {
                            if let Some((slot, generation)) = trigger
                                && self.requests.is_waiting(slot, generation)
                            {
                                self.leave_queue(slot, instance);
                                self.refused(slot, generation);
                            }
                        }
                        OnRefused::Wait => {
                            self.copies[instance as usize].wants_db = true;
                            self.db.waiting_copies.push_back(instance);
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Lets a connection taken by `open_conn` connect: at once without a
    /// connect time, else after a draw from its pool's connect-time stream.
    fn connect(&mut self, conn: u32) {
        if self.db.connect_is_zero {
            self.on_connected(conn);
        } else {
            let pool = &mut self.pools[self.copies[self.conns.get(conn).instance as usize].pool as usize];
            let d = self.scenario.database.connect_time.sample(&mut pool.connect_rng);
            let generation = self.conns.get(conn).generation;
            self.queue.push(self.now + d, Event::Connected { conn, generation });
        }
    }

    /// A new connection is established: it goes to the next waiter, or idles.
    fn on_connected(&mut self, conn: u32) {
        let instance = self.established(conn);
        self.hand_over(conn, instance);
        self.report(instance);
    }

    /// Counts a connection that finished connecting as open; returns its copy.
    fn established(&mut self, conn: u32) -> u32 {
        let instance = self.conns.get(conn).instance;
        self.conns.get_mut(conn).created = self.now;
        let c = &mut self.copies[instance as usize];
        c.opening -= 1;
        c.open += 1;
        let pool = &mut self.pools[c.pool as usize];
        pool.open += 1;
        pool.peak_open = pool.peak_open.max(pool.open);
        instance
    }

    /// Gives a free connection to the next live waiter, or makes it idle.
    /// Returns whether a waiter got it (`grant` then reported the copy's levels).
    fn hand_over(&mut self, conn: u32, instance: u32) -> bool {
        let requests = &self.requests;
        if let Some(w) = self.copies[instance as usize].next_waiter(|w| requests.is_waiting(w.slot, w.generation)) {
            self.waiting_total -= 1;
            self.grant(w.slot, w.generation, conn);
            true
        } else {
            self.make_idle(conn, instance);
            false
        }
    }

    /// The request (or job acquisition) in `slot` gets `conn` and starts its hold.
    fn grant(&mut self, slot: u32, generation: u32, conn: u32) {
        let now = self.now;
        let instance = self.conns.get(conn).instance;
        let c = self.conns.get_mut(conn);
        c.state = ConnState::InUse;
        c.since = now;
        c.holder = slot;
        let copy = &mut self.copies[instance as usize];
        copy.in_use += 1;
        let pool = &mut self.pools[copy.pool as usize];
        pool.used += 1;
        pool.peak_used = pool.peak_used.max(pool.used);
        self.used_total += 1;
        let r = self.requests.get_mut(slot);
        r.phase = Phase::Holding;
        r.acquired = Some(now);
        r.wait_end = now;
        r.conn = conn;
        let wait = now - r.entered;
        // The hold, and whether holds of its kind end in the order they start.
        let (hold, in_order) = if r.job == NOT_A_JOB {
            self.recorder.acquired(now, wait, r.arrival);
            let w = &mut self.workloads[r.workload as usize];
            let class = &self.classes[r.class as usize];
            // Drawn at acquire time with the class's *current* hold distribution: the
            // lab's app reads its work time when the handler runs.
            let hold = class.hold.sample(&mut w.hold_rng);
            let hold = if hold > class.statement_timeout {
                r.cut = true;
                class.statement_timeout
            } else {
                hold
            };
            (hold, class.hold.constant_value().is_some())
        } else {
            let job = &mut self.jobs[r.job as usize];
            let dist = &self.scenario.jobs[r.job as usize].hold;
            (dist.sample(&mut job.hold_rng), dist.constant_value().is_some())
        };
        self.report(instance);
        match &mut self.cpu {
            Some(cpu) => {
                cpu.advance(now);
                cpu.start(slot, generation, hold.0);
                self.cpu_reschedule();
            }
            // Constant holds may extend a lane; random ones skip the lanes' checks.
            None if in_order => self.queue.push(now + hold, Event::HoldDone { slot, generation }),
            None => self.queue.push_unordered(now + hold, Event::HoldDone { slot, generation }),
        }
    }

    /// Queries at the database's CPU are done: their holds end.
    fn on_cpu_done(&mut self) {
        let Some(cpu) = &mut self.cpu else { return };
        cpu.advance(self.now);
        let requests = &self.requests;
        let done = cpu.finished(|s, g| requests.is_holding(s, g));
        for (slot, generation) in done {
            self.on_hold_done(slot, generation);
        }
        self.cpu_reschedule();
    }

    /// Schedules the wake-up for the next query to finish at the current speed.
    fn cpu_reschedule(&mut self) {
        let now = self.now;
        let Some(cpu) = &mut self.cpu else { return };
        cpu.epoch = cpu.epoch.wrapping_add(1);
        let requests = &self.requests;
        if let Some(t) = cpu.next_finish(now, |s, g| requests.is_holding(s, g)) {
            let epoch = cpu.epoch;
            self.queue.push(t, Event::CpuDone { epoch });
        }
    }

    /// A holder's query is cancelled under it (a kill or its pool closing).
    pub(super) fn cpu_cancel(&mut self) {
        if let Some(cpu) = &mut self.cpu {
            cpu.advance(self.now);
            cpu.cancel();
            self.cpu_reschedule();
        }
    }

    /// Schedules the copy's timer for the waiter with this deadline key.
    fn arm_timer(&mut self, instance: u32, deadline: u128) {
        let copy = &mut self.copies[instance as usize];
        copy.timer = deadline;
        copy.timer_epoch = copy.timer_epoch.wrapping_add(1);
        let event = Event::AcquireTimeout { instance, epoch: copy.timer_epoch };
        self.queue.push_with_seq(SimTime((deadline >> 64) as u64), deadline as u64, event);
    }

    /// A copy's timer fired: whether the waiter it was armed for still waits.
    /// If that one got its connection (or left), nothing happens now: the timer
    /// moves on to the live waiter that gives up first, with that waiter's key.
    /// Served waiters thus cost nothing, and timeouts fire in the order one
    /// event per waiter would give.
    fn timeout_due(&mut self, instance: u32) -> bool {
        let requests = &self.requests;
        let copy = &mut self.copies[instance as usize];
        let armed = std::mem::replace(&mut copy.timer, u128::MAX);
        match copy.first_deadline(|w| requests.is_waiting(w.slot, w.generation)) {
            Some(w) if w.deadline == armed => true,
            Some(w) if w.deadline != u128::MAX => {
                self.arm_timer(instance, w.deadline);
                false
            }
            _ => false,
        }
    }

    /// The copy's first waiter reached its deadline: it gives up, and the timer
    /// moves on to the next one.
    fn on_acquire_timeout(&mut self, instance: u32) {
        let requests = &self.requests;
        let live = |w: Waiter| requests.is_waiting(w.slot, w.generation);
        let Some(w) = self.copies[instance as usize].first_deadline(live) else { return };
        self.on_timeout(w.slot, w.generation);
        let requests = &self.requests;
        let live = |w: Waiter| requests.is_waiting(w.slot, w.generation);
        if let Some(next) = self.copies[instance as usize].first_deadline(live)
            && next.deadline < self.copies[instance as usize].timer
        {
            self.arm_timer(instance, next.deadline);
        }
    }

    /// A waiting request gives up.
    fn on_timeout(&mut self, slot: u32, generation: u32) {
        let instance = self.requests.get(slot).instance;
        let wait = self.now - self.requests.get(slot).entered;
        self.leave_queue(slot, instance);
        self.gave_up(slot, generation, instance, wait);
        self.report(instance);
    }

    /// Takes a waiting request out of its copy's queue (lazily).
    fn leave_queue(&mut self, slot: u32, instance: u32) {
        // Mark it first so the queue sees it as gone.
        self.requests.get_mut(slot).phase = Phase::Responding(Outcome::TimedOut);
        let requests = &self.requests;
        self.copies[instance as usize].abandon(|w| requests.is_waiting(w.slot, w.generation));
        self.waiting_total -= 1;
    }

    /// The request waited `wait` (its acquire timeout) and gets a 503.
    fn gave_up(&mut self, slot: u32, generation: u32, instance: u32, wait: SimDuration) {
        let now = self.now;
        let r = self.requests.get_mut(slot);
        r.wait_end = now;
        let (arrival, job) = (r.arrival, r.job);
        let pool = self.copies[instance as usize].pool as usize;
        self.pools[pool].timeouts += 1;
        if job == NOT_A_JOB {
            self.recorder.timed_out(now, wait, arrival, instance as usize);
            self.begin_response(slot, generation, Outcome::TimedOut);
        } else {
            self.job_acquire_failed(slot);
        }
    }

    /// The database refused the connection this request needed (on_refused: fail).
    fn refused(&mut self, slot: u32, generation: u32) {
        let r = self.requests.get_mut(slot);
        r.wait_end = self.now;
        if r.job == NOT_A_JOB {
            self.begin_response(slot, generation, Outcome::Refused);
        } else {
            self.job_acquire_failed(slot);
        }
    }

    fn on_hold_done(&mut self, slot: u32, generation: u32) {
        let r = *self.requests.get(slot);
        if r.job != NOT_A_JOB {
            self.job_hold_done(slot);
            return;
        }
        self.release(r.conn);
        let outcome = if r.cut { Outcome::StatementTimeout } else { Outcome::Ok };
        self.begin_response(slot, generation, outcome);
    }

    /// A checked-out connection comes back to its pool.
    fn release(&mut self, conn: u32) {
        let now = self.now;
        let c = *self.conns.get(conn);
        let instance = c.instance;
        let copy = &mut self.copies[instance as usize];
        copy.in_use -= 1;
        let pool = &mut self.pools[copy.pool as usize];
        pool.used -= 1;
        self.used_total -= 1;
        if now - c.since > pool.leak_threshold {
            self.leak_warnings += 1;
        }
        let expired = now - c.created >= pool.max_lifetime;
        let cap = self.copies[instance as usize].max_size + pool.max_overflow;
        let copy = &self.copies[instance as usize];
        // Closed when it may not be handed out again: past its lifetime, its pod
        // scaled in (once nobody waits there), the pool shrunk below what is in
        // use, or an overflow connection nobody waits for (SQLAlchemy hands
        // those to waiters).
        let surplus = copy.in_use >= cap || (copy.open > copy.max_size && copy.waiting == 0);
        // A scaled-in pod still serves the requests already queued there.
        let drained = copy.draining && copy.waiting == 0;
        let reported = if expired || drained || surplus {
            self.close_conn(conn);
            self.open_for_waiters(instance, None);
            false
        } else {
            self.hand_over(conn, instance)
        };
        // A grant reports the levels as they end up: a second report would repeat it.
        if !reported {
            self.report(instance);
        }
    }

    /// An idle connection, most recently used first; expired ones are closed on the way.
    fn pop_idle(&mut self, instance: u32) -> Option<u32> {
        loop {
            let (conn, generation) = self.copies[instance as usize].idle.pop_back()?;
            if !self.conns.is(conn, generation, ConnState::Idle) {
                continue;
            }
            let lifetime = self.pools[self.copies[instance as usize].pool as usize].max_lifetime;
            if self.now - self.conns.get(conn).created >= lifetime {
                self.close_conn(conn);
                continue;
            }
            return Some(conn);
        }
    }

    fn make_idle(&mut self, conn: u32, instance: u32) {
        let now = self.now;
        let c = self.conns.get_mut(conn);
        c.state = ConnState::Idle;
        c.since = now;
        let generation = c.generation;
        let copy = &mut self.copies[instance as usize];
        copy.idle.push_back((conn, generation));
        let timeout = self.pools[copy.pool as usize].idle_timeout;
        if timeout != SimDuration::MAX && !copy.idle_check_armed {
            copy.idle_check_armed = true;
            self.queue.push_timer(now + timeout, Event::IdleCheck { instance });
        }
    }

    /// Closes idle connections that reached the idle timeout (keeping `min_idle`).
    fn on_idle_check(&mut self, instance: u32) {
        let now = self.now;
        let pool = self.copies[instance as usize].pool as usize;
        let (timeout, min_idle) = (self.pools[pool].idle_timeout, self.pools[pool].min_idle);
        self.copies[instance as usize].idle_check_armed = false;
        while let Some(&(conn, generation)) = self.copies[instance as usize].idle.front() {
            if !self.conns.is(conn, generation, ConnState::Idle) {
                self.copies[instance as usize].idle.pop_front();
                continue;
            }
            if self.copies[instance as usize].open <= min_idle {
                return;
            }
            let due = self.conns.get(conn).since + timeout;
            if due > now {
                self.copies[instance as usize].idle_check_armed = true;
                self.queue.push_timer(due, Event::IdleCheck { instance });
                return;
            }
            self.copies[instance as usize].idle.pop_front();
            self.close_conn(conn);
        }
        self.report(instance);
    }

    /// Closes a connection (idle, opening or already released from its holder)
    /// and frees its database slot.
    fn close_conn(&mut self, conn: u32) {
        let c = *self.conns.get(conn);
        let copy = &mut self.copies[c.instance as usize];
        if c.state == ConnState::Opening {
            copy.opening -= 1;
        } else {
            copy.open -= 1;
        }
        let pool = &mut self.pools[copy.pool as usize];
        pool.closed += 1;
        if c.state != ConnState::Opening {
            pool.open -= 1;
        }
        self.conns.close(conn);
        self.db.open -= 1;
        self.recorder.db_level(self.now, self.db.open);
        self.report(c.instance);
        // A freed slot lets a pool that waits for the database open at once.
        while self.db.open < self.db.usable {
            let Some(next) = self.db.waiting_copies.pop_front() else { break };
            self.copies[next as usize].wants_db = false;
            self.open_for_waiters(next, None);
        }
    }

    /// The request is done with the pool; its response leaves after the overhead.
    fn begin_response(&mut self, slot: u32, generation: u32, outcome: Outcome) {
        let r = self.requests.get_mut(slot);
        r.phase = Phase::Responding(outcome);
        let w = &mut self.workloads[r.workload as usize];
        let class = &self.classes[r.class as usize];
        if class.overhead_is_zero {
            // No overhead: answer at this same instant, without drawing from the
            // stream. A response that schedules nothing is answered right after
            // the current event: responses keep their order among themselves
            // and nothing else can observe the difference.
            if self.inline_ok && r.user == u32::MAX {
                self.respond_now.push((slot, generation));
            } else {
                self.queue.push(self.now, Event::Respond { slot, generation });
            }
        } else {
            let overhead = class.overhead.sample(&mut w.overhead_rng);
            self.queue.push_in(class.respond_lane, self.now + overhead, Event::Respond { slot, generation });
        }
    }

    /// Answers the responses queued by `begin_response` during the last event, in order.
    fn respond_inline(&mut self, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
        for i in 0..self.respond_now.len() {
            let (slot, generation) = self.respond_now[i];
            if self.requests.is_current(slot, generation) {
                self.finish(slot, opts)?;
            }
        }
        self.respond_now.clear();
        Ok(())
    }

    /// The response leaves: record it, free the slot, and let a virtual user go on.
    fn finish(&mut self, slot: u32, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
        let now = self.now;
        // Field by field, not a copy of the whole request: its phase was
        // written during this same event, and a wide load over that narrow
        // store would wait for it to retire.
        let r = self.requests.get(slot);
        let Phase::Responding(outcome) = r.phase else {
            self.requests.free(slot);
            return Ok(());
        };
        let (worker, workload, user, arrival, abandoned) = (r.worker, r.workload, r.user, r.arrival, r.abandoned);
        let record = opts.sink.is_some().then(|| RequestRecord {
            id: r.id,
            workload,
            arrival,
            acquired: r.acquired,
            wait: r.wait_end - r.entered,
            finished: now,
            outcome,
        });
        // What a retry needs, copied only with a client block (the copy is
        // the wide load this function avoids).
        let call = if self.scenario.client.is_some() { Some(*r) } else { None };
        self.requests.free(slot);
        self.outstanding[worker as usize] -= 1;
        self.active[worker as usize] -= 1;
        self.recorder.responded(now, now - arrival, outcome, arrival);
        if let (Some(sink), Some(record)) = (opts.sink.as_deref_mut(), record) {
            sink.record(&record)?;
        }
        self.next_at_worker(worker);
        if abandoned {
            return Ok(()); // the client gave up on it already
        }
        if let Some(r) = call {
            if outcome == Outcome::Ok {
                self.client.succeeded += 1;
            } else if self.retry(&r, outcome == Outcome::TimedOut, false) {
                return Ok(());
            } else {
                self.client.gave_up += 1;
            }
        }
        self.user_goes_on(workload, user);
        Ok(())
    }

    /// A virtual user whose call is over sends its next request after its think time
    /// (nothing for a request of an open workload or a burst).
    #[inline(always)]
    fn user_goes_on(&mut self, workload: u16, user: u32) {
        if user != u32::MAX {
            self.user_thinks(workload, user);
        }
    }

    fn user_thinks(&mut self, workload: u16, user: u32) {
        let now = self.now;
        let w = &mut self.workloads[workload as usize];
        if let WorkloadRun::Closed(run) = &mut w.kind {
            let think = run.think.sample(&mut run.think_rng);
            self.queue.push(now + think, Event::UserSend { workload, user });
        }
    }

    /// The client stops waiting: the server keeps the request; the client retries or gives up.
    fn on_client_timeout(&mut self, slot: u32) {
        let r = *self.requests.get(slot);
        self.requests.get_mut(slot).abandoned = true;
        self.client.timeouts += 1;
        if !self.retry(&r, false, true) {
            self.client.gave_up += 1;
            self.user_goes_on(r.workload, r.user);
        }
    }

    /// Schedules the next attempt of a failed call if the client retries this
    /// failure and has retries left; returns whether it did.
    fn retry(&mut self, r: &request::Request, unavailable: bool, timeout: bool) -> bool {
        let Some(c) = &self.scenario.client else { return false };
        let wanted = if timeout {
            c.retry_on.timeout
        } else if unavailable {
            c.retry_on.unavailable
        } else {
            c.retry_on.errors
        };
        if !wanted || u32::from(r.attempt) >= c.retries {
            return false;
        }
        let exp = SimDuration::from_secs_f64(c.backoff.as_secs_f64() * 2f64.powi(i32::from(r.attempt)));
        let b = exp.min(c.max_backoff);
        let rng = &mut self.workloads[r.workload as usize].retry_rng;
        let wait = match c.jitter {
            crate::scenario::Jitter::None => b,
            crate::scenario::Jitter::Full => SimDuration::from_secs_f64(b.as_secs_f64() * rng.unit()),
            crate::scenario::Jitter::Equal => SimDuration::from_secs_f64(b.as_secs_f64() * (0.5 + 0.5 * rng.unit())),
        };
        self.client.retries += 1;
        self.recorder.retry(self.now);
        let ev = Event::Retry { workload: r.workload, class: r.class, attempt: r.attempt + 1, user: r.user };
        self.queue.push(self.now + wait, ev);
        true
    }

    /// Reports the totals and one copy's levels to the recorder.
    #[inline(always)]
    fn report(&mut self, instance: u32) {
        self.recorder.pool_level(self.now, self.used_total, self.waiting_total, self.max_total);
        let c = &self.copies[instance as usize];
        self.recorder.instance_level(instance as usize, c.in_use, c.idle_count(), c.waiting);
    }
}

impl OpenRun {
    /// Advances to the next arrival; `None` when the profile never reaches it
    /// before `until`.
    ///
    /// The answer was usually worked out by the previous call (`ahead`), which
    /// then works out the one after: the float work from the draw to the time
    /// (a division, a rounding) is thus off the path from one event to the
    /// next, and the queue gets the new arrival's key at once. Each call still
    /// takes the stream's next draw, in the same order, so the arrivals are
    /// the same as computing each one when it is due.
    #[inline]
    fn next_arrival(&mut self) -> Option<SimTime> {
        let t = match self.ahead.take() {
            Some((_, t)) => t,
            None => {
                let budget = self.draw();
                self.arrival_after(budget)
            }
        };
        if t.is_some() {
            let budget = self.draw();
            self.ahead = Some((budget, self.arrival_after(budget)));
        }
        t
    }

    /// The rate becomes `rate` at `now`: the pending arrival is cancelled (a
    /// new epoch) and the next one is worked out under the new rate, from the
    /// draw already taken for the next call if there is one. With a zero rate
    /// nothing is drawn, and a draw taken ahead is kept for the next change.
    fn set_rate(&mut self, now: SimTime, rate: f64) -> Option<SimTime> {
        // Before the workload starts, the new rate applies from its start.
        self.origin = now.max(self.from);
        self.profile = RateProfile::constant(rate);
        self.pos_s = 0.0;
        self.hint = 0;
        self.epoch += 1;
        let drawn = self.ahead.take().map(|(budget, _)| budget);
        if rate <= 0.0 {
            self.ahead = drawn.map(|budget| (budget, None));
            return None;
        }
        let budget = drawn.unwrap_or_else(|| self.draw());
        self.ahead = Some((budget, self.arrival_after(budget)));
        self.next_arrival()
    }

    /// The growth of the cumulative rate to the next arrival: 1, or an Exp(1) draw.
    #[inline(always)]
    fn draw(&mut self) -> f64 {
        match self.process {
            ArrivalProcess::Constant => 1.0,
            ArrivalProcess::Poisson => self.rng.exp1(),
        }
    }

    /// The arrival `budget` after the last one, which it becomes.
    #[inline(always)]
    fn arrival_after(&mut self, budget: f64) -> Option<SimTime> {
        let pos = self.profile.advance(self.pos_s, budget, &mut self.hint)?;
        self.pos_s = pos;
        let t = self.origin + SimDuration::from_secs_f64(pos);
        (t < self.until).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_run(process: ArrivalProcess, seed: u64) -> OpenRun {
        OpenRun {
            from: SimTime::ZERO + SimDuration::from_secs(5),
            origin: SimTime::ZERO + SimDuration::from_secs(5),
            until: SimTime::ZERO + SimDuration::from_secs(20_000),
            profile: RateProfile::constant(9.0),
            process,
            rng: RngStreams::new(seed).stream(StreamId::new(StreamId::ARRIVALS, 0)),
            pos_s: 0.0,
            hint: 0,
            epoch: 0,
            lane: None,
            ahead: None,
        }
    }

    /// What `next_arrival` did before it worked one arrival ahead.
    fn when_due(run: &mut OpenRun) -> Option<SimTime> {
        let budget = run.draw();
        run.arrival_after(budget)
    }

    /// Arrivals worked out one call ahead are the arrivals worked out when
    /// due, draw for draw, through rate changes at random moments: to zero
    /// and back, twice in a row, before the start, and past `until`.
    #[test]
    fn arrivals_worked_out_ahead_are_the_arrivals_worked_out_when_due() {
        for process in [ArrivalProcess::Poisson, ArrivalProcess::Constant] {
            for seed in 0..20u64 {
                let (mut ahead, mut due) = (open_run(process, seed), open_run(process, seed));
                let mut state = seed;
                let mut next = |n: u64| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 33) % n
                };
                let (mut a, mut d) = (ahead.next_arrival(), when_due(&mut due));
                let mut now = SimTime::ZERO;
                let mut changes = 0;
                for step in 0..3000 {
                    assert_eq!(a, d, "{process:?}, seed {seed}, step {step}");
                    if next(8) == 0 {
                        // A change between now and the pending arrival.
                        now += SimDuration::from_millis(next(300));
                        let rate = [0.0, 0.0, 0.5, 9.0, 40.0][next(5) as usize];
                        a = ahead.set_rate(now, rate);
                        due.origin = now.max(due.from);
                        due.profile = RateProfile::constant(rate);
                        (due.pos_s, due.hint) = (0.0, 0);
                        d = if rate > 0.0 { when_due(&mut due) } else { None };
                        changes += 1;
                    } else if let Some(t) = a {
                        now = t;
                        (a, d) = (ahead.next_arrival(), when_due(&mut due));
                    }
                }
                assert!(changes > 300);
            }
        }
    }
}
