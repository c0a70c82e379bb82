//! `sim compare`: run several scenarios under the same seeds (identical traffic) and write
//! `compare.csv`, `compare.json` and an overlay of their timelines; print a Markdown table.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::files::{ensure_dir, write_atomic, write_bytes_atomic};
use super::run::FigureFormat;
use crate::output::compare::{write_csv, write_json, write_table};
use crate::plot;
use crate::scenario;
use crate::sweep::Control;
use crate::sweep::compare::compare;

/// Arguments of `sim compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files; the first is the baseline the others are compared with.
    #[arg(required = true, num_args = 2..)]
    pub files: Vec<PathBuf>,
    /// Runs per scenario (replication r uses the same seed for every scenario).
    #[arg(long, short, default_value_t = 1)]
    pub replications: usize,
    /// Seed for every scenario [default: the first scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]. The output is the same for any value.
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Output folder [default: out/compare/A-vs-B...].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Skip the overlay figure.
    #[arg(long)]
    pub no_plots: bool,
    /// File format of the figures: PNG, SVG (text as text, for docs and slides) or both.
    #[arg(long, value_enum, default_value_t = FigureFormat::Png)]
    pub format: FigureFormat,
    /// Print nothing on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `sim compare`.
pub fn run(args: &Args) -> Result<u8> {
    let scenarios =
        args.files.iter().map(|f| scenario::load(f).map_err(anyhow::Error::from)).collect::<Result<Vec<_>>>()?;
    let seed = args.seed.unwrap_or(scenarios[0].seed);
    let jobs = super::threads(args.jobs);
    let pb = super::progress::bar((scenarios.len() * args.replications) as u64, args.quiet);
    let should_stop = super::interrupt::requested();
    let progress = || pb.inc(1);
    let ctl = Control { jobs, progress: Some(&progress), should_stop: Some(&should_stop) };
    let c = compare(&scenarios, seed, args.replications, &ctl);
    pb.finish_and_clear();
    let c = c?;

    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join("compare").join(c.names.join("-vs-")));
    ensure_dir(&out)?;
    write_atomic(&out.join("compare.csv"), |w| write_csv(w, &c))?;
    write_atomic(&out.join("compare.json"), |w| write_json(w, &c))?;
    let mut written = vec!["compare.csv", "compare.json"];
    if !args.no_plots {
        for &f in args.format.formats() {
            let name = if f == plot::Format::Svg { "compare.svg" } else { "compare.png" };
            let bytes = plot::compare::overlay(&c.first, &c.names, f).with_context(|| format!("drawing {name}"))?;
            write_bytes_atomic(&out.join(name), &bytes)?;
            written.push(name);
        }
    }
    if !args.quiet {
        let mut w = io::stdout().lock();
        write_table(&mut w, &c)?;
        use std::io::Write;
        writeln!(w, "wrote {}/{{{}}}", out.display(), written.join(", "))?;
    }
    Ok(0)
}
