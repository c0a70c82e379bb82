//! Connections and the database: opening them lazily for waiters (taking a
//! slot at the database, which may refuse), connecting, handing a free
//! connection to the next waiter or making it idle (last in, first out), the
//! idle timeout and lifetime, and closing them (which lets a pool that waits
//! for the database open at once).

use super::pool::ConnState;
use super::{Event, Simulation};
use crate::engine::SimDuration;
use crate::scenario::OnRefused;

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
    /// Whether the copy may open one more connection (pool limits only).
    #[inline]
    pub(super) fn can_open(&self, instance: u32) -> bool {
        let c = &self.copies[instance as usize];
        !c.draining && c.total() < c.max_size + self.pools[c.pool as usize].max_overflow
    }

    /// Takes a slot at the database for a new connection of `instance`, in
    /// state `Opening` (`opening` counted); `None` when the database is full
    /// (the refusal is recorded).
    pub(super) fn open_conn(&mut self, instance: u32) -> Option<u32> {
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
    pub(super) fn open_for_waiters(&mut self, instance: u32, trigger: Option<(u32, u32)>) {
        if self.opens_for_waiters(instance) {
            self.open_more_for_waiters(instance, trigger);
        }
    }

    /// Whether the copy should open a connection for its waiters: more of them
    /// wait than connections are being opened, the pool has room, and the copy
    /// is not already waiting for the database to free a slot.
    #[inline(always)]
    pub(super) fn opens_for_waiters(&self, instance: u32) -> bool {
        let c = &self.copies[instance as usize];
        c.opening < c.waiting && self.can_open(instance) && !c.wants_db
    }

    /// [`open_for_waiters`](Self::open_for_waiters) once a connection may be opened.
    #[inline(never)]
    pub(super) fn open_more_for_waiters(&mut self, instance: u32, trigger: Option<(u32, u32)>) {
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

    /// An idle connection, most recently used first; expired ones are closed on the way.
    pub(super) fn pop_idle(&mut self, instance: u32) -> Option<u32> {
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

    pub(super) fn make_idle(&mut self, conn: u32, instance: u32) {
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
        self.recorder.db_level(self.now, self.db.open);
        self.report(c.instance);
        // A freed slot lets a pool that waits for the database open at once.
        while self.db.open < self.db.usable {
            let Some(next) = self.db.waiting_copies.pop_front() else { break };
            self.copies[next as usize].wants_db = false;
            self.open_for_waiters(next, None);
        }
    }
}
