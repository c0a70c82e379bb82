//! From the positioned YAML tree to a typed [`Scenario`], checking every key.
//!
//! Each `p_*` function checks one kind of value and records an [`Issue`] (with
//! the node's position and the key's dotted path) instead of stopping, so a user
//! sees every problem of a file in one run. Defaults live here and nowhere else;
//! `docs/scenarios.md` documents the same keys and defaults.

use std::path::Path;
use std::sync::Arc;

use super::units::{MAX_DURATION, parse_duration, parse_rate};
use super::yaml::{self, Key, Node, Pos, Value, push_segment};
use super::{
    Change, ClassId, ClassSpec, ClientSpec, DatabaseSpec, FleetSpec, Issue, Jitter, JobId, JobScope, JobSpec, OnError,
    OnRefused, PoolId, PoolSpec, Priority, RetryOn, Routing, Scenario, ScenarioError, Scope, TimedChange, WorkloadId,
    WorkloadKind, WorkloadSpec,
};
use crate::engine::{SimDuration, SimTime};
use crate::workload::{ArrivalProcess, Dist, RateProfile, RateStage, UserSchedule, UserStage};

/// Default acquire timeout: HikariCP's `connectionTimeout` default of 30 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: SimDuration = SimDuration::from_secs(30);
/// Default timeline bucket width.
pub const DEFAULT_BUCKET: SimDuration = SimDuration::from_secs(1);
/// Most timeline buckets a run may produce.
pub const MAX_BUCKETS: u64 = 10_000_000;
/// Most requests a scenario may ask for (an estimate made before running).
pub const MAX_EXPECTED_REQUESTS: f64 = 5e9;
/// Most connections one pool may have.
pub const MAX_POOL_SIZE: u64 = 1_000_000;
/// Most requests one burst may send at the same instant (each is held in memory).
pub const MAX_BURST: u64 = 1_000_000;
/// Most virtual users one workload may have.
pub const MAX_USERS: u64 = 1_000_000;
/// Most pods a fleet may have.
pub const MAX_PODS: u64 = 10_000;
/// Most worker processes per pod.
pub const MAX_WORKERS: u64 = 1_024;
/// Most copies of pools (pods x workers x pools) a run may hold.
pub const MAX_POOL_INSTANCES: u64 = 100_000;
/// Default `superuser_reserved_connections` of PostgreSQL.
pub const DEFAULT_RESERVED_CONNECTIONS: u64 = 3;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "duration",
    "warmup",
    "timeline",
    "database",
    "fleet",
    "pool",
    "pools",
    "request",
    "classes",
    "workload",
    "jobs",
    "client",
    "events",
    "expect",
    "sweep",
];
const POOL_KEYS: &[&str] = &[
    "name",
    "scope",
    "max_size",
    "min_idle",
    "max_overflow",
    "acquire_timeout",
    "idle_timeout",
    "max_lifetime",
    "leak_detection_threshold",
    "on_refused",
];
const CLASS_KEYS: &[&str] = &["name", "share", "pool", "hold", "overhead", "priority", "statement_timeout"];
const JOB_KEYS: &[&str] = &[
    "name",
    "scope",
    "pool",
    "start",
    "stop",
    "every",
    "offset",
    "connections",
    "hold",
    "error_rate",
    "on_error",
    "priority",
];
const EVENT_KEYS: &[&str] = &["at", "set", "start_job", "stop_job", "close_pool", "kill_connections"];
const WORKLOAD_KINDS: &[&str] = &["burst", "sequential", "open", "users"];
const SET_KEYS: &str = "request.hold, request.overhead, pool.max_size, pool.acquire_timeout, \
     pools.<name>.max_size, pools.<name>.acquire_timeout, classes.<name>.hold, classes.<name>.overhead, \
     classes.<name>.pool, workload.<name>.rate, fleet.pods";

/// Parses, applies overrides to, and validates scenario text. `file` names the
/// source in messages; `base_dir` resolves relative paths (empirical CSV files).
pub fn from_str(
    src: &str,
    file: &str,
    base_dir: Option<&Path>,
    overrides: &[(String, String)],
) -> Result<Scenario, ScenarioError> {
    let invalid = |issues: Vec<Issue>| ScenarioError::Invalid { file: file.to_string(), issues };
    let mut root =
        yaml::parse(src).map_err(|e| invalid(vec![Issue { pos: e.pos, path: e.path, message: e.message }]))?;
    let mut ctx = Ctx { issues: Vec::new(), base_dir };
    for (key, value) in overrides {
        apply_override(&mut ctx, &mut root, key, value);
    }
    if !ctx.issues.is_empty() {
        return Err(invalid(ctx.issues));
    }
    let scenario = scenario(&mut ctx, &root);
    match scenario {
        Some(s) if ctx.issues.is_empty() => Ok(s),
        _ => {
            let mut issues = ctx.issues;
            issues.sort();
            issues.dedup();
            Err(invalid(issues))
        }
    }
}

/// Replaces the node at dotted `key` with `value` parsed as YAML (so `10`, `250ms`
/// and `{dist: exponential, mean: 1s}` all work). The new node keeps the old
/// node's position, so later messages point at the line being overridden.
fn apply_override(ctx: &mut Ctx, root: &mut Node, key: &str, value: &str) {
    let segments: Vec<&str> = key.split('.').collect();
    let Some(target) = root.get_path_mut(&segments) else {
        ctx.err(
            Pos { line: 1, col: 1 },
            key,
            format!("no key `{key}` in the scenario to set; set only keys the file writes"),
        );
        return;
    };
    match yaml::parse(value) {
        Ok(mut node) => {
            relocate(&mut node, target.pos);
            *target = node;
        }
        Err(e) => ctx.err(target.pos, key, format!("value `{value}` given on the command line: {}", e.message)),
    }
}

fn relocate(node: &mut Node, pos: Pos) {
    node.pos = pos;
    match &mut node.value {
        Value::Scalar { .. } => {}
        Value::Seq(items) => items.iter_mut().for_each(|n| relocate(n, pos)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, n)| {
            k.pos = pos;
            relocate(n, pos)
        }),
    }
}

pub(super) struct Ctx<'a> {
    issues: Vec<Issue>,
    base_dir: Option<&'a Path>,
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.issues.push(Issue { pos, path: path.to_string(), message: message.into() });
    }
}

pub(super) fn join(path: &str, seg: &str) -> String {
    let mut p = path.to_string();
    push_segment(&mut p, seg);
    p
}

/// The keys of one mapping, checked against the allowed set.
pub(super) struct Fields<'n> {
    pos: Pos,
    path: String,
    entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<(&'n Node, String)> {
        self.entries.iter().find(|(k, _)| k.text == key).map(|(_, n)| (n, join(&self.path, key)))
    }
    pub(super) fn req(&self, ctx: &mut Ctx, key: &str, example: &str) -> Option<(&'n Node, String)> {
        let found = self.get(key);
        if found.is_none() {
            ctx.err(self.pos, &self.path, format!("missing key `{key}` (e.g. `{example}`)"));
        }
        found
    }
}

pub(super) fn fields<'n>(ctx: &mut Ctx, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
    let Value::Map(entries) = &node.value else {
        let what = if path.is_empty() { "the scenario".to_string() } else { format!("`{path}`") };
        ctx.err(
            node.pos,
            path,
            format!("expected {what} to be a mapping of {}, found {}", list(allowed), node.describe()),
        );
        return None;
    };
    for (k, _) in entries {
        if !allowed.contains(&k.text.as_str()) {
            let hint = suggest(&k.text, allowed).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(
                k.pos,
                &join(path, &k.text),
                format!("unknown key `{}`{hint}; expected one of {}", k.text, list(allowed)),
            );
        }
    }
    Some(Fields { pos: node.pos, path: path.to_string(), entries })
}

pub(super) fn list(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// The allowed key closest to a misspelt one (edit distance at most 2).
fn suggest<'k>(word: &str, allowed: &[&'k str]) -> Option<&'k str> {
    allowed.iter().map(|a| (edit_distance(word, a), *a)).filter(|(d, _)| *d <= 2).min().map(|(_, a)| a)
}

/// Levenshtein distance between two words, for "did you mean" hints (also
/// used by `sim check` and `sim sweep` for figure and key paths).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(super) fn scalar<'n>(ctx: &mut Ctx, node: &'n Node, path: &str, expected: &str) -> Option<(&'n str, bool)> {
    match &node.value {
        Value::Scalar { text, quoted } => Some((text.as_str(), *quoted)),
        _ => {
            ctx.err(node.pos, path, format!("expected {expected}, found {}", node.describe()));
            None
        }
    }
}

pub(super) fn p_uint(ctx: &mut Ctx, node: &Node, path: &str, min: u64, max: u64, what: &str) -> Option<u64> {
    let expected = format!("a whole number ({what})");
    let (text, _) = scalar(ctx, node, path, &expected)?;
    let clean: String = text.trim().chars().filter(|&c| c != '_').collect();
    match clean.parse::<u64>() {
        Ok(v) if v < min => {
            ctx.err(node.pos, path, format!("must be at least {min} ({what}), found {v}"));
            None
        }
        Ok(v) if v > max => {
            ctx.err(node.pos, path, format!("must be at most {max} ({what}), found {v}"));
            None
        }
        Ok(v) => Some(v),
        Err(_) => {
            let detail = if clean.starts_with('-') && clean[1..].parse::<u64>().is_ok() {
                " (negative)".to_string()
            } else if clean.len() > 1 && clean.chars().all(|c| c.is_ascii_digit()) {
                " (too large)".to_string()
            } else if clean.parse::<f64>().is_ok() {
                " (not a whole number)".to_string()
            } else {
                String::new()
            };
            ctx.err(node.pos, path, format!("expected {expected}, found {}{detail}", node.describe()));
            None
        }
    }
}

pub(super) fn p_string(ctx: &mut Ctx, node: &Node, path: &str) -> Option<String> {
    scalar(ctx, node, path, "text").map(|(t, _)| t.to_string())
}

pub(super) fn p_duration(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SimDuration> {
    let (text, _) = scalar(ctx, node, path, "a duration with a unit, e.g. `250ms`, `1.5s`, `2m`")?;
    match parse_duration(text) {
        Ok(d) => Some(d),
        Err(m) => {
            ctx.err(node.pos, path, m);
            None
        }
    }
}

pub(super) fn p_positive_duration(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SimDuration> {
    let d = p_duration(ctx, node, path)?;
    if d.is_zero() {
        ctx.err(node.pos, path, "must be longer than zero");
        return None;
    }
    Some(d)
}

pub(super) fn p_rate(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let (text, _) = scalar(ctx, node, path, "a rate such as `9/s` or `540/m`")?;
    match parse_rate(text) {
        Ok(r) => Some(r),
        Err(m) => {
            ctx.err(node.pos, path, m);
            None
        }
    }
}

/// Top level.
fn scenario(ctx: &mut Ctx, root: &Node) -> Option<Scenario> {
    let f = fields(ctx, root, "", TOP_KEYS)?;
    let name = f.req(ctx, "name", "name: lab04").and_then(|(n, p)| {
        let s = p_string(ctx, n, &p)?;
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || s.starts_with('.') {
            ctx.err(
                n.pos,
                &p,
                format!(
                    "expected a name of letters, digits, `-`, `_` or `.` (it names the output folder), found `{s}`"
                ),
            );
            return None;
        }
        Some(s)
    });
    let description = f.get("description").and_then(|(n, p)| p_string(ctx, n, &p)).unwrap_or_default();
    let seed = match f.get("seed") {
        Some((n, p)) => p_uint(ctx, n, &p, 0, u64::MAX, "the random seed"),
        None => Some(1),
    };
    let duration = match f.get("duration") {
        Some((n, p)) => p_positive_duration(ctx, n, &p).map(Some),
        None => Some(None),
    };
    let bucket = match f.get("timeline") {
        Some((n, p)) => fields(ctx, n, &p, &["bucket"]).and_then(|tf| match tf.get("bucket") {
            Some((bn, bp)) => p_positive_duration(ctx, bn, &bp),
            None => Some(DEFAULT_BUCKET),
        }),
        None => Some(DEFAULT_BUCKET),
    };
    let warmup = match f.get("warmup") {
        Some((n, p)) => p_duration(ctx, n, &p).and_then(|w| match duration.flatten() {
            Some(d) if w >= d => {
                ctx.err(n.pos, &p, format!("{w} is not before the end of the run (duration {d})"));
                None
            }
            _ => Some(w),
        }),
        None => Some(SimDuration::ZERO),
    };
    let database = match f.get("database") {
        Some((n, p)) => database(ctx, n, &p),
        None => Some(DatabaseSpec {
            max_connections: None,
            reserved_connections: 0,
            connect_time: Dist::Constant(SimDuration::ZERO),
            cores: None,
        }),
    };
    let fleet = match f.get("fleet") {
        Some((n, p)) => fleet(ctx, n, &p),
        None => Some(FleetSpec {
            pods: 1,
            max_pods: 1,
            workers_per_pod: 1,
            routing: Routing::RoundRobin,
            worker_concurrency: None,
        }),
    };
    let pools = match (f.get("pool"), f.get("pools")) {
        (Some((n, p)), None) => pool(ctx, n, &p, Some("pool")).map(|p| vec![p]),
        (None, Some((n, p))) => pools(ctx, n, &p),
        (Some(_), Some((n, p))) => {
            ctx.err(n.pos, &p, "give either `pool` (one pool) or `pools` (a list of named pools), not both");
            None
        }
        (None, None) => {
            ctx.err(
                f.pos,
                "",
                "missing key `pool` (e.g. `pool: {max_size: 10, acquire_timeout: 30s}`) or `pools` (a list of named pools)",
            );
            None
        }
    };
    let pool_names: Option<Vec<String>> = pools.as_ref().map(|ps| ps.iter().map(|p| p.name.clone()).collect());
    let classes = match (f.get("request"), f.get("classes")) {
        (Some((n, p)), None) => class(ctx, n, &p, pool_names.as_deref(), Some("request")).map(|c| vec![c]),
        (None, Some((n, p))) => classes(ctx, n, &p, pool_names.as_deref()),
        (Some(_), Some((n, p))) => {
            ctx.err(n.pos, &p, "give either `request` (one kind of request) or `classes` (a list), not both");
            None
        }
        (None, None) => {
            ctx.err(
                f.pos,
                "",
                "missing key `request` (e.g. `request: {hold: 50ms}`) or `classes` (a list of request classes)",
            );
            None
        }
    };
    let class_names: Option<Vec<String>> = classes.as_ref().map(|cs| cs.iter().map(|c| c.name.clone()).collect());
    let workloads = f
        .req(ctx, "workload", "workload: [{open: {rate: 9/s, until: 60s}}]")
        .and_then(|(n, p)| workloads(ctx, n, &p, duration.flatten(), class_names.as_deref()));
    let jobs = match f.get("jobs") {
        Some((n, p)) => jobs(ctx, n, &p, pool_names.as_deref()),
        None => Some(Vec::new()),
    };
    let client = match f.get("client") {
        Some((n, p)) => client(ctx, n, &p).map(Some),
        None => Some(None),
    };
    let names = Names {
        pools: pool_names,
        classes: class_names,
        workloads: workloads
            .as_ref()
            .map(|ws| ws.iter().map(|w| (w.name.clone(), matches!(w.kind, WorkloadKind::Open { .. }))).collect()),
        jobs: jobs.as_ref().map(|js| js.iter().map(|j| j.name.clone()).collect()),
    };
    let changes = match f.get("events") {
        Some((n, p)) => events(ctx, n, &p, &names, duration.flatten()),
        None => Some(Vec::new()),
    };
    let expect = match f.get("expect") {
        Some((n, p)) => super::expect::parse(ctx, n, &p),
        None => Some(Vec::new()),
    };
    let sweep = match f.get("sweep") {
        Some((n, p)) => super::sweep::parse(ctx, n, &p).map(Some),
        None => Some(None),
    };
    let (Some(name), Some(seed), Some(duration), Some(bucket), Some(warmup), Some(database), Some(mut fleet)) =
        (name, seed, duration, bucket, warmup, database, fleet)
    else {
        return None;
    };
    let (
        Some(pools),
        Some(classes),
        Some(workloads),
        Some(jobs),
        Some(changes),
        Some(expect),
        Some(sweep),
        Some(client),
    ) = (pools, classes, workloads, jobs, changes, expect, sweep, client)
    else {
        return None;
    };
    fleet.max_pods = changes
        .iter()
        .flat_map(|c| &c.actions)
        .filter_map(|a| if let Change::Pods(n) = a { Some(*n) } else { None })
        .fold(fleet.pods, u32::max);
    let s = Scenario {
        name,
        description,
        seed,
        duration,
        bucket,
        warmup,
        database,
        fleet,
        pools,
        classes,
        workloads,
        jobs,
        client,
        changes,
        expect,
        sweep,
    };
    check_size(ctx, &s, &f);
    Some(s)
}

/// Refuses scenarios whose work would take absurdly long, before any run.
fn check_size(ctx: &mut Ctx, s: &Scenario, f: &Fields) {
    let end = s.duration.map(|d| d.as_secs_f64());
    let mut expected = 0.0;
    let mut workload_end = 0.0f64;
    for w in &s.workloads {
        match &w.kind {
            WorkloadKind::Burst { at, count } => {
                expected += *count as f64;
                workload_end = workload_end.max(at.as_secs_f64());
            }
            WorkloadKind::Open { from, until, profile, .. } => {
                let stop = until.map(|u| u.as_secs_f64()).or(end).unwrap_or(0.0);
                let stop = end.map_or(stop, |e| stop.min(e));
                expected += profile.cumulative((stop - from.as_secs_f64()).max(0.0));
                workload_end = workload_end.max(stop);
            }
            WorkloadKind::Closed { at, schedule, .. } => {
                workload_end = workload_end.max(at.as_secs_f64() + schedule.end_s());
            }
        }
    }
    if expected > MAX_EXPECTED_REQUESTS {
        let (n, p) = f.get("workload").map(|(n, p)| (n.pos, p)).unwrap_or((f.pos, "workload".into()));
        ctx.err(
            n,
            &p,
            format!(
                "the workloads would send about {expected:.3e} requests, more than the {MAX_EXPECTED_REQUESTS:e} a run may simulate; shorten the run or lower the rates"
            ),
        );
    }
    let span = end.unwrap_or(workload_end);
    let buckets = span / s.bucket.as_secs_f64();
    if buckets > MAX_BUCKETS as f64 {
        let (n, p) = f.get("timeline").map(|(n, p)| (n.pos, p)).unwrap_or((f.pos, "timeline".into()));
        ctx.err(
            n,
            &join(&p, "bucket"),
            format!(
                "{buckets:.0} timeline buckets of {} is more than the {MAX_BUCKETS} allowed; use a wider bucket",
                s.bucket
            ),
        );
    }
}

/// An acquire timeout: a duration, or `never` to wait forever.
pub(super) fn p_timeout(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SimDuration> {
    if node.as_scalar() == Some("never") {
        return Some(SimDuration::MAX);
    }
    p_duration(ctx, node, path)
}

fn database(ctx: &mut Ctx, node: &Node, path: &str) -> Option<DatabaseSpec> {
    let f = fields(ctx, node, path, &["max_connections", "reserved_connections", "connect_time", "cores"])?;
    let max = f
        .req(ctx, "max_connections", "max_connections: 500")
        .and_then(|(n, p)| p_uint(ctx, n, &p, 1, 10_000_000, "PostgreSQL max_connections"));
    let reserved = match f.get("reserved_connections") {
        Some((n, p)) => p_uint(ctx, n, &p, 0, 10_000_000, "superuser_reserved_connections").map(|r| (r, Some((n, p)))),
        None => Some((DEFAULT_RESERVED_CONNECTIONS, None)),
    };
    let connect_time = opt_dist(ctx, &f, "connect_time");
    let cores = match f.get("cores") {
        Some((n, p)) => p_uint(ctx, n, &p, 1, 100_000, "CPU cores of the database").map(|c| Some(c as u32)),
        None => Some(None),
    };
    let (max, (reserved, at)) = (max?, reserved?);
    if reserved >= max {
        let (pos, p) = at.map_or((f.pos, join(path, "reserved_connections")), |(n, p)| (n.pos, p));
        ctx.err(
            pos,
            &p,
            format!(
                "{reserved} reserved connections leave none of the {max} max_connections for applications; \
                 reserved_connections must be below max_connections"
            ),
        );
        return None;
    }
    Some(DatabaseSpec {
        max_connections: Some(max as u32),
        reserved_connections: reserved as u32,
        connect_time: connect_time?,
        cores: cores?,
    })
}

fn fleet(ctx: &mut Ctx, node: &Node, path: &str) -> Option<FleetSpec> {
    let f = fields(ctx, node, path, &["pods", "workers_per_pod", "routing", "worker_concurrency"])?;
    let pods = match f.get("pods") {
        Some((n, p)) => p_uint(ctx, n, &p, 1, MAX_PODS, "pods"),
        None => Some(1),
    };
    let workers = match f.get("workers_per_pod") {
        Some((n, p)) => p_uint(ctx, n, &p, 1, MAX_WORKERS, "worker processes per pod"),
        None => Some(1),
    };
    let routing = match f.get("routing") {
        Some((n, p)) => choice(
            ctx,
            n,
            &p,
            &[
                ("round_robin", Routing::RoundRobin),
                ("random", Routing::Random),
                ("least_outstanding", Routing::LeastOutstanding),
            ],
        ),
        None => Some(Routing::RoundRobin),
    };
    let concurrency = match f.get("worker_concurrency") {
        Some((n, _)) if n.as_scalar() == Some("unlimited") => Some(None),
        Some((n, p)) => {
            p_uint(ctx, n, &p, 1, 1_000_000, "requests a worker serves at once, or `unlimited`").map(|c| Some(c as u32))
        }
        None => Some(None),
    };
    let (pods, workers) = (pods? as u32, workers? as u32);
    Some(FleetSpec {
        pods,
        max_pods: pods,
        workers_per_pod: workers,
        routing: routing?,
        worker_concurrency: concurrency?,
    })
}

/// One of a fixed set of words.
fn choice<T: Copy>(ctx: &mut Ctx, node: &Node, path: &str, options: &[(&str, T)]) -> Option<T> {
    let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
    let (text, _) = scalar(ctx, node, path, &format!("one of {}", list(&words)))?;
    match options.iter().find(|(w, _)| *w == text) {
        Some((_, v)) => Some(*v),
        None => {
            let hint = suggest(text, &words).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(node.pos, path, format!("expected one of {}, found `{text}`{hint}", list(&words)));
            None
        }
    }
}

const PRIORITIES: &[(&str, Priority)] =
    &[("high", Priority::High), ("normal", Priority::Normal), ("low", Priority::Low)];

/// A duration, or `never` for none.
fn opt_never(ctx: &mut Ctx, f: &Fields, key: &str) -> Option<Option<SimDuration>> {
    match f.get(key) {
        Some((n, _)) if n.as_scalar() == Some("never") => Some(None),
        Some((n, p)) => p_positive_duration(ctx, n, &p).map(Some),
        None => Some(None),
    }
}

/// A name used to refer to an entry from elsewhere (events, classes, jobs).
fn p_name(ctx: &mut Ctx, node: &Node, path: &str, what: &str) -> Option<String> {
    let s = p_string(ctx, node, path)?;
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
        ctx.err(node.pos, path, format!("a {what} name is letters, digits, `-` or `_`, found `{s}`"));
        return None;
    }
    Some(s)
}

/// A pool; `fixed_name` is set for the single-pool format's `pool:` block.
fn pool(ctx: &mut Ctx, node: &Node, path: &str, fixed_name: Option<&str>) -> Option<PoolSpec> {
    let allowed: Vec<&str> = POOL_KEYS.iter().copied().filter(|k| fixed_name.is_none() || *k != "name").collect();
    let f = fields(ctx, node, path, &allowed)?;
    let name = match fixed_name {
        Some(n) => Some(n.to_string()),
        None => f.req(ctx, "name", "name: app").and_then(|(n, p)| p_name(ctx, n, &p, "pool")),
    };
    let scope = match f.get("scope") {
        Some((n, p)) => {
            choice(ctx, n, &p, &[("worker", Scope::Worker), ("pod", Scope::Pod), ("shared", Scope::Shared)])
        }
        None => Some(Scope::Worker),
    };
    let max_size = f
        .req(ctx, "max_size", "max_size: 10")
        .and_then(|(n, p)| p_uint(ctx, n, &p, 1, MAX_POOL_SIZE, "connections in the pool"));
    let min_idle = match f.get("min_idle") {
        Some((n, p)) => p_uint(ctx, n, &p, 0, MAX_POOL_SIZE, "connections kept open").map(|v| (v, Some((n, p)))),
        None => Some((0, None)),
    };
    let max_overflow = match f.get("max_overflow") {
        Some((n, p)) => p_uint(ctx, n, &p, 0, MAX_POOL_SIZE, "extra connections above max_size"),
        None => Some(0),
    };
    let acquire_timeout = match f.get("acquire_timeout") {
        Some((n, p)) => p_timeout(ctx, n, &p),
        None => Some(DEFAULT_ACQUIRE_TIMEOUT),
    };
    let idle_timeout = opt_never(ctx, &f, "idle_timeout");
    let max_lifetime = opt_never(ctx, &f, "max_lifetime");
    let leak = opt_never(ctx, &f, "leak_detection_threshold");
    let on_refused = match f.get("on_refused") {
        Some((n, p)) => choice(ctx, n, &p, &[("fail", OnRefused::Fail), ("wait", OnRefused::Wait)]),
        None => Some(OnRefused::Fail),
    };
    let (max_size, (min_idle, min_at)) = (max_size?, min_idle?);
    if let Some((n, p)) = min_at
        && min_idle > max_size
    {
        ctx.err(n.pos, &p, format!("min_idle ({min_idle}) cannot exceed max_size ({max_size})"));
        return None;
    }
    Some(PoolSpec {
        name: name?,
        scope: scope?,
        max_size: max_size as u32,
        min_idle: min_idle as u32,
        max_overflow: max_overflow? as u32,
        acquire_timeout: acquire_timeout?,
        idle_timeout: idle_timeout?,
        max_lifetime: max_lifetime?,
        leak_detection_threshold: leak?,
        on_refused: on_refused?,
    })
}

/// A non-empty list of named entries, each parsed by `item`, with unique names.
fn named_list<T>(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    what: &str,
    example: &str,
    mut item: impl FnMut(&mut Ctx, &Node, &str) -> Option<T>,
    name: impl Fn(&T) -> &str,
) -> Option<Vec<T>> {
    let Value::Seq(items) = &node.value else {
        ctx.err(node.pos, path, format!("expected a list of {what}s such as `- {example}`, found {}", node.describe()));
        return None;
    };
    if items.is_empty() {
        ctx.err(node.pos, path, format!("the list of {what}s is empty; add at least one such as `- {example}`"));
        return None;
    }
    if items.len() > u16::MAX as usize {
        ctx.err(node.pos, path, format!("too many {what}s ({}); at most {}", items.len(), u16::MAX));
        return None;
    }
    let mut out: Vec<T> = Vec::new();
    let mut ok = true;
    for (i, it) in items.iter().enumerate() {
        let p = join(path, &i.to_string());
        match item(ctx, it, &p) {
            Some(v) => {
                if let Some(prev) = out.iter().position(|o| name(o) == name(&v)) {
                    ctx.err(it.pos, &p, format!("{what} name `{}` is already used by {what} {prev}", name(&v)));
                    ok = false;
                }
                out.push(v);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn pools(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Vec<PoolSpec>> {
    named_list(ctx, node, path, "pool", "{name: app, max_size: 10}", |ctx, n, p| pool(ctx, n, p, None), |p| &p.name)
}

/// Resolves a reference to a named entry. `names` is `None` when the list
/// itself is invalid: the reference is then not checked (no false message).
fn resolve(ctx: &mut Ctx, node: &Node, path: &str, what: &str, names: Option<&[String]>) -> Option<u16> {
    let name = p_string(ctx, node, path)?;
    let names = names?;
    match names.iter().position(|n| *n == name) {
        Some(i) => Some(i as u16),
        None => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = suggest(&name, &refs).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(node.pos, path, format!("no {what} named `{name}`{hint}; {what}s are {}", list(&refs)));
            None
        }
    }
}

/// The `pool:` key of a class or job; may be left out when there is one pool.
fn pool_ref(ctx: &mut Ctx, f: &Fields, pools: Option<&[String]>) -> Option<PoolId> {
    match f.get("pool") {
        Some((n, p)) => resolve(ctx, n, &p, "pool", pools).map(PoolId),
        None => match pools {
            Some([_]) => Some(PoolId(0)),
            Some(_) => {
                ctx.err(f.pos, &f.path, "missing key `pool` (there are several pools; name the one to use)");
                None
            }
            None => None,
        },
    }
}

/// A request class; `fixed_name` is set for the single-class format's `request:` block.
fn class(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    pools: Option<&[String]>,
    fixed_name: Option<&str>,
) -> Option<ClassSpec> {
    let allowed: Vec<&str> =
        CLASS_KEYS.iter().copied().filter(|k| fixed_name.is_none() || !matches!(*k, "name" | "share")).collect();
    let f = fields(ctx, node, path, &allowed)?;
    let name = match fixed_name {
        Some(n) => Some(n.to_string()),
        None => f.req(ctx, "name", "name: payment").and_then(|(n, p)| p_name(ctx, n, &p, "class")),
    };
    let share = match f.get("share") {
        Some((n, p)) => p_share(ctx, n, &p),
        None => Some(1.0),
    };
    let pool = pool_ref(ctx, &f, pools);
    let hold = f.req(ctx, "hold", "hold: {dist: constant, value: 1s}").and_then(|(n, p)| dist(ctx, n, &p));
    let overhead = opt_dist(ctx, &f, "overhead");
    let priority = match f.get("priority") {
        Some((n, p)) => choice(ctx, n, &p, PRIORITIES),
        None => Some(Priority::Normal),
    };
    let statement_timeout = opt_never(ctx, &f, "statement_timeout");
    Some(ClassSpec {
        name: name?,
        share: share?,
        pool: pool?,
        hold: hold?,
        overhead: overhead?,
        priority: priority?,
        statement_timeout: statement_timeout?,
    })
}

/// A share of traffic: a positive number, or a percentage such as `95%`.
fn p_share(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let (text, _) = scalar(ctx, node, path, "a share such as `95%` or `19`")?;
    let t = text.trim();
    let v = t.strip_suffix('%').unwrap_or(t).trim().parse::<f64>().ok();
    match v {
        Some(v) if v.is_finite() && v > 0.0 && v <= 1e9 => Some(v),
        _ => {
            ctx.err(node.pos, path, format!("expected a positive share such as `95%` or `19`, found `{t}`"));
            None
        }
    }
}

fn classes(ctx: &mut Ctx, node: &Node, path: &str, pools: Option<&[String]>) -> Option<Vec<ClassSpec>> {
    named_list(
        ctx,
        node,
        path,
        "class",
        "{name: payment, share: 95%, hold: 20ms}",
        |ctx, n, p| class(ctx, n, p, pools, None),
        |c| &c.name,
    )
}

fn jobs(ctx: &mut Ctx, node: &Node, path: &str, pools: Option<&[String]>) -> Option<Vec<JobSpec>> {
    named_list(
        ctx,
        node,
        path,
        "job",
        "{name: sync, pool: app, every: 30s, hold: 2s}",
        |ctx, n, p| job(ctx, n, p, pools),
        |j| &j.name,
    )
}

fn job(ctx: &mut Ctx, node: &Node, path: &str, pools: Option<&[String]>) -> Option<JobSpec> {
    let f = fields(ctx, node, path, JOB_KEYS)?;
    let name = f.req(ctx, "name", "name: warehouse-sync").and_then(|(n, p)| p_name(ctx, n, &p, "job"));
    let scope = match f.get("scope") {
        Some((n, p)) => choice(ctx, n, &p, &[("pod", JobScope::Pod), ("worker", JobScope::Worker)]),
        None => Some(JobScope::Pod),
    };
    let pool = pool_ref(ctx, &f, pools);
    let start = match f.get("start") {
        Some((n, _)) if n.as_scalar() == Some("never") => Some(None),
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| Some(SimTime(d.0))),
        None => Some(Some(SimTime::ZERO)),
    };
    let stop = match f.get("stop") {
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| Some(SimTime(d.0))),
        None => Some(None),
    };
    let every = f.req(ctx, "every", "every: 30s").and_then(|(n, p)| p_positive_duration(ctx, n, &p));
    let offset = match f.get("offset") {
        Some((n, p)) => p_duration(ctx, n, &p).map(Some),
        None => Some(None),
    };
    let connections = match f.get("connections") {
        Some((n, p)) => p_uint(ctx, n, &p, 1, 10_000, "connections taken by each run"),
        None => Some(1),
    };
    let hold = f.req(ctx, "hold", "hold: 5s").and_then(|(n, p)| dist(ctx, n, &p));
    let error_rate = match f.get("error_rate") {
        Some((n, p)) => p_probability(ctx, n, &p),
        None => Some(0.0),
    };
    let on_error = match f.get("on_error") {
        Some((n, p)) => choice(ctx, n, &p, &[("release", OnError::Release), ("leak", OnError::Leak)]),
        None => Some(OnError::Release),
    };
    let priority = match f.get("priority") {
        Some((n, p)) => choice(ctx, n, &p, PRIORITIES),
        None => Some(Priority::Normal),
    };
    Some(JobSpec {
        name: name?,
        scope: scope?,
        pool: pool?,
        start: start?,
        stop: stop?,
        every: every?,
        offset: offset?,
        connections: connections? as u32,
        hold: hold?,
        error_rate: error_rate?,
        on_error: on_error?,
        priority: priority?,
    })
}

fn client(ctx: &mut Ctx, node: &Node, path: &str) -> Option<ClientSpec> {
    let f = fields(ctx, node, path, &["timeout", "retries", "backoff", "max_backoff", "jitter", "retry_on"])?;
    let timeout = opt_never(ctx, &f, "timeout");
    let retries = match f.get("retries") {
        Some((n, p)) => p_uint(ctx, n, &p, 0, 100, "retries after the first attempt"),
        None => Some(0),
    };
    let backoff = match f.get("backoff") {
        Some((n, p)) => p_duration(ctx, n, &p),
        None => Some(SimDuration::from_millis(100)),
    };
    let max_backoff = match f.get("max_backoff") {
        Some((n, p)) => p_duration(ctx, n, &p),
        None => Some(SimDuration::from_secs(10)),
    };
    let jitter = match f.get("jitter") {
        Some((n, p)) => choice(ctx, n, &p, &[("none", Jitter::None), ("full", Jitter::Full), ("equal", Jitter::Equal)]),
        None => Some(Jitter::Full),
    };
    let retry_on = match f.get("retry_on") {
        Some((n, p)) => retry_on(ctx, n, &p),
        None => Some(RetryOn { unavailable: true, errors: true, timeout: true }),
    };
    Some(ClientSpec {
        timeout: timeout?,
        retries: retries? as u32,
        backoff: backoff?,
        max_backoff: max_backoff?,
        jitter: jitter?,
        retry_on: retry_on?,
    })
}

fn retry_on(ctx: &mut Ctx, node: &Node, path: &str) -> Option<RetryOn> {
    let Value::Seq(items) = &node.value else {
        ctx.err(node.pos, path, format!("expected a list such as `[503, 500, timeout]`, found {}", node.describe()));
        return None;
    };
    let mut r = RetryOn { unavailable: false, errors: false, timeout: false };
    for (i, it) in items.iter().enumerate() {
        let p = join(path, &i.to_string());
        match it.as_scalar() {
            Some("503") => r.unavailable = true,
            Some("500") => r.errors = true,
            Some("timeout") => r.timeout = true,
            _ => {
                ctx.err(it.pos, &p, format!("expected `503`, `500` or `timeout`, found {}", it.describe()));
                return None;
            }
        }
    }
    Some(r)
}

/// A probability: a number in [0, 1] or a percentage such as `10%`.
fn p_probability(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let (text, _) = scalar(ctx, node, path, "a probability such as `0.1` or `10%`")?;
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().ok().map(|v| v / 100.0),
        None => t.parse::<f64>().ok(),
    };
    match v {
        Some(v) if (0.0..=1.0).contains(&v) => Some(v),
        _ => {
            ctx.err(node.pos, path, format!("expected a probability between 0 and 1 (or 0% to 100%), found `{t}`"));
            None
        }
    }
}

const DISTS: &[&str] = &["constant", "uniform", "exponential", "normal", "lognormal", "empirical"];

/// A distribution: `{dist: NAME, ...}`, or a bare duration as shorthand for a constant.
pub(super) fn dist(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Dist> {
    if let Value::Scalar { .. } = node.value {
        return p_duration(ctx, node, path).map(Dist::Constant);
    }
    let Value::Map(entries) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!(
                "expected a distribution such as `{{dist: exponential, mean: 50ms}}` or a duration, found {}",
                node.describe()
            ),
        );
        return None;
    };
    let Some((_, kind_node)) = entries.iter().find(|(k, _)| k.text == "dist") else {
        ctx.err(node.pos, path, format!("missing key `dist` (one of {})", list(DISTS)));
        return None;
    };
    let kind_path = join(path, "dist");
    let kind = scalar(ctx, kind_node, &kind_path, "a distribution name")?.0;
    let allowed: &[&str] = match kind {
        "constant" => &["dist", "value"],
        "uniform" => &["dist", "min", "max"],
        "exponential" => &["dist", "mean"],
        "normal" => &["dist", "mean", "stddev"],
        "lognormal" => &["dist", "median", "p99"],
        "empirical" => &["dist", "values", "file"],
        other => {
            let hint = suggest(other, DISTS).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(
                kind_node.pos,
                &kind_path,
                format!("unknown distribution `{other}`{hint}; expected one of {}", list(DISTS)),
            );
            return None;
        }
    };
    let f = fields(ctx, node, path, allowed)?;
    let dur =
        |ctx: &mut Ctx, key: &str, example: &str| f.req(ctx, key, example).and_then(|(n, p)| p_duration(ctx, n, &p));
    match kind {
        "constant" => Some(Dist::Constant(dur(ctx, "value", "value: 1s")?)),
        "uniform" => {
            let (min, max) = (dur(ctx, "min", "min: 50ms"), dur(ctx, "max", "max: 150ms"));
            let (min, max) = (min?, max?);
            if max < min {
                ctx.err(f.pos, path, format!("`max` ({max}) must not be below `min` ({min})"));
                return None;
            }
            Some(Dist::Uniform { min, max })
        }
        "exponential" => {
            let mean = dur(ctx, "mean", "mean: 1s")?;
            positive(ctx, &f, "mean", mean)?;
            Some(Dist::Exponential { mean })
        }
        "normal" => {
            let (mean, stddev) = (dur(ctx, "mean", "mean: 100ms"), dur(ctx, "stddev", "stddev: 20ms"));
            let (mean, stddev) = (mean?, stddev?);
            positive(ctx, &f, "mean", mean)?;
            Some(Dist::Normal { mean, stddev })
        }
        "lognormal" => {
            let (median, p99) = (dur(ctx, "median", "median: 50ms"), dur(ctx, "p99", "p99: 400ms"));
            let (median, p99) = (median?, p99?);
            positive(ctx, &f, "median", median)?;
            if p99 <= median {
                ctx.err(
                    f.get("p99").map_or(f.pos, |(n, _)| n.pos),
                    &join(path, "p99"),
                    format!("must be above the median ({median}), found {p99}"),
                );
                return None;
            }
            Some(Dist::lognormal(median, p99))
        }
        _ => empirical(ctx, &f, path),
    }
}

fn positive(ctx: &mut Ctx, f: &Fields, key: &str, d: SimDuration) -> Option<()> {
    if d.is_zero() {
        let (pos, p) = f.get(key).map_or((f.pos, f.path.clone()), |(n, p)| (n.pos, p));
        ctx.err(pos, &p, "must be longer than zero");
        return None;
    }
    Some(())
}

/// `{dist: empirical, values: [..]}` or `{dist: empirical, file: holds.csv}`.
fn empirical(ctx: &mut Ctx, f: &Fields, path: &str) -> Option<Dist> {
    let values: Vec<u64> = match (f.get("values"), f.get("file")) {
        (Some((n, p)), None) => {
            let Value::Seq(items) = &n.value else {
                ctx.err(n.pos, &p, format!("expected a list of durations, found {}", n.describe()));
                return None;
            };
            let parsed: Vec<Option<SimDuration>> =
                items.iter().enumerate().map(|(i, it)| p_duration(ctx, it, &join(&p, &i.to_string()))).collect();
            parsed.into_iter().map(|d| d.map(|d| d.0)).collect::<Option<Vec<u64>>>()?
        }
        (None, Some((n, p))) => {
            let name = p_string(ctx, n, &p)?;
            let full = ctx.base_dir.map_or_else(|| Path::new(&name).to_path_buf(), |b| b.join(&name));
            match read_empirical_csv(&full) {
                Ok(v) => v,
                Err(m) => {
                    ctx.err(n.pos, &p, format!("{}: {m}", full.display()));
                    return None;
                }
            }
        }
        _ => {
            ctx.err(f.pos, path, "give exactly one of `values` (a list of durations) or `file` (a CSV of them)");
            return None;
        }
    };
    if values.is_empty() {
        ctx.err(f.pos, path, "an empirical distribution needs at least one value");
        return None;
    }
    Some(Dist::Empirical(Arc::from(values)))
}

/// Reads observed durations from a CSV: one value per line, with units (`12ms`),
/// or plain numbers under a header naming the unit (`hold_ms` or `hold_s`).
/// Only the first column is read; blank lines and `#` comments are skipped.
pub fn read_empirical_csv(path: &Path) -> Result<Vec<u64>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err("file is larger than 64 MiB".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut scale: Option<f64> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cell = line.split(',').next().unwrap_or("").trim();
        if cell.is_empty() || cell.starts_with('#') {
            continue;
        }
        if out.is_empty() && scale.is_none() && cell.parse::<f64>().is_err() && parse_duration(cell).is_err() {
            scale = Some(match cell.rsplit('_').next() {
                Some("ns") => 1.0,
                Some("us") => 1e3,
                Some("ms") => 1e6,
                Some("s") => 1e9,
                _ => {
                    return Err(format!(
                        "line {}: header `{cell}` should end in _ms, _s, _us or _ns to give the unit",
                        i + 1
                    ));
                }
            });
            continue;
        }
        let v = match (scale, cell.parse::<f64>()) {
            (Some(k), Ok(x)) if x.is_finite() && x >= 0.0 && x * k <= MAX_DURATION.0 as f64 => (x * k).round() as u64,
            (Some(_), _) => return Err(format!("line {}: expected a non-negative number, found `{cell}`", i + 1)),
            (None, _) => parse_duration(cell).map_err(|m| format!("line {}: {m}", i + 1))?.0,
        };
        out.push(v);
    }
    Ok(out)
}

fn workloads(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    duration: Option<SimDuration>,
    classes: Option<&[String]>,
) -> Option<Vec<WorkloadSpec>> {
    let Value::Seq(items) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!("expected a list of workloads (`- burst: ...`, `- open: ...`), found {}", node.describe()),
        );
        return None;
    };
    if items.is_empty() {
        ctx.err(node.pos, path, format!("no workloads: add at least one of {}", list(WORKLOAD_KINDS)));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = join(path, &i.to_string());
        match workload(ctx, item, &p, i, duration, classes) {
            Some(w) => {
                if let Some(prev) = out.iter().position(|o: &WorkloadSpec| o.name == w.name) {
                    ctx.err(
                        item.pos,
                        &p,
                        format!("workload name `{}` is already used by workload {prev}; names must be unique", w.name),
                    );
                    ok = false;
                }
                out.push(w)
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn workload(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    index: usize,
    duration: Option<SimDuration>,
    classes: Option<&[String]>,
) -> Option<WorkloadSpec> {
    let Value::Map(entries) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!("expected a workload such as `burst: {{at: 0s, count: 50}}`, found {}", node.describe()),
        );
        return None;
    };
    if entries.len() != 1 {
        ctx.err(
            node.pos,
            path,
            format!(
                "each workload is one of {} with its settings indented under it; found {} keys",
                list(WORKLOAD_KINDS),
                entries.len()
            ),
        );
        return None;
    }
    let (key, body) = &entries[0];
    let p = join(path, &key.text);
    let default_name = format!("{}-{}", key.text, index + 1);
    let (kind, name) = match key.text.as_str() {
        "burst" => {
            let f = fields(ctx, body, &p, &["at", "count", "name", "class"])?;
            let at = opt_time(ctx, &f, "at");
            let count = f
                .req(ctx, "count", "count: 50")
                .and_then(|(n, q)| p_uint(ctx, n, &q, 1, MAX_BURST, "requests sent at once"));
            (WorkloadKind::Burst { at: at?, count: count? }, name_of(ctx, &f, default_name)?)
        }
        "sequential" => {
            let f = fields(ctx, body, &p, &["at", "count", "think", "name", "class"])?;
            let at = opt_time(ctx, &f, "at");
            let count = f
                .req(ctx, "count", "count: 5")
                .and_then(|(n, q)| p_uint(ctx, n, &q, 1, 1_000_000_000, "requests, one after another"));
            let think = opt_dist(ctx, &f, "think");
            let schedule = UserSchedule { changes: vec![(0.0, 1)], peak: 1 };
            let kind = WorkloadKind::Closed { at: at?, schedule, think: think?, max_requests: Some(count?) };
            (kind, name_of(ctx, &f, default_name)?)
        }
        "open" => {
            let f =
                fields(ctx, body, &p, &["from", "until", "rate", "start_rate", "stages", "process", "name", "class"])?;
            (open(ctx, &f, &p, duration)?, name_of(ctx, &f, default_name)?)
        }
        "users" => {
            let f = fields(ctx, body, &p, &["at", "think", "stages", "name", "class"])?;
            let at = opt_time(ctx, &f, "at");
            let think = opt_dist(ctx, &f, "think");
            let stages = f.req(ctx, "stages", "stages: [{duration: 30s, target: 50}]").and_then(|(n, q)| {
                stages(ctx, n, &q, |ctx, n, q| p_uint(ctx, n, q, 0, MAX_USERS, "virtual users").map(|v| v as f64))
            });
            let stages: Vec<UserStage> =
                stages?.into_iter().map(|(d, t)| UserStage { duration_s: d, target: t as u32 }).collect();
            let schedule = UserSchedule::from_stages(&stages);
            if schedule.peak == 0 {
                ctx.err(f.pos, &p, "every stage targets 0 users, so this workload sends nothing");
                return None;
            }
            (
                WorkloadKind::Closed { at: at?, schedule, think: think?, max_requests: None },
                name_of(ctx, &f, default_name)?,
            )
        }
        other => {
            let hint = suggest(other, WORKLOAD_KINDS).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(key.pos, &p, format!("unknown workload `{other}`{hint}; expected one of {}", list(WORKLOAD_KINDS)));
            return None;
        }
    };
    let class = match body.get("class") {
        Some(n) => Some(ClassId(resolve(ctx, n, &join(&p, "class"), "class", classes)?)),
        None => None,
    };
    Some(WorkloadSpec { name, class, kind })
}

fn name_of(ctx: &mut Ctx, f: &Fields, default: String) -> Option<String> {
    match f.get("name") {
        Some((n, p)) => {
            let s = p_string(ctx, n, &p)?;
            if s.is_empty() || s.contains(['.', ',', '"', '\n']) {
                ctx.err(
                    n.pos,
                    &p,
                    format!("a workload name must be non-empty without `.`, `,` or quotes, found `{s}`"),
                );
                return None;
            }
            Some(s)
        }
        None => Some(default),
    }
}

fn opt_time(ctx: &mut Ctx, f: &Fields, key: &str) -> Option<SimTime> {
    match f.get(key) {
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| SimTime(d.0)),
        None => Some(SimTime::ZERO),
    }
}

fn opt_dist(ctx: &mut Ctx, f: &Fields, key: &str) -> Option<Dist> {
    match f.get(key) {
        Some((n, p)) => dist(ctx, n, &p),
        None => Some(Dist::Constant(SimDuration::ZERO)),
    }
}

/// `stages: [{duration, target}]`, with `target` parsed by `target`.
fn stages(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    target: impl Fn(&mut Ctx, &Node, &str) -> Option<f64>,
) -> Option<Vec<(f64, f64)>> {
    let Value::Seq(items) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!("expected a list of `{{duration: 30s, target: ...}}` stages, found {}", node.describe()),
        );
        return None;
    };
    if items.is_empty() {
        ctx.err(node.pos, path, "needs at least one stage `{duration: 30s, target: ...}`");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = join(path, &i.to_string());
        let Some(f) = fields(ctx, item, &p, &["duration", "target"]) else {
            ok = false;
            continue;
        };
        let d = f.req(ctx, "duration", "duration: 30s").and_then(|(n, q)| p_duration(ctx, n, &q));
        let t = f.req(ctx, "target", "target: 50").and_then(|(n, q)| target(ctx, n, &q));
        match (d, t) {
            (Some(d), Some(t)) => out.push((d.as_secs_f64(), t)),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn open(ctx: &mut Ctx, f: &Fields, path: &str, duration: Option<SimDuration>) -> Option<WorkloadKind> {
    let from = opt_time(ctx, f, "from");
    let until = match f.get("until") {
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| Some(SimTime(d.0))),
        None => Some(None),
    };
    let process = match f.get("process") {
        Some((n, p)) => match n.as_scalar() {
            Some("poisson") => Some(ArrivalProcess::Poisson),
            Some("constant") => Some(ArrivalProcess::Constant),
            _ => {
                ctx.err(n.pos, &p, format!("expected `poisson` or `constant`, found {}", n.describe()));
                None
            }
        },
        None => Some(ArrivalProcess::Poisson),
    };
    let profile = match (f.get("rate"), f.get("stages")) {
        (Some((n, p)), None) => {
            if let Some((sn, sp)) = f.get("start_rate") {
                ctx.err(sn.pos, &sp, "`start_rate` goes with `stages`; with a single `rate` leave it out");
            }
            let r = p_rate(ctx, n, &p)?;
            if r == 0.0 {
                ctx.err(n.pos, &p, "a rate of zero sends no requests; give a positive rate such as `9/s`");
                return None;
            }
            Some(RateProfile::constant(r))
        }
        (None, Some((n, p))) => {
            let start = match f.get("start_rate") {
                Some((sn, sp)) => p_rate(ctx, sn, &sp),
                None => Some(0.0),
            };
            let st = stages(ctx, n, &p, p_rate);
            let (start, st) = (start?, st?);
            let stages: Vec<RateStage> =
                st.into_iter().map(|(d, t)| RateStage { duration_s: d, target_per_s: t }).collect();
            let profile = RateProfile::staged(start, &stages);
            if profile.peak() == 0.0 {
                ctx.err(n.pos, &p, "every stage has a rate of zero, so this workload sends nothing");
                return None;
            }
            Some(profile)
        }
        (Some((n, p)), Some(_)) => {
            ctx.err(n.pos, &p, "give either `rate` (constant) or `stages` (ramping), not both");
            None
        }
        (None, None) => {
            ctx.err(
                f.pos,
                path,
                "missing key `rate` (e.g. `rate: 9/s`) or `stages` (e.g. `stages: [{duration: 1m, target: 20/s}]`)",
            );
            None
        }
    };
    let (from, until, process, profile) = (from?, until?, process?, profile?);
    if let Some(u) = until {
        if u <= from {
            let (pos, p) = f.get("until").map(|(n, p)| (n.pos, p)).unwrap_or((f.pos, path.to_string()));
            ctx.err(pos, &p, format!("must be after `from` ({}), found {}", SimDuration(from.0), SimDuration(u.0)));
            return None;
        }
    } else if duration.is_none() {
        ctx.err(
            f.pos,
            path,
            "an open workload without `until` never stops: give it `until`, or give the scenario a `duration`",
        );
        return None;
    }
    Some(WorkloadKind::Open { from, until, profile, process })
}

/// Names that events may refer to; `None` where the list itself is invalid.
struct Names {
    pools: Option<Vec<String>>,
    classes: Option<Vec<String>>,
    /// Workload names, and whether each is an open workload (has a rate).
    workloads: Option<Vec<(String, bool)>>,
    jobs: Option<Vec<String>>,
}

fn events(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    names: &Names,
    duration: Option<SimDuration>,
) -> Option<Vec<TimedChange>> {
    let Value::Seq(items) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!("expected a list of `{{at: 4m, set: {{...}}}}` changes, found {}", node.describe()),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = join(path, &i.to_string());
        let Some(f) = fields(ctx, item, &p, EVENT_KEYS) else {
            ok = false;
            continue;
        };
        let at = f.req(ctx, "at", "at: 4m").and_then(|(n, q)| {
            let d = p_duration(ctx, n, &q)?;
            if let Some(end) = duration
                && d >= end
            {
                ctx.err(
                    n.pos,
                    &q,
                    format!("{d} is at or after the end of the run (duration {end}), so it would never apply"),
                );
                return None;
            }
            Some(SimTime(d.0))
        });
        let mut actions = Vec::new();
        let mut item_ok = true;
        let mut any = false;
        for (key, n) in f.entries {
            let q = join(&p, &key.text);
            let got: Option<Vec<Change>> = match key.text.as_str() {
                "at" => continue,
                "set" => set_block(ctx, n, &q, names),
                "start_job" => job_refs(ctx, n, &q, names).map(|js| js.into_iter().map(Change::StartJob).collect()),
                "stop_job" => job_refs(ctx, n, &q, names).map(|js| js.into_iter().map(Change::StopJob).collect()),
                "close_pool" => {
                    resolve(ctx, n, &q, "pool", names.pools.as_deref()).map(|i| vec![Change::ClosePool(PoolId(i))])
                }
                "kill_connections" => kill(ctx, n, &q, names).map(|c| vec![c]),
                _ => continue, // reported by `fields`
            };
            any = true;
            match got {
                Some(c) => actions.extend(c),
                None => item_ok = false,
            }
        }
        if !any {
            ctx.err(
                f.pos,
                &p,
                "an event needs something to do: `set`, `start_job`, `stop_job`, `close_pool` or `kill_connections`",
            );
            item_ok = false;
        }
        match at {
            Some(at) if item_ok => out.push(TimedChange { at, actions }),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    out.sort_by_key(|c| c.at);
    Some(out)
}

/// One job name or a list of them.
fn job_refs(ctx: &mut Ctx, node: &Node, path: &str, names: &Names) -> Option<Vec<JobId>> {
    let items: Vec<(&Node, String)> = match &node.value {
        Value::Seq(items) => items.iter().enumerate().map(|(i, n)| (n, join(path, &i.to_string()))).collect(),
        _ => vec![(node, path.to_string())],
    };
    if names.jobs.is_some_and_empty() {
        ctx.err(node.pos, path, "there are no jobs; define them under `jobs:`");
        return None;
    }
    let mut out = Vec::new();
    for (n, p) in items {
        out.push(JobId(resolve(ctx, n, &p, "job", names.jobs.as_deref())?));
    }
    Some(out)
}

trait EmptyList {
    fn is_some_and_empty(&self) -> bool;
}

impl EmptyList for Option<Vec<String>> {
    fn is_some_and_empty(&self) -> bool {
        self.as_ref().is_some_and(Vec::is_empty)
    }
}

fn kill(ctx: &mut Ctx, node: &Node, path: &str, names: &Names) -> Option<Change> {
    let f = fields(ctx, node, path, &["count", "pool"])?;
    let count = f
        .req(ctx, "count", "count: 50")
        .and_then(|(n, p)| p_uint(ctx, n, &p, 1, u32::MAX as u64, "connections to terminate"));
    let pool = match f.get("pool") {
        Some((n, p)) => resolve(ctx, n, &p, "pool", names.pools.as_deref()).map(|i| Some(PoolId(i))),
        None => Some(None),
    };
    Some(Change::KillConnections { count: count? as u32, pool: pool? })
}

/// The `set:` block of a timed change.
fn set_block(ctx: &mut Ctx, node: &Node, path: &str, names: &Names) -> Option<Vec<Change>> {
    let Value::Map(entries) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!("expected a mapping of settings to change ({SET_KEYS}), found {}", node.describe()),
        );
        return None;
    };
    if entries.is_empty() {
        ctx.err(node.pos, path, format!("nothing to set; give one or more of {SET_KEYS}"));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let p = join(path, &k.text);
        let change = set_one(ctx, k, v, &p, names);
        match change {
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The only entry of a list, for the single-pool keys `pool.*` and `request.*`.
fn only(ctx: &mut Ctx, k: &Key, path: &str, names: Option<&[String]>, what: &str, plural: &str) -> Option<u16> {
    match names? {
        [_] => Some(0),
        _ => {
            ctx.err(
                k.pos,
                path,
                format!("there are several {what}s; name the one to change, e.g. `{plural}.<name>.{}`", {
                    path.rsplit('.').next().unwrap_or("")
                }),
            );
            None
        }
    }
}

fn set_one(ctx: &mut Ctx, k: &Key, v: &Node, p: &str, names: &Names) -> Option<Change> {
    let key = k.text.as_str();
    let parts: Vec<&str> = key.split('.').collect();
    let unknown = |ctx: &mut Ctx| {
        ctx.err(k.pos, p, format!("cannot set `{key}` during a run; settable keys are {SET_KEYS}"));
        None
    };
    match parts.as_slice() {
        ["request", field] => {
            let c = only(ctx, k, p, names.classes.as_deref(), "class", "classes");
            class_setting(ctx, k, v, p, field, c, names)
        }
        ["classes", name, field] => {
            let c = lookup_name(ctx, k, p, name, "class", names.classes.as_deref());
            class_setting(ctx, k, v, p, field, c, names)
        }
        ["pool", field] => {
            let pool = only(ctx, k, p, names.pools.as_deref(), "pool", "pools");
            pool_setting(ctx, k, v, p, field, pool)
        }
        ["pools", name, field] => {
            let pool = lookup_name(ctx, k, p, name, "pool", names.pools.as_deref());
            pool_setting(ctx, k, v, p, field, pool)
        }
        ["workload", name, "rate"] => {
            let rate = p_rate(ctx, v, p);
            let ws = names.workloads.as_ref()?;
            match ws.iter().position(|(n, _)| n == name) {
                Some(i) if ws[i].1 => {
                    let r = rate?;
                    if r == 0.0 {
                        // A zero rate pauses the workload: allowed, unlike at the start.
                        return Some(Change::Rate(WorkloadId(i as u16), 0.0));
                    }
                    Some(Change::Rate(WorkloadId(i as u16), r))
                }
                Some(_) => {
                    ctx.err(
                        k.pos,
                        p,
                        format!("workload `{name}` is not an `open` workload; only open workloads have a rate"),
                    );
                    None
                }
                None => {
                    let all: Vec<&str> = ws.iter().map(|(n, _)| n.as_str()).collect();
                    ctx.err(k.pos, p, format!("no workload named `{name}`; workloads are {}", list(&all)));
                    None
                }
            }
        }
        ["fleet", "pods"] => p_uint(ctx, v, p, 1, MAX_PODS, "pods").map(|n| Change::Pods(n as u32)),
        _ => unknown(ctx),
    }
}

fn lookup_name(ctx: &mut Ctx, k: &Key, p: &str, name: &str, what: &str, names: Option<&[String]>) -> Option<u16> {
    let names = names?;
    match names.iter().position(|n| n == name) {
        Some(i) => Some(i as u16),
        None => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = suggest(name, &refs).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(k.pos, p, format!("no {what} named `{name}`{hint}; {what}s are {}", list(&refs)));
            None
        }
    }
}

fn class_setting(
    ctx: &mut Ctx,
    k: &Key,
    v: &Node,
    p: &str,
    field: &str,
    class: Option<u16>,
    names: &Names,
) -> Option<Change> {
    match field {
        "hold" => {
            let d = dist(ctx, v, p);
            Some(Change::Hold(ClassId(class?), d?))
        }
        "overhead" => {
            let d = dist(ctx, v, p);
            Some(Change::Overhead(ClassId(class?), d?))
        }
        "pool" => {
            let pool = resolve(ctx, v, p, "pool", names.pools.as_deref());
            Some(Change::ClassPool(ClassId(class?), PoolId(pool?)))
        }
        _ => {
            ctx.err(
                k.pos,
                p,
                format!("a class's `{field}` cannot change during a run; use `hold`, `overhead` or `pool`"),
            );
            None
        }
    }
}

fn pool_setting(ctx: &mut Ctx, k: &Key, v: &Node, p: &str, field: &str, pool: Option<u16>) -> Option<Change> {
    match field {
        "max_size" => {
            let n = p_uint(ctx, v, p, 1, MAX_POOL_SIZE, "connections in the pool");
            Some(Change::MaxSize(PoolId(pool?), n? as u32))
        }
        "acquire_timeout" => {
            let d = p_timeout(ctx, v, p);
            Some(Change::AcquireTimeout(PoolId(pool?), d?))
        }
        _ => {
            ctx.err(
                k.pos,
                p,
                format!("a pool's `{field}` cannot change during a run; use `max_size` or `acquire_timeout`"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 10}\n";

    fn issues(src: &str) -> Vec<Issue> {
        match from_str(src, "t.yaml", None, &[]) {
            Ok(_) => Vec::new(),
            Err(e) => e.issues().to_vec(),
        }
    }

    #[test]
    fn minimal_scenario_is_valid_with_defaults() {
        let s = from_str(MINIMAL, "t.yaml", None, &[]).unwrap();
        assert_eq!(s.seed, 1);
        assert_eq!(s.bucket, DEFAULT_BUCKET);
        assert_eq!(s.pools[0].max_size, 5);
        assert_eq!(s.classes[0].hold, Dist::Constant(SimDuration::from_secs(1)));
        assert_eq!(s.classes[0].overhead, Dist::Constant(SimDuration::ZERO));
    }

    #[test]
    fn unknown_key_is_located_with_a_suggestion() {
        let i = issues(&MINIMAL.replace("max_size: 5", "max_sise: 5"));
        assert!(i.iter().any(|i| i.path == "pool.max_sise" && i.message.contains("did you mean `max_size`")), "{i:?}");
        assert!(i.iter().any(|i| i.path == "pool" && i.message.contains("missing key `max_size`")), "{i:?}");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let src = "name: t\nseed: -3\npool: {max_size: 0}\nrequest: {hold: 250}\nworkload:\n  - open: {rate: 0/s, until: 1m}\n";
        let i = issues(src);
        let paths: Vec<&str> = i.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, vec!["seed", "pool.max_size", "request.hold", "workload.0.open.rate"], "{i:?}");
        assert_eq!(i[1].pos, Pos { line: 3, col: 18 });
        assert!(i[2].message.contains("`250ms`"));
    }

    #[test]
    fn a_burst_is_limited_to_what_memory_can_hold() {
        let i = issues(&MINIMAL.replace("count: 10", "count: 1000001"));
        assert!(i[0].message.contains("at most 1000000"), "{i:?}");
    }

    #[test]
    fn open_workload_needs_an_end() {
        let src = MINIMAL.replace("- burst: {count: 10}", "- open: {rate: 5/s}");
        assert!(issues(&src)[0].message.contains("never stops"));
    }

    #[test]
    fn events_after_the_end_and_unknown_settings_are_refused() {
        let src = format!(
            "{MINIMAL}duration: 1m\nevents:\n  - {{at: 2m, set: {{pool.max_size: 3}}}}\n  - {{at: 1s, set: {{pool.colour: red}}}}\n"
        );
        let i = issues(&src);
        assert!(i[0].message.contains("after the end"), "{i:?}");
        let at_end = format!("{MINIMAL}duration: 1m\nevents:\n  - {{at: 1m, set: {{pool.max_size: 3}}}}\n");
        assert!(issues(&at_end)[0].message.contains("never apply"));
        assert!(i[1].message.contains("`colour` cannot change during a run"), "{i:?}");
    }

    #[test]
    fn a_broken_workload_list_does_not_make_events_report_unknown_workloads() {
        let src = "name: t\npool: {max_size: 1}\nrequest: {hold: 1s}\nworkload:\n  - open: {name: web, rate: 0/s, until: 1m}\nevents:\n  - {at: 1s, set: {workload.web.rate: 5/s}}\n";
        let i = issues(src);
        assert_eq!(i.len(), 1, "{i:?}");
        assert_eq!(i[0].path, "workload.0.open.rate");
    }

    #[test]
    fn empirical_values_come_from_a_list_or_a_csv_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("units.csv"), "# observed holds\n12ms\n1.5s\n\n250us\n").unwrap();
        std::fs::write(dir.path().join("header.csv"), "hold_ms,query\n12,a\n0.5,b\n").unwrap();
        std::fs::write(dir.path().join("bad.csv"), "hold_ms\n12\nabc\n").unwrap();
        let with = |hold: &str| MINIMAL.replace("hold: 1s", &format!("hold: {hold}"));
        let load = |src: String| from_str(&src, "t.yaml", Some(dir.path()), &[]);
        let s = load(with("{dist: empirical, file: units.csv}")).unwrap();
        assert_eq!(s.classes[0].hold, Dist::Empirical(Arc::from(vec![12_000_000u64, 1_500_000_000, 250_000])));
        let s = load(with("{dist: empirical, file: header.csv}")).unwrap();
        assert_eq!(s.classes[0].hold, Dist::Empirical(Arc::from(vec![12_000_000u64, 500_000])));
        let s = load(with("{dist: empirical, values: [10ms, 20ms]}")).unwrap();
        assert_eq!(s.classes[0].hold, Dist::Empirical(Arc::from(vec![10_000_000u64, 20_000_000])));
        let e = load(with("{dist: empirical, file: bad.csv}")).unwrap_err().to_string();
        assert!(e.contains("bad.csv: line 3: expected a non-negative number, found `abc`"), "{e}");
        let e = load(with("{dist: empirical, file: missing.csv}")).unwrap_err().to_string();
        assert!(e.contains("request.hold.file") && e.contains("missing.csv"), "{e}");
    }

    #[test]
    fn overrides_edit_the_tree_before_validation() {
        let o = vec![("pool.max_size".to_string(), "20".to_string())];
        let s = from_str(MINIMAL, "t.yaml", None, &o).unwrap();
        assert_eq!(s.pools[0].max_size, 20);
        let bad = vec![("pool.size".to_string(), "20".to_string())];
        assert!(from_str(MINIMAL, "t.yaml", None, &bad).is_err());
    }

    const FLEET: &str = "name: t\ndatabase: {max_connections: 500, reserved_connections: 3}\n\
        fleet: {pods: 20, workers_per_pod: 4}\n\
        pools: [{name: app, max_size: 10}, {name: sync, scope: pod, max_size: 10}]\n\
        classes: [{name: payment, pool: app, hold: 20ms}]\n\
        jobs: [{name: warehouse-sync, pool: sync, every: 30s, hold: 2s}]\n\
        workload:\n  - burst: {count: 10}\n";

    #[test]
    fn a_fleet_file_is_valid_and_its_budget_follows_the_write_up() {
        let s = from_str(FLEET, "f.yaml", None, &[]).unwrap();
        assert_eq!(s.database.usable(), Some(497));
        assert_eq!(s.possible_connections(), 20 * (4 * 10 + 10));
        assert_eq!((s.fleet.pods, s.fleet.workers_per_pod), (20, 4));
        assert_eq!(s.jobs[0].pool, PoolId(1));
    }

    #[test]
    fn bad_fleet_files_get_located_messages() {
        let job = issues(&FLEET.replace("pool: sync, every", "pool: synk, every"));
        assert_eq!(job[0].path, "jobs.0.pool");
        assert!(job[0].message.contains("no pool named `synk` (did you mean `sync`?)"), "{job:?}");
        let pods = issues(&FLEET.replace("pods: 20", "pods: 0"));
        assert_eq!(pods[0].path, "fleet.pods");
        assert!(pods[0].message.contains("at least 1"), "{pods:?}");
        let reserved = issues(&FLEET.replace("reserved_connections: 3", "reserved_connections: 500"));
        assert_eq!(reserved[0].path, "database.reserved_connections");
        assert!(reserved[0].message.contains("must be below max_connections"), "{reserved:?}");
        let class = issues(&FLEET.replace("pool: app, hold", "pool: nope, hold"));
        assert_eq!(class[0].path, "classes.0.pool");
        let ev = issues(&format!("{FLEET}events:\n  - {{at: 1s, start_job: nightly}}\n"));
        assert!(ev[0].message.contains("no job named `nightly`"), "{ev:?}");
        let both = issues(&format!("{FLEET}pool: {{max_size: 3}}\n"));
        assert!(both[0].message.contains("either `pool`"), "{both:?}");
        let several = issues(&format!("{FLEET}duration: 1m\nevents:\n  - {{at: 1s, set: {{pool.max_size: 3}}}}\n"));
        assert!(several[0].message.contains("several pools"), "{several:?}");
    }

    #[test]
    fn an_event_needs_an_action() {
        let i = issues(&format!("{MINIMAL}events:\n  - {{at: 1s}}\n"));
        assert!(i[0].message.contains("needs something to do"), "{i:?}");
    }

    #[test]
    fn hash_changes_with_the_scenario() {
        let a = from_str(MINIMAL, "t.yaml", None, &[]).unwrap();
        let b = from_str(&MINIMAL.replace("10}", "11}"), "t.yaml", None, &[]).unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), a.clone().hash());
    }
}
