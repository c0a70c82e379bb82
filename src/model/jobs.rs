//! Background jobs: each copy runs every period, takes its connections like
//! a request would (with the pool's acquire timeout), and releases them, or
//! leaks them when a failed run does not clean up.

use super::pool::ConnState;
use super::request::NewRequest;
use super::{Event, Simulation};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::scenario::{JobScope, OnError};

/// Run-time state of a background job.
pub(super) struct JobState {
    pub(super) active: bool,
    pub(super) epoch: u32,
    pub(super) rng: StreamRng,
    pub(super) hold_rng: StreamRng,
    pub(super) runs: u64,
    pub(super) failed_runs: u64,
    pub(super) acquire_failures: u64,
    pub(super) leaked: u64,
    /// Its pool's reset query on release, added to its holds (zero: none, or
    /// behind a pooler).
    pub(super) reset: SimDuration,
}

impl Simulation<'_> {
    /// Copies of job `job` and the worker each runs in.
    pub(super) fn job_copies(&self, job: usize) -> (u32, u32) {
        let f = &self.scenario.fleet;
        match self.scenario.jobs[job].scope {
            JobScope::Pod => (f.max_pods, f.workers_per_pod),
            JobScope::Worker => (f.max_pods * f.workers_per_pod, 1),
        }
    }

    /// Starts job `job` at `at`: each copy runs first at a random phase within one period.
    pub(super) fn start_job(&mut self, job: u16, at: SimTime) {
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
    pub(super) fn stop_job(&mut self, job: u16) {
        self.jobs[job as usize].active = false;
        let waiting = self.requests.slots_where(|r| r.job == job && r.phase == super::request::Phase::Waiting);
        for slot in waiting {
            let instance = self.requests.get(slot).instance;
            self.leave_queue(slot, instance);
            self.requests.remove(slot);
            self.report(instance);
        }
        // Acquisitions woken for a returned connection (`handoff: wake_up`) are out of the queue.
        let woken = self.requests.slots_where(|r| r.job == job && r.phase == super::request::Phase::Woken);
        for slot in woken {
            let instance = self.requests.get(slot).instance;
            self.drop_woken(slot);
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
                counted_call: false,
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
}
