//! `summary.json`: the run's metadata and whole-run figures.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::round3;
use crate::result::{RunResult, Theory};

/// The summary as a JSON value: metadata first, then the figures, floats rounded
/// to three decimals.
pub fn summary_value(r: &RunResult) -> Value {
    let mut v = json!({
        "name": r.meta.name,
        "description": r.meta.description,
        "seed": r.meta.seed,
        "scenario_hash": r.meta.scenario_hash,
        "version": r.meta.version,
        "bucket_s": r.meta.bucket_s,
        "events": r.meta.events,
    });
    let figures = serde_json::to_value(&r.summary).unwrap_or(Value::Null);
    if let (Value::Object(out), Value::Object(fig)) = (&mut v, figures) {
        out.extend(fig);
    }
    if let Value::Object(out) = &mut v {
        let f = &r.fleet;
        out.insert("database".into(), serde_json::to_value(&f.database).unwrap_or(Value::Null));
        // Keyed by name, so expectations can address `pools.app.timeouts`.
        let by_name = |items: Vec<(String, Value)>| {
            Value::Object(
                items
                    .into_iter()
                    .map(|(name, mut v)| {
                        if let Value::Object(m) = &mut v {
                            m.shift_remove("name");
                        }
                        (name, v)
                    })
                    .collect(),
            )
        };
        let pools = f.pools.iter().map(|p| (p.name.clone(), serde_json::to_value(p).unwrap_or(Value::Null)));
        out.insert("pools".into(), by_name(pools.collect()));
        let jobs = f.jobs.iter().map(|j| (j.name.clone(), serde_json::to_value(j).unwrap_or(Value::Null)));
        out.insert("jobs".into(), by_name(jobs.collect()));
        out.insert("leaks".into(), serde_json::to_value(&f.leaks).unwrap_or(Value::Null));
        if let Some(wq) = &f.workers {
            out.insert("workers".into(), serde_json::to_value(wq).unwrap_or(Value::Null));
        }
        if let Some(c) = &f.client {
            out.insert("client".into(), serde_json::to_value(c).unwrap_or(Value::Null));
        }
        if let Some(p) = &f.pooler {
            out.insert("pooler".into(), serde_json::to_value(p).unwrap_or(Value::Null));
        }
        out.insert("warnings".into(), serde_json::to_value(&f.warnings).unwrap_or(Value::Null));
        if let Some(a) = &r.alerts {
            // Keyed by alert name, so expectations can address `alerts.PoolWaiting.lead_time_s`.
            let rules = a.rules.iter().map(|f| (f.alert.clone(), serde_json::to_value(f).unwrap_or(Value::Null)));
            let mut m = serde_json::Map::new();
            for (name, mut v) in rules {
                if let Value::Object(o) = &mut v {
                    o.shift_remove("alert");
                }
                m.insert(name, v);
            }
            out.insert("alerts".into(), Value::Object(m));
        }
    }
    if let (Value::Object(out), Some(t)) = (&mut v, &r.theory) {
        // `applies` first, so a reader sees at once whether the figures below exist.
        let block = match t {
            Theory::Predicted(p) => {
                let mut m = serde_json::Map::new();
                m.insert("applies".into(), Value::Bool(true));
                if let Value::Object(fields) = serde_json::to_value(p).unwrap_or(Value::Null) {
                    m.extend(fields);
                }
                Value::Object(m)
            }
            Theory::NotApplicable(why) => json!({"applies": false, "why": why}),
        };
        out.insert("theory".into(), block);
    }
    round_floats(&mut v);
    v
}

/// Writes `summary.json` (pretty-printed, newline-terminated).
pub fn write_summary<W: Write>(mut w: W, r: &RunResult) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &summary_value(r))?;
    writeln!(w)?;
    w.flush()
}

/// Every number or null leaf of a JSON tree with its dotted path, in document
/// order: the figures that `sim check`, `sim size` and `sim sweep` address.
pub fn figure_leaves(v: &Value) -> Vec<(String, &Value)> {
    fn walk<'v>(v: &'v Value, path: &mut String, out: &mut Vec<(String, &'v Value)>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(child, path, out);
                    path.truncate(len);
                }
            }
            Value::Number(_) | Value::Null if !path.is_empty() => out.push((path.clone(), v)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut String::new(), &mut out);
    out
}

/// Rounds every float in a JSON tree to three decimals (integers are untouched).
pub fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64().and_then(|x| serde_json::Number::from_f64(round3(x))) {
                *n = x;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_floats),
        Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// Looks up a dotted path (`requests.timed_out`, `latency_ms.p99`) in a JSON tree.
pub fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |cur, seg| match cur {
        Value::Object(m) => m.get(seg),
        _ => None,
    })
}
