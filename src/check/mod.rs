//! Checking a run against its scenario's `expect:` block and a golden summary.
//!
//! Figures are read generically: summary figures by their dotted path in the
//! JSON summary ([`crate::output::json::summary_value`]), timeline columns by
//! name through [`Bucket::value`]. Nothing here lists today's figures, so
//! figures added to the model are checkable without touching this module.
//!
//! Invariants: evaluation is a pure function of the expectations and the
//! result (no I/O, no clock), and assertions come out in the order they are
//! written, so reports are byte-for-byte reproducible. A path that names no
//! figure is [`Verdict::Invalid`] (the file is wrong, exit 2), never a failure.

pub mod golden;
pub mod report;

use serde_json::Value;

use crate::output::json::{lookup, summary_value};
use crate::result::TIMELINE_COLUMNS;
use crate::result::{Bucket, RunResult};
use crate::scenario::expect::{Expectation, Stat, num};
use crate::scenario::yaml::Pos;

/// The outcome of one assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The figure is within its bound.
    Pass,
    /// The figure is outside its bound (or differs from the golden file).
    Fail,
    /// The assertion cannot be evaluated: it names no figure of the run.
    Invalid,
}

impl Verdict {
    /// `PASS`, `FAIL` or `INVALID`, as printed in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Invalid => "INVALID",
        }
    }
}

/// One evaluated assertion: a line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// What was asserted, as written (`latency_ms.p99`, `timeline.timed_out sum [0s, 180s)`, `golden`).
    pub name: String,
    /// The figure's value in this run, formatted (`-` when there is none).
    pub value: String,
    /// The bound, formatted (`<= 200`, `= 0`, `golden ± 0.001`).
    pub bound: String,
    /// The outcome.
    pub verdict: Verdict,
    /// Why it failed or is invalid (empty when it passed).
    pub message: String,
    /// Where the assertion is written in the scenario file, if it is written there.
    pub at: Option<Pos>,
}

impl Assertion {
    /// `FILE:LINE:COL` when the assertion is written in the file, else `FILE`.
    pub fn location(&self, file: &str) -> String {
        match self.at {
            Some(p) => format!("{file}:{}:{}", p.line, p.col),
            None => file.to_string(),
        }
    }
}

/// Evaluates every expectation against a run, in order.
pub fn evaluate(expectations: &[Expectation], result: &RunResult) -> Vec<Assertion> {
    let summary = summary_value(result);
    expectations.iter().map(|e| evaluate_one(e, &summary, &result.timeline, result.meta.bucket_s)).collect()
}

fn evaluate_one(e: &Expectation, summary: &Value, timeline: &[Bucket], bucket_s: f64) -> Assertion {
    let mut a = Assertion {
        name: e.path.clone(),
        value: "-".into(),
        bound: e.bound.to_string(),
        verdict: Verdict::Pass,
        message: String::new(),
        at: Some(e.pos),
    };
    let value = match e.timeline_column() {
        Some(column) => {
            let stat = e.stat.unwrap_or_else(|| Stat::default_for(column));
            let (from, until) = match e.window {
                Some(w) => (w.from.as_secs_f64(), w.until.map(|u| u.as_secs_f64())),
                None => (0.0, None),
            };
            a.name = format!(
                "{} {} [{}s, {})",
                e.path,
                stat.as_str(),
                num(from),
                until.map_or("end".to_string(), |u| format!("{}s", num(u)))
            );
            match timeline_value(timeline, column, stat, from, until, bucket_s) {
                Ok(v) => v,
                Err(Missing::Unknown(message)) => return a.invalid(format!("expect.{}: {message}", e.path)),
                Err(Missing::NoValue(message)) => return a.fail(message),
            }
        }
        None => match summary_figure(summary, &e.path) {
            Ok(v) => v,
            Err(Missing::Unknown(message)) => return a.invalid(format!("expect.{}: {message}", e.path)),
            Err(Missing::NoValue(message)) => return a.fail(message),
        },
    };
    // Compare what the outputs show: figures are written with three decimals, so
    // `equals: 0.333` matches a mean the table prints as 0.333.
    let value = crate::output::round3(value);
    a.value = num(value);
    if !e.bound.accepts(value) {
        a.verdict = Verdict::Fail;
        a.message = format!("{} is {}, expected {}", a.name, a.value, a.bound);
    }
    a
}

impl Assertion {
    fn invalid(mut self, message: String) -> Assertion {
        self.verdict = Verdict::Invalid;
        self.message = message;
        self
    }
    fn fail(mut self, message: String) -> Assertion {
        self.verdict = Verdict::Fail;
        self.message = message;
        self
    }
}

enum Missing {
    /// The path names nothing the run reports: the scenario is wrong.
    Unknown(String),
    /// The figure exists but has no value in this run (e.g. `first_503_s` without 503s).
    NoValue(String),
}

fn summary_figure(summary: &Value, path: &str) -> Result<f64, Missing> {
    match lookup(summary, path) {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| Missing::Unknown(format!("`{path}` is not a number"))),
        Some(Value::Null) => Err(Missing::NoValue(format!("`{path}` has no value in this run (null)"))),
        Some(Value::Object(m)) => {
            let inner: Vec<String> = m.keys().take(8).map(|k| format!("`{path}.{k}`")).collect();
            Err(Missing::Unknown(format!("`{path}` is a group of figures; name one of {}", inner.join(", "))))
        }
        Some(other) => Err(Missing::Unknown(format!(
            "`{path}` is {}, not a number",
            match other {
                Value::String(_) => "text",
                Value::Bool(_) => "true/false",
                _ => "a list",
            }
        ))),
        None => {
            let known = figure_paths(summary);
            Err(Missing::Unknown(format!("no figure `{path}` in the summary{}", did_you_mean(path, &known))))
        }
    }
}

/// The column reduced over the buckets that start in `[from, until)`.
fn timeline_value(
    timeline: &[Bucket],
    column: &str,
    stat: Stat,
    from: f64,
    until: Option<f64>,
    bucket_s: f64,
) -> Result<f64, Missing> {
    let known = TIMELINE_COLUMNS.contains(&column) || timeline.iter().any(|b| b.value(column).is_some());
    if !known || column == "t_s" {
        let columns: Vec<String> =
            TIMELINE_COLUMNS.iter().filter(|c| **c != "t_s").map(|c| format!("timeline.{c}")).collect();
        let mut hint = did_you_mean(&format!("timeline.{column}"), &columns);
        if hint.is_empty() {
            hint = format!("; columns are {}", columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "));
        }
        return Err(Missing::Unknown(format!("no column `{column}` in the timeline{hint}")));
    }
    // Half a nanosecond of slack: bucket starts are exact multiples of the width.
    let eps = 1e-9;
    let in_window: Vec<&Bucket> =
        timeline.iter().filter(|b| b.t_s + eps >= from && until.is_none_or(|u| b.t_s + eps < u)).collect();
    if in_window.is_empty() {
        let end = timeline.last().map_or(0.0, |b| b.t_s + bucket_s);
        return Err(Missing::NoValue(format!(
            "no timeline bucket starts in the window (the timeline ends at {}s)",
            num(crate::output::round3(end))
        )));
    }
    let values: Vec<f64> = in_window.iter().filter_map(|b| b.value(column)).collect();
    match stat {
        Stat::Sum => Ok(values.iter().sum()),
        _ if values.is_empty() => Err(Missing::NoValue(format!(
            "`{column}` has no value in the window (no request finished in its {} buckets)",
            in_window.len()
        ))),
        Stat::Max => Ok(values.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        Stat::Min => Ok(values.iter().copied().fold(f64::INFINITY, f64::min)),
        Stat::Mean => Ok(values.iter().sum::<f64>() / values.len() as f64),
    }
}

/// Every numeric (or null) leaf of a JSON tree, as dotted paths, in document order.
pub fn figure_paths(v: &Value) -> Vec<String> {
    crate::output::json::figure_leaves(v).into_iter().map(|(p, _)| p).collect()
}

/// `; close matches: `a`, `b`` for the known names nearest to `word`, or an
/// empty string. Near means a small edit distance, or sharing the last segment
/// (`p99` finds `latency_ms.p99` and `acquire_wait_ms.p99`).
pub fn did_you_mean(word: &str, known: &[String]) -> String {
    let last = word.rsplit('.').next().unwrap_or(word);
    let limit = (word.len() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .filter_map(|k| {
            let d = crate::scenario::validate::edit_distance(word, k);
            let shares_last = k.rsplit('.').next() == Some(last) || k.ends_with(last) || k.contains(word);
            (d <= limit || shares_last).then_some((d, k))
        })
        .collect();
    scored.sort();
    if scored.is_empty() {
        return String::new();
    }
    let names: Vec<String> = scored.iter().take(4).map(|(_, k)| format!("`{k}`")).collect();
    format!("; close matches: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::validate::from_str;

    const LAB: &str = "name: t\nseed: 1\ntimeline: {bucket: 1s}\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s, overhead: 500ms}\nworkload:\n  - burst: {count: 100}\n";

    fn check(block: &str) -> Vec<Assertion> {
        let s = from_str(&format!("{LAB}expect:\n{block}"), "t.yaml", None, &[]).unwrap_or_else(|e| panic!("{e}"));
        let r = crate::run::simulate(&s, s.seed).unwrap();
        evaluate(&s.expect, &r)
    }

    #[test]
    fn summary_figures_pass_and_fail_on_their_bounds() {
        // 100 at once on 5 connections held 1 s, 10 s timeout: 50 served, 50 time out at
        // 10 s; the last served answer at 10.5 s.
        let a = check(
            "  requests.total: {equals: 100}\n  requests.timed_out: {equals: 0}\n  requests.timed_out_rate: {min: 0.4, max: 0.6}\n  latency_ms.max: {max: 10000}\n",
        );
        let verdicts: Vec<Verdict> = a.iter().map(|a| a.verdict).collect();
        assert_eq!(verdicts, [Verdict::Pass, Verdict::Fail, Verdict::Pass, Verdict::Fail], "{a:#?}");
        assert_eq!(a[1].value, "50");
        assert_eq!(a[1].bound, "= 0");
        assert_eq!(a[1].at, Some(Pos { line: 10, col: 3 }));
        assert!(a[1].message.contains("is 50, expected = 0"), "{}", a[1].message);
    }

    #[test]
    fn timeline_columns_are_reduced_over_windows() {
        let a = check(
            "  timeline.timed_out:\n    - {equals: 0, window: {until: 10s}}\n    - {equals: 50, window: {from: 10s}}\n  timeline.db_pool_waiting_requests_max: {equals: 95}\n  timeline.db_pool_free_size_min: {equals: 0, window: {from: 1s, until: 5s}}\n  timeline.ok: {equals: 5, stat: max}\n",
        );
        assert!(a.iter().all(|a| a.verdict == Verdict::Pass), "{a:#?}");
        assert_eq!(a[0].name, "timeline.timed_out sum [0s, 10s)");
        assert_eq!(a[1].name, "timeline.timed_out sum [10s, end)");
    }

    #[test]
    fn unknown_figures_are_invalid_with_close_matches() {
        let a = check("  latency_ms.p98: {max: 1}\n  latency_ms: {max: 1}\n  timeline.timedout: {max: 1}\n");
        assert!(a.iter().all(|a| a.verdict == Verdict::Invalid), "{a:#?}");
        assert!(a[0].message.contains("close matches: `latency_ms.p95`, `latency_ms.p99`"), "{}", a[0].message);
        assert!(a[1].message.contains("group of figures"), "{}", a[1].message);
        assert!(a[2].message.contains("`timeline.timed_out`"), "{}", a[2].message);
    }

    #[test]
    fn absent_values_fail_rather_than_pass() {
        let a = check(
            "  timeline.latency_ms_p99: {max: 1, window: {until: 1s}}\n  timeline.ok: {max: 1, window: {from: 1h}}\n",
        );
        assert!(a.iter().all(|a| a.verdict == Verdict::Fail), "{a:#?}");
        assert!(a[1].message.contains("no timeline bucket"), "{}", a[1].message);
    }
}
