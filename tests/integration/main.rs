//! The integration test binary: one binary, one module per layer.

mod analytic;
mod cli;
mod common;
mod determinism;
mod fleet;
mod golden;
mod incident;
mod properties;
mod theory;
