//! Requests in flight (and job acquisitions), in a slab with generation
//! counters so timers scheduled for a slot can tell whether they are still
//! about the same request. Memory is O(requests in flight).

use crate::engine::SimTime;
use crate::result::Outcome;

/// Marks a slab entry that is an HTTP request, not a job's acquisition.
pub const NOT_A_JOB: u16 = u16::MAX;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The slot is unused.
    Free,
    /// Waiting for a connection.
    Waiting,
    /// Queued at its worker, which serves its concurrency limit already.
    AtWorker,
    /// Holding a connection.
    Holding,
    /// Handed a returned connection it has not taken yet (`handoff: wake_up`):
    /// out of its pool's queue until it wakes.
    Woken,
    /// Holding its pool's connection (a client of the pooler), its
    /// transaction queued at the pooler for a server connection.
    AtPooler,
    /// Its hold is done; the pool's reset query queues at the pooler.
    ResetWait,
    /// The pool's reset query runs on a server connection of the pooler.
    Resetting,
    /// Done with the pool; the response leaves after the overhead.
    Responding(Outcome),
}

/// One request (or one connection a job run asks for).
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Request number in arrival order.
    pub id: u64,
    /// Workload that sent it (the job's index for job acquisitions).
    pub workload: u16,
    /// Job index, or [`NOT_A_JOB`].
    pub job: u16,
    /// Virtual user, or `u32::MAX` for open workloads.
    pub user: u32,
    /// Class index.
    pub class: u16,
    /// Global worker index that serves it.
    pub worker: u32,
    /// Pool copy it takes its connection from.
    pub instance: u32,
    /// Connection it holds (valid while holding).
    pub conn: u32,
    /// A job run that will fail (decided when it starts).
    pub error: bool,
    /// The hold was cut by the statement timeout.
    pub cut: bool,
    /// Attempt number of the client's call (0: the first; `client.retries` is at most 100).
    pub attempt: u8,
    /// The client's call it belongs to started at or after the warm-up: the
    /// client's figures count it.
    pub counted_call: bool,
    /// The client gave up on it (client timeout); the server still works on it.
    pub abandoned: bool,
    /// When it arrived.
    pub arrival: SimTime,
    /// When it asked its pool for a connection (later than `arrival` when it
    /// queued at its worker first).
    pub entered: SimTime,
    /// When it got its connection.
    pub acquired: Option<SimTime>,
    /// When its wait ended (acquired, gave up or failed).
    pub wait_end: SimTime,
    /// Where it is.
    pub phase: Phase,
    generation: u32,
}

// The event loop moves requests around: keep them at 80 bytes (the flags and the
// attempt number fill the last word exactly).
const _: () = assert!(std::mem::size_of::<Request>() <= 80);

/// The slab of requests in flight.
#[derive(Debug, Default)]
pub struct Requests {
    slots: Vec<Request>,
    free: Vec<u32>,
    live: usize,
    live_jobs: usize,
}

/// What a new slab entry starts with.
#[derive(Debug, Clone, Copy)]
pub struct NewRequest {
    /// Request number.
    pub id: u64,
    /// Workload (or job) index.
    pub workload: u16,
    /// Job index or [`NOT_A_JOB`].
    pub job: u16,
    /// Virtual user or `u32::MAX`.
    pub user: u32,
    /// Class index.
    pub class: u16,
    /// Global worker index.
    pub worker: u32,
    /// Pool copy.
    pub instance: u32,
    /// A job run that will fail.
    pub error: bool,
    /// Attempt number (0: the first).
    pub attempt: u8,
    /// Its call started at or after the warm-up.
    pub counted_call: bool,
    /// Arrival time.
    pub arrival: SimTime,
}

impl Requests {
    /// Stores a new waiting request; returns its (slot, generation).
    #[inline(always)]
    pub fn insert(&mut self, n: NewRequest) -> (u32, u32) {
        self.live += 1;
        self.live_jobs += usize::from(n.job != NOT_A_JOB);
        let fresh = |generation| Request {
            id: n.id,
            workload: n.workload,
            job: n.job,
            user: n.user,
            class: n.class,
            worker: n.worker,
            instance: n.instance,
            conn: u32::MAX,
            error: n.error,
            cut: false,
            attempt: n.attempt,
            counted_call: n.counted_call,
            abandoned: false,
            arrival: n.arrival,
            entered: n.arrival,
            acquired: None,
            wait_end: n.arrival,
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

    /// Whether (slot, generation) is still the same live request.
    #[inline]
    pub fn is_current(&self, slot: u32, generation: u32) -> bool {
        let r = &self.slots[slot as usize];
        r.generation == generation && r.phase != Phase::Free
    }

    /// Whether (slot, generation) is the same request and still waiting.
    #[inline]
    pub fn is_waiting(&self, slot: u32, generation: u32) -> bool {
        let r = &self.slots[slot as usize];
        r.generation == generation && r.phase == Phase::Waiting
    }

    /// Whether (slot, generation) is the same request and still holding.
    #[inline]
    pub fn is_holding(&self, slot: u32, generation: u32) -> bool {
        let r = &self.slots[slot as usize];
        r.generation == generation && r.phase == Phase::Holding
    }

    /// Whether (slot, generation) is the same request and in `phase`.
    #[inline]
    pub fn is_in(&self, slot: u32, generation: u32, phase: Phase) -> bool {
        let r = &self.slots[slot as usize];
        r.generation == generation && r.phase == phase
    }

    /// The generation of a slot's current request.
    #[inline]
    pub fn generation(&self, slot: u32) -> u32 {
        self.slots[slot as usize].generation
    }

    /// The request in a slot.
    #[inline]
    pub fn get(&self, slot: u32) -> &Request {
        &self.slots[slot as usize]
    }

    /// The request in a slot, to change it.
    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut Request {
        &mut self.slots[slot as usize]
    }

    /// Frees a slot and returns what it held.
    #[inline]
    pub fn remove(&mut self, slot: u32) -> Request {
        let r = &mut self.slots[slot as usize];
        let out = *r;
        self.free(slot);
        out
    }

    /// Frees a slot (without copying out what it held).
    #[inline]
    pub fn free(&mut self, slot: u32) {
        let r = &mut self.slots[slot as usize];
        r.phase = Phase::Free;
        self.live_jobs -= usize::from(r.job != NOT_A_JOB);
        self.free.push(slot);
        self.live -= 1;
    }

    /// Slots of live entries for which `keep` holds, in slot order.
    pub fn slots_where(&self, keep: impl Fn(&Request) -> bool) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&i| self.slots[i as usize].phase != Phase::Free && keep(&self.slots[i as usize]))
            .collect()
    }

    /// Entries in flight (requests and job acquisitions).
    pub fn live(&self) -> usize {
        self.live
    }

    /// HTTP requests in flight (job acquisitions left out).
    pub fn live_requests(&self) -> u64 {
        (self.live - self.live_jobs) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(id: u64, t: u64) -> NewRequest {
        NewRequest {
            id,
            workload: 0,
            job: NOT_A_JOB,
            user: u32::MAX,
            class: 0,
            worker: 0,
            instance: 0,
            error: false,
            attempt: 0,
            counted_call: true,
            arrival: SimTime(t),
        }
    }

    #[test]
    fn reused_slots_get_a_new_generation() {
        let mut r = Requests::default();
        let (s, g) = r.insert(new(0, 0));
        r.get_mut(s).phase = Phase::Responding(Outcome::Ok);
        r.remove(s);
        assert!(!r.is_current(s, g));
        let (s2, g2) = r.insert(new(1, 5));
        assert_eq!(s2, s);
        assert_ne!(g2, g);
        assert!(r.is_waiting(s2, g2) && !r.is_waiting(s, g));
        assert_eq!(r.live(), 1);
    }
}
