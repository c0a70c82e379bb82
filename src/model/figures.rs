//! End-of-run figures of the fleet (the database, each pool, jobs, leaks,
//! clients, worker queues) and the list of pool copies that `pools.csv` and
//! the pods figure label their rows with.

use super::Simulation;
use crate::result::{
    ClientSummary, DatabaseSummary, FleetSummary, JobSummary, LeakSummary, PoolInstance, PoolSummary, WorkerSummary,
};
use crate::scenario::{PoolId, Scenario, Scope};

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

impl Simulation<'_> {
    /// Database, pool, job and leak figures (peak and refusals are filled in from the recorder).
    pub(super) fn fleet_summary(&self) -> FleetSummary {
        let s = self.scenario;
        let usable = s.database.usable();
        let possible = s.possible_connections();
        // Behind a pooler the database sees only its server connections.
        let at_database = match &s.database.pooler {
            None => possible,
            Some(p) => u64::from(p.default_pool_size) + u64::from(p.reserve_pool_size),
        };
        let overcommitted = usable.is_some_and(|u| at_database > u as u64);
        let mut warnings = Vec::new();
        if let (true, Some(u)) = (overcommitted, usable) {
            let who = if s.database.pooler.is_some() { "the pooler's server pool" } else { "the pools" };
            warnings.push(format!(
                "connection budget over-committed: {who} may open {at_database} connections, the database allows {u} \
                 ({} max_connections - {} reserved); under load some opens will be refused",
                s.database.max_connections.unwrap_or(0),
                s.database.reserved_connections
            ));
        }
        if let Some(p) = &s.database.pooler
            && possible > u64::from(p.max_client_conn)
        {
            warnings.push(format!(
                "the pools may open {possible} client connections to the pooler, max_client_conn is {}; \
                 under load some opens will be refused",
                p.max_client_conn
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
            pooler: self.pooler.as_ref().map(|p| p.summary()),
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
