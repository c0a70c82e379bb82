//! `sweep.csv` and `sweep.json` of a sweep (or of one shard), and reading them back for
//! `sim merge`.
//!
//! `sweep.csv`: `point`, the swept keys (values as given), then per figure its mean over the
//! replications and, when there are several, `<figure>_ci95_low` and `<figure>_ci95_high`
//! (Student t). Floats have six fixed decimals; an empty cell means no run had the figure
//! (e.g. `first_503_s` when nothing timed out). The `point` column is the grid index, so a
//! shard's rows sort back into the whole grid. `sweep.json` describes the grid (keys, values,
//! replications, seed, shard); merging checks that all parts describe the same sweep.
//!
//! Invariant: the bytes depend only on the [`Table`] and [`SweepMeta`], never on thread count
//! or shard layout, so merged shards reproduce the unsharded files exactly.

use std::io::{self, Write};

use serde_json::{Value as Json, json};

use super::fmt6;
use crate::result::{Estimate, Row, Shard, Table};
use crate::scenario::grid::Grid;

/// What a sweep output describes, written as `sweep.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepMeta {
    /// Scenario name.
    pub scenario: String,
    /// Hash of the scenario as written (no overrides).
    pub scenario_hash: String,
    /// `--seed`, if given (else every point uses its scenario's seed).
    pub seed: Option<u64>,
    /// Runs per point.
    pub replications: usize,
    /// The grid.
    pub grid: Grid,
    /// Which share of the grid this output holds.
    pub shard: Shard,
}

/// `sweep.json` as a JSON value.
pub fn meta_value(m: &SweepMeta) -> Json {
    json!({
        "scenario": m.scenario,
        "scenario_hash": m.scenario_hash,
        "version": env!("CARGO_PKG_VERSION"),
        "seed": m.seed,
        "replications": m.replications,
        "points": m.grid.len(),
        "shard": format!("{}/{}", m.shard.index, m.shard.count),
        "keys": m.grid.axes.iter().map(|a| json!({
            "key": a.key,
            "label": a.label(),
            "values": a.values.iter().map(|v| v.text.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Writes `sweep.json`.
pub fn write_meta<W: Write>(mut w: W, m: &SweepMeta) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &meta_value(m))?;
    writeln!(w)?;
    w.flush()
}

/// The CSV header line's cells.
pub fn header(t: &Table) -> Vec<String> {
    let mut h = vec!["point".to_string()];
    h.extend(t.keys.iter().cloned());
    for f in &t.figures {
        h.push(f.clone());
        if t.replications > 1 {
            h.push(format!("{f}_ci95_low"));
            h.push(format!("{f}_ci95_high"));
        }
    }
    h
}

/// One row's cells.
pub fn row_cells(t: &Table, r: &Row) -> Vec<String> {
    let mut c = vec![r.point.to_string()];
    c.extend(r.values.iter().cloned());
    for e in &r.cells {
        c.push(e.map(|e| fmt6(e.mean)).unwrap_or_default());
        if t.replications > 1 {
            c.push(e.and_then(|e| e.half_width.map(|_| fmt6(e.low()))).unwrap_or_default());
            c.push(e.and_then(|e| e.half_width.map(|_| fmt6(e.high()))).unwrap_or_default());
        }
    }
    c
}

/// Writes `sweep.csv`.
pub fn write_csv<W: Write>(mut w: W, t: &Table) -> io::Result<()> {
    write_line(&mut w, &header(t))?;
    for r in &t.rows {
        write_line(&mut w, &row_cells(t, r))?;
    }
    w.flush()
}

/// Writes one CSV line, quoting cells that need it (RFC 4180).
pub fn write_line<W: Write>(w: &mut W, cells: &[String]) -> io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| quote(c)).collect();
    writeln!(w, "{}", line.join(","))
}

fn quote(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() }
}

/// Splits CSV text into lines of cells (RFC 4180 quoting; `\n` line ends, as we write them).
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted cell".into());
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    Ok(rows)
}

/// Rebuilds a table from `sweep.csv` cells (for plots after `sim merge`): means and interval
/// ends are read back at their written precision.
pub fn table_from_csv(rows: &[Vec<String>], keys: usize, replications: usize) -> Result<Table, String> {
    let head = rows.first().ok_or("empty sweep.csv")?;
    let per = if replications > 1 { 3 } else { 1 };
    if head.len() < 1 + keys || !(head.len() - 1 - keys).is_multiple_of(per) {
        return Err(format!("sweep.csv has {} columns, which does not fit {keys} keys", head.len()));
    }
    let figures: Vec<String> = head[1 + keys..].iter().step_by(per).cloned().collect();
    let num = |s: &str| {
        if s.is_empty() { Ok(None) } else { s.parse::<f64>().map(Some).map_err(|_| format!("`{s}` is not a number")) }
    };
    let mut out = Vec::new();
    for (i, r) in rows[1..].iter().enumerate() {
        if r.len() != head.len() {
            return Err(format!("sweep.csv line {} has {} cells, the header {}", i + 2, r.len(), head.len()));
        }
        let point = r[0].parse().map_err(|_| format!("sweep.csv line {}: bad point `{}`", i + 2, r[0]))?;
        let mut cells = Vec::new();
        for chunk in r[1 + keys..].chunks(per) {
            let mean = num(&chunk[0])?;
            let hw = if per == 3 { num(&chunk[2])?.zip(mean).map(|(h, m)| h - m) } else { None };
            cells.push(mean.map(|mean| Estimate { n: replications, mean, half_width: hw }));
        }
        out.push(Row { point, values: r[1..1 + keys].to_vec(), cells });
    }
    Ok(Table { keys: head[1..1 + keys].to_vec(), figures, replications, rows: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(reps: usize) -> Table {
        Table {
            keys: vec!["pool.max_size".into(), "request.hold".into()],
            figures: vec!["requests.total".into(), "first_503_s".into()],
            replications: reps,
            rows: vec![Row {
                point: 3,
                values: vec!["5".into(), "{dist: constant, value: 1s}".into()],
                cells: vec![Estimate::of(&[1.0, 2.0, 3.0][..reps]), None],
            }],
        }
    }

    #[test]
    fn csv_columns_and_quoting() {
        let mut out = Vec::new();
        write_csv(&mut out, &table(1)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "point,pool.max_size,request.hold,requests.total,first_503_s\n3,5,\"{dist: constant, value: 1s}\",1.000000,\n"
        );
        let mut out = Vec::new();
        write_csv(&mut out, &table(3)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("point,pool.max_size,request.hold,requests.total,requests.total_ci95_low,requests.total_ci95_high,first_503_s,first_503_s_ci95_low,first_503_s_ci95_high\n"), "{text}");
        assert!(text.contains(",2.000000,-0.484138,4.484138,,,\n"), "{text}");
    }

    #[test]
    fn csv_reads_back() {
        for reps in [1, 3] {
            let t = table(reps);
            let mut out = Vec::new();
            write_csv(&mut out, &t).unwrap();
            let rows = parse_csv(std::str::from_utf8(&out).unwrap()).unwrap();
            let back = table_from_csv(&rows, 2, reps).unwrap();
            assert_eq!(back.keys, t.keys);
            assert_eq!(back.figures, t.figures);
            assert_eq!(back.rows[0].values, t.rows[0].values);
            assert!((back.rows[0].cells[0].unwrap().mean - t.rows[0].cells[0].unwrap().mean).abs() < 1e-6);
        }
        assert!(parse_csv("a,\"b").is_err());
    }
}
