//! Cross-check against real Prometheus: the promtool unit-test files in
//! `tests/fixtures/promtool/` are read here and replayed through this module.
//!
//! Each `*.test.yaml` there passes `promtool test rules` (Prometheus 2.42, Debian's
//! package; `tests/promtool/check.sh` runs it when promtool is installed). This
//! test reads the same file: it expands the `input_series` notation into a
//! [`SeriesStore`], reads the rule file with [`parse_rule_file`], evaluates every
//! `evaluation_interval` from 0, and asserts at each `eval_time` exactly what
//! promtool asserted: the firing alerts with their labels and rendered annotations
//! (`alert_rule_test`), and the pending ones through the `ALERTS` series
//! (`promql_expr_test` on `ALERTS{...}`). The suite so needs no promtool.
//! Full timelines (pending, firing and resolved times), derived by hand and
//! bracketed by the fixture's checks, are asserted too.

use std::collections::BTreeMap;

use super::promql::ast::{ExprKind, MatchOp};
use super::promql::{parse_duration, parse_expr};
use super::series::{Labels, STALE_NAN, Series, SeriesStore};
use super::state::{AlertInstance, EvalConfig, Evaluator, evaluate};
use super::{RuleGroup, parse_rule_file};
use crate::input::yaml::{self, Node, Value};

/// Sorted `(name, value)` pairs.
type Pairs = Vec<(String, String)>;

/// Alerts expected (or found) at one time: sorted (labels, annotations) pairs.
type Found = Vec<(Pairs, Pairs)>;

/// One alert episode in seconds: `(alert, labels but alertname, pending, firing, resolved)`.
type Row = (String, String, i64, Option<i64>, Option<i64>);

struct Fixture {
    groups: Vec<RuleGroup>,
    eval_interval_ms: i64,
    store: SeriesStore,
    /// (eval time, alert name, expected firing alerts)
    alert_tests: Vec<(i64, String, Found)>,
    /// (eval time, `ALERTS{...}` matchers, expected series labels)
    pending_tests: Vec<(i64, Pairs, Vec<Pairs>)>,
}

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/promtool")
}

fn text(n: &Node) -> &str {
    n.as_scalar().unwrap_or_else(|| panic!("expected a scalar at {:?}", n.pos))
}

fn items(n: Option<&Node>) -> &[Node] {
    match n.map(|n| &n.value) {
        Some(Value::Seq(v)) => v,
        _ => &[],
    }
}

fn map(n: Option<&Node>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = match n.map(|n| &n.value) {
        Some(Value::Map(e)) => e.iter().map(|(k, v)| (k.text.clone(), text(v).to_string())).collect(),
        _ => Vec::new(),
    };
    out.sort();
    out
}

/// `name{a="b", ...}` as a metric name and its equality matchers.
fn series_labels(s: &str) -> (String, Vec<(String, String)>) {
    let e = parse_expr(s, None).unwrap_or_else(|e| panic!("{s}: {e}"));
    let ExprKind::Selector(sel) = e.kind else { panic!("{s}: not a selector") };
    let m = sel
        .matchers
        .iter()
        .map(|m| {
            assert_eq!(m.op, MatchOp::Equal, "{s}");
            (m.label.clone(), m.value.clone())
        })
        .collect();
    (sel.name, m)
}

/// promtool's expanding notation: `a+bxN`, `a-bxN`, `axN`, `_`, `_xN`, `stale`, numbers.
fn expand(values: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for tok in values.split_whitespace() {
        if tok == "_" {
            out.push(None);
        } else if tok == "stale" {
            out.push(Some(STALE_NAN));
        } else if let Some(n) = tok.strip_prefix("_x") {
            out.extend(std::iter::repeat_n(None, n.parse().expect(tok)));
        } else if let Some((head, n)) = tok.split_once('x') {
            let n: usize = n.parse().expect(tok);
            // The step's sign is the last `+`/`-` that is not the leading sign.
            let split = head.char_indices().skip(1).filter(|(_, c)| *c == '+' || *c == '-').last();
            let (a, b) = match split {
                Some((i, _)) => (&head[..i], head[i..].trim_start_matches('+')),
                None => (head, "0"),
            };
            let (a, b): (f64, f64) = (a.parse().expect(tok), b.parse().expect(tok));
            out.extend((0..=n).map(|k| Some(a + b * k as f64)));
        } else {
            out.push(Some(tok.parse().expect(tok)));
        }
    }
    out
}

fn load(test_file: &str) -> Fixture {
    let src = std::fs::read_to_string(dir().join(test_file)).unwrap();
    let root = yaml::parse(&src).unwrap();
    let rule_file = text(&items(root.get("rule_files"))[0]).to_string();
    let rules_src = std::fs::read_to_string(dir().join(&rule_file)).unwrap();
    let groups = parse_rule_file(&rule_file, &rules_src, None).unwrap_or_else(|e| panic!("{e}"));
    let eval_interval_ms = parse_duration(text(root.get("evaluation_interval").unwrap())).unwrap();
    let tests = items(root.get("tests"));
    assert_eq!(tests.len(), 1, "one test group per fixture file");
    let t = &tests[0];
    let interval = parse_duration(text(t.get("interval").unwrap())).unwrap();
    let mut store = SeriesStore::new();
    for s in items(t.get("input_series")) {
        let (name, labels) = series_labels(text(s.get("series").unwrap()));
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let samples = expand(text(s.get("values").unwrap()))
            .into_iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (k as i64 * interval, v)))
            .collect();
        store.insert(Series { labels: Labels::metric(&name, &pairs), samples }).unwrap();
    }
    let mut alert_tests = Vec::new();
    for a in items(t.get("alert_rule_test")) {
        let at = parse_duration(text(a.get("eval_time").unwrap())).unwrap();
        let name = text(a.get("alertname").unwrap()).to_string();
        let mut exp: Found = items(a.get("exp_alerts"))
            .iter()
            .map(|e| {
                let mut l = map(e.get("exp_labels"));
                l.push(("alertname".into(), name.clone()));
                l.sort();
                (l, map(e.get("exp_annotations")))
            })
            .collect();
        exp.sort();
        alert_tests.push((at, name, exp));
    }
    let mut pending_tests = Vec::new();
    for p in items(t.get("promql_expr_test")) {
        let (name, matchers) = series_labels(text(p.get("expr").unwrap()));
        assert_eq!(name, "ALERTS", "only ALERTS{{...}} expression tests are replayed");
        let at = parse_duration(text(p.get("eval_time").unwrap())).unwrap();
        let mut exp: Vec<Vec<(String, String)>> =
            items(p.get("exp_samples")).iter().map(|s| series_labels(text(s.get("labels").unwrap())).1).collect();
        exp.iter_mut().for_each(|l| l.sort());
        exp.sort();
        pending_tests.push((at, matchers, exp));
    }
    Fixture { groups, eval_interval_ms, store, alert_tests, pending_tests }
}

fn pairs(l: &Labels) -> Vec<(String, String)> {
    l.pairs().to_vec()
}

/// Replays the fixture's checks against this module's evaluation.
fn replay(test_file: &str) -> Fixture {
    let f = load(test_file);
    let mut times: Vec<i64> = f.alert_tests.iter().map(|a| a.0).chain(f.pending_tests.iter().map(|p| p.0)).collect();
    times.sort();
    times.dedup();
    let end = *times.last().unwrap();
    let cfg = EvalConfig { end_ms: end, default_interval_ms: f.eval_interval_ms, ..EvalConfig::default() };
    let mut ev = Evaluator::new(&f.groups, cfg);
    let mut snapshots: BTreeMap<i64, Vec<AlertInstance>> = BTreeMap::new();
    for &t in &times {
        ev.advance_to(&f.store, t);
        snapshots.insert(t, ev.active());
    }
    for (t, name, exp) in &f.alert_tests {
        let mut got: Found = snapshots[t]
            .iter()
            .filter(|i| &i.alert == name && i.firing_at_ms.is_some())
            .map(|i| {
                let mut a = i.annotations.clone();
                a.sort();
                (pairs(&i.labels), a)
            })
            .collect();
        got.sort();
        assert_eq!(&got, exp, "{test_file}: {name} at {t} ms");
    }
    for (t, matchers, exp) in &f.pending_tests {
        let mut got: Vec<Vec<(String, String)>> = snapshots[t]
            .iter()
            .map(|i| {
                let mut l = i.labels.clone();
                l.set("alertstate", if i.firing_at_ms.is_some() { "firing" } else { "pending" });
                pairs(&l)
            })
            .filter(|l| matchers.iter().all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v)))
            .collect();
        got.sort();
        assert_eq!(&got, exp, "{test_file}: ALERTS{matchers:?} at {t} ms");
    }
    f
}

/// `(alert, labels but alertname, pending s, firing s, resolved s)` of a whole run.
fn timeline(f: &Fixture, end_s: i64) -> Vec<Row> {
    let cfg = EvalConfig { end_ms: end_s * 1000, default_interval_ms: f.eval_interval_ms, ..EvalConfig::default() };
    let r = evaluate(&f.groups, &f.store, &cfg);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.instances
        .iter()
        .map(|i| {
            let mut l = i.labels.clone();
            l.remove("alertname");
            let s = |t: i64| t / 1000;
            (i.alert.clone(), l.to_string(), s(i.pending_at_ms), i.firing_at_ms.map(s), i.resolved_at_ms.map(s))
        })
        .collect()
}

fn row(a: &str, l: &str, p: i64, f: Option<i64>, r: Option<i64>) -> Row {
    (a.into(), l.into(), p, f, r)
}

#[test]
fn promtool_pool_fixture_matches_promtool() {
    let f = replay("pool.test.yaml");
    // The whole run, every 15 s to 10 minutes (seconds).
    let api = "{pool=\"api\"}";
    assert_eq!(
        timeline(&f, 600),
        vec![
            row("PoolSaturated", "{pool=\"api\", severity=\"warning\"}", 120, Some(180), Some(300)),
            row("RequestsWaiting", api, 150, Some(150), Some(300)),
            row("AcquireTimeouts", api, 180, Some(210), Some(420)),
            row("SlowAcquire", api, 195, Some(195), Some(360)),
            row("AcquireP75", api, 210, Some(210), Some(360)),
            row("High5xxRatio", "{severity=\"page\"}", 210, Some(255), Some(345)),
        ]
    );
}

#[test]
fn promtool_fleet_fixture_matches_promtool() {
    let f = replay("fleet.test.yaml");
    let (api, web, tmp) = ("{pool=\"api\"}", "{pool=\"web\"}", "{pool=\"tmp\"}");
    let t = timeline(&f, 900);
    let m = |k: i64| k * 60;
    let want = vec![
        row("IdleUnlessWaiting", web, 0, Some(0), Some(m(2))),
        row("GoFloatBig", "{}", 0, Some(0), None),
        row("GoFloatPlain", "{}", 0, Some(0), None),
        row("GoFloatSmall", "{}", 0, Some(0), None),
        row("LatencyMedian", "{}", 0, Some(0), None),
        row("LatencyP90", "{}", 0, Some(0), None),
        row("RequestCount", "{status=\"200\"}", m(1), Some(m(1)), None),
        row("RefusalsIncrease", "{}", m(1), Some(m(1)), None),
        row("ManyPoolsBusy", "{}", m(2), Some(m(2)), Some(m(6))),
        row("PoolFullWhileWaiting", api, m(3), Some(m(3)), Some(m(6))),
        // Pending from 3m, dropped at 6m without firing (the `end` of a pending episode).
        row("QueueNotDrained", api, m(3), None, Some(m(6))),
        row("QueueGrowing", api, m(4), Some(m(4)), Some(m(6))),
        row("BusyMostOfWindow", api, m(4), Some(m(5)), Some(m(7))),
        row("BusyMostOfWindow", web, m(4), Some(m(5)), Some(m(6))),
        row("IdleUnlessWaiting", web, m(6), Some(m(6)), None),
        row("PoolFullWhileWaiting", api, m(9), Some(m(9)), Some(m(13))),
        row("ManyPoolsBusy", "{}", m(9), Some(m(9)), Some(m(13))),
        row("UsageShare", api, m(9), Some(m(9)), Some(m(13))),
        row("BusyMostOfWindow", api, m(10), Some(m(11)), Some(m(14))),
        row("UsageShare", tmp, m(13), Some(m(13)), None),
    ];
    assert_eq!(t, want);
}

#[test]
fn promtool_expanding_notation() {
    assert_eq!(expand("1+2x3"), vec![Some(1.0), Some(3.0), Some(5.0), Some(7.0)]);
    assert_eq!(expand("-2+4x1 1-2x2"), vec![Some(-2.0), Some(2.0), Some(1.0), Some(-1.0), Some(-3.0)]);
    assert_eq!(expand("1x2 _ _x2"), vec![Some(1.0), Some(1.0), Some(1.0), None, None, None]);
    assert!(expand("stale")[0].is_some_and(crate::alerts::is_stale));
}
