//! `request:` and `classes:`: request classes, their shares, pools, holds and priorities.

use super::dist::{dist, opt_dist};
use super::fields::{Ctx, PRIORITIES, choice, fields, named_list, opt_never, p_name, scalar};
use super::pool::pool_ref;
use crate::scenario::yaml::Node;
use crate::scenario::{ClassSpec, Priority};

pub(super) const CLASS_KEYS: &[&str] = &["name", "share", "pool", "hold", "overhead", "priority", "statement_timeout"];

/// A request class; `fixed_name` is set for the single-class format's `request:` block.
pub(super) fn class(
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
pub(super) fn p_share(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
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

pub(super) fn classes(ctx: &mut Ctx, node: &Node, path: &str, pools: Option<&[String]>) -> Option<Vec<ClassSpec>> {
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
