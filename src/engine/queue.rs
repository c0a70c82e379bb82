//! The pending-event set: a binary heap totally ordered by (time, sequence number).
//!
//! Invariant: events pop in non-decreasing time; events scheduled for the same
//! instant pop in the order they were scheduled (FIFO). The key is packed into one
//! `u128` (`time << 64 | seq`) so a comparison is a single integer compare.
//! Cancellation is lazy: the queue never removes an event early; handlers check
//! whether an event is still current when it pops (see `model`).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::time::SimTime;

/// Pending events of type `E`, earliest first, FIFO among equal times.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    next_seq: u64,
}

#[derive(Debug)]
struct Scheduled<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so the smallest (time, seq) is on top.
        other.key.cmp(&self.key)
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0 }
    }

    /// Schedules `event` at `at`. Events at equal times keep their scheduling order.
    pub fn push(&mut self, at: SimTime, event: E) {
        let key = ((at.0 as u128) << 64) | self.next_seq as u128;
        self.next_seq += 1;
        self.heap.push(Scheduled { key, event });
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|s| (SimTime((s.key >> 64) as u64), s.event))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|s| SimTime((s.key >> 64) as u64))
    }

    /// Number of pending events (including lazily cancelled ones).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Total events ever scheduled (a cheap work counter for budgets and benchmarks).
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(30), 'c');
        q.push(SimTime(10), 'a');
        q.push(SimTime(20), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c']);
    }

    #[test]
    fn equal_times_pop_in_scheduling_order() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(SimTime(7), i);
        }
        q.push(SimTime(3), -1);
        assert_eq!(q.pop(), Some((SimTime(3), -1)));
        for i in 0..100 {
            assert_eq!(q.pop(), Some((SimTime(7), i)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn times_near_the_top_of_the_range_keep_their_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(u64::MAX), 2);
        q.push(SimTime(u64::MAX - 1), 1);
        assert_eq!(q.peek_time(), Some(SimTime(u64::MAX - 1)));
        assert_eq!(q.pop().map(|p| p.1), Some(1));
        assert_eq!(q.pop().map(|p| p.1), Some(2));
    }
}
