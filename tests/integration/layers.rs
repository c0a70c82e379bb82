//! The layering of `src/`: every `crate::` path in a module's files (code,
//! comments and docs alike) names itself or a module its layer may import,
//! as the table in the crate docs (`src/lib.rs`, "Module map") says; the table
//! has no circle, and it lists exactly the modules the tree has.
//!
//! A grep rather than a compiler check: it also catches a doc link or a test
//! that reaches upwards, which the import graph a reader draws would show.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The "may import" table from the crate docs, in its order.
fn table() -> Vec<(String, Vec<String>)> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let start = lib.find("//! layer      may import").expect("lib.rs has the layer table");
    lib[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| {
            let mut words = l.trim_start_matches("//!").split_whitespace().map(str::to_string);
            let layer = words.next().expect("a layer name");
            (layer, words.filter(|w| w != "-").collect())
        })
        .collect()
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the crate root and `main.rs`).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first),
    }
}

/// Every module named after `crate::` in `text`.
fn referenced(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        // `poolsim_crate::` or `my_crate::` are not ours.
        if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String =
            text[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

#[test]
fn no_module_imports_one_at_its_own_level_or_above() {
    let table = table();
    let allowed: BTreeMap<&str, &[String]> = table.iter().map(|(l, deps)| (l.as_str(), deps.as_slice())).collect();
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.sort();
    let mut wrong = Vec::new();
    for path in &all {
        let Some(module) = module_of(path) else { continue };
        let deps = allowed.get(module.as_str()).unwrap_or_else(|| panic!("{module} is not in lib.rs's layer table"));
        let text = fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for m in referenced(line) {
                // `crate::simulate` and the like: items of the root, which sits above every layer.
                let is_module = allowed.contains_key(m.as_str());
                if m != module && (!is_module || !deps.contains(&m)) {
                    wrong.push(format!("{}:{}: {module} -> crate::{m}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layer table in src/lib.rs:\n{}", wrong.join("\n"));
}

#[test]
fn the_layer_table_has_no_circle_and_matches_the_tree() {
    let table = table();
    // Each layer may import only layers listed before it: then no circle is possible.
    for (i, (layer, deps)) in table.iter().enumerate() {
        for d in deps {
            let pos = table.iter().position(|(l, _)| l == d).unwrap_or_else(|| panic!("{layer} names unknown {d}"));
            assert!(pos < i, "{layer} may import {d}, which is not below it in the table");
        }
    }
    let mut tree: Vec<String> = fs::read_dir(src()).unwrap().filter_map(|e| module_of(&e.unwrap().path())).collect();
    tree.sort();
    let mut listed: Vec<String> = table.iter().map(|(l, _)| l.clone()).collect();
    listed.sort();
    assert_eq!(tree, listed, "the modules of src/ and the layers of lib.rs's table");
    // And every layer has its line in the module map above the table.
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    for l in &listed {
        assert!(lib.contains(&format!("[`{l}`]")), "lib.rs's module map does not describe `{l}`");
    }
}

#[test]
fn the_check_sees_an_upward_import() {
    assert_eq!(referenced("use crate::model::Simulation; // see crate::theory::fit"), ["model", "theory"]);
    assert!(referenced("poolsim_crate::x and my_crate::y").is_empty());
}

/// The module path of a file of `src/`: `a/b.rs` is `[a, b]`, `a/mod.rs` is `[a]`.
fn module_path(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut m: Vec<String> = rel.components().map(|c| c.as_os_str().to_str().unwrap().to_string()).collect();
    if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        m.pop();
    }
    m
}

/// The module paths `text` names from a file of module `here`: `crate::a::b`,
/// `super::a` and `self::a`, with `use` groups (`super::{a, b::{c}}`) expanded.
fn named_paths(text: &str, here: &[String]) -> Vec<Vec<String>> {
    fn ident(s: &str) -> usize {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len())
    }
    /// Reads `a::b::{c, d::e}` from the start of `s` into `out`, after `prefix`.
    fn path(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut p = prefix;
        let mut rest = s;
        loop {
            let n = ident(rest);
            if n == 0 {
                break;
            }
            p.push(rest[..n].to_string());
            rest = &rest[n..];
            let Some(after) = rest.strip_prefix("::") else { break };
            rest = after;
            if let Some(group) = rest.strip_prefix('{') {
                // Each top-level item of the group, up to its closing brace.
                let (mut depth, mut start) = (0, 0);
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            path(group[start..i].trim_start(), p.clone(), out);
                            return;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            path(group[start..i].trim_start(), p.clone(), out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
        }
        out.push(p);
    }
    let mut out = Vec::new();
    for (kw, base) in
        [("crate::", Vec::new()), ("super::", here[..here.len().saturating_sub(1)].to_vec()), ("self::", here.to_vec())]
    {
        for (i, _) in text.match_indices(kw) {
            if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut rest = &text[i + kw.len()..];
            let mut base = base.clone();
            // `super::super::x`
            while kw == "super::"
                && let Some(r) = rest.strip_prefix("super::")
            {
                base.pop();
                rest = r;
            }
            path(rest, base, &mut out);
        }
    }
    out
}

/// Inside every directory of `src/`, the files and subdirectories beside each other
/// never import each other in a circle. (A module's root file, `mod.rs`, and the files
/// it declares do refer to each other: one type's methods split over files.)
#[test]
fn no_files_beside_each_other_import_each_other_in_a_circle() {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.sort();
    let modules: Vec<Vec<String>> = all.iter().map(|p| module_path(p)).collect();
    // (parent module, from child, to child) for every reference between siblings.
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, std::collections::BTreeSet<String>>> = BTreeMap::new();
    for (path, here) in all.iter().zip(&modules) {
        let text = fs::read_to_string(path).unwrap();
        for named in named_paths(&text, here) {
            // The deepest module both paths are inside; below it, which child each is in.
            let common = here.iter().zip(&named).take_while(|(a, b)| a == b).count();
            let (Some(from), Some(to)) = (here.get(common), named.get(common)) else { continue };
            let sibling = modules.iter().any(|m| m.len() > common && m[..common] == here[..common] && &m[common] == to);
            if sibling {
                edges.entry(here[..common].to_vec()).or_default().entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    // A circle is a back edge of a depth-first walk.
    fn walk<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, std::collections::BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            return Some(stack[i..].iter().map(|s| s.to_string()).chain([n.to_string()]).collect());
        }
        if !done.insert(n) {
            return None;
        }
        stack.push(n);
        for next in g.get(n).into_iter().flatten() {
            if let Some(c) = walk(next, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut circles = Vec::new();
    for (dir, g) in &edges {
        let mut done = std::collections::BTreeSet::new();
        for n in g.keys() {
            if let Some(c) = walk(n, g, &mut Vec::new(), &mut done) {
                circles.push(format!("src/{}: {}", dir.join("/"), c.join(" -> ")));
                break;
            }
        }
    }
    assert!(circles.is_empty(), "files that import each other in a circle:\n{}", circles.join("\n"));
}

#[test]
fn the_circle_check_reads_paths_and_groups() {
    let here = ["scenario".to_string(), "validate".to_string(), "dist".to_string()];
    assert_eq!(
        named_paths("use super::fields::{Ctx, p_uint};\nuse crate::engine::{SimTime, queue::Queue};", &here),
        [
            vec!["engine", "SimTime"],
            vec!["engine", "queue", "Queue"],
            vec!["scenario", "validate", "fields", "Ctx"],
            vec!["scenario", "validate", "fields", "p_uint"],
        ]
    );
    assert_eq!(named_paths("super::super::grid::Axis", &here), [vec!["scenario", "grid", "Axis"]]);
}
