//! A run's scrapes as Prometheus series: every metric of the catalogue
//! (`alerts::catalog`), with its labels and one sample per scrape. The alert
//! rules are evaluated over these series, and the OpenMetrics export writes
//! them, so both see the same names, labels and values.

use super::{CopySample, FleetSample, HISTOGRAM_LE_S, HistogramSample, PoolInstance, Scrapes};
use crate::alerts::MetricKind;
use crate::alerts::catalog::{EXPOSED, Exposed};

/// One series: a sample name (a histogram's `_bucket`, `_sum`, `_count`), its
/// labels (name order: the copy's, then `le` or `status`) and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSeries {
    /// The metric it belongs to.
    pub metric: &'static Exposed,
    /// The sample name: the metric's, or with `_bucket`, `_sum`, `_count`.
    pub name: String,
    /// Label pairs.
    pub labels: Vec<(String, String)>,
    /// (time in ms, value), one per scrape.
    pub points: Vec<(i64, f64)>,
}

/// The `instance` label of a pool copy: `pod-3/worker-1`, `pod-3` or `shared`.
pub fn instance_label(i: &PoolInstance) -> String {
    match (i.pod, i.worker) {
        (Some(p), Some(w)) => format!("pod-{p}/worker-{w}"),
        (Some(p), None) => format!("pod-{p}"),
        _ => "shared".to_string(),
    }
}

fn copy_labels(i: &PoolInstance) -> Vec<(String, String)> {
    let mut l = vec![("pool".to_string(), i.pool.clone()), ("instance".to_string(), instance_label(i))];
    if let Some(p) = i.pod {
        l.push(("pod".into(), p.to_string()));
    }
    if let Some(w) = i.worker {
        l.push(("worker".into(), w.to_string()));
    }
    l
}

/// A gauge or counter of a pool copy, by metric name.
fn copy_value(name: &str, c: &CopySample) -> Option<f64> {
    Some(f64::from(match name {
        "db_pool_used_size" | "hikaricp_connections_active" => c.used,
        "db_pool_free_size" => c.max_size.saturating_sub(c.used),
        "db_pool_waiting_requests" | "hikaricp_connections_pending" => c.waiting,
        "db_pool_max_size" | "hikaricp_connections_max" => c.max_size,
        "hikaricp_connections_idle" => c.idle,
        "hikaricp_connections" => c.used + c.idle,
        "db_pool_exhaustion_total" | "hikaricp_connections_timeout_total" => return Some(c.timeouts as f64),
        _ => return None,
    }))
}

/// A gauge or counter of the fleet, by metric name (`None` for one the run has no value of).
fn fleet_value(name: &str, f: &FleetSample, s: &Scrapes) -> Option<f64> {
    Some(match name {
        "db_connections_open" | "pg_stat_activity_count" => f64::from(f.db_open),
        "db_connections_usable" => f64::from(s.usable_connections?),
        "pg_settings_max_connections" => f64::from(s.max_connections?),
        "db_refusals_total" => f.refusals as f64,
        "leaked_connections" => f64::from(f.leaked),
        _ => return None,
    })
}

/// The `_bucket`, `_sum` and `_count` series of a histogram, from its sample at each scrape.
fn histogram(
    m: &'static Exposed,
    labels: &[(String, String)],
    times: &[i64],
    at: impl Fn(usize) -> HistogramSample,
    out: &mut Vec<NamedSeries>,
) {
    let le_text = |k: usize| HISTOGRAM_LE_S.get(k).map_or("+Inf".to_string(), |le| format!("{le}"));
    for k in 0..=HISTOGRAM_LE_S.len() {
        let mut l = labels.to_vec();
        l.push(("le".into(), le_text(k)));
        let points = times.iter().enumerate().map(|(i, &t)| (t, at(i).buckets[k] as f64)).collect();
        out.push(NamedSeries { metric: m, name: format!("{}_bucket", m.name), labels: l, points });
    }
    let sum = times.iter().enumerate().map(|(i, &t)| (t, at(i).sum_s)).collect();
    out.push(NamedSeries { metric: m, name: format!("{}_sum", m.name), labels: labels.to_vec(), points: sum });
    let count = times.iter().enumerate().map(|(i, &t)| (t, at(i).count as f64)).collect();
    out.push(NamedSeries { metric: m, name: format!("{}_count", m.name), labels: labels.to_vec(), points: count });
}

/// Every series of the run, in catalogue order, then pool copy, then `le`/`status`.
pub fn series(s: &Scrapes, instances: &[PoolInstance]) -> Vec<NamedSeries> {
    let times = &s.times_ms;
    let mut out = Vec::new();
    for m in EXPOSED {
        if m.per_copy {
            for (k, inst) in instances.iter().enumerate() {
                let labels = copy_labels(inst);
                let at = |i: usize| &s.copies_at(i)[k];
                if m.kind == MetricKind::Histogram {
                    histogram(m, &labels, times, |i| at(i).acquire, &mut out);
                } else {
                    let points =
                        times.iter().enumerate().filter_map(|(i, &t)| Some((t, copy_value(m.name, at(i))?))).collect();
                    out.push(NamedSeries { metric: m, name: m.name.into(), labels, points });
                }
            }
        } else if m.kind == MetricKind::Histogram {
            histogram(m, &[], times, |i| s.fleet[i].latency, &mut out);
        } else if m.labels == ["status"] {
            type Count = fn(&FleetSample) -> u64;
            let statuses: [(&str, Count); 3] = [("200", |f| f.ok), ("500", |f| f.errors), ("503", |f| f.unavailable)];
            for (status, count) in statuses {
                let points = times.iter().zip(&s.fleet).map(|(&t, f)| (t, count(f) as f64)).collect();
                let labels = vec![("status".to_string(), status.to_string())];
                out.push(NamedSeries { metric: m, name: m.name.into(), labels, points });
            }
        } else {
            let points: Vec<(i64, f64)> =
                times.iter().zip(&s.fleet).filter_map(|(&t, f)| Some((t, fleet_value(m.name, f, s)?))).collect();
            // A database without a limit has no `max_connections` series at all.
            if !points.is_empty() || times.is_empty() {
                out.push(NamedSeries { metric: m, name: m.name.into(), labels: Vec::new(), points });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric of the catalogue gets series with a value at every scrape
    /// (a limit-only one when the database has a limit).
    #[test]
    fn every_catalogue_metric_has_series_at_every_scrape() {
        let inst = |pod, worker| PoolInstance { pool: "app".into(), pod, worker };
        let instances = [inst(Some(0), Some(1)), inst(Some(2), None), inst(None, None)];
        let s = Scrapes {
            interval_ms: 15_000,
            times_ms: vec![15_000, 30_000],
            fleet: vec![FleetSample::default(); 2],
            copies: vec![CopySample { used: 3, idle: 1, max_size: 2, ..CopySample::default() }; 6],
            max_connections: Some(100),
            usable_connections: Some(97),
        };
        let all = series(&s, &instances);
        for m in EXPOSED {
            let of: Vec<&NamedSeries> = all.iter().filter(|x| x.metric.name == m.name).collect();
            assert!(!of.is_empty(), "{}", m.name);
            assert!(of.iter().all(|x| x.points.len() == 2), "{}", m.name);
        }
        let free = all.iter().find(|x| x.name == "db_pool_free_size").unwrap();
        assert_eq!(free.points[0].1, 0.0, "in use above max_size (overflow): nothing free");
        assert_eq!(
            free.labels,
            [("pool", "app"), ("instance", "pod-0/worker-1"), ("pod", "0"), ("worker", "1")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let buckets = all.iter().filter(|x| x.name == "db_pool_acquire_seconds_bucket").count();
        assert_eq!(buckets, 3 * (HISTOGRAM_LE_S.len() + 1));
        let no_limit = Scrapes { max_connections: None, usable_connections: None, ..s };
        assert!(!series(&no_limit, &instances).iter().any(|x| x.name == "pg_settings_max_connections"));
    }
}
