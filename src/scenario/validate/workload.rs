//! `workload:`: bursts, sequential clients, open-loop rates and closed-loop users.

use super::dist::opt_dist;
use super::fields::{Ctx, Fields, fields, join, list, name_of, opt_time, p_duration, p_rate, p_uint, resolve};
use super::{MAX_BURST, MAX_USERS};
use crate::engine::{SimDuration, SimTime};
use crate::input::suggest;
use crate::scenario::yaml::{Node, Value};
use crate::scenario::{ClassId, WorkloadKind, WorkloadSpec};
use crate::workload::{ArrivalProcess, RateProfile, RateStage, UserSchedule, UserStage};

pub(super) const WORKLOAD_KINDS: &[&str] = &["burst", "sequential", "open", "users"];

pub(super) fn workloads(
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

pub(super) fn workload(
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

/// `stages: [{duration, target}]`, with `target` parsed by `target`.
pub(super) fn stages(
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

pub(super) fn open(ctx: &mut Ctx, f: &Fields, path: &str, duration: Option<SimDuration>) -> Option<WorkloadKind> {
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
