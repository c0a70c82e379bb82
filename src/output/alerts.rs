//! `alerts.csv`: one row per alert episode (an alert with one set of labels,
//! from pending to its end), by pending time.

use std::io::{self, Write};

use crate::result::Alerts;

/// Column names of `alerts.csv`, in order.
pub const ALERT_COLUMNS: &[&str] = &["alert", "labels", "pending_s", "firing_s", "resolved_s", "value", "summary"];

/// Labels in Prometheus' text form: `{instance="pod-1",pool="app"}` (`alertname` left out: it is the first column).
fn labels_text(labels: &[(String, String)]) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k != "alertname")
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Writes `alerts.csv`: times in seconds with three decimals, empty when the
/// episode never fired or had not ended by the end of the run; `summary` is the
/// `summary` annotation, rendered.
pub fn write_alerts<W: Write>(mut w: W, a: &Alerts) -> io::Result<()> {
    writeln!(w, "{}", ALERT_COLUMNS.join(","))?;
    let t = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.3}"));
    for e in &a.episodes {
        let summary = e.annotations.iter().find(|(k, _)| k == "summary").map_or("", |(_, v)| v.as_str());
        writeln!(
            w,
            "{},{},{:.3},{},{},{},{}",
            cell(&e.alert),
            cell(&labels_text(&e.labels)),
            e.pending_s,
            t(e.firing_s),
            t(e.resolved_s),
            e.value,
            cell(summary)
        )?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::AlertEpisode;

    #[test]
    fn one_row_per_episode_with_quoted_labels() {
        let e = AlertEpisode {
            alert: "PoolWaiting".into(),
            labels: vec![("alertname".into(), "PoolWaiting".into()), ("pool".into(), "app".into())],
            annotations: vec![("summary".into(), "45 waiting, pool exhausted".into())],
            value: 45.0,
            pending_s: 15.0,
            firing_s: Some(75.0),
            resolved_s: None,
        };
        let mut out = Vec::new();
        write_alerts(&mut out, &Alerts { episodes: vec![e], ..Alerts::default() }).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "alert,labels,pending_s,firing_s,resolved_s,value,summary\n\
             PoolWaiting,\"{pool=\"\"app\"\"}\",15.000,75.000,,45,\"45 waiting, pool exhausted\"\n"
        );
    }
}
