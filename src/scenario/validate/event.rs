//! `events:`: changes applied during the run (`set`, `start_job`, `stop_job`,
//! `close_pool`, `kill_connections`), resolved against the names of pools,
//! classes, workloads and jobs.

use super::dist::dist;
use super::fields::{Ctx, fields, join, list, p_duration, p_rate, p_timeout, p_uint, resolve};
use super::{MAX_PODS, MAX_POOL_SIZE};
use crate::engine::{SimDuration, SimTime};
use crate::input::suggest;
use crate::scenario::yaml::{Key, Node, Value};
use crate::scenario::{Change, ClassId, JobId, PoolId, TimedChange, WorkloadId};

pub(super) const EVENT_KEYS: &[&str] = &["at", "set", "start_job", "stop_job", "close_pool", "kill_connections"];

pub(super) const SET_KEYS: &str = "request.hold, request.overhead, pool.max_size, pool.acquire_timeout, \
     pools.<name>.max_size, pools.<name>.acquire_timeout, classes.<name>.hold, classes.<name>.overhead, \
     classes.<name>.pool, workload.<name>.rate, fleet.pods";

/// Names that events may refer to; `None` where the list itself is invalid.
pub(super) struct Names {
    pub(super) pools: Option<Vec<String>>,
    pub(super) classes: Option<Vec<String>>,
    /// Workload names, and whether each is an open workload (has a rate).
    pub(super) workloads: Option<Vec<(String, bool)>>,
    pub(super) jobs: Option<Vec<String>>,
}

pub(super) fn events(
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
pub(super) fn job_refs(ctx: &mut Ctx, node: &Node, path: &str, names: &Names) -> Option<Vec<JobId>> {
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

pub(super) fn kill(ctx: &mut Ctx, node: &Node, path: &str, names: &Names) -> Option<Change> {
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
pub(super) fn set_block(ctx: &mut Ctx, node: &Node, path: &str, names: &Names) -> Option<Vec<Change>> {
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
pub(super) fn only(
    ctx: &mut Ctx,
    k: &Key,
    path: &str,
    names: Option<&[String]>,
    what: &str,
    plural: &str,
) -> Option<u16> {
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

pub(super) fn set_one(ctx: &mut Ctx, k: &Key, v: &Node, p: &str, names: &Names) -> Option<Change> {
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

pub(super) fn lookup_name(
    ctx: &mut Ctx,
    k: &Key,
    p: &str,
    name: &str,
    what: &str,
    names: Option<&[String]>,
) -> Option<u16> {
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

pub(super) fn class_setting(
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

pub(super) fn pool_setting(
    ctx: &mut Ctx,
    k: &Key,
    v: &Node,
    p: &str,
    field: &str,
    pool: Option<u16>,
) -> Option<Change> {
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

trait EmptyList {
    fn is_some_and_empty(&self) -> bool;
}

impl EmptyList for Option<Vec<String>> {
    fn is_some_and_empty(&self) -> bool {
        self.as_ref().is_some_and(Vec::is_empty)
    }
}
