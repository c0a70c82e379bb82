//! The `sweep:` block: a grid of settings versioned with the scenario, run by `sim sweep FILE`.
//!
//! ```yaml
//! sweep:
//!   set:
//!     pool.max_size: "1..30:1"
//!     request.hold.value: [100ms, 250ms, 1s]
//!   replications: 5
//! ```
//!
//! Each `set` entry takes a values spec (a list `5,10,20` or a range `1..30:1`, see
//! [`super::grid`]) or a YAML sequence of scalars. Only the spec syntax is checked when the file is read (`validate/sweep.rs`);
//! whether each key exists and accepts each value is checked by `sim sweep` before any run, by
//! applying the values to the scenario (the same path as `--set`).

/// Most replications per point (of a sweep, a comparison or a size search).
pub const MAX_REPLICATIONS: usize = 10_000;

/// A sweep described in the scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// `(key, values spec)` pairs as written, in file order.
    pub set: Vec<(String, String)>,
    /// Runs per grid point (`None`: the command line decides, default 1).
    pub replications: Option<usize>,
}
