//! The integration test binary: one binary, one module per layer.

mod analytic;
mod cli;
mod common;
mod compare;
mod determinism;
mod golden;
mod properties;
mod sweep;
mod theory;
