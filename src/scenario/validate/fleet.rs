//! `fleet:`: pods, workers per pod, routing and the per-worker concurrency limit.

use super::fields::{Ctx, choice, fields, p_uint};
use super::{MAX_PODS, MAX_WORKERS};
use crate::scenario::yaml::Node;
use crate::scenario::{FleetSpec, Routing};

pub(super) fn fleet(ctx: &mut Ctx, node: &Node, path: &str) -> Option<FleetSpec> {
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
