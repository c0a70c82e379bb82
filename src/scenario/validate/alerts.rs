//! `alerts:`: Prometheus alerting rules evaluated over the run's scraped series,
//! and how often the run is scraped and the rules evaluated.
//!
//! ```yaml
//! alerts:
//!   scrape_interval: 15s          # default 15s
//!   evaluation_interval: 15s      # default 15s (a group's own `interval` wins)
//!   rules:                        # a list of rules (one group), or `groups:` as in a rule file
//!     - alert: PoolWaiting
//!       expr: max(db_pool_waiting_requests) > 0
//!       for: 1m
//! ```
//!
//! Rules and expressions are read by the alerts module, against the metrics a
//! run exposes (`alerts::catalog`), and their problems join the file's others.

use super::fields::{Ctx, fields, p_positive_duration};
use crate::alerts::{catalog, rules_from_node};
use crate::engine::SimDuration;
use crate::input::yaml::{Key, Node, Value};
use crate::scenario::AlertsSpec;

/// Default scrape and evaluation interval: the one in Prometheus' example configuration.
pub(super) const DEFAULT_ALERTS_INTERVAL: SimDuration = SimDuration::from_secs(15);

pub(super) fn alerts(ctx: &mut Ctx, node: &Node, path: &str) -> Option<AlertsSpec> {
    let f = fields(ctx, node, path, &["scrape_interval", "evaluation_interval", "rules", "groups"])?;
    let interval = |ctx: &mut Ctx, key| match f.get(key) {
        Some((n, p)) => p_positive_duration(ctx, n, &p),
        None => Some(DEFAULT_ALERTS_INTERVAL),
    };
    let scrape_interval = interval(ctx, "scrape_interval");
    let evaluation_interval = interval(ctx, "evaluation_interval");
    let metrics = catalog::known_metrics();
    let groups = match (f.get("rules"), f.get("groups")) {
        (Some((n, p)), None) => rules_from_node(n, &p, ctx.src, Some(&metrics)),
        (None, Some((n, _))) => {
            // The `groups:` entry alone, as a rule file has it, at its own position.
            let key = Key { text: "groups".into(), pos: n.pos };
            let file = Node { pos: node.pos, value: Value::Map(vec![(key, n.clone())]) };
            rules_from_node(&file, path, ctx.src, Some(&metrics))
        }
        (Some(_), Some((n, p))) => {
            ctx.err(n.pos, &p, "give either `rules` (one group) or `groups` (as in a rule file), not both");
            return None;
        }
        (None, None) => {
            ctx.err(node.pos, path, "missing key `rules` (a list of alerting rules) or `groups` (as in a rule file)");
            return None;
        }
    };
    let groups = match groups {
        Ok(g) => g,
        Err(issues) => {
            ctx.issues.extend(issues);
            return None;
        }
    };
    Some(AlertsSpec { scrape_interval: scrape_interval?, evaluation_interval: evaluation_interval?, groups })
}
