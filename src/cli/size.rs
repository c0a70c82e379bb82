//! `sim size`: the smallest value of a scenario key meeting targets, theory first, then
//! confirmed by replicated simulation (see [`crate::sweep::size`]).
//!
//! Progress (one line per simulated candidate) goes to stderr; the answer to stdout.
//! Exit codes: 0 an answer was found (and fits the database budget, when there is one),
//! 1 no value up to `--max` meets the targets or the answer does not fit the budget,
//! 2 invalid input or a failed simulation.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::EXIT_CHECK_FAILED;
use crate::sweep::size::{Point, SizeOptions, SizeReport, Target, size};

/// Arguments of `sim size`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (YAML).
    pub file: PathBuf,
    /// A target on a summary figure, e.g. 'requests.timed_out_rate<0.001' or
    /// 'acquire_wait_ms.p99<100' (<, <=, >, >=); repeat for several. A target is met when
    /// the mean over the replications meets it.
    #[arg(long = "target", short = 't', required = true, value_parser = parse_target)]
    pub targets: Vec<Target>,
    /// The integer scenario key to size. Default: the size of the first pool that
    /// requests use (`pool.max_size`, or `pools.<index>.max_size` in a fleet file).
    #[arg(long)]
    pub key: Option<String>,
    /// Simulations per candidate value (seeds SEED, SEED+1, ...).
    #[arg(long, short, default_value_t = 5)]
    pub replications: u32,
    /// Appended to each value of the key, for keys with units: `--key pool.acquire_timeout
    /// --suffix ms` tries 1ms, 2ms...
    #[arg(long, default_value = "")]
    pub suffix: String,
    /// Smallest value to consider.
    #[arg(long, default_value_t = 1)]
    pub min: u32,
    /// Largest value to consider.
    #[arg(long, default_value_t = 200)]
    pub max: u32,
    /// Seed of the first replication [default: the scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications simulated in parallel (the answer does not depend on it).
    #[arg(long, short, default_value_t = 1)]
    pub jobs: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The size key of the first pool that requests use.
fn default_key(file: &std::path::Path) -> Result<String> {
    let s = crate::scenario::load(file)?;
    let loads = crate::theory::loads::pool_loads(&s);
    Ok(loads
        .pools
        .iter()
        .find(|p| !p.classes.is_empty())
        .and_then(|p| p.size_key.clone())
        .unwrap_or_else(|| "pool.max_size".to_string()))
}

fn parse_target(s: &str) -> Result<Target, String> {
    s.parse()
}

/// Runs `sim size`.
pub fn run(args: &Args) -> Result<u8> {
    let key = match &args.key {
        Some(k) => k.clone(),
        None => default_key(&args.file)?,
    };
    let opts = SizeOptions {
        key: key.clone(),
        replications: args.replications,
        min: args.min,
        max: args.max,
        seed: args.seed,
        jobs: args.jobs.max(1),
        suffix: args.suffix.clone(),
    };
    let quiet = args.quiet;
    let mut progress = |p: &Point| {
        if !quiet {
            let _ = writeln!(io::stderr(), "  simulated {} = {}: {}", key, p.value, point_line(p));
        }
    };
    let report = size(&args.file, &args.targets, &opts, &mut progress)
        .with_context(|| format!("sizing {} in {}", key, args.file.display()))?;
    super::print_report(&report, args.json, print_text)?;
    // An answer the database cannot give every instance is a failed check too.
    Ok(if report.answer.is_some() && report.budget_allows != Some(false) { 0 } else { EXIT_CHECK_FAILED })
}

fn point_line(p: &Point) -> String {
    let parts: Vec<String> = p
        .observed
        .iter()
        .map(|o| {
            let se = if o.std_error > 0.0 { format!(" ±{}", num(o.std_error)) } else { String::new() };
            format!("{} = {}{se}{}", o.path, num(o.mean), if o.met { "" } else { " (missed)" })
        })
        .collect();
    format!("{} -> {}", parts.join(", "), if p.meets { "meets" } else { "fails" })
}

fn num(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.1 { format!("{x:.3e}") } else { format!("{x:.3}") }
}

/// Writes the text report.
pub fn print_text(w: &mut impl Write, r: &SizeReport) -> io::Result<()> {
    writeln!(
        w,
        "{}: smallest {} in {}..={} with {}",
        r.scenario,
        r.key,
        r.range.0,
        r.range.1,
        r.targets.join(" and ")
    )?;
    match &r.theory {
        Some(t) => {
            match t.value {
                Some(v) => writeln!(w, "  theory      {} = {v}  ({})", r.key, t.note)?,
                None => writeln!(w, "  theory      no answer  ({})", t.note)?,
            }
            for p in &t.predicted {
                let v = p.value.map_or("inf".to_string(), num);
                writeln!(w, "              predicted {} = {v} at {}", p.path, t.at)?;
            }
            if !t.unpredicted.is_empty() {
                writeln!(w, "              left to the simulation: {}", t.unpredicted.join(", "))?;
            }
        }
        None => writeln!(w, "  theory      none: `{}` is not a pool's size, so the search starts at --min", r.key)?,
    }
    writeln!(
        w,
        "  simulation  {} replication(s) per value, seeds {:?}; mean over replications:",
        r.replications, r.seeds
    )?;
    for p in &r.points {
        writeln!(w, "    {:>6}  {}", p.value, point_line(p))?;
    }
    match r.answer {
        Some(a) => {
            let how = if r.confirmed {
                if a == r.range.0 { "the smallest value allowed".to_string() } else { format!("{} fails", a - 1) }
            } else {
                "not confirmed from below".to_string()
            };
            writeln!(w, "  answer      {} = {a} ({how})", r.key)?;
        }
        None => writeln!(
            w,
            "  answer      none: no value of {} up to {} meets every target in simulation; raise --max, or the \
             targets need another change (shorter holds, a longer timeout, less traffic)",
            r.key, r.range.1
        )?,
    }
    if !r.non_monotone.is_empty() {
        writeln!(
            w,
            "  warning     values {:?} meet the targets although a larger value fails: simulation noise or a key \
             that does not act monotonically; raise --replications",
            r.non_monotone
        )?;
    }
    match (r.budget_max, r.budget_allows) {
        (Some(m), Some(true)) => {
            writeln!(w, "  budget      the database allows up to {m} per instance: the answer fits")?
        }
        (Some(m), Some(false)) => writeln!(
            w,
            "  budget      the database allows only {m} per instance: the answer does NOT fit; share pools, \
             reduce instances or raise max_connections"
        )?,
        _ => {}
    }
    if let Some(b) = &r.budget {
        for f in &b.figures {
            writeln!(w, "  budget      {}: {}", f.label, super::analyze::fmt_value(f))?;
        }
        for v in &b.verdicts {
            writeln!(w, "  budget      {v}")?;
        }
    }
    Ok(())
}
