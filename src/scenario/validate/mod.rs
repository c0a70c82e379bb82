//! From the positioned YAML tree to a typed [`Scenario`], checking every key.
//!
//! Each `p_*` function checks one kind of value and records an [`Issue`] (with
//! the node's position and the key's dotted path) instead of stopping, so a user
//! sees every problem of a file in one run. Defaults live here and nowhere else;
//! `docs/scenarios.md` documents the same keys and defaults.
//!
//! One file per section of the format: `database.rs` (and `pooler.rs`),
//! `fleet.rs`, `pool.rs` (and `library.rs`, the pool library presets),
//! `class.rs`, `job.rs`, `client.rs`, `workload.rs`, `dist.rs` (distributions),
//! `event.rs`, `alerts.rs`, `expect.rs` and `sweep.rs`; all read their values
//! through the typed field readers of `fields.rs`. This file holds the top
//! level: [`from_str`], `--set` overrides, the assembly of a [`Scenario`] and
//! the size limits checked before a run.

mod alerts;
mod class;
mod client;
mod database;
mod dist;
mod event;
mod expect;
mod fields;
mod fleet;
mod job;
mod library;
mod pool;
mod pooler;
mod sweep;
mod workload;

use std::path::Path;

pub use crate::input::edit_distance;
pub use dist::read_empirical_csv;
use fields::{Ctx, Fields, fields, join, p_duration, p_positive_duration, p_string, p_uint};

use super::yaml::{self, Node, Pos, Value};
use super::{Change, DatabaseSpec, FleetSpec, Issue, Routing, Scenario, ScenarioError, WorkloadKind};
use crate::engine::SimDuration;
use crate::workload::Dist;
use alerts::alerts;
use class::{class, classes};
use client::client;
use database::database;
use event::{Names, events};
use fleet::fleet;
use job::jobs;
use pool::{pool, pools};
use workload::workloads;

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
    "alerts",
];

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
    let mut ctx = Ctx { issues: Vec::new(), base_dir, src: Some(src) };
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
            refuse_time: Dist::Constant(SimDuration::ZERO),
            pooler: None,
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
        Some((n, p)) => expect::parse(ctx, n, &p),
        None => Some(Vec::new()),
    };
    let sweep = match f.get("sweep") {
        Some((n, p)) => sweep::parse(ctx, n, &p).map(Some),
        None => Some(None),
    };
    let alerts = match f.get("alerts") {
        Some((n, p)) => alerts(ctx, n, &p).map(Some),
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
        Some(alerts),
    ) = (pools, classes, workloads, jobs, changes, expect, sweep, client, alerts)
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
        alerts,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scenario::PoolId;

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

    /// The labels figures put on timed events: the scenario's own words, one unit per duration.
    #[test]
    fn timed_changes_are_labelled_as_the_file_writes_them() {
        let s = from_str(
            "name: t\npool: {max_size: 5}\nrequest: {hold: 1s}\nworkload:\n  - open: {name: api, rate: 5/s, until: 10m}\n\
             events:\n  - {at: 1m, set: {request.hold: 103400us, pool.max_size: 20}}\n\
             \x20 - {at: 2m, set: {pool.acquire_timeout: 1500ms, workload.api.rate: 9/s}}\n\
             \x20 - {at: 3m, set: {request.hold: {dist: exponential, mean: 250ms}, pool.acquire_timeout: 2m}}\n",
            "t.yaml",
            None,
            &[],
        )
        .unwrap();
        let labels: Vec<Vec<String>> =
            s.changes.iter().map(|c| c.actions.iter().map(|a| a.label(&s)).collect()).collect();
        assert_eq!(
            labels,
            [
                vec!["request.hold = 103.4ms", "pool.max_size = 20"],
                vec!["pool.acquire_timeout = 1.5s", "workload.api.rate = 9/s"],
                vec!["request.hold = exponential (mean 250ms)", "pool.acquire_timeout = 2m"],
            ]
        );
    }
}
