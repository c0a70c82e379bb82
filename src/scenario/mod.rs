//! Scenario files: YAML in, a validated [`Scenario`] out.
//!
//! `load` reads the file, `yaml` turns it into a positioned tree, optional
//! overrides edit the tree (`sweep --set`), and `validate` checks every key and
//! builds the typed scenario, collecting *all* problems with their file, line,
//! column and key path. The simulation only ever sees a valid `Scenario`.

pub mod expect;
pub mod grid;
pub mod sweep;
pub mod units;
pub mod validate;

/// The positioned YAML tree and located problems, from the input layer (kept
/// here too: they are the scenario format's).
pub use crate::input::{error, yaml};

use std::path::Path;

use crate::engine::{SimDuration, SimTime};
use crate::workload::{ArrivalProcess, Dist, RateProfile, UserSchedule};

pub use error::{Issue, ScenarioError};

/// Files larger than this are refused before parsing: scenarios are a few KiB.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Index of a pool in [`Scenario::pools`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId(pub u16);

/// Index of a request class in [`Scenario::classes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClassId(pub u16);

/// Index of a workload in [`Scenario::workloads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId(pub u16);

/// Index of a background job in [`Scenario::jobs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u16);

/// A validated scenario: everything the simulation needs, in simulation units.
///
/// The single-pool file format (`pool:` and `request:`) becomes one shared pool
/// named `pool`, one class named `request`, one pod with one worker and a
/// database without a connection limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short name; the default output directory is `out/<name>/`.
    pub name: String,
    /// Free text shown in summaries.
    pub description: String,
    /// Seed used when the command line gives none.
    pub seed: u64,
    /// End of the run; `None` runs until every workload is done and every request answered.
    pub duration: Option<SimDuration>,
    /// Width of one timeline bucket.
    pub bucket: SimDuration,
    /// Requests that arrive before this are left out of the summary's
    /// steady-state figures (the timeline keeps everything).
    pub warmup: SimDuration,
    /// The database every pool opens its connections to.
    pub database: DatabaseSpec,
    /// Pods and worker processes, and how requests are spread over them.
    pub fleet: FleetSpec,
    /// Connection pools.
    pub pools: Vec<PoolSpec>,
    /// Kinds of request: which pool they use and how long they hold it.
    pub classes: Vec<ClassSpec>,
    /// Sources of requests.
    pub workloads: Vec<WorkloadSpec>,
    /// Background jobs that take connections on a period.
    pub jobs: Vec<JobSpec>,
    /// How clients time out and retry (`None`: they wait for every answer and never retry).
    pub client: Option<ClientSpec>,
    /// Changes applied while the run goes on, in time order.
    pub changes: Vec<TimedChange>,
    /// Assertions on the run's figures (`expect:`), checked by `sim check`.
    pub expect: Vec<expect::Expectation>,
    /// A sweep stored with the scenario (`sweep:`), run by `sim sweep`.
    pub sweep: Option<sweep::SweepSpec>,
    /// Alert rules evaluated over the run's scraped series (`alerts:`).
    pub alerts: Option<AlertsSpec>,
}

/// Prometheus alerting rules and how the run is scraped and evaluated for them.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsSpec {
    /// Time between scrapes of the simulated state.
    pub scrape_interval: SimDuration,
    /// Evaluation interval of the groups that set none.
    pub evaluation_interval: SimDuration,
    /// The rule groups, in file order.
    pub groups: Vec<crate::alerts::RuleGroup>,
}

/// The database server.
#[derive(Clone, PartialEq)]
pub struct DatabaseSpec {
    /// PostgreSQL `max_connections`; `None` for no limit (the single-pool format).
    pub max_connections: Option<u32>,
    /// `superuser_reserved_connections`: slots applications cannot use.
    pub reserved_connections: u32,
    /// How long opening a connection takes.
    pub connect_time: Dist,
    /// CPU cores: with more queries running than cores, each runs slower
    /// (processor sharing). `None`: every query runs at full speed.
    pub cores: Option<u32>,
    /// How long a refused open takes to fail (PostgreSQL forks a backend for
    /// it before refusing). Constant zero: at once, when the open starts.
    pub refuse_time: Dist,
    /// A connection pooler in front of the database (pgbouncer): the pools'
    /// connections are its clients, and only its server connections reach
    /// the database.
    pub pooler: Option<PoolerSpec>,
}

// By hand, like `PoolSpec`'s: the keys added with the pooler appear only when
// set, so the scenario hash of a file without them is unchanged.
impl std::fmt::Debug for DatabaseSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("DatabaseSpec");
        d.field("max_connections", &self.max_connections)
            .field("reserved_connections", &self.reserved_connections)
            .field("connect_time", &self.connect_time)
            .field("cores", &self.cores);
        if self.refuse_time.constant_value() != Some(SimDuration::ZERO) {
            d.field("refuse_time", &self.refuse_time);
        }
        if let Some(p) = &self.pooler {
            d.field("pooler", p);
        }
        d.finish()
    }
}

/// A connection pooler in transaction mode (pgbouncer `pool_mode =
/// transaction`), with pgbouncer's own setting names.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolerSpec {
    /// Server connections per pool (pgbouncer `default_pool_size`, default 20).
    pub default_pool_size: u32,
    /// Extra server connections once a client has waited
    /// `reserve_pool_timeout` (`reserve_pool_size`, default 0).
    pub reserve_pool_size: u32,
    /// How long the oldest client waits before the reserve opens (default 5 s).
    pub reserve_pool_timeout: SimDuration,
    /// Most client connections; more are refused (`max_client_conn`, default 100).
    pub max_client_conn: u32,
    /// A query waiting longer for a server connection fails and its client is
    /// disconnected (`query_wait_timeout`, default 120 s; `None`: never).
    pub query_wait_timeout: Option<SimDuration>,
    /// Idle server connections close after this long (`server_idle_timeout`, default 600 s).
    pub server_idle_timeout: Option<SimDuration>,
    /// Server connections older than this close when released (`server_lifetime`, default 3600 s).
    pub server_lifetime: Option<SimDuration>,
    /// After the database refused a server connection, the pooler tries again
    /// this much later (`server_login_retry`, default 15 s).
    pub server_login_retry: SimDuration,
}

impl DatabaseSpec {
    /// Connections applications may open: `max_connections - reserved_connections`.
    pub fn usable(&self) -> Option<u32> {
        self.max_connections.map(|m| m.saturating_sub(self.reserved_connections))
    }
}

/// Pods, workers and routing.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// Pods at the start of the run.
    pub pods: u32,
    /// Most pods at any time (scale-out events raise it above `pods`).
    pub max_pods: u32,
    /// Worker processes per pod, each with its own per-worker pools.
    pub workers_per_pod: u32,
    /// How the load balancer picks a worker for each request.
    pub routing: Routing,
    /// Requests one worker serves at once (1: a sync worker); more wait at the
    /// worker, first come first served. `None`: no limit (an event loop).
    pub worker_concurrency: Option<u32>,
}

/// Load-balancing policy over the workers of the active pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// Each worker in turn.
    RoundRobin,
    /// A uniformly random worker (its own random stream).
    Random,
    /// The worker with the fewest requests in progress (first such worker on ties).
    LeastOutstanding,
}

/// How many copies of a pool exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One per worker process (the usual case: each process builds its own pool).
    Worker,
    /// One per pod.
    Pod,
    /// One for the whole fleet (e.g. a PgBouncer in front of the database).
    Shared,
}

impl Scope {
    /// The name used in scenario files and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Worker => "worker",
            Scope::Pod => "pod",
            Scope::Shared => "shared",
        }
    }
}

/// What a pool does when the database refuses a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRefused {
    /// The request that needed the connection fails at once; a refusal that
    /// takes time (`database.refuse_time`) makes the pool open for its next
    /// waiter, which is refused too while the database is full (node-postgres,
    /// asyncpg).
    Fail,
    /// The request keeps waiting; the pool opens the connection as soon as the
    /// database has a free slot, until the acquire timeout.
    Wait,
    /// Only the request whose own open was refused fails; requests already
    /// waiting never open, they wait for a returned connection (SQLAlchemy).
    FailOpener,
    /// Every request keeps waiting; the pool tries the open again after a
    /// backoff ([`PoolSpec::reconnect`]): psycopg_pool, HikariCP.
    Retry,
}

impl OnRefused {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            OnRefused::Fail => "fail",
            OnRefused::Wait => "wait",
            OnRefused::FailOpener => "fail_opener",
            OnRefused::Retry => "retry",
        }
    }
}

/// The backoff of a pool that retries refused opens (`on_refused: retry`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconnect {
    /// Wait before the first retry (psycopg_pool 1 s, HikariCP 250 ms).
    pub delay: SimDuration,
    /// Each later wait is the last one times this (psycopg_pool 2, HikariCP 1.5).
    pub backoff: f64,
    /// Longest wait between two tries (HikariCP: min(10 s, connectionTimeout)).
    pub max_delay: Option<SimDuration>,
    /// The first wait is drawn uniformly within +-`jitter` of `delay` (psycopg_pool 0.1).
    pub jitter: f64,
    /// No more tries this long after the first refusal (psycopg_pool
    /// `reconnect_timeout`); a later request starts again.
    pub timeout: Option<SimDuration>,
}

/// Which idle connection a pool hands out first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// The most recently returned (asyncpg, node-postgres, HikariCP, pgbouncer):
    /// the idle timeout closes the ones unused longest.
    Lifo,
    /// The one idle the longest (SQLAlchemy, psycopg_pool): every connection stays warm.
    Fifo,
}

/// How a returned connection reaches the oldest waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// At once: nobody can take it first (asyncpg, node-postgres, psycopg_pool).
    Direct,
    /// The waiter is woken and takes it this long later; a request that asks
    /// in between takes it instead, and the robbed waiter waits again at the
    /// back of the queue (SQLAlchemy's `threading.Condition`, HikariCP's
    /// hand-off completed by the waiter's compare-and-set).
    WakeUp(SimDuration),
}

/// When a pool with overflow closes a returned connection nobody waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowClose {
    /// As soon as more than `max_size` are open.
    OnRelease,
    /// Only when `max_size` connections are already idle (SQLAlchemy's
    /// `QueuePool`: its queue of `pool_size` is full).
    WhenIdleFull,
}

/// A connection-pool library whose defaults and behaviours a pool takes
/// (`pool.library`); every key written beside it overrides the preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// asyncpg's `Pool`.
    Asyncpg,
    /// SQLAlchemy's `QueuePool`.
    Sqlalchemy,
    /// node-postgres' `pg.Pool` (pg-pool).
    NodePostgres,
    /// psycopg_pool's `ConnectionPool` / `AsyncConnectionPool`.
    Psycopg,
    /// HikariCP.
    Hikaricp,
}

impl Library {
    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Library::Asyncpg => "asyncpg",
            Library::Sqlalchemy => "sqlalchemy",
            Library::NodePostgres => "node-postgres",
            Library::Psycopg => "psycopg",
            Library::Hikaricp => "hikaricp",
        }
    }
}

/// Who is served first among the waiters of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Served after everyone else (background work).
    Low = 0,
    /// The default.
    Normal = 1,
    /// Served before everyone else.
    High = 2,
}

impl Priority {
    /// The priority as written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }
}

/// A connection pool.
#[derive(Clone, PartialEq)]
pub struct PoolSpec {
    /// Name used in messages and outputs.
    pub name: String,
    /// How many copies exist: per worker, per pod or shared.
    pub scope: Scope,
    /// Most connections the pool hands out at once (HikariCP `maximumPoolSize`).
    pub max_size: u32,
    /// Connections opened at the start and kept open when idle (HikariCP `minimumIdle`).
    pub min_idle: u32,
    /// Extra connections allowed above `max_size`, closed when released (SQLAlchemy `max_overflow`).
    pub max_overflow: u32,
    /// How long a request waits for a connection before giving up with a 503
    /// (HikariCP `connectionTimeout`); [`SimDuration::MAX`] waits forever.
    pub acquire_timeout: SimDuration,
    /// Idle connections above `min_idle` close after this long (HikariCP `idleTimeout`).
    pub idle_timeout: Option<SimDuration>,
    /// Connections are closed when released after this age (HikariCP `maxLifetime`, SQLAlchemy `pool_recycle`).
    pub max_lifetime: Option<SimDuration>,
    /// Holds longer than this are counted as suspected leaks (HikariCP `leakDetectionThreshold`).
    pub leak_detection_threshold: Option<SimDuration>,
    /// What happens when the database refuses a new connection.
    pub on_refused: OnRefused,
    /// The library whose preset gave the defaults (`None`: poolsim's own).
    pub library: Option<Library>,
    /// Which idle connection is handed out first.
    pub reuse: Reuse,
    /// Connections opened at once (`None`: no limit); psycopg_pool and
    /// HikariCP open one at a time.
    pub open_concurrency: Option<u32>,
    /// How a returned connection reaches a waiter.
    pub handoff: Handoff,
    /// The backoff between tries with `on_refused: retry`.
    pub reconnect: Option<Reconnect>,
    /// When an overflow connection nobody waits for is closed.
    pub overflow_close: OverflowClose,
    /// A query the pool runs on every returned connection before the request
    /// that held it is done (asyncpg's reset query): through a pooler in
    /// transaction mode it is one more transaction. `None`: nothing.
    pub reset_on_release: Option<SimDuration>,
}

impl PoolSpec {
    /// A pool with poolsim's own defaults and these limits (the behaviour of
    /// every pool before `library:` presets existed).
    pub fn basic(name: &str, max_size: u32, acquire_timeout: SimDuration) -> PoolSpec {
        PoolSpec {
            name: name.to_string(),
            scope: Scope::Worker,
            max_size,
            min_idle: 0,
            max_overflow: 0,
            acquire_timeout,
            idle_timeout: None,
            max_lifetime: None,
            leak_detection_threshold: None,
            on_refused: OnRefused::Fail,
            library: None,
            reuse: Reuse::Lifo,
            open_concurrency: None,
            handoff: Handoff::Direct,
            reconnect: None,
            overflow_close: OverflowClose::OnRelease,
            reset_on_release: None,
        }
    }
}

// Written by hand so that the keys added for the library presets appear only
// when set: the scenario hash (the FNV of this text) of a file that does not
// use them stays what it was before they existed.
impl std::fmt::Debug for PoolSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("PoolSpec");
        d.field("name", &self.name)
            .field("scope", &self.scope)
            .field("max_size", &self.max_size)
            .field("min_idle", &self.min_idle)
            .field("max_overflow", &self.max_overflow)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("leak_detection_threshold", &self.leak_detection_threshold)
            .field("on_refused", &self.on_refused);
        if let Some(l) = &self.library {
            d.field("library", l);
        }
        if self.reuse != Reuse::Lifo {
            d.field("reuse", &self.reuse);
        }
        if let Some(n) = &self.open_concurrency {
            d.field("open_concurrency", n);
        }
        if self.handoff != Handoff::Direct {
            d.field("handoff", &self.handoff);
        }
        if let Some(r) = &self.reconnect {
            d.field("reconnect", r);
        }
        if self.overflow_close != OverflowClose::OnRelease {
            d.field("overflow_close", &self.overflow_close);
        }
        if let Some(r) = &self.reset_on_release {
            d.field("reset_on_release", r);
        }
        d.finish()
    }
}

/// A kind of request.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSpec {
    /// Name used in messages and outputs.
    pub name: String,
    /// Relative share of the traffic of workloads that do not name a class.
    pub share: f64,
    /// The pool the request takes its connection from.
    pub pool: PoolId,
    /// How long the connection is held (the query or transaction).
    pub hold: Dist,
    /// Time spent outside the pool before the response (HTTP, serialisation).
    pub overhead: Dist,
    /// Place among the pool's waiters.
    pub priority: Priority,
    /// Holds longer than this are cancelled by the database and the request fails.
    pub statement_timeout: Option<SimDuration>,
}

/// A source of requests.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// Name used in `requests.csv` and in `events` (`workload.<name>.rate`).
    pub name: String,
    /// The class of its requests; `None` draws each request's class by the classes' shares.
    pub class: Option<ClassId>,
    /// How requests arrive.
    pub kind: WorkloadKind,
}

/// Clients that give up and retry: what turns a slowdown into a retry storm.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    /// The client stops waiting after this long and (if retries remain) retries;
    /// the server goes on working on the abandoned request. `None`: no timeout.
    pub timeout: Option<SimDuration>,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Backoff before retry k (from 0): `backoff x 2^k`, at most `max_backoff`.
    pub backoff: SimDuration,
    /// Cap of the backoff.
    pub max_backoff: SimDuration,
    /// How the backoff is randomised.
    pub jitter: Jitter,
    /// Which failures are retried.
    pub retry_on: RetryOn,
}

/// Randomisation of a retry's backoff `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly `b`.
    None,
    /// Uniform in `[0, b]` (AWS "full jitter").
    Full,
    /// `b/2` plus uniform in `[0, b/2]` ("equal jitter").
    Equal,
}

/// Which failed attempts a client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOn {
    /// 503s (acquire timeouts).
    pub unavailable: bool,
    /// 500s (refused, statement timeout, terminated).
    pub errors: bool,
    /// Its own timeout.
    pub timeout: bool,
}

/// Where a background job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobScope {
    /// One copy per pod (in the pod's first worker).
    Pod,
    /// One copy per worker process.
    Worker,
}

/// What a failed job run does with its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Releases them (cleanup in `finally`).
    Release,
    /// Leaves them checked out until the pool or the database closes them
    /// (`pool.end()` outside `try/finally`).
    Leak,
}

/// A background job: every `every`, each copy takes `connections` connections
/// from its pool and holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// Name used in events (`start_job`) and outputs.
    pub name: String,
    /// One copy per pod or per worker.
    pub scope: JobScope,
    /// The pool its connections come from.
    pub pool: PoolId,
    /// First run (`None`: only when an event starts it).
    pub start: Option<SimTime>,
    /// No runs at or after this instant.
    pub stop: Option<SimTime>,
    /// Period between runs of one copy.
    pub every: SimDuration,
    /// Delay of each copy's first run after the start; `None`: a random delay
    /// within one period per copy (pods started at different times).
    pub offset: Option<SimDuration>,
    /// Connections each run takes at once.
    pub connections: u32,
    /// How long each connection is held.
    pub hold: Dist,
    /// Probability that a run fails.
    pub error_rate: f64,
    /// What a failed run does with its connections.
    pub on_error: OnError,
    /// Place among the pool's waiters.
    pub priority: Priority,
}

/// How a workload's requests arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadKind {
    /// `count` requests at the same instant.
    Burst {
        /// When they arrive.
        at: SimTime,
        /// How many.
        count: u64,
    },
    /// Open loop: arrivals follow a rate, whatever the responses.
    Open {
        /// First instant arrivals may happen.
        from: SimTime,
        /// No arrivals at or after this instant (`None`: until the run ends).
        until: Option<SimTime>,
        /// Rate over time, relative to `from`.
        profile: RateProfile,
        /// Even spacing or Poisson.
        process: ArrivalProcess,
    },
    /// Closed loop: each user sends its next request when the last one is answered.
    Closed {
        /// When the schedule starts.
        at: SimTime,
        /// How many users are active over time, relative to `at`.
        schedule: UserSchedule,
        /// Pause between a response and the user's next request.
        think: Dist,
        /// Stop after this many requests in total (`sequential`); `None` for no limit.
        max_requests: Option<u64>,
    },
}

/// Changes that take effect together at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedChange {
    /// When they take effect.
    pub at: SimTime,
    /// What changes.
    pub actions: Vec<Change>,
}

/// One change made while the run goes on (the lab's `POST /admin/config`, a
/// deploy, a rollback, a runbook step).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// New hold-time distribution for requests of a class that acquire from now on.
    Hold(ClassId, Dist),
    /// New overhead distribution for requests of a class that finish from now on.
    Overhead(ClassId, Dist),
    /// Requests of a class that arrive from now on use another pool (a deploy).
    ClassPool(ClassId, PoolId),
    /// Resize a pool: growing serves waiters at once; shrinking closes connections as they are released.
    MaxSize(PoolId, u32),
    /// New acquire timeout for requests that start waiting from now on.
    AcquireTimeout(PoolId, SimDuration),
    /// New constant rate for an open workload from now on.
    Rate(WorkloadId, f64),
    /// Scale to this many pods: new pods start with empty pools; removed pods get
    /// no new requests, finish what they have and close their connections.
    Pods(u32),
    /// Start a background job (a deploy).
    StartJob(JobId),
    /// Stop a background job (a rollback): no new runs.
    StopJob(JobId),
    /// Close every connection of a pool, leaked ones included (a restart):
    /// holders fail, waiters keep waiting for new connections.
    ClosePool(PoolId),
    /// Terminate the `count` longest-held connections (of one pool, or of all),
    /// as `pg_terminate_backend` does: holders fail.
    KillConnections {
        /// How many.
        count: u32,
        /// Only this pool's connections (`None`: any pool).
        pool: Option<PoolId>,
    },
}

impl Change {
    /// A short label for figures and reports, in the scenario's words:
    /// `request.hold = 100ms`, `start_job warehouse-sync`, `fleet.pods = 30`.
    pub fn label(&self, s: &Scenario) -> String {
        let class = |c: &ClassId| {
            let name = &s.classes[c.0 as usize].name;
            if s.classes.len() == 1 && name == "request" { "request".to_string() } else { format!("classes.{name}") }
        };
        let pool = |p: &PoolId| {
            let name = &s.pools[p.0 as usize].name;
            if s.pools.len() == 1 && name == "pool" { "pool".to_string() } else { format!("pools.{name}") }
        };
        // `103.4ms`, `1.5s`, `2m`: one unit, as a scenario file would write it.
        let short = |d: SimDuration| {
            let trim = |x: f64| format!("{x:.3}").trim_end_matches('0').trim_end_matches('.').to_string();
            match d.as_secs_f64() {
                s if s < 1.0 => format!("{}ms", trim(s * 1e3)),
                s if s < 60.0 || s.fract() != 0.0 => format!("{}s", trim(s)),
                _ => d.to_string(),
            }
        };
        let dist = |d: &Dist| match d.constant_value() {
            Some(v) => short(v),
            None => format!("{} (mean {})", d.name(), short(SimDuration::from_secs_f64(d.mean_secs()))),
        };
        match self {
            Change::Hold(c, d) => format!("{}.hold = {}", class(c), dist(d)),
            Change::Overhead(c, d) => format!("{}.overhead = {}", class(c), dist(d)),
            Change::ClassPool(c, p) => format!("{}.pool = {}", class(c), s.pools[p.0 as usize].name),
            Change::MaxSize(p, n) => format!("{}.max_size = {n}", pool(p)),
            Change::AcquireTimeout(p, d) => {
                let d = if *d == SimDuration::MAX { "never".to_string() } else { short(*d) };
                format!("{}.acquire_timeout = {d}", pool(p))
            }
            Change::Rate(w, r) => format!("workload.{}.rate = {r}/s", s.workloads[w.0 as usize].name),
            Change::Pods(n) => format!("fleet.pods = {n}"),
            Change::StartJob(j) => format!("start_job {}", s.jobs[j.0 as usize].name),
            Change::StopJob(j) => format!("stop_job {}", s.jobs[j.0 as usize].name),
            Change::ClosePool(p) => format!("close_pool {}", s.pools[p.0 as usize].name),
            Change::KillConnections { count, pool } => match pool {
                Some(p) => format!("kill_connections {count} of {}", s.pools[p.0 as usize].name),
                None => format!("kill_connections {count}"),
            },
        }
    }
}

impl Scenario {
    /// How many copies of a pool exist with `pods` pods.
    pub fn instances_with(&self, pool: PoolId, pods: u32) -> u32 {
        match self.pools[pool.0 as usize].scope {
            Scope::Worker => pods * self.fleet.workers_per_pod,
            Scope::Pod => pods,
            Scope::Shared => 1,
        }
    }

    /// Connections the fleet could open at the start: every copy of every pool
    /// at `max_size + max_overflow`. Compared with [`DatabaseSpec::usable`], this
    /// is the connection budget of the incident write-up.
    pub fn possible_connections(&self) -> u64 {
        (0..self.pools.len())
            .map(|i| {
                let p = &self.pools[i];
                self.instances_with(PoolId(i as u16), self.fleet.pods) as u64 * (p.max_size + p.max_overflow) as u64
            })
            .sum()
    }

    /// A stable 64-bit hash (FNV-1a) of the validated scenario, recorded in every
    /// summary so a result can be matched to the exact inputs that produced it.
    pub fn hash(&self) -> u64 {
        let text = format!("{self:?}");
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
    }

    /// The hash as 16 hex digits.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hash())
    }
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_overrides(path, &[])
}

/// Like [`load`], with `KEY=VALUE` overrides applied to the YAML tree before validation.
pub fn load_with_overrides(path: &Path, overrides: &[(String, String)]) -> Result<Scenario, ScenarioError> {
    let src = read_source(path)?;
    let file = path.display().to_string();
    validate::from_str(&src, &file, path.parent(), overrides)
}

/// Reads a scenario file as text, refusing huge or non-UTF-8 files with a clear message.
pub fn read_source(path: &Path) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| ScenarioError::io(&file, e))?;
    if meta.is_dir() {
        return Err(ScenarioError::Io { file, message: "is a directory, not a scenario file".into() });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ScenarioError::Io {
            file,
            message: format!(
                "file is {} bytes; scenario files are limited to {} MiB (is this the right file?)",
                meta.len(),
                MAX_FILE_BYTES / 1024 / 1024
            ),
        });
    }
    // Read at most one byte past the limit: the reported length cannot be
    // trusted (`/dev/zero`, a pipe, a file that grows).
    let mut bytes = Vec::new();
    let reader = std::fs::File::open(path).map_err(|e| ScenarioError::io(&file, e))?;
    std::io::Read::read_to_end(&mut std::io::Read::take(reader, MAX_FILE_BYTES + 1), &mut bytes)
        .map_err(|e| ScenarioError::io(&file, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ScenarioError::Io {
            file,
            message: format!(
                "more than {} MiB; scenario files are small (is this the right file?)",
                MAX_FILE_BYTES / 1024 / 1024
            ),
        });
    }
    String::from_utf8(bytes).map_err(|e| ScenarioError::Io {
        file,
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); is this a YAML file?",
            e.utf8_error().valid_up_to()
        ),
    })
}
