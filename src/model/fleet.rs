//! The fleet around the pools: routing requests to workers, background jobs,
//! timed changes (deploys, rollbacks, resizes, kills, scaling) and the
//! end-of-run figures of the database, pools, jobs and leaks.

use super::pool::ConnState;
use super::request::{NOT_A_JOB, NewRequest};
use super::{Event, Simulation, WorkloadRun};
use crate::engine::{SimDuration, SimTime};
use crate::result::{
    ClientSummary, DatabaseSummary, FleetSummary, JobSummary, LeakSummary, Outcome, PoolInstance, PoolSummary,
    WorkerSummary,
};
use crate::scenario::{Change, JobScope, OnError, PoolId, Routing, Scenario, Scope};

impl Simulation<'_> {
    /// Opens `min_idle` connections of every active pool copy and schedules the
    /// jobs that start on their own.
    pub(super) fn start_fleet(&mut self) {
        for i in 0..self.copies.len() as u32 {
            let pool = self.copies[i as usize].pool as usize;
            let min_idle = self.pools[pool].min_idle;
            if self.copies[i as usize].draining {
                continue;
            }
            for _ in 0..min_idle {
                let Some(conn) = self.open_conn(i) else { break };
                self.connect(conn);
            }
        }
        for (j, spec) in self.scenario.jobs.iter().enumerate() {
            if let Some(at) = spec.start {
                self.start_job(j as u16, at);
            }
        }
    }

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
    fn next_in_turn(&mut self, n: u32) -> u32 {
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

    /// Copies of job `job` and the worker each runs in.
    fn job_copies(&self, job: usize) -> (u32, u32) {
        let f = &self.scenario.fleet;
        match self.scenario.jobs[job].scope {
            JobScope::Pod => (f.max_pods, f.workers_per_pod),
            JobScope::Worker => (f.max_pods * f.workers_per_pod, 1),
        }
    }

    /// Starts job `job` at `at`: each copy runs first at a random phase within one period.
    fn start_job(&mut self, job: u16, at: SimTime) {
        let (copies, _) = self.job_copies(job as usize);
        let every = self.scenario.jobs[job as usize].every;
        let offset = self.scenario.jobs[job as usize].offset;
        let j = &mut self.jobs[job as usize];
        if j.active {
            return;
        }
        j.active = true;
        j.epoch += 1;
        let epoch = j.epoch;
        for copy in 0..copies {
            let phase = offset.unwrap_or_else(|| SimDuration::from_secs_f64(every.as_secs_f64() * j.rng.unit()));
            self.queue.push_timer(at.max(self.now) + phase, Event::JobRun { job, copy, epoch });
        }
    }

    /// Stops a job (a rollback): no new runs, and acquisitions still waiting
    /// are dropped, as the code that asked for them is gone. Connections it
    /// holds are released (or leaked) when their holds end.
    fn stop_job(&mut self, job: u16) {
        self.jobs[job as usize].active = false;
        let waiting = self.requests.slots_where(|r| r.job == job && r.phase == super::request::Phase::Waiting);
        for slot in waiting {
            let instance = self.requests.get(slot).instance;
            self.leave_queue(slot, instance);
            self.requests.remove(slot);
            self.report(instance);
        }
    }

    /// One copy of a job runs: it asks its pool for `connections` connections.
    pub(super) fn on_job_run(&mut self, job: u16, copy: u32) {
        let now = self.now;
        let spec = &self.scenario.jobs[job as usize];
        if spec.stop.is_some_and(|s| now >= s) {
            return;
        }
        let epoch = self.jobs[job as usize].epoch;
        self.queue.push_timer(now + spec.every, Event::JobRun { job, copy, epoch });
        let (_, stride) = self.job_copies(job as usize);
        let worker = copy * stride;
        if worker / self.scenario.fleet.workers_per_pod >= self.active_pods {
            return; // its pod is scaled in
        }
        let j = &mut self.jobs[job as usize];
        j.runs += 1;
        let error = j.rng.unit() < spec.error_rate;
        if error {
            j.failed_runs += 1;
        }
        let instance = self.copy_for(spec.pool.0 as usize, worker);
        let priority = spec.priority as usize;
        for _ in 0..spec.connections {
            let (slot, generation) = self.requests.insert(NewRequest {
                id: u64::MAX,
                workload: job,
                job,
                user: u32::MAX,
                class: 0,
                worker,
                instance,
                error,
                attempt: 0,
                arrival: now,
            });
            self.acquire(slot, generation, instance, priority);
        }
    }

    /// A job's hold ends: release the connection, or leak it when the run failed
    /// and the job does not clean up.
    pub(super) fn job_hold_done(&mut self, slot: u32) {
        let r = self.requests.remove(slot);
        let spec = &self.scenario.jobs[r.job as usize];
        if r.error && spec.on_error == OnError::Leak {
            let conn = self.conns.get_mut(r.conn);
            conn.state = ConnState::Leaked;
            let generation = conn.generation;
            let instance = conn.instance;
            let since = conn.since;
            self.jobs[r.job as usize].leaked += 1;
            self.leaked_now += 1;
            self.leaked_peak = self.leaked_peak.max(self.leaked_now);
            self.recorder.leaked_level(self.now, self.leaked_now);
            let threshold = self.pools[self.copies[instance as usize].pool as usize].leak_threshold;
            if threshold != SimDuration::MAX {
                self.queue.push((since + threshold).max(self.now), Event::LeakWarning { conn: r.conn, generation });
            }
        } else {
            self.release(r.conn);
        }
    }

    /// A job could not get a connection (timeout or refusal).
    pub(super) fn job_acquire_failed(&mut self, slot: u32) {
        let r = self.requests.remove(slot);
        self.jobs[r.job as usize].acquire_failures += 1;
    }

    /// Terminates a checked-out connection under its holder (a kill or a pool closing).
    fn terminate(&mut self, conn: u32) {
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
            if self.requests.get(slot).job == NOT_A_JOB {
                self.begin_response(slot, generation, Outcome::Terminated);
            } else {
                let r = self.requests.remove(slot);
                self.jobs[r.job as usize].acquire_failures += 1;
            }
        }
        self.close_conn(conn);
    }

    /// With database cores, a holder about to lose its connection leaves the CPU.
    fn cpu_cancel_for(&mut self, slot: u32, generation: u32) {
        if self.requests.is_holding(slot, generation) {
            // Mark it first, so the CPU's reschedule no longer sees it as running.
            self.requests.get_mut(slot).phase = super::request::Phase::Responding(Outcome::Terminated);
            self.cpu_cancel();
        }
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
                Change::ClassPool(c, p) => self.classes[c.0 as usize].pool = p.0 as usize,
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
    fn close_any(&mut self, conn: u32) {
        match self.conns.get(conn).state {
            ConnState::InUse | ConnState::Leaked => self.terminate(conn),
            ConnState::Idle | ConnState::Opening => self.close_conn(conn),
            ConnState::Free => {}
        }
    }

    fn copies_of(&self, pool: PoolId) -> Vec<u32> {
        (0..self.copies.len() as u32).filter(|&i| self.copies[i as usize].pool == pool.0).collect()
    }

    /// Resizes every copy of a pool: growing serves waiters (opening connections);
    /// shrinking closes idle connections above the new size now and busy ones as
    /// they come back.
    fn resize(&mut self, pool: PoolId, n: u32) {
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
    fn serve_idle(&mut self, instance: u32) {
        while self.copies[instance as usize].waiting > 0 {
            let Some(conn) = self.pop_idle(instance) else { break };
            self.hand_over(conn, instance);
        }
    }

    fn set_rate(&mut self, workload: u16, rate: f64) {
        let now = self.now;
        let WorkloadRun::Open(run) = &mut self.workloads[workload as usize].kind else { return };
        if let Some(t) = run.set_rate(now, rate) {
            self.queue.push_in(run.lane, t, Event::Arrive { workload, epoch: run.epoch });
        }
    }

    /// Scales to `n` pods. Removed pods get no new requests or job runs; their
    /// idle connections close now and busy ones when released.
    fn scale(&mut self, n: u32) {
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
                self.copies[i as usize].draining = draining;
            }
            if draining {
                while let Some(conn) = self.pop_idle(i) {
                    self.close_conn(conn);
                }
            }
            self.report(i);
        }
    }

    /// Database, pool, job and leak figures (peak and refusals are filled in from the recorder).
    pub(super) fn fleet_summary(&self) -> FleetSummary {
        let s = self.scenario;
        let usable = s.database.usable();
        let possible = s.possible_connections();
        let overcommitted = usable.is_some_and(|u| possible > u as u64);
        let mut warnings = Vec::new();
        if let (true, Some(u)) = (overcommitted, usable) {
            warnings.push(format!(
                "connection budget over-committed: the pools may open {possible} connections, the database allows {u} \
                 ({} max_connections - {} reserved); under load some opens will be refused",
                s.database.max_connections.unwrap_or(0),
                s.database.reserved_connections
            ));
        }
        let pools = s
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let st = &self.pools[i];
                PoolSummary {
                    name: p.name.clone(),
                    scope: p.scope.as_str(),
                    instances: s.instances_with(PoolId(i as u16), s.fleet.pods),
                    max_size: p.max_size,
                    peak_used: st.peak_used,
                    peak_open: st.peak_open,
                    timeouts: st.timeouts,
                    connections_opened: st.opened,
                    connections_closed: st.closed,
                }
            })
            .collect();
        let jobs = s
            .jobs
            .iter()
            .zip(&self.jobs)
            .map(|(spec, j)| JobSummary {
                name: spec.name.clone(),
                runs: j.runs,
                failed_runs: j.failed_runs,
                acquire_failures: j.acquire_failures,
                leaked_connections: j.leaked,
            })
            .collect();
        let leaked_total = self.jobs.iter().map(|j| j.leaked).sum();
        FleetSummary {
            database: DatabaseSummary {
                max_connections: s.database.max_connections,
                reserved_connections: s.database.reserved_connections,
                cores: s.database.cores,
                usable_connections: usable,
                possible_connections: possible,
                overcommitted,
                peak_connections: 0,
                refusals: 0,
            },
            pools,
            jobs,
            client: s.client.as_ref().map(|_| {
                let c = &self.client;
                ClientSummary {
                    calls: c.calls,
                    retries: c.retries,
                    amplification: if c.calls == 0 { 0.0 } else { 1.0 + c.retries as f64 / c.calls as f64 },
                    succeeded: c.succeeded,
                    gave_up: c.gave_up,
                    client_timeouts: c.timeouts,
                }
            }),
            workers: s.fleet.worker_concurrency.map(|concurrency| WorkerSummary {
                concurrency,
                queued: self.worker_queued,
                queue_max: self.worker_queue_max,
            }),
            leaks: LeakSummary {
                leaked_total,
                leaked_at_end: self.leaked_now,
                leaked_peak: self.leaked_peak,
                leak_warnings: self.leak_warnings,
            },
            warnings,
        }
    }
}

/// Every copy of every pool, in the order of [`PoolRow::instance`](crate::result::PoolRow::instance):
/// pools in file order; a per-worker pool's copies pod by pod, worker by worker; a per-pod
/// pool's pod by pod. The same before and after a run: copies exist for the most pods the
/// scenario scales to.
pub fn pool_instances(s: &Scenario) -> Vec<PoolInstance> {
    let mut out = Vec::new();
    for p in &s.pools {
        let per_pod = s.fleet.workers_per_pod;
        match p.scope {
            Scope::Worker => {
                for pod in 0..s.fleet.max_pods {
                    for worker in 0..per_pod {
                        out.push(PoolInstance { pool: p.name.clone(), pod: Some(pod), worker: Some(worker) });
                    }
                }
            }
            Scope::Pod => {
                for pod in 0..s.fleet.max_pods {
                    out.push(PoolInstance { pool: p.name.clone(), pod: Some(pod), worker: None });
                }
            }
            Scope::Shared => out.push(PoolInstance { pool: p.name.clone(), pod: None, worker: None }),
        }
    }
    out
}
