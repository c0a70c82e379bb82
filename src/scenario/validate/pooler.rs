//! `database.pooler:`: a connection pooler in front of the database
//! (pgbouncer in transaction mode), with pgbouncer's own setting names and
//! defaults (`man 5 pgbouncer`, 1.18).

use super::fields::{Ctx, fields, p_positive_duration, p_uint};
use crate::engine::SimDuration;
use crate::scenario::PoolerSpec;
use crate::scenario::yaml::Node;

const POOLER_KEYS: &[&str] = &[
    "pool_mode",
    "default_pool_size",
    "reserve_pool_size",
    "reserve_pool_timeout",
    "max_client_conn",
    "query_wait_timeout",
    "server_idle_timeout",
    "server_lifetime",
    "server_login_retry",
];

/// pgbouncer's defaults.
const DEFAULT_POOL_SIZE: u64 = 20;
const DEFAULT_MAX_CLIENT_CONN: u64 = 100;

pub(super) fn pooler(ctx: &mut Ctx, node: &Node, path: &str) -> Option<PoolerSpec> {
    let f = fields(ctx, node, path, POOLER_KEYS)?;
    // pgbouncer's default mode is `session`, which poolsim does not model: the
    // mode is asked for, so a file cannot mean one and get the other.
    let mode = f.req(ctx, "pool_mode", "pool_mode: transaction").and_then(|(n, p)| match n.as_scalar() {
        Some("transaction") => Some(()),
        Some("session") | Some("statement") => {
            ctx.err(
                n.pos,
                &p,
                format!(
                    "pool_mode `{}` is not modelled; only `transaction` is (in session mode each client keeps one \
                     server connection: model it as pools without a pooler, with default_pool_size as the \
                     database's limit)",
                    n.as_scalar().unwrap_or_default()
                ),
            );
            None
        }
        _ => {
            ctx.err(n.pos, &p, format!("expected `transaction`, found {}", n.describe()));
            None
        }
    });
    let uint = |ctx: &mut Ctx, key: &str, default: u64, min: u64, what: &str| match f.get(key) {
        Some((n, p)) => p_uint(ctx, n, &p, min, 1_000_000, what),
        None => Some(default),
    };
    let pool_size = uint(ctx, "default_pool_size", DEFAULT_POOL_SIZE, 1, "server connections per pool");
    let reserve = uint(ctx, "reserve_pool_size", 0, 0, "extra server connections");
    let max_client = uint(ctx, "max_client_conn", DEFAULT_MAX_CLIENT_CONN, 1, "client connections");
    let dur = |ctx: &mut Ctx, key: &str, default: SimDuration| match f.get(key) {
        Some((n, p)) => p_positive_duration(ctx, n, &p),
        None => Some(default),
    };
    let never_or = |ctx: &mut Ctx, key: &str, default: SimDuration| match f.get(key) {
        Some((n, _)) if n.as_scalar() == Some("never") => Some(None),
        Some((n, p)) => p_positive_duration(ctx, n, &p).map(Some),
        None => Some(Some(default)),
    };
    let reserve_timeout = dur(ctx, "reserve_pool_timeout", SimDuration::from_secs(5));
    let query_wait = never_or(ctx, "query_wait_timeout", SimDuration::from_secs(120));
    let idle = never_or(ctx, "server_idle_timeout", SimDuration::from_secs(600));
    let lifetime = never_or(ctx, "server_lifetime", SimDuration::from_secs(3600));
    let login_retry = dur(ctx, "server_login_retry", SimDuration::from_secs(15));
    mode?;
    Some(PoolerSpec {
        default_pool_size: pool_size? as u32,
        reserve_pool_size: reserve? as u32,
        reserve_pool_timeout: reserve_timeout?,
        max_client_conn: max_client? as u32,
        query_wait_timeout: query_wait?,
        server_idle_timeout: idle?,
        server_lifetime: lifetime?,
        server_login_retry: login_retry?,
    })
}
