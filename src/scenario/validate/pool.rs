//! `pool:` and `pools:`: the connection pools, and pool references by name.

use super::fields::{Ctx, Fields, choice, fields, named_list, opt_never, p_name, p_timeout, p_uint, resolve};
use super::{DEFAULT_ACQUIRE_TIMEOUT, MAX_POOL_SIZE};
use crate::scenario::yaml::Node;
use crate::scenario::{OnRefused, PoolId, PoolSpec, Scope};

pub(super) const POOL_KEYS: &[&str] = &[
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

/// A pool; `fixed_name` is set for the single-pool format's `pool:` block.
pub(super) fn pool(ctx: &mut Ctx, node: &Node, path: &str, fixed_name: Option<&str>) -> Option<PoolSpec> {
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

pub(super) fn pools(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Vec<PoolSpec>> {
    named_list(ctx, node, path, "pool", "{name: app, max_size: 10}", |ctx, n, p| pool(ctx, n, p, None), |p| &p.name)
}

/// The `pool:` key of a class or job; may be left out when there is one pool.
pub(super) fn pool_ref(ctx: &mut Ctx, f: &Fields, pools: Option<&[String]>) -> Option<PoolId> {
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
