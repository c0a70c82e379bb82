//! One run, start to finish: the simulation ([`crate::model`]), then the figures
//! computed beside it from the scenario rather than from the events: queueing
//! theory's prediction ([`crate::theory::fit`]).
//!
//! Every command that runs a scenario (`sim run`, `sweep`, `compare`, `check`,
//! `size`, `bench`) goes through [`run`], so they all report the same figures,
//! and the simulation kernel never reaches up into the analysis layers.

use crate::model::{RunOptions, SimError, Simulation};
use crate::result::RunResult;
use crate::scenario::Scenario;
use crate::theory;

/// Runs `scenario` with `opts` to its end and puts the theory block beside the result.
pub fn run(scenario: &Scenario, opts: RunOptions<'_>) -> Result<RunResult, SimError> {
    let mut result = Simulation::new(scenario, opts.seed).run(opts)?;
    result.theory = Some(theory::fit::predict(scenario));
    Ok(result)
}

/// Runs `scenario` with `seed` to its end, with the default event budget and no
/// per-request output (see [`run`] for those).
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<RunResult, SimError> {
    run(scenario, RunOptions::seed(seed))
}
