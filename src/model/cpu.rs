//! The database's CPU (`database.cores`): queries share the cores by
//! processor sharing. With `n` queries running on `c` cores, each runs at
//! speed `min(1, c / n)`: a hold drawn as `h` is `h` of work, finished sooner
//! or later in wall time as the database gets busier. This is what makes a
//! bigger pool slower past a point: more connections, more queries at once,
//! each one slower.
//!
//! Implementation: a virtual clock `v` (work done by any one running query, in
//! ns) advances at the current speed; each query finishes when `v` reaches its
//! start value plus its work. A min-heap on that finish value gives the next
//! completion; one `CpuDone` event (stale when its epoch moved on) wakes the
//! model then. O(log n) per query.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Event, Simulation};
use crate::engine::SimTime;
use crate::result::Outcome;

/// Queries running at the database, sharing its cores.
#[derive(Debug)]
pub struct Cpu {
    cores: f64,
    /// Work done by each running query since the start, ns.
    v: f64,
    last: SimTime,
    /// (finish value of `v` in ns, request slot, its generation); entries of
    /// queries cancelled in between are skipped when they surface.
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Running queries (live heap entries).
    running: u32,
    /// Bumped at every reschedule; a `CpuDone` with an older epoch is stale.
    pub epoch: u32,
}

impl Cpu {
    /// A database with `cores` cores and nothing running.
    pub fn new(cores: u32) -> Cpu {
        Cpu { cores: f64::from(cores), v: 0.0, last: SimTime::ZERO, heap: BinaryHeap::new(), running: 0, epoch: 0 }
    }

    /// Speed of each running query (1 = its hold as drawn).
    fn speed(&self) -> f64 {
        if self.running as f64 <= self.cores { 1.0 } else { self.cores / self.running as f64 }
    }

    /// Advances the virtual clock to `now`.
    pub fn advance(&mut self, now: SimTime) {
        if self.running > 0 {
            self.v += (now - self.last).0 as f64 * self.speed();
        }
        self.last = now;
    }

    /// A query of `work_ns` starts now (call [`Cpu::advance`] first).
    pub fn start(&mut self, slot: u32, generation: u32, work_ns: u64) {
        let finish = (self.v + work_ns as f64).round() as u64;
        self.heap.push(Reverse((finish, slot, generation)));
        self.running += 1;
    }

    /// A running query was cancelled (its holder failed); its entry is skipped later.
    pub fn cancel(&mut self) {
        self.running -= 1;
    }

    /// Pops the queries finished by now (`v` within half a nanosecond of their
    /// finish), dropping entries `is_live` rejects.
    pub fn finished(&mut self, is_live: impl Fn(u32, u32) -> bool) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        while let Some(&Reverse((finish, slot, generation))) = self.heap.peek() {
            if !is_live(slot, generation) {
                self.heap.pop();
                continue;
            }
            if finish as f64 > self.v + 0.5 {
                break;
            }
            self.heap.pop();
            self.running -= 1;
            out.push((slot, generation));
        }
        out
    }

    /// When the next live query finishes at the current speed, from `now`.
    pub fn next_finish(&mut self, now: SimTime, is_live: impl Fn(u32, u32) -> bool) -> Option<SimTime> {
        while let Some(&Reverse((finish, slot, generation))) = self.heap.peek() {
            if is_live(slot, generation) {
                let left = (finish as f64 - self.v).max(0.0) / self.speed();
                return Some(now + crate::engine::SimDuration(left.ceil() as u64));
            }
            self.heap.pop();
        }
        None
    }
}

impl Simulation<'_> {
    /// Queries at the database's CPU are done: their holds end.
    pub(super) fn on_cpu_done(&mut self) {
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
    pub(super) fn cpu_reschedule(&mut self) {
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

    /// With database cores, a holder about to lose its connection leaves the CPU.
    pub(super) fn cpu_cancel_for(&mut self, slot: u32, generation: u32) {
        if self.requests.is_holding(slot, generation) {
            // Mark it first, so the CPU's reschedule no longer sees it as running.
            self.requests.get_mut(slot).phase = super::request::Phase::Responding(Outcome::Terminated);
            self.cpu_cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_share_the_cores() {
        // One core, two 1 s queries started together: both finish at 2 s.
        let mut c = Cpu::new(1);
        c.advance(SimTime::ZERO);
        c.start(0, 0, 1_000_000_000);
        c.start(1, 0, 1_000_000_000);
        let t = c.next_finish(SimTime::ZERO, |_, _| true).unwrap();
        assert_eq!(t, SimTime(2_000_000_000));
        c.advance(t);
        assert_eq!(c.finished(|_, _| true), vec![(0, 0), (1, 0)]);
    }

    #[test]
    fn within_the_cores_queries_run_at_full_speed() {
        let mut c = Cpu::new(4);
        c.advance(SimTime::ZERO);
        c.start(0, 0, 500);
        c.start(1, 0, 700);
        assert_eq!(c.next_finish(SimTime::ZERO, |_, _| true), Some(SimTime(500)));
    }
}
