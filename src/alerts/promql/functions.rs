//! The functions of the subset, as Prometheus 3 computes them.
//!
//! `rate`/`increase`/`delta` follow `extrapolatedRate`: the difference between the
//! first and last samples in the window (plus the value before each counter reset,
//! for counters), extrapolated towards the window's edges when the samples reach
//! within 1.1 average intervals of them (else by half an interval), and never
//! before the counter's extrapolated zero. `histogram_quantile` follows
//! `bucketQuantile` over classic `le` buckets. Every function but `last_over_time`
//! drops the metric name from its result, as Prometheus does.

use super::ast::Func;
use super::value::{Sample, Value, kahan_sum, mean_of};
use crate::alerts::series::{Labels, METRIC_NAME};

/// The value of `abs`, `ceil` or `floor` at `x`.
pub(super) fn unary(func: Func, x: f64) -> f64 {
    match func {
        Func::Abs => x.abs(),
        Func::Ceil => x.ceil(),
        _ => x.floor(),
    }
}

/// `clamp(v, lo, hi)`: no samples when `hi < lo`, as Prometheus.
pub(super) fn clamp(v: Vec<Sample>, lo: f64, hi: f64) -> Value {
    if hi < lo {
        return Value::Vector(Vec::new());
    }
    map(v, |x| go_max(lo, go_min(hi, x)))
}

/// A `*_over_time`, `rate`, `increase`, `delta`, `irate` or `idelta` over one series'
/// samples in `(end - range_ms, end]`; `None` gives no output sample.
pub(super) fn over_range(func: Func, samples: &[(i64, f64)], end: i64, range_ms: i64) -> Option<f64> {
    use Func::*;
    match func {
        Rate => extrapolated_rate(samples, end - range_ms, end, range_ms, true, true),
        Increase => extrapolated_rate(samples, end - range_ms, end, range_ms, true, false),
        Delta => extrapolated_rate(samples, end - range_ms, end, range_ms, false, false),
        Irate => instant_value(samples, true),
        Idelta => instant_value(samples, false),
        MaxOverTime => Some(samples.iter().fold(f64::NAN, |m, p| if p.1 > m || m.is_nan() { p.1 } else { m })),
        MinOverTime => Some(samples.iter().fold(f64::NAN, |m, p| if p.1 < m || m.is_nan() { p.1 } else { m })),
        AvgOverTime => Some(mean_of(samples)),
        SumOverTime => Some(kahan_sum(samples.iter().map(|p| p.1))),
        CountOverTime => Some(samples.len() as f64),
        LastOverTime => samples.last().map(|p| p.1),
        _ => None,
    }
}

pub(super) fn map(v: Vec<Sample>, f: impl Fn(f64) -> f64) -> Value {
    Value::Vector(v.into_iter().map(|s| Sample { labels: s.labels.without_name(), value: f(s.value) }).collect())
}

/// Go's `math.Max`: +Inf wins over NaN, then NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        f64::INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: -Inf wins over NaN, then NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Prometheus' `extrapolatedRate` for float samples in `(range_start, range_end]`.
/// `None` (no output sample) with fewer than two samples.
pub(super) fn extrapolated_rate(
    samples: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (first_t, first_v) = samples[0];
    let (last_t, last_v) = samples[samples.len() - 1];
    let mut result = last_v - first_v;
    if is_counter {
        // A drop is a counter reset: the counter went on from 0, so what it had
        // counted before the drop is added back.
        for w in samples.windows(2) {
            if w[1].1 < w[0].1 {
                result += w[0].1;
            }
        }
    }
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg_step = sampled / (samples.len() - 1) as f64;
    let threshold = avg_step * 1.1;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter {
        // Counters are never negative: do not extrapolate before the counter's zero.
        let mut to_zero = to_start;
        if result > 0.0 && first_v >= 0.0 {
            to_zero = sampled * (first_v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` (per second, counter-aware) and `idelta` from the last two samples.
fn instant_value(samples: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    let [.., (t0, v0), (t1, v1)] = *samples else { return None };
    let dt = t1 - t0;
    if dt == 0 {
        return None;
    }
    // After a counter reset the increase is the new value itself.
    let mut r = if is_rate && v1 < v0 { v1 } else { v1 - v0 };
    if is_rate {
        r /= dt as f64 / 1000.0;
    }
    Some(r)
}

/// `histogram_quantile(q, v)` over classic buckets: samples grouped by their labels
/// without `__name__` and `le`; samples without a parsable `le` are ignored.
pub(super) fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: std::collections::BTreeMap<Labels, Vec<(f64, f64)>> = std::collections::BTreeMap::new();
    for s in v {
        let Some(le) = s.labels.get("le").and_then(parse_go_float) else { continue };
        let mut key = s.labels;
        key.remove(METRIC_NAME);
        key.remove("le");
        groups.entry(key).or_default().push((le, s.value));
    }
    groups.into_iter().map(|(labels, mut buckets)| Sample { labels, value: bucket_quantile(q, &mut buckets) }).collect()
}

/// Parses a float as Go's `strconv.ParseFloat` reads `le` values (`0.5`, `+Inf`, `1e-3`).
fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('+');
    match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Some(if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.parse().ok()
}

/// Prometheus' `bucketQuantile` over `(upper_bound, cumulative_count)` pairs.
pub(super) fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Buckets with the same bound are merged.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    // Float noise (relative 1e-12) that would break monotonicity is ironed out ...
    let mut prev = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        let delta = (b.1 - prev).abs();
        if delta == 0.0 {
            continue;
        }
        if delta / b.1 <= 1e-12 {
            b.1 = prev;
        } else {
            prev = b.1;
        }
    }
    // ... and any remaining decrease is flattened (the "envelope" of the counts).
    let mut max = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let n = merged.len();
    let observations = merged[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // The first bucket whose count reaches the rank (none: the +Inf bucket); a
    // NaN rank reaches none, as in Go's `sort.Search`.
    let b = merged[..n - 1].partition_point(|x| x.1.partial_cmp(&rank).is_none_or(|o| o.is_lt()));
    if b == n - 1 {
        return merged[n - 2].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let (mut start, end, mut count) = (0.0, merged[b].0, merged[b].1);
    if b > 0 {
        start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    start + (end - start) * (rank / count)
}
