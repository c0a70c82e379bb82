//! The `sim` command line: argument parsing (clap derive), one file per
//! subcommand. This is the only part of the crate that decides file names,
//! writes to stdout and maps outcomes to exit codes.
//!
//! Exit codes: 0 success; 1 a check failed (expectations not met); 2 the input
//! was invalid or the run could not be done.

pub mod analyze;
pub mod bench;
pub mod check;
pub mod compare;
mod files;
mod interrupt;
pub mod merge;
mod progress;
pub mod run;
pub mod size;
pub mod sweep;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Deterministic simulator of database connection-pool exhaustion.
#[derive(Debug, Parser)]
#[command(name = "sim", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate one scenario; write timeline.csv, summary.json and plots.
    Run(run::Args),
    /// Queueing theory and capacity math for each pool of a scenario, without simulating.
    Analyze(analyze::Args),
    /// Smallest value of a key (default pool.max_size) meeting targets: theory, then simulation.
    Size(size::Args),
    /// Validate, run and assert scenario files (their `expect:` blocks, golden summaries); exit 1 on failure.
    Check(check::Args),
    /// Run a scenario over a grid of settings (in parallel); write sweep.csv, heatmaps or line plots.
    Sweep(sweep::Args),
    /// Run several scenarios under identical traffic; write compare.csv/json, an overlay plot, a table.
    Compare(compare::Args),
    /// Join the outputs of `sim sweep --shard K/N` into the unsharded sweep.csv.
    Merge(merge::Args),
    /// Measure speed and memory on the benchmark scenarios (issue 6).
    Bench(bench::Args),
}

/// Exit code for a failed check.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code for invalid input or a run that could not be done.
pub const EXIT_ERROR: u8 = 2;

/// Runs the parsed command and turns its outcome into an exit code, printing
/// errors as `error: ...` on stderr. A closed stdout (`sim run x | head`) is not
/// an error.
pub fn main(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Size(args) => size::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr(), "error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Worker threads for `--jobs`: the value given, or every core the machine offers.
pub(crate) fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
}

/// Writes a report on stdout: as pretty JSON with `--json`, else as text by `text`.
pub(crate) fn print_report<R: serde::Serialize>(
    report: &R,
    json: bool,
    text: impl FnOnce(&mut io::StdoutLock<'static>, &R) -> io::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report).context("writing the report")?;
        writeln!(out)?;
    } else {
        text(&mut out, report)?;
    }
    out.flush()?;
    Ok(())
}

/// Whether an error is (caused by) writing to a closed pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
