//! The domain model: requests, pools and workloads as event handlers.
//!
//! [`Simulation::new`] builds the state from a validated scenario and schedules
//! the first events; [`Simulation::run`] pops events in (time, sequence) order
//! and hands each to its handler, which changes the state, schedules follow-up
//! events and reports to the [`Recorder`]. Handlers check that an event is still
//! current before acting (lazy cancellation): a timeout for a request that has
//! since got its connection is ignored.
//!
//! A request's life: arrive -> (wait) -> acquire -> hold -> release -> overhead
//! -> respond. Its latency is wait + hold + overhead; a request that waits the
//! whole acquire timeout gives up and is answered 503 after its overhead.

pub mod pool;
mod request;

use crate::engine::{EventQueue, RngStreams, SimDuration, SimTime, StreamId, StreamRng};
use crate::metrics::{Outcome, Recorder, RequestRecord, RequestSink, RunMeta, RunResult};
use crate::scenario::{Change, Scenario, WorkloadKind};
use crate::workload::{ArrivalProcess, Dist, RateProfile, UserSchedule};
use pool::{Pool, Waiter};
use request::{Phase, Requests};

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
    /// A waiting request gives up.
    Timeout { slot: u32, generation: u32 },
    /// A request is done with its connection.
    HoldDone { slot: u32, generation: u32 },
    /// A request's response leaves after its overhead.
    Respond { slot: u32, generation: u32 },
    /// Timed changes number `index` take effect.
    Change { index: u32 },
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
    /// Writing per-request records failed.
    #[error("writing per-request records failed: {0}")]
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
            should_stop: None,
        }
    }
}

/// Per-class settings that timed changes may replace.
struct ClassState {
    pool: usize,
    hold: Dist,
    overhead: Dist,
    overhead_is_zero: bool,
}

/// Run-time state of a workload.
struct WorkloadState {
    class: usize,
    kind: WorkloadRun,
    hold_rng: StreamRng,
    overhead_rng: StreamRng,
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

/// One run of a scenario.
pub struct Simulation<'s> {
    scenario: &'s Scenario,
    queue: EventQueue<Event>,
    now: SimTime,
    end: SimTime,
    pools: Vec<Pool>,
    classes: Vec<ClassState>,
    workloads: Vec<WorkloadState>,
    requests: Requests,
    recorder: Recorder,
    used_total: u32,
    waiting_total: u32,
    max_total: u32,
    next_request_id: u64,
    events: u64,
}

impl<'s> Simulation<'s> {
    /// Builds the state and schedules the first events.
    pub fn new(scenario: &'s Scenario, seed: u64) -> Simulation<'s> {
        let streams = RngStreams::new(seed);
        let pools: Vec<Pool> = scenario.pools.iter().map(|p| Pool::new(p.max_size, p.acquire_timeout)).collect();
        let classes = scenario
            .classes
            .iter()
            .map(|c| ClassState {
                pool: c.pool.0 as usize,
                hold: c.hold.clone(),
                overhead_is_zero: c.overhead.constant_value() == Some(SimDuration::ZERO),
                overhead: c.overhead.clone(),
            })
            .collect();
        let mut queue = EventQueue::new();
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
                    };
                    // A constant process sends its first request at `from`; a Poisson
                    // one after an exponential gap, like every later one.
                    let first = match process {
                        ArrivalProcess::Constant if profile.rate_at(0.0) > 0.0 => Some(*from),
                        _ => run.next_arrival(),
                    };
                    if let Some(t) = first {
                        queue.push(t, Event::Arrive { workload: id, epoch: 0 });
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
                class: w.class.0 as usize,
                kind,
                hold_rng: streams.stream(StreamId::new(StreamId::HOLD, idx)),
                overhead_rng: streams.stream(StreamId::new(StreamId::OVERHEAD, idx)),
            });
        }
        for (i, c) in scenario.changes.iter().enumerate() {
            queue.push(c.at, Event::Change { index: i as u32 });
        }
        let max_total = pools.iter().map(|p| p.max_size).sum();
        Simulation {
            scenario,
            queue,
            now: SimTime::ZERO,
            end: scenario.duration.map_or(SimTime::MAX, |d| SimTime::ZERO + d),
            pools,
            classes,
            workloads,
            requests: Requests::default(),
            recorder: Recorder::new(scenario.bucket, max_total),
            used_total: 0,
            waiting_total: 0,
            max_total,
            next_request_id: 0,
            events: 0,
        }
    }

    /// Runs to the end (the scenario's `duration`, or until nothing is left to do).
    pub fn run(mut self, mut opts: RunOptions<'_>) -> Result<RunResult, SimError> {
        const POLL_EVERY: u64 = 1 << 22;
        while let Some(t) = self.queue.peek_time() {
            if t >= self.end {
                break;
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
            self.now = t;
            self.handle(ev, &mut opts)?;
            if self.requests.live() > opts.max_in_flight {
                return Err(SimError::InFlight { limit: opts.max_in_flight, t_s: t.as_secs_f64() });
            }
        }
        let end = if self.end == SimTime::MAX { self.now } else { self.end };
        let unfinished = self.requests.live() as u64;
        let (timeline, summary) = self.recorder.finish(end, unfinished);
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
            timeline,
            summary,
            theory: crate::theory::fit::predict(self.scenario),
        })
    }

    /// Whether an event was cancelled after it was scheduled.
    #[inline]
    fn is_stale(&self, ev: Event) -> bool {
        match ev {
            Event::Timeout { slot, generation } => !self.requests.is_waiting(slot, generation),
            Event::Arrive { workload, epoch } => {
                matches!(&self.workloads[workload as usize].kind, WorkloadRun::Open(run) if run.epoch != epoch)
            }
            _ => false,
        }
    }

    #[inline]
    fn handle(&mut self, ev: Event, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
        match ev {
            Event::Arrive { workload, .. } => self.on_arrive(workload),
            Event::Burst { workload } => {
                if let WorkloadRun::Burst { count } = self.workloads[workload as usize].kind {
                    for _ in 0..count {
                        self.start_request(workload, u32::MAX);
                    }
                }
            }
            Event::UserSend { workload, user } => self.on_user_send(workload, user),
            Event::UsersChange { workload, step } => self.on_users_change(workload, step),
            Event::Timeout { slot, generation } => self.on_timeout(slot, generation),
            Event::HoldDone { slot, generation } => self.on_hold_done(slot, generation),
            Event::Respond { slot, generation } => {
                if self.requests.is_current(slot, generation) {
                    self.finish(slot, opts)?;
                }
            }
            Event::Change { index } => self.apply_changes(index as usize),
        }
        Ok(())
    }

    fn on_arrive(&mut self, workload: u16) {
        let WorkloadRun::Open(run) = &mut self.workloads[workload as usize].kind else { return };
        let next = run.next_arrival();
        if let Some(t) = next {
            self.queue.push(t, Event::Arrive { workload, epoch: run.epoch });
        }
        self.start_request(workload, u32::MAX);
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
        self.start_request(workload, user);
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

    /// A request arrives: take a free connection, or queue (or give up at once
    /// with a zero acquire timeout, the Erlang B case).
    fn start_request(&mut self, workload: u16, user: u32) {
        let now = self.now;
        let w = &self.workloads[workload as usize];
        let pool_idx = self.classes[w.class].pool;
        let id = self.next_request_id;
        self.next_request_id += 1;
        let (slot, generation) = self.requests.insert(id, workload, user, now);
        self.recorder.arrival(now);
        if self.pools[pool_idx].can_grant_now() {
            self.grant(slot, generation, pool_idx);
            return;
        }
        self.recorder.queued();
        let pool = &mut self.pools[pool_idx];
        if pool.acquire_timeout.is_zero() {
            self.recorder.timed_out(now, SimDuration::ZERO);
            self.begin_response(slot, generation, Outcome::TimedOut);
        } else {
            pool.enqueue(Waiter { slot, generation });
            if pool.acquire_timeout != SimDuration::MAX {
                self.queue.push(now + pool.acquire_timeout, Event::Timeout { slot, generation });
            }
            self.waiting_total += 1;
            self.report_pools();
        }
    }

    /// Hands a connection to the request in `slot` and starts its hold.
    fn grant(&mut self, slot: u32, generation: u32, pool_idx: usize) {
        let now = self.now;
        self.pools[pool_idx].take();
        self.used_total += 1;
        let r = self.requests.get_mut(slot);
        r.phase = Phase::Holding;
        r.acquired = Some(now);
        r.wait_end = now;
        let wait = now - r.arrival;
        let w = &mut self.workloads[r.workload as usize];
        // Drawn at acquire time with the class's *current* hold distribution: the
        // lab's app reads its work time when the handler runs.
        let hold = self.classes[w.class].hold.sample(&mut w.hold_rng);
        self.recorder.acquired(now, wait);
        self.report_pools();
        self.queue.push(now + hold, Event::HoldDone { slot, generation });
    }

    /// A waiting request gives up (stale timeouts were dropped by `is_stale`).
    fn on_timeout(&mut self, slot: u32, generation: u32) {
        let now = self.now;
        let r = self.requests.get_mut(slot);
        let wait = now - r.arrival;
        r.wait_end = now;
        r.phase = Phase::Responding(Outcome::TimedOut);
        let pool_idx = self.classes[self.workloads[r.workload as usize].class].pool;
        let requests = &self.requests;
        self.pools[pool_idx].abandon(|w| requests.is_waiting(w.slot, w.generation));
        self.waiting_total -= 1;
        self.recorder.timed_out(now, wait);
        self.report_pools();
        self.begin_response(slot, generation, Outcome::TimedOut);
    }

    fn on_hold_done(&mut self, slot: u32, generation: u32) {
        if !self.requests.is_current(slot, generation) {
            return;
        }
        let workload = self.requests.get_mut(slot).workload;
        let pool_idx = self.classes[self.workloads[workload as usize].class].pool;
        self.pools[pool_idx].put_back();
        self.used_total -= 1;
        self.serve_waiters(pool_idx);
        self.report_pools();
        self.begin_response(slot, generation, Outcome::Ok);
    }

    /// Gives free connections of a pool to its waiters, oldest first.
    fn serve_waiters(&mut self, pool_idx: usize) {
        loop {
            let requests = &self.requests;
            let Some(w) = self.pools[pool_idx].next_waiter(|w| requests.is_waiting(w.slot, w.generation)) else {
                break;
            };
            self.waiting_total -= 1;
            self.grant(w.slot, w.generation, pool_idx);
        }
    }

    /// The request is done with the pool; its response leaves after the overhead.
    fn begin_response(&mut self, slot: u32, generation: u32, outcome: Outcome) {
        let r = self.requests.get_mut(slot);
        r.phase = Phase::Responding(outcome);
        let w = &mut self.workloads[r.workload as usize];
        let class = &self.classes[w.class];
        if class.overhead_is_zero {
            // No overhead: answer at this same instant, without drawing from the stream.
            self.queue.push(self.now, Event::Respond { slot, generation });
        } else {
            let overhead = class.overhead.sample(&mut w.overhead_rng);
            self.queue.push(self.now + overhead, Event::Respond { slot, generation });
        }
    }

    /// The response leaves: record it, free the slot, and let a virtual user go on.
    fn finish(&mut self, slot: u32, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
        let now = self.now;
        let r = self.requests.remove(slot);
        let Phase::Responding(outcome) = r.phase else { return Ok(()) };
        self.recorder.responded(now, now - r.arrival, outcome);
        if let Some(sink) = opts.sink.as_deref_mut() {
            sink.record(&RequestRecord {
                id: r.id,
                workload: r.workload,
                arrival: r.arrival,
                acquired: r.acquired,
                wait: r.wait_end - r.arrival,
                finished: now,
                outcome,
            })?;
        }
        if r.user != u32::MAX {
            let w = &mut self.workloads[r.workload as usize];
            if let WorkloadRun::Closed(run) = &mut w.kind {
                let think = run.think.sample(&mut run.think_rng);
                self.queue.push(now + think, Event::UserSend { workload: r.workload, user: r.user });
            }
        }
        Ok(())
    }

    fn apply_changes(&mut self, index: usize) {
        let scenario = self.scenario;
        for change in &scenario.changes[index].actions {
            match change {
                Change::Hold(c, d) => self.classes[c.0 as usize].hold = d.clone(),
                Change::Overhead(c, d) => {
                    let class = &mut self.classes[c.0 as usize];
                    class.overhead = d.clone();
                    class.overhead_is_zero = d.constant_value() == Some(SimDuration::ZERO);
                }
                Change::MaxSize(p, n) => {
                    let pool = &mut self.pools[p.0 as usize];
                    self.max_total = self.max_total - pool.max_size + n;
                    pool.max_size = *n;
                    // Growing serves waiters at once; shrinking takes effect as
                    // connections come back (put_back never re-grants above max).
                    self.serve_waiters(p.0 as usize);
                    self.report_pools();
                }
                Change::AcquireTimeout(p, d) => self.pools[p.0 as usize].acquire_timeout = *d,
                Change::Rate(w, r) => {
                    let now = self.now;
                    let WorkloadRun::Open(run) = &mut self.workloads[w.0 as usize].kind else { continue };
                    // Before the workload starts, the new rate applies from its start.
                    run.origin = now.max(run.from);
                    run.profile = RateProfile::constant(*r);
                    run.pos_s = 0.0;
                    run.hint = 0;
                    run.epoch += 1;
                    if let Some(t) = run.next_arrival() {
                        self.queue.push(t, Event::Arrive { workload: w.0, epoch: run.epoch });
                    }
                }
            }
        }
    }

    #[inline]
    fn report_pools(&mut self) {
        self.recorder.pool_level(self.now, self.used_total, self.waiting_total, self.max_total);
    }
}

impl OpenRun {
    /// Advances to the next arrival; `None` when the profile never reaches it
    /// before `until`.
    fn next_arrival(&mut self) -> Option<SimTime> {
        let budget = match self.process {
            ArrivalProcess::Constant => 1.0,
            ArrivalProcess::Poisson => self.rng.exp1(),
        };
        let pos = self.profile.advance(self.pos_s, budget, &mut self.hint)?;
        self.pos_s = pos;
        let t = self.origin + SimDuration::from_secs_f64(pos);
        (t < self.until).then_some(t)
    }
}
