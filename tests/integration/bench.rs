//! `sim bench` as a user meets it: its hidden child mode measures one case and
//! prints figures the parent can read; the whole suite's smoke run lives in
//! docs/performance.md (speed is measured by benchmarks, never by timed tests).

use assert_cmd::Command;

use crate::common::repo;

fn child(file: &str, set: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("sim").unwrap();
    cmd.args(["bench", "--child"]).arg(repo(file));
    for kv in set {
        cmd.args(["--set", kv]);
    }
    cmd.assert()
}

#[test]
fn a_child_run_reports_the_work_done_and_the_resources_used() {
    // 1000 s of the sweep benchmark's model: ~9,000 requests, a few events each.
    let out = child("benches/scenarios/sweep.yaml", &["duration=1000s"]).success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("one JSON line");
    let requests = v["requests"].as_f64().unwrap();
    let events = v["events"].as_f64().unwrap();
    assert!((8_000.0..10_000.0).contains(&requests), "{v}");
    assert!(events >= 2.0 * requests, "each request arrives and finishes: {v}");
    assert!(v["cpu_s"].as_f64().unwrap() >= 0.0 && v["wall_s"].as_f64().unwrap() > 0.0, "{v}");
    if cfg!(target_os = "linux") {
        assert!(v["peak_rss_kb"].as_f64().unwrap() > 100.0, "{v}");
    }
    // The same case twice does the same work: the figures are deterministic.
    let again = child("benches/scenarios/sweep.yaml", &["duration=1000s"]).success().get_output().stdout.clone();
    let w: serde_json::Value = serde_json::from_slice(&again).unwrap();
    assert_eq!((v["requests"].clone(), v["events"].clone()), (w["requests"].clone(), w["events"].clone()));
}

#[test]
fn a_child_run_refuses_an_unknown_key_with_exit_code_2() {
    child("benches/scenarios/sweep.yaml", &["pool.no_such_key=3"]).code(2);
}

#[test]
fn every_benchmark_scenario_is_valid() {
    for f in ["single-pool-10m.yaml", "memory.yaml", "memory-fleet.yaml", "sweep.yaml", "fleet-day.yaml"] {
        poolsim::scenario::load(&repo("benches/scenarios").join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}
