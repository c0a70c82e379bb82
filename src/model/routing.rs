//! Routing: which worker of which pod serves the next request (round robin,
//! random or least outstanding), and which copy of a pool that worker uses.

use super::Simulation;
use crate::scenario::{Routing, Scope};

impl Simulation<'_> {
    /// The worker (global index) that serves the next request.
    #[inline]
    pub(super) fn route(&mut self) -> u32 {
        let n = self.active_pods * self.scenario.fleet.workers_per_pod;
        if n == 1 {
            return 0;
        }
        match self.scenario.fleet.routing {
            Routing::RoundRobin => self.next_in_turn(n),
            Routing::Random => self.routing_rng.below(n as u64) as u32,
            Routing::LeastOutstanding => {
                // Scan from a rotating start so ties spread round robin.
                let start = self.next_in_turn(n);
                let mut best = start;
                let mut w = start;
                for _ in 1..n {
                    w = if w + 1 == n { 0 } else { w + 1 };
                    if self.outstanding[w as usize] < self.outstanding[best as usize] {
                        best = w;
                    }
                }
                best
            }
        }
    }

    /// The worker whose turn it is among `n`, and the turn moves on (without a
    /// division: `rr_next` is below `n` unless pods were just scaled in).
    #[inline]
    pub(super) fn next_in_turn(&mut self, n: u32) -> u32 {
        let w = if self.rr_next < n { self.rr_next } else { self.rr_next % n };
        self.rr_next = if w + 1 == n { 0 } else { w + 1 };
        w
    }

    /// The copy of `pool` that a request served by `worker` uses.
    #[inline]
    pub(super) fn copy_for(&self, pool: usize, worker: u32) -> u32 {
        let p = &self.pools[pool];
        let per_pod = self.scenario.fleet.workers_per_pod;
        match p.scope {
            Scope::Worker => p.base + worker,
            Scope::Pod => p.base + worker / per_pod,
            Scope::Shared => p.base,
        }
    }
}
