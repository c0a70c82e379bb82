//! One run, start to finish: the simulation ([`crate::model`]), then what is
//! computed beside it: queueing theory's prediction ([`crate::theory::fit`]),
//! the alert rules evaluated over the run's scraped series ([`crate::alerts`]),
//! and the marks the figures draw on the time axis (timed events, alerts).
//!
//! Every command that runs a scenario (`sim run`, `sweep`, `compare`, `check`,
//! `size`, `bench`) goes through [`run`], so they all report the same figures,
//! and the simulation kernel never reaches up into the analysis layers.

use crate::alerts::{self, EvalConfig, Labels, RuleGroup, Series, SeriesStore};
use crate::engine::SimDuration;
use crate::model::{RunOptions, SimError, Simulation};
use crate::result::{AlertEpisode, AlertFigures, Alerts, Annotation, AnnotationKind, RunResult, series};
use crate::scenario::Scenario;
use crate::theory;

/// Scrape and evaluation interval when the scenario sets none: Prometheus' example configuration's.
pub const DEFAULT_INTERVAL: SimDuration = SimDuration::from_secs(15);

/// Runs `scenario` with `opts` to its end and puts theory, alerts and annotations beside the result.
pub fn run(scenario: &Scenario, opts: RunOptions<'_>) -> Result<RunResult, SimError> {
    run_with_rules(scenario, &[], opts)
}

/// [`run`], with rule groups from elsewhere (`sim run --rules FILE`) evaluated
/// beside the scenario's own `alerts:`.
pub fn run_with_rules(
    scenario: &Scenario,
    extra: &[RuleGroup],
    mut opts: RunOptions<'_>,
) -> Result<RunResult, SimError> {
    let groups: Vec<RuleGroup> = scenario.alerts.iter().flat_map(|a| a.groups.iter()).chain(extra).cloned().collect();
    if !groups.is_empty() && opts.scrape_interval.is_none() {
        opts.scrape_interval = Some(scrape_interval(scenario));
    }
    let mut result = Simulation::new(scenario, opts.seed).run(opts)?;
    result.theory = Some(theory::fit::predict(scenario));
    if !groups.is_empty() {
        result.alerts = Some(evaluate(scenario, &groups, &result));
    }
    result.annotations = annotations(scenario, &result);
    Ok(result)
}

/// Runs `scenario` with `seed` to its end, with the default event budget and no
/// per-request output (see [`run`] for those).
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<RunResult, SimError> {
    run(scenario, RunOptions::seed(seed))
}

/// How often the run is scraped: the scenario's `alerts.scrape_interval`, else 15 s.
pub fn scrape_interval(scenario: &Scenario) -> SimDuration {
    scenario.alerts.as_ref().map_or(DEFAULT_INTERVAL, |a| a.scrape_interval)
}

/// The run's scrapes as an alerts series store.
pub fn series_store(r: &RunResult) -> SeriesStore {
    let mut store = SeriesStore::new();
    let Some(scrapes) = &r.scrapes else { return store };
    for s in series::series(scrapes, &r.instances) {
        let pairs: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Names and labels come from the catalogue: never a duplicate series.
        let _ = store.insert(Series { labels: Labels::metric(&s.name, &pairs), samples: s.points });
    }
    store
}

/// Evaluates `groups` over the run's scrapes, from 0 to the run's end.
fn evaluate(scenario: &Scenario, groups: &[RuleGroup], r: &RunResult) -> Alerts {
    let evaluation = scenario.alerts.as_ref().map_or(DEFAULT_INTERVAL, |a| a.evaluation_interval);
    let ms = |d: SimDuration| (d.0 / 1_000_000) as i64;
    let cfg = EvalConfig {
        start_ms: 0,
        end_ms: (r.summary.duration_s * 1e3).round() as i64,
        default_interval_ms: ms(evaluation),
        ..EvalConfig::default()
    };
    let report = alerts::evaluate(groups, &series_store(r), &cfg);
    let s = |t: i64| t as f64 / 1e3;
    let episodes: Vec<AlertEpisode> = report
        .instances
        .iter()
        .map(|a| AlertEpisode {
            alert: a.alert.clone(),
            labels: a.labels.pairs().to_vec(),
            annotations: a.annotations.clone(),
            value: a.value,
            pending_s: s(a.pending_at_ms),
            firing_s: a.firing_at_ms.map(s),
            resolved_s: a.resolved_at_ms.map(s),
        })
        .collect();
    // One figure per alert name, in the order the rules are written.
    let mut names: Vec<&str> = Vec::new();
    for g in groups {
        for rule in &g.rules {
            if !names.contains(&rule.name.as_str()) {
                names.push(&rule.name);
            }
        }
    }
    let end = r.summary.duration_s;
    let rules = names
        .iter()
        .map(|&name| {
            let of: Vec<&AlertEpisode> = episodes.iter().filter(|e| e.alert == name).collect();
            let first_firing_s = of.iter().filter_map(|e| e.firing_s).min_by(f64::total_cmp);
            AlertFigures {
                alert: name.to_string(),
                episodes: of.len() as u64,
                fired: of.iter().filter(|e| e.firing_s.is_some()).count() as u64,
                first_pending_s: of.iter().map(|e| e.pending_s).min_by(f64::total_cmp),
                first_firing_s,
                lead_time_s: first_firing_s.zip(r.summary.first_503_s).map(|(f, e)| e - f),
                firing_s: of
                    .iter()
                    .filter_map(|e| Some(e.resolved_s.unwrap_or(end) - e.firing_s?))
                    .fold(0.0, |a, x| a + x),
            }
        })
        .collect();
    let errors = report.errors.iter().map(|e| format!("{:.3} s: {}: {}", s(e.t_ms), e.alert, e.message)).collect();
    Alerts {
        scrape_interval_s: r.scrapes.as_ref().map_or(0.0, |x| x.interval_ms as f64 / 1e3),
        evaluation_interval_s: evaluation.as_secs_f64(),
        rules,
        episodes,
        errors,
    }
}

/// The scenario's timed events, and each alert's firing and resolving (when the
/// first of its label sets fires, and when the last one stops), by time.
fn annotations(scenario: &Scenario, r: &RunResult) -> Vec<Annotation> {
    let mut out: Vec<Annotation> = scenario
        .changes
        .iter()
        .map(|c| Annotation {
            t_s: c.at.as_secs_f64(),
            label: c.actions.iter().map(|a| a.label(scenario)).collect::<Vec<_>>().join(", "),
            kind: AnnotationKind::Event,
        })
        .collect();
    if let Some(a) = &r.alerts {
        for rule in &a.rules {
            // Firing intervals of its episodes, merged: the alert fires while any does.
            let mut spans: Vec<(f64, f64)> = a
                .episodes
                .iter()
                .filter(|e| e.alert == rule.alert)
                .filter_map(|e| Some((e.firing_s?, e.resolved_s.unwrap_or(f64::INFINITY))))
                .collect();
            spans.sort_by(|x, y| x.0.total_cmp(&y.0));
            let mut merged: Vec<(f64, f64)> = Vec::new();
            for (from, to) in spans {
                match merged.last_mut() {
                    Some(last) if from <= last.1 => last.1 = last.1.max(to),
                    _ => merged.push((from, to)),
                }
            }
            for (from, to) in merged {
                let label = |what: &str| format!("{} {what}", rule.alert);
                out.push(Annotation { t_s: from, label: label("firing"), kind: AnnotationKind::AlertFiring });
                if to.is_finite() {
                    out.push(Annotation { t_s: to, label: label("resolved"), kind: AnnotationKind::AlertResolved });
                }
            }
        }
    }
    out.sort_by(|x, y| x.t_s.total_cmp(&y.t_s));
    out
}
