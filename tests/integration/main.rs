//! The integration test binary: one binary, one module per layer.

mod analytic;
mod analyze_cli;
mod cli;
mod common;
mod determinism;
mod fleet;
mod golden;
mod incident;
mod properties;
mod theory;
mod theory_grid;
