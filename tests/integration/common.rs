//! Helpers shared by the integration tests.

use poolsim::result::{RequestRecord, RequestSink, RunResult};
use poolsim::scenario::{Scenario, validate};
use poolsim::{RunOptions, Simulation};

/// Parses a scenario from YAML text, panicking with the validation messages.
pub fn scenario(yaml: &str) -> Scenario {
    validate::from_str(yaml, "test.yaml", None, &[]).unwrap_or_else(|e| panic!("invalid test scenario:\n{e}"))
}

/// Collects every finished request.
#[derive(Default)]
pub struct Collect(pub Vec<RequestRecord>);

impl RequestSink for Collect {
    fn record(&mut self, r: &RequestRecord) -> std::io::Result<()> {
        self.0.push(*r);
        Ok(())
    }
}

/// Runs a scenario and returns its result and every request, in finishing order.
pub fn run_with_records(s: &Scenario, seed: u64) -> (RunResult, Vec<RequestRecord>) {
    let mut sink = Collect::default();
    let mut opts = RunOptions::seed(seed);
    opts.sink = Some(&mut sink);
    let result = Simulation::new(s, seed).run(opts).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    (result, sink.0)
}

/// Runs a scenario to its end.
pub fn run(s: &Scenario, seed: u64) -> RunResult {
    poolsim::simulate(s, seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

/// Seconds as f64 from a simulated time.
pub fn secs(t: poolsim::engine::SimTime) -> f64 {
    t.as_secs_f64()
}

/// The result of a committed scenario (`scenarios/NAME.yaml`) run with its own
/// seed, computed once per test binary: the golden and story tests share it.
pub fn committed(name: &str) -> &'static RunResult {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<BTreeMap<String, &'static OnceLock<RunResult>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cell = {
        let mut map = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(name.to_string()).or_insert_with(|| Box::leak(Box::new(OnceLock::new())))
    };
    cell.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(format!("{name}.yaml"));
        let s = poolsim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        run(&s, s.seed)
    })
}

/// The `sim` binary of this build, as a command to run.
pub fn sim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("sim").unwrap()
}

/// A path inside the repository.
pub fn repo(p: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}
