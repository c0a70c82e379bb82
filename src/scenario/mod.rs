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
#[derive(Debug, Clone, PartialEq)]
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
    /// The request that needed the connection fails at once (node-postgres).
    Fail,
    /// The request keeps waiting; the pool opens the connection as soon as the
    /// database has a free slot, until the acquire timeout (HikariCP).
    Wait,
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

/// A connection pool.
#[derive(Debug, Clone, PartialEq)]
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
        let dist = |d: &Dist| match d.constant_value() {
            Some(v) => v.to_string(),
            None => format!("{} (mean {})", d.name(), SimDuration::from_secs_f64(d.mean_secs())),
        };
        match self {
            Change::Hold(c, d) => format!("{}.hold = {}", class(c), dist(d)),
            Change::Overhead(c, d) => format!("{}.overhead = {}", class(c), dist(d)),
            Change::ClassPool(c, p) => format!("{}.pool = {}", class(c), s.pools[p.0 as usize].name),
            Change::MaxSize(p, n) => format!("{}.max_size = {n}", pool(p)),
            Change::AcquireTimeout(p, d) => {
                let d = if *d == SimDuration::MAX { "never".to_string() } else { d.to_string() };
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
