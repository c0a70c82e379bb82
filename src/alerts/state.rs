//! Evaluation over time and Prometheus' alerting state machine.
//!
//! Each group is evaluated at `start, start + interval, ...` up to `end` (its own
//! `interval`, else the configured default of 15 s). At each evaluation of a rule,
//! as Prometheus' `AlertingRule.Eval` does:
//!
//! - every sample the expression returns is an alert instance, identified by the
//!   sample's labels without `__name__`, plus the rule's `labels` (templated), plus
//!   `alertname`; two samples giving the same identity are an evaluation error;
//! - a new identity becomes **pending**, with `active_at` = now;
//! - a pending instance **fires** at the first evaluation where
//!   `now - active_at >= for` (with `for: 0`, at once);
//! - an instance the expression no longer returns is dropped if it was pending,
//!   and **resolved** if it was firing, unless `keep_firing_for` holds it: then it
//!   keeps firing until `keep_firing_for` has passed since the first evaluation
//!   that missed it (a return in between starts that count again).
//!
//! An evaluation error (e.g. many-to-many matching) leaves every instance of that
//! rule as it was, as in Prometheus; errors are collected in the report.
//! Each episode (pending, maybe firing, then ended) is one [`AlertInstance`];
//! instances still active at `end` have no end time.

use std::collections::BTreeMap;

use super::promql::{DEFAULT_LOOKBACK_MS, Span, eval};
use super::rules::RuleGroup;
use super::series::{Labels, SeriesStore};

/// When and how the rules are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalConfig {
    /// First evaluation time, ms.
    pub start_ms: i64,
    /// Last evaluation time (inclusive), ms.
    pub end_ms: i64,
    /// Interval of groups that set none (Prometheus' `evaluation_interval`), ms.
    pub default_interval_ms: i64,
    /// Lookback of instant selectors, ms (Prometheus' `--query.lookback-delta`).
    pub lookback_ms: i64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { start_ms: 0, end_ms: 0, default_interval_ms: 15_000, lookback_ms: DEFAULT_LOOKBACK_MS }
    }
}

/// One alert episode: from pending to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertInstance {
    /// The group the rule is in.
    pub group: String,
    /// The rule's name.
    pub alert: String,
    /// The identifying labels: the expression's (without `__name__`), the rule's
    /// `labels`, and `alertname`.
    pub labels: Labels,
    /// Annotations as rendered at the last evaluation that returned the instance.
    pub annotations: Vec<(String, String)>,
    /// The expression's value at that evaluation.
    pub value: f64,
    /// When it became pending (Prometheus' `activeAt`), ms.
    pub pending_at_ms: i64,
    /// When it fired, if it did, ms.
    pub firing_at_ms: Option<i64>,
    /// When it ended, if it did before the end of the evaluation: resolved, for a
    /// firing instance; dropped, for one that never fired. Ms.
    pub resolved_at_ms: Option<i64>,
}

impl AlertInstance {
    /// Whether it was firing at the last evaluation it took part in.
    pub fn is_firing(&self) -> bool {
        self.firing_at_ms.is_some() && self.resolved_at_ms.is_none()
    }
}

/// An evaluation that failed; the rule's instances were left as they were.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvalError {
    /// The group.
    pub group: String,
    /// The rule.
    pub alert: String,
    /// The rule's key path (`groups.0.rules.1`).
    pub path: String,
    /// The evaluation time, ms.
    pub t_ms: i64,
    /// The part of the expression that failed.
    pub span: Span,
    /// What went wrong.
    pub message: String,
}

/// What the evaluation found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertsReport {
    /// Every alert episode, ordered by pending time, then group and rule order, then labels.
    pub instances: Vec<AlertInstance>,
    /// The first evaluation errors (at most [`MAX_ERRORS`]).
    pub errors: Vec<RuleEvalError>,
    /// How many evaluations failed in all.
    pub error_count: usize,
}

/// Most evaluation errors kept in a report (a broken rule fails at every step).
pub const MAX_ERRORS: usize = 100;

#[derive(Debug, Clone)]
struct Active {
    firing_at: Option<i64>,
    pending_at: i64,
    keep_firing_since: Option<i64>,
    value: f64,
    annotations: Vec<(String, String)>,
}

/// Steps the rules forward in time; [`evaluate`] runs it over a whole range.
#[derive(Debug)]
pub struct Evaluator<'r> {
    groups: &'r [RuleGroup],
    cfg: EvalConfig,
    /// Next evaluation time of each group.
    next: Vec<i64>,
    /// Active instances of each rule (`[group][rule]`), by identity.
    active: Vec<Vec<BTreeMap<Labels, Active>>>,
    done: Vec<(i64, usize, usize, AlertInstance)>,
    report: AlertsReport,
}

impl<'r> Evaluator<'r> {
    /// An evaluator whose first evaluation is at `cfg.start_ms`.
    pub fn new(groups: &'r [RuleGroup], cfg: EvalConfig) -> Evaluator<'r> {
        Evaluator {
            groups,
            cfg,
            next: vec![cfg.start_ms; groups.len()],
            active: groups.iter().map(|g| vec![BTreeMap::new(); g.rules.len()]).collect(),
            done: Vec::new(),
            report: AlertsReport::default(),
        }
    }

    fn interval(&self, g: usize) -> i64 {
        self.groups[g].interval_ms.unwrap_or(self.cfg.default_interval_ms).max(1)
    }

    /// Runs every evaluation due at or before `t_ms` (and not after the end), in
    /// time order. `store` must hold every sample up to `t_ms`.
    pub fn advance_to(&mut self, store: &SeriesStore, t_ms: i64) {
        let limit = t_ms.min(self.cfg.end_ms);
        while let Some((g, t)) =
            self.next.iter().copied().enumerate().filter(|&(_, t)| t <= limit).min_by_key(|&(g, t)| (t, g))
        {
            for r in 0..self.groups[g].rules.len() {
                self.eval_rule(store, g, r, t);
            }
            self.next[g] = t.saturating_add(self.interval(g));
        }
    }

    fn eval_rule(&mut self, store: &SeriesStore, g: usize, r: usize, t: i64) {
        let group = &self.groups[g];
        let rule = &group.rules[r];
        let fail = |report: &mut AlertsReport, span: Span, message: String| {
            report.error_count += 1;
            if report.errors.len() < MAX_ERRORS {
                report.errors.push(RuleEvalError {
                    group: group.name.clone(),
                    alert: rule.name.clone(),
                    path: rule.path.clone(),
                    t_ms: t,
                    span,
                    message,
                });
            }
        };
        let samples = match eval(&rule.expr, store, t, self.cfg.lookback_ms) {
            Ok(v) => v.into_vector(),
            Err(e) => return fail(&mut self.report, e.span, e.message),
        };
        let mut returned: BTreeMap<Labels, (f64, Vec<(String, String)>)> = BTreeMap::new();
        for s in samples {
            let mut id = s.labels.without_name();
            for (k, tmpl) in &rule.labels {
                id.set(k, &tmpl.render(&s.labels, s.value));
            }
            id.set("alertname", &rule.name);
            let ann = rule.annotations.iter().map(|(k, tmpl)| (k.clone(), tmpl.render(&s.labels, s.value))).collect();
            if returned.insert(id, (s.value, ann)).is_some() {
                let msg = "vector contains metrics with the same labelset after applying alert labels".to_string();
                return fail(&mut self.report, rule.expr.span, msg);
            }
        }
        let active = &mut self.active[g][r];
        let mut ended = Vec::new();
        active.retain(|id, a| {
            if returned.contains_key(id) {
                a.keep_firing_since = None;
                return true;
            }
            if a.firing_at.is_some() && rule.keep_firing_for_ms > 0 {
                let since = *a.keep_firing_since.get_or_insert(t);
                if t - since < rule.keep_firing_for_ms {
                    return true;
                }
            }
            ended.push((id.clone(), a.clone()));
            false
        });
        for (id, (value, annotations)) in returned {
            let a = active.entry(id).or_insert(Active {
                firing_at: None,
                pending_at: t,
                keep_firing_since: None,
                value,
                annotations: Vec::new(),
            });
            a.value = value;
            a.annotations = annotations;
        }
        for a in active.values_mut() {
            if a.firing_at.is_none() && t - a.pending_at >= rule.for_ms {
                a.firing_at = Some(t);
            }
        }
        for (id, a) in ended {
            let inst = self.instance(g, r, &id, &a, Some(t));
            self.done.push((a.pending_at, g, r, inst));
        }
    }

    fn instance(&self, g: usize, r: usize, id: &Labels, a: &Active, resolved: Option<i64>) -> AlertInstance {
        AlertInstance {
            group: self.groups[g].name.clone(),
            alert: self.groups[g].rules[r].name.clone(),
            labels: id.clone(),
            annotations: a.annotations.clone(),
            value: a.value,
            pending_at_ms: a.pending_at,
            firing_at_ms: a.firing_at,
            resolved_at_ms: resolved,
        }
    }

    /// The instances pending or firing after the last evaluation, in report order.
    pub fn active(&self) -> Vec<AlertInstance> {
        let mut out = Vec::new();
        for (g, rules) in self.active.iter().enumerate() {
            for (r, map) in rules.iter().enumerate() {
                for (id, a) in map {
                    out.push((a.pending_at, g, r, self.instance(g, r, id, a, None)));
                }
            }
        }
        sorted(out)
    }

    /// Runs the remaining evaluations up to the end and returns the report.
    pub fn finish(mut self, store: &SeriesStore) -> AlertsReport {
        self.advance_to(store, self.cfg.end_ms);
        let mut all = std::mem::take(&mut self.done);
        for (g, rules) in self.active.iter().enumerate() {
            for (r, map) in rules.iter().enumerate() {
                for (id, a) in map {
                    all.push((a.pending_at, g, r, self.instance(g, r, id, a, None)));
                }
            }
        }
        let mut report = std::mem::take(&mut self.report);
        report.instances = sorted(all);
        report
    }
}

fn sorted(mut v: Vec<(i64, usize, usize, AlertInstance)>) -> Vec<AlertInstance> {
    v.sort_by(|a, b| (a.0, a.1, a.2, &a.3.labels).cmp(&(b.0, b.1, b.2, &b.3.labels)));
    v.into_iter().map(|x| x.3).collect()
}

/// Evaluates every group from `cfg.start_ms` to `cfg.end_ms` over `store`.
pub fn evaluate(groups: &[RuleGroup], store: &SeriesStore, cfg: &EvalConfig) -> AlertsReport {
    Evaluator::new(groups, *cfg).finish(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::parse_rule_file;
    use crate::alerts::series::Series;

    /// A gauge `g{pool}` sampled every 10 s from 0 to 300 s, `value(t_s)`.
    fn gauge(st: &mut SeriesStore, pool: &str, value: impl Fn(i64) -> f64) {
        let samples = (0..=30).map(|k| (k * 10_000, value(k * 10))).collect();
        st.insert(Series { labels: Labels::metric("g", &[("pool", pool)]), samples }).unwrap();
    }

    fn run(rules: &str, st: &SeriesStore, end_s: i64) -> AlertsReport {
        let groups = parse_rule_file("t.yaml", rules, None).unwrap_or_else(|e| panic!("{e}"));
        evaluate(&groups, st, &EvalConfig { end_ms: end_s * 1000, ..EvalConfig::default() })
    }

    fn times(r: &AlertsReport) -> Vec<(i64, Option<i64>, Option<i64>)> {
        r.instances
            .iter()
            .map(|i| (i.pending_at_ms / 1000, i.firing_at_ms.map(|t| t / 1000), i.resolved_at_ms.map(|t| t / 1000)))
            .collect()
    }

    fn rule(expr: &str, extra: &str) -> String {
        format!("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: {expr}\n{extra}")
    }

    #[test]
    fn pending_then_firing_exactly_when_active_for_reaches_for() {
        let mut st = SeriesStore::new();
        // Above 5 from 20 s to 90 s, seen by the 15 s evaluations at 30 s ... 90 s.
        gauge(&mut st, "a", |t| if (20..100).contains(&t) { 10.0 } else { 0.0 });
        let r = run(&rule("g > 5", "        for: 1m\n"), &st, 200);
        // Pending at 30 s; 90 - 30 = 60 s >= 1m: fires at 90 s; the sample at 100 s
        // is 0, so the evaluation at 105 s resolves it.
        assert_eq!(times(&r), vec![(30, Some(90), Some(105))]);
        // With `for: 61s` the 60 s active at 90 s are not enough, and at 105 s the
        // expression no longer returns it: a pending episode that never fired.
        let r = run(&rule("g > 5", "        for: 61s\n"), &st, 200);
        assert_eq!(times(&r), vec![(30, None, Some(105))]);
        // `for: 0` fires at once.
        let r = run(&rule("g > 5", ""), &st, 200);
        assert_eq!(times(&r), vec![(30, Some(30), Some(105))]);
        assert_eq!(r.instances[0].labels.to_string(), "{alertname=\"A\", pool=\"a\"}");
        assert!(r.instances[0].labels.name().is_none(), "the metric name is not part of an alert's identity");
    }

    #[test]
    fn flapping_starts_a_new_episode_and_still_active_alerts_have_no_end() {
        let mut st = SeriesStore::new();
        // High at 20-40 s, low at 50 s, high again from 60 s on.
        gauge(&mut st, "a", |t| if (20..50).contains(&t) || t >= 60 { 10.0 } else { 0.0 });
        let r = run(&rule("g > 5", "        for: 30s\n"), &st, 150);
        // Evaluations at 30 (latest sample 30 s = 10: pending), 45 (40 s = 10),
        // 60 (60 s = 10): the dip at 50 s falls between evaluations and is never
        // seen, so this is one episode, firing at 60 s (30 s after 30 s).
        assert_eq!(times(&r), vec![(30, Some(60), None)]);
        // A dip seen by an evaluation ends the pending episode and starts another.
        let mut st = SeriesStore::new();
        gauge(&mut st, "a", |t| if (20..40).contains(&t) || t >= 50 { 10.0 } else { 0.0 });
        let r = run(&rule("g > 5", "        for: 30s\n"), &st, 150);
        // 30: pending (s30=10); 45: s40=0, dropped; 60: pending again; fires at 90.
        assert_eq!(times(&r), vec![(30, None, Some(45)), (60, Some(90), None)]);
    }

    #[test]
    fn keep_firing_for_holds_a_resolved_alert() {
        let mut st = SeriesStore::new();
        gauge(&mut st, "a", |t| if (20..60).contains(&t) || (90..100).contains(&t) { 10.0 } else { 0.0 });
        let r = run(&rule("g > 5", "        keep_firing_for: 30s\n"), &st, 300);
        // Fires at 30; missing from 60 on (s60=0): kept while t - 60 < 30, i.e. at 60
        // and 75; returned again at 90 (s90=10), which resets the count; missing at
        // 105: kept at 105, 120; resolved at 135.
        assert_eq!(times(&r), vec![(30, Some(30), Some(135))]);
    }

    #[test]
    fn labels_and_annotations_are_templated_per_instance() {
        let mut st = SeriesStore::new();
        gauge(&mut st, "a", |_| 10.0);
        gauge(&mut st, "b", |_| 1.0);
        let extra = "        labels: {severity: page, where: 'pool-{{ $labels.pool }}'}\n        annotations: {summary: '{{ $labels.pool }} at {{ $value }}'}\n";
        let r = run(&rule("g > 5", extra), &st, 0);
        assert_eq!(r.instances.len(), 1);
        let i = &r.instances[0];
        assert_eq!(i.labels.get("where"), Some("pool-a"));
        assert_eq!(i.labels.get("severity"), Some("page"));
        assert_eq!(i.annotations, vec![("summary".to_string(), "a at 10".to_string())]);
        assert_eq!(i.value, 10.0);
    }

    #[test]
    fn evaluation_errors_leave_alerts_as_they_were() {
        let mut st = SeriesStore::new();
        gauge(&mut st, "a", |_| 10.0);
        // From 100 s a second pool appears, and the rule's labels make the two
        // samples one identity: Prometheus refuses the whole evaluation.
        st.insert(Series { labels: Labels::metric("g", &[("pool", "b")]), samples: vec![(100_000, 10.0)] }).unwrap();
        let r = run(&rule("g > 5", "        labels: {pool: same}\n"), &st, 120);
        assert_eq!(times(&r), vec![(0, Some(0), None)]);
        assert_eq!(r.error_count, 2, "105 s and 120 s");
        assert_eq!(r.errors[0].t_ms, 105_000);
        assert!(r.errors[0].message.contains("same labelset"), "{}", r.errors[0].message);
    }

    #[test]
    fn groups_keep_their_own_interval_and_the_evaluator_steps() {
        let mut st = SeriesStore::new();
        gauge(&mut st, "a", |t| if t >= 20 { 10.0 } else { 0.0 });
        let src = "groups:\n  - name: fast\n    interval: 10s\n    rules: [{alert: F, expr: g > 5}]\n  - name: slow\n    interval: 1m\n    rules: [{alert: S, expr: g > 5}]\n";
        let groups = parse_rule_file("t.yaml", src, None).unwrap();
        let mut ev = Evaluator::new(&groups, EvalConfig { end_ms: 120_000, ..EvalConfig::default() });
        ev.advance_to(&st, 25_000);
        let now: Vec<(String, i64)> = ev.active().iter().map(|i| (i.alert.clone(), i.pending_at_ms)).collect();
        assert_eq!(now, vec![("F".to_string(), 20_000)]);
        let r = ev.finish(&st);
        let got: Vec<(String, i64)> = r.instances.iter().map(|i| (i.alert.clone(), i.pending_at_ms)).collect();
        assert_eq!(got, vec![("F".to_string(), 20_000), ("S".to_string(), 60_000)]);
    }
}
