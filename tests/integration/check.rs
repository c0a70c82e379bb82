//! `sim check` as CI meets it: exit codes 0/1/2, the table, JUnit and JSON
//! reports, golden files, and report bytes that do not depend on `--jobs`.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

fn sim(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("sim").unwrap();
    c.current_dir(dir).timeout(Duration::from_secs(60));
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const BASE: &str = "pool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s, overhead: 500ms}\nworkload:\n  - burst: {count: 100}\n";

/// A folder with a passing scenario and, optionally, a failing one.
fn folder(failing: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("scenarios");
    std::fs::create_dir_all(s.join("nested")).unwrap();
    std::fs::write(
        s.join("pass.yaml"),
        format!("name: pass\n{BASE}expect:\n  requests.timed_out: {{equals: 50}}\n  timeline.timed_out: {{equals: 0, window: {{until: 10s}}}}\n"),
    )
    .unwrap();
    std::fs::write(s.join("nested/plain.yml"), format!("name: plain\n{BASE}")).unwrap();
    std::fs::write(s.join("notes.txt"), "not a scenario").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&s, s.join("nested/loop")).unwrap(); // a folder link loop is not followed
    if failing {
        std::fs::write(s.join("fail.yaml"), format!("name: fail\n{BASE}expect:\n  latency_ms.p99: {{max: 200}}\n"))
            .unwrap();
    }
    dir
}

#[test]
fn all_passing_exits_0_with_a_table() {
    let dir = folder(false);
    let a = sim(dir.path()).args(["check", "scenarios"]).assert().code(0);
    let out = text(&a.get_output().stdout);
    assert!(out.starts_with("FILE "), "{out}");
    assert!(out.lines().any(|l| l.starts_with("scenarios/pass.yaml ") && l.contains(" requests.timed_out ")), "{out}");
    assert!(out.contains("timeline.timed_out sum [0s, 10s)"), "{out}");
    assert!(out.contains("scenarios/nested/plain.yml"), "{out}");
    assert!(!out.contains("notes.txt"));
    assert!(
        out.ends_with("2 files: 2 passed, 0 failed, 0 invalid; 2 assertions: 2 passed, 0 failed, 0 invalid\n"),
        "{out}"
    );
}

#[test]
fn a_violated_expectation_exits_1_and_shows_figure_and_bound() {
    let dir = folder(true);
    let junit = dir.path().join("out/junit.xml");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let a = sim(dir.path()).args(["check", "scenarios", "--junit"]).arg(&junit).assert().code(1);
    let out = text(&a.get_output().stdout);
    assert!(out.contains("scenarios/fail.yaml:7:3: FAIL: latency_ms.p99 is 10500, expected <= 200"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<testsuites name="sim check" tests="4" failures="1" errors="0">"#), "{xml}");
    assert!(
        xml.contains(r#"<failure message="latency_ms.p99 is 10500, expected &lt;= 200" type="expectation">"#),
        "{xml}"
    );
}

#[test]
fn an_invalid_file_exits_2_and_the_others_are_still_checked() {
    let dir = folder(true);
    std::fs::write(dir.path().join("scenarios/bad.yaml"), "name: bad\npool: {max_size: 0}\n").unwrap();
    let a = sim(dir.path()).args(["check", "scenarios", "--format", "json"]).assert().code(2);
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let results: Vec<(&str, &str)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("scenarios/bad.yaml", "INVALID"),
            ("scenarios/fail.yaml", "FAIL"),
            ("scenarios/nested/plain.yml", "PASS"),
            ("scenarios/pass.yaml", "PASS")
        ]
    );
    assert_eq!(v["exit_code"], 2);
    let err = text(&a.get_output().stderr);
    assert!(err.contains("\nscenarios/bad.yaml:2:18: pool.max_size: must be at least 1"), "{err}");
}

#[test]
fn golden_files_are_written_then_compared() {
    let dir = folder(false);
    sim(dir.path()).args(["check", "scenarios", "--golden", "golden"]).assert().code(2); // folder missing
    sim(dir.path()).args(["check", "scenarios", "--golden", "golden", "--update-golden"]).assert().code(0);
    assert!(dir.path().join("golden/pass.json").is_file() && dir.path().join("golden/plain.json").is_file());
    let a = sim(dir.path()).args(["check", "scenarios", "--golden", "golden"]).assert().code(0);
    assert!(text(&a.get_output().stdout).contains("golden golden/pass.json"));
    // A changed count fails exactly; a float within tolerance passes.
    let g = dir.path().join("golden/pass.json");
    let orig = std::fs::read_to_string(&g).unwrap();
    std::fs::write(&g, orig.replace("\"ok\": 50", "\"ok\": 49")).unwrap();
    let a = sim(dir.path()).args(["check", "scenarios", "--golden", "golden"]).assert().code(1);
    assert!(text(&a.get_output().stdout).contains("`requests.ok` is 50, the golden value is 49"));
    std::fs::write(&g, orig.replace("\"timed_out_rate\": 0.5", "\"timed_out_rate\": 0.5005")).unwrap();
    sim(dir.path()).args(["check", "scenarios", "--golden", "golden"]).assert().code(0);
    sim(dir.path()).args(["check", "scenarios", "--golden", "golden", "--abs-tolerance", "0.0001"]).assert().code(1);
}

#[test]
fn the_report_does_not_depend_on_the_number_of_jobs() {
    let dir = folder(true);
    let report = |jobs: &str, format: &str| {
        let a = sim(dir.path()).args(["check", "scenarios", "--jobs", jobs, "--format", format]).assert().code(1);
        a.get_output().stdout.clone()
    };
    for format in ["text", "json", "junit"] {
        assert_eq!(report("1", format), report("4", format), "{format}");
    }
}

#[test]
fn the_committed_scenarios_pass_their_own_expectations() {
    let a = sim(Path::new(env!("CARGO_MANIFEST_DIR"))).args(["check", "scenarios/"]).assert().code(0);
    let out = text(&a.get_output().stdout);
    assert!(!out.contains("no expectations"), "every committed scenario should carry expectations:\n{out}");
}
