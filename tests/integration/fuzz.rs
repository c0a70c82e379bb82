//! Fuzzing the scenario loader and the simulator with proptest: random bytes and
//! mutated valid scenarios must never panic; each input either is refused with
//! located issues or runs (capped by a small event budget) and its expectations
//! evaluate. Case counts are small so the suite stays fast on two cores; raise
//! them with `PROPTEST_CASES=10000 cargo test --test integration fuzz`.

use std::path::Path;

use proptest::prelude::*;

use poolsim::scenario::validate;
use poolsim::{RunOptions, Simulation};

/// Every committed scenario and broken fixture, as text: the seeds of mutation.
fn corpus() -> &'static [String] {
    static CORPUS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(read_corpus)
}

fn read_corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["scenarios", "tests/fixtures/invalid"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push(text);
            }
        }
    }
    assert!(out.len() > 30);
    out
}

/// Values that break parsers and models: signs, huge and tiny numbers, special
/// floats, units, YAML syntax.
const NASTY: &[&str] = &[
    "0",
    "-1",
    "1",
    "5.5",
    "1e309",
    "-0",
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "inf/s",
    "1e12/s",
    "0/s",
    "1e-300/s",
    "99999999999999999999",
    "18446744073709551616",
    "1ns",
    "0s",
    "-5s",
    "100000d",
    "1M",
    "250",
    "10ms",
    "1e9s",
    "~",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    "{dist: exponential, mean: 0s}",
    "{dist: empirical, values: []}",
    "{dist: uniform, min: 2s, max: 1s}",
    "&a x",
    "*a",
    "!!binary aGk=",
    "\"\"",
    "'",
    "\"",
    "{",
    "[",
    "- ",
    ": ",
    "\t",
    "#",
    "|",
    ">",
    "---",
    "...",
    "%YAML 1.2",
    "@",
    "`",
    "\u{0}",
    "\u{feff}",
    "é",
    "𝄞",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the `n`-th scalar-looking word with a nasty value.
    ReplaceWord(usize, usize),
    /// Delete `len` characters at a position.
    Delete(usize, usize),
    /// Insert a nasty value at a position.
    Insert(usize, usize),
    /// Duplicate a line.
    DuplicateLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = 0usize..10_000;
    let v = 0..NASTY.len();
    prop_oneof![
        4 => (n.clone(), v.clone()).prop_map(|(i, k)| Mutation::ReplaceWord(i, k)),
        2 => (n.clone(), 1usize..8).prop_map(|(i, l)| Mutation::Delete(i, l)),
        2 => (n.clone(), v).prop_map(|(i, k)| Mutation::Insert(i, k)),
        1 => n.clone().prop_map(Mutation::DuplicateLine),
        1 => (n.clone(), n).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn char_boundary(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    match *m {
        Mutation::ReplaceWord(n, k) => {
            // Words after `: ` or inside flow collections: the values.
            let spans: Vec<(usize, usize)> = text
                .match_indices(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/')
                .map(|(i, _)| i)
                .fold(Vec::new(), |mut acc: Vec<(usize, usize)>, i| {
                    match acc.last_mut() {
                        Some(last) if last.1 == i => last.1 = i + 1,
                        _ => acc.push((i, i + 1)),
                    }
                    acc
                });
            match spans.get(n % spans.len().max(1)) {
                Some(&(a, b)) => format!("{}{}{}", &text[..a], NASTY[k], &text[b..]),
                None => text.to_string(),
            }
        }
        Mutation::Delete(i, len) => {
            let a = char_boundary(text, i);
            let b = char_boundary(text, a + len);
            format!("{}{}", &text[..a], &text[b.max(a)..])
        }
        Mutation::Insert(i, k) => {
            let a = char_boundary(text, i);
            format!("{}{}{}", &text[..a], NASTY[k], &text[a..])
        }
        Mutation::DuplicateLine(i) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let l = lines[i % lines.len()];
                lines.insert(i % lines.len(), l);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
    }
}

/// Loads, and when valid runs with a small budget and evaluates the
/// expectations. Panics are what the property forbids; errors are fine.
fn load_and_run(text: &str) {
    let s = match validate::from_str(text, "fuzz.yaml", None, &[]) {
        Ok(s) => s,
        Err(e) => {
            // A refusal must say where: every issue has a line and a column.
            for i in e.issues() {
                assert!(i.pos.line >= 1 && i.pos.col >= 1, "unlocated issue {i:?} for:\n{text}");
            }
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    // Keep memory small: timeline buckets are allocated as simulated time advances.
    let span = s.duration.map_or(3600.0, |d| d.as_secs_f64());
    if span / s.bucket.as_secs_f64() > 100_000.0 {
        return;
    }
    let mut opts = RunOptions::seed(s.seed);
    opts.max_events = 20_000;
    opts.max_in_flight = 50_000;
    if let Ok(r) = Simulation::new(&s, s.seed).run(opts) {
        let _ = poolsim::check::evaluate(&s.expect, &r);
        let mut sink = Vec::new();
        poolsim::output::json::write_summary(&mut sink, &r).unwrap();
        poolsim::output::csv::write_timeline(&mut sink, &r.timeline).unwrap();
    }
}

/// 256 cases unless `PROPTEST_CASES` asks for more; no regression files written.
fn config() -> ProptestConfig {
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() { ProptestConfig::default().cases } else { 256 };
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        load_and_run(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_yaml_like_text_never_panics(
        parts in prop::collection::vec(prop_oneof![
            (0..NASTY.len()).prop_map(|k| NASTY[k].to_string()),
            "[a-z_]{1,10}",
            Just("\n  ".to_string()),
            Just(": ".to_string()),
            Just("\n- ".to_string()),
        ], 0..60)
    ) {
        load_and_run(&parts.concat());
    }

    #[test]
    fn mutated_valid_scenarios_never_panic(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let corpus = corpus();
        let mut text = corpus[seed.index(corpus.len())].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        load_and_run(&text);
    }
}

/// Whether a scenario text is safe to hand to the binary in a test: invalid, or
/// valid with a timeline small enough for the test machine's memory.
fn small_enough(text: &str) -> bool {
    match validate::from_str(text, "fuzz.yaml", None, &[]) {
        Err(_) => true,
        Ok(s) => s.duration.map_or(3600.0, |d| d.as_secs_f64()) / s.bucket.as_secs_f64() <= 100_000.0,
    }
}

#[test]
fn mutated_files_fed_to_every_subcommand_never_panic() {
    // A fixed xorshift stream picks the mutations: the same files every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as usize
    };
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus();
    let mut files = Vec::new();
    while files.len() < 60 {
        let mut text = corpus[next() % corpus.len()].clone();
        for _ in 0..1 + next() % 3 {
            let m = match next() % 5 {
                0 => Mutation::Delete(next(), 1 + next() % 8),
                1 => Mutation::Insert(next(), next() % NASTY.len()),
                2 => Mutation::DuplicateLine(next()),
                3 => Mutation::SwapLines(next(), next()),
                _ => Mutation::ReplaceWord(next(), next() % NASTY.len()),
            };
            text = apply(&text, &m);
        }
        if small_enough(&text) {
            let path = dir.path().join(format!("m{:02}.yaml", files.len()));
            std::fs::write(&path, &text).unwrap();
            files.push(path);
        }
    }
    let sim = || {
        let mut c = assert_cmd::Command::cargo_bin("sim").unwrap();
        c.timeout(std::time::Duration::from_secs(30));
        c
    };
    let out = sim().args(["check", "--max-events", "20000", "--format", "junit"]).arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0..=2)), "sim check: {:?}\n{stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let xml = String::from_utf8(out.stdout).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), files.len(), "{xml}");
    for f in &files {
        let out = sim()
            .args(["run", "--no-plots", "-q", "--max-events", "20000", "--out"])
            .arg(dir.path().join("out"))
            .arg(f)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let text = std::fs::read_to_string(f).unwrap_or_default();
        assert!(matches!(out.status.code(), Some(0 | 2)), "{}: {:?}\n{stderr}\n{text}", f.display(), out.status);
        assert!(!stderr.contains("panicked"), "{}: {stderr}\n{text}", f.display());
    }
}
