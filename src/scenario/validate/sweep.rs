//! `sweep:`: the block's form and each values spec's syntax (see
//! [`crate::scenario::sweep`] for what the block means).

use super::fields::{Ctx, fields, p_uint};
use crate::scenario::grid::Axis;
use crate::scenario::sweep::{MAX_REPLICATIONS, SweepSpec};
use crate::scenario::yaml::{Node, Value};

/// Parses a `sweep:` block.
pub(super) fn parse(ctx: &mut Ctx, node: &Node, path: &str) -> Option<SweepSpec> {
    let f = fields(ctx, node, path, &["set", "replications"])?;
    let mut ok = true;
    let mut set = Vec::new();
    if let Some((n, p)) = f.req(ctx, "set", "set: {pool.max_size: \"1..30:1\"}") {
        match &n.value {
            Value::Map(entries) if !entries.is_empty() => {
                for (k, v) in entries {
                    let kp = format!("{p}.{}", k.text);
                    let spec = match &v.value {
                        Value::Scalar { text, .. } => Some(text.clone()),
                        Value::Seq(items) => {
                            let texts: Option<Vec<&str>> = items.iter().map(|i| i.as_scalar()).collect();
                            texts.filter(|t| !t.is_empty()).map(|t| t.join(","))
                        }
                        Value::Map(_) => None,
                    };
                    let Some(spec) = spec else {
                        ctx.err(
                            v.pos,
                            &kp,
                            format!(
                                "expected values such as `\"5,10,20\"`, `\"1..30:1\"` or `[100ms, 1s]`, found {}",
                                v.describe()
                            ),
                        );
                        ok = false;
                        continue;
                    };
                    match Axis::parse(&k.text, &spec) {
                        Ok(_) => set.push((k.text.clone(), spec)),
                        Err(e) => {
                            ctx.err(v.pos, &kp, e);
                            ok = false;
                        }
                    }
                }
            }
            _ => {
                ctx.err(
                    n.pos,
                    &p,
                    format!(
                        "expected a mapping of scenario keys to values, e.g. `{{pool.max_size: \"1..30:1\"}}`, found {}",
                        n.describe()
                    ),
                );
                ok = false;
            }
        }
    } else {
        ok = false;
    }
    let replications = match f.get("replications") {
        Some((n, p)) => Some(p_uint(ctx, n, &p, 1, MAX_REPLICATIONS as u64, "runs per grid point")? as usize),
        None => None,
    };
    ok.then_some(SweepSpec { set, replications })
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::from_str;

    const BASE: &str = "name: t\npool: {max_size: 5}\nrequest: {hold: 1s}\nworkload:\n  - burst: {at: 0s, count: 3}\n";

    #[test]
    fn a_sweep_block_is_read() {
        let src = format!(
            "{BASE}sweep:\n  set:\n    pool.max_size: \"1..3:1\"\n    request.hold: [100ms, 1s]\n  replications: 4\n"
        );
        let s = from_str(&src, "t.yaml", None, &[]).unwrap();
        let sw = s.sweep.unwrap();
        assert_eq!(sw.set, [("pool.max_size".into(), "1..3:1".into()), ("request.hold".into(), "100ms,1s".into())]);
        assert_eq!(sw.replications, Some(4));
    }

    #[test]
    fn bad_sweep_blocks_are_located() {
        let cases = [
            ("sweep: {set: {pool.max_size: \"1..3\"}}", "sweep.set.pool.max_size", "no step"),
            ("sweep: {set: {}}", "sweep.set", "mapping of scenario keys"),
            ("sweep: {set: {pool.max_size: {a: 1}}}", "sweep.set.pool.max_size", "expected values"),
            ("sweep: {set: {pool.max_size: 1}, replications: 0}", "sweep.replications", "at least 1"),
            ("sweep: {sets: {}}", "sweep.sets", "unknown key"),
        ];
        for (block, path, msg) in cases {
            let e = from_str(&format!("{BASE}{block}\n"), "t.yaml", None, &[]).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(path) && text.contains(msg), "{block}: {text}");
        }
    }
}
