//! Alert evaluation: would the team's Prometheus alerts have caught the incident?
//!
//! A self-contained library module (issue 18's core): it reads Prometheus alerting
//! rules (a rule file, or a scenario's `alerts:` block), parses their expressions in a
//! documented PromQL subset, evaluates them over an in-memory [`SeriesStore`] at a
//! fixed interval, and runs Prometheus' pending / firing / resolved state machine.
//! It knows nothing of the simulator: the caller scrapes the simulated state into
//! series and decides the metric names ([`KnownMetric`]).
//!
//! ```text
//! rule file (YAML) -> rules::parse_rule_file -> Vec<RuleGroup>   (expressions parsed, checked)
//! series scraped by the caller -> SeriesStore
//! state::evaluate(&groups, &store, &EvalConfig) -> AlertsReport { instances, errors }
//! ```
//!
//! Semantics follow Prometheus 3 (see `docs/alerts.md`): instant selectors look back
//! 5 minutes, range selectors and the lookback window are left-open `(t - d, t]`,
//! `rate`/`increase` extrapolate as `extrapolatedRate` does, `histogram_quantile`
//! interpolates as `bucketQuantile` does, and an alert fires at the first evaluation
//! at which it has been pending for at least `for`.
//!
//! Invariants: nothing here reads the wall clock or iterates a hash map; the same
//! rules and series give the same report. Times are `i64` milliseconds of simulated
//! time, as Prometheus timestamps are. No input (expression, YAML, series) panics.

pub mod catalog;
mod locate;
pub mod promql;
pub mod rules;
pub mod series;
pub mod state;
pub mod template;

#[cfg(test)]
mod promtool;

pub use catalog::known_metrics;
pub use promql::{Expr, ParseError, parse_expr};
pub use rules::{AlertRule, RuleGroup, parse_rule_file, read_rule_file, rules_from_node};
pub use series::{Labels, STALE_NAN, Series, SeriesStore, is_stale};
pub use state::{AlertInstance, AlertsReport, EvalConfig, Evaluator, RuleEvalError, evaluate};

/// What kind of series a metric is; decides which names a selector may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricKind {
    /// Only goes up (resets to 0 on restart): use it with `rate`, `increase`.
    Counter,
    /// Goes up and down: selected as it is.
    Gauge,
    /// A classic histogram: selectable as `NAME_bucket` (with an `le` label),
    /// `NAME_sum` and `NAME_count`, never as `NAME` itself.
    Histogram,
}

impl MetricKind {
    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// A metric expressions may select, with its kind and its label names.
///
/// The caller (the code that scrapes the simulation into series) provides the list,
/// so the final metric names are decided there, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMetric {
    /// The metric name (for a histogram, without `_bucket`/`_sum`/`_count`).
    pub name: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Label names its series carry (`le` of histogram buckets is implied).
    pub labels: Vec<String>,
}

impl KnownMetric {
    /// A metric with the given name, kind and labels.
    pub fn new(name: &str, kind: MetricKind, labels: &[&str]) -> KnownMetric {
        KnownMetric { name: name.to_string(), kind, labels: labels.iter().map(|l| l.to_string()).collect() }
    }
}
