//! Reading alerting rules: a Prometheus rule file, or a scenario's `alerts:` block.
//!
//! A rule file is `groups: [{name, interval?, rules: [{alert, expr, for?,
//! keep_firing_for?, labels?, annotations?}]}]`, as Prometheus reads it. Files are
//! read through the project's positioned YAML tree (`scenario::yaml`), so every
//! problem is reported at once as `FILE:LINE:COL: groups.0.rules.1.expr: message`;
//! a problem inside an expression or a template points at the very character, for
//! plain, quoted and block scalars alike (see `locate`). Unknown keys are refused
//! with a suggestion; keys Prometheus has but this module does not support
//! (`record`, `limit`, `query_offset`, group `labels`) are refused by name.
//!
//! The `alerts:` block of a scenario takes either a list of rules (one group,
//! named `alerts`, evaluated at the default interval) or a mapping with `groups:`
//! exactly as a rule file.

use std::path::Path;

use super::KnownMetric;
use super::locate::locate;
use super::promql::{Expr, parse_duration, parse_expr};
use super::template::Template;
use crate::input::edit_distance;
use crate::input::error::{Issue, ScenarioError};
use crate::input::yaml::{self, Key, Node, Pos, Value, push_segment};

/// A group of rules evaluated together at one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// The group's name (unique in its file).
    pub name: String,
    /// Its evaluation interval in ms; `None` uses the evaluator's default (15 s).
    pub interval_ms: Option<i64>,
    /// Its alerting rules, in file order.
    pub rules: Vec<AlertRule>,
}

/// One alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The alert's name (`alertname` label).
    pub name: String,
    /// The parsed expression.
    pub expr: Expr,
    /// The expression as written.
    pub expr_text: String,
    /// How long an alert must stay active before it fires, in ms (`for:`).
    pub for_ms: i64,
    /// How long a firing alert keeps firing after its expression stops returning it, in ms.
    pub keep_firing_for_ms: i64,
    /// Extra labels (values are templates), in file order.
    pub labels: Vec<(String, Template)>,
    /// Annotations (templates), in file order.
    pub annotations: Vec<(String, Template)>,
    /// Where the rule is written.
    pub pos: Pos,
    /// Its key path (`groups.0.rules.1`).
    pub path: String,
}

/// Rule files larger than this are refused before parsing.
pub const MAX_RULE_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Reads and parses a rule file. `metrics`: the names expressions may select
/// (`None`: any).
pub fn read_rule_file(path: &Path, metrics: Option<&[KnownMetric]>) -> Result<Vec<RuleGroup>, ScenarioError> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| ScenarioError::io(&file, e))?;
    if meta.len() > MAX_RULE_FILE_BYTES {
        return Err(ScenarioError::Io { file, message: "the rule file is larger than 8 MiB".into() });
    }
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::io(&file, e))?;
    let src =
        String::from_utf8(bytes).map_err(|_| ScenarioError::Io { file: file.clone(), message: "not UTF-8".into() })?;
    parse_rule_file(&file, &src, metrics)
}

/// Parses rule-file text; `file` names it in messages.
pub fn parse_rule_file(
    file: &str,
    src: &str,
    metrics: Option<&[KnownMetric]>,
) -> Result<Vec<RuleGroup>, ScenarioError> {
    let invalid = |issues| ScenarioError::Invalid { file: file.to_string(), issues };
    if src.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(invalid(vec![Issue {
            pos: Pos { line: 1, col: 1 },
            path: String::new(),
            message: "the rule file is empty; expected `groups:` with a list of rule groups".into(),
        }]));
    }
    let root = yaml::parse(src).map_err(|e| invalid(vec![Issue { pos: e.pos, path: e.path, message: e.message }]))?;
    let mut r = Reader { src: Some(src), metrics, issues: Vec::new() };
    let groups = r.file(&root, "");
    if r.issues.is_empty() {
        Ok(groups)
    } else {
        r.issues.sort();
        Err(invalid(r.issues))
    }
}

/// Reads a scenario's `alerts:` block (`node`, at key path `path`): a list of rules
/// or a mapping with `groups:`. Give the file's text as `src` for exact columns
/// inside expressions (without it, problems point at the expression's start).
pub fn rules_from_node(
    node: &Node,
    path: &str,
    src: Option<&str>,
    metrics: Option<&[KnownMetric]>,
) -> Result<Vec<RuleGroup>, Vec<Issue>> {
    let mut r = Reader { src, metrics, issues: Vec::new() };
    let groups = match &node.value {
        Value::Seq(_) => {
            let rules = r.rules(node, path);
            vec![RuleGroup { name: "alerts".into(), interval_ms: None, rules }]
        }
        Value::Map(_) => r.file(node, path),
        Value::Scalar { .. } => {
            let msg =
                format!("expected a list of alerting rules or a mapping with `groups`, found {}", node.describe());
            r.err(node.pos, path, msg);
            Vec::new()
        }
    };
    if r.issues.is_empty() {
        Ok(groups)
    } else {
        r.issues.sort();
        Err(r.issues)
    }
}

struct Reader<'a> {
    src: Option<&'a str>,
    metrics: Option<&'a [KnownMetric]>,
    issues: Vec<Issue>,
}

fn join(path: &str, seg: &str) -> String {
    let mut p = path.to_string();
    push_segment(&mut p, seg);
    p
}

fn list(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

const FILE_KEYS: &[&str] = &["groups"];
const GROUP_KEYS: &[&str] = &["name", "interval", "rules"];
const GROUP_UNSUPPORTED: &[(&str, &str)] = &[
    ("limit", "`limit` (alert count limit) is not supported"),
    ("query_offset", "`query_offset` is not supported: simulated series have no ingestion delay"),
    ("labels", "group `labels` are not supported; put the labels on each rule"),
];
const RULE_KEYS: &[&str] = &["alert", "expr", "for", "keep_firing_for", "labels", "annotations"];
const RULE_UNSUPPORTED: &[(&str, &str)] = &[(
    "record",
    "recording rules (`record:`) are not supported, only alerting rules; write the expression into the alert",
)];

impl Reader<'_> {
    fn err(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.issues.push(Issue { pos, path: path.to_string(), message: message.into() });
    }

    /// The entries of a mapping, with unknown and unsupported keys reported.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        allowed: &[&str],
        unsupported: &[(&str, &str)],
    ) -> Option<&'n [(Key, Node)]> {
        let Value::Map(entries) = &node.value else {
            self.err(
                node.pos,
                path,
                format!("expected {what} (a mapping of {}), found {}", list(allowed), node.describe()),
            );
            return None;
        };
        for (k, _) in entries {
            if allowed.contains(&k.text.as_str()) {
                continue;
            }
            let p = join(path, &k.text);
            if let Some((_, msg)) = unsupported.iter().find(|(u, _)| *u == k.text) {
                self.err(k.pos, &p, *msg);
                continue;
            }
            let hint = allowed
                .iter()
                .map(|a| (edit_distance(&k.text, a), *a))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, a)| format!(" (did you mean `{a}`?)"))
                .unwrap_or_default();
            self.err(k.pos, &p, format!("unknown key `{}`{hint}; expected one of {}", k.text, list(allowed)));
        }
        Some(entries)
    }

    fn scalar<'n>(&mut self, node: &'n Node, path: &str, expected: &str) -> Option<&'n str> {
        match &node.value {
            Value::Scalar { text, .. } => Some(text),
            _ => {
                self.err(node.pos, path, format!("expected {expected}, found {}", node.describe()));
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, path: &str) -> Option<i64> {
        let text = self.scalar(node, path, "a duration such as `5m`")?;
        match parse_duration(text) {
            Ok(ms) => Some(ms),
            Err(m) => {
                self.err(node.pos, path, m);
                None
            }
        }
    }

    fn file(&mut self, node: &Node, path: &str) -> Vec<RuleGroup> {
        let Some(entries) = self.fields(node, path, "a rule file", FILE_KEYS, &[]) else { return Vec::new() };
        let Some((_, groups)) = entries.iter().find(|(k, _)| k.text == "groups") else {
            self.err(
                node.pos,
                path,
                "missing key `groups` (a list of rule groups: `groups: [{name: pool, rules: [...]}]`)",
            );
            return Vec::new();
        };
        let gpath = join(path, "groups");
        let Value::Seq(items) = &groups.value else {
            self.err(groups.pos, &gpath, format!("expected a list of rule groups, found {}", groups.describe()));
            return Vec::new();
        };
        let mut out: Vec<(RuleGroup, Pos)> = Vec::new();
        for (i, g) in items.iter().enumerate() {
            let p = join(&gpath, &i.to_string());
            if let Some(group) = self.group(g, &p) {
                if let Some((_, first)) = out.iter().find(|(o, _)| o.name == group.name) {
                    let msg = format!(
                        "group name `{}` is repeated (first at line {}, column {}); group names must be unique",
                        group.name, first.line, first.col
                    );
                    self.err(g.pos, &join(&p, "name"), msg);
                }
                out.push((group, g.pos));
            }
        }
        out.into_iter().map(|(g, _)| g).collect()
    }

    fn group(&mut self, node: &Node, path: &str) -> Option<RuleGroup> {
        let entries = self.fields(node, path, "a rule group", GROUP_KEYS, GROUP_UNSUPPORTED)?;
        let get = |k: &str| entries.iter().find(|(key, _)| key.text == k).map(|(_, n)| n);
        let name = match get("name") {
            None => {
                self.err(node.pos, path, "missing key `name` (the group's name)");
                None
            }
            Some(n) => match self.scalar(n, &join(path, "name"), "the group's name") {
                Some("") => {
                    self.err(n.pos, &join(path, "name"), "the group's name is empty");
                    None
                }
                other => other.map(str::to_string),
            },
        };
        let interval_ms = match get("interval") {
            None => None,
            Some(n) => match self.duration(n, &join(path, "interval")) {
                Some(0) => {
                    self.err(n.pos, &join(path, "interval"), "the evaluation interval must be longer than zero");
                    None
                }
                other => other,
            },
        };
        let rules = match get("rules") {
            None => {
                self.err(node.pos, path, "missing key `rules` (a list of alerting rules)");
                Vec::new()
            }
            Some(n) => self.rules(n, &join(path, "rules")),
        };
        Some(RuleGroup { name: name?, interval_ms, rules })
    }

    fn rules(&mut self, node: &Node, path: &str) -> Vec<AlertRule> {
        let Value::Seq(items) = &node.value else {
            self.err(node.pos, path, format!("expected a list of alerting rules, found {}", node.describe()));
            return Vec::new();
        };
        items.iter().enumerate().filter_map(|(i, r)| self.rule(r, &join(path, &i.to_string()))).collect()
    }

    fn rule(&mut self, node: &Node, path: &str) -> Option<AlertRule> {
        let entries = self.fields(node, path, "an alerting rule", RULE_KEYS, RULE_UNSUPPORTED)?;
        let get = |k: &str| entries.iter().find(|(key, _)| key.text == k).map(|(_, n)| n);
        if get("record").is_some() {
            return None;
        }
        let name = match get("alert") {
            None => {
                self.err(node.pos, path, "missing key `alert` (the alert's name, e.g. `alert: PoolExhausted`)");
                None
            }
            Some(n) => match self.scalar(n, &join(path, "alert"), "the alert's name") {
                Some("") => {
                    self.err(n.pos, &join(path, "alert"), "the alert's name is empty");
                    None
                }
                other => other.map(str::to_string),
            },
        };
        let expr = match get("expr") {
            None => {
                self.err(
                    node.pos,
                    path,
                    "missing key `expr` (a PromQL expression, e.g. `db_pool_waiting_requests > 0`)",
                );
                None
            }
            Some(n) => self.expr(n, &join(path, "expr")),
        };
        let for_ms = get("for").map_or(Some(0), |n| self.duration(n, &join(path, "for")));
        let keep_firing_for_ms =
            get("keep_firing_for").map_or(Some(0), |n| self.duration(n, &join(path, "keep_firing_for")));
        let labels = get("labels").map_or(Some(Vec::new()), |n| self.templates(n, &join(path, "labels"), true));
        let annotations =
            get("annotations").map_or(Some(Vec::new()), |n| self.templates(n, &join(path, "annotations"), false));
        let (expr, expr_text) = expr?;
        Some(AlertRule {
            name: name?,
            expr,
            expr_text,
            for_ms: for_ms?,
            keep_firing_for_ms: keep_firing_for_ms?,
            labels: labels?,
            annotations: annotations?,
            pos: node.pos,
            path: path.to_string(),
        })
    }

    fn expr(&mut self, node: &Node, path: &str) -> Option<(Expr, String)> {
        let text = self.scalar(node, path, "a PromQL expression")?;
        match parse_expr(text, self.metrics) {
            Ok(e) => Some((e, text.to_string())),
            Err(e) => {
                let (pos, exact) = locate(self.src, node.pos, text, e.span.start);
                let note = if exact {
                    String::new()
                } else {
                    format!(" (at character {} of the expression)", e.span.start + 1)
                };
                self.err(pos, path, format!("{}{note}", e.message));
                None
            }
        }
    }

    fn templates(&mut self, node: &Node, path: &str, are_labels: bool) -> Option<Vec<(String, Template)>> {
        let what = if are_labels { "labels (name: value)" } else { "annotations (name: text)" };
        let Value::Map(entries) = &node.value else {
            self.err(node.pos, path, format!("expected a mapping of {what}, found {}", node.describe()));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let p = join(path, &k.text);
            let valid_name = k.text.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && k.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                self.err(
                    k.pos,
                    &p,
                    format!("invalid name `{}`: use letters, digits and `_`, not starting with a digit", k.text),
                );
                ok = false;
                continue;
            }
            if are_labels && k.text.starts_with("__") {
                self.err(k.pos, &p, format!("label names starting with `__` are reserved (`{}`)", k.text));
                ok = false;
                continue;
            }
            let Some(text) = self.scalar(v, &p, "a text") else {
                ok = false;
                continue;
            };
            match Template::parse(text) {
                Ok(t) => out.push((k.text.clone(), t)),
                Err((off, msg)) => {
                    let (pos, _) = locate(self.src, v.pos, text, off);
                    self.err(pos, &p, msg);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::known_metrics;

    fn problems(src: &str) -> String {
        match parse_rule_file("r.yaml", src, Some(&known_metrics())) {
            Ok(g) => panic!("accepted: {g:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_rule_file_reads_into_groups() {
        let src = "\
groups:
  - name: pool
    interval: 30s
    rules:
      - alert: PoolExhausted
        expr: |
          sum by (pool) (rate(db_pool_exhaustion_total[1m])) > 0
        for: 1m
        keep_firing_for: 2m
        labels: {severity: page}
        annotations:
          summary: 'pool {{ $labels.pool }}: {{ $value }} timeouts/s'
  - name: other
    rules:
      - alert: Waiting
        expr: db_pool_waiting_requests > 5
";
        let g = parse_rule_file("r.yaml", src, Some(&known_metrics())).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].name.as_str(), g[0].interval_ms), ("pool", Some(30_000)));
        let r = &g[0].rules[0];
        assert_eq!((r.name.as_str(), r.for_ms, r.keep_firing_for_ms), ("PoolExhausted", 60_000, 120_000));
        assert_eq!(r.path, "groups.0.rules.0");
        assert_eq!(r.labels[0].0, "severity");
        assert_eq!(g[1].interval_ms, None);
        assert_eq!(g[1].rules[0].for_ms, 0);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_position() {
        let src = "\
groups:
  - name: pool
    limit: 3
    rules:
      - alert: A
        exprr: x
      - alert: B
        expr: sum(rate(db_pool_exhaustion_totl[5m])) > 0
        for: 5
      - alert: C
        expr: 'db_pool_used_size{pool=\"a\"} > bool'
      - alert: D
        expr: |
          sum(db_pool_used_size)
            > predict_linear(db_pool_used_size[5m], 60)
        annotations: {x: '{{ $value | humanize }}'}
      - record: job:x:rate
        expr: vector(1)
      - expr: db_pool_used_size > 1
        labels: {__x: a, 9z: b}
  - name: pool
    rules: []
";
        let text = problems(src);
        let want = [
            "r.yaml:3:5: groups.0.limit: `limit` (alert count limit) is not supported",
            "r.yaml:5:9: groups.0.rules.0: missing key `expr`",
            "r.yaml:6:9: groups.0.rules.0.exprr: unknown key `exprr` (did you mean `expr`?); expected one of `alert`, `expr`, `for`, `keep_firing_for`, `labels`, `annotations`",
            "r.yaml:8:24: groups.0.rules.1.expr: unknown metric `db_pool_exhaustion_totl` (did you mean `db_pool_exhaustion_total`?)",
            "r.yaml:9:14: groups.0.rules.1.for: duration `5` has no unit",
            // Just past the end: the closing quote.
            "r.yaml:11:50: groups.0.rules.2.expr: unexpected end of the expression",
            "r.yaml:15:15: groups.0.rules.3.expr: unsupported function `predict_linear`",
            "r.yaml:16:27: groups.0.rules.3.annotations.x: unsupported template action `{{ $value | humanize }}`",
            "r.yaml:17:9: groups.0.rules.4.record: recording rules (`record:`) are not supported",
            "r.yaml:19:9: groups.0.rules.5: missing key `alert`",
            "r.yaml:20:18: groups.0.rules.5.labels.__x: label names starting with `__` are reserved",
            "r.yaml:20:26: groups.0.rules.5.labels.9z: invalid name `9z`",
            "r.yaml:21:5: groups.1.name: group name `pool` is repeated (first at line 2, column 5)",
        ];
        for w in want {
            assert!(text.contains(w), "missing {w:?} in:\n{text}");
        }
        assert!(text.ends_with("13 problems in r.yaml"), "{text}");
    }

    #[test]
    fn shape_problems_are_named() {
        assert!(problems("").contains("r.yaml:1:1: the rule file is empty"));
        assert!(problems("groups: 3\n").contains("r.yaml:1:9: groups: expected a list of rule groups, found `3`"));
        assert!(problems("grups: []\n").contains("unknown key `grups` (did you mean `groups`?)"));
        assert!(problems("groups: [{name: a, interval: 0s, rules: []}]\n").contains("must be longer than zero"));
        assert!(
            problems("groups: [{name: a, rules: {}}]\n").contains("expected a list of alerting rules, found a mapping")
        );
        assert!(
            problems("groups:\n  - name: a\n    rules: [{alert: X, expr: 'a b'}]\n")
                .contains("r.yaml:3:31: groups.0.rules.0.expr: unknown metric `a`")
        );
        assert!(problems("a: [\n").contains("invalid YAML"));
    }

    #[test]
    fn an_alerts_block_takes_a_list_of_rules_or_groups() {
        let src = "alerts:\n  - alert: W\n    expr: db_pool_waiting_requests > 0\n    for: 30s\n";
        let root = yaml::parse(src).unwrap();
        let node = root.get("alerts").unwrap();
        let g = rules_from_node(node, "alerts", Some(src), Some(&known_metrics())).unwrap();
        assert_eq!(
            (g[0].name.as_str(), g[0].rules[0].for_ms, g[0].rules[0].path.as_str()),
            ("alerts", 30_000, "alerts.0")
        );
        let src = "alerts:\n  groups:\n    - name: g\n      rules:\n        - alert: W\n          expr: db_pool_waiting_requests >> 0\n";
        let root = yaml::parse(src).unwrap();
        let issues =
            rules_from_node(root.get("alerts").unwrap(), "alerts", Some(src), Some(&known_metrics())).unwrap_err();
        assert_eq!(issues[0].path, "alerts.groups.0.rules.0.expr");
        assert_eq!((issues[0].pos.line, issues[0].pos.col), (6, 43), "the second `>`");
        let root = yaml::parse("alerts: yes\n").unwrap();
        let issues = rules_from_node(root.get("alerts").unwrap(), "alerts", None, None).unwrap_err();
        assert!(issues[0].message.starts_with("expected a list of alerting rules or a mapping with `groups`"));
        let src = "alerts:\n  groups:\n    - name: g\n      rules:\n        - alert: W\n          expr: db_pool_waiting_requests >> 0\n";
        let root = yaml::parse(src).unwrap();
        // Without the source text, the expression's start, with the offset said.
        let issues = rules_from_node(root.get("alerts").unwrap(), "alerts", None, Some(&known_metrics())).unwrap_err();
        assert_eq!((issues[0].pos.line, issues[0].pos.col), (6, 17));
        assert!(issues[0].message.ends_with("(at character 27 of the expression)"), "{}", issues[0].message);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const LINES: &[&str] = &[
            "groups:",
            "  - name: a",
            "    interval: 1m",
            "    rules:",
            "      - alert: X",
            "        expr: |",
            "        expr: >",
            "          sum(rate(db_pool_exhaustion_total[5m]))",
            "            > on(pool) 1 é",
            "        expr: 'a{b=''c''} >'",
            "        expr: \"a\\\"b\\u00e9 > \"",
            "        expr: db_pool_used_size{pool=~\"(\"}",
            "        for: 5",
            "        annotations: {x: '{{ $value'}",
            "        labels: {a: '{{ $labels.é }}'}",
            "\u{3000}",
            "",
            "  # c",
            "        expr: sum(x)",
            "          > y",
            "- [",
            "        keep_firing_for: -1m",
        ];

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
            #[test]
            fn rule_files_never_panic(idx in proptest::collection::vec(0..LINES.len(), 0..14)) {
                let src: Vec<&str> = idx.iter().map(|&i| LINES[i]).collect();
                let _ = parse_rule_file("f.yaml", &src.join("\n"), Some(&known_metrics()));
            }
        }
    }
}
