//! The values an expression evaluates to, and the compensated arithmetic
//! Prometheus 3 sums and averages with (shared by the operators in `eval.rs`
//! and the functions in `functions.rs`).

use super::ast::Span;
use crate::alerts::series::Labels;

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Its labels (the metric name is gone after most operations).
    pub labels: Labels,
    /// Its value.
    pub value: f64,
}

/// The result of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// An instant vector.
    Vector(Vec<Sample>),
}

impl Value {
    /// The result as an instant vector; a scalar becomes one sample without labels,
    /// as Prometheus' rule manager does.
    pub fn into_vector(self) -> Vec<Sample> {
        match self {
            Value::Scalar(v) => vec![Sample { labels: Labels::default(), value: v }],
            Value::Vector(v) => v,
        }
    }
}

/// A problem found while evaluating (the expression parsed, but the data make the
/// operation undefined, e.g. duplicate series on the "one" side of a match).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// The operation that failed.
    pub span: Span,
    /// What went wrong.
    pub message: String,
}

/// Neumaier-compensated addition (Prometheus' `kahansum.Inc`): returns the new sum
/// and compensation; an infinite sum resets the compensation.
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    if t.is_infinite() {
        (t, 0.0)
    } else if sum.abs() >= inc.abs() {
        (t, c + ((sum - t) + inc))
    } else {
        (t, c + ((inc - t) + sum))
    }
}

/// Running mean as Prometheus 3 computes `avg` and `avg_over_time`: a compensated
/// sum divided at the end, switching to an incremental mean if the sum overflows.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Mean {
    sum: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl Mean {
    pub(super) fn add(&mut self, v: f64) {
        self.count += 1.0;
        if self.count == 1.0 {
            self.sum = v;
            return;
        }
        if !self.incremental {
            let (s, c) = kahan_inc(v, self.sum, self.c);
            if !s.is_infinite() {
                self.sum = s;
                self.c = c;
                return;
            }
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        let (m, c) = kahan_inc(v / self.count, q * self.mean, q * self.c);
        self.mean = m;
        self.c = c;
    }

    pub(super) fn value(&self) -> f64 {
        if self.incremental { self.mean + self.c } else { self.sum / self.count + self.c / self.count }
    }
}

/// The mean of `values` as [`Mean`] computes it, with a fast path: when the
/// compensated running sum ends finite it never overflowed (an infinite sum stays
/// infinite or turns NaN), so the direct mean is the answer without the per-value
/// overflow checks. Long windows (`avg_over_time(m[1h])` at 1 s samples) spend
/// their time here.
pub(super) fn mean_of(values: &[(i64, f64)]) -> f64 {
    let Some((&(_, first), rest)) = values.split_first() else { return f64::NAN };
    let (mut s, mut c) = (first, 0.0);
    for &(_, v) in rest {
        (s, c) = kahan_inc(v, s, c);
    }
    if s.is_finite() {
        let n = values.len() as f64;
        return s / n + c / n;
    }
    let mut m = Mean::default();
    values.iter().for_each(|p| m.add(p.1));
    m.value()
}

/// Sum with compensation, as `sum` and `sum_over_time`.
pub(super) fn kahan_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for v in values {
        (s, c) = kahan_inc(v, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}
