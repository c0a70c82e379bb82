//! Summary figures held against the files of the same run: every count,
//! rate, peak and percentile of `summary.json` is recomputed from
//! `requests.csv`, `timeline.csv` and `pools.csv`, or bounded by them where
//! the files cannot give it exactly (the reason is beside each such check).
//! A derived figure that drifts from the events fails here.
//!
//! The runs go through the real CLI (`sim run FILE --requests --no-plots -q
//! --out DIR`), so the files checked are the files a user reads: every
//! committed scenario in `scenarios/`, and the fixtures in
//! `tests/fixtures/consistency/`, which add what the committed scenarios
//! lack: warm-ups (on and off a bucket boundary, with and without
//! `duration`), a closed loop, a fleet whose connections open before the
//! warm-up, refusals during and after it, statement timeouts and
//! terminations, client retries and worker queues.
//!
//! The two incident scenarios send 14.6 M requests each: their requests.csv
//! (about 1.2 GB each) would take most of a minute to write and read. They are
//! checked over their first 23 minutes instead (about 2.7 M requests each),
//! which still hold the deploy, the leaks, the full database and its refusals,
//! and the first 503s of the dual-pool design. The shortened run is made
//! through the library: the scenario is loaded, its `duration` set, and the
//! run's rows streamed through the CLI's own CSV and JSON writers into files
//! read back by the same checks. (A YAML copy with a shorter `duration` would
//! be refused for its rollback event after the new end; the library run only
//! never reaches it.) Every other committed scenario runs whole; one that sends
//! more than [`MAX_WHOLE_REQUESTS`] fails here, asking to join [`SHORTENED`].
//!
//! With a `warmup`, the summary's request figures cover the requests that
//! arrived at or after it (requests.csv holds every request: rows are filtered
//! by arrival), its peaks the levels from the warm-up instant on (the level in
//! force at that instant included), `throughput_ok_per_s` divides by
//! `duration - warmup`, and `database.refusals` counts refusals from the
//! warm-up on. The timeline keeps everything.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use poolsim::RunOptions;
use poolsim::engine::SimDuration;
use poolsim::output::csv::{PoolCsv, RequestCsv, TimelineCsv};
use poolsim::output::json::{lookup, write_summary};
use serde_json::Value;

use crate::common::{repo, sim};

/// Committed scenarios too big to check whole, and the simulated seconds of
/// each that are checked.
const SHORTENED: &[(&str, u64)] = &[("incident-dual-pool", 23 * 60), ("incident-shared-pool", 23 * 60)];

/// Most requests a committed scenario checked whole may send (its
/// requests.csv is then about 200 MB and takes a few seconds).
const MAX_WHOLE_REQUESTS: usize = 3_000_000;

/// `summary.json` writes floats with three decimals: a float figure is off
/// by at most half a unit of the third one.
const JSON_ROUNDING: f64 = 0.0005;

/// The summary's HDR histograms keep 3 significant decimal digits. A
/// reported percentile is the highest value of the bin that holds the exact
/// one (HdrHistogram's definition), and a bin is at most 10^-3 of its values
/// wide (bins of 2^b ns hold values from 1024 x 2^b ns on: 1/1024 < 10^-3);
/// clamping to the exact minimum and maximum only brings it closer. So the
/// reported value lies in [exact, exact x (1 + 10^-3)], before the JSON's
/// rounding.
const HDR_RELATIVE: f64 = 1e-3;

/// How a request ended, as `requests.csv` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    TimedOut,
    Refused,
    StatementTimeout,
    Terminated,
}

/// One row of `requests.csv`, times and durations in integer nanoseconds
/// (the file writes them exactly: 9 decimals of a second, 6 of a millisecond).
struct Request {
    arrival: u64,
    acquired: bool,
    finished: u64,
    wait: u64,
    latency: u64,
    outcome: Outcome,
}

/// One row of `pools.csv` (the columns these checks read).
struct PoolRow {
    t: u64,
    pool: String,
    used: u64,
    timeouts: u64,
}

/// One row of `timeline.csv`: its start in nanoseconds and its cells by column.
struct Bucket {
    t: u64,
    cells: BTreeMap<String, String>,
}

impl Bucket {
    /// A numeric cell (0 when empty).
    fn get(&self, column: &str) -> f64 {
        let cell = self.cells.get(column).unwrap_or_else(|| panic!("timeline.csv has no column {column}"));
        if cell.is_empty() { 0.0 } else { cell.parse().unwrap_or_else(|_| panic!("{column}: {cell}")) }
    }
}

/// The files of one run.
struct Files {
    summary: Value,
    requests: Vec<Request>,
    timeline: Vec<Bucket>,
    pools: Vec<PoolRow>,
}

/// A decimal number written with at most `digits` decimals, exactly, in
/// units of 10^-digits.
fn fixed(s: &str, digits: u32) -> u64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= digits as usize, "{s}: more than {digits} decimals");
    let int: u64 = int.parse().unwrap_or_else(|_| panic!("not a number: {s}"));
    let frac_value: u64 = if frac.is_empty() { 0 } else { frac.parse().unwrap_or_else(|_| panic!("{s}")) };
    int * 10u64.pow(digits) + frac_value * 10u64.pow(digits - frac.len() as u32)
}

/// Seconds (as `summary.json` and the CSVs' `t_s` write them, to the
/// millisecond) in nanoseconds.
fn ns(seconds: f64) -> u64 {
    (seconds * 1e9).round() as u64
}

fn read_files(dir: &Path) -> Files {
    let text = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let summary = serde_json::from_str(&text("summary.json")).expect("summary.json is JSON");

    let requests_csv = text("requests.csv");
    let mut lines = requests_csv.lines();
    assert_eq!(lines.next(), Some("id,source,arrival_s,acquired_s,finished_s,wait_ms,latency_ms,outcome"));
    let requests = lines
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            assert_eq!(c.len(), 8, "requests.csv: {line}");
            Request {
                arrival: fixed(c[2], 9),
                acquired: !c[3].is_empty(),
                finished: fixed(c[4], 9),
                wait: fixed(c[5], 6),
                latency: fixed(c[6], 6),
                outcome: match c[7] {
                    "ok" => Outcome::Ok,
                    "timed_out" => Outcome::TimedOut,
                    "refused" => Outcome::Refused,
                    "statement_timeout" => Outcome::StatementTimeout,
                    "terminated" => Outcome::Terminated,
                    other => panic!("requests.csv: unknown outcome {other}"),
                },
            }
        })
        .collect();

    let timeline_csv = text("timeline.csv");
    let mut lines = timeline_csv.lines();
    let header: Vec<String> = lines.next().expect("a header").split(',').map(String::from).collect();
    let timeline = lines
        .map(|line| {
            let cells: BTreeMap<String, String> =
                header.iter().cloned().zip(line.split(',').map(String::from)).collect();
            assert_eq!(cells.len(), header.len(), "timeline.csv: {line}");
            Bucket { t: fixed(&cells["t_s"], 9), cells }
        })
        .collect();

    let pools_csv = text("pools.csv");
    let mut lines = pools_csv.lines();
    assert_eq!(lines.next(), Some("t_s,pool,pod,worker,used,idle,waiting,timeouts"));
    let pools = lines
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            assert_eq!(c.len(), 8, "pools.csv: {line}");
            PoolRow {
                t: fixed(c[0], 9),
                pool: c[1].to_string(),
                used: c[4].parse().expect("used"),
                timeouts: c[7].parse().expect("timeouts"),
            }
        })
        .collect();
    Files { summary, requests, timeline, pools }
}

/// Runs `sim run FILE --requests --no-plots -q` and reads what it wrote.
fn run_cli(file: &Path) -> Files {
    let dir = tempfile::tempdir().unwrap();
    sim().args(["run", "--requests", "--no-plots", "-q", "--out"]).arg(dir.path()).arg(file).assert().success();
    read_files(dir.path())
}

/// Runs the first `secs` simulated seconds of a committed scenario through
/// the library, with the CLI's writers, and reads the files back.
fn run_shortened(name: &str, secs: u64) -> Files {
    let mut s = poolsim::scenario::load(&repo(&format!("scenarios/{name}.yaml"))).unwrap_or_else(|e| panic!("{e}"));
    s.duration = Some(SimDuration::from_secs(secs));
    let dir = tempfile::tempdir().unwrap();
    let create = |f: &str| BufWriter::new(std::fs::File::create(dir.path().join(f)).unwrap());
    let names = s.workloads.iter().map(|w| w.name.clone()).collect();
    let mut requests = RequestCsv::new(create("requests.csv"), names).unwrap();
    let instances = poolsim::model::pool_instances(&s);
    let mut pools = PoolCsv::new(create("pools.csv"), &instances).unwrap();
    let mut timeline = TimelineCsv::new(create("timeline.csv")).unwrap();
    let mut opts = RunOptions::seed(s.seed);
    opts.sink = Some(&mut requests);
    opts.pool_sink = Some(&mut pools);
    opts.timeline_sink = Some(&mut timeline);
    let result = poolsim::run::run(&s, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    requests.finish().unwrap();
    pools.finish().unwrap();
    timeline.finish().unwrap();
    write_summary(create("summary.json"), &result).unwrap();
    read_files(dir.path())
}

/// Collects every disagreement of one run, to report them all at once.
struct Check<'a> {
    run: &'a str,
    failures: Vec<String>,
}

impl Check<'_> {
    fn eq<T: PartialEq + Debug>(&mut self, figure: &str, summary: T, files: T) {
        if summary != files {
            self.failures.push(format!("{figure}: summary {summary:?}, files {files:?}"));
        }
    }

    /// `summary` is `files` within `tolerance` (plus the float error of the
    /// arithmetic, a few units of 10^-12 relative).
    fn near(&mut self, figure: &str, summary: f64, files: f64, tolerance: f64) {
        if (summary - files).abs() > tolerance + 1e-12 * files.abs().max(1.0) {
            self.failures.push(format!("{figure}: summary {summary}, files {files} (tolerance {tolerance})"));
        }
    }

    /// `lo <= summary <= hi` (with the float error of the arithmetic).
    fn within(&mut self, figure: &str, summary: f64, lo: f64, hi: f64) {
        let eps = 1e-12 * summary.abs().max(1.0);
        if summary < lo - eps || summary > hi + eps {
            self.failures.push(format!("{figure}: summary {summary}, files bound it to [{lo}, {hi}]"));
        }
    }

    /// The disagreements, as one report (empty when there is none).
    fn report(self) -> String {
        if self.failures.is_empty() {
            return String::new();
        }
        format!("{}: the summary disagrees with its files:\n  {}\n", self.run, self.failures.join("\n  "))
    }
}

/// The summary's figure at a dotted path, as a number (`None` for null).
fn figure(summary: &Value, path: &str) -> Option<f64> {
    let v = lookup(summary, path).unwrap_or_else(|| panic!("summary.json has no {path}"));
    if v.is_null() { None } else { Some(v.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {v}"))) }
}

/// HdrHistogram's rank of quantile `q` among `n` values (from 1).
fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).max(1)
}

/// `stats` (count, p50, p95, p99, max, mean of a summary histogram, in ms)
/// against `values` (ns), of which the summary may hold `extra` more that the
/// files do not show (requests still in flight at the end).
fn check_stats(c: &mut Check<'_>, summary: &Value, name: &str, values: &mut [u64], extra: u64) {
    values.sort_unstable();
    let n = values.len() as u64;
    let ms = |v: u64| v as f64 / 1e6;
    let get = |k: &str| figure(summary, &format!("{name}.{k}")).expect("a number");
    let count = get("count") as u64;
    if extra == 0 {
        c.eq(&format!("{name}.count"), count, n);
    } else {
        c.within(&format!("{name}.count"), count as f64, n as f64, (n + extra) as f64);
    }
    if count == 0 {
        return;
    }
    // The summary holds k values the files lack (0 <= k <= extra): its value
    // of rank r lies between the files' values of ranks r - k and r.
    let k = count.saturating_sub(n);
    let max = get("max");
    for (q, key) in [(0.50, "p50"), (0.95, "p95"), (0.99, "p99")] {
        let r = rank(q, count);
        let lo = if r > k { ms(values[(r - k - 1) as usize]) } else { 0.0 };
        let hi = if r <= n { ms(values[(r - 1) as usize]) } else { max };
        c.within(&format!("{name}.{key}"), get(key), lo - JSON_ROUNDING, hi * (1.0 + HDR_RELATIVE) + JSON_ROUNDING);
    }
    let files_max = values.last().map_or(0.0, |&v| ms(v));
    let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
    if k == 0 {
        c.near(&format!("{name}.max"), max, files_max, JSON_ROUNDING);
        c.near(&format!("{name}.mean"), get("mean"), sum as f64 / n as f64 / 1e6, JSON_ROUNDING);
    } else {
        // The values the files lack lie between 0 and the maximum.
        c.within(&format!("{name}.max"), max, files_max - JSON_ROUNDING, f64::INFINITY);
        let lo = sum as f64 / 1e6 / count as f64;
        let hi = (sum as f64 / 1e6 + k as f64 * max) / count as f64;
        c.within(&format!("{name}.mean"), get("mean"), lo - JSON_ROUNDING, hi + JSON_ROUNDING);
    }
}

/// Every check of one run's summary against its files: what disagrees (empty when nothing does).
fn check(run: &str, f: &Files) -> String {
    let mut c = Check { run, failures: Vec::new() };
    let s = &f.summary;
    let num = |path: &str| figure(s, path).unwrap_or_else(|| panic!("{path} is null"));
    // (`warmup_s` is written to the millisecond: the fixtures' warm-ups are whole milliseconds.)
    let warmup = ns(num("warmup_s"));
    let end = ns(num("duration_s"));
    let width = ns(num("bucket_s"));
    assert!(!f.timeline.is_empty(), "{run}: an empty timeline");

    // Buckets wholly in the window [warmup, end], and buckets that overlap
    // it (the one holding the warm-up instant, when it falls inside a
    // bucket, is in the second set only). A figure of the window lies
    // between the two; when the warm-up is on a bucket boundary both sets
    // are the same and the figure is exact.
    let inside = |t: u64| t >= warmup;
    let overlapping = |t: u64| t + width > warmup;
    let on_boundary = warmup.is_multiple_of(width);
    let max_of = |column: &str, keep: &dyn Fn(u64) -> bool| {
        f.timeline.iter().filter(|b| keep(b.t)).map(|b| b.get(column)).fold(0.0, f64::max)
    };
    let sum_of = |column: &str, keep: &dyn Fn(u64) -> bool| -> f64 {
        f.timeline.iter().filter(|b| keep(b.t)).map(|b| b.get(column)).sum()
    };

    // Requests: counted when they arrived at or after the warm-up.
    let counted: Vec<&Request> = f.requests.iter().filter(|r| r.arrival >= warmup).collect();
    let by = |rows: &[&Request], o: Outcome| rows.iter().filter(|r| r.outcome == o).count() as u64;
    let (ok, timed_out) = (by(&counted, Outcome::Ok), by(&counted, Outcome::TimedOut));
    let (refused, cut, terminated) =
        (by(&counted, Outcome::Refused), by(&counted, Outcome::StatementTimeout), by(&counted, Outcome::Terminated));
    let total = num("requests.total") as u64;
    let unfinished = num("requests.unfinished") as u64;
    c.eq("requests.ok", num("requests.ok") as u64, ok);
    c.eq("requests.timed_out", num("requests.timed_out") as u64, timed_out);
    c.eq("requests.refused", num("requests.refused") as u64, refused);
    c.eq("requests.statement_timeout", num("requests.statement_timeout") as u64, cut);
    c.eq("requests.terminated", num("requests.terminated") as u64, terminated);
    c.eq("requests.failed", num("requests.failed") as u64, refused + cut + terminated);
    // requests.csv has a row per answered request; the others were still in flight.
    c.eq("requests.total (answered + unfinished)", total, counted.len() as u64 + unfinished);
    c.within("requests.total", total as f64, sum_of("arrivals", &inside), sum_of("arrivals", &overlapping));
    if on_boundary {
        c.eq("requests.total (timeline arrivals)", total as f64, sum_of("arrivals", &inside));
    }
    let rate = if total == 0 { 0.0 } else { timed_out as f64 / total as f64 };
    c.near("requests.timed_out_rate", num("requests.timed_out_rate"), rate, JSON_ROUNDING);
    // A request that waited was queued; one may also queue and be served at once.
    let waited = counted.iter().filter(|r| r.wait > 0).count() as f64;
    c.within("requests.queued", num("requests.queued"), waited, total as f64);
    // The timeline keeps every response, warm-up or not, in the bucket it left in.
    let all: Vec<&Request> = f.requests.iter().collect();
    for (column, o) in [
        ("ok", Outcome::Ok),
        ("timed_out", Outcome::TimedOut),
        ("refused", Outcome::Refused),
        ("statement_timeout", Outcome::StatementTimeout),
        ("terminated", Outcome::Terminated),
    ] {
        c.eq(&format!("timeline {column} (all requests)"), sum_of(column, &|_| true) as u64, by(&all, o));
    }
    let all_failed = by(&all, Outcome::Refused) + by(&all, Outcome::StatementTimeout) + by(&all, Outcome::Terminated);
    c.eq("timeline failed (all requests)", sum_of("failed", &|_| true) as u64, all_failed);

    // The first 503 of a counted request, and the throughput of the window.
    let first_503 = counted.iter().filter(|r| r.outcome == Outcome::TimedOut).map(|r| r.finished).min();
    match (figure(s, "first_503_s"), first_503) {
        (Some(x), Some(t)) => c.near("first_503_s", x, t as f64 / 1e9, JSON_ROUNDING),
        (x, t) => c.eq("first_503_s", x, t.map(|t| t as f64 / 1e9)),
    }
    let span = end.saturating_sub(warmup) as f64 / 1e9;
    let throughput = if span > 0.0 { ok as f64 / span } else { 0.0 };
    // `duration_s` is written to the millisecond too: a run that ends between
    // two (a hold of 1003.4 ms) gives a span known to half a millisecond, so a
    // rate over it to a relative half a millisecond of the span.
    let span_slack = |x: f64| if span > 0.0 { x * JSON_ROUNDING / span } else { 0.0 };
    c.near("throughput_ok_per_s", num("throughput_ok_per_s"), throughput, JSON_ROUNDING + span_slack(throughput));

    // Latency of every counted response; acquire wait of every counted
    // request that got a connection or gave up. A request still in flight at
    // the end may have its wait recorded and no row: `unfinished` bounds those.
    let mut latency: Vec<u64> = counted.iter().map(|r| r.latency).collect();
    check_stats(&mut c, s, "latency_ms", &mut latency, 0);
    let mut wait: Vec<u64> =
        counted.iter().filter(|r| r.acquired || r.outcome == Outcome::TimedOut).map(|r| r.wait).collect();
    check_stats(&mut c, s, "acquire_wait_ms", &mut wait, unfinished);

    // Peaks from the warm-up on, against the buckets' maxima.
    for (fig, column) in [
        ("queue_depth_max", "db_pool_waiting_requests_max"),
        ("pool_used_max", "db_pool_used_size_max"),
        ("database.peak_connections", "db_connections_open"),
    ] {
        c.within(fig, num(fig), max_of(column, &inside), max_of(column, &overlapping));
    }
    if let Some(usable) = figure(s, "database.usable_connections") {
        c.within("database.peak_connections (usable)", num("database.peak_connections"), 0.0, usable);
    }
    // The mean of connections in use covers [warmup, end), like the other
    // figures: the buckets' means weighted by the part of their true widths
    // inside it (a bucket at the end of a run that ends on a boundary has
    // none). Each mean is written to 3 decimals, so their weighted mean is off
    // by at most the same half unit, and the summary's own rounding adds
    // another. A bucket the warm-up cuts in two is known only as a whole: its
    // part after the warm-up held between 0 and the bucket's maximum, at worst.
    if end > warmup {
        let span = (end - warmup) as f64 / 1e9;
        let (mut lo, mut hi) = (0.0, 0.0);
        for b in &f.timeline {
            let (from, to) = (b.t.max(warmup), end.min(b.t + width));
            let inside = to.saturating_sub(from) as f64 / 1e9;
            if b.t >= warmup {
                lo += b.get("db_pool_used_size_mean") * inside;
                hi += b.get("db_pool_used_size_mean") * inside;
            } else {
                hi += b.get("db_pool_used_size_max") * inside;
            }
        }
        // Plus the end's own rounding (see the throughput above): the last
        // bucket's width and the span are each known to half a millisecond.
        let max_used = f.timeline.iter().map(|b| b.get("db_pool_used_size_max")).fold(0.0, f64::max);
        let slack = 2.0 * JSON_ROUNDING + 2.0 * max_used * JSON_ROUNDING / span;
        c.within("pool_used_mean", num("pool_used_mean"), lo / span - slack, hi / span + slack);
        if warmup.is_multiple_of(width) {
            c.near("pool_used_mean", num("pool_used_mean"), lo / span, slack);
        }
    }

    // Acquire timeouts: a counter from t = 0 (warm-up included), the
    // timeline's last value, the sum of pools.csv's per-copy counts; every
    // 503 answered came from one.
    let exhaustion = num("db_pool_exhaustion_total") as u64;
    c.eq(
        "db_pool_exhaustion_total (timeline)",
        exhaustion,
        f.timeline.last().unwrap().get("db_pool_exhaustion_total") as u64,
    );
    c.eq("db_pool_exhaustion_total (pools.csv)", exhaustion, f.pools.iter().map(|p| p.timeouts).sum());
    c.within("db_pool_exhaustion_total (503s)", exhaustion as f64, by(&all, Outcome::TimedOut) as f64, f64::INFINITY);

    // Refusals from the warm-up on; each refused request was refused by one.
    let refusals = num("database.refusals");
    c.within("database.refusals", refusals, sum_of("db_refusals", &inside), sum_of("db_refusals", &overlapping));
    c.within("database.refusals (refused requests)", refusals, refused as f64, f64::INFINITY);

    // Pools: pools.csv gives each copy's most connections in use per bucket.
    // The peak of a pool (the sum over its copies) is at least one copy's
    // bucket maximum and at most the sum of its copies' bucket maxima (they
    // need not fall at the same instant); for a pool of one copy, with the
    // warm-up on a bucket boundary, the two bounds meet.
    let mut per_bucket: BTreeMap<(&str, u64), (u64, u64)> = BTreeMap::new();
    for p in &f.pools {
        let e = per_bucket.entry((p.pool.as_str(), p.t)).or_default();
        *e = (e.0.max(p.used), e.1 + p.used);
    }
    let pools = s["pools"].as_object().expect("a pools block");
    let (mut peak_max, mut peak_sum) = (0.0f64, 0.0);
    for (name, p) in pools {
        let peak_used = p["peak_used"].as_f64().expect("peak_used");
        let lo = per_bucket.iter().filter(|((n, t), _)| n == name && inside(*t)).map(|(_, v)| v.0).max();
        let hi = per_bucket.iter().filter(|((n, t), _)| n == name && overlapping(*t)).map(|(_, v)| v.1).max();
        c.within(&format!("pools.{name}.peak_used"), peak_used, lo.unwrap_or(0) as f64, hi.unwrap_or(0) as f64);
        // Open connections are idle or in use.
        c.within(&format!("pools.{name}.peak_open"), p["peak_open"].as_f64().unwrap(), peak_used, f64::INFINITY);
        // The database counts every open connection of every pool.
        c.within(
            &format!("database.peak_connections (pools.{name}.peak_open)"),
            num("database.peak_connections"),
            p["peak_open"].as_f64().unwrap(),
            f64::INFINITY,
        );
        // pools.csv counts requests' timeouts; the summary's jobs' too.
        let csv_timeouts: u64 = f.pools.iter().filter(|r| r.pool == *name).map(|r| r.timeouts).sum();
        c.within(
            &format!("pools.{name}.timeouts"),
            p["timeouts"].as_f64().unwrap(),
            csv_timeouts as f64,
            f64::INFINITY,
        );
        peak_max = peak_max.max(peak_used);
        peak_sum += peak_used;
    }
    // All pools in use at once hold at least the busiest pool's peak and at
    // most every pool's peak together.
    c.within("pool_used_max (pools' peaks)", num("pool_used_max"), peak_max, peak_sum);

    // Leaks: the timeline gives the level at each bucket's end.
    let leaked_peak = num("leaks.leaked_peak");
    let at_end = num("leaks.leaked_at_end");
    c.eq("leaks.leaked_at_end", at_end, f.timeline.last().unwrap().get("leaked_connections"));
    let seen = max_of("leaked_connections", &|t| t + width > warmup);
    c.within("leaks.leaked_peak", leaked_peak, seen.max(at_end), num("leaks.leaked_total"));

    // Retries are counted when scheduled, in the timeline and by the clients.
    if let Some(retries) = lookup(s, "client.retries").and_then(Value::as_f64) {
        c.eq("client.retries", retries, sum_of("retries", &|_| true));
    }
    c.report()
}

/// Fails with every disagreement of the runs checked.
fn assert_agree(reports: &[String]) {
    let failed: String = reports.concat();
    assert!(failed.is_empty(), "\n{failed}");
}

/// The fixtures of this layer.
fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("tests/fixtures/consistency"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_scenario_agrees_with_its_files() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the committed scenarios are missing");
    let mut reports = Vec::new();
    for file in files {
        let name = file.file_stem().unwrap().to_str().unwrap();
        if SHORTENED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let f = run_cli(&file);
        assert!(
            f.requests.len() <= MAX_WHOLE_REQUESTS,
            "{name} sends {} requests: check a shortened copy (add it to SHORTENED)",
            f.requests.len()
        );
        reports.push(check(name, &f));
    }
    assert_agree(&reports);
}

#[test]
fn the_dual_pool_incident_agrees_with_its_files_over_its_first_23_minutes() {
    let (name, secs) = SHORTENED[0];
    let f = run_shortened(name, secs);
    // The part checked holds what makes the incident: leaks, a full database, 503s.
    assert!(figure(&f.summary, "leaks.leaked_total").unwrap() > 0.0);
    assert!(figure(&f.summary, "database.refusals").unwrap() > 0.0);
    assert!(figure(&f.summary, "requests.timed_out").unwrap() > 0.0);
    assert_agree(&[check(&format!("{name} (first {secs} s)"), &f)]);
}

#[test]
fn the_shared_pool_fix_agrees_with_its_files_over_its_first_23_minutes() {
    let (name, secs) = SHORTENED[1];
    assert_agree(&[check(&format!("{name} (first {secs} s)"), &run_shortened(name, secs))]);
}

#[test]
fn runs_with_a_warm_up_agree_with_their_files() {
    let files = fixtures();
    assert!(files.len() >= 6, "the fixtures are missing");
    let mut reports = Vec::new();
    for file in files {
        let f = run_cli(&file);
        assert!(
            figure(&f.summary, "warmup_s").unwrap() > 0.0,
            "{}: a fixture of this layer has a warm-up",
            file.display()
        );
        reports.push(check(file.file_stem().unwrap().to_str().unwrap(), &f));
    }
    assert_agree(&reports);
}
