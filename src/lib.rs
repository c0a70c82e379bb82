//! # poolsim
//!
//! A deterministic discrete-event simulator of database connection-pool
//! exhaustion. A scenario (YAML) describes pools, request hold times and
//! workloads; a run replays it on a virtual clock and reports latency, queue
//! depth and 503s over time.
//!
//! ```text
//! YAML -> scenario::load -> Scenario -> simulate(&scenario, seed) -> RunResult
//!      -> output (CSV, JSON) and plot (PNG)
//! ```
//!
//! ## Layout
//!
//! - [`engine`]: time, event queue, random streams; knows nothing of pools.
//! - [`workload`]: distributions, rate profiles, virtual-user schedules.
//! - [`scenario`]: the YAML format, validation with located messages.
//! - [`model`]: pools, requests and workloads as event handlers.
//! - [`metrics`]: observation only: timeline buckets, histograms, summary.
//! - [`output`] and [`plot`]: writers and figures over result types.
//! - [`theory`]: queueing formulas (Erlang B/C, M/M/c+D) to check runs against.
//! - [`cli`]: the `sim` command; the only place that decides files and stdout.
//!
//! ## Determinism contract
//!
//! 1. Simulated time is integer nanoseconds (`u64`). Nothing in the library reads
//!    the wall clock.
//! 2. Events are totally ordered by (time, sequence number): events at equal times
//!    run in the order they were scheduled. Cancelled timers are skipped lazily.
//! 3. Every source of randomness has its own ChaCha8 stream derived from (seed, a
//!    stable stream id naming *what* draws: arrivals of workload k, its hold
//!    times, its overheads, its users' think times). Adding a workload leaves the
//!    others' draws unchanged (common random numbers for `compare` and `sweep`).
//!    No OS-seeded RNG and no hash-map iteration anywhere (enforced by clippy).
//! 4. Floats are written in a fixed format; `summary.json` records the seed, a
//!    hash of the validated scenario and the version.
//!
//! The same scenario, seed and build therefore give the same bytes, every time.

pub mod alerts;
pub mod check;
pub mod cli;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod output;
pub mod plot;
pub mod scenario;
pub mod sweep;
pub mod theory;
pub mod workload;

pub use metrics::RunResult;
pub use model::{RunOptions, SimError, Simulation};
pub use scenario::Scenario;

/// Runs `scenario` with `seed` to its end and returns the timeline and summary.
///
/// Uses the default event budget; for per-request output or interruption use
/// [`Simulation::run`] with [`RunOptions`].
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<RunResult, SimError> {
    Simulation::new(scenario, seed).run(RunOptions::seed(seed))
}
