//! `compare.csv`, `compare.json` and the Markdown table of `sim compare`.
//!
//! One row per figure (dotted `summary.json` path): each scenario's value (mean over the
//! replications, with its 95% interval when there are several), then each scenario's paired
//! difference from the first (the baseline). Floats have six fixed decimals in the CSV and are
//! rounded to six decimals in the JSON, so the same comparison is always the same bytes.

use std::io::{self, Write};

use serde_json::{Map, Value as Json, json};

use super::fmt6;
use super::sweep::write_line;
use crate::result::{Comparison, Estimate};

/// Figures shown in the terminal table, in this order, when the summary has them (the fleet
/// model's `database.*` ones included). The CSV and JSON hold every figure.
const TABLE_FIGURES: &[&str] = &[
    "requests.total",
    "requests.ok",
    "requests.timed_out",
    "requests.timed_out_rate",
    "requests.failed",
    "requests.refused",
    "latency_ms.p50",
    "latency_ms.p99",
    "acquire_wait_ms.p99",
    "queue_depth_max",
    "pool_used_max",
    "first_503_s",
    "throughput_ok_per_s",
    "database.peak_connections",
    "database.usable_connections",
    "database.refusals",
];

fn diff_name(c: &Comparison, i: usize) -> String {
    format!("{}-{}", c.names[i + 1], c.names[0])
}

/// Writes `compare.csv`.
pub fn write_csv<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    let ci = c.replications > 1;
    let mut head = vec!["figure".to_string()];
    let cols: Vec<String> = c.names.iter().cloned().chain((0..c.names.len() - 1).map(|i| diff_name(c, i))).collect();
    for n in &cols {
        head.push(n.clone());
        if ci {
            head.push(format!("{n}_ci95_low"));
            head.push(format!("{n}_ci95_high"));
        }
    }
    write_line(&mut w, &head)?;
    for r in &c.rows {
        let mut line = vec![r.path.clone()];
        for e in r.values.iter().chain(&r.diffs) {
            line.push(e.map(|e| fmt6(e.mean)).unwrap_or_default());
            if ci {
                line.push(e.and_then(|e| e.half_width.map(|_| fmt6(e.low()))).unwrap_or_default());
                line.push(e.and_then(|e| e.half_width.map(|_| fmt6(e.high()))).unwrap_or_default());
            }
        }
        write_line(&mut w, &line)?;
    }
    w.flush()
}

fn r6(x: f64) -> Json {
    let r = (x * 1e6).round() / 1e6;
    serde_json::Number::from_f64(if r == 0.0 { 0.0 } else { r }).map_or(Json::Null, Json::Number)
}

fn est_json(e: Option<Estimate>, ci: bool) -> Json {
    match (e, ci) {
        (None, _) => Json::Null,
        (Some(e), false) => r6(e.mean),
        (Some(e), true) => match e.half_width {
            Some(_) => json!({"mean": r6(e.mean), "ci95_low": r6(e.low()), "ci95_high": r6(e.high()), "n": e.n}),
            None => json!({"mean": r6(e.mean), "n": e.n}),
        },
    }
}

/// `compare.json` as a value.
pub fn json_value(c: &Comparison) -> Json {
    let ci = c.replications > 1;
    let mut figures = Map::new();
    for r in &c.rows {
        let values: Map<String, Json> =
            c.names.iter().cloned().zip(r.values.iter().map(|e| est_json(*e, ci))).collect();
        let diffs: Map<String, Json> =
            c.names[1..].iter().cloned().zip(r.diffs.iter().map(|e| est_json(*e, ci))).collect();
        figures.insert(r.path.clone(), json!({"values": values, "difference_from_baseline": diffs}));
    }
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "seed": c.seed,
        "replications": c.replications,
        "baseline": c.names[0],
        "scenarios": c.names,
        "scenario_hashes": c.first.iter().map(|r| r.meta.scenario_hash.as_str()).collect::<Vec<_>>(),
        "figures": figures,
    })
}

/// Writes `compare.json`.
pub fn write_json<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &json_value(c))?;
    writeln!(w)?;
    w.flush()
}

/// A short number for the table: up to three decimals, trailing zeros dropped.
fn short(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    if s == "-0" { "0".into() } else { s.to_string() }
}

fn cell(e: Option<Estimate>, signed: bool) -> String {
    let Some(e) = e else { return "–".into() };
    let m = if signed && e.mean > 0.0 { format!("+{}", short(e.mean)) } else { short(e.mean) };
    match e.half_width {
        Some(h) => format!("{m} ± {}", short(h)),
        None => m,
    }
}

/// Writes the comparison as a Markdown table, padded so it also reads well in a terminal.
pub fn write_table<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    let mut head = vec!["figure".to_string()];
    head.extend(c.names.iter().cloned());
    head.extend((0..c.names.len() - 1).map(|i| format!("{} − {}", c.names[i + 1], c.names[0])));
    let shown = |p: &str| TABLE_FIGURES.contains(&p);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let order = |p: &str| TABLE_FIGURES.iter().position(|f| *f == p).unwrap_or(TABLE_FIGURES.len());
    let mut picked: Vec<_> = c.rows.iter().filter(|r| shown(&r.path)).collect();
    picked.sort_by_key(|r| order(&r.path));
    for r in picked {
        let mut line = vec![format!("`{}`", r.path)];
        line.extend(r.values.iter().map(|e| cell(*e, false)));
        line.extend(r.diffs.iter().map(|e| cell(*e, true)));
        rows.push(line);
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([head[i].chars().count(), 3]).max().unwrap_or(3))
        .collect();
    let pad = |cells: &[String]| -> String {
        let cols: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, wd))| {
                let fill = " ".repeat(wd - c.chars().count());
                if i == 0 { format!("{c}{fill}") } else { format!("{fill}{c}") }
            })
            .collect();
        format!("| {} |", cols.join(" | "))
    };
    writeln!(w, "{}", pad(&head))?;
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, wd)| if i == 0 { "-".repeat(wd + 2) } else { format!("{}:", "-".repeat(wd + 1)) })
        .collect();
    writeln!(w, "|{}|", rule.join("|"))?;
    for r in &rows {
        writeln!(w, "{}", pad(r))?;
    }
    let note = if c.replications > 1 {
        format!(
            "{} replications per scenario; ± is the 95% confidence interval (Student t, paired for differences)",
            c.replications
        )
    } else {
        "One run per scenario; use --replications for confidence intervals".to_string()
    };
    writeln!(w, "\nSame seed ({}) for every scenario: identical arrivals meet each design. {note}.", c.seed)
}
