//! Figures of the fleet around the pools over a run: the database and its
//! connection budget, each pool (all copies together), background jobs, leaks,
//! clients and worker queues.

use serde::Serialize;

/// Figures of the database, pools, jobs and leaks over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FleetSummary {
    /// The database and the connection budget.
    pub database: DatabaseSummary,
    /// Per pool (all its copies together).
    pub pools: Vec<PoolSummary>,
    /// Per background job.
    pub jobs: Vec<JobSummary>,
    /// Leaked connections and leak warnings.
    pub leaks: LeakSummary,
    /// What the clients saw (with a `client:` block).
    pub client: Option<ClientSummary>,
    /// Queueing at workers (with `fleet.worker_concurrency`).
    pub workers: Option<WorkerSummary>,
    /// The pooler in front of the database (with `database.pooler`).
    pub pooler: Option<PoolerSummary>,
    /// Things a reviewer should know (e.g. an over-committed connection budget).
    pub warnings: Vec<String>,
}

/// The pooler in front of the database (pgbouncer in transaction mode).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolerSummary {
    /// Always `transaction`, the mode poolsim models.
    pub pool_mode: &'static str,
    /// Server connections per pool (`default_pool_size`).
    pub default_pool_size: u32,
    /// Extra server connections after `reserve_pool_timeout` (`reserve_pool_size`).
    pub reserve_pool_size: u32,
    /// Most server connections open or connecting at once (what the database
    /// sees), from the warm-up on.
    pub peak_server_connections: u32,
    /// Most client connections (the pools' connections) at once, from the warm-up on.
    pub peak_client_connections: u32,
    /// Most transactions waiting for a server connection at once (pgbouncer's
    /// `SHOW POOLS` `cl_waiting`), from the warm-up on.
    pub peak_clients_waiting: u32,
    /// Queries that waited `query_wait_timeout` and failed (their client disconnected).
    pub query_wait_timeouts: u64,
    /// Client connections refused beyond `max_client_conn`.
    pub clients_refused: u64,
    /// Server connections opened.
    pub server_connections_opened: u64,
    /// Server connections closed (`server_idle_timeout`, `server_lifetime`).
    pub server_connections_closed: u64,
    /// Server connections the database refused (each blocks new ones for `server_login_retry`).
    pub server_login_refusals: u64,
}

/// Requests that waited for a busy worker before asking for a connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkerSummary {
    /// Requests one worker serves at once.
    pub concurrency: u32,
    /// Requests that queued at their worker.
    pub queued: u64,
    /// Most requests queued at one worker at once, from the warm-up on (the
    /// queues at the warm-up instant included).
    pub queue_max: u32,
}

/// Calls as the clients saw them: a call is a first attempt and its retries.
/// With a warm-up, the calls whose first attempt arrived from it on (as the
/// request figures count requests by arrival), with all their retries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientSummary {
    /// Calls made (first attempts).
    pub calls: u64,
    /// Retries sent.
    pub retries: u64,
    /// Requests the servers received per call (1 + retries / calls): the retry storm's amplification.
    pub amplification: f64,
    /// Calls that got a 200 in time.
    pub succeeded: u64,
    /// Calls that failed after their last attempt.
    pub gave_up: u64,
    /// Attempts the client stopped waiting for (the server kept working on them).
    pub client_timeouts: u64,
}

/// The database over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatabaseSummary {
    /// `max_connections` (`None`: no limit).
    pub max_connections: Option<u32>,
    /// Slots reserved for superusers.
    pub reserved_connections: u32,
    /// CPU cores, when modelled (queries share them).
    pub cores: Option<u32>,
    /// Connections applications may open.
    pub usable_connections: Option<u32>,
    /// Connections the pools could open at the start: every copy of every pool at
    /// `max_size + max_overflow`.
    pub possible_connections: u64,
    /// Whether `possible_connections` exceeds `usable_connections`.
    pub overcommitted: bool,
    /// Most connections open at once (opening ones included), from the
    /// warm-up on (those open at the warm-up instant included).
    pub peak_connections: u32,
    /// Connection attempts refused because the database was full, from the
    /// warm-up instant on (by when they happened: a refusal need not be a request's).
    pub refusals: u64,
}

/// One pool, all copies together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    /// Name.
    pub name: String,
    /// `worker`, `pod` or `shared`.
    pub scope: &'static str,
    /// Copies at the start.
    pub instances: u32,
    /// `max_size` of each copy at the start.
    pub max_size: u32,
    /// Most connections in use at once (leaked ones included), summed over
    /// all copies: the peak of the sum, not of one copy. From the warm-up on
    /// (the level in force at the warm-up instant included).
    pub peak_used: u32,
    /// Most connections open at once (idle or in use, not opening), summed
    /// over all copies, from the warm-up on (as `peak_used`).
    pub peak_open: u32,
    /// Acquire timeouts (requests and jobs), over the whole run.
    pub timeouts: u64,
    /// Connections opened.
    pub connections_opened: u64,
    /// Connections closed (idle timeout, lifetime, overflow, shrink, kill).
    pub connections_closed: u64,
}

/// One background job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    /// Name.
    pub name: String,
    /// Runs started (over all copies).
    pub runs: u64,
    /// Runs that failed with the job's own error (`error_rate`).
    pub failed_runs: u64,
    /// Connections the job could not get (acquire timeout or refusal).
    pub acquire_failures: u64,
    /// Connections it leaked.
    pub leaked_connections: u64,
}

/// Leaks over a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeakSummary {
    /// Connections leaked in total.
    pub leaked_total: u64,
    /// Leaked connections still checked out at the end.
    pub leaked_at_end: u32,
    /// Most leaked connections checked out at once, from the warm-up on (those
    /// checked out at the warm-up instant included).
    pub leaked_peak: u32,
    /// Holds longer than a pool's `leak_detection_threshold` (HikariCP's
    /// "Connection leak detection triggered" warning), counted when the hold
    /// ends, or when it crosses the threshold for leaked connections.
    pub leak_warnings: u64,
}
