//! A request's life: arrive at a worker, ask its pool copy for a connection
//! (an idle one, a new one, or a place among the waiters), hold it, release
//! it, respond after the overhead; or give up at the acquire timeout, fail at
//! a refusal, be cut by the statement timeout; and the client that times out
//! and retries.

use super::pool::{ConnState, Waiter};
use super::request::{NOT_A_JOB, NewRequest, Phase, Request};

/// `conn` of [`Simulation::grant`] when the pooler gave the request's
/// transaction a server connection (its pool's connection was granted before).
pub(super) const SERVED: u32 = u32::MAX;
use super::{Event, RunOptions, SimError, Simulation};
use crate::engine::{SimDuration, SimTime};
use crate::result::{Outcome, RequestRecord};
use crate::scenario::OnRefused;

/// What the clients saw (with a `client:` block).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ClientCounts {
    pub(super) calls: u64,
    pub(super) retries: u64,
    pub(super) succeeded: u64,
    pub(super) gave_up: u64,
    pub(super) timeouts: u64,
}

impl Simulation<'_> {
    /// A request arrives: pick its class (a retry keeps its call's) and worker,
    /// then ask its pool copy for a connection. `retry_of`: for a retry, whether
    /// its call is counted by the client's figures (it started from the warm-up
    /// on); `None` for a first attempt, which is decided here.
    pub(super) fn start_request(
        &mut self,
        workload: u16,
        user: u32,
        class: Option<usize>,
        attempt: u8,
        retry_of: Option<bool>,
    ) {
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
            counted_call: true,
            arrival: now,
        });
        self.outstanding[worker as usize] += 1;
        if let Some(c) = &self.scenario.client {
            // Calls count from the warm-up on, as requests do by arrival.
            let counted = retry_of.unwrap_or_else(|| now >= SimTime::ZERO + self.scenario.warmup);
            self.requests.get_mut(slot).counted_call = counted;
            self.client.calls += u64::from(attempt == 0 && counted);
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
    pub(super) fn next_at_worker(&mut self, worker: u32) {
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
    pub(super) fn pick_class(&mut self, workload: u16) -> usize {
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
    pub(super) fn acquire(&mut self, slot: u32, generation: u32, instance: u32, priority: usize) {
        let now = self.now;
        // A new request never overtakes a waiter (unless the pool hands
        // returned connections over by waking a waiter: see below).
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
                    None if self.refuse_delayed => self.start_refusal(instance, Some((slot, generation))),
                    None => {
                        let pool = self.copies[instance as usize].pool as usize;
                        match self.pools[pool].on_refused {
                            OnRefused::Fail | OnRefused::FailOpener => {
                                self.refused(slot, generation);
                                return;
                            }
                            // Wait for a free slot at the database, queued like any waiter.
                            OnRefused::Wait => {
                                self.copies[instance as usize].wants_db = true;
                                self.db.waiting_copies.push_back(instance);
                            }
                            OnRefused::Retry => self.schedule_retry(instance),
                        }
                    }
                }
            }
        } else if self.copies[instance as usize].wakes && self.barge(slot, generation, instance) {
            return;
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

    /// A connection returned for a waiter that has not woken yet
    /// (`handoff: wake_up`): whoever asks first takes it (SQLAlchemy,
    /// HikariCP). Returns whether the request got one.
    #[cold]
    #[inline(never)]
    fn barge(&mut self, slot: u32, generation: u32, instance: u32) -> bool {
        match self.pop_idle(instance) {
            Some(conn) => {
                self.grant(slot, generation, conn);
                true
            }
            None => false,
        }
    }

    /// The request (or job acquisition) in `slot` gets `conn` and starts its
    /// hold. Behind a pooler its transaction first waits for a server
    /// connection: the pooler then calls this again with [`SERVED`] for `conn`.
    pub(super) fn grant(&mut self, slot: u32, generation: u32, conn: u32) {
        let now = self.now;
        // One body for both calls behind a pooler: the recorder's `acquired`
        // keeps one call site, which is what lets it be inlined here.
        let instance = if self.pooler.is_none() {
            self.take_conn(slot, conn)
        } else {
            match self.grant_pooled(slot, generation, conn) {
                Some(instance) => instance,
                None => return,
            }
        };
        let r = self.requests.get_mut(slot);
        let wait = now - r.entered;
        // The hold, and whether holds of its kind end in the order they start.
        let (hold, in_order) = if r.job == NOT_A_JOB {
            self.recorder.acquired(now, wait, r.arrival, instance as usize);
            let w = &mut self.workloads[r.workload as usize];
            let class = &self.classes[r.class as usize];
            // Drawn at acquire time with the class's *current* hold distribution: the
            // lab's app reads its work time when the handler runs.
            let hold = class.hold.sample(&mut w.hold_rng);
            // One compare for both rare cases: `hold_cap` is just past the
            // statement timeout, or zero when a reset query follows every hold.
            let hold = if hold >= class.hold_cap {
                if hold > class.statement_timeout {
                    r.cut = true;
                }
                // The reset query on release keeps the connection that much longer.
                hold.min(class.statement_timeout) + class.reset
            } else {
                hold
            };
            (hold, class.hold.constant_value().is_some())
        } else {
            let job = &mut self.jobs[r.job as usize];
            let spec = &self.scenario.jobs[r.job as usize];
            let hold = spec.hold.sample(&mut job.hold_rng) + job.reset;
            (hold, spec.hold.constant_value().is_some())
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

    /// The request in `slot` takes `conn` from its pool; returns the pool copy.
    #[inline(always)]
    fn take_conn(&mut self, slot: u32, conn: u32) -> u32 {
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
        instance
    }

    /// [`grant`](Self::grant) behind a pooler: a request that got its pool's
    /// connection (`conn`) still needs a server connection for its
    /// transaction (`None`: it queues at the pooler); one the pooler served
    /// (`SERVED`) starts its hold now (its pool copy is returned).
    #[cold]
    #[inline(never)]
    fn grant_pooled(&mut self, slot: u32, generation: u32, conn: u32) -> Option<u32> {
        if conn != SERVED {
            let instance = self.take_conn(slot, conn);
            self.report(instance);
            self.pooler_query(slot, generation);
            return None;
        }
        let now = self.now;
        let r = self.requests.get_mut(slot);
        r.phase = Phase::Holding;
        r.acquired = Some(now);
        r.wait_end = now;
        Some(r.instance)
    }

    /// Schedules the copy's timer for the waiter with this deadline key.
    pub(super) fn arm_timer(&mut self, instance: u32, deadline: u128) {
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
    pub(super) fn timeout_due(&mut self, instance: u32) -> bool {
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
    pub(super) fn on_acquire_timeout(&mut self, instance: u32) {
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
    pub(super) fn on_timeout(&mut self, slot: u32, generation: u32) {
        let instance = self.requests.get(slot).instance;
        let wait = self.now - self.requests.get(slot).entered;
        self.leave_queue(slot, instance);
        self.gave_up(slot, generation, instance, wait);
        self.report(instance);
    }

    /// Takes a waiting request out of its copy's queue (lazily).
    pub(super) fn leave_queue(&mut self, slot: u32, instance: u32) {
        // Mark it first so the queue sees it as gone.
        self.requests.get_mut(slot).phase = Phase::Responding(Outcome::TimedOut);
        let requests = &self.requests;
        self.copies[instance as usize].abandon(|w| requests.is_waiting(w.slot, w.generation));
        self.waiting_total -= 1;
    }

    /// The request waited `wait` (its acquire timeout) and gets a 503.
    pub(super) fn gave_up(&mut self, slot: u32, generation: u32, instance: u32, wait: SimDuration) {
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
    pub(super) fn refused(&mut self, slot: u32, generation: u32) {
        let r = self.requests.get_mut(slot);
        r.wait_end = self.now;
        if r.job == NOT_A_JOB {
            self.begin_response(slot, generation, Outcome::Refused);
        } else {
            self.job_acquire_failed(slot);
        }
    }

    pub(super) fn on_hold_done(&mut self, slot: u32, generation: u32) {
        if self.pooler.is_some() && self.pooler_hold_done(slot, generation) {
            return; // its pool's reset query queues at the pooler first
        }
        self.hold_over(slot, generation);
    }

    /// The hold (and any reset query) is over: the connection goes back to its
    /// pool and the response leaves (a job releases or leaks it).
    #[inline(always)]
    pub(super) fn hold_over(&mut self, slot: u32, generation: u32) {
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
    pub(super) fn release(&mut self, conn: u32) {
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
        let idle_full = pool.overflow_idle_full;
        let copy = &self.copies[instance as usize];
        // Closed when it may not be handed out again: past its lifetime, its pod
        // scaled in (once nobody waits there), the pool shrunk below what is in
        // use, or an overflow connection nobody waits for (SQLAlchemy hands
        // those to waiters; with `overflow_close: when_idle_full` only once
        // `max_size` connections are idle, as its QueuePool does).
        let surplus = copy.in_use >= cap
            || (copy.open > copy.max_size
                && copy.waiting == 0
                && (!idle_full || copy.idle_count() > copy.max_size || copy.open > cap));
        let reported = if !(expired || surplus || copy.slow_release) {
            self.hand_over(conn, instance)
        } else {
            self.release_slow(conn, instance, expired || surplus)
        };
        // A grant reports the levels as they end up: a second report would repeat it.
        if !reported {
            self.report(instance);
        }
    }

    /// [`release`](Self::release) of a connection to close, or to a copy of a
    /// scaled-in pod or one that wakes its waiters. Returns whether a waiter got it.
    #[cold]
    #[inline(never)]
    fn release_slow(&mut self, conn: u32, instance: u32, close: bool) -> bool {
        let copy = &self.copies[instance as usize];
        // A scaled-in pod still serves the requests already queued there.
        let drained = copy.draining && copy.waiting == 0;
        if close || drained {
            self.close_conn(conn);
            self.open_for_waiters(instance, None);
            false
        } else if copy.wakes {
            self.wake_next(conn, instance);
            false
        } else {
            self.hand_over(conn, instance)
        }
    }

    /// The request is done with the pool; its response leaves after the overhead.
    pub(super) fn begin_response(&mut self, slot: u32, generation: u32, outcome: Outcome) {
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
    pub(super) fn respond_inline(&mut self, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
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
    pub(super) fn finish(&mut self, slot: u32, opts: &mut RunOptions<'_>) -> Result<(), SimError> {
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
            let counted = u64::from(r.counted_call);
            if outcome == Outcome::Ok {
                self.client.succeeded += counted;
            } else if self.retry(&r, outcome == Outcome::TimedOut, false) {
                return Ok(());
            } else {
                self.client.gave_up += counted;
            }
        }
        self.user_goes_on(workload, user);
        Ok(())
    }

    /// The client stops waiting: the server keeps the request; the client retries or gives up.
    pub(super) fn on_client_timeout(&mut self, slot: u32) {
        let r = *self.requests.get(slot);
        self.requests.get_mut(slot).abandoned = true;
        let counted = u64::from(r.counted_call);
        self.client.timeouts += counted;
        if !self.retry(&r, false, true) {
            self.client.gave_up += counted;
            self.user_goes_on(r.workload, r.user);
        }
    }

    /// Schedules the next attempt of a failed call if the client retries this
    /// failure and has retries left; returns whether it did.
    pub(super) fn retry(&mut self, r: &Request, unavailable: bool, timeout: bool) -> bool {
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
        self.client.retries += u64::from(r.counted_call);
        self.recorder.retry(self.now);
        let ev = Event::Retry {
            workload: r.workload,
            class: r.class,
            attempt: r.attempt + 1,
            counted_call: r.counted_call,
            user: r.user,
        };
        self.queue.push(self.now + wait, ev);
        true
    }
}
