//! Scenario files: YAML in, a validated [`Scenario`] out.
//!
//! `load` reads the file, `yaml` turns it into a positioned tree, optional
//! overrides edit the tree (`sweep --set`), and `validate` checks every key and
//! builds the typed scenario, collecting *all* problems with their file, line,
//! column and key path. The simulation only ever sees a valid `Scenario`.

pub mod error;
pub mod expect;
pub mod sweep;
pub mod units;
pub mod validate;
pub mod yaml;

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

/// A validated scenario: everything the simulation needs, in simulation units.
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
    /// Connection pools.
    pub pools: Vec<PoolSpec>,
    /// Kinds of request: which pool they use and how long they hold it.
    pub classes: Vec<ClassSpec>,
    /// Sources of requests.
    pub workloads: Vec<WorkloadSpec>,
    /// Changes applied while the run goes on, in time order.
    pub changes: Vec<TimedChange>,
    /// Assertions on the run's figures (`expect:`), checked by `sim check`.
    pub expect: Vec<expect::Expectation>,
    /// A sweep stored with the scenario (`sweep:`), run by `sim sweep`.
    pub sweep: Option<sweep::SweepSpec>,
}

/// A connection pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    /// Name used in messages and outputs.
    pub name: String,
    /// Most connections the pool hands out at once (HikariCP `maximumPoolSize`).
    pub max_size: u32,
    /// How long a request waits for a connection before giving up with a 503
    /// (HikariCP `connectionTimeout`); [`SimDuration::MAX`] waits forever.
    pub acquire_timeout: SimDuration,
}

/// A kind of request.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSpec {
    /// Name used in messages and outputs.
    pub name: String,
    /// The pool the request takes its connection from.
    pub pool: PoolId,
    /// How long the connection is held (the query or transaction).
    pub hold: Dist,
    /// Time spent outside the pool before the response (HTTP, serialisation).
    pub overhead: Dist,
}

/// A source of requests.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// Name used in `requests.csv` and in `events` (`workload.<name>.rate`).
    pub name: String,
    /// The class of the requests it sends.
    pub class: ClassId,
    /// How requests arrive.
    pub kind: WorkloadKind,
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

/// One change made while the run goes on (the lab's `POST /admin/config`).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// New hold-time distribution for requests of a class that acquire from now on.
    Hold(ClassId, Dist),
    /// New overhead distribution for requests of a class that finish from now on.
    Overhead(ClassId, Dist),
    /// Resize a pool: growing serves waiters at once; shrinking closes connections as they are released.
    MaxSize(PoolId, u32),
    /// New acquire timeout for requests that start waiting from now on.
    AcquireTimeout(PoolId, SimDuration),
    /// New constant rate for an open workload from now on.
    Rate(WorkloadId, f64),
}

impl Scenario {
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
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::io(&file, e))?;
    String::from_utf8(bytes).map_err(|e| ScenarioError::Io {
        file,
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); is this a YAML file?",
            e.utf8_error().valid_up_to()
        ),
    })
}
