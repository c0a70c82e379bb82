//! Evaluation of a parsed expression at one instant, with Prometheus 3's semantics.
//!
//! - Instant selectors take each matching series' latest sample in
//!   `(t - offset - lookback, t - offset]`, unless that sample is a staleness marker.
//! - Binary operators: scalar/scalar, vector/scalar and vector/vector with
//!   one-to-one or `group_left`/`group_right` matching on all labels but the metric
//!   name (or `on`/`ignoring` lists). Arithmetic drops the metric name; comparisons
//!   keep the left sample (its value and labels) when true and drop it when false,
//!   unless `bool` turns the result into 1/0 (and drops the name). Matching errors
//!   are Prometheus' ("many-to-many matching not allowed", ...).
//! - `and`/`or`/`unless` match on label sets without the metric name and keep the
//!   samples as they are.
//! - Aggregations group by the `by` labels (or all but the `without` labels and the
//!   name), `sum`/`avg` with Neumaier-compensated sums as Prometheus 3 does.
//!
//! Invariant: evaluation never panics and is deterministic: vectors keep the store's
//! series order, aggregation groups come out sorted by their labels.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::ast::*;
use super::functions;
use super::value::{EvalError, Mean, Sample, Value, kahan_inc};
use crate::alerts::series::{Labels, METRIC_NAME, SeriesStore, is_stale};

/// The series of a range selector: labels and samples in the window (no markers).
pub(super) type RangeSeries<'s> = Vec<(&'s Labels, Cow<'s, [(i64, f64)]>)>;

pub(super) struct Ctx<'s> {
    pub store: &'s SeriesStore,
    pub t_ms: i64,
    pub lookback_ms: i64,
}

/// Evaluates `expr` at `t_ms` over `store`, looking back `lookback_ms` for instant
/// selectors (Prometheus' default is [`super::DEFAULT_LOOKBACK_MS`]).
pub fn eval(expr: &Expr, store: &SeriesStore, t_ms: i64, lookback_ms: i64) -> Result<Value, EvalError> {
    Ctx { store, t_ms, lookback_ms }.eval(expr)
}

impl<'s> Ctx<'s> {
    fn eval(&self, e: &Expr) -> Result<Value, EvalError> {
        match &e.kind {
            ExprKind::Number(v) => Ok(Value::Scalar(*v)),
            ExprKind::Paren(inner) => self.eval(inner),
            ExprKind::Neg(inner) => Ok(match self.eval(inner)? {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Vector(v) => Value::Vector(
                    v.into_iter().map(|s| Sample { labels: s.labels.without_name(), value: -s.value }).collect(),
                ),
            }),
            ExprKind::Selector(sel) => Ok(Value::Vector(self.instant(sel))),
            ExprKind::Binary(b) => self.binary(b, e.span),
            ExprKind::Aggregate(a) => {
                let Value::Vector(v) = self.eval(&a.expr)? else {
                    return Err(EvalError { span: a.expr.span, message: "aggregation of a scalar".into() });
                };
                Ok(Value::Vector(aggregate(a, v)))
            }
            ExprKind::Call { func, args } => self.call(*func, args, e.span),
            // The parser refuses these at the top and as operands; kept total for safety.
            ExprKind::Str(_) | ExprKind::Range { .. } => {
                Err(EvalError { span: e.span, message: "a string or range vector cannot be evaluated here".into() })
            }
        }
    }

    /// A function call: its arguments evaluated here, its arithmetic in `functions.rs`.
    fn call(&self, func: Func, args: &[Expr], span: Span) -> Result<Value, EvalError> {
        use Func::*;
        let arg = |i: usize| args.get(i).ok_or(EvalError { span, message: "missing argument".into() });
        match func {
            Time => Ok(Value::Scalar(self.t_ms as f64 / 1000.0)),
            Vector => Ok(Value::Vector(vec![Sample { labels: Labels::default(), value: self.scalar(arg(0)?)? }])),
            Scalar => {
                let v = self.vector(arg(0)?)?;
                Ok(Value::Scalar(if v.len() == 1 { v[0].value } else { f64::NAN }))
            }
            Abs | Ceil | Floor => Ok(functions::map(self.vector(arg(0)?)?, |x| functions::unary(func, x))),
            Clamp | ClampMin | ClampMax => {
                let v = self.vector(arg(0)?)?;
                let (lo, hi) = match func {
                    Clamp => (self.scalar(arg(1)?)?, self.scalar(arg(2)?)?),
                    ClampMin => (self.scalar(arg(1)?)?, f64::INFINITY),
                    _ => (f64::NEG_INFINITY, self.scalar(arg(1)?)?),
                };
                Ok(functions::clamp(v, lo, hi))
            }
            HistogramQuantile => {
                let q = self.scalar(arg(0)?)?;
                Ok(Value::Vector(functions::histogram_quantile(q, self.vector(arg(1)?)?)))
            }
            _ => {
                let a = arg(0)?;
                let ExprKind::Range { selector, range_ms } = &a.kind else {
                    return Err(EvalError { span: a.span, message: "expected a range vector selector".into() });
                };
                let end = self.t_ms.saturating_sub(selector.offset_ms);
                let mut out = Vec::new();
                for (labels, samples) in self.range(selector, *range_ms) {
                    if let Some(value) = functions::over_range(func, &samples, end, *range_ms) {
                        // Every function but `last_over_time` drops the metric name.
                        let labels = if func == LastOverTime { labels.clone() } else { labels.without_name() };
                        out.push(Sample { labels, value });
                    }
                }
                Ok(Value::Vector(out))
            }
        }
    }

    pub(super) fn scalar(&self, e: &Expr) -> Result<f64, EvalError> {
        match self.eval(e)? {
            Value::Scalar(v) => Ok(v),
            Value::Vector(_) => Err(EvalError { span: e.span, message: "expected a scalar".into() }),
        }
    }

    pub(super) fn vector(&self, e: &Expr) -> Result<Vec<Sample>, EvalError> {
        match self.eval(e)? {
            Value::Vector(v) => Ok(v),
            Value::Scalar(_) => Err(EvalError { span: e.span, message: "expected an instant vector".into() }),
        }
    }

    fn matching<'a>(&'a self, sel: &'a Selector) -> impl Iterator<Item = &'s crate::alerts::Series> + 'a {
        self.store
            .by_name(&sel.name)
            .filter(move |s| sel.matchers.iter().all(|m| m.matches(s.labels.get(&m.label).unwrap_or(""))))
    }

    fn instant(&self, sel: &Selector) -> Vec<Sample> {
        let t = self.t_ms.saturating_sub(sel.offset_ms);
        self.matching(sel)
            .filter_map(|s| s.instant(t, self.lookback_ms).map(|(_, v)| Sample { labels: s.labels.clone(), value: v }))
            .collect()
    }

    /// The samples of each matching series in the window ending at `t - offset`;
    /// series with no sample in the window are left out.
    pub(super) fn range(&self, sel: &Selector, range_ms: i64) -> RangeSeries<'s> {
        let t = self.t_ms.saturating_sub(sel.offset_ms);
        self.matching(sel)
            .filter_map(|s| {
                let window = s.range(t, range_ms);
                let samples: Cow<'s, [(i64, f64)]> = if window.iter().any(|p| is_stale(p.1)) {
                    Cow::Owned(window.iter().copied().filter(|p| !is_stale(p.1)).collect())
                } else {
                    Cow::Borrowed(window)
                };
                (!samples.is_empty()).then_some((&s.labels, samples))
            })
            .collect()
    }

    fn binary(&self, b: &Binary, span: Span) -> Result<Value, EvalError> {
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        let op = b.op;
        match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => {
                let (v, keep) = elem(op, l, r);
                Ok(Value::Scalar(if op.is_comparison() { f64::from(u8::from(keep)) } else { v }))
            }
            (Value::Vector(v), Value::Scalar(s)) => Ok(Value::Vector(vector_scalar(op, v, s, false, b.return_bool))),
            (Value::Scalar(s), Value::Vector(v)) => Ok(Value::Vector(vector_scalar(op, v, s, true, b.return_bool))),
            (Value::Vector(l), Value::Vector(r)) => match op {
                BinOp::And | BinOp::Or | BinOp::Unless => Ok(Value::Vector(set_op(op, l, r, &b.matching))),
                _ => vector_vector(op, l, r, b, span).map(Value::Vector),
            },
        }
    }
}

/// Applies an operator to two numbers: `(value, keep)`; for comparisons the value
/// is the left operand and `keep` the outcome (false on NaN, as in Go).
pub(super) fn elem(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        // Go's math.Mod and Rust's `%` both take the sign of the dividend.
        BinOp::Mod => (l % r, true),
        BinOp::Pow => (l.powf(r), true),
        BinOp::Eql => (l, l == r),
        BinOp::Neq => (l, l != r),
        BinOp::Gtr => (l, l > r),
        BinOp::Lss => (l, l < r),
        BinOp::Gte => (l, l >= r),
        BinOp::Lte => (l, l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => (l, true),
    }
}

fn drops_name(op: BinOp) -> bool {
    matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Pow)
}

fn vector_scalar(op: BinOp, v: Vec<Sample>, s: f64, scalar_left: bool, return_bool: bool) -> Vec<Sample> {
    v.into_iter()
        .filter_map(|mut smp| {
            let (l, r) = if scalar_left { (s, smp.value) } else { (smp.value, s) };
            let (mut value, keep) = elem(op, l, r);
            // A comparison keeps the vector's value even with the scalar on the left.
            if op.is_comparison() && scalar_left {
                value = r;
            }
            if return_bool {
                value = f64::from(u8::from(keep));
            } else if !keep {
                return None;
            }
            if drops_name(op) || return_bool {
                smp.labels.remove(METRIC_NAME);
            }
            Some(Sample { labels: smp.labels, value })
        })
        .collect()
}

/// The labels two samples are matched on.
fn signature(l: &Labels, m: &VectorMatching) -> Labels {
    let mut sig = l.clone();
    if m.on {
        sig.retain(|k| m.labels.iter().any(|x| x == k));
    } else {
        sig.retain(|k| k != METRIC_NAME && !m.labels.iter().any(|x| x == k));
    }
    sig
}

fn set_op(op: BinOp, lhs: Vec<Sample>, rhs: Vec<Sample>, m: &VectorMatching) -> Vec<Sample> {
    match op {
        BinOp::And => {
            let right: BTreeSet<Labels> = rhs.iter().map(|s| signature(&s.labels, m)).collect();
            lhs.into_iter().filter(|s| right.contains(&signature(&s.labels, m))).collect()
        }
        BinOp::Unless => {
            let right: BTreeSet<Labels> = rhs.iter().map(|s| signature(&s.labels, m)).collect();
            lhs.into_iter().filter(|s| !right.contains(&signature(&s.labels, m))).collect()
        }
        _ => {
            let left: BTreeSet<Labels> = lhs.iter().map(|s| signature(&s.labels, m)).collect();
            let mut out = lhs;
            out.extend(rhs.into_iter().filter(|s| !left.contains(&signature(&s.labels, m))));
            out
        }
    }
}

fn vector_vector(
    op: BinOp,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    b: &Binary,
    span: Span,
) -> Result<Vec<Sample>, EvalError> {
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    let m = &b.matching;
    let group = m.group.as_ref();
    let swapped = matches!(group, Some((Side::Right, _)));
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let fail = |message: String| EvalError { span, message };
    let mut one_sigs: BTreeMap<Labels, usize> = BTreeMap::new();
    for (i, s) in one.iter().enumerate() {
        let sig = signature(&s.labels, m);
        if let Some(&j) = one_sigs.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(fail(format!(
                "found duplicate series for the match group {sig} on the {side} hand-side of the operation: [{}, {}]; many-to-many matching not allowed: matching labels must be unique on one side",
                one[j].labels, s.labels
            )));
        }
        one_sigs.insert(sig, i);
    }
    let mut matched: BTreeMap<Labels, BTreeSet<Labels>> = BTreeMap::new();
    let mut out = Vec::new();
    for ms in &many {
        let sig = signature(&ms.labels, m);
        let Some(&j) = one_sigs.get(&sig) else { continue };
        let os = &one[j];
        let (l, r) = if swapped { (os.value, ms.value) } else { (ms.value, os.value) };
        let (mut value, keep) = elem(op, l, r);
        if b.return_bool {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        let mut labels = ms.labels.clone();
        if drops_name(op) || b.return_bool {
            labels.remove(METRIC_NAME);
        }
        match group {
            None => {
                if m.on {
                    labels.retain(|k| m.labels.iter().any(|x| x == k));
                } else {
                    labels.retain(|k| !m.labels.iter().any(|x| x == k));
                }
            }
            Some((_, include)) => {
                for ln in include {
                    labels.set(ln, os.labels.get(ln).unwrap_or(""));
                }
            }
        }
        let seen = matched.entry(sig).or_default();
        if group.is_none() && !seen.is_empty() {
            return Err(fail(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
            ));
        }
        if !seen.insert(labels.clone()) {
            return Err(fail("multiple matches for labels: grouping labels must ensure unique matches".into()));
        }
        out.push(Sample { labels, value });
    }
    Ok(out)
}

enum Acc {
    Sum(f64, f64),
    Avg(Mean),
    Count(f64),
    Min(f64),
    Max(f64),
}

fn aggregate(a: &Aggregate, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Acc> = BTreeMap::new();
    for s in v {
        let mut key = s.labels;
        if a.without {
            key.retain(|k| k != METRIC_NAME && !a.grouping.iter().any(|g| g == k));
        } else {
            key.retain(|k| a.grouping.iter().any(|g| g == k));
        }
        let x = s.value;
        match groups.get_mut(&key) {
            None => {
                let acc = match a.op {
                    AggOp::Sum => Acc::Sum(x, 0.0),
                    AggOp::Avg => {
                        let mut m = Mean::default();
                        m.add(x);
                        Acc::Avg(m)
                    }
                    AggOp::Count => Acc::Count(1.0),
                    AggOp::Min => Acc::Min(x),
                    AggOp::Max => Acc::Max(x),
                };
                groups.insert(key, acc);
            }
            Some(Acc::Sum(sum, c)) => (*sum, *c) = kahan_inc(x, *sum, *c),
            Some(Acc::Avg(m)) => m.add(x),
            Some(Acc::Count(n)) => *n += 1.0,
            // A NaN accumulator is replaced by any value, as Prometheus does.
            Some(Acc::Min(m)) => {
                if *m > x || m.is_nan() {
                    *m = x
                }
            }
            Some(Acc::Max(m)) => {
                if *m < x || m.is_nan() {
                    *m = x
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(labels, acc)| {
            let value = match acc {
                Acc::Sum(s, _) if s.is_infinite() => s,
                Acc::Sum(s, c) => s + c,
                Acc::Avg(m) => m.value(),
                Acc::Count(n) | Acc::Min(n) | Acc::Max(n) => n,
            };
            Sample { labels, value }
        })
        .collect()
}
