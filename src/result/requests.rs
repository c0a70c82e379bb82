//! Requests one by one: how each ended ([`Outcome`]) and the record streamed to
//! `requests.csv` ([`RequestRecord`]) through a [`RequestSink`] while the run goes on.

use crate::engine::{SimDuration, SimTime};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Got a connection and was answered (HTTP 200).
    Ok,
    /// Gave up waiting for a connection after the acquire timeout (HTTP 503).
    TimedOut,
    /// The database refused a new connection: `FATAL: remaining connection
    /// slots are reserved for non-replication superuser connections` (HTTP 500).
    Refused,
    /// The query ran past the statement timeout and was cancelled (HTTP 500).
    StatementTimeout,
    /// The connection was terminated under the request (`pg_terminate_backend`, a pool closed).
    Terminated,
}

impl Outcome {
    /// The name used in `requests.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::TimedOut => "timed_out",
            Outcome::Refused => "refused",
            Outcome::StatementTimeout => "statement_timeout",
            Outcome::Terminated => "terminated",
        }
    }
}

/// One finished request, as streamed to `requests.csv` with `--requests`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRecord {
    /// Request number, in arrival order from 0.
    pub id: u64,
    /// Index of the workload that sent it.
    pub workload: u16,
    /// When it arrived.
    pub arrival: SimTime,
    /// When it got a connection (`None` if it never did).
    pub acquired: Option<SimTime>,
    /// How long it waited for a connection (its acquire timeout if it gave up).
    pub wait: SimDuration,
    /// When it was answered.
    pub finished: SimTime,
    /// How it ended.
    pub outcome: Outcome,
}

/// Receives every finished request, in the order they finish.
pub trait RequestSink {
    /// Takes one record; an error stops the run.
    fn record(&mut self, r: &RequestRecord) -> std::io::Result<()>;
}
