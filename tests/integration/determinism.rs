//! Determinism: the same scenario and seed give the same bytes; another seed
//! gives other numbers; adding a workload leaves the others' draws unchanged.

use std::path::Path;

use poolsim::output::{csv::write_timeline, json::write_summary};

use crate::common::{committed, run, run_with_records, scenario};

fn bytes_of(r: &poolsim::RunResult) -> Vec<u8> {
    let mut out = Vec::new();
    write_timeline(&mut out, &r.timeline).unwrap();
    write_summary(&mut out, r).unwrap();
    out
}

/// The committed scenario files, sorted, with their names.
fn committed_files() -> Vec<(String, std::path::PathBuf)> {
    let mut paths: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    paths
}

#[test]
fn every_committed_scenario_gives_identical_bytes_twice() {
    // The first run is the one the golden test also uses (`committed`), computed once.
    for (name, path) in committed_files() {
        let s = poolsim::scenario::load(&path).unwrap();
        let again = run(&s, s.seed);
        assert!(bytes_of(committed(&name)) == bytes_of(&again), "{} seed {}: two runs differ", path.display(), s.seed);
    }
}

#[test]
fn every_committed_scenario_gives_identical_bytes_on_concurrent_threads() {
    let files = committed_files();
    let paths: Vec<_> = files.iter().map(|(_, p)| p.clone()).collect();
    let scenarios: Vec<_> = paths.iter().map(|p| poolsim::scenario::load(p).unwrap()).collect();
    // The sequential baseline: each scenario's run shared with the golden test.
    let baseline: Vec<Vec<u8>> = files.iter().map(|(name, _)| bytes_of(committed(name))).collect();
    // Four threads run every scenario at once, each in a different order, so
    // runs of different scenarios overlap in time: nothing may be shared.
    let results: Vec<Vec<(usize, Vec<u8>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let scenarios = &scenarios;
                scope.spawn(move || {
                    let n = scenarios.len();
                    (0..n)
                        .map(|k| (k + 2 * t) % n)
                        .map(|i| if t % 2 == 1 { n - 1 - i } else { i })
                        .map(|i| (i, bytes_of(&run(&scenarios[i], scenarios[i].seed))))
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (t, runs) in results.iter().enumerate() {
        for (i, bytes) in runs {
            assert!(
                *bytes == baseline[*i],
                "{} seed {}: thread {t} gave other bytes than a sequential run",
                paths[*i].display(),
                scenarios[*i].seed
            );
        }
    }
}

const POISSON: &str = "name: p\npool: {max_size: 5, acquire_timeout: 2s}\nrequest: {hold: {dist: exponential, mean: 500ms}, overhead: {dist: lognormal, median: 5ms, p99: 50ms}}\nworkload:\n  - open: {rate: 9/s, until: 5m}\n";

#[test]
fn another_seed_gives_other_numbers() {
    let s = scenario(POISSON);
    let (a, b) = (run(&s, 1), run(&s, 2));
    assert_ne!(bytes_of(&a), bytes_of(&b), "seeds 1 and 2 gave identical output");
}

#[test]
fn adding_a_workload_leaves_the_arrival_times_of_the_others_unchanged() {
    let base = scenario(POISSON);
    let more = scenario(&format!(
        "{POISSON}  - users: {{at: 1m, think: {{dist: exponential, mean: 1s}}, stages: [{{duration: 1m, target: 20}}]}}\n"
    ));
    let arrivals = |s| {
        let (_, recs) = run_with_records(s, 7);
        let mut a: Vec<u64> = recs.iter().filter(|r| r.workload == 0).map(|r| r.arrival.as_nanos()).collect();
        a.sort_unstable();
        a
    };
    let (a, b) = (arrivals(&base), arrivals(&more));
    assert!(a.len() > 2000);
    assert_eq!(a, b, "seed 7: common random numbers broken");
}
