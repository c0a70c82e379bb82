//! `database:`: the server's connection limit, reserved slots, connect time,
//! refusal time, cores and the pooler in front of it (`pooler.rs`).

use super::DEFAULT_RESERVED_CONNECTIONS;
use super::dist::opt_dist;
use super::fields::{Ctx, fields, join, p_uint};
use super::pooler::pooler;
use crate::scenario::DatabaseSpec;
use crate::scenario::yaml::Node;

pub(super) fn database(ctx: &mut Ctx, node: &Node, path: &str) -> Option<DatabaseSpec> {
    let f = fields(
        ctx,
        node,
        path,
        &["max_connections", "reserved_connections", "connect_time", "cores", "refuse_time", "pooler"],
    )?;
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
    let refuse_time = opt_dist(ctx, &f, "refuse_time");
    let pooler = match f.get("pooler") {
        Some((n, p)) => pooler(ctx, n, &p).map(Some),
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
        refuse_time: refuse_time?,
        pooler: pooler?,
    })
}
