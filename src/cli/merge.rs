//! `sim merge`: join the outputs of `sim sweep --shard K/N` into exactly the `sweep.csv` and
//! `sweep.json` an unsharded sweep writes, then draw the sweep's plots.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::files::{ensure_dir, write_atomic};
use super::run::FigureFormat;
use crate::output::sweep::{parse_csv, table_from_csv};
use crate::scenario::grid::{Axis, Value};
use crate::sweep::merge::{Part, merge};

/// Arguments of `sim merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folders of the shards (each holds sweep.csv and sweep.json).
    #[arg(required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged sweep.csv, sweep.json and plots.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Skip the plots.
    #[arg(long)]
    pub no_plots: bool,
    /// File format of the figures: PNG, SVG (text as text, for docs and slides) or both.
    #[arg(long, value_enum, default_value_t = FigureFormat::Png)]
    pub format: FigureFormat,
    /// Print nothing on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `sim merge`.
pub fn run(args: &Args) -> Result<u8> {
    let mut parts = Vec::new();
    for d in &args.dirs {
        let read = |name: &str| {
            let p = d.join(name);
            std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {} (is {} a sweep output folder?)", p.display(), d.display()))
        };
        let meta = serde_json::from_str(&read("sweep.json")?)
            .with_context(|| format!("{}/sweep.json is not valid JSON", d.display()))?;
        parts.push(Part { name: d.display().to_string(), meta, csv: read("sweep.csv")? });
    }
    let (meta, csv) = merge(&parts).map_err(anyhow::Error::msg)?;
    ensure_dir(&args.out)?;
    write_atomic(&args.out.join("sweep.csv"), |w| w.write_all(csv.as_bytes()))?;
    write_atomic(&args.out.join("sweep.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &meta)?;
        writeln!(w)
    })?;
    let mut written = vec!["sweep.csv".to_string(), "sweep.json".to_string()];
    if !args.no_plots {
        let axes: Vec<Axis> = meta["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .map(|k| Axis {
                        key: k["key"].as_str().unwrap_or_default().to_string(),
                        values: k["values"]
                            .as_array()
                            .map(|v| v.iter().map(|t| Value::from_text(t.as_str().unwrap_or_default())).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reps = meta["replications"].as_u64().unwrap_or(1) as usize;
        let rows = parse_csv(&csv).map_err(anyhow::Error::msg)?;
        let table = table_from_csv(&rows, axes.len(), reps).map_err(anyhow::Error::msg)?;
        let name = meta["scenario"].as_str().unwrap_or_default();
        written.extend(super::sweep::write_plots(&table, &axes, name, &args.out, super::threads(None), args.format)?);
    }
    if !args.quiet {
        writeln!(
            io::stdout().lock(),
            "merged {} shard(s), {} points: wrote {}/{{{}}}",
            parts.len(),
            meta["points"],
            args.out.display(),
            written.join(", ")
        )?;
    }
    Ok(0)
}
