//! `sim sweep` and `sim merge`: identical bytes for any `--jobs`, shards merged equal the whole,
//! bad keys and values refused before any run, the `sweep:` block, replication 0 equal to a run.

use std::path::{Path, PathBuf};

use poolsim::output::json::{lookup, summary_value};
use poolsim::sweep::{Control, Grid, Plan, Shard, grid};
use predicates::prelude::*;

use crate::common::sim;

/// Poisson arrivals at 9/s on a small pool with exponential holds: 503s depend on the pool size
/// and vary by seed, so replications have a real spread. About 90 requests per run.
const SCENARIO: &str = "name: sweep-test
seed: 7
duration: 10s
pool: {max_size: 3, acquire_timeout: 200ms}
request:
  hold: {dist: exponential, mean: 300ms}
workload:
  - open: {rate: 9/s, process: poisson}
";

fn scenario_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("s.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn sweep(file: &Path, out: &Path, extra: &[&str]) {
    sim()
        .arg("sweep")
        .arg(file)
        .args(["--set", "pool.max_size=1..4:1", "--set", "request.hold.mean=100ms,300ms,1s", "-r", "3", "-q"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

fn read(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn same_bytes_for_any_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path(), SCENARIO);
    let (a, b) = (dir.path().join("j1"), dir.path().join("j2"));
    sweep(&file, &a, &["--jobs", "1"]);
    sweep(&file, &b, &["--jobs", "2"]);
    for f in ["sweep.csv", "sweep.json", "heatmap_requests_timed_out_rate.png", "heatmap_latency_ms_p99.png"] {
        assert_eq!(read(a.join(f)), read(b.join(f)), "{f} differs between --jobs 1 and --jobs 2");
    }
    let csv = String::from_utf8(read(a.join("sweep.csv"))).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 12, "{csv}");
    assert!(lines[0].starts_with("point,pool.max_size,request.hold.mean,requests.total,requests.total_ci95_low,"));
    assert!(lines[1].starts_with("0,1,100ms,") && lines[12].starts_with("11,4,1s,"), "{csv}");
}

#[test]
fn shards_merged_equal_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path(), SCENARIO);
    let whole = dir.path().join("whole");
    sweep(&file, &whole, &[]);
    let mut shards = Vec::new();
    for k in 0..3 {
        let d = dir.path().join(format!("shard{k}"));
        sweep(&file, &d, &["--shard", &format!("{k}/3"), "--jobs", "1"]);
        shards.push(d);
    }
    let merged = dir.path().join("merged");
    // Shards given in any order.
    sim()
        .arg("merge")
        .args([&shards[2], &shards[0], &shards[1]])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success()
        .stdout(predicate::str::contains("merged 3 shard(s), 12 points"));
    for f in ["sweep.csv", "sweep.json"] {
        assert_eq!(read(whole.join(f)), read(merged.join(f)), "merged {f} differs from the unsharded one");
    }
    assert!(merged.join("heatmap_requests_timed_out_rate.png").is_file());
    // A missing shard is refused, not merged into a table with holes.
    sim()
        .arg("merge")
        .args([&shards[0], &shards[1]])
        .arg("--out")
        .arg(dir.path().join("bad"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing shard(s) 2/3"));
}

#[test]
fn bad_keys_and_values_are_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path(), SCENARIO);
    let out = dir.path().join("out");
    let cases = [
        ("pool.max_sise=1,2", "no key `pool.max_sise`"),
        ("pool.max_size=2,0", "--set pool.max_size=0"),
        ("request.hold.mean=1..2", "no step"),
        ("pool.acquire_timeout=5", "has no unit"),
    ];
    for (set, msg) in cases {
        sim()
            .arg("sweep")
            .arg(&file)
            .args(["--set", set, "--out"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
        assert!(!out.join("sweep.csv").exists(), "{set}: a sweep ran");
    }
    sim()
        .arg("sweep")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to sweep"));
}

#[test]
fn the_sweep_block_is_used_and_one_key_gives_line_plots() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{SCENARIO}sweep:\n  set: {{pool.max_size: \"1,2,4\"}}\n  replications: 2\n");
    let file = scenario_file(dir.path(), &text);
    let out = dir.path().join("out");
    sim()
        .arg("sweep")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 points x 2 replication(s) = 6 runs"));
    let csv = String::from_utf8(read(out.join("sweep.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.contains("requests.timed_out_rate_ci95_high"));
    assert!(out.join("line_requests_timed_out_rate.png").is_file());
    assert!(out.join("line_latency_ms_p99.png").is_file());
}

#[test]
fn replication_zero_reproduces_a_run_and_points_share_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(dir.path(), SCENARIO);
    let g = Grid::new(vec![grid::parse_set("pool.max_size=2,5").unwrap()]).unwrap();
    let plan = Plan::new(SCENARIO, "s.yaml", None, g, 3, Shard::ALL, None).unwrap();
    let table = plan.run(&Control::serial()).unwrap();
    let total = table.figure("requests.total").unwrap();
    for (i, size) in ["2", "5"].into_iter().enumerate() {
        let s = poolsim::scenario::load_with_overrides(&file, &[("pool.max_size".into(), size.into())]).unwrap();
        let runs: Vec<f64> = (0..3)
            .map(|r| {
                let seed = poolsim::sweep::replication_seed(7, r);
                let v = summary_value(&poolsim::simulate(&s, seed).unwrap());
                lookup(&v, "requests.total").unwrap().as_f64().unwrap()
            })
            .collect();
        let mean = runs.iter().sum::<f64>() / 3.0;
        assert_eq!(table.rows[i].cells[total].unwrap().mean, mean, "pool {size}");
    }
    // Arrivals do not depend on the pool: with common random numbers every point has the same
    // request count in each replication, so the interval of requests.total is the same width.
    let hw = |i: usize| table.rows[i].cells[total].unwrap().half_width.unwrap();
    assert_eq!(hw(0), hw(1));
    assert!(hw(0) > 0.0, "replications should differ");
}
