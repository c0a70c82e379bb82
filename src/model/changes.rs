//! Timed changes while the run goes on: new holds and overheads, a pool
//! resized or given a new timeout, a class moved to another pool, rates,
//! scaling pods, starting and stopping jobs, closing a pool and killing the
//! longest-held connections (`pg_terminate_backend`).

use super::Simulation;
use super::pool::ConnState;
use super::request::NOT_A_JOB;
use crate::engine::SimDuration;
use crate::result::Outcome;
use crate::scenario::{Change, PoolId, Scope};

impl Simulation<'_> {
    /// Terminates a checked-out connection under its holder (a kill or a pool closing).
    pub(super) fn terminate(&mut self, conn: u32) {
        let c = *self.conns.get(conn);
        let copy = &mut self.copies[c.instance as usize];
        copy.in_use -= 1;
        self.pools[copy.pool as usize].used -= 1;
        self.used_total -= 1;
        if c.state == ConnState::Leaked {
            self.leaked_now -= 1;
            self.recorder.leaked_level(self.now, self.leaked_now);
        } else {
            let slot = c.holder;
            let generation = self.requests.generation(slot);
            self.cpu_cancel_for(slot, generation);
            if self.pooler.is_some() {
                self.pooler_drop(slot);
            }
            if self.requests.get(slot).job == NOT_A_JOB {
                self.begin_response(slot, generation, Outcome::Terminated);
            } else {
                let r = self.requests.remove(slot);
                self.jobs[r.job as usize].acquire_failures += 1;
            }
        }
        self.close_conn(conn);
    }

    pub(super) fn apply_changes(&mut self, index: usize) {
        let scenario = self.scenario;
        for change in &scenario.changes[index].actions {
            match change {
                Change::Hold(c, d) => self.classes[c.0 as usize].hold = d.clone(),
                Change::Overhead(c, d) => {
                    let class = &mut self.classes[c.0 as usize];
                    class.overhead = d.clone();
                    class.overhead_is_zero = d.constant_value() == Some(SimDuration::ZERO);
                }
                Change::ClassPool(c, p) => {
                    let class = &mut self.classes[c.0 as usize];
                    class.pool = p.0 as usize;
                    class.reset = super::class_reset(scenario, p.0 as usize);
                    let stmt = scenario.classes[c.0 as usize].statement_timeout;
                    class.hold_cap = super::hold_cap(stmt, class.reset);
                }
                Change::MaxSize(p, n) => self.resize(*p, *n),
                Change::AcquireTimeout(p, d) => {
                    for i in self.copies_of(*p) {
                        self.copies[i as usize].acquire_timeout = *d;
                    }
                }
                Change::Rate(w, r) => self.set_rate(w.0, *r),
                Change::Pods(n) => self.scale(*n),
                Change::StartJob(j) => self.start_job(j.0, self.now),
                Change::StopJob(j) => self.stop_job(j.0),
                Change::ClosePool(p) => {
                    let pool = p.0;
                    let conns = self.conns.all(|c| self.copies[c.instance as usize].pool == pool);
                    for conn in conns {
                        self.close_any(conn);
                    }
                    for i in self.copies_of(*p) {
                        self.open_for_waiters(i, None);
                        self.report(i);
                    }
                }
                Change::KillConnections { count, pool } => {
                    let keep =
                        |c: &super::pool::Conn| pool.is_none_or(|p| self.copies[c.instance as usize].pool == p.0);
                    let victims = self.conns.checked_out_by_age(keep);
                    for conn in victims.into_iter().take(*count as usize) {
                        let instance = self.conns.get(conn).instance;
                        self.terminate(conn);
                        self.open_for_waiters(instance, None);
                        self.report(instance);
                    }
                }
            }
        }
    }

    /// Closes a connection whatever its state.
    pub(super) fn close_any(&mut self, conn: u32) {
        match self.conns.get(conn).state {
            ConnState::InUse | ConnState::Leaked => self.terminate(conn),
            ConnState::Idle | ConnState::Opening => self.close_conn(conn),
            // Holds nothing at the database; its refusal comes when it comes.
            ConnState::Free | ConnState::Refusing => {}
        }
    }

    pub(super) fn copies_of(&self, pool: PoolId) -> Vec<u32> {
        (0..self.copies.len() as u32).filter(|&i| self.copies[i as usize].pool == pool.0).collect()
    }

    /// Resizes every copy of a pool: growing serves waiters (opening connections);
    /// shrinking closes idle connections above the new size now and busy ones as
    /// they come back.
    pub(super) fn resize(&mut self, pool: PoolId, n: u32) {
        for i in self.copies_of(pool) {
            let c = &mut self.copies[i as usize];
            if !c.draining {
                self.max_total = self.max_total - c.max_size + n;
            }
            c.max_size = n;
            while self.copies[i as usize].open > n {
                let Some(conn) = self.pop_idle(i) else { break };
                self.close_conn(conn);
            }
            self.serve_idle(i);
            self.open_for_waiters(i, None);
            self.report(i);
        }
    }

    /// Gives idle connections to waiters (after a change made both exist).
    pub(super) fn serve_idle(&mut self, instance: u32) {
        while self.copies[instance as usize].waiting > 0 {
            let Some(conn) = self.pop_idle(instance) else { break };
            self.hand_over(conn, instance);
        }
    }

    /// Scales to `n` pods. Removed pods get no new requests or job runs; their
    /// idle connections close now and busy ones when released.
    pub(super) fn scale(&mut self, n: u32) {
        self.active_pods = n;
        self.rr_next = 0;
        for i in 0..self.copies.len() as u32 {
            let c = &self.copies[i as usize];
            if self.pools[c.pool as usize].scope == Scope::Shared {
                continue;
            }
            let draining = c.pod >= n;
            if draining != c.draining {
                let size = c.max_size;
                if draining {
                    self.max_total -= size;
                } else {
                    self.max_total += size;
                }
                let copy = &mut self.copies[i as usize];
                copy.draining = draining;
                copy.slow_release = draining || copy.wakes;
            }
            if draining {
                while let Some(conn) = self.pop_idle(i) {
                    self.close_conn(conn);
                }
            }
            self.report(i);
        }
    }
}
