//! `sim compare`: common random numbers (the same arrivals reach every scenario), files and the
//! Markdown table, paired differences with intervals.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::common::{run_with_records, scenario};

const A: &str = "name: small-pool
seed: 11
duration: 20s
pool: {max_size: 2, acquire_timeout: 300ms}
request:
  hold: {dist: exponential, mean: 250ms}
workload:
  - open: {rate: 10/s, process: poisson}
";

fn b() -> String {
    A.replace("small-pool", "big-pool").replace("max_size: 2", "max_size: 6")
}

#[test]
fn the_same_arrivals_reach_every_scenario() {
    let (a, b) = (scenario(A), scenario(&b()));
    for r in 0..3 {
        let seed = poolsim::sweep::replication_seed(11, r);
        // Requests still in flight when the run ends are not recorded: compare the arrivals of
        // every request recorded in both runs (ids are given in arrival order), and the totals.
        let arrivals = |s| {
            let (res, recs) = run_with_records(s, seed);
            let mut by_id = vec![None; res.summary.requests.total as usize];
            for x in recs {
                by_id[x.id as usize] = Some(x.arrival);
            }
            by_id
        };
        let (xa, xb) = (arrivals(&a), arrivals(&b));
        assert_eq!(xa.len(), xb.len(), "seed {seed}: different request counts");
        let both: Vec<_> = xa.iter().zip(&xb).filter_map(|(p, q)| Some((p.as_ref()?, q.as_ref()?))).collect();
        assert!(xa.len() > 150 && both.len() * 10 >= xa.len() * 9, "seed {seed}: {} of {}", both.len(), xa.len());
        assert!(both.iter().all(|(p, q)| p == q), "seed {seed}: arrivals differ between the scenarios");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn compare_writes_files_and_a_markdown_table() {
    let dir = tempfile::tempdir().unwrap();
    let (fa, fb) = (write(dir.path(), "a.yaml", A), write(dir.path(), "b.yaml", &b()));
    let out = dir.path().join("out");
    let assert = Command::cargo_bin("sim")
        .unwrap()
        .arg("compare")
        .args([&fa, &fb])
        .args(["-r", "4", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("| figure"))
        .stdout(predicate::str::contains("big-pool − small-pool"))
        .stdout(predicate::str::contains("`requests.timed_out_rate`"));
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    // Every table line has the same number of cells (valid Markdown).
    let bars: Vec<usize> = stdout.lines().filter(|l| l.starts_with('|')).map(|l| l.matches('|').count()).collect();
    assert!(bars.len() > 5 && bars.iter().all(|&n| n == bars[0]), "{stdout}");
    for f in ["compare.csv", "compare.json", "compare.png"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("compare.json")).unwrap()).unwrap();
    let fig = &j["figures"]["requests.total"];
    // Same arrivals: the request count is identical, so the paired difference is exactly 0 ± 0.
    assert_eq!(fig["values"]["small-pool"]["mean"], fig["values"]["big-pool"]["mean"]);
    assert_eq!(fig["difference_from_baseline"]["big-pool"]["mean"], 0.0);
    assert_eq!(fig["difference_from_baseline"]["big-pool"]["ci95_high"], 0.0);
    // Three more connections cut the 503s, and the interval says so.
    let d = &j["figures"]["requests.timed_out"]["difference_from_baseline"]["big-pool"];
    assert!(d["ci95_high"].as_f64().unwrap() < 0.0, "{d}");
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(csv.starts_with("figure,small-pool,small-pool_ci95_low,small-pool_ci95_high,big-pool,"), "{csv}");
    assert!(csv.contains("big-pool-small-pool_ci95_high"));
}

#[test]
fn compare_needs_two_scenarios() {
    Command::cargo_bin("sim").unwrap().args(["compare", "x.yaml"]).assert().code(2);
}

/// The overlay figure of two real runs renders, and the same runs give the same bytes.
#[test]
fn overlay_renders_real_runs_deterministically() {
    let src = "name: t\npool: {max_size: 2, acquire_timeout: 1s}\nrequest: {hold: 500ms}\nworkload:\n  - burst: {at: 0s, count: 10}\n";
    let a = poolsim::scenario::validate::from_str(src, "t.yaml", None, &[]).unwrap();
    let b =
        poolsim::scenario::validate::from_str(src, "t.yaml", None, &[("pool.max_size".into(), "5".into())]).unwrap();
    let runs = vec![poolsim::simulate(&a, 1).unwrap(), poolsim::simulate(&b, 1).unwrap()];
    let names = vec!["a".to_string(), "b".to_string()];
    let png = poolsim::plot::compare::overlay_png(&runs, &names).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert_eq!(png, poolsim::plot::compare::overlay_png(&runs, &names).unwrap());
    assert!(poolsim::plot::compare::overlay_png(&[], &[]).is_ok());
}
