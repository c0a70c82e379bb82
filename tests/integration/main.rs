//! The integration test binary: one binary, one module per layer.

mod analytic;
mod check;
mod cli;
mod common;
mod determinism;
mod fuzz;
mod golden;
mod invalid;
mod properties;
mod theory;
