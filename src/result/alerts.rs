//! What the alert rules did over a run, and the marks the figures draw on the
//! time axis (timed events of the scenario, alerts firing and resolving).

use serde::Serialize;

/// One alert episode: an alert with one set of labels, from pending to its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEpisode {
    /// The rule's name (`alertname`).
    pub alert: String,
    /// Its labels (the expression's, the rule's, `alertname`), sorted by name.
    pub labels: Vec<(String, String)>,
    /// Its annotations as rendered at the last evaluation that returned it.
    pub annotations: Vec<(String, String)>,
    /// The expression's value at that evaluation.
    pub value: f64,
    /// When it became pending, seconds.
    pub pending_s: f64,
    /// When it fired, if it did, seconds.
    pub firing_s: Option<f64>,
    /// When it ended (resolved, or dropped before firing), if it did before the run's end.
    pub resolved_s: Option<f64>,
}

/// One alert rule over the run: its episodes summed up, and its lead time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertFigures {
    /// The rule's name.
    pub alert: String,
    /// Episodes (label sets that went pending).
    pub episodes: u64,
    /// Episodes that fired.
    pub fired: u64,
    /// The first time one went pending, seconds.
    pub first_pending_s: Option<f64>,
    /// The first time one fired, seconds.
    pub first_firing_s: Option<f64>,
    /// How long before the first 503 it first fired, seconds: `first_503_s -
    /// first_firing_s`, negative when it fired after the first 503; `None` when
    /// it never fired or there was no 503.
    pub lead_time_s: Option<f64>,
    /// Time spent firing, summed over its episodes, seconds.
    pub firing_s: f64,
}

/// The alert rules' outcome over a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alerts {
    /// Time between scrapes, seconds.
    pub scrape_interval_s: f64,
    /// Evaluation interval of the groups that set none, seconds.
    pub evaluation_interval_s: f64,
    /// Per rule, in the order the rules are written.
    pub rules: Vec<AlertFigures>,
    /// Every episode, by pending time.
    pub episodes: Vec<AlertEpisode>,
    /// Evaluation errors (the first 100), each `time: rule: message`.
    pub errors: Vec<String>,
}

/// What a mark on the time axis stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationKind {
    /// A timed change of the scenario (`events:`): a deploy, a config change, a rollback.
    Event,
    /// An alert fired.
    AlertFiring,
    /// A firing alert resolved.
    AlertResolved,
}

/// A labelled mark on the time axis, as Grafana's annotations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotation {
    /// When, seconds.
    pub t_s: f64,
    /// What happened, short (`request.hold = 100ms`, `PoolWaiting firing`).
    pub label: String,
    /// What kind of mark.
    pub kind: AnnotationKind,
}
