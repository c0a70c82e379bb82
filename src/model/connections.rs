//! Connections and the database: opening them lazily for waiters (taking a
//! slot at the database, which may refuse), connecting, handing a free
//! connection to the next waiter or making it idle (last in, first out, or
//! first in, first out), the idle timeout and lifetime, and closing them
//! (which lets a pool that waits for the database open at once).
//!
//! The library behaviours of opening live here too: a limit on opens under
//! way (`open_concurrency`: each finished open starts the next), refusals
//! that take `database.refuse_time` (the open takes room in its pool until
//! then and belongs to the request it was started for), what a refusal does
//! (`on_refused`: fail, fail the opener only, wait for a free slot, retry
//! after a backoff) and waiters woken for a returned connection that a
//! newcomer may take first (`handoff: wake_up`).

use super::pool::{ConnState, Waiter};
use super::request::{NOT_A_JOB, Phase};
use super::{Event, Simulation};
use crate::engine::{SimDuration, SimTime};
use crate::scenario::OnRefused;

/// The backoff of a pool copy that retries refused opens (`on_refused: retry`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RetryState {
    /// The last wait; zero when no refusal happened since the last open.
    delay: SimDuration,
    /// No more tries from this instant (`reconnect_timeout`).
    give_up: SimTime,
    /// Bumped at every schedule: a `RetryOpen` of another epoch is stale.
    pub(super) epoch: u32,
    /// A `RetryOpen` is pending.
    armed: bool,
}

/// The database server.
pub(super) struct Database {
    /// Connections applications may open (`u32::MAX`: no limit).
    pub(super) usable: u32,
    /// Open or opening.
    pub(super) open: u32,
    pub(super) connect_is_zero: bool,
    /// Pool copies waiting for a free slot (on_refused: wait), oldest first.
    pub(super) waiting_copies: std::collections::VecDeque<u32>,
}

impl Simulation<'_> {
    /// Whether the copy may open one more connection (pool limits only: its
    /// size, and how many it opens at once).
    #[inline]
    pub(super) fn can_open(&self, instance: u32) -> bool {
        let c = &self.copies[instance as usize];
        let p = &self.pools[c.pool as usize];
        !c.draining && c.total() < c.max_size + p.max_overflow && c.pending() < p.max_opening
    }

    /// Takes a slot at the database for a new connection of `instance`, in
    /// state `Opening` (`opening` counted); `None` when the database is full
    /// (the refusal is recorded). Behind a pooler the slot is a client
    /// connection of the pooler, refused beyond `max_client_conn`.
    pub(super) fn open_conn(&mut self, instance: u32) -> Option<u32> {
        if self.db.open >= self.db.usable {
            match &mut self.pooler {
                None => self.recorder.refusal(self.now),
                Some(p) => p.clients_refused += 1,
            }
            return None;
        }
        self.db.open += 1;
        match &mut self.pooler {
            None => self.recorder.db_level(self.now, self.db.open),
            Some(p) => p.client_level(self.db.open),
        }
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
    pub(super) fn open_for_waiters(&mut self, instance: u32, trigger: Option<(u32, u32)>) {
        if self.opens_for_waiters(instance) {
            self.open_more_for_waiters(instance, trigger);
        }
    }

    /// Whether the copy should open a connection for its waiters: more of them
    /// wait than connections are being opened, the pool has room, and the copy
    /// is not already waiting for the database to free a slot (or for its
    /// next retry).
    #[inline(always)]
    pub(super) fn opens_for_waiters(&self, instance: u32) -> bool {
        let c = &self.copies[instance as usize];
        c.pending() < c.waiting && self.can_open(instance) && !c.wants_db
    }

    /// [`open_for_waiters`](Self::open_for_waiters) once a connection may be opened.
    #[inline(never)]
    pub(super) fn open_more_for_waiters(&mut self, instance: u32, trigger: Option<(u32, u32)>) {
        while self.opens_for_waiters(instance) {
            // With refusals that take time, each open belongs to one waiter:
            // the one that fails if it is refused.
            let owner = if self.refuse_delayed { self.pick_owner(instance, trigger) } else { None };
            match self.open_conn(instance) {
                Some(conn) => {
                    if let Some((slot, _)) = owner {
                        self.conns.get_mut(conn).holder = slot;
                        self.requests.get_mut(slot).conn = conn;
                    }
                    self.connect(conn)
                }
                None if self.refuse_delayed => self.start_refusal(instance, owner),
                None => {
                    let pool = self.copies[instance as usize].pool as usize;
                    match self.pools[pool].on_refused {
                        OnRefused::Fail | OnRefused::FailOpener => {
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
                        OnRefused::Retry => self.schedule_retry(instance),
                    }
                    return;
                }
            }
        }
    }

    /// The waiter a new open is for: `trigger` if it waits and has no open of
    /// its own under way, else the first such waiter in serving order.
    #[cold]
    fn pick_owner(&self, instance: u32, trigger: Option<(u32, u32)>) -> Option<(u32, u32)> {
        let owns = |slot: u32| {
            let r = self.requests.get(slot);
            r.conn != u32::MAX && {
                let c = self.conns.get(r.conn);
                matches!(c.state, ConnState::Opening | ConnState::Refusing) && c.holder == slot
            }
        };
        if let Some((slot, generation)) = trigger
            && self.requests.is_waiting(slot, generation)
            && !owns(slot)
        {
            return Some((slot, generation));
        }
        let requests = &self.requests;
        self.copies[instance as usize]
            .waiters_in_order(|w| requests.is_waiting(w.slot, w.generation))
            .find(|w| !owns(w.slot))
            .map(|w| (w.slot, w.generation))
    }

    /// An open the database refused, learnt after `refuse_time`: it takes
    /// room in the pool (not at the database) until then, for `owner`.
    #[cold]
    pub(super) fn start_refusal(&mut self, instance: u32, owner: Option<(u32, u32)>) {
        let conn = self.conns.open(instance, self.now);
        let c = self.conns.get_mut(conn);
        c.state = ConnState::Refusing;
        c.holder = owner.map_or(u32::MAX, |(slot, _)| slot);
        let generation = c.generation;
        if let Some((slot, _)) = owner {
            self.requests.get_mut(slot).conn = conn;
        }
        let copy = &mut self.copies[instance as usize];
        copy.refusing += 1;
        let pool = &mut self.pools[copy.pool as usize];
        let d = self.scenario.database.refuse_time.sample(&mut pool.refuse_rng);
        self.queue.push(self.now + d, Event::Refused { conn, generation });
    }

    /// A refused open fails (after `refuse_time`): its request fails unless
    /// the pool keeps it waiting, and the pool goes on as its `on_refused` says.
    pub(super) fn on_refused_open(&mut self, conn: u32) {
        let c = *self.conns.get(conn);
        let instance = c.instance;
        self.copies[instance as usize].refusing -= 1;
        self.conns.close(conn);
        let owner = (c.holder != u32::MAX)
            .then(|| (c.holder, self.requests.get(c.holder)))
            .filter(|(_, r)| r.phase == Phase::Waiting && r.conn == conn)
            .map(|(slot, _)| (slot, self.requests.generation(slot)));
        let pool = self.copies[instance as usize].pool as usize;
        let rule = self.pools[pool].on_refused;
        match rule {
            OnRefused::Fail | OnRefused::FailOpener => {
                if let Some((slot, generation)) = owner {
                    self.leave_queue(slot, instance);
                    self.refused(slot, generation);
                }
            }
            OnRefused::Wait => {
                let copy = &mut self.copies[instance as usize];
                if self.db.open >= self.db.usable && !copy.wants_db {
                    copy.wants_db = true;
                    self.db.waiting_copies.push_back(instance);
                }
            }
            OnRefused::Retry => self.schedule_retry(instance),
        }
        // node-postgres pulses its queue after a failed open: the next waiter
        // opens (and is refused too while the database is full). SQLAlchemy's
        // waiters never open. Not `min_idle`: refilled after every refusal, a
        // full database would be asked again and again, for nobody.
        if rule != OnRefused::FailOpener {
            self.open_for_waiters(instance, None);
        }
        self.report(instance);
    }

    /// Waits before trying a refused open again (`on_refused: retry`): the
    /// first wait is the pool's `reconnect_delay` (with its jitter), each next
    /// one `reconnect_backoff` times longer, at most `reconnect_max_delay`,
    /// and never past `reconnect_timeout` after the first refusal, when the
    /// copy stops trying (psycopg_pool's `AttemptWithBackoff`, HikariCP's
    /// `PoolEntryCreator`). Waiters keep waiting all the while.
    #[cold]
    pub(super) fn schedule_retry(&mut self, instance: u32) {
        let now = self.now;
        let pool = self.copies[instance as usize].pool as usize;
        let Some(rc) = self.pools[pool].reconnect else { return };
        let st = &mut self.retries[instance as usize];
        if st.armed {
            return;
        }
        let d = if st.delay.is_zero() {
            st.give_up = rc.timeout.map_or(SimTime::MAX, |t| now + t);
            if rc.jitter > 0.0 {
                let u = self.pools[pool].reconnect_rng.unit();
                SimDuration::from_secs_f64(rc.delay.as_secs_f64() * (1.0 + rc.jitter * (2.0 * u - 1.0)))
            } else {
                rc.delay
            }
        } else if now >= st.give_up {
            // Tired of trying: the next request that needs a connection starts again.
            st.delay = SimDuration::ZERO;
            self.copies[instance as usize].wants_db = false;
            return;
        } else {
            SimDuration::from_secs_f64(st.delay.as_secs_f64() * rc.backoff)
        };
        let d = rc.max_delay.map_or(d, |m| d.min(m)).min(st.give_up - now);
        st.delay = d;
        st.armed = true;
        st.epoch = st.epoch.wrapping_add(1);
        let event = Event::RetryOpen { instance, epoch: st.epoch };
        self.copies[instance as usize].wants_db = true;
        self.queue.push_timer(now + d, event);
    }

    /// A copy that retries refused opens tries again if a waiter still needs
    /// a connection (and then tops up `min_idle`); otherwise it stops, and the
    /// next refusal starts a new backoff. `min_idle` alone does not keep it
    /// trying: against a database that stays full, nothing would end a run.
    pub(super) fn on_retry_open(&mut self, instance: u32) {
        let st = &mut self.retries[instance as usize];
        st.armed = false;
        self.copies[instance as usize].wants_db = false;
        if self.opens_for_waiters(instance) {
            self.after_open(instance);
        } else {
            self.retries[instance as usize].delay = SimDuration::ZERO;
        }
        self.report(instance);
    }

    /// An open succeeded (or a retry is due): a pool that opens a limited
    /// number at once starts the next one its waiters, or `min_idle`, need.
    pub(super) fn after_open(&mut self, instance: u32) {
        self.open_for_waiters(instance, None);
        self.fill(instance);
    }

    /// Opens connections towards `min_idle` (as many as the pool opens at once).
    pub(super) fn fill(&mut self, instance: u32) {
        let pool = self.copies[instance as usize].pool as usize;
        let min_idle = self.pools[pool].min_idle;
        while self.copies[instance as usize].total() < min_idle
            && self.can_open(instance)
            && !self.copies[instance as usize].wants_db
        {
            match self.open_conn(instance) {
                Some(conn) => self.connect(conn),
                None => {
                    self.fill_refused(instance);
                    return;
                }
            }
        }
    }

    /// The database refused an open for `min_idle`: with delayed refusals the
    /// open takes its `refuse_time`; a retrying pool tries again later; the
    /// others give up filling (as before these behaviours existed).
    pub(super) fn fill_refused(&mut self, instance: u32) {
        if self.refuse_delayed {
            self.start_refusal(instance, None);
        } else if self.pools[self.copies[instance as usize].pool as usize].on_refused == OnRefused::Retry {
            self.schedule_retry(instance);
        }
    }

    /// Lets a connection taken by `open_conn` connect: at once without a
    /// connect time, else after a draw from its pool's connect-time stream.
    pub(super) fn connect(&mut self, conn: u32) {
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
    pub(super) fn on_connected(&mut self, conn: u32) {
        let instance = self.established(conn);
        self.hand_over(conn, instance);
        let pool = self.copies[instance as usize].pool as usize;
        if let Some(st) = self.retries.get_mut(instance as usize) {
            st.delay = SimDuration::ZERO; // a success ends a backoff
        }
        // One open at a time: this one's end starts the next (with a connect
        // time; without one, opens are done before the next is looked at).
        if self.pools[pool].max_opening != u32::MAX && !self.db.connect_is_zero {
            self.after_open(instance);
        }
        self.report(instance);
    }

    /// Counts a connection that finished connecting as open; returns its copy.
    pub(super) fn established(&mut self, conn: u32) -> u32 {
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
    pub(super) fn hand_over(&mut self, conn: u32, instance: u32) -> bool {
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

    /// A returned connection with waiters in a `handoff: wake_up` pool: it
    /// idles while the oldest waiter wakes up, so a request that asks in
    /// between takes it (and the waiter waits again when it wakes).
    #[cold]
    pub(super) fn wake_next(&mut self, conn: u32, instance: u32) {
        let requests = &self.requests;
        let next = self.copies[instance as usize].next_waiter(|w| requests.is_waiting(w.slot, w.generation));
        self.make_idle(conn, instance);
        if let Some(w) = next {
            // Still counted as waiting until it wakes.
            self.copies[instance as usize].waiting += 1;
            self.requests.get_mut(w.slot).phase = Phase::Woken;
            self.woken.push((instance, w));
            let pool = self.copies[instance as usize].pool as usize;
            let at = self.now + self.pools[pool].wake_up;
            self.queue.push(at, Event::WakeUp { slot: w.slot, generation: w.generation });
        }
    }

    /// A woken waiter runs: it takes an idle connection, or (robbed) waits
    /// again at the back of its queue, with its own deadline.
    pub(super) fn on_wake_up(&mut self, slot: u32, generation: u32) {
        let Some(i) = self.woken.iter().position(|(_, w)| w.slot == slot && w.generation == generation) else {
            return;
        };
        let (instance, w) = self.woken.swap_remove(i);
        self.copies[instance as usize].waiting -= 1;
        if let Some(conn) = self.pop_idle(instance) {
            self.waiting_total -= 1;
            self.grant(slot, generation, conn);
            return;
        }
        if w.deadline != u128::MAX && SimTime((w.deadline >> 64) as u64) <= self.now {
            // Its timeout passed while it was waking: it gives up now.
            self.waiting_total -= 1;
            let wait = self.now - self.requests.get(slot).entered;
            self.gave_up(slot, generation, instance, wait);
            self.report(instance);
            return;
        }
        self.requests.get_mut(slot).phase = Phase::Waiting;
        let r = self.requests.get(slot);
        let priority = if r.job == NOT_A_JOB {
            self.classes[r.class as usize].priority
        } else {
            self.scenario.jobs[r.job as usize].priority as usize
        };
        let copy = &mut self.copies[instance as usize];
        copy.enqueue(w, priority);
        if w.deadline < copy.timer {
            self.arm_timer(instance, w.deadline);
        }
        self.open_for_waiters(instance, None);
        self.report(instance);
    }

    /// Takes a woken waiter of a stopped job out (it never wakes).
    pub(super) fn drop_woken(&mut self, slot: u32) -> Option<Waiter> {
        let i = self.woken.iter().position(|(_, w)| w.slot == slot)?;
        let (instance, w) = self.woken.swap_remove(i);
        self.copies[instance as usize].waiting -= 1;
        self.waiting_total -= 1;
        Some(w)
    }

    /// An idle connection, most recently used first (oldest first with
    /// `reuse: fifo`); expired ones are closed on the way.
    #[inline(always)]
    pub(super) fn pop_idle(&mut self, instance: u32) -> Option<u32> {
        loop {
            let (conn, generation) = self.copies[instance as usize].take_idle_entry()?;
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

    #[inline(always)]
    pub(super) fn make_idle(&mut self, conn: u32, instance: u32) {
        let now = self.now;
        let c = self.conns.get_mut(conn);
        c.state = ConnState::Idle;
        c.since = now;
        let generation = c.generation;
        let copy = &mut self.copies[instance as usize];
        copy.idle.push_back((conn, generation));
        let pool = &self.pools[copy.pool as usize];
        // A check only when it could close something: a copy at or below
        // `min_idle` keeps its connections (and a check that closes nothing
        // would still hold a run without `duration` open until it fires).
        let timeout = pool.idle_timeout;
        if timeout != SimDuration::MAX && !copy.idle_check_armed && copy.open > pool.min_idle {
            copy.idle_check_armed = true;
            self.queue.push_timer(now + timeout, Event::IdleCheck { instance });
        }
    }

    /// Closes idle connections that reached the idle timeout (keeping `min_idle`).
    pub(super) fn on_idle_check(&mut self, instance: u32) {
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
    pub(super) fn close_conn(&mut self, conn: u32) {
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
        match &mut self.pooler {
            None => self.recorder.db_level(self.now, self.db.open),
            Some(p) => p.client_level(self.db.open),
        }
        self.report(c.instance);
        // A freed slot lets a pool that waits for the database open at once.
        while self.db.open < self.db.usable {
            let Some(next) = self.db.waiting_copies.pop_front() else { break };
            self.copies[next as usize].wants_db = false;
            self.open_for_waiters(next, None);
        }
    }
}
