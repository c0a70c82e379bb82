//! The typed field readers every section shares: a mapping's keys checked
//! against the allowed set ([`fields`]), and one reader per kind of value
//! (whole numbers, durations, rates, timeouts, names, choices, probabilities).
//! Each records an [`Issue`](crate::scenario::Issue) with the node's position and the key's
//! dotted path instead of stopping, so every problem of a file is reported at once.

use crate::engine::{SimDuration, SimTime};
use crate::input::suggest;
use crate::scenario::units::{parse_duration, parse_rate};
use crate::scenario::yaml::{Key, Node, Pos, Value, push_segment};
use crate::scenario::{Issue, Priority};
use std::path::Path;

/// The problems found so far, and where relative paths (empirical CSV files) start from.
pub(crate) struct Ctx<'a> {
    pub(crate) issues: Vec<Issue>,
    pub(crate) base_dir: Option<&'a Path>,
    /// The file's text, for exact columns inside embedded languages (alert expressions).
    pub(crate) src: Option<&'a str>,
}

impl Ctx<'_> {
    pub(crate) fn err(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.issues.push(Issue { pos, path: path.to_string(), message: message.into() });
    }
}

pub(crate) fn join(path: &str, seg: &str) -> String {
    let mut p = path.to_string();
    push_segment(&mut p, seg);
    p
}

/// The keys of one mapping, checked against the allowed set.
pub(crate) struct Fields<'n> {
    pub(crate) pos: Pos,
    pub(crate) path: String,
    pub(crate) entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    pub(crate) fn get(&self, key: &str) -> Option<(&'n Node, String)> {
        self.entries.iter().find(|(k, _)| k.text == key).map(|(_, n)| (n, join(&self.path, key)))
    }
    pub(crate) fn req(&self, ctx: &mut Ctx, key: &str, example: &str) -> Option<(&'n Node, String)> {
        let found = self.get(key);
        if found.is_none() {
            ctx.err(self.pos, &self.path, format!("missing key `{key}` (e.g. `{example}`)"));
        }
        found
    }
}

pub(crate) fn fields<'n>(ctx: &mut Ctx, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
    let Value::Map(entries) = &node.value else {
        let what = if path.is_empty() { "the scenario".to_string() } else { format!("`{path}`") };
        ctx.err(
            node.pos,
            path,
            format!("expected {what} to be a mapping of {}, found {}", list(allowed), node.describe()),
        );
        return None;
    };
    for (k, _) in entries {
        if !allowed.contains(&k.text.as_str()) {
            let hint = suggest(&k.text, allowed).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(
                k.pos,
                &join(path, &k.text),
                format!("unknown key `{}`{hint}; expected one of {}", k.text, list(allowed)),
            );
        }
    }
    Some(Fields { pos: node.pos, path: path.to_string(), entries })
}

pub(crate) fn list(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

pub(crate) fn scalar<'n>(ctx: &mut Ctx, node: &'n Node, path: &str, expected: &str) -> Option<(&'n str, bool)> {
    match &node.value {
        Value::Scalar { text, quoted } => Some((text.as_str(), *quoted)),
        _ => {
            ctx.err(node.pos, path, format!("expected {expected}, found {}", node.describe()));
            None
        }
    }
}

pub(crate) fn p_uint(ctx: &mut Ctx, node: &Node, path: &str, min: u64, max: u64, what: &str) -> Option<u64> {
    let expected = format!("a whole number ({what})");
    let (text, _) = scalar(ctx, node, path, &expected)?;
    let clean: String = text.trim().chars().filter(|&c| c != '_').collect();
    match clean.parse::<u64>() {
        Ok(v) if v < min => {
            ctx.err(node.pos, path, format!("must be at least {min} ({what}), found {v}"));
            None
        }
        Ok(v) if v > max => {
            ctx.err(node.pos, path, format!("must be at most {max} ({what}), found {v}"));
            None
        }
        Ok(v) => Some(v),
        Err(_) => {
            let detail = if clean.starts_with('-') && clean[1..].parse::<u64>().is_ok() {
                " (negative)".to_string()
            } else if clean.len() > 1 && clean.chars().all(|c| c.is_ascii_digit()) {
                " (too large)".to_string()
            } else if clean.parse::<f64>().is_ok() {
                " (not a whole number)".to_string()
            } else {
                String::new()
            };
            ctx.err(node.pos, path, format!("expected {expected}, found {}{detail}", node.describe()));
            None
        }
    }
}

pub(crate) fn p_string(ctx: &mut Ctx, node: &Node, path: &str) -> Option<String> {
    scalar(ctx, node, path, "text").map(|(t, _)| t.to_string())
}

pub(crate) fn p_duration(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SimDuration> {
    let (text, _) = scalar(ctx, node, path, "a duration with a unit, e.g. `250ms`, `1.5s`, `2m`")?;
    match parse_duration(text) {
        Ok(d) => Some(d),
        Err(m) => {
            ctx.err(node.pos, path, m);
            None
        }
    }
}

pub(crate) fn p_positive_duration(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SimDuration> {
    let d = p_duration(ctx, node, path)?;
    if d.is_zero() {
        ctx.err(node.pos, path, "must be longer than zero");
        return None;
    }
    Some(d)
}

pub(crate) fn p_rate(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let (text, _) = scalar(ctx, node, path, "a rate such as `9/s` or `540/m`")?;
    match parse_rate(text) {
        Ok(r) => Some(r),
        Err(m) => {
            ctx.err(node.pos, path, m);
            None
        }
    }
}

/// An acquire timeout: a duration, or `never` to wait forever.
pub(crate) fn p_timeout(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SimDuration> {
    if node.as_scalar() == Some("never") {
        return Some(SimDuration::MAX);
    }
    p_duration(ctx, node, path)
}

/// One of a fixed set of words.
pub(crate) fn choice<T: Copy>(ctx: &mut Ctx, node: &Node, path: &str, options: &[(&str, T)]) -> Option<T> {
    let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
    let (text, _) = scalar(ctx, node, path, &format!("one of {}", list(&words)))?;
    match options.iter().find(|(w, _)| *w == text) {
        Some((_, v)) => Some(*v),
        None => {
            let hint = suggest(text, &words).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(node.pos, path, format!("expected one of {}, found `{text}`{hint}", list(&words)));
            None
        }
    }
}

pub(crate) const PRIORITIES: &[(&str, Priority)] =
    &[("high", Priority::High), ("normal", Priority::Normal), ("low", Priority::Low)];

/// A duration, or `never` for none.
pub(crate) fn opt_never(ctx: &mut Ctx, f: &Fields, key: &str) -> Option<Option<SimDuration>> {
    match f.get(key) {
        Some((n, _)) if n.as_scalar() == Some("never") => Some(None),
        Some((n, p)) => p_positive_duration(ctx, n, &p).map(Some),
        None => Some(None),
    }
}

/// A name used to refer to an entry from elsewhere (events, classes, jobs).
pub(crate) fn p_name(ctx: &mut Ctx, node: &Node, path: &str, what: &str) -> Option<String> {
    let s = p_string(ctx, node, path)?;
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
        ctx.err(node.pos, path, format!("a {what} name is letters, digits, `-` or `_`, found `{s}`"));
        return None;
    }
    Some(s)
}

/// A non-empty list of named entries, each parsed by `item`, with unique names.
pub(crate) fn named_list<T>(
    ctx: &mut Ctx,
    node: &Node,
    path: &str,
    what: &str,
    example: &str,
    mut item: impl FnMut(&mut Ctx, &Node, &str) -> Option<T>,
    name: impl Fn(&T) -> &str,
) -> Option<Vec<T>> {
    let Value::Seq(items) = &node.value else {
        ctx.err(node.pos, path, format!("expected a list of {what}s such as `- {example}`, found {}", node.describe()));
        return None;
    };
    if items.is_empty() {
        ctx.err(node.pos, path, format!("the list of {what}s is empty; add at least one such as `- {example}`"));
        return None;
    }
    if items.len() > u16::MAX as usize {
        ctx.err(node.pos, path, format!("too many {what}s ({}); at most {}", items.len(), u16::MAX));
        return None;
    }
    let mut out: Vec<T> = Vec::new();
    let mut ok = true;
    for (i, it) in items.iter().enumerate() {
        let p = join(path, &i.to_string());
        match item(ctx, it, &p) {
            Some(v) => {
                if let Some(prev) = out.iter().position(|o| name(o) == name(&v)) {
                    ctx.err(it.pos, &p, format!("{what} name `{}` is already used by {what} {prev}", name(&v)));
                    ok = false;
                }
                out.push(v);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Resolves a reference to a named entry. `names` is `None` when the list
/// itself is invalid: the reference is then not checked (no false message).
pub(crate) fn resolve(ctx: &mut Ctx, node: &Node, path: &str, what: &str, names: Option<&[String]>) -> Option<u16> {
    let name = p_string(ctx, node, path)?;
    let names = names?;
    match names.iter().position(|n| *n == name) {
        Some(i) => Some(i as u16),
        None => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = suggest(&name, &refs).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(node.pos, path, format!("no {what} named `{name}`{hint}; {what}s are {}", list(&refs)));
            None
        }
    }
}

/// A probability: a number in [0, 1] or a percentage such as `10%`.
pub(crate) fn p_probability(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let (text, _) = scalar(ctx, node, path, "a probability such as `0.1` or `10%`")?;
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().ok().map(|v| v / 100.0),
        None => t.parse::<f64>().ok(),
    };
    match v {
        Some(v) if (0.0..=1.0).contains(&v) => Some(v),
        _ => {
            ctx.err(node.pos, path, format!("expected a probability between 0 and 1 (or 0% to 100%), found `{t}`"));
            None
        }
    }
}

pub(crate) fn name_of(ctx: &mut Ctx, f: &Fields, default: String) -> Option<String> {
    match f.get("name") {
        Some((n, p)) => {
            let s = p_string(ctx, n, &p)?;
            if s.is_empty() || s.contains(['.', ',', '"', '\n']) {
                ctx.err(
                    n.pos,
                    &p,
                    format!("a workload name must be non-empty without `.`, `,` or quotes, found `{s}`"),
                );
                return None;
            }
            Some(s)
        }
        None => Some(default),
    }
}

pub(crate) fn opt_time(ctx: &mut Ctx, f: &Fields, key: &str) -> Option<SimTime> {
    match f.get(key) {
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| SimTime(d.0)),
        None => Some(SimTime::ZERO),
    }
}
