//! `sim bench`: the benchmark suite of issue 6, one command.
//!
//! Each case runs in a child process of this same binary (`sim bench --child
//! FILE`, hidden), so that its peak resident memory (`VmHWM` in
//! `/proc/self/status`) is its own and not the largest of all cases, and so that
//! one case's heap cannot warm or fragment the next. The child measures its own
//! CPU time from `/proc/self/stat` (user + system, in clock ticks of 1/100 s on
//! Linux) around loading and simulating, prints one JSON line, and exits. The
//! parent repeats each case `--runs` times and reports medians.
//!
//! Cases (scenarios in `--dir`, default `benches/scenarios/`):
//! - `single-pool-10m.yaml`: requests and events per CPU-second (target >= 10 M req/CPU-s);
//! - `memory.yaml` (one pool) and `memory-fleet.yaml` (100 pool copies) for 1 h and
//!   for 24 h: peak RSS (targets: within 10 %, < 100 MB). Timeline and pool rows leave
//!   the run as buckets close, as `sim run` streams them to timeline.csv and pools.csv;
//! - `sim run scenarios/lab04.yaml` with its PNGs: startup (target well under 1 s);
//! - `sim sweep sweep.yaml --set pool.max_size=1..40:1 -r 10 --jobs 1` vs `--jobs 2`:
//!   speed-up (target >= 1.8) and identical output bytes, on 400 runs (the issue's sweeps
//!   have replications; with 40 runs of ~15 ms, the last run and the process start were
//!   ~5 % of the 2-job time); skipped with a note when the binary has no `sweep` subcommand;
//! - `fleet-day.yaml`, when present (target >= 5 M req/CPU-s).
//!
//! Figures are read generically from the summary (`requests.total`) and the run's
//! metadata (events), so new summary fields need no change here. Only Linux's
//! `/proc` is read; elsewhere CPU and memory figures are reported as unavailable.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};

use crate::model::RunOptions;
use crate::output::json::{lookup, summary_value};
use crate::scenario;

/// Arguments of `sim bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Runs of each case; the figures reported are medians.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Smaller cases and one run each, a smoke test: 1 M instead of 10 M requests,
    /// memory at 1 h vs 6 h instead of 24 h, a 10-point sweep, 2 h of the fleet day.
    #[arg(long)]
    pub quick: bool,
    /// Folder of the benchmark scenarios.
    #[arg(long, default_value = "benches/scenarios")]
    pub dir: PathBuf,
    /// Scenario of the startup case (run like `sim run`, with plots).
    #[arg(long, default_value = "scenarios/lab04.yaml")]
    pub startup: PathBuf,
    /// Internal: run one case in this process and print its figures as one JSON line.
    #[arg(long, hide = true)]
    pub child: Option<PathBuf>,
    /// Internal, with --child: KEY=VALUE overrides of the scenario.
    #[arg(long = "set", hide = true)]
    pub set: Vec<String>,
    /// Internal, with --child: run the whole `sim run` (outputs and plots) into this folder.
    #[arg(long, hide = true)]
    pub child_run: Option<PathBuf>,
    /// Internal, with --child-run: skip the plots (to show their share of startup).
    #[arg(long, hide = true)]
    pub child_no_plots: bool,
}

/// What one child run measured.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    requests: f64,
    events: f64,
    cpu_s: f64,
    wall_s: f64,
    peak_rss_kb: f64,
}

/// Runs `sim bench`.
pub fn run(args: &Args) -> Result<u8> {
    if let Some(file) = &args.child {
        return child(file, &args.set, args.child_run.as_deref(), args.child_no_plots);
    }
    let runs = if args.quick { 1 } else { args.runs };
    let exe = std::env::current_exe().context("cannot find the sim binary to run the cases")?;
    let scratch = std::env::temp_dir().join(format!("sim-bench-{}", std::process::id()));
    super::files::ensure_dir(&scratch)?;
    let result = suite(args, runs, &exe, &scratch);
    let _ = fs::remove_dir_all(&scratch);
    result
}

fn suite(args: &Args, runs: u32, exe: &Path, scratch: &Path) -> Result<u8> {
    let out = &mut io::stdout().lock();
    writeln!(out, "sim bench: {runs} run(s) per case, medians; {}", machine())?;
    writeln!(
        out,
        "{:<34} {:>11} {:>11} {:>7} {:>7} {:>10} {:>10} {:>9}  target",
        "case", "requests", "events", "CPU s", "wall s", "Mreq/CPU-s", "Mev/CPU-s", "peak RSS"
    )?;

    // 1. Single pool, 10 M requests.
    let single = args.dir.join("single-pool-10m.yaml");
    let set: Vec<String> = if args.quick { vec!["workload.0.open.until=111111s".into()] } else { vec![] };
    let s = measure(runs, || child_sample(exe, &single, &set, None))?;
    let label = if args.quick { "single pool, 1 M requests (quick)" } else { "single pool, 10 M requests" };
    let rate = s.requests / s.cpu_s / 1e6;
    row(out, label, &s, &format!(">= 10 Mreq/CPU-s: {}", verdict(rate >= 10.0)))?;

    // 2. Memory: the same scenario for 1 h and 24 h, for one pool and for a fleet.
    for (file, what) in [("memory.yaml", "memory"), ("memory-fleet.yaml", "memory, fleet")] {
        let memory = args.dir.join(file);
        if !memory.exists() {
            writeln!(out, "{:<34} skipped: {} does not exist", what, memory.display())?;
            continue;
        }
        let hours = if args.quick { 6 } else { 24 };
        let short = measure(runs, || child_sample(exe, &memory, &["duration=1h".into()], None))?;
        let long = measure(runs, || child_sample(exe, &memory, &[format!("duration={hours}h")], None))?;
        row(out, &format!("{what}, 1 h simulated"), &short, "")?;
        let ratio = long.peak_rss_kb / short.peak_rss_kb;
        let ok = (ratio - 1.0).abs() <= 0.10 && long.peak_rss_kb < 100.0 * 1024.0;
        row(
            out,
            &format!("{what}, {hours} h simulated"),
            &long,
            &format!("RSS within 10 % of 1 h ({ratio:.3}x), < 100 MB: {}", verdict(ok)),
        )?;
    }

    // 3. Startup: `sim run` with plots, the whole process.
    let startup_out = scratch.join("startup");
    let file_name = args.startup.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let bare = measure(runs, || child_sample(exe, &args.startup, &[], Some((&startup_out, false))))?;
    row(out, &format!("sim run {file_name} --no-plots"), &bare, "")?;
    let st = measure(runs, || child_sample(exe, &args.startup, &[], Some((&startup_out, true))))?;
    row(out, &format!("sim run {file_name} + PNGs"), &st, &format!("< 1 s wall: {}", verdict(st.wall_s < 1.0)))?;

    // 4. Sweep scaling.
    let sweep_file = args.dir.join("sweep.yaml");
    let grid = if args.quick { "pool.max_size=1..10:1" } else { "pool.max_size=1..40:1" };
    let replications = if args.quick { 1 } else { 10 };
    match sweep_available(exe) {
        false => {
            writeln!(out, "{:<34} skipped: this sim has no `sweep` subcommand (it comes with the sweep work)", "sweep")?
        }
        true => {
            let mut walls = [Vec::new(), Vec::new()];
            let mut identical = true;
            for _ in 0..runs {
                let mut dirs = Vec::new();
                for (k, jobs) in [1u32, 2].into_iter().enumerate() {
                    let dir = scratch.join(format!("sweep-j{jobs}"));
                    let _ = fs::remove_dir_all(&dir);
                    walls[k].push(run_sweep(exe, &sweep_file, grid, replications, jobs, &dir)?);
                    dirs.push(dir);
                }
                identical &= tree_bytes(&dirs[0])? == tree_bytes(&dirs[1])?;
            }
            let (w1, w2) = (median(&mut walls[0]), median(&mut walls[1]));
            let speedup = w1 / w2;
            writeln!(
                out,
                "{:<34} --jobs 1 {w1:.2} s, --jobs 2 {w2:.2} s wall: {speedup:.2}x, bytes {}  target >= 1.8x, identical: {}",
                format!("sweep {grid} -r {replications}"),
                if identical { "identical" } else { "DIFFER" },
                verdict(speedup >= 1.8 && identical)
            )?;
        }
    }

    // 5. Fleet, when the scenario exists.
    let fleet = args.dir.join("fleet-day.yaml");
    if fleet.exists() {
        // Quick: the day's first 2 hours (its quiet night), with its timed
        // change (closing the job pool) moved into them: the model runs whole.
        let (set, label) = if args.quick {
            (vec!["duration=2h".to_string(), "events.0.at=1h".to_string()], "fleet, first 2 h (quick)")
        } else {
            (vec![], "fleet, one day")
        };
        let f = measure(runs, || child_sample(exe, &fleet, &set, None))?;
        let rate = f.requests / f.cpu_s / 1e6;
        row(out, label, &f, &format!(">= 5 Mreq/CPU-s: {}", verdict(rate >= 5.0)))?;
    } else {
        writeln!(out, "{:<34} skipped: {} does not exist yet", "fleet", fleet.display())?;
    }
    Ok(0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

fn row(out: &mut impl Write, label: &str, s: &Sample, target: &str) -> io::Result<()> {
    // The startup case counts no requests: show dashes rather than zeros.
    let per = |x: f64| if s.cpu_s > 0.0 && x > 0.0 { format!("{:.2}", x / s.cpu_s / 1e6) } else { "-".into() };
    let count = |x: f64| if x > 0.0 { format!("{}", x as u64) } else { "-".into() };
    writeln!(
        out,
        "{:<34} {:>11} {:>11} {:>7.2} {:>7.3} {:>10} {:>10} {:>6.1} MB  {target}",
        label,
        count(s.requests),
        count(s.events),
        s.cpu_s,
        s.wall_s,
        per(s.requests),
        per(s.events),
        s.peak_rss_kb / 1024.0
    )
}

/// Runs a case `runs` times; each figure is the median of its runs.
fn measure(runs: u32, mut once: impl FnMut() -> Result<Sample>) -> Result<Sample> {
    let samples = (0..runs).map(|_| once()).collect::<Result<Vec<_>>>()?;
    let med = |f: fn(&Sample) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
    Ok(Sample {
        requests: med(|s| s.requests),
        events: med(|s| s.events),
        cpu_s: med(|s| s.cpu_s),
        wall_s: med(|s| s.wall_s),
        peak_rss_kb: med(|s| s.peak_rss_kb),
    })
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Wall-clock seconds since `start`. Benchmarks are the one place that needs
/// the wall clock; the library never reads it.
#[allow(clippy::disallowed_methods, reason = "benchmarks measure wall time; only the CLI may read the clock")]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Runs one case in a child process and reads its JSON line.
/// `run_into`: do a whole `sim run` into this folder, with plots or not.
fn child_sample(exe: &Path, file: &Path, set: &[String], run_into: Option<(&Path, bool)>) -> Result<Sample> {
    let mut cmd = Command::new(exe);
    cmd.arg("bench").arg("--child").arg(file);
    for kv in set {
        cmd.arg("--set").arg(kv);
    }
    if let Some((dir, plots)) = run_into {
        cmd.arg("--child-run").arg(dir);
        if !plots {
            cmd.arg("--child-no-plots");
        }
    }
    let start = now();
    let output = cmd.output().with_context(|| format!("cannot start {}", exe.display()))?;
    let wall_s = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!("benchmark case {} failed: {}", file.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .with_context(|| format!("benchmark case {} printed no figures: {text}", file.display()))?;
    let num = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    Ok(Sample {
        requests: num("requests"),
        events: num("events"),
        cpu_s: num("cpu_s"),
        // The whole child process for `sim run` (startup included); the simulation only otherwise.
        wall_s: if run_into.is_some() { wall_s } else { num("wall_s") },
        peak_rss_kb: num("peak_rss_kb"),
    })
}

/// The child: load and simulate (or do a whole `sim run`), then print the figures.
fn child(file: &Path, set: &[String], run_into: Option<&Path>, no_plots: bool) -> Result<u8> {
    let overrides = set
        .iter()
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect::<Option<Vec<_>>>()
        .context("--set takes KEY=VALUE")?;
    let cpu0 = cpu_seconds();
    let start = now();
    let (requests, events) = match run_into {
        Some(dir) => {
            // Exactly what `sim run FILE --out DIR -q [--no-plots]` does.
            #[derive(Parser)]
            struct Wrap {
                #[command(flatten)]
                args: super::run::Args,
            }
            let mut argv = vec![OsArg::from("sim run"), file.into(), "--out".into(), dir.into(), "-q".into()];
            if no_plots {
                argv.push("--no-plots".into());
            }
            let wrap = Wrap::try_parse_from(argv).context("building the sim run arguments")?;
            super::run::run(&wrap.args)?;
            (0.0, 0.0)
        }
        None => {
            let s = scenario::load_with_overrides(file, &overrides)?;
            // Rows leave as buckets close, as `sim run` streams them to pools.csv and timeline.csv.
            let (mut pools, mut timeline) = (DiscardRows, DiscardRows);
            let mut opts = RunOptions::seed(s.seed);
            opts.pool_sink = Some(&mut pools);
            opts.timeline_sink = Some(&mut timeline);
            let result = crate::run::run(&s, opts)?;
            let summary = summary_value(&result);
            let requests = lookup(&summary, "requests.total").and_then(Value::as_f64).unwrap_or(0.0);
            (requests, result.meta.events as f64)
        }
    };
    let wall_s = start.elapsed().as_secs_f64();
    let cpu_s = match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    // Startup counts the whole process, exec and dynamic loading included.
    let cpu_s = if run_into.is_some() { cpu_seconds().unwrap_or(0.0) } else { cpu_s };
    let line = json!({
        "requests": requests,
        "events": events,
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        "peak_rss_kb": peak_rss_kb().unwrap_or(0),
    });
    writeln!(io::stdout().lock(), "{line}")?;
    Ok(0)
}

type OsArg = std::ffi::OsString;

/// Drops the rows of closed buckets: the benchmark measures the engine, not the CSV writers.
struct DiscardRows;

impl<T> crate::result::RowSink<T> for DiscardRows {
    fn rows(&mut self, _: &[T]) -> io::Result<()> {
        Ok(())
    }
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat`.
/// Linux reports it in ticks of 1/100 s to user space (USER_HZ), whatever the kernel's HZ.
fn cpu_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after its ')' are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak resident memory of this process, from `VmHWM` in `/proc/self/status`, in KiB.
fn peak_rss_kb() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The processor and the number of cores, for the report's header.
fn machine() -> String {
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
                .map(String::from)
        })
        .unwrap_or_else(|| "unknown processor".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores available")
}

/// Whether this binary has a `sweep` subcommand.
fn sweep_available(exe: &Path) -> bool {
    Command::new(exe).args(["sweep", "--help"]).output().is_ok_and(|o| o.status.success())
}

/// Runs one sweep, returns its wall time in seconds.
fn run_sweep(exe: &Path, file: &Path, grid: &str, replications: u32, jobs: u32, dir: &Path) -> Result<f64> {
    let start = now();
    let output = Command::new(exe)
        .arg("sweep")
        .arg(file)
        .args(["--set", grid, "-r", &replications.to_string(), "--jobs", &jobs.to_string(), "--out"])
        .arg(dir)
        .output()
        .context("cannot start sim sweep")?;
    let wall = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!("sim sweep --jobs {jobs} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(wall)
}

/// Every file under `dir` with its bytes, sorted by path, to compare two output trees.
fn tree_bytes(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                files.push((path.strip_prefix(dir).unwrap_or(&path).to_path_buf(), bytes));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn this_process_reports_cpu_and_memory_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
            assert!(peak_rss_kb().is_some_and(|kb| kb > 0));
        }
    }
}
