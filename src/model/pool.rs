//! A connection pool: `max_size` slots and a first-come-first-served wait queue.
//!
//! The pool only counts; it does not know about time or events. Waiters are kept
//! in arrival order; a waiter that gives up is removed lazily (its entry stays in
//! the queue, marked stale by the request table, and is skipped when reached), so
//! a timeout costs O(1).

use std::collections::VecDeque;

use crate::engine::SimDuration;

/// A waiting request: its slot in the request table and that slot's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiter {
    /// Slot index of the request.
    pub slot: u32,
    /// Generation of the slot when the request started waiting.
    pub generation: u32,
}

/// The state of one pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Most connections handed out at once.
    pub max_size: u32,
    /// Connections currently handed out.
    pub in_use: u32,
    /// Requests currently waiting (excludes stale queue entries).
    pub waiting: u32,
    /// How long a new waiter waits before giving up.
    pub acquire_timeout: SimDuration,
    queue: VecDeque<Waiter>,
}

impl Pool {
    /// An idle pool.
    pub fn new(max_size: u32, acquire_timeout: SimDuration) -> Pool {
        Pool { max_size, in_use: 0, waiting: 0, acquire_timeout, queue: VecDeque::new() }
    }

    /// Whether a new request can take a connection right away: a free slot and
    /// nobody ahead of it (FIFO fairness: no overtaking waiters).
    #[inline]
    pub fn can_grant_now(&self) -> bool {
        self.in_use < self.max_size && self.waiting == 0
    }

    /// Takes a connection (the caller checked there is one).
    #[inline]
    pub fn take(&mut self) {
        debug_assert!(self.in_use < self.max_size);
        self.in_use += 1;
    }

    /// Returns a connection.
    #[inline]
    pub fn put_back(&mut self) {
        debug_assert!(self.in_use > 0);
        self.in_use -= 1;
    }

    /// Queues a request behind the current waiters.
    #[inline]
    pub fn enqueue(&mut self, w: Waiter) {
        self.queue.push_back(w);
        self.waiting += 1;
    }

    /// A waiter gave up; its queue entry becomes stale. `is_live` tells whether a
    /// queue entry still waits, so stale entries at the front are dropped now.
    #[inline]
    pub fn abandon(&mut self, is_live: impl Fn(Waiter) -> bool) {
        self.waiting -= 1;
        while let Some(&front) = self.queue.front() {
            if is_live(front) {
                break;
            }
            self.queue.pop_front();
        }
    }

    /// The next live waiter to serve, if a slot is free.
    #[inline]
    pub fn next_waiter(&mut self, is_live: impl Fn(Waiter) -> bool) -> Option<Waiter> {
        if self.in_use >= self.max_size {
            return None;
        }
        while let Some(w) = self.queue.pop_front() {
            if is_live(w) {
                self.waiting -= 1;
                return Some(w);
            }
        }
        None
    }

    /// Queue entries, including stale ones (for memory checks).
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_are_served_first_come_first_served() {
        let mut p = Pool::new(1, SimDuration::from_secs(1));
        p.take();
        for slot in 0..3 {
            p.enqueue(Waiter { slot, generation: 0 });
        }
        assert!(!p.can_grant_now());
        assert_eq!(p.next_waiter(|_| true), None, "no free slot yet");
        p.put_back();
        assert_eq!(p.next_waiter(|_| true).map(|w| w.slot), Some(0));
        p.take();
        p.put_back();
        assert_eq!(p.next_waiter(|_| true).map(|w| w.slot), Some(1));
    }

    #[test]
    fn abandoned_waiters_are_skipped() {
        let mut p = Pool::new(1, SimDuration::from_secs(1));
        p.take();
        p.enqueue(Waiter { slot: 0, generation: 0 });
        p.enqueue(Waiter { slot: 1, generation: 0 });
        // Slot 1 gives up while slot 0 still waits: its entry stays until reached.
        p.abandon(|w| w.slot != 1);
        assert_eq!((p.waiting, p.queue_len()), (1, 2));
        p.put_back();
        assert_eq!(p.next_waiter(|w| w.slot != 1).map(|w| w.slot), Some(0));
        assert_eq!(p.next_waiter(|w| w.slot != 1), None);
        assert_eq!(p.queue_len(), 0);
    }

    #[test]
    fn a_new_request_does_not_overtake_waiters() {
        let mut p = Pool::new(2, SimDuration::from_secs(1));
        p.take();
        p.enqueue(Waiter { slot: 9, generation: 0 });
        assert!(!p.can_grant_now(), "a free slot must go to the waiter first");
    }
}
