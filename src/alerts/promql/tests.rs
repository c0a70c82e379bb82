//! Tests of the PromQL subset: precedence, every refusal, hand-computed results.

use super::ast::{BinOp, ExprKind};
use super::*;
use crate::alerts::series::{Labels, STALE_NAN, Series, SeriesStore};
use crate::alerts::{KnownMetric, MetricKind, known_metrics};

/// `(metric name, labels, samples)`.
type SeriesSpec<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [(i64, f64)]);

fn store(series: &[SeriesSpec]) -> SeriesStore {
    let mut st = SeriesStore::new();
    for (name, labels, samples) in series {
        st.insert(Series { labels: Labels::metric(name, labels), samples: samples.to_vec() }).unwrap();
    }
    st
}

fn run(expr: &str, st: &SeriesStore, t_ms: i64) -> Value {
    let e = parse_expr(expr, None).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
    eval(&e, st, t_ms, DEFAULT_LOOKBACK_MS).unwrap_or_else(|e| panic!("{expr}: {e:?}"))
}

fn scalar(expr: &str) -> f64 {
    match run(expr, &SeriesStore::new(), 0) {
        Value::Scalar(v) => v,
        v => panic!("{expr}: {v:?}"),
    }
}

/// `(labels as "k=v,k=v" without the name, value)`, sorted.
fn vector(expr: &str, st: &SeriesStore, t_ms: i64) -> Vec<(String, f64)> {
    let Value::Vector(v) = run(expr, st, t_ms) else { panic!("{expr}: not a vector") };
    let mut out: Vec<(String, f64)> = v
        .into_iter()
        .map(|s| {
            let l: Vec<String> = s.labels.pairs().iter().map(|(k, v)| format!("{k}={v}")).collect();
            (l.join(","), s.value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn promql_precedence_and_associativity_follow_prometheus() {
    assert_eq!(scalar("1 + 2 * 3"), 7.0);
    assert_eq!(scalar("(1 + 2) * 3"), 9.0);
    assert_eq!(scalar("10 - 2 - 3"), 5.0, "left-associative");
    assert_eq!(scalar("2 ^ 3 ^ 2"), 512.0, "`^` is right-associative");
    assert_eq!(scalar("-2 ^ 2"), -4.0, "unary minus binds looser than `^`");
    assert_eq!(scalar("-2 * 3 + 1"), -5.0);
    assert_eq!(scalar("2 ^ -1"), 0.5);
    assert_eq!(scalar("7 % 4 * 2"), 6.0);
    assert_eq!(scalar("-7 % 4"), -3.0, "the sign of the dividend, as Go's math.Mod");
    assert_eq!(scalar("1 + 2 > bool 2"), 1.0, "comparisons bind looser than `+`");
    assert_eq!(scalar("1 < bool 2 == bool 1"), 1.0);
    assert_eq!(scalar("+3"), 3.0);
    assert_eq!(scalar("0x10 + 1e1 + .5"), 26.5);
    assert!(scalar("NaN == bool NaN") == 0.0);
    assert_eq!(scalar("1 / 0"), f64::INFINITY);
    // `and` binds tighter than `or`.
    let e = parse_expr("a or b and c", None).unwrap();
    let ExprKind::Binary(b) = &e.kind else { panic!() };
    assert_eq!(b.op, BinOp::Or);
    assert!(matches!(&b.rhs.kind, ExprKind::Binary(r) if r.op == BinOp::And));
    // Spans cover the text of each node.
    let e = parse_expr("sum by (pool) (rate(m[5m])) > 1", None).unwrap();
    let ExprKind::Binary(b) = &e.kind else { panic!() };
    assert_eq!((b.lhs.span.start, b.lhs.span.end), (0, 27));
    assert_eq!((e.span.start, e.span.end), (0, 31));
}

#[test]
fn promql_accepts_the_documented_forms() {
    for ok in [
        "db_pool_waiting_requests > 0",
        "sum without (pool) (db_pool_used_size)",
        "max(db_pool_used_size) by (pool)",
        "histogram_quantile(0.99, sum by (le, pool) (rate(db_pool_acquire_seconds_bucket[5m]))) > 0.5",
        "increase(db_pool_exhaustion_total{pool=~\"api|web\"}[1m] offset 30s) > 0",
        "db_pool_used_size / on(pool) db_pool_max_size >= 0.9",
        "db_pool_used_size / ignoring(pool) group_left db_connections_usable",
        "rate(http_requests_total{status=~\"5..\"}[1m]) / ignoring(status) group_left sum without (status) (rate(http_requests_total[1m]))",
        "db_pool_free_size == bool 0 unless db_pool_waiting_requests == 0",
        "clamp(db_pool_used_size, 0, 10) and vector(1) or absent_metric_guard",
        "scalar(sum(db_pool_used_size)) * 2 + time()",
        "db_pool_waiting_requests offset -1m",
        "count(db_pool_used_size{pool!=\"x\", pool!~\"y.*\",}) > 1 # a comment",
        "SUM BY (pool) (db_pool_used_size) > 1 AND db_pool_used_size",
    ] {
        let r = if ok.contains("absent_metric_guard") {
            parse_expr(ok, None)
        } else {
            parse_expr(ok, Some(&known_metrics()))
        };
        assert!(r.is_ok(), "{ok}: {r:?}");
    }
}

#[test]
fn promql_every_refusal_is_located_and_says_what_is_supported() {
    let metrics = known_metrics();
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "the expression is empty"),
        (
            "predict_linear(db_pool_used_size[5m], 60) > 5",
            0,
            "unsupported function `predict_linear`; supported: abs, avg_over_time",
        ),
        ("rat(db_pool_exhaustion_total[5m])", 0, "unknown function `rat` (did you mean `rate`?)"),
        ("topk(3, db_pool_used_size)", 0, "unsupported aggregation `topk`; supported: sum, min, max, avg, count"),
        (
            "db_pool_used_sise > 3",
            0,
            "unknown metric `db_pool_used_sise` (did you mean `db_pool_used_size`?); known metrics:",
        ),
        (
            "db_pool_acquire_seconds > 1",
            0,
            "`db_pool_acquire_seconds` is a histogram: select `db_pool_acquire_seconds_bucket`",
        ),
        (
            "db_pool_used_size{poool=\"a\"}",
            18,
            "metric `db_pool_used_size` has no label `poool` (did you mean `pool`?); its labels: pool, instance, pod, worker",
        ),
        ("db_connections_open{pool=\"a\"}", 20, "metric `db_connections_open` has no label `pool`; it has no labels"),
        (
            "max_over_time(rate(db_pool_exhaustion_total[1m])[5m:30s])",
            48,
            "subqueries (`expr[range:step]`) are not supported",
        ),
        ("rate(db_pool_exhaustion_total[5m:])", 32, "subqueries"),
        ("db_pool_used_size @ 100", 18, "the `@` modifier is not supported"),
        (
            "rate(db_pool_exhaustion_total)",
            5,
            "expected type range vector in call to function `rate`, got instant vector (write e.g. `rate(m[5m])`)",
        ),
        ("abs(db_pool_used_size[5m])", 4, "expected type instant vector in call to function `abs`, got range vector"),
        (
            "histogram_quantile(db_pool_used_size, 0.9)",
            19,
            "expected type scalar in call to function `histogram_quantile`, got instant vector (the quantile comes first",
        ),
        ("rate(db_pool_exhaustion_total[5m], 1)", 0, "function `rate` takes 1 argument, got 2"),
        ("sum(db_pool_used_size[5m])", 4, "expected type instant vector in aggregation expression, got range vector"),
        ("db_pool_used_size[5m]", 0, "must give an instant vector or a scalar, not a range vector"),
        (
            "db_pool_used_size[5m] > 1",
            0,
            "binary expression must contain only scalar and instant vector types, got range vector",
        ),
        ("\"abc\"", 0, "not a string"),
        ("1 > 2", 2, "comparisons between scalars must use BOOL modifier"),
        ("1 and db_pool_used_size", 2, "set operator \"and\" not allowed in binary scalar expression"),
        ("db_pool_used_size + bool 1", 20, "bool modifier can only be used on comparison operators"),
        ("db_pool_used_size + on(pool) 1", 20, "vector matching only allowed between instant vectors"),
        (
            "db_pool_used_size and on(pool) group_left db_pool_free_size",
            31,
            "no grouping allowed for \"and\" operation",
        ),
        (
            "db_pool_used_size / on(pool) group_left(pool) db_pool_free_size",
            29,
            "label \"pool\" must not occur in ON and GROUP clause at once",
        ),
        ("db_pool_used_size / group_left db_pool_free_size", 20, "must follow `on(...)` or `ignoring(...)`"),
        ("(db_pool_used_size)[5m]", 19, "ranges are only allowed on vector selectors"),
        ("db_pool_used_size offset 1m [5m]", 28, "a range must come before `offset`"),
        ("sum(db_pool_used_size) offset 1m", 23, "offset modifier must be preceded by an instant vector selector"),
        ("db_pool_used_size[0s]", 18, "longer than zero"),
        ("db_pool_used_size[300]", 18, "a range needs a unit"),
        ("db_pool_used_size{pool=~\"(?i)api\"}", 24, "regex for label `pool`: regex flags"),
        ("db_pool_used_size{pool==\"a\"}", 22, "label matchers use `=`, not `==`"),
        ("db_pool_used_size{pool=a}", 23, "expected a quoted string as the value of label `pool`"),
        ("{pool=\"a\"}", 0, "a selector needs a metric name"),
        ("{__name__=~\"db_.*\"}", 1, "only `__name__=\"...\"` is supported"),
        ("sum by (pool) (db_pool_used_size) by (pool)", 34, "the grouping (`by`/`without`) is given twice"),
        ("sum(db_pool_used_size, 1)", 21, "this aggregation takes one argument"),
        ("db_pool_used_size > 1)", 21, "unexpected `)` after the end of the expression"),
        ("(db_pool_used_size > 1", 22, "expected `)`, found the end of the expression"),
        ("db_pool_used_size >", 19, "unexpected end of the expression"),
        ("db_pool_used_size && 1", 18, "unexpected character `&` (PromQL writes `and`, `or`, `unless`)"),
        ("db_pool_used_size atan2 1", 18, "the `atan2` operator is not supported"),
        ("5m > 1", 0, "a duration (`5m`) is not a value here"),
        ("db_pool_used_size offset 1m offset 2m", 28, "unexpected `offset`"),
        ("by", 0, "unexpected keyword `by`"),
        ("- db_pool_used_size[5m]", 2, "unary expression only allowed on expressions of type scalar or instant vector"),
    ];
    for &(src, at, want) in cases {
        let e = parse_expr(src, Some(&metrics)).expect_err(src);
        assert!(e.message.contains(want), "{src}: {:?} does not contain {want:?}", e.message);
        assert_eq!(e.span.start, at, "{src}: {}", e.message);
    }
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(parse_expr(&deep, None).unwrap_err().message.contains("nests deeper"));
    let long = "1".to_string() + &" + 1".repeat(5000);
    assert!(parse_expr(&long, None).unwrap_err().message.contains("more than 200 operators"));
    assert_eq!(scalar(&("1".to_string() + &" + 1".repeat(199))), 200.0);
    let deep_neg = "-".repeat(500) + "1";
    assert!(parse_expr(&deep_neg, None).unwrap_err().message.contains("nests deeper"));
}

#[test]
fn promql_rate_and_increase_extrapolate_as_prometheus() {
    // A counter scraped every 15 s; rate over 1m at t = 60 s sees 15, 30, 45, 60.
    let st = store(&[("c", &[], &[(0, 0.0), (15_000, 10.0), (30_000, 20.0), (45_000, 30.0), (60_000, 40.0)])]);
    // (0, 60]: first 15 s in, sampled 45 s, avg 15 s: extrapolated 15 s to the start
    // (within 1.1 × 15 s); the counter's zero is exactly 15 s back too. 30 × 60/45 = 40.
    assert!(close(vector("increase(c[1m])", &st, 60_000)[0].1, 40.0));
    assert!(close(vector("rate(c[1m])", &st, 60_000)[0].1, 40.0 / 60.0));
    assert_eq!(vector("rate(c[1m])", &st, 60_000)[0].0, "", "rate drops the metric name");
    // The counter's zero is nearer than the window start: no extrapolation below 0.
    let st = store(&[("c", &[], &[(15_000, 2.0), (30_000, 12.0), (45_000, 22.0), (60_000, 32.0)])]);
    // result 30, zero 45 × 2/30 = 3 s before the first sample: 30 × 48/45 = 32.
    assert!(close(vector("increase(c[1m])", &st, 60_000)[0].1, 32.0));
    // A counter reset adds the value before the drop: 15 - 10 + 20 = 25, × 60/45.
    let st = store(&[("c", &[], &[(15_000, 10.0), (30_000, 20.0), (45_000, 5.0), (60_000, 15.0)])]);
    assert!(close(vector("increase(c[1m])", &st, 60_000)[0].1, 25.0 * 60.0 / 45.0));
    // Missing samples at the end: 15 s short of it (within the threshold): × 60/30.
    let st = store(&[("c", &[], &[(15_000, 10.0), (30_000, 20.0), (45_000, 30.0)])]);
    assert!(close(vector("increase(c[1m])", &st, 60_000)[0].1, 40.0));
    // Samples far from the start (30 s > 1.1 × 15 s): only half an interval, 7.5 s.
    let st = store(&[("c", &[], &[(30_000, 20.0), (45_000, 30.0)])]);
    assert!(close(vector("increase(c[1m])", &st, 60_000)[0].1, 10.0 * (15.0 + 7.5 + 15.0) / 15.0));
    // `delta` does not treat drops as resets and does not stop at zero.
    let st = store(&[("g", &[], &[(15_000, 10.0), (30_000, 20.0), (45_000, 5.0), (60_000, 15.0)])]);
    assert!(close(vector("delta(g[1m])", &st, 60_000)[0].1, 5.0 * 60.0 / 45.0));
    // One sample: no result.
    assert!(vector("rate(g[10s])", &st, 60_000).is_empty());
    // irate / idelta use the last two samples; irate after a reset takes the new value.
    assert!(close(vector("irate(g[1m])", &st, 60_000)[0].1, 10.0 / 15.0));
    assert!(close(vector("irate(g[1m])", &st, 45_000)[0].1, 5.0 / 15.0));
    assert!(close(vector("idelta(g[1m])", &st, 45_000)[0].1, -15.0));
}

#[test]
fn promql_ranges_are_left_open_as_in_prometheus_3() {
    let st = store(&[("c", &[], &[(0, 0.0), (15_000, 10.0), (30_000, 20.0), (45_000, 30.0), (60_000, 40.0)])]);
    // The sample at exactly t - 1m (t = 0) is out of the window.
    assert_eq!(vector("count_over_time(c[1m])", &st, 60_000)[0].1, 4.0);
    assert_eq!(vector("count_over_time(c[45s])", &st, 60_000)[0].1, 3.0, "15 s is out, 30 s in");
    assert_eq!(vector("count_over_time(c[1m] offset 15s)", &st, 75_000)[0].1, 4.0);
    assert_eq!(vector("c offset 1m", &st, 60_000)[0].1, 0.0);
}

#[test]
fn promql_over_time_functions() {
    let st = store(&[("g", &[("pool", "a")], &[(10_000, 3.0), (20_000, 1.0), (30_000, 8.0), (40_000, f64::NAN)])]);
    assert_eq!(vector("max_over_time(g[35s])", &st, 30_000), vec![("pool=a".into(), 8.0)]);
    assert_eq!(vector("min_over_time(g[35s])", &st, 30_000)[0].1, 1.0);
    assert_eq!(vector("sum_over_time(g[35s])", &st, 30_000)[0].1, 12.0);
    assert_eq!(vector("avg_over_time(g[35s])", &st, 30_000)[0].1, 4.0);
    assert_eq!(vector("count_over_time(g[35s])", &st, 30_000)[0].1, 3.0);
    assert_eq!(vector("last_over_time(g[35s])", &st, 30_000), vec![("__name__=g,pool=a".into(), 8.0)]);
    // NaN in the window: max keeps the numbers (a NaN accumulator is replaced).
    assert_eq!(vector("max_over_time(g[35s])", &st, 40_000)[0].1, 8.0);
    assert!(vector("avg_over_time(g[35s])", &st, 40_000)[0].1.is_nan());
    // A sum that overflows switches to the incremental mean, as Prometheus does.
    let big = store(&[("g", &[], &[(0, f64::MAX), (1000, f64::MAX), (2000, -f64::MAX)])]);
    assert!(close(vector("avg_over_time(g[1m])", &big, 2000)[0].1, f64::MAX / 3.0));
}

#[test]
fn promql_histogram_quantile_interpolates_within_buckets() {
    let b = |le: &'static str, n: f64| -> (&'static str, Vec<(&'static str, &'static str)>, f64) {
        ("h_bucket", vec![("le", le), ("pool", "a")], n)
    };
    let mut st = SeriesStore::new();
    for (name, labels, n) in [b("0.1", 10.0), b("0.5", 30.0), b("1", 40.0), b("+Inf", 50.0)] {
        st.append(&Labels::metric(name, &labels), 1000, n).unwrap();
    }
    let q = |q: &str| vector(&format!("histogram_quantile({q}, h_bucket)"), &st, 1000);
    // rank 25 falls in (0.1, 0.5]: 0.1 + 0.4 × (25 - 10) / 20 = 0.4.
    assert_eq!(q("0.5"), vec![("pool=a".into(), 0.4)]);
    // In the first bucket, from 0: 0.1 × 2.5 / 10.
    assert!(close(q("0.05")[0].1, 0.025));
    // In the +Inf bucket: the highest finite bound.
    assert_eq!(q("0.9")[0].1, 1.0);
    assert_eq!(q("1.5")[0].1, f64::INFINITY);
    assert_eq!(q("-1")[0].1, f64::NEG_INFINITY);
    assert!(q("NaN")[0].1.is_nan());
    // A decreasing bucket count is flattened (monotonicity fix): le=1 reads 30.
    let mut st2 = SeriesStore::new();
    for (le, n) in [("0.1", 10.0), ("0.5", 30.0), ("1", 25.0), ("+Inf", 40.0)] {
        st2.append(&Labels::metric("h_bucket", &[("le", le)]), 0, n).unwrap();
    }
    // rank 36 (0.9 × 40): beyond le=1 (30) → the +Inf bucket → 1.
    assert_eq!(vector("histogram_quantile(0.9, h_bucket)", &st2, 0)[0].1, 1.0);
    // rank 32: le=1 bucket holds 30 after the fix, so +Inf too → 1.
    assert_eq!(vector("histogram_quantile(0.8, h_bucket)", &st2, 0)[0].1, 1.0);
    // rank 20: in (0.1, 0.5]: 0.1 + 0.4 × 10/20.
    assert!(close(vector("histogram_quantile(0.5, h_bucket)", &st2, 0)[0].1, 0.3));
    // No +Inf bucket: NaN. No observations: NaN.
    let mut st3 = SeriesStore::new();
    st3.append(&Labels::metric("h_bucket", &[("le", "1")]), 0, 5.0).unwrap();
    assert!(vector("histogram_quantile(0.5, h_bucket)", &st3, 0)[0].1.is_nan());
}

#[test]
fn promql_aggregations_group_by_labels() {
    let st = store(&[
        ("m", &[("pool", "a"), ("pod", "1")], &[(0, 1.0)]),
        ("m", &[("pool", "a"), ("pod", "2")], &[(0, 2.0)]),
        ("m", &[("pool", "b"), ("pod", "1")], &[(0, 5.0)]),
    ]);
    assert_eq!(vector("sum by (pool) (m)", &st, 0), vec![("pool=a".into(), 3.0), ("pool=b".into(), 5.0)]);
    assert_eq!(vector("sum(m) by (pool)", &st, 0), vec![("pool=a".into(), 3.0), ("pool=b".into(), 5.0)]);
    assert_eq!(vector("max without (pod) (m)", &st, 0), vec![("pool=a".into(), 2.0), ("pool=b".into(), 5.0)]);
    assert_eq!(vector("min by (pod) (m)", &st, 0), vec![("pod=1".into(), 1.0), ("pod=2".into(), 2.0)]);
    assert_eq!(vector("avg by (pool) (m)", &st, 0), vec![("pool=a".into(), 1.5), ("pool=b".into(), 5.0)]);
    assert_eq!(vector("count(m)", &st, 0), vec![("".into(), 3.0)]);
    assert_eq!(vector("sum by (nope) (m)", &st, 0), vec![("".into(), 8.0)]);
    assert!(vector("sum(m{pool=\"zzz\"})", &st, 0).is_empty(), "no input, no output");
}

#[test]
fn promql_comparisons_filter_unless_bool() {
    let st = store(&[("m", &[("pool", "a")], &[(0, 1.0)]), ("m", &[("pool", "b")], &[(0, 5.0)])]);
    assert_eq!(vector("m > 2", &st, 0), vec![("__name__=m,pool=b".into(), 5.0)], "keeps name and value");
    assert_eq!(
        vector("2 < m", &st, 0),
        vec![("__name__=m,pool=b".into(), 5.0)],
        "the vector's value, scalar on the left"
    );
    assert_eq!(vector("m > bool 2", &st, 0), vec![("pool=a".into(), 0.0), ("pool=b".into(), 1.0)]);
    assert_eq!(vector("m + 1", &st, 0), vec![("pool=a".into(), 2.0), ("pool=b".into(), 6.0)]);
    assert_eq!(vector("-m", &st, 0)[0], ("pool=a".into(), -1.0));
    assert_eq!(vector("m == m", &st, 0).len(), 2);
    assert_eq!(vector("m != bool m", &st, 0), vec![("pool=a".into(), 0.0), ("pool=b".into(), 0.0)]);
    assert_eq!(vector("clamp_max(m, 3)", &st, 0), vec![("pool=a".into(), 1.0), ("pool=b".into(), 3.0)]);
    assert!(vector("clamp(m, 3, 2)", &st, 0).is_empty(), "min above max: nothing");
    assert_eq!(vector("abs(-m)", &st, 0)[1].1, 5.0);
}

#[test]
fn promql_vector_matching() {
    let st = store(&[
        ("used", &[("pool", "a")], &[(0, 9.0)]),
        ("used", &[("pool", "b")], &[(0, 2.0)]),
        ("size", &[("pool", "a")], &[(0, 10.0)]),
        ("size", &[("pool", "c")], &[(0, 10.0)]),
        ("limit", &[], &[(0, 20.0)]),
        ("req", &[("status", "200")], &[(0, 90.0)]),
        ("req", &[("status", "503")], &[(0, 10.0)]),
    ]);
    assert_eq!(vector("used / size", &st, 0), vec![("pool=a".into(), 0.9)]);
    assert_eq!(vector("used / on(pool) size > 0.5", &st, 0), vec![("pool=a".into(), 0.9)]);
    assert_eq!(vector("used > on(pool) size - 2", &st, 0), vec![("pool=a".into(), 9.0)]);
    assert_eq!(
        vector("used / ignoring(pool) group_left limit", &st, 0),
        vec![("pool=a".into(), 0.45), ("pool=b".into(), 0.1)]
    );
    assert_eq!(
        vector("limit / ignoring(pool) group_right used", &st, 0),
        vec![("pool=a".into(), 20.0 / 9.0), ("pool=b".into(), 10.0)]
    );
    assert_eq!(
        vector("req / ignoring(status) group_left sum(req)", &st, 0),
        vec![("status=200".into(), 0.9), ("status=503".into(), 0.1)]
    );
    assert_eq!(vector("used and size", &st, 0), vec![("__name__=used,pool=a".into(), 9.0)]);
    assert_eq!(vector("used unless size", &st, 0), vec![("__name__=used,pool=b".into(), 2.0)]);
    assert_eq!(vector("used or size", &st, 0).len(), 3);
    assert_eq!(vector("used and on() limit", &st, 0).len(), 2);
    // Many-to-many is refused as Prometheus refuses it.
    let e = eval(&parse_expr("used / ignoring(pool) size", None).unwrap(), &st, 0, DEFAULT_LOOKBACK_MS).unwrap_err();
    assert!(e.message.contains("many-to-many matching not allowed"), "{}", e.message);
    let e = eval(&parse_expr("limit / ignoring(pool) used", None).unwrap(), &st, 0, DEFAULT_LOOKBACK_MS).unwrap_err();
    assert!(e.message.contains("many-to-many matching not allowed"), "{}", e.message);
    let e = eval(&parse_expr("size / ignoring(pool) limit", None).unwrap(), &st, 0, DEFAULT_LOOKBACK_MS).unwrap_err();
    assert!(e.message.contains("many-to-one matching must be explicit"), "{}", e.message);
}

#[test]
fn promql_selectors_look_back_five_minutes_and_stop_at_staleness() {
    let st = store(&[
        ("g", &[("pool", "a")], &[(0, 1.0), (60_000, 2.0)]),
        ("g", &[("pool", "b")], &[(0, 1.0), (30_000, STALE_NAN)]),
    ]);
    assert_eq!(vector("g", &st, 10_000).len(), 2);
    assert_eq!(vector("g", &st, 30_000), vec![("__name__=g,pool=a".into(), 1.0)], "b is stale");
    assert_eq!(vector("g", &st, 359_999), vec![("__name__=g,pool=a".into(), 2.0)]);
    assert!(vector("g", &st, 360_000).is_empty(), "exactly 5 minutes old: out (left-open, Prometheus 3)");
    assert!(vector("g", &st, -1).is_empty());
    assert_eq!(vector("g{pool=~\"a|c\"}", &st, 10_000).len(), 1);
    assert_eq!(vector("g{pool!~\"a\"}", &st, 10_000).len(), 1);
    assert_eq!(vector("g{missing=\"\"}", &st, 10_000).len(), 2, "an absent label matches the empty string");
    assert_eq!(vector("count_over_time(g[1h])", &st, 60_000), vec![("pool=a".into(), 2.0), ("pool=b".into(), 1.0)]);
    assert_eq!(vector("vector(1)", &st, 0), vec![("".into(), 1.0)]);
    assert!(matches!(run("scalar(g)", &st, 10_000), Value::Scalar(v) if v.is_nan()), "two samples: NaN");
    assert_eq!(run("scalar(g{pool=\"a\"})", &st, 10_000), Value::Scalar(1.0));
    assert_eq!(run("time()", &st, 90_500), Value::Scalar(90.5));
}

#[test]
fn promql_scalar_of_many_is_nan() {
    let st = store(&[("g", &[("pool", "a")], &[(0, 1.0)]), ("g", &[("pool", "b")], &[(0, 1.0)])]);
    assert!(matches!(run("scalar(g)", &st, 0), Value::Scalar(v) if v.is_nan()));
}

#[test]
fn promql_catalogue_accepts_histogram_series_and_le() {
    let m = [KnownMetric::new("lat", MetricKind::Histogram, &["pool"])];
    assert!(parse_expr("lat_bucket{le=\"0.5\", pool=\"a\"}", Some(&m)).is_ok());
    assert!(parse_expr("lat_count + lat_sum", Some(&m)).is_ok());
    assert!(parse_expr("lat_sum{le=\"1\"}", Some(&m)).is_err());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "db_pool_used_size",
        "m",
        "rate(",
        "sum",
        " by ",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "5m",
        "1h30m",
        ":",
        ",",
        "\"a\"",
        "'x",
        "=",
        "=~",
        "!~",
        "!=",
        "==",
        ">",
        "<=",
        " bool ",
        " and ",
        " or ",
        " unless ",
        " on",
        " ignoring",
        " group_left",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "1",
        "0.5",
        "NaN",
        "Inf",
        " offset ",
        "@",
        "histogram_quantile(",
        "le",
        "#",
        "\n",
        " ",
        "pool",
        "`",
        "\\",
        "avg_over_time(",
        "count",
        "without",
        "vector(",
        "scalar(",
        "x_bucket",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]
        #[test]
        fn promql_parser_never_panics_on_token_soup(idx in proptest::collection::vec(0..PIECES.len(), 0..30)) {
            let src: String = idx.iter().map(|&i| PIECES[i]).collect();
            let st = store(&[("m", &[("pool", "a")], &[(0, 1.0), (15_000, 3.0)]), ("m", &[("pool", "b")], &[(0, 2.0)])]);
            if let Ok(e) = parse_expr(&src, None) {
                let _ = eval(&e, &st, 15_000, DEFAULT_LOOKBACK_MS);
            }
            let _ = parse_expr(&src, Some(&known_metrics()));
        }

        #[test]
        fn promql_parser_never_panics_on_random_text(src in "\\PC{0,60}") {
            let _ = parse_expr(&src, None);
        }

        #[test]
        fn promql_regex_never_panics(p in "[a-c.*+?|()\\[\\]^$\\\\{},0-9-]{0,20}", s in "[a-c0-9]{0,12}") {
            if let Ok(r) = regex::Regex::new(&p) {
                let _ = r.is_match(&s);
            }
        }
    }
}
