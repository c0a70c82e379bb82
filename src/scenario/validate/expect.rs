//! `expect:`: the form of each assertion (see [`crate::scenario::expect`] for what
//! they mean): bounds are finite numbers, `min <= max`, windows are ordered, and
//! `window`/`stat` only on timeline paths.

use super::fields::{Ctx, fields, join, list, p_duration, scalar};
use crate::engine::SimTime;
use crate::scenario::expect::{Bound, Expectation, Stat, TIMELINE_PREFIX, Window, num};
use crate::scenario::yaml::{Node, Pos, Value};

const BOUND_KEYS: &[&str] = &["min", "max", "equals", "tolerance", "window", "stat"];
const STATS: &[&str] = &["sum", "max", "min", "mean"];

/// Parses an `expect:` block.
pub(super) fn parse(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Vec<Expectation>> {
    let Value::Map(entries) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!(
                "expected a mapping of figures to bounds, e.g. `requests.timed_out: {{equals: 0}}`, found {}",
                node.describe()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (key, value) in entries {
        let p = join(path, &key.text);
        // A list asserts several bounds on one figure (e.g. two windows of a
        // column), since a key may appear only once in a mapping.
        let items: Vec<(&Node, String)> = match &value.value {
            Value::Seq(items) if !items.is_empty() => {
                items.iter().enumerate().map(|(i, n)| (n, join(&p, &i.to_string()))).collect()
            }
            _ => vec![(value, p)],
        };
        for (node, p) in items {
            match expectation(ctx, &key.text, key.pos, node, &p) {
                Some(e) => out.push(e),
                None => ok = false,
            }
        }
    }
    ok.then_some(out)
}

fn expectation(ctx: &mut Ctx, figure: &str, pos: Pos, node: &Node, path: &str) -> Option<Expectation> {
    let well_formed = !figure.is_empty()
        // `-` for names users give (pools, workloads) if figures come to carry them.
        && figure.split('.').all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)));
    if !well_formed {
        ctx.err(
            pos,
            path,
            format!(
                "`{figure}` is not a figure path; write the dotted path of a figure in summary.json \
                 (e.g. `latency_ms.p99`) or `timeline.COLUMN` (e.g. `timeline.timed_out`)"
            ),
        );
        return None;
    }
    let column = figure.strip_prefix(TIMELINE_PREFIX);
    if figure == "timeline" {
        ctx.err(pos, path, "name a timeline column, e.g. `timeline.timed_out`");
        return None;
    }
    let f = fields(ctx, node, path, BOUND_KEYS)?;
    let mut ok = true;
    let mut number = |ctx: &mut Ctx, key: &str| -> Option<f64> {
        let (n, p) = f.get(key)?;
        let r = p_number(ctx, n, &p);
        ok &= r.is_some();
        r
    };
    let (min, max, equals, tolerance) =
        (number(ctx, "min"), number(ctx, "max"), number(ctx, "equals"), number(ctx, "tolerance"));
    if !ok {
        return None;
    }
    if min.is_none() && max.is_none() && equals.is_none() {
        ctx.err(node.pos, path, "give a bound: `min`, `max`, or `equals` (e.g. `{max: 200}`)");
        return None;
    }
    if equals.is_some() && (min.is_some() || max.is_some()) {
        let (n, p) = f.get("equals").expect("equals is present");
        ctx.err(n.pos, &p, "give either `equals` or `min`/`max`, not both");
        return None;
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        let (n, p) = f.get("max").expect("max is present");
        ctx.err(n.pos, &p, format!("`max` ({}) is below `min` ({}); no value could pass", num(hi), num(lo)));
        return None;
    }
    if let Some(t) = tolerance {
        let (n, p) = f.get("tolerance").expect("tolerance is present");
        if equals.is_none() {
            ctx.err(n.pos, &p, "`tolerance` goes with `equals`");
            return None;
        }
        if t < 0.0 {
            ctx.err(n.pos, &p, format!("must be zero or more, found {}", num(t)));
            return None;
        }
    }
    let bound = Bound { min, max, equals, tolerance: tolerance.unwrap_or(0.0) };

    let timeline_only = |ctx: &mut Ctx, key: &str| {
        if let Some((n, p)) = f.get(key)
            && column.is_none()
        {
            ctx.err(
                n.pos,
                &p,
                format!("`{key}` applies to timeline columns (`timeline.COLUMN`); `{figure}` is a whole-run figure"),
            );
            return false;
        }
        true
    };
    if !(timeline_only(ctx, "window") & timeline_only(ctx, "stat")) {
        return None;
    }
    let window = match f.get("window") {
        Some((n, p)) => Some(window(ctx, n, &p)?),
        None => None,
    };
    let stat = match f.get("stat") {
        Some((n, p)) => match n.as_scalar() {
            Some("sum") => Some(Stat::Sum),
            Some("max") => Some(Stat::Max),
            Some("min") => Some(Stat::Min),
            Some("mean") => Some(Stat::Mean),
            _ => {
                ctx.err(n.pos, &p, format!("expected one of {}, found {}", list(STATS), n.describe()));
                return None;
            }
        },
        None => None,
    };
    Some(Expectation { path: figure.to_string(), pos, bound, window, stat })
}

/// A finite number (`0`, `0.05`, `-3`, `1e6`, `1_000`).
fn p_number(ctx: &mut Ctx, node: &Node, path: &str) -> Option<f64> {
    let (text, quoted) = scalar(ctx, node, path, "a number")?;
    let clean: String = text.trim().chars().filter(|&c| c != '_').collect();
    // YAML writes infinity and NaN as `.inf` and `.nan`; Rust's parser does not know them.
    let yaml_special =
        [".nan", ".inf", "nan", "inf", "infinity"].contains(&clean.to_ascii_lowercase().trim_start_matches(['+', '-']));
    let parsed = match () {
        _ if quoted || clean.is_empty() => None,
        _ if yaml_special => Some(f64::NAN),
        _ => clean.parse::<f64>().ok(),
    };
    match parsed {
        Some(x) if x.is_finite() => Some(x),
        Some(_) => {
            ctx.err(node.pos, path, format!("expected a finite number, found {}", node.describe()));
            None
        }
        None => {
            let hint = if text.chars().next().is_some_and(|c| c.is_ascii_digit())
                && text.trim_end().chars().last().is_some_and(|c| c.is_ascii_alphabetic())
            {
                " (bounds are plain numbers in the figure's unit, named in its path: `latency_ms.p99: {max: 200}`)"
            } else {
                ""
            };
            ctx.err(node.pos, path, format!("expected a number, found {}{hint}", node.describe()));
            None
        }
    }
}

fn window(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Window> {
    let f = fields(ctx, node, path, &["from", "until"])?;
    let from = match f.get("from") {
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| SimTime(d.0)),
        None => Some(SimTime::ZERO),
    };
    let until = match f.get("until") {
        Some((n, p)) => p_duration(ctx, n, &p).map(|d| Some(SimTime(d.0))),
        None => Some(None),
    };
    let (from, until) = (from?, until?);
    if let Some(u) = until
        && u <= from
    {
        let (n, p) = f.get("until").expect("until is present");
        ctx.err(n.pos, &p, format!("must be after `from` ({}s), found {}s", from.as_secs_f64(), u.as_secs_f64()));
        return None;
    }
    Some(Window { from, until })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Issue, validate::from_str};

    const BASE: &str =
        "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 10}\n";

    fn parse_expect(block: &str) -> Result<Vec<Expectation>, Vec<Issue>> {
        match from_str(&format!("{BASE}expect:\n{block}"), "t.yaml", None, &[]) {
            Ok(s) => Ok(s.expect),
            Err(e) => Err(e.issues().to_vec()),
        }
    }

    fn first_issue(block: &str) -> Issue {
        parse_expect(block).expect_err("should be refused").remove(0)
    }

    #[test]
    fn bounds_windows_and_stats_are_parsed() {
        let e = parse_expect(
            "  requests.timed_out: {equals: 0}\n  latency_ms.p99: {max: 200}\n  requests.timed_out_rate: {min: 0.01, max: 0.05}\n  timeline.timed_out: {max: 0, window: {from: 0s, until: 3m}, stat: sum}\n",
        )
        .unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].path, "requests.timed_out");
        assert_eq!(e[0].pos, Pos { line: 7, col: 3 });
        assert_eq!(e[0].bound.equals, Some(0.0));
        assert_eq!(e[1].bound.max, Some(200.0));
        assert_eq!((e[2].bound.min, e[2].bound.max), (Some(0.01), Some(0.05)));
        assert_eq!(e[3].timeline_column(), Some("timed_out"));
        assert_eq!(e[3].window, Some(Window { from: SimTime::ZERO, until: Some(SimTime(180_000_000_000)) }));
        assert_eq!(e[3].stat, Some(Stat::Sum));
    }

    #[test]
    fn bound_accepts_and_displays() {
        let b = Bound { min: Some(1.0), max: Some(2.0), equals: None, tolerance: 0.0 };
        assert!(b.accepts(1.0) && b.accepts(2.0) && !b.accepts(2.001) && !b.accepts(f64::NAN));
        assert_eq!(b.to_string(), "1 ..= 2");
        let e = Bound { min: None, max: None, equals: Some(5.0), tolerance: 0.5 };
        assert!(e.accepts(5.5) && !e.accepts(5.6));
        assert_eq!(e.to_string(), "= 5 ± 0.5");
    }

    #[test]
    fn malformed_assertions_are_located() {
        let i = first_issue("  latency_ms.p99: {max: 200ms}\n");
        assert_eq!((i.path.as_str(), i.pos), ("expect.latency_ms.p99.max", Pos { line: 7, col: 25 }));
        assert!(i.message.contains("plain numbers"), "{i:?}");
        assert!(first_issue("  latency_ms.p99: {}\n").message.contains("give a bound"));
        assert!(first_issue("  latency_ms.p99: {max: .nan}\n").message.contains("finite"));
        assert!(first_issue("  latency_ms.p99: {min: 5, max: 1}\n").message.contains("below `min`"));
        assert!(first_issue("  latency_ms.p99: {equals: 5, max: 1}\n").message.contains("not both"));
        assert!(first_issue("  latency_ms.p99: {max: 5, window: {from: 1s}}\n").message.contains("timeline columns"));
        assert!(first_issue("  timeline.ok: {max: 5, stat: median}\n").message.contains("`sum`"));
        assert!(first_issue("  timeline.ok: {max: 5, window: {from: 2s, until: 1s}}\n").message.contains("after"));
        assert!(first_issue("  timeline.ok: {max: 5, window: {from: 2}}\n").message.contains("unit"));
        let all = parse_expect("  timeline.ok: {maximum: 5}\n").unwrap_err();
        assert!(all.iter().any(|i| i.message.contains("unknown key `maximum`")), "{all:?}");
        assert!(first_issue("  latency ms: {max: 5}\n").message.contains("not a figure path"));
        assert!(first_issue("  - requests.ok\n").message.contains("mapping of figures"));
    }

    #[test]
    fn default_stats_follow_the_column_name() {
        assert_eq!(Stat::default_for("timed_out"), Stat::Sum);
        assert_eq!(Stat::default_for("db_refusals"), Stat::Sum);
        assert_eq!(Stat::default_for("db_pool_free_size_min"), Stat::Min);
        assert_eq!(Stat::default_for("db_pool_used_size_max"), Stat::Max);
        assert_eq!(Stat::default_for("db_connections_open"), Stat::Max);
        assert_eq!(Stat::default_for("db_pool_exhaustion_total"), Stat::Max);
    }
}
