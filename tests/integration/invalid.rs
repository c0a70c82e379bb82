//! Bad input through the `sim` binary: every file in `tests/fixtures/invalid/`
//! is refused with exit code 2, no panic, and a message naming the file, line
//! and column (snapshots hold the exact text); oversized files, runaway runs and
//! interrupted runs fail cleanly and leave earlier results intact.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// Fixtures refused before any line can be named (the bytes are not text).
const NO_LINE: &[&str] = &["not-yaml-binary"];
/// Fixtures that are valid scenarios but name figures no run reports: `sim run`
/// accepts them, `sim check` refuses them.
const CHECK_TIME: &str = "expect-unknown-";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sim() -> Command {
    let mut c = Command::cargo_bin("sim").unwrap();
    c.current_dir(root()).timeout(Duration::from_secs(20));
    c
}

fn fixtures() -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), format!("tests/fixtures/invalid/{n}.yaml"))).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `FILE:LINE:COL: ` appears in the message.
fn names_file_line_column(stderr: &str, file: &str) -> bool {
    stderr.match_indices(&format!("{file}:")).any(|(i, m)| {
        let rest = &stderr[i + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let (line, col) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        !line.is_empty()
            && line.chars().all(|c| c.is_ascii_digit())
            && !col.is_empty()
            && col.chars().all(|c| c.is_ascii_digit())
    })
}

#[test]
fn every_broken_scenario_is_refused_with_a_located_message() {
    let all = fixtures();
    assert!(all.len() >= 30, "only {} fixtures", all.len());
    let out = tempfile::tempdir().unwrap();
    for (name, file) in &all {
        let stderr = if name.starts_with(CHECK_TIME) {
            let a = sim().args(["check", "--format", "json", file]).assert().code(2);
            let stdout = text(&a.get_output().stdout);
            assert!(stdout.contains("\"result\": \"INVALID\""), "{name}: {stdout}");
            text(&a.get_output().stderr)
        } else {
            let a = sim().args(["run", file, "--no-plots", "-q", "--out"]).arg(out.path().join(name)).assert().code(2);
            assert!(!out.path().join(name).exists(), "{name}: output folder created for an invalid scenario");
            text(&a.get_output().stderr)
        };
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
        assert!(stderr.starts_with("error: ") || name.starts_with(CHECK_TIME), "{name}: {stderr}");
        if NO_LINE.contains(&name.as_str()) {
            assert!(stderr.contains(file.as_str()), "{name} does not name its file:\n{stderr}");
        } else {
            assert!(names_file_line_column(&stderr, file), "{name} lacks file:line:col:\n{stderr}");
        }
        insta::assert_snapshot!(format!("invalid__{name}"), stderr);
    }
}

#[test]
fn sim_check_reports_every_broken_file_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let a = sim().args(["check", "tests/fixtures/invalid", "--junit"]).arg(&junit).assert().code(2);
    let stdout = text(&a.get_output().stdout);
    assert!(!text(&a.get_output().stderr).contains("panicked"));
    let n = fixtures().len();
    assert!(stdout.contains(&format!("{n} files: 0 passed, 0 failed, {n} invalid")), "{stdout}");
    let xml = std::fs::read_to_string(junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), n);
    assert_eq!(xml.matches("<error ").count(), n, "{xml}");
}

#[test]
fn a_50_megabyte_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let line = format!("# {}\n", "x".repeat(1022));
    let mut content = String::from("name: big\n");
    while content.len() < 50 * 1024 * 1024 {
        content.push_str(&line);
    }
    std::fs::write(&big, content).unwrap();
    for cmd in [vec!["run", "--no-plots"], vec!["check"]] {
        let a = sim().args(&cmd).arg(&big).assert().code(2);
        let err = text(&a.get_output().stderr) + &text(&a.get_output().stdout);
        assert!(err.contains("big.yaml") && err.contains("limited to 8 MiB"), "{cmd:?}: {err}");
    }
}

#[test]
fn a_runaway_run_stops_at_the_event_budget_and_keeps_the_previous_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    sim().args(["run", "scenarios/lab04.yaml", "--no-plots", "-q", "--out"]).arg(&out).assert().success();
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let a = sim()
        .args(["run", "scenarios/lab04.yaml", "--no-plots", "-q", "--seed", "9", "--max-events", "500", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let err = text(&a.get_output().stderr);
    assert!(err.contains("event budget") && err.contains("--max-events"), "{err}");
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before, "previous summary.json changed");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The same budget through sim check: the file cannot be checked, exit 2.
    let a = sim().args(["check", "scenarios/lab04.yaml", "--max-events", "500"]).assert().code(2);
    assert!(text(&a.get_output().stdout).contains("event budget"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_long_run_cleanly_and_keeps_the_previous_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("summary.json"), "previous\n").unwrap();
    // About 3.6e9 requests: minutes of work, stopped after a fraction of a second.
    let long = dir.path().join("long.yaml");
    std::fs::write(
        &long,
        "name: long\npool: {max_size: 100000, acquire_timeout: 1s}\nrequest: {hold: 1ms}\nworkload:\n  - open: {rate: 1e6/s, until: 1h}\n",
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("sim");
    let mut child = std::process::Command::new(bin)
        .args(["run", "--no-plots", "-q", "--out"])
        .arg(&out)
        .arg(&long)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    // Poll for up to 20 s (1000 x 20 ms).
    let mut status = None;
    for _ in 0..1000 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("sim did not stop within 20 s of Ctrl-C");
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read_to_string(out.join("summary.json")).unwrap(), "previous\n");
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["summary.json"], "leftover files");
}
