//! The `sim` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = poolsim::cli::Cli::parse();
    poolsim::cli::main(cli)
}
