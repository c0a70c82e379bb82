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
