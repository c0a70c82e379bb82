//! `sim sweep`: run a scenario over a grid of settings, in parallel, and write `sweep.csv`,
//! `sweep.json` and the plots (a line per metric for one key, heatmaps for two).
//!
//! The output bytes do not depend on `--jobs`; with `--shard K/N` only a deterministic share
//! of the grid runs, plots are left to `sim merge`, and the files merge back into exactly the
//! unsharded ones.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::files::{ensure_dir, write_atomic, write_bytes_atomic};
use super::run::FigureFormat;
use crate::output::sweep::{SweepMeta, write_csv, write_meta};
use crate::plot;
use crate::scenario::grid::{self, Axis, Grid};
use crate::scenario::{self, validate};
use crate::sweep::{Control, Plan, Shard, Table};

/// Figures always drawn when the table has them.
const PLOT_FIGURES: &[&str] = &["requests.timed_out_rate", "latency_ms.p99", "acquire_wait_ms.p99", "queue_depth_max"];
/// Figures of the fleet model, drawn only when they vary across the grid (else they say nothing).
const PLOT_IF_VARYING: &[&str] = &["requests.refused", "database.peak_connections", "database.refusals"];

/// Arguments of `sim sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (YAML).
    pub file: PathBuf,
    /// A swept key and its values: `pool.max_size=1..30:1`, `request.hold.value=100ms,250ms,1s`.
    /// Repeat for a grid. Replaces the scenario's `sweep:` block when given.
    #[arg(long = "set", value_name = "KEY=VALUES")]
    pub set: Vec<String>,
    /// Runs per grid point, with seeds shared across points [default: the `sweep:` block's, else 1].
    #[arg(long, short)]
    pub replications: Option<usize>,
    /// Worker threads [default: all cores]. The output is the same for any value.
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Base seed [default: each point's scenario `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only share K of N of the grid (K from 0); join the outputs with `sim merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Output folder [default: out/NAME/sweep, or out/NAME/sweep/shard-K-of-N].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Skip the plots.
    #[arg(long)]
    pub no_plots: bool,
    /// File format of the figures: PNG, SVG (text as text, for docs and slides) or both.
    #[arg(long, value_enum, default_value_t = FigureFormat::Png)]
    pub format: FigureFormat,
    /// Print nothing on stdout and draw no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `sim sweep`.
pub fn run(args: &Args) -> Result<u8> {
    let src = scenario::read_source(&args.file)?;
    let file = args.file.display().to_string();
    let base_dir = args.file.parent();
    let base = validate::from_str(&src, &file, base_dir, &[])?;
    let spec = base.sweep.clone();
    let pairs: Vec<Axis> = if !args.set.is_empty() {
        args.set.iter().map(|s| grid::parse_set(s).map_err(anyhow::Error::msg)).collect::<Result<_>>()?
    } else if let Some(spec) = &spec {
        spec.set.iter().map(|(k, v)| Axis::parse(k, v).map_err(anyhow::Error::msg)).collect::<Result<_>>()?
    } else {
        bail!(
            "nothing to sweep: give --set KEY=VALUES (e.g. --set pool.max_size=1..30:1) or add a `sweep:` block to {file}"
        );
    };
    let grid = Grid::new(pairs).map_err(anyhow::Error::msg)?;
    let replications = args.replications.or(spec.and_then(|s| s.replications)).unwrap_or(1);
    let shard = args.shard.unwrap_or(Shard::ALL);
    let plan = Plan::new(&src, &file, base_dir, grid, replications, shard, args.seed)?;

    let out = args.out.clone().unwrap_or_else(|| {
        let dir = Path::new("out").join(&base.name).join("sweep");
        if shard.count > 1 { dir.join(format!("shard-{}-of-{}", shard.index, shard.count)) } else { dir }
    });
    ensure_dir(&out)?;
    let jobs = super::threads(args.jobs);
    let table = run_with_progress(&plan, jobs, args.quiet)?;

    let meta = SweepMeta {
        scenario: base.name.clone(),
        scenario_hash: base.hash_hex(),
        seed: args.seed,
        replications,
        grid: plan.grid.clone(),
        shard,
    };
    write_atomic(&out.join("sweep.csv"), |w| write_csv(w, &table))?;
    write_atomic(&out.join("sweep.json"), |w| write_meta(w, &meta))?;
    let mut written = vec!["sweep.csv".to_string(), "sweep.json".to_string()];
    if !args.no_plots && shard.count == 1 {
        written.extend(write_plots(&table, &plan.grid.axes, &base.name, &out, jobs, args.format)?);
    }
    if !args.quiet {
        let mut w = io::stdout().lock();
        writeln!(
            w,
            "{}: {} points{} x {} replication(s) = {} runs on {} thread(s)",
            base.name,
            plan.points.len(),
            if shard.count > 1 {
                format!(" (shard {}/{} of {})", shard.index, shard.count, plan.grid.len())
            } else {
                String::new()
            },
            replications,
            plan.runs(),
            jobs.min(plan.runs()),
        )?;
        print_table(&mut w, &table)?;
        writeln!(w, "  wrote {}/{{{}}}", out.display(), written.join(", "))?;
        if shard.count > 1 {
            writeln!(w, "  join the {} shards with: sim merge DIR... --out DIR", shard.count)?;
        }
    }
    Ok(0)
}

/// Runs the plan with a progress bar on stderr (hidden when stderr is not a terminal or `quiet`).
fn run_with_progress(plan: &Plan, jobs: usize, quiet: bool) -> Result<Table> {
    let pb = super::progress::bar(plan.runs() as u64, quiet);
    let should_stop = super::interrupt::requested();
    let progress = || pb.inc(1);
    let ctl = Control { jobs, progress: Some(&progress), should_stop: Some(&should_stop) };
    let table = plan.run(&ctl);
    pb.finish_and_clear();
    Ok(table?)
}

fn file_part(figure: &str) -> String {
    figure.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// Draws the plots a sweep's shape allows, on `jobs` threads, in the formats asked, and returns
/// their file names: a line plot per figure for one key, a heatmap per figure for two keys, none
/// for more.
pub(crate) fn write_plots(
    t: &Table,
    axes: &[Axis],
    scenario: &str,
    out: &Path,
    jobs: usize,
    format: FigureFormat,
) -> Result<Vec<String>> {
    if !matches!(axes.len(), 1 | 2) {
        return Ok(Vec::new());
    }
    let figures: Vec<&String> = t
        .figures
        .iter()
        .filter(|f| PLOT_FIGURES.contains(&f.as_str()) || PLOT_IF_VARYING.contains(&f.as_str()) && varies(t, f))
        .collect();
    let formats = format.formats();
    // Each plot is drawn on its own: in parallel, then written in order.
    let draw = |i: usize| {
        let (f, fmt) = (figures[i / formats.len()], formats[i % formats.len()]);
        let ext = fmt.extension();
        Ok(match axes {
            [x] => {
                // Queueing theory's prediction beside the simulated figure, when the scenario fits it.
                let reference = (f == "requests.timed_out_rate").then_some("theory.timed_out_rate");
                (format!("line_{}.{ext}", file_part(f)), plot::sweep::line(t, x, f, reference, scenario, fmt))
            }
            [x, y] => (format!("heatmap_{}.{ext}", file_part(f)), plot::heatmap::heatmap(t, x, y, f, scenario, fmt)),
            _ => unreachable!("checked above"),
        })
    };
    let ctl = Control { jobs, progress: None, should_stop: None };
    let drawn = crate::sweep::par_map(figures.len() * formats.len(), &ctl, draw)?;
    let mut written = Vec::new();
    for (name, bytes) in drawn {
        let bytes = bytes.with_context(|| format!("drawing {name}"))?;
        write_bytes_atomic(&out.join(&name), &bytes)?;
        written.push(name);
    }
    Ok(written)
}

/// Whether a figure takes more than one value over the table's rows.
fn varies(t: &Table, figure: &str) -> bool {
    let Some(i) = t.figure(figure) else { return false };
    let mut means = t.rows.iter().filter_map(|r| r.cells[i].map(|e| e.mean));
    means.next().is_some_and(|first| means.any(|m| m != first))
}

/// A compact Markdown table of the headline figures, for sweeps small enough to read.
fn print_table(w: &mut impl Write, t: &Table) -> io::Result<()> {
    const SHOWN: &[&str] = &["requests.timed_out_rate", "latency_ms.p99", "acquire_wait_ms.p99", "queue_depth_max"];
    const MAX_ROWS: usize = 60;
    if t.rows.len() > MAX_ROWS {
        return writeln!(w, "  {} rows: see sweep.csv", t.rows.len());
    }
    let cols: Vec<(usize, &str)> = SHOWN.iter().filter_map(|f| t.figure(f).map(|i| (i, *f))).collect();
    let mut head: Vec<String> = t.keys.iter().map(|k| format!("`{k}`")).collect();
    head.extend(cols.iter().map(|(_, f)| format!("`{f}`")));
    writeln!(w, "\n| {} |", head.join(" | "))?;
    writeln!(w, "|{}|", vec!["---:"; head.len()].join("|"))?;
    for r in &t.rows {
        let mut cells = r.values.clone();
        for (i, _) in &cols {
            cells.push(match r.cells[*i] {
                Some(e) => match e.half_width {
                    Some(h) => format!("{:.3} ± {:.3}", e.mean, h),
                    None => format!("{:.3}", e.mean),
                },
                None => "–".into(),
            });
        }
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    writeln!(w)
}
