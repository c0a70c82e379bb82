//! The integration test binary: one binary, one module per layer.

mod alerts;
mod analytic;
mod analyze_cli;
mod bench;
mod check;
mod cli;
mod common;
mod compare;
mod consistency;
mod determinism;
mod fleet;
mod fuzz;
mod golden;
mod incident;
mod invalid;
mod layers;
mod libraries;
mod properties;
mod sweep;
mod theory;
mod theory_grid;
