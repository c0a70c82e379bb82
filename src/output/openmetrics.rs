//! `metrics.om`: a run's scraped series in the OpenMetrics text format, with a
//! timestamp on every sample, so that Prometheus' own tools can load it:
//! `promtool tsdb create-blocks-from openmetrics metrics.om DATA_DIR` writes
//! blocks a Prometheus server (and the Grafana on top of it) reads as if it had
//! scraped the simulated fleet.
//!
//! One metric family after another (families never interleave), each with its
//! `# TYPE` and `# HELP`; within a family one series after another, each in
//! time order; `# EOF` last. A counter's family is named without `_total`, as
//! OpenMetrics wants; the samples keep it. Times are Unix seconds with
//! millisecond precision: the simulated time plus `start_ms`, where the run is
//! placed on the calendar (0, the default of `sim run --openmetrics`, puts it
//! at 1970-01-01T00:00:00Z; a Prometheus that should keep the blocks needs a
//! retention longer than their age, or a recent start).

use std::io::{self, Write};

use crate::alerts::MetricKind;
use crate::result::series::NamedSeries;

/// Escapes a label value or a `# HELP` text as OpenMetrics wants.
fn escape(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: integers without a fraction, other numbers as the shortest
/// text that reads back to the same float.
fn value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// Writes the series (as [`crate::result::series::series`] gives them: grouped
/// by metric, in catalogue order) as OpenMetrics text.
pub fn write_openmetrics<W: Write>(mut w: W, series: &[NamedSeries], start_ms: i64) -> io::Result<()> {
    let mut family: Option<&str> = None;
    for s in series {
        if family != Some(s.metric.name) {
            family = Some(s.metric.name);
            let (kind, name) = match s.metric.kind {
                MetricKind::Counter => ("counter", s.metric.name.strip_suffix("_total").unwrap_or(s.metric.name)),
                MetricKind::Gauge => ("gauge", s.metric.name),
                MetricKind::Histogram => ("histogram", s.metric.name),
            };
            writeln!(w, "# TYPE {name} {kind}")?;
            writeln!(w, "# HELP {name} {}", escape(s.metric.help, false))?;
        }
        let labels = if s.labels.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v, true))).collect();
            format!("{{{}}}", pairs.join(","))
        };
        for &(t, v) in &s.points {
            let t_ms = t + start_ms;
            writeln!(w, "{}{labels} {} {}.{:03}", s.name, value(v), t_ms / 1000, t_ms % 1000)?;
        }
    }
    writeln!(w, "# EOF")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::catalog::EXPOSED;

    #[test]
    fn families_with_type_and_help_then_timestamped_samples() {
        let metric = |name: &str| EXPOSED.iter().find(|m| m.name == name).unwrap();
        let series = [
            NamedSeries {
                metric: metric("db_pool_exhaustion_total"),
                name: "db_pool_exhaustion_total".into(),
                labels: vec![("pool".into(), "a\"b".into())],
                points: vec![(15_000, 0.0), (30_500, 3.0)],
            },
            NamedSeries {
                metric: metric("db_pool_acquire_seconds"),
                name: "db_pool_acquire_seconds_sum".into(),
                labels: vec![],
                points: vec![(15_000, 0.25)],
            },
        ];
        let mut out = Vec::new();
        write_openmetrics(&mut out, &series, 0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# TYPE db_pool_exhaustion counter");
        assert!(lines[1].starts_with("# HELP db_pool_exhaustion Requests that gave up"));
        assert_eq!(lines[2], "db_pool_exhaustion_total{pool=\"a\\\"b\"} 0 15.000");
        assert_eq!(lines[3], "db_pool_exhaustion_total{pool=\"a\\\"b\"} 3 30.500");
        assert_eq!(lines[4], "# TYPE db_pool_acquire_seconds histogram");
        assert_eq!(lines[6], "db_pool_acquire_seconds_sum 0.25 15.000");
        assert_eq!(*lines.last().unwrap(), "# EOF");
    }
}
