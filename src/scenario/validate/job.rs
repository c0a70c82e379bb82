//! `jobs:`: background jobs that take connections on a period.

use super::dist::dist;
use super::fields::{
    Ctx, PRIORITIES, choice, fields, named_list, p_duration, p_name, p_positive_duration, p_probability, p_uint,
};
use super::pool::pool_ref;
use crate::engine::SimTime;
use crate::scenario::yaml::Node;
use crate::scenario::{JobScope, JobSpec, OnError, Priority};

pub(super) const JOB_KEYS: &[&str] = &[
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

pub(super) fn jobs(ctx: &mut Ctx, node: &Node, path: &str, pools: Option<&[String]>) -> Option<Vec<JobSpec>> {
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

pub(super) fn job(ctx: &mut Ctx, node: &Node, path: &str, pools: Option<&[String]>) -> Option<JobSpec> {
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
