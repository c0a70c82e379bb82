//! The integration test binary: one binary, one module per layer.

mod analytic;
mod bench;
mod cli;
mod common;
mod determinism;
mod golden;
mod properties;
mod theory;
