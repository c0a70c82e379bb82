//! # poolsim
//!
//! A deterministic discrete-event simulator of database connection-pool
//! exhaustion. A scenario (YAML) describes pools, request hold times and
//! workloads; a run replays it on a virtual clock and reports latency, queue
//! depth and 503s over time.
//!
//! ```text
//! YAML -> scenario::load -> Scenario -> run::run(&scenario, opts) -> RunResult
//!      (model simulates; theory predicts beside it)  -> output (CSV, JSON), plot (PNG)
//! ```
//!
//! ## Module map
//!
//! From the bottom up; each module reads only the ones below it, never one at
//! its own level or above:
//!
//! - [`engine`]: simulated time, the event queue, seeded random streams; knows nothing of pools.
//! - [`workload`]: distributions, rate profiles, virtual-user schedules; know nothing of pools.
//! - [`input`]: reading the files people write: YAML with positions, located problems,
//!   "did you mean" hints.
//! - [`alerts`]: Prometheus rule files and a PromQL subset, evaluated over series with
//!   Prometheus' pending/firing semantics; knows nothing of the simulator.
//! - [`scenario`]: the YAML format, validated with located messages (`validate/`, one file
//!   per section of the format), `expect:`, `sweep:` and `--set` grids.
//! - [`result`]: what runs produce (a run's result, a sweep's table, a comparison): the
//!   types every writer, figure and check reads.
//! - [`metrics`]: observation only: the recorder that folds the model's reports into
//!   timeline buckets, histograms and the summary.
//! - [`theory`]: queueing formulas (Erlang B/C, M/M/c+D), `sim analyze`'s report and the
//!   prediction put beside a run.
//! - [`model`]: the simulation: requests, pools, connections, the database, the fleet.
//! - [`run`]: one run, start to finish: the model, then theory's figures beside it.
//! - [`output`] and [`plot`]: writers (CSV, JSON) and figures (PNG) over result types.
//! - [`sweep`] and [`check`]: many runs (grids, comparisons, `sim size`) and assertions on runs.
//! - [`cli`]: the `sim` command; the only place that decides files and stdout.
//!
//! What each may import, checked by `tests/integration/layers.rs` against every
//! `crate::` path in `src/` (code, comments and docs alike):
//!
//! ```text
//! layer      may import
//! engine     -
//! workload   engine
//! input      -
//! alerts     input
//! scenario   engine workload input alerts
//! result     engine alerts scenario
//! metrics    engine result
//! theory     engine workload scenario result
//! model      engine workload scenario result metrics
//! run        engine alerts scenario result theory model
//! output     engine alerts scenario result
//! plot       engine scenario result
//! sweep      engine workload input scenario result theory model run output
//! check      engine input scenario result run output
//! cli        engine workload input alerts scenario result metrics theory model run output plot sweep check
//! ```
//!
//! Inside a module, the same test holds the files and folders beside each other to
//! no circle either (`promql/eval.rs` calls `functions.rs`, which works on the
//! values of `value.rs`, not back on the evaluator); only a module's root file and
//! the files it declares refer to each other, one type's methods split over files.
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

pub mod engine;
pub mod workload;

pub mod alerts;
pub mod input;

pub mod scenario;

pub mod result;

pub mod metrics;
pub mod theory;

pub mod model;

pub mod run;

pub mod output;
pub mod plot;

pub mod check;
pub mod sweep;

pub mod cli;

pub use model::{RunOptions, SimError, Simulation};
pub use result::RunResult;
pub use run::simulate;
pub use scenario::Scenario;
