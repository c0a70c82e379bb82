//! Joining shard outputs (`sweep.json` + `sweep.csv` of each `--shard K/N`) into the files an
//! unsharded sweep writes, byte for byte.
//!
//! Invariants: every part must describe the same sweep (same `sweep.json` apart from `shard`),
//! the shards `0/N` .. `N-1/N` must each appear exactly once, every row must belong to the shard
//! it came from, and together the rows must cover every point. Anything else is refused with a
//! message naming the part, rather than producing a table with holes.

use serde_json::Value as Json;

use crate::output::sweep::{parse_csv, write_line};

/// One shard's output.
#[derive(Debug, Clone)]
pub struct Part {
    /// Where it came from, for messages (its folder).
    pub name: String,
    /// Its `sweep.json`.
    pub meta: Json,
    /// Its `sweep.csv`.
    pub csv: String,
}

/// The merged `sweep.json` value and `sweep.csv` text.
pub fn merge(parts: &[Part]) -> Result<(Json, String), String> {
    let first = parts.first().ok_or("nothing to merge: give the shard output folders")?;
    let strip = |m: &Json| {
        let mut m = m.clone();
        if let Json::Object(o) = &mut m {
            o.remove("shard");
        }
        m
    };
    let base = strip(&first.meta);
    let points = base
        .get("points")
        .and_then(Json::as_u64)
        .ok_or_else(|| format!("{}: sweep.json has no `points`", first.name))? as usize;
    let mut count = None;
    let mut seen: Vec<Option<&str>> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for p in parts {
        if strip(&p.meta) != base {
            return Err(format!(
                "{} is from a different sweep than {} (scenario, grid, seed or replications differ)",
                p.name, first.name
            ));
        }
        let shard = p.meta.get("shard").and_then(Json::as_str).unwrap_or("");
        let s = super::Shard::parse(shard).map_err(|e| format!("{}: {e}", p.name))?;
        if *count.get_or_insert(s.count) != s.count {
            return Err(format!(
                "{} is shard {shard}, but {} was split into {} shards",
                p.name,
                first.name,
                count.unwrap_or(0)
            ));
        }
        seen.resize(s.count, None);
        if let Some(other) = seen[s.index] {
            return Err(format!("shard {shard} is given twice: {other} and {}", p.name));
        }
        seen[s.index] = Some(&p.name);
        let mut lines = parse_csv(&p.csv).map_err(|e| format!("{}/sweep.csv: {e}", p.name))?.into_iter();
        let head = lines.next().ok_or_else(|| format!("{}/sweep.csv is empty", p.name))?;
        match &header {
            None => header = Some(head),
            Some(h) if *h != head => {
                return Err(format!(
                    "{}/sweep.csv has other columns than {}: the swept values change which figures runs report \
                     (e.g. `theory.*` only where the scenario fits the model), so this sweep cannot be sharded; \
                     run it whole",
                    p.name, first.name
                ));
            }
            Some(_) => {}
        }
        for line in lines {
            let point: usize =
                line.first().and_then(|c| c.parse().ok()).ok_or_else(|| format!("{}/sweep.csv: bad row", p.name))?;
            if point >= points || !s.contains(point) {
                return Err(format!("{}/sweep.csv has point {point}, which is not in shard {shard}", p.name));
            }
            rows.push((point, line));
        }
    }
    let missing: Vec<usize> = (0..seen.len()).filter(|&k| seen[k].is_none()).collect();
    if !missing.is_empty() {
        let n = seen.len();
        let list: Vec<String> = missing.iter().map(|k| format!("{k}/{n}")).collect();
        return Err(format!("missing shard(s) {}", list.join(", ")));
    }
    rows.sort_by_key(|(p, _)| *p);
    if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("point {} appears twice", w[0].0));
    }
    if rows.len() != points {
        return Err(format!("the shards hold {} of the {points} points; some shard is incomplete", rows.len()));
    }
    let mut csv = Vec::new();
    let header = header.unwrap_or_default();
    write_line(&mut csv, &header).map_err(|e| e.to_string())?;
    for (_, r) in &rows {
        write_line(&mut csv, r).map_err(|e| e.to_string())?;
    }
    let mut meta = first.meta.clone();
    if let Json::Object(o) = &mut meta {
        o.insert("shard".into(), Json::String("0/1".into()));
    }
    Ok((meta, String::from_utf8(csv).map_err(|e| e.to_string())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, shard: &str, rows: &[&str]) -> Part {
        let meta = serde_json::json!({"scenario": "x", "points": 4, "shard": shard});
        Part {
            name: name.into(),
            meta,
            csv: format!("point,k,f\n{}", rows.iter().map(|r| format!("{r}\n")).collect::<String>()),
        }
    }

    #[test]
    fn shards_join_in_point_order() {
        let a = part("a", "0/2", &["0,1,1.0", "2,3,3.0"]);
        let b = part("b", "1/2", &["1,2,2.0", "3,\"4,5\",4.0"]);
        let (meta, csv) = merge(&[b.clone(), a.clone()]).unwrap();
        assert_eq!(csv, "point,k,f\n0,1,1.0\n1,2,2.0\n2,3,3.0\n3,\"4,5\",4.0\n");
        assert_eq!(meta["shard"], "0/1");
        assert!(merge(std::slice::from_ref(&a)).unwrap_err().contains("missing shard(s) 1/2"));
        assert!(merge(&[a.clone(), a.clone()]).unwrap_err().contains("given twice"));
        let wrong = part("c", "1/2", &["0,1,1.0"]);
        assert!(merge(&[a.clone(), wrong]).unwrap_err().contains("not in shard"));
        let short = part("d", "1/2", &["1,2,2.0"]);
        assert!(merge(&[a.clone(), short]).unwrap_err().contains("incomplete"));
        let mut other = b.clone();
        other.meta["scenario"] = "y".into();
        assert!(merge(&[a, other]).unwrap_err().contains("different sweep"));
    }
}
