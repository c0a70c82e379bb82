//! `sim analyze` and `sim size` as a user meets them: figures, exit codes, messages.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::{repo, sim};

/// A small M/M/c+D scenario in a temporary folder: 90/s on 10 connections, 100 ms
/// exponential holds, 200 ms timeout, 2 simulated minutes.
fn mmc_file(dir: &Path) -> PathBuf {
    let path = dir.join("mm.yaml");
    std::fs::write(
        &path,
        "name: mm\nseed: 7\npool: {max_size: 10, acquire_timeout: 200ms}\nrequest: {hold: {dist: exponential, mean: 100ms}}\nworkload:\n  - open: {rate: 90/s, process: poisson, until: 2m}\ntimeline: {bucket: 1m}\n",
    )
    .unwrap();
    path
}

#[test]
fn analyze_prints_the_lab_figures() {
    sim()
        .args(["analyze", repo("scenarios/lab04-ex5-k6-ramp.yaml").to_str().unwrap()])
        .assert()
        .success()
        // The calibrated hold: 5 / 1.0034 s, and 50 x 1.0034 / 5 - 1.1034 s.
        .stdout(predicate::str::contains("4.98 req/s"))
        .stdout(predicate::str::contains("8930.60 ms"))
        .stdout(predicate::str::contains("open-loop arrivals"));
}

#[test]
fn analyze_json_has_the_erlang_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        sim().args(["analyze", "--json"]).arg(mmc_file(dir.path())).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let figures = v["pools"][0]["figures"].as_array().unwrap();
    let get = |id: &str| figures.iter().find(|f| f["id"] == id).unwrap()["value"].as_f64().unwrap();
    assert_eq!(get("erlang_c.p_wait"), poolsim::theory::erlang_c(10, 9.0));
    assert_eq!(get("mmc_d.p_timeout"), poolsim::theory::mmc_plus_d(10, 90.0, 0.1, 0.2).p_timeout);
    assert!(figures.iter().all(|f| f["holds"] == true));
}

#[test]
fn analyze_refuses_an_invalid_file_with_exit_2() {
    sim().args(["analyze", "no-such-file.yaml"]).assert().code(2).stderr(predicate::str::contains("error:"));
}

#[test]
fn size_finds_and_confirms_the_smallest_pool() {
    let dir = tempfile::tempdir().unwrap();
    sim()
        .args([
            "size",
            "--target",
            "requests.timed_out_rate<0.002",
            "--target",
            "acquire_wait_ms.p99<150",
            "-r",
            "2",
            "-q",
        ])
        .arg(mmc_file(dir.path()))
        .assert()
        .success()
        .stdout(predicate::str::contains("theory      pool.max_size = 12"))
        .stdout(predicate::str::contains("answer      pool.max_size = 12 (11 fails)"));
}

#[test]
fn size_says_so_when_nothing_up_to_max_works() {
    let dir = tempfile::tempdir().unwrap();
    sim()
        .args(["size", "-t", "requests.timed_out_rate<0.001", "--max", "9", "-r", "1", "-q"])
        .arg(mmc_file(dir.path()))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("answer      none"));
}

#[test]
fn size_names_the_figures_when_a_target_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    sim()
        .args(["size", "-t", "requests.nonsense<1", "-r", "1", "-q"])
        .arg(mmc_file(dir.path()))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("requests.timed_out_rate"));
    sim().args(["size", "-t", "a<b"]).arg(mmc_file(dir.path())).assert().code(2);
}

/// The worked examples of docs/theory.md stay valid, and the lab figures quoted there hold.
#[test]
fn the_documented_examples_analyze() {
    for f in ["lab-open-6.yaml", "lab-open-6-constant.yaml", "incident-worker.yaml"] {
        sim().arg("analyze").arg(repo(&format!("docs/examples/{f}"))).assert().success();
    }
    sim()
        .arg("analyze")
        .arg(repo("docs/examples/incident-worker.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("0.1161"))
        .stdout(predicate::str::contains("42.64 ms"));
}
