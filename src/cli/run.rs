//! `sim run`: simulate one scenario and write its outputs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::files::{Streamed, ensure_dir, write_atomic, write_bytes_atomic};
use crate::engine::SimDuration;
use crate::model::{DEFAULT_MAX_EVENTS, RunOptions, pool_instances};
use crate::output::alerts::write_alerts;
use crate::output::csv::{PoolCsv, RequestCsv, TimelineCsv};
use crate::output::json::write_summary;
use crate::output::openmetrics::write_openmetrics;
use crate::plot::{self, PlotTimeline, fleet::PodRows};
use crate::result::{RowSink, RunResult, Theory};
use crate::scenario::{self, Scenario, units::parse_duration};

/// Arguments of `sim run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (YAML).
    pub file: PathBuf,
    /// Output folder [default: out/NAME/, NAME being the scenario's name].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Seed for every random stream [default: the scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Timeline bucket width, e.g. 100ms or 10s [default: the scenario's `timeline.bucket`].
    #[arg(long, value_parser = parse_bucket)]
    pub bucket: Option<SimDuration>,
    /// Also write requests.csv: one row per request (streamed, can be large).
    #[arg(long)]
    pub requests: bool,
    /// Skip the figures.
    #[arg(long)]
    pub no_plots: bool,
    /// File format of the figures: PNG, SVG (text as text, for docs and slides) or both.
    #[arg(long, value_enum, default_value_t = FigureFormat::Png)]
    pub format: FigureFormat,
    /// Stop with an error after this many events (guards against runaway scenarios).
    #[arg(long, default_value_t = DEFAULT_MAX_EVENTS)]
    pub max_events: u64,
    /// Print nothing on stdout.
    #[arg(long, short)]
    pub quiet: bool,
    /// A Prometheus rule file whose alerting rules are evaluated over the run
    /// (beside the scenario's `alerts:`); writes alerts.csv. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Also write metrics.om: the scraped series in OpenMetrics text, for
    /// `promtool tsdb create-blocks-from openmetrics`.
    #[arg(long)]
    pub openmetrics: bool,
    /// Unix time (seconds) at which the run starts in metrics.om [default: 0].
    #[arg(long, value_name = "SECONDS", default_value_t = 0, requires = "openmetrics")]
    pub openmetrics_start: i64,
}

/// Which files each figure is written as (`--format` of `sim run`, `sweep`, `merge` and `compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FigureFormat {
    /// `NAME.png` only.
    Png,
    /// `NAME.svg` only.
    Svg,
    /// `NAME.png` and `NAME.svg`.
    Both,
}

impl FigureFormat {
    /// The formats to write, PNG first.
    pub fn formats(self) -> &'static [plot::Format] {
        match self {
            FigureFormat::Png => &[plot::Format::Png],
            FigureFormat::Svg => &[plot::Format::Svg],
            FigureFormat::Both => &[plot::Format::Png, plot::Format::Svg],
        }
    }
}

fn parse_bucket(s: &str) -> Result<SimDuration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("the bucket must be longer than zero".into()),
        d => Ok(d),
    }
}

/// Loads the scenario, applying a bucket override.
pub fn load(file: &Path, bucket: Option<SimDuration>) -> Result<Scenario> {
    let mut s = scenario::load(file)?;
    if let Some(b) = bucket {
        s.bucket = b;
    }
    Ok(s)
}

/// Runs `sim run`.
pub fn run(args: &Args) -> Result<u8> {
    let scenario = load(&args.file, args.bucket)?;
    let mut rules = Vec::new();
    for file in &args.rules {
        rules.extend(crate::alerts::read_rule_file(file, Some(&crate::alerts::known_metrics()))?);
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join(&scenario.name));
    ensure_dir(&out)?;

    let names = scenario.workloads.iter().map(|w| w.name.clone()).collect();
    let mut request_file = None;
    let mut request_csv = None;
    if args.requests {
        let (streamed, w) = Streamed::create(&out.join("requests.csv"))?;
        request_file = Some(streamed);
        request_csv = Some(RequestCsv::new(w, names)?);
    }
    // pools.csv is written as buckets close, so a long run of a big fleet does
    // not hold its rows; the pods figure keeps only its per-pod sums.
    let instances = pool_instances(&scenario);
    let (pools_file, w) = Streamed::create(&out.join("pools.csv"))?;
    let mut pools =
        Stream { csv: PoolCsv::new(w, &instances)?, figure: (!args.no_plots).then(|| PodRows::new(&instances)) };
    // timeline.csv too; the figures keep a copy of bounded size.
    let (timeline_file, w) = Streamed::create(&out.join("timeline.csv"))?;
    let mut timeline = Stream { csv: TimelineCsv::new(w)?, figure: (!args.no_plots).then(PlotTimeline::default) };
    let stop = super::interrupt::flag();
    let progress = super::progress::Progress::new(&scenario.name);
    let should_stop = move || progress.tick() || stop.load(std::sync::atomic::Ordering::Relaxed);
    let opts = RunOptions {
        scrape_interval: args.openmetrics.then(|| crate::run::scrape_interval(&scenario)),
        seed,
        max_events: args.max_events,
        max_in_flight: crate::model::DEFAULT_MAX_IN_FLIGHT,
        sink: request_csv.as_mut().map(|c| c as &mut dyn crate::result::RequestSink),
        pool_sink: Some(&mut pools),
        timeline_sink: Some(&mut timeline),
        should_stop: Some(&should_stop),
    };
    let mut result = crate::run::run_with_rules(&scenario, &rules, opts)
        .with_context(|| format!("simulating {}", args.file.display()))?;
    drop(should_stop); // clears the progress spinner before anything is printed
    if let (Some(csv), Some(file)) = (request_csv, request_file) {
        csv.finish().context("writing requests.csv")?;
        file.commit()?;
    }
    pools.csv.finish().context("writing pools.csv")?;
    pools_file.commit()?;
    timeline.csv.finish().context("writing timeline.csv")?;
    timeline_file.commit()?;
    // What the figures draw (the CSVs themselves are in place already).
    result.pool_rows = pools.figure.map(PodRows::finish).unwrap_or_default();
    let merged = timeline.figure.map(PlotTimeline::finish).map(|(rows, merge)| {
        result.timeline = rows;
        merge
    });
    let openmetrics = args.openmetrics.then_some(args.openmetrics_start.saturating_mul(1000));
    let written = write_outputs(&result, &out, merged.map(|m| (m, args.format)), openmetrics)?;
    for warning in &result.fleet.warnings {
        let _ = writeln!(io::stderr(), "warning: {warning}");
    }
    if let Some(a) = &result.alerts {
        for e in &a.errors {
            let _ = writeln!(io::stderr(), "warning: alert rule evaluation failed at {e}");
        }
    }
    if !args.quiet {
        print_summary(&mut io::stdout().lock(), &result, &out, &written, args.requests)?;
    }
    Ok(0)
}

/// A CSV file written as buckets close, and what a figure keeps of the same
/// rows (`None` without figures): `timeline.csv` with the figures' copy of the
/// timeline, `pools.csv` with the pods figure's per-pod rows.
struct Stream<C, F> {
    csv: C,
    figure: Option<F>,
}

impl<T, C: RowSink<T>, F: RowSink<T>> RowSink<T> for Stream<C, F> {
    fn rows(&mut self, rows: &[T]) -> io::Result<()> {
        self.csv.rows(rows)?;
        match &mut self.figure {
            Some(figure) => figure.rows(rows),
            None => Ok(()),
        }
    }
}

/// Writes summary.json and, when `plots` gives how many buckets each row of
/// `r.timeline` stands for, the six figures in the formats asked (the pods figure
/// from `r.pool_rows`: per-pod rows are enough); returns the names of the files
/// written by the run, timeline.csv and pools.csv included (streamed during the run).
fn write_outputs(
    r: &RunResult,
    out: &Path,
    plots: Option<(u32, FigureFormat)>,
    openmetrics_start_ms: Option<i64>,
) -> Result<Vec<&'static str>> {
    write_atomic(&out.join("summary.json"), |w| write_summary(w, r))?;
    let mut written = vec!["timeline.csv", "summary.json", "pools.csv"];
    if let Some(a) = &r.alerts {
        write_atomic(&out.join("alerts.csv"), |w| write_alerts(w, a))?;
        written.push("alerts.csv");
    }
    if let (Some(start), Some(scrapes)) = (openmetrics_start_ms, &r.scrapes) {
        let series = crate::result::series::series(scrapes, &r.instances);
        write_atomic(&out.join("metrics.om"), |w| write_openmetrics(w, &series, start))?;
        written.push("metrics.om");
    }
    if let Some((merge, format)) = plots {
        // A long run's figures are drawn as with buckets `merge` times wider.
        let mut view;
        let r = if merge > 1 {
            view = r.clone();
            view.meta.bucket_s *= f64::from(merge);
            &view
        } else {
            r
        };
        type Render = fn(&RunResult, plot::Format) -> Result<Vec<u8>, plot::PlotError>;
        let figures: [([&str; 2], Render); 6] = [
            (["latency.png", "latency.svg"], plot::latency),
            (["queue_depth.png", "queue_depth.svg"], plot::queue_depth),
            (["errors.png", "errors.svg"], plot::errors),
            (["dashboard.png", "dashboard.svg"], plot::dashboard),
            (["database.png", "database.svg"], plot::fleet::database),
            (["pods.png", "pods.svg"], plot::fleet::pods),
        ];
        for &f in format.formats() {
            for (names, render) in figures {
                let name = names[usize::from(f == plot::Format::Svg)];
                let bytes = render(r, f).with_context(|| format!("drawing {name}"))?;
                write_bytes_atomic(&out.join(name), &bytes)?;
                written.push(name);
            }
        }
    }
    Ok(written)
}

fn print_summary(w: &mut impl Write, r: &RunResult, out: &Path, written: &[&str], requests: bool) -> io::Result<()> {
    let s = &r.summary;
    let q = &s.requests;
    writeln!(
        w,
        "{}: seed {}, {:.1} s simulated, {} events (scenario {})",
        r.meta.name, r.meta.seed, s.duration_s, r.meta.events, r.meta.scenario_hash
    )?;
    writeln!(
        w,
        "  requests  {} total, {} ok, {} timed out (503), {} failed, {} unfinished",
        q.total, q.ok, q.timed_out, q.failed, q.unfinished
    )?;
    if q.failed > 0 {
        writeln!(
            w,
            "  failed    {} refused by the database, {} statement timeout, {} connection terminated",
            q.refused, q.statement_timeout, q.terminated
        )?;
    }
    if s.warmup_s > 0.0 {
        writeln!(w, "  warm-up   figures leave out requests that arrived in the first {:.1} s", s.warmup_s)?;
    }
    let l = &s.latency_ms;
    writeln!(w, "  latency   p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms", l.p50, l.p95, l.p99, l.max)?;
    let a = &s.acquire_wait_ms;
    writeln!(w, "  acquire   p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, mean {:.1} ms", a.p50, a.p99, a.max, a.mean)?;
    writeln!(w, "  peak      {} waiting for a connection, {} connections in use", s.queue_depth_max, s.pool_used_max)?;
    let db = &r.fleet.database;
    if let (Some(max), Some(usable)) = (db.max_connections, db.usable_connections) {
        writeln!(
            w,
            "  database  peak {} open of {} usable ({} max_connections - {} reserved), {} refused; budget {} possible{}",
            db.peak_connections,
            usable,
            max,
            db.reserved_connections,
            db.refusals,
            db.possible_connections,
            if db.overcommitted { " (over-committed)" } else { "" }
        )?;
    }
    for p in r.fleet.pools.iter().filter(|_| r.fleet.pools.len() > 1 || r.instances.len() > 1) {
        writeln!(
            w,
            "  pool      {} ({} x {} per {}): peak {} in use, {} open, {} timeouts",
            p.name, p.instances, p.max_size, p.scope, p.peak_used, p.peak_open, p.timeouts
        )?;
    }
    for j in &r.fleet.jobs {
        writeln!(
            w,
            "  job       {}: {} runs, {} failed, {} connections not obtained, {} leaked",
            j.name, j.runs, j.failed_runs, j.acquire_failures, j.leaked_connections
        )?;
    }
    if let Some(c) = &r.fleet.client {
        writeln!(
            w,
            "  clients   {} calls, {} retries (x{:.2} load), {} succeeded, {} gave up, {} client timeouts",
            c.calls, c.retries, c.amplification, c.succeeded, c.gave_up, c.client_timeouts
        )?;
    }
    let leaks = &r.fleet.leaks;
    if leaks.leaked_total > 0 || leaks.leak_warnings > 0 {
        writeln!(
            w,
            "  leaks     {} leaked ({} still checked out at the end, peak {}), {} leak-detection warnings",
            leaks.leaked_total, leaks.leaked_at_end, leaks.leaked_peak, leaks.leak_warnings
        )?;
    }
    match &r.theory {
        Some(Theory::Predicted(t)) => {
            let per_copy = if t.copies > 1 {
                format!(
                    " per copy ({} copies of {} connections, {:.4}/s each)",
                    t.copies, t.connections_per_copy, t.arrival_rate_per_copy_per_s
                )
            } else {
                String::new()
            };
            writeln!(
                w,
                "  theory    {} steady state{per_copy}: 503 rate {:.3}% (simulated {:.3}%), mean wait {:.1} ms (simulated {:.1} ms)",
                t.model,
                t.timed_out_rate * 100.0,
                q.timed_out_rate * 100.0,
                t.acquire_wait_ms_mean,
                a.mean
            )?;
        }
        Some(Theory::NotApplicable(why)) => {
            let more = match why.len() {
                0 | 1 => String::new(),
                n => format!(" (+{} more in summary.json's theory.why)", n - 1),
            };
            writeln!(w, "  theory    no M/M/c+D prediction: {}{more}", why.first().map_or("", String::as_str))?;
        }
        None => {}
    }
    match s.first_503_s {
        Some(t) => writeln!(w, "  first 503 at {t:.3} s")?,
        None => writeln!(w, "  no 503s")?,
    }
    for f in r.alerts.iter().flat_map(|a| &a.rules) {
        let lead = |l: f64| {
            if l >= 0.0 { format!("{l:.1} s before the first 503") } else { format!("{:.1} s after the first 503", -l) }
        };
        let fired = match (f.first_firing_s, f.lead_time_s) {
            (Some(t), Some(l)) => format!("fired at {t:.1} s, {}", lead(l)),
            (Some(t), None) => format!("fired at {t:.1} s"),
            (None, _) => match f.first_pending_s {
                Some(p) => format!("never fired (pending from {p:.1} s)"),
                None => "never fired".to_string(),
            },
        };
        writeln!(
            w,
            "  alert     {}: {fired}; {} episode(s), {} fired, {:.1} s firing",
            f.alert, f.episodes, f.fired, f.firing_s
        )?;
    }
    let mut files: Vec<&str> = written.to_vec();
    if requests {
        files.push("requests.csv");
    }
    writeln!(w, "  wrote     {}/{{{}}}", out.display(), files.join(", "))
}
