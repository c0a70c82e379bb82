//! The `sim` binary as a user meets it: exit codes, files written, messages.

use predicates::prelude::*;

use crate::common::{repo, sim};

#[test]
fn run_writes_the_outputs_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    sim()
        .args(["run", repo("scenarios/lab04.yaml").to_str().unwrap(), "--requests", "--out"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("lab04: seed 42"))
        .stdout(predicate::str::contains("timed out (503)"));
    for f in [
        "timeline.csv",
        "summary.json",
        "requests.csv",
        "latency.png",
        "queue_depth.png",
        "errors.png",
        "dashboard.png",
    ] {
        let p = dir.path().join(f);
        assert!(p.is_file(), "{f} missing");
        if f.ends_with(".png") {
            assert_eq!(&std::fs::read(&p).unwrap()[..8], b"\x89PNG\r\n\x1a\n", "{f} is not a PNG");
        }
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 42);
    assert!(summary["requests"]["timed_out"].as_u64().unwrap() > 0);
    let requests = std::fs::read_to_string(dir.path().join("requests.csv")).unwrap();
    assert_eq!(requests.lines().count() as u64 - 1, summary["requests"]["total"].as_u64().unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.contains(".tmp").then_some(n)
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn seed_flag_overrides_the_scenario_seed() {
    let dir = tempfile::tempdir().unwrap();
    sim()
        .args(["run", repo("scenarios/lab04.yaml").to_str().unwrap(), "--no-plots", "--seed", "7", "-q", "--out"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout("");
    let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    assert!(summary.contains("\"seed\": 7"));
}

#[test]
fn an_invalid_file_exits_2_with_file_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "name: bad\npool: {max_size: 0, acquire_timeout: 10}\nrequest: {hold: 1s}\nworkload: []\n")
        .unwrap();
    let out = sim().args(["run", f.to_str().unwrap(), "--out"]).arg(dir.path().join("o")).assert().code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("bad.yaml:2:18: pool.max_size: must be at least 1"), "{err}");
    assert!(err.contains("bad.yaml:2:38: pool.acquire_timeout: duration `10` has no unit"), "{err}");
    assert!(err.contains("bad.yaml:4:11: workload: no workloads"), "{err}");
    assert!(!dir.path().join("o").exists(), "no output for an invalid scenario");
}

#[test]
fn a_missing_file_exits_2_and_names_it() {
    sim().args(["run", "no/such/file.yaml"]).assert().code(2).stderr(predicate::str::contains("no/such/file.yaml"));
}

#[test]
fn an_unwritable_output_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    sim()
        .args(["run", repo("scenarios/lab04.yaml").to_str().unwrap(), "--out"])
        .arg(blocker.join("sub"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot create output folder"));
}

#[test]
fn the_event_budget_stops_a_run_with_a_hint() {
    sim()
        .args(["run", repo("scenarios/lab04.yaml").to_str().unwrap(), "--max-events", "1000", "--no-plots", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-events"));
}

/// `--format svg` writes each figure as an SVG (the same bytes every time, its event labelled as
/// text), `both` writes the PNG beside it, and the default is the PNG alone.
#[test]
fn run_writes_figures_in_the_formats_asked() {
    let run = |format: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = sim();
        cmd.args(["run", repo("scenarios/lab04.yaml").to_str().unwrap(), "-q", "--out"]).arg(dir.path());
        if let Some(f) = format {
            cmd.args(["--format", f]);
        }
        cmd.assert().success();
        dir
    };
    let figures = ["latency", "queue_depth", "errors", "dashboard", "database", "pods"];
    let has =
        |dir: &tempfile::TempDir, ext: &str| figures.iter().all(|f| dir.path().join(format!("{f}.{ext}")).is_file());
    let none =
        |dir: &tempfile::TempDir, ext: &str| figures.iter().all(|f| !dir.path().join(format!("{f}.{ext}")).exists());
    let png = run(None);
    assert!(has(&png, "png") && none(&png, "svg"));
    let (svg, again) = (run(Some("svg")), run(Some("svg")));
    assert!(has(&svg, "svg") && none(&svg, "png"));
    for f in figures {
        let name = format!("{f}.svg");
        let bytes = std::fs::read(svg.path().join(&name)).unwrap();
        assert_eq!(bytes, std::fs::read(again.path().join(&name)).unwrap(), "{name} differs between runs");
        assert!(bytes.starts_with(b"<svg "), "{name}");
    }
    let dashboard = std::fs::read_to_string(svg.path().join("dashboard.svg")).unwrap();
    assert!(dashboard.contains(">\nrequest.hold = 103.4ms\n</text>"), "the hold-time fix is not labelled");
    assert!(dashboard.contains(">\nacquire timeout 10 s\n</text>"), "the timeout is not labelled");
    let both = run(Some("both"));
    assert!(has(&both, "png") && has(&both, "svg"));
    assert_eq!(
        std::fs::read(both.path().join("dashboard.png")).unwrap(),
        std::fs::read(png.path().join("dashboard.png")).unwrap()
    );
    sim().args(["run", "x.yaml", "--format", "pdf"]).assert().code(2);
}
