//! `sim check`: validate, run and assert every scenario file under the given
//! paths; optionally compare each summary with a golden file.
//!
//! Files run in parallel (`--jobs`), but each result is stored at its file's
//! index and the report is written only when all are done, so the report's
//! bytes do not depend on the number of threads or on scheduling. Exit code:
//! 0 all passed, 1 an expectation or golden file failed, 2 a file is invalid or
//! could not be run (the other files are still checked).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};

use super::files::write_atomic;
use crate::check::golden::{self, Tolerance};
use crate::check::report::{FileReport, Report, exit_code};
use crate::check::{self as checks, Assertion, Verdict};
use crate::model::{DEFAULT_MAX_EVENTS, DEFAULT_MAX_IN_FLIGHT, RunOptions};
use crate::output::json::{summary_value, write_summary};
use crate::scenario;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people, with the reasons of every failure.
    Text,
    /// One JSON document (files, assertions, totals, exit code).
    Json,
    /// JUnit XML, read natively by CI systems.
    Junit,
}

/// Arguments of `sim check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files, or folders searched recursively for `*.yaml` and `*.yml` (sorted).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Compare each run's summary with DIR/STEM.json, STEM being the file name without extension (integer counts exactly, floats within the tolerance).
    #[arg(long, value_name = "DIR")]
    pub golden: Option<PathBuf>,
    /// Write the golden files from this run instead of comparing (review them with `git diff`).
    #[arg(long, requires = "golden")]
    pub update_golden: bool,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write a JUnit XML report to FILE (whatever --format is).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Seed for every file [default: each scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Files checked at once [default: the number of CPUs].
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Stop a run with an error after this many events (guards against runaway scenarios).
    #[arg(long, default_value_t = DEFAULT_MAX_EVENTS)]
    pub max_events: u64,
    /// Absolute tolerance of float figures against golden files.
    #[arg(long, default_value_t = Tolerance::default().abs)]
    pub abs_tolerance: f64,
    /// Relative tolerance of float figures against golden files.
    #[arg(long, default_value_t = Tolerance::default().rel)]
    pub rel_tolerance: f64,
}

/// One file to check: where it is and, with `--golden`, its golden file.
struct Job {
    file: PathBuf,
    /// Set when the file itself could not be found or listed.
    error: Option<String>,
    golden: Option<PathBuf>,
}

/// Runs `sim check`.
pub fn run(args: &Args) -> Result<u8> {
    let tol = Tolerance { abs: args.abs_tolerance, rel: args.rel_tolerance };
    if !(tol.abs.is_finite() && tol.rel.is_finite() && tol.abs >= 0.0 && tol.rel >= 0.0) {
        bail!("tolerances must be finite and zero or more");
    }
    if let Some(dir) = &args.golden {
        if args.update_golden {
            super::files::ensure_dir(dir)?;
        } else if !dir.is_dir() {
            bail!("golden folder {} does not exist (create it with --update-golden)", dir.display());
        }
    }
    let jobs = plan(&args.paths, args.golden.as_deref());
    let stop = super::interrupt::flag();
    let threads = super::threads(args.jobs).min(jobs.len().max(1));
    let results: Vec<Mutex<Option<FileReport>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let should_stop = || stop.load(Ordering::Relaxed);
                    let report = check_file(job, args, tol, &should_stop);
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
                }
            });
        }
    });
    if stop.load(Ordering::Relaxed) {
        bail!("interrupted; no report written");
    }
    let report = Report {
        files: results
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every job ran"))
            .collect(),
    };
    if let Some(path) = &args.junit {
        write_atomic(path, |w| report.write_junit(w)).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = io::stdout().lock();
    match args.format {
        Format::Text => report.write_text(&mut out)?,
        Format::Json => report.write_json(&mut out)?,
        Format::Junit => report.write_junit(&mut out)?,
    }
    out.flush()?;
    if args.format != Format::Text {
        // Keep the located messages visible to people and CI log annotators.
        let mut err = io::stderr().lock();
        for f in report.files.iter().filter(|f| f.verdict() != Verdict::Pass) {
            if let Some(e) = &f.error {
                writeln!(err, "error: {e}")?;
            }
            for a in f.assertions.iter().filter(|a| a.verdict != Verdict::Pass) {
                writeln!(err, "{}: {}: {}", a.location(&f.file), a.verdict.as_str(), a.message)?;
            }
        }
        writeln!(err, "{}", report.totals_line())?;
    }
    Ok(exit_code(report.verdict()))
}

/// The files to check, in order: each path as given, folders expanded to their
/// sorted `*.yaml`/`*.yml` files. Golden names come from file stems; two files
/// with the same stem cannot share a golden folder, so the second is refused.
fn plan(paths: &[PathBuf], golden: Option<&Path>) -> Vec<Job> {
    let mut jobs = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            if let Err(e) = scenario_files(p, &mut found) {
                jobs.push(Job {
                    file: p.clone(),
                    error: Some(format!("{}: cannot list: {e}", p.display())),
                    golden: None,
                });
                continue;
            }
            found.sort();
            if found.is_empty() {
                let error = Some(format!("{}: no scenario files (*.yaml, *.yml) in this folder", p.display()));
                jobs.push(Job { file: p.clone(), error, golden: None });
            }
            jobs.extend(found.into_iter().map(|file| Job { file, error: None, golden: None }));
        } else {
            jobs.push(Job { file: p.clone(), error: None, golden: None });
        }
    }
    if let Some(dir) = golden {
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for job in jobs.iter_mut().filter(|j| j.error.is_none()) {
            let stem = job.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(first) = seen.get(&stem) {
                job.error = Some(format!(
                    "{}: its golden file {stem}.json is already used by {}; check files with the same name in separate runs",
                    job.file.display(),
                    first.display()
                ));
                continue;
            }
            seen.insert(stem.clone(), job.file.clone());
            job.golden = Some(dir.join(format!("{stem}.json")));
        }
    }
    jobs
}

/// Collects `*.yaml` and `*.yml` files under `dir`, skipping hidden entries.
/// Symbolic links to folders are not followed (a link loop would never end);
/// links to files are.
fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            scenario_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

fn check_file(job: &Job, args: &Args, tol: Tolerance, should_stop: &dyn Fn() -> bool) -> FileReport {
    let file = job.file.display().to_string();
    let mut report =
        FileReport { file: file.clone(), scenario: None, error: job.error.clone(), assertions: Vec::new() };
    if report.error.is_some() {
        return report;
    }
    let s = match scenario::load(&job.file) {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.scenario = Some(s.name.clone());
    let seed = args.seed.unwrap_or(s.seed);
    let opts = RunOptions {
        scrape_interval: None,
        seed,
        max_events: args.max_events,
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        sink: None,
        pool_sink: None,
        timeline_sink: None,
        should_stop: Some(should_stop),
    };
    let result = match crate::run::run(&s, opts) {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(format!("{file}: the run could not be done: {e}"));
            return report;
        }
    };
    report.assertions = checks::evaluate(&s.expect, &result);
    if let Some(path) = &job.golden {
        report.assertions.extend(golden_assertions(path, &result, args.update_golden, tol));
    }
    report
}

fn golden_assertions(path: &Path, r: &crate::RunResult, update: bool, tol: Tolerance) -> Vec<Assertion> {
    let label = path.display().to_string();
    let single = |verdict, value: &str, message: String| {
        vec![Assertion {
            name: format!("golden {label}"),
            value: value.into(),
            bound: tol.to_string(),
            verdict,
            message,
            at: None,
        }]
    };
    if update {
        return match write_atomic(path, |w| write_summary(w, r)) {
            Ok(()) => single(Verdict::Pass, "updated", String::new()),
            Err(e) => single(Verdict::Invalid, "-", format!("{e:#}")),
        };
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return single(Verdict::Fail, "missing", format!("no golden file {label}; create it with --update-golden"));
        }
        Err(e) => return single(Verdict::Invalid, "-", format!("cannot read golden file {label}: {e}")),
    };
    match serde_json::from_str(&text) {
        Ok(g) => golden::compare(&g, &summary_value(r), tol, &label),
        Err(e) => single(Verdict::Invalid, "-", format!("golden file {label} is not JSON: {e}")),
    }
}
