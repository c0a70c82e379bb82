//! One copy of a pool (per worker, per pod or shared) and the connections it
//! owns, as a connection-pool library keeps them.
//!
//! Invariants: `open` counts connections established at the database (idle,
//! in use and leaked); `opening` those still connecting; `in_use` those checked
//! out (leaked ones included). Waiters are served by priority, first come first
//! served within a priority; entries of waiters that gave up are dropped lazily.
//! Idle connections are reused last-in first-out (as node-postgres and
//! HikariCP do) or, with `reuse: fifo`, first-in first-out (SQLAlchemy,
//! psycopg_pool); either way the front of `idle` is the one idle the longest:
//! the only one the idle timeout needs to look at. `refusing` counts opens
//! the database will refuse once their `refuse_time` has passed: they take
//! room in the pool (not at the database) until then.

use std::collections::VecDeque;

use crate::engine::{SimDuration, SimTime};

/// A request (or job acquisition) waiting for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiter {
    /// Request slot.
    pub slot: u32,
    /// Its generation when it started waiting.
    pub generation: u32,
    /// When it gives up, as (time << 64 | seq) with the sequence number its
    /// own timeout event would have had (`u128::MAX`: never): ordered as the
    /// event queue orders those events.
    pub deadline: u128,
}

/// Number of priority levels (low, normal, high).
pub const PRIORITIES: usize = 3;

/// One copy of a pool.
#[derive(Debug, Clone)]
pub struct PoolCopy {
    /// Index of the pool in the scenario.
    pub pool: u16,
    /// Pod it lives in (0 for a shared pool).
    pub pod: u32,
    /// Most connections handed out at once, overflow aside.
    pub max_size: u32,
    /// Connections established (idle, in use, leaked).
    pub open: u32,
    /// Connections being established.
    pub opening: u32,
    /// Connections checked out (leaked ones included).
    pub in_use: u32,
    /// Opens under way that the database will refuse (`database.refuse_time`).
    pub refusing: u32,
    /// Live waiters.
    pub waiting: u32,
    /// Acquire timeout for requests that start waiting now.
    pub acquire_timeout: SimDuration,
    /// Idle connections (ids and generations), the longest idle at the front.
    pub idle: VecDeque<(u32, u32)>,
    /// Whether an idle-timeout check is scheduled.
    pub idle_check_armed: bool,
    /// Whether the pool waits for the database to free a slot (on_refused: wait).
    pub wants_db: bool,
    /// The pod was scaled in: connections close when released.
    pub draining: bool,
    /// Idle connections are reused oldest first (`reuse: fifo`).
    pub idle_fifo: bool,
    /// A returned connection wakes its waiter, who may be overtaken (`handoff: wake_up`).
    pub wakes: bool,
    /// `draining || wakes`: a release that may not simply hand the connection over.
    pub slow_release: bool,
    /// Key of the one timeout event pending for this copy's waiters
    /// (`u128::MAX`: none); it is never later than the earliest live deadline.
    pub timer: u128,
    /// Bumped whenever `timer` is re-armed: an event with another epoch is stale.
    pub timer_epoch: u32,
    waiters: [VecDeque<Waiter>; PRIORITIES],
    /// Whether some waiter's deadline is earlier than one queued before it in
    /// its FIFO (possible only after the acquire timeout was shortened while
    /// requests waited): the earliest deadline is then searched, not read.
    unordered: bool,
}

impl PoolCopy {
    /// An empty copy of pool `pool` in pod `pod`.
    pub fn new(pool: u16, pod: u32, max_size: u32, acquire_timeout: SimDuration) -> PoolCopy {
        PoolCopy {
            pool,
            pod,
            max_size,
            open: 0,
            opening: 0,
            in_use: 0,
            refusing: 0,
            waiting: 0,
            acquire_timeout,
            idle: VecDeque::new(),
            idle_check_armed: false,
            wants_db: false,
            draining: false,
            idle_fifo: false,
            wakes: false,
            slow_release: false,
            timer: u128::MAX,
            timer_epoch: 0,
            waiters: Default::default(),
            unordered: false,
        }
    }

    /// Connections established or being established (refused opens still
    /// under way included: they take room in the pool until refused).
    #[inline]
    pub fn total(&self) -> u32 {
        self.open + self.opening + self.refusing
    }

    /// Opens under way, refused ones included.
    #[inline]
    pub fn pending(&self) -> u32 {
        self.opening + self.refusing
    }

    /// The next idle connection entry to hand out: the newest (LIFO) or the
    /// oldest (`reuse: fifo`); entries may be stale.
    #[inline]
    pub fn take_idle_entry(&mut self) -> Option<(u32, u32)> {
        if self.idle_fifo { self.idle.pop_front() } else { self.idle.pop_back() }
    }

    /// Live waiters in the order they are served (highest priority first,
    /// oldest first), for the cold paths that look beyond the first.
    pub fn waiters_in_order<'a>(&'a self, is_live: impl Fn(Waiter) -> bool + 'a) -> impl Iterator<Item = Waiter> + 'a {
        self.waiters.iter().rev().flat_map(|q| q.iter().copied()).filter(move |&w| is_live(w))
    }

    /// Idle connections (the live ones: `idle` may hold closed entries until they are skipped).
    #[inline]
    pub fn idle_count(&self) -> u32 {
        self.open - self.in_use
    }

    /// Adds a waiter at the back of its priority's queue.
    #[inline]
    pub fn enqueue(&mut self, w: Waiter, priority: usize) {
        let q = &mut self.waiters[priority];
        if q.back().is_some_and(|b| b.deadline > w.deadline) {
            self.unordered = true;
        }
        q.push_back(w);
        self.waiting += 1;
    }

    /// The live waiter that gives up first (by deadline key), if any; dead
    /// entries at the fronts are dropped on the way.
    #[inline]
    pub fn first_deadline(&mut self, is_live: impl Fn(Waiter) -> bool) -> Option<Waiter> {
        let mut first: Option<Waiter> = None;
        for q in &mut self.waiters {
            while let Some(&front) = q.front() {
                if is_live(front) {
                    break;
                }
                q.pop_front();
            }
            // Within a FIFO deadlines grow, unless the timeout was shortened.
            let n = if self.unordered { q.len() } else { q.len().min(1) };
            for &w in q.range(..n) {
                if first.is_none_or(|f| w.deadline < f.deadline) && is_live(w) {
                    first = Some(w);
                }
            }
        }
        if self.waiting == 0 {
            self.unordered = false;
        }
        first
    }

    /// A waiter left (gave up or failed); drops dead entries at the queue fronts.
    #[inline]
    pub fn abandon(&mut self, is_live: impl Fn(Waiter) -> bool) {
        self.waiting -= 1;
        for q in &mut self.waiters {
            while let Some(&front) = q.front() {
                if is_live(front) {
                    break;
                }
                q.pop_front();
            }
        }
    }

    /// Takes the next live waiter: highest priority first, oldest first.
    #[inline]
    pub fn next_waiter(&mut self, is_live: impl Fn(Waiter) -> bool) -> Option<Waiter> {
        if self.waiting == 0 {
            return None;
        }
        for q in self.waiters.iter_mut().rev() {
            while let Some(w) = q.pop_front() {
                if is_live(w) {
                    self.waiting -= 1;
                    return Some(w);
                }
            }
        }
        None
    }

    /// Entries in the waiter queues, dead ones included (for tests).
    pub fn queue_len(&self) -> usize {
        self.waiters.iter().map(VecDeque::len).sum()
    }
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// The slot is unused.
    Free,
    /// Connecting to the database.
    Opening,
    /// In its pool, unused.
    Idle,
    /// Checked out by a request or a job.
    InUse,
    /// Checked out and never coming back (until killed or its pool closes).
    Leaked,
    /// An open the database refused; the pool learns it when `refuse_time`
    /// has passed. It holds no slot at the database.
    Refusing,
}

/// One database connection.
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    /// Pool copy that owns it.
    pub instance: u32,
    /// Bumped when the slot is reused, so stale timers and idle entries are ignored.
    pub generation: u32,
    /// When it was established.
    pub created: SimTime,
    /// When it was last checked out (in use) or returned (idle).
    pub since: SimTime,
    /// Where it is.
    pub state: ConnState,
    /// Request slot of its holder (valid when in use), or of the request the
    /// open is for while opening (with delayed refusals).
    pub holder: u32,
}

/// The slab of connections.
#[derive(Debug, Default)]
pub struct Conns {
    slots: Vec<Conn>,
    free: Vec<u32>,
}

impl Conns {
    /// A new connection in state `Opening` for pool copy `instance`.
    #[inline]
    pub fn open(&mut self, instance: u32, now: SimTime) -> u32 {
        let c = Conn { instance, generation: 0, created: now, since: now, state: ConnState::Opening, holder: u32::MAX };
        match self.free.pop() {
            Some(id) => {
                let g = self.slots[id as usize].generation.wrapping_add(1);
                self.slots[id as usize] = Conn { generation: g, ..c };
                id
            }
            None => {
                self.slots.push(c);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Frees a connection's slot.
    #[inline]
    pub fn close(&mut self, id: u32) {
        self.slots[id as usize].state = ConnState::Free;
        self.free.push(id);
    }

    /// The connection with this id.
    #[inline]
    pub fn get(&self, id: u32) -> &Conn {
        &self.slots[id as usize]
    }

    /// The connection with this id, to change it.
    #[inline]
    pub fn get_mut(&mut self, id: u32) -> &mut Conn {
        &mut self.slots[id as usize]
    }

    /// Whether (id, generation) is still the same connection in `state`.
    #[inline]
    pub fn is(&self, id: u32, generation: u32, state: ConnState) -> bool {
        let c = &self.slots[id as usize];
        c.generation == generation && c.state == state
    }

    /// Ids of checked-out connections (in use or leaked), longest held first;
    /// ties go to the lower id, so the order is deterministic.
    pub fn checked_out_by_age(&self, keep: impl Fn(&Conn) -> bool) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.slots.len() as u32)
            .filter(|&i| {
                let c = &self.slots[i as usize];
                matches!(c.state, ConnState::InUse | ConnState::Leaked) && keep(c)
            })
            .collect();
        ids.sort_by_key(|&i| (self.slots[i as usize].since, i));
        ids
    }

    /// Ids of every live connection of pool copies for which `keep` holds.
    pub fn all(&self, keep: impl Fn(&Conn) -> bool) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&i| {
                let c = &self.slots[i as usize];
                c.state != ConnState::Free && keep(c)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> PoolCopy {
        PoolCopy::new(0, 0, 1, SimDuration::from_secs(1))
    }

    #[test]
    fn waiters_are_served_first_come_first_served_within_a_priority() {
        let mut p = pool();
        for slot in 0..3 {
            p.enqueue(Waiter { slot, generation: 0, deadline: u128::MAX }, 1);
        }
        assert_eq!(p.next_waiter(|_| true).map(|w| w.slot), Some(0));
        assert_eq!(p.next_waiter(|_| true).map(|w| w.slot), Some(1));
        assert_eq!(p.waiting, 1);
    }

    #[test]
    fn higher_priority_waiters_go_first() {
        let mut p = pool();
        p.enqueue(Waiter { slot: 0, generation: 0, deadline: u128::MAX }, 0);
        p.enqueue(Waiter { slot: 1, generation: 0, deadline: u128::MAX }, 1);
        p.enqueue(Waiter { slot: 2, generation: 0, deadline: u128::MAX }, 2);
        let order: Vec<u32> = std::iter::from_fn(|| p.next_waiter(|_| true).map(|w| w.slot)).collect();
        assert_eq!(order, vec![2, 1, 0]);
    }

    #[test]
    fn abandoned_waiters_are_skipped() {
        let mut p = pool();
        p.enqueue(Waiter { slot: 0, generation: 0, deadline: u128::MAX }, 1);
        p.enqueue(Waiter { slot: 1, generation: 0, deadline: u128::MAX }, 1);
        p.abandon(|w| w.slot != 1);
        assert_eq!((p.waiting, p.queue_len()), (1, 2));
        assert_eq!(p.next_waiter(|w| w.slot != 1).map(|w| w.slot), Some(0));
        assert_eq!(p.next_waiter(|w| w.slot != 1), None);
    }

    #[test]
    fn the_first_deadline_is_found_even_after_a_shorter_timeout() {
        let mut p = pool();
        let w = |slot, deadline| Waiter { slot, generation: 0, deadline };
        p.enqueue(w(0, 50), 1);
        p.enqueue(w(1, 60), 1);
        p.enqueue(w(2, 40), 0);
        assert_eq!(p.first_deadline(|_| true).map(|w| w.slot), Some(2));
        // The timeout was shortened: a later waiter gives up before earlier ones.
        p.enqueue(w(3, 45), 1);
        assert_eq!(p.first_deadline(|w| w.slot != 2).map(|w| w.slot), Some(3));
        assert_eq!(p.first_deadline(|w| w.slot == 1).map(|w| w.slot), Some(1));
    }

    #[test]
    fn reused_connection_slots_get_a_new_generation() {
        let mut c = Conns::default();
        let a = c.open(0, SimTime::ZERO);
        c.get_mut(a).state = ConnState::Idle;
        let g = c.get(a).generation;
        c.close(a);
        let b = c.open(0, SimTime(5));
        assert_eq!(a, b);
        assert!(!c.is(a, g, ConnState::Idle));
    }

    #[test]
    fn longest_held_connections_come_first() {
        let mut c = Conns::default();
        for t in [5, 1, 3] {
            let id = c.open(0, SimTime(t));
            c.get_mut(id).state = ConnState::InUse;
        }
        assert_eq!(c.checked_out_by_age(|_| true), vec![1, 2, 0]);
    }
}
