//! `sim analyze`: capacity math and queueing theory for a scenario, without simulating.
//!
//! Prints, per pool, every figure of [`crate::theory::analysis`] with the model it comes
//! from and whether the scenario keeps the assumptions it rests on (`!` marks a figure
//! whose assumptions the scenario breaks), then the broken assumptions in words and the
//! connection budget. `--json` prints the same report as JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;

use crate::scenario;
use crate::theory::analysis::{Analysis, Figure, analyze};
use crate::theory::fmt_secs;
use crate::theory::loads::pool_loads;

/// Arguments of `sim analyze`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (YAML).
    pub file: PathBuf,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `sim analyze`.
pub fn run(args: &Args) -> Result<u8> {
    let s = scenario::load(&args.file)?;
    let report = analyze(&pool_loads(&s));
    super::print_report(&report, args.json, print_text)?;
    Ok(0)
}

/// Formats a figure's value with its unit.
pub(crate) fn fmt_value(f: &Figure) -> String {
    let Some(v) = f.value else { return "-".into() };
    let num = if v.is_infinite() {
        "inf".to_string()
    } else if f.unit.is_empty() {
        // Probabilities and ratios: enough digits for small rates.
        if v != 0.0 && v.abs() < 1e-3 { format!("{v:.3e}") } else { format!("{v:.4}") }
    } else if matches!(f.unit, "connections" | "users" | "requests") {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    if f.unit.is_empty() { num } else { format!("{num} {}", f.unit) }
}

/// Writes the text report.
pub fn print_text(w: &mut impl Write, a: &Analysis) -> io::Result<()> {
    writeln!(w, "{}: queueing theory and capacity math (no simulation)", a.scenario)?;
    for pa in &a.pools {
        let p = &pa.load;
        writeln!(w)?;
        let timeout = p.acquire_timeout_s.map_or("never".to_string(), fmt_secs);
        let overflow = if p.max_overflow > 0 { format!(" + max_overflow {}", p.max_overflow) } else { String::new() };
        writeln!(
            w,
            "pool `{}`: {} instance(s) x max_size {}{overflow}, acquire timeout {timeout}",
            p.name, p.instances, p.max_size
        )?;
        if p.max_overflow > 0 {
            writeln!(
                w,
                "  overflow  the figures count max_size + max_overflow = {} connections per instance: overflow \
                 connections serve like the others while open, close when released with nobody waiting and \
                 reopen on demand (exact when a connection opens instantly)",
                p.max_size + p.max_overflow
            )?;
        }
        let kinds: Vec<String> = p
            .arrival_kinds
            .iter()
            .map(|k| {
                format!("{k:?}")
                    .to_lowercase()
                    .replace("timevarying", "time-varying")
                    .replace("closedloop", "closed-loop")
            })
            .collect();
        writeln!(
            w,
            "  traffic   {} per instance: open {:.4}/s at peak ({:.4}/s mean), {} burst(s), {} users source(s)",
            if kinds.is_empty() { "none".to_string() } else { kinds.join(" + ") },
            p.arrival_rate_per_s,
            p.arrival_rate_mean_per_s,
            p.bursts.len(),
            p.closed.len()
        )?;
        if p.classes.is_empty() {
            writeln!(w, "  hold      no request class uses this pool")?;
        } else {
            writeln!(
                w,
                "  hold      mean {} ({}), cv {:.2}; overhead outside the pool {}",
                fmt_secs(p.hold_mean_s),
                p.hold_dists.join(", "),
                p.hold_cv,
                fmt_secs(p.overhead_mean_s)
            )?;
        }
        let width = pa.figures.iter().map(|f| f.label.chars().count()).max().unwrap_or(0);
        for f in &pa.figures {
            let mark = if f.holds { ' ' } else { '!' };
            write!(w, "  {mark} {:<width$}  {:>16}  [{}]", f.label, fmt_value(f), f.model)?;
            if let Some(n) = &f.note {
                write!(w, "  {n}")?;
            }
            writeln!(w)?;
        }
        let any_broken = pa.figures.iter().any(|f| !f.holds);
        if any_broken {
            writeln!(w, "  ! = rests on an assumption this scenario breaks:")?;
        }
        for b in p.broken.iter().chain(&a.broken) {
            writeln!(w, "    - {}: {}", b.assumption.describe(), b.message)?;
        }
        // What every queueing figure assumes, said once.
        if pa.figures.iter().any(|f| f.id.starts_with("erlang") || f.id.starts_with("mmc_d")) {
            writeln!(
                w,
                "  queueing figures assume Poisson arrivals at the peak rate, exponential holds that run to their \
                 end, FCFS waiting, a steady state, a database that accepts every connection with a core for \
                 every query, connections that open instantly{}",
                if p.instances > 1 { ", traffic split evenly over the instances" } else { "" }
            )?;
        }
    }
    writeln!(w)?;
    writeln!(w, "connection budget")?;
    let width = a.budget.figures.iter().map(|f| f.label.chars().count()).max().unwrap_or(0);
    for f in &a.budget.figures {
        write!(w, "    {:<width$}  {:>16}  [{}]", f.label, fmt_value(f), f.model)?;
        if let Some(n) = &f.note {
            write!(w, "  {n}")?;
        }
        writeln!(w)?;
    }
    for v in &a.budget.verdicts {
        writeln!(w, "  {v}")?;
    }
    Ok(())
}
