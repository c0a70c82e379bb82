//! The metrics a poolsim run exposes, by name: what alert expressions may
//! select, and what `metrics.om` (the OpenMetrics export) holds.
//!
//! Names follow what the people who write the rules already use: the Lab 04
//! app's `db_pool_*` metrics, HikariCP's Micrometer names (`hikaricp_*`, the
//! guide's `ConnectionPoolHighUsage` rules select them), HTTP status counts,
//! the timeline's database columns, and postgres_exporter's
//! `pg_stat_activity_count` and `pg_settings_max_connections`. Each pool copy
//! is its own target: its series carry `pool`, `instance` (`pod-3/worker-1`,
//! `pod-3` or `shared`), and `pod` and `worker` where the copy has them.
//!
//! This is the one list of names, kinds and labels: the scenario loader checks
//! expressions against it, and the scrape rows of a run are turned into series
//! under these names (`result::series`), which a test holds to this list.

use super::{KnownMetric, MetricKind};

/// One exposed metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposed {
    /// The name (for a histogram, without `_bucket`, `_sum`, `_count`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Whether its series are per pool copy (labels [`COPY_LABELS`]) or one for the fleet.
    pub per_copy: bool,
    /// Extra labels beyond the copy's (`status` of HTTP responses).
    pub labels: &'static [&'static str],
    /// What it measures (the OpenMetrics `# HELP` line).
    pub help: &'static str,
}

/// The labels of a pool copy's series.
pub const COPY_LABELS: &[&str] = &["pool", "instance", "pod", "worker"];

/// Upper bounds (`le`, seconds) of the histograms' buckets, `+Inf` implied:
/// `prometheus_client`'s defaults, then 30 s and 60 s so that the common acquire
/// timeouts (HikariCP's and SQLAlchemy's 30 s) fall on a bound.
pub const HISTOGRAM_LE_S: [f64; 13] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

use MetricKind::{Counter, Gauge, Histogram};

const fn copy(name: &'static str, kind: MetricKind, help: &'static str) -> Exposed {
    Exposed { name, kind, per_copy: true, labels: &[], help }
}

const fn fleet(name: &'static str, kind: MetricKind, help: &'static str) -> Exposed {
    Exposed { name, kind, per_copy: false, labels: &[], help }
}

/// Every metric a run exposes, in export order.
pub const EXPOSED: &[Exposed] = &[
    copy("db_pool_used_size", Gauge, "Connections checked out of the pool (in use, leaked ones included)."),
    copy(
        "db_pool_free_size",
        Gauge,
        "Connections the pool may still hand out below max_size: max_size - in use (0 while overflow connections are in use).",
    ),
    copy("db_pool_waiting_requests", Gauge, "Requests waiting for a connection."),
    copy("db_pool_max_size", Gauge, "The pool's max_size."),
    copy(
        "db_pool_exhaustion_total",
        Counter,
        "Requests that gave up waiting for a connection (acquire timeouts, 503).",
    ),
    copy("db_pool_acquire_seconds", Histogram, "Time requests waited for a connection (served or timed out)."),
    copy("hikaricp_connections_active", Gauge, "HikariCP's name for connections in use."),
    copy("hikaricp_connections_idle", Gauge, "Idle open connections."),
    copy("hikaricp_connections", Gauge, "Open connections: in use and idle."),
    copy("hikaricp_connections_pending", Gauge, "HikariCP's name for requests waiting for a connection."),
    copy("hikaricp_connections_max", Gauge, "HikariCP's name for the pool's max_size."),
    copy("hikaricp_connections_timeout_total", Counter, "HikariCP's name for acquire timeouts."),
    Exposed {
        name: "http_requests_total",
        kind: Counter,
        per_copy: false,
        labels: &["status"],
        help: "Responses by HTTP status: 200, 503 (acquire timeout), 500 (refused, statement timeout, terminated).",
    },
    fleet("http_request_duration_seconds", Histogram, "Latency of responses: wait + hold + overhead."),
    fleet("db_connections_open", Gauge, "Connections open at the database, opening ones included."),
    fleet(
        "db_connections_usable",
        Gauge,
        "Connections the database accepts: max_connections - reserved (with a limit).",
    ),
    fleet("db_refusals_total", Counter, "Connection attempts the database refused."),
    fleet("leaked_connections", Gauge, "Leaked connections still checked out."),
    fleet("pg_stat_activity_count", Gauge, "postgres_exporter's name for connections open at the database."),
    fleet("pg_settings_max_connections", Gauge, "The database's max_connections (with a limit)."),
];

/// The catalogue as the expression parser takes it: names, kinds and label names.
pub fn known_metrics() -> Vec<KnownMetric> {
    EXPOSED
        .iter()
        .map(|m| {
            let mut labels: Vec<&str> = if m.per_copy { COPY_LABELS.to_vec() } else { Vec::new() };
            labels.extend(m.labels);
            KnownMetric::new(m.name, m.kind, &labels)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid_and_histogram_bounds_increase() {
        let mut names: Vec<&str> = EXPOSED.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EXPOSED.len());
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        assert!(HISTOGRAM_LE_S.windows(2).all(|w| w[0] < w[1]));
        let k = known_metrics();
        assert_eq!(k[0].labels, ["pool", "instance", "pod", "worker"]);
        assert!(k.iter().any(|m| m.name == "http_requests_total" && m.labels == ["status"]));
    }
}
