//! `client:`: client timeouts and retries with backoff.

use super::fields::{Ctx, choice, fields, join, opt_never, p_duration, p_uint};
use crate::engine::SimDuration;
use crate::scenario::yaml::{Node, Value};
use crate::scenario::{ClientSpec, Jitter, RetryOn};

pub(super) fn client(ctx: &mut Ctx, node: &Node, path: &str) -> Option<ClientSpec> {
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

pub(super) fn retry_on(ctx: &mut Ctx, node: &Node, path: &str) -> Option<RetryOn> {
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
