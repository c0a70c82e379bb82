//! The table of requests in flight: a slab of reusable slots with generations.
//!
//! A slot's generation grows each time it is reused, so an event that names
//! (slot, generation) can tell whether it still refers to the same request.
//! Memory is O(requests in flight), whatever the length of the run.

use crate::engine::SimTime;
use crate::metrics::Outcome;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The slot is free.
    Free,
    /// Waiting for a connection.
    Waiting,
    /// Holding a connection.
    Holding,
    /// Done with the pool; the response is on its way.
    Responding(Outcome),
}

/// One request in flight.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub id: u64,
    pub workload: u16,
    /// The virtual user that sent it, or `u32::MAX` for open-loop and burst requests.
    pub user: u32,
    pub arrival: SimTime,
    pub acquired: Option<SimTime>,
    /// When it stopped waiting (got a connection or gave up).
    pub wait_end: SimTime,
    pub phase: Phase,
    generation: u32,
}

/// Slots of requests in flight.
#[derive(Debug, Default)]
pub struct Requests {
    slots: Vec<Request>,
    free: Vec<u32>,
    live: usize,
}

impl Requests {
    /// Adds a waiting request; returns its slot and generation.
    #[inline]
    pub fn insert(&mut self, id: u64, workload: u16, user: u32, arrival: SimTime) -> (u32, u32) {
        self.live += 1;
        let fresh = |generation| Request {
            id,
            workload,
            user,
            arrival,
            acquired: None,
            wait_end: arrival,
            phase: Phase::Waiting,
            generation,
        };
        match self.free.pop() {
            Some(slot) => {
                let r = &mut self.slots[slot as usize];
                let generation = r.generation.wrapping_add(1);
                *r = fresh(generation);
                (slot, generation)
            }
            None => {
                self.slots.push(fresh(0));
                ((self.slots.len() - 1) as u32, 0)
            }
        }
    }

    /// Whether (slot, generation) is still the request it was.
    #[inline]
    pub fn is_current(&self, slot: u32, generation: u32) -> bool {
        let r = &self.slots[slot as usize];
        r.generation == generation && r.phase != Phase::Free
    }

    /// Whether (slot, generation) is still waiting for a connection.
    #[inline]
    pub fn is_waiting(&self, slot: u32, generation: u32) -> bool {
        let r = &self.slots[slot as usize];
        r.generation == generation && r.phase == Phase::Waiting
    }

    /// The request in `slot`.
    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut Request {
        &mut self.slots[slot as usize]
    }

    /// Frees `slot`, returning the request it held.
    #[inline]
    pub fn remove(&mut self, slot: u32) -> Request {
        let r = &mut self.slots[slot as usize];
        let out = *r;
        r.phase = Phase::Free;
        self.free.push(slot);
        self.live -= 1;
        out
    }

    /// Requests in flight.
    pub fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_slots_get_a_new_generation() {
        let mut r = Requests::default();
        let (s, g) = r.insert(0, 0, u32::MAX, SimTime(0));
        r.get_mut(s).phase = Phase::Responding(Outcome::Ok);
        r.remove(s);
        assert!(!r.is_current(s, g));
        let (s2, g2) = r.insert(1, 0, u32::MAX, SimTime(5));
        assert_eq!(s2, s);
        assert_ne!(g2, g);
        assert!(r.is_waiting(s2, g2) && !r.is_waiting(s, g));
        assert_eq!(r.live(), 1);
    }
}
