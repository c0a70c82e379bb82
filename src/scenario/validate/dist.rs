//! Distributions of durations (`hold`, `overhead`, `think`, `connect_time`):
//! constant, uniform, exponential, normal, lognormal and empirical (a list or a CSV file).

use super::fields::{Ctx, Fields, fields, join, list, p_duration, p_string, scalar};
use crate::engine::SimDuration;
use crate::input::suggest;
use crate::scenario::units::{MAX_DURATION, parse_duration};
use crate::scenario::yaml::{Node, Value};
use crate::workload::Dist;
use std::path::Path;
use std::sync::Arc;

pub(super) const DISTS: &[&str] = &["constant", "uniform", "exponential", "normal", "lognormal", "empirical"];

/// A distribution: `{dist: NAME, ...}`, or a bare duration as shorthand for a constant.
pub(super) fn dist(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Dist> {
    if let Value::Scalar { .. } = node.value {
        return p_duration(ctx, node, path).map(Dist::Constant);
    }
    let Value::Map(entries) = &node.value else {
        ctx.err(
            node.pos,
            path,
            format!(
                "expected a distribution such as `{{dist: exponential, mean: 50ms}}` or a duration, found {}",
                node.describe()
            ),
        );
        return None;
    };
    let Some((_, kind_node)) = entries.iter().find(|(k, _)| k.text == "dist") else {
        ctx.err(node.pos, path, format!("missing key `dist` (one of {})", list(DISTS)));
        return None;
    };
    let kind_path = join(path, "dist");
    let kind = scalar(ctx, kind_node, &kind_path, "a distribution name")?.0;
    let allowed: &[&str] = match kind {
        "constant" => &["dist", "value"],
        "uniform" => &["dist", "min", "max"],
        "exponential" => &["dist", "mean"],
        "normal" => &["dist", "mean", "stddev"],
        "lognormal" => &["dist", "median", "p99"],
        "empirical" => &["dist", "values", "file"],
        other => {
            let hint = suggest(other, DISTS).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            ctx.err(
                kind_node.pos,
                &kind_path,
                format!("unknown distribution `{other}`{hint}; expected one of {}", list(DISTS)),
            );
            return None;
        }
    };
    let f = fields(ctx, node, path, allowed)?;
    let dur =
        |ctx: &mut Ctx, key: &str, example: &str| f.req(ctx, key, example).and_then(|(n, p)| p_duration(ctx, n, &p));
    match kind {
        "constant" => Some(Dist::Constant(dur(ctx, "value", "value: 1s")?)),
        "uniform" => {
            let (min, max) = (dur(ctx, "min", "min: 50ms"), dur(ctx, "max", "max: 150ms"));
            let (min, max) = (min?, max?);
            if max < min {
                ctx.err(f.pos, path, format!("`max` ({max}) must not be below `min` ({min})"));
                return None;
            }
            Some(Dist::Uniform { min, max })
        }
        "exponential" => {
            let mean = dur(ctx, "mean", "mean: 1s")?;
            positive(ctx, &f, "mean", mean)?;
            Some(Dist::Exponential { mean })
        }
        "normal" => {
            let (mean, stddev) = (dur(ctx, "mean", "mean: 100ms"), dur(ctx, "stddev", "stddev: 20ms"));
            let (mean, stddev) = (mean?, stddev?);
            positive(ctx, &f, "mean", mean)?;
            Some(Dist::Normal { mean, stddev })
        }
        "lognormal" => {
            let (median, p99) = (dur(ctx, "median", "median: 50ms"), dur(ctx, "p99", "p99: 400ms"));
            let (median, p99) = (median?, p99?);
            positive(ctx, &f, "median", median)?;
            if p99 <= median {
                ctx.err(
                    f.get("p99").map_or(f.pos, |(n, _)| n.pos),
                    &join(path, "p99"),
                    format!("must be above the median ({median}), found {p99}"),
                );
                return None;
            }
            Some(Dist::lognormal(median, p99))
        }
        _ => empirical(ctx, &f, path),
    }
}

pub(super) fn positive(ctx: &mut Ctx, f: &Fields, key: &str, d: SimDuration) -> Option<()> {
    if d.is_zero() {
        let (pos, p) = f.get(key).map_or((f.pos, f.path.clone()), |(n, p)| (n.pos, p));
        ctx.err(pos, &p, "must be longer than zero");
        return None;
    }
    Some(())
}

/// `{dist: empirical, values: [..]}` or `{dist: empirical, file: holds.csv}`.
pub(super) fn empirical(ctx: &mut Ctx, f: &Fields, path: &str) -> Option<Dist> {
    let values: Vec<u64> = match (f.get("values"), f.get("file")) {
        (Some((n, p)), None) => {
            let Value::Seq(items) = &n.value else {
                ctx.err(n.pos, &p, format!("expected a list of durations, found {}", n.describe()));
                return None;
            };
            let parsed: Vec<Option<SimDuration>> =
                items.iter().enumerate().map(|(i, it)| p_duration(ctx, it, &join(&p, &i.to_string()))).collect();
            parsed.into_iter().map(|d| d.map(|d| d.0)).collect::<Option<Vec<u64>>>()?
        }
        (None, Some((n, p))) => {
            let name = p_string(ctx, n, &p)?;
            let full = ctx.base_dir.map_or_else(|| Path::new(&name).to_path_buf(), |b| b.join(&name));
            match read_empirical_csv(&full) {
                Ok(v) => v,
                Err(m) => {
                    ctx.err(n.pos, &p, format!("{}: {m}", full.display()));
                    return None;
                }
            }
        }
        _ => {
            ctx.err(f.pos, path, "give exactly one of `values` (a list of durations) or `file` (a CSV of them)");
            return None;
        }
    };
    if values.is_empty() {
        ctx.err(f.pos, path, "an empirical distribution needs at least one value");
        return None;
    }
    Some(Dist::Empirical(Arc::from(values)))
}

/// Reads observed durations from a CSV: one value per line, with units (`12ms`),
/// or plain numbers under a header naming the unit (`hold_ms` or `hold_s`).
/// Only the first column is read; blank lines and `#` comments are skipped.
pub fn read_empirical_csv(path: &Path) -> Result<Vec<u64>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err("file is larger than 64 MiB".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut scale: Option<f64> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cell = line.split(',').next().unwrap_or("").trim();
        if cell.is_empty() || cell.starts_with('#') {
            continue;
        }
        if out.is_empty() && scale.is_none() && cell.parse::<f64>().is_err() && parse_duration(cell).is_err() {
            scale = Some(match cell.rsplit('_').next() {
                Some("ns") => 1.0,
                Some("us") => 1e3,
                Some("ms") => 1e6,
                Some("s") => 1e9,
                _ => {
                    return Err(format!(
                        "line {}: header `{cell}` should end in _ms, _s, _us or _ns to give the unit",
                        i + 1
                    ));
                }
            });
            continue;
        }
        let v = match (scale, cell.parse::<f64>()) {
            (Some(k), Ok(x)) if x.is_finite() && x >= 0.0 && x * k <= MAX_DURATION.0 as f64 => (x * k).round() as u64,
            (Some(_), _) => return Err(format!("line {}: expected a non-negative number, found `{cell}`", i + 1)),
            (None, _) => parse_duration(cell).map_err(|m| format!("line {}: {m}", i + 1))?.0,
        };
        out.push(v);
    }
    Ok(out)
}

/// An optional distribution key: zero (`constant 0`) when absent.
pub(crate) fn opt_dist(ctx: &mut Ctx, f: &Fields, key: &str) -> Option<Dist> {
    match f.get(key) {
        Some((n, p)) => dist(ctx, n, &p),
        None => Some(Dist::Constant(SimDuration::ZERO)),
    }
}
