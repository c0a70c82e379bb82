//! Comparing a run's summary with a stored ("golden") one.
//!
//! Integers (counts, events, seeds) must be equal; floats may differ by the
//! stated [`Tolerance`], which absorbs last-digit flips of the three-decimal
//! format across platforms' maths libraries; text must be equal. The `version`
//! field is ignored so that a release does not invalidate every golden file.
//! A figure present on one side only is a difference: the golden file is stale
//! and must be refreshed (`sim check --update-golden`) and reviewed.

use serde_json::Value;

use super::{Assertion, Verdict};
use crate::scenario::expect::num;

/// Fields of the summary that are not compared.
pub const IGNORED: &[&str] = &["version"];

/// How far a float may be from its golden value: `abs + rel * |golden|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Absolute part (in the figure's unit).
    pub abs: f64,
    /// Relative part.
    pub rel: f64,
}

impl Default for Tolerance {
    /// One unit of the last written decimal (0.001), plus one part per million.
    fn default() -> Tolerance {
        Tolerance { abs: 0.001, rel: 1e-6 }
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ints exact, floats ± {} + {}×|x|", num(self.abs), num(self.rel))
    }
}

/// Compares `actual` with `golden`; one failing [`Assertion`] per differing
/// figure (in the golden file's order, then the new figures), or one passing
/// assertion when everything matches. `label` names the golden file.
pub fn compare(golden: &Value, actual: &Value, tol: Tolerance, label: &str) -> Vec<Assertion> {
    let mut diffs = Vec::new();
    let mut compared = 0usize;
    walk(golden, actual, "", tol, &mut diffs, &mut compared);
    if diffs.is_empty() {
        return vec![Assertion {
            name: format!("golden {label}"),
            value: format!("{compared} figures"),
            bound: tol.to_string(),
            verdict: Verdict::Pass,
            message: String::new(),
            at: None,
        }];
    }
    diffs
        .into_iter()
        .map(|(path, want, got)| Assertion {
            message: format!("golden {label}: `{path}` is {got}, the golden value is {want}"),
            name: format!("golden {path}"),
            value: got,
            bound: format!("= {want}"),
            verdict: Verdict::Fail,
            at: None,
        })
        .collect()
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

fn walk(
    golden: &Value,
    actual: &Value,
    path: &str,
    tol: Tolerance,
    diffs: &mut Vec<(String, String, String)>,
    compared: &mut usize,
) {
    let child = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (golden, actual) {
        (Value::Object(g), Value::Object(a)) => {
            for (k, gv) in g {
                if path.is_empty() && IGNORED.contains(&k.as_str()) {
                    continue;
                }
                match a.get(k) {
                    Some(av) => walk(gv, av, &child(k), tol, diffs, compared),
                    None => diffs.push((child(k), show(Some(gv)), show(None))),
                }
            }
            for (k, av) in a {
                let ignored = path.is_empty() && IGNORED.contains(&k.as_str());
                if !g.contains_key(k) && !ignored {
                    diffs.push((child(k), show(None), show(Some(av))));
                }
            }
        }
        (Value::Number(g), Value::Number(a)) => {
            *compared += 1;
            let is_int = |n: &serde_json::Number| n.is_i64() || n.is_u64();
            let same = if is_int(g) || is_int(a) {
                is_int(g) && is_int(a) && g.as_i128() == a.as_i128()
            } else {
                match (g.as_f64(), a.as_f64()) {
                    (Some(x), Some(y)) => (x - y).abs() <= tol.abs + tol.rel * x.abs(),
                    _ => false,
                }
            };
            if !same {
                diffs.push((path.to_string(), g.to_string(), a.to_string()));
            }
        }
        (g, a) => {
            *compared += 1;
            if g != a {
                diffs.push((path.to_string(), show(Some(g)), show(Some(a))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verdicts(g: Value, a: Value) -> Vec<(String, Verdict)> {
        compare(&g, &a, Tolerance::default(), "g.json").into_iter().map(|a| (a.name, a.verdict)).collect()
    }

    #[test]
    fn integers_are_exact_and_floats_within_tolerance() {
        let g = json!({"version": "0.1.0", "requests": {"total": 10, "rate": 0.5}, "first": null, "name": "x"});
        let same = json!({"version": "9.9.9", "requests": {"total": 10, "rate": 0.5009}, "first": null, "name": "x"});
        assert_eq!(verdicts(g.clone(), same), [("golden g.json".to_string(), Verdict::Pass)]);
        let off =
            json!({"version": "0.1.0", "requests": {"total": 11, "rate": 0.502}, "first": 3.0, "name": "x", "new": 1});
        let names: Vec<String> = verdicts(g, off).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["golden requests.total", "golden requests.rate", "golden first", "golden new"]);
    }

    #[test]
    fn an_integer_is_not_a_float() {
        let v = verdicts(json!({"n": 1}), json!({"n": 1.0}));
        assert_eq!(v[0].1, Verdict::Fail);
    }
}
