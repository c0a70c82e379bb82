//! Reports of `sim check`: a text table for people, JSON for scripts, JUnit XML
//! for CI systems, all written to any `io::Write` from the same [`Report`].
//!
//! Invariant: a report is a pure function of its files' results in the order
//! given (no times, no host names), so the same inputs give the same bytes
//! whatever the number of threads that ran them.

use std::io::{self, Write};

use serde_json::json;

use super::{Assertion, Verdict};

/// What happened to one scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file, as given or found.
    pub file: String,
    /// The scenario's name, when it could be read.
    pub scenario: Option<String>,
    /// Why the file could not be checked (invalid scenario, run impossible): the full message.
    pub error: Option<String>,
    /// Evaluated assertions, in order (expectations, then golden).
    pub assertions: Vec<Assertion>,
}

impl FileReport {
    /// The file's overall outcome: invalid if it could not be checked or names
    /// an unknown figure, failed if any assertion failed, passed otherwise.
    pub fn verdict(&self) -> Verdict {
        if self.error.is_some() {
            return Verdict::Invalid;
        }
        self.assertions.iter().map(|a| a.verdict).max().unwrap_or(Verdict::Pass)
    }
}

/// The whole check: every file, in a stable order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// One entry per file.
    pub files: Vec<FileReport>,
}

/// The exit code for a check: 0 all passed, 1 an expectation or golden file
/// failed, 2 a file is invalid (even if others failed).
pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Pass => 0,
        Verdict::Fail => 1,
        Verdict::Invalid => 2,
    }
}

#[derive(Default)]
struct Counts {
    pass: usize,
    fail: usize,
    invalid: usize,
}

impl Counts {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Invalid => self.invalid += 1,
        }
    }
    fn total(&self) -> usize {
        self.pass + self.fail + self.invalid
    }
}

impl Report {
    /// The worst outcome over all files ([`Verdict::Pass`] when there are none).
    pub fn verdict(&self) -> Verdict {
        self.files.iter().map(FileReport::verdict).max().unwrap_or(Verdict::Pass)
    }

    fn counts(&self) -> (Counts, Counts) {
        let (mut files, mut assertions) = (Counts::default(), Counts::default());
        for f in &self.files {
            files.add(f.verdict());
            f.assertions.iter().for_each(|a| assertions.add(a.verdict));
        }
        (files, assertions)
    }

    /// `8 files: 7 passed, 1 failed, 0 invalid; 23 assertions: 22 passed, 1 failed, 0 invalid`.
    pub fn totals_line(&self) -> String {
        let (f, a) = self.counts();
        let plural = |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
        format!(
            "{}: {} passed, {} failed, {} invalid; {}: {} passed, {} failed, {} invalid",
            plural(f.total(), "file"),
            f.pass,
            f.fail,
            f.invalid,
            plural(a.total(), "assertion"),
            a.pass,
            a.fail,
            a.invalid
        )
    }

    /// A table (file, assertion, value, bound, result), then the reasons for every
    /// failure and invalid file, then the totals.
    pub fn write_text<W: Write>(&self, mut w: W) -> io::Result<()> {
        let header = ["FILE", "ASSERTION", "VALUE", "BOUND", "RESULT"];
        let mut rows: Vec<[String; 5]> = Vec::new();
        for f in &self.files {
            if f.error.is_some() {
                rows.push([f.file.clone(), "(load and run)".into(), "-".into(), "-".into(), "INVALID".into()]);
            } else if f.assertions.is_empty() {
                rows.push([f.file.clone(), "(runs; no expectations)".into(), "-".into(), "-".into(), "PASS".into()]);
            }
            for a in &f.assertions {
                rows.push([
                    f.file.clone(),
                    a.name.clone(),
                    a.value.clone(),
                    a.bound.clone(),
                    a.verdict.as_str().into(),
                ]);
            }
        }
        let mut width = header.map(|h| h.chars().count());
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |w: &mut W, cells: [&str; 5]| -> io::Result<()> {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i == 4 {
                    out.push_str(c);
                } else {
                    out.push_str(c);
                    out.extend(std::iter::repeat_n(' ', width[i] - c.chars().count() + 2));
                }
            }
            writeln!(w, "{}", out.trim_end())
        };
        line(&mut w, header)?;
        for r in &rows {
            line(&mut w, [&r[0], &r[1], &r[2], &r[3], &r[4]])?;
        }
        let mut first = true;
        for f in &self.files {
            let problems: Vec<String> = f
                .error
                .iter()
                .cloned()
                .chain(
                    f.assertions
                        .iter()
                        .filter(|a| a.verdict != Verdict::Pass)
                        .map(|a| format!("{}: {}: {}", a.location(&f.file), a.verdict.as_str(), a.message)),
                )
                .collect();
            for p in problems {
                if first {
                    writeln!(w)?;
                    first = false;
                }
                writeln!(w, "{p}")?;
            }
        }
        writeln!(w)?;
        writeln!(w, "{}", self.totals_line())
    }

    /// The report as pretty JSON: `{"result", "exit_code", "files": [...], "totals"}`.
    pub fn write_json<W: Write>(&self, mut w: W) -> io::Result<()> {
        let (f, a) = self.counts();
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|file| {
                json!({
                    "file": file.file,
                    "scenario": file.scenario,
                    "result": file.verdict().as_str(),
                    "error": file.error,
                    "assertions": file.assertions.iter().map(|a| json!({
                        "assertion": a.name,
                        "value": a.value,
                        "bound": a.bound,
                        "result": a.verdict.as_str(),
                        "message": a.message,
                        "line": a.at.map(|p| p.line),
                        "column": a.at.map(|p| p.col),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = json!({
            "result": self.verdict().as_str(),
            "exit_code": exit_code(self.verdict()),
            "files": files,
            "totals": {
                "files": f.total(), "files_passed": f.pass, "files_failed": f.fail, "files_invalid": f.invalid,
                "assertions": a.total(), "assertions_passed": a.pass, "assertions_failed": a.fail,
                "assertions_invalid": a.invalid,
            },
        });
        serde_json::to_writer_pretty(&mut w, &v)?;
        writeln!(w)
    }

    /// JUnit XML: one `<testsuite>` per file, one `<testcase>` per assertion
    /// (`<failure>` for a failed one, `<error>` for an invalid one); a file that
    /// could not be checked is one `<testcase name="load and run">` with an
    /// `<error>`. Read natively by GitHub, GitLab, Jenkins and others.
    pub fn write_junit<W: Write>(&self, mut w: W) -> io::Result<()> {
        let case_count =
            |f: &FileReport| if f.error.is_some() || f.assertions.is_empty() { 1 } else { f.assertions.len() };
        let (tests, failures, errors) = self.files.iter().fold((0, 0, 0), |(t, fl, e), f| {
            let fails = f.assertions.iter().filter(|a| a.verdict == Verdict::Fail).count();
            let errs =
                f.assertions.iter().filter(|a| a.verdict == Verdict::Invalid).count() + usize::from(f.error.is_some());
            (t + case_count(f), fl + fails, e + errs)
        });
        writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(w, r#"<testsuites name="sim check" tests="{tests}" failures="{failures}" errors="{errors}">"#)?;
        for f in &self.files {
            let fails = f.assertions.iter().filter(|a| a.verdict == Verdict::Fail).count();
            let errs =
                f.assertions.iter().filter(|a| a.verdict == Verdict::Invalid).count() + usize::from(f.error.is_some());
            let class = xml(&format!("sim check.{}", f.scenario.as_deref().unwrap_or(&f.file)));
            writeln!(
                w,
                r#"  <testsuite name="{}" tests="{}" failures="{fails}" errors="{errs}" skipped="0">"#,
                xml(&f.file),
                case_count(f)
            )?;
            if let Some(e) = &f.error {
                writeln!(w, r#"    <testcase classname="{class}" name="load and run" file="{}">"#, xml(&f.file))?;
                let first = e.lines().next().unwrap_or_default();
                writeln!(w, r#"      <error message="{}" type="invalid">{}</error>"#, xml(first), xml(e))?;
                writeln!(w, "    </testcase>")?;
            } else if f.assertions.is_empty() {
                writeln!(w, r#"    <testcase classname="{class}" name="runs" file="{}"/>"#, xml(&f.file))?;
            }
            for a in &f.assertions {
                let line = a.at.map(|p| format!(r#" line="{}""#, p.line)).unwrap_or_default();
                let open = format!(
                    r#"    <testcase classname="{class}" name="{} {}" file="{}"{line}"#,
                    xml(&a.name),
                    xml(&a.bound),
                    xml(&f.file)
                );
                match a.verdict {
                    Verdict::Pass => writeln!(w, "{open}/>")?,
                    Verdict::Fail | Verdict::Invalid => {
                        let (tag, kind) =
                            if a.verdict == Verdict::Fail { ("failure", "expectation") } else { ("error", "invalid") };
                        writeln!(w, "{open}>")?;
                        writeln!(
                            w,
                            r#"      <{tag} message="{}" type="{kind}">{}</{tag}>"#,
                            xml(&a.message),
                            xml(&a.message)
                        )?;
                        writeln!(w, "    </testcase>")?;
                    }
                }
            }
            writeln!(w, "  </testsuite>")?;
        }
        writeln!(w, "</testsuites>")
    }
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 forbids.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: &str, verdict: Verdict) -> Assertion {
        Assertion {
            name: name.into(),
            value: "3".into(),
            bound: "<= 2".into(),
            verdict,
            message: format!("{name} is 3, expected <= 2 & \"<x>\""),
            at: Some(crate::scenario::yaml::Pos { line: 4, col: 3 }),
        }
    }

    fn sample() -> Report {
        Report {
            files: vec![
                FileReport {
                    file: "a.yaml".into(),
                    scenario: Some("a".into()),
                    error: None,
                    assertions: vec![a("requests.ok", Verdict::Pass), a("latency_ms.p99", Verdict::Fail)],
                },
                FileReport {
                    file: "b.yaml".into(),
                    scenario: None,
                    error: Some("b.yaml:1:1: bad\nmore".into()),
                    assertions: vec![],
                },
            ],
        }
    }

    #[test]
    fn exit_code_is_the_worst_outcome() {
        let mut r = sample();
        assert_eq!(exit_code(r.verdict()), 2);
        r.files.pop();
        assert_eq!(exit_code(r.verdict()), 1);
        r.files[0].assertions.pop();
        assert_eq!(exit_code(r.verdict()), 0);
        assert_eq!(exit_code(Report::default().verdict()), 0);
    }

    #[test]
    fn text_table_lists_every_assertion_and_the_reasons() {
        let mut out = Vec::new();
        sample().write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "FILE    ASSERTION       VALUE  BOUND  RESULT\na.yaml  requests.ok     3      <= 2   PASS\n"
            ),
            "{text}"
        );
        assert!(text.contains("a.yaml:4:3: FAIL: latency_ms.p99 is 3"), "{text}");
        assert!(text.contains("b.yaml:1:1: bad\nmore\n"), "{text}");
        assert!(
            text.ends_with("2 files: 0 passed, 1 failed, 1 invalid; 2 assertions: 1 passed, 1 failed, 0 invalid\n")
        );
    }

    #[test]
    fn junit_is_escaped_and_counts_failures_and_errors() {
        let mut out = Vec::new();
        sample().write_junit(&mut out).unwrap();
        let x = String::from_utf8(out).unwrap();
        assert!(x.contains(r#"<testsuites name="sim check" tests="3" failures="1" errors="1">"#), "{x}");
        assert!(x.contains("&amp; &quot;&lt;x&gt;&quot;"), "{x}");
        assert!(
            x.contains(r#"<error message="b.yaml:1:1: bad" type="invalid">b.yaml:1:1: bad&#10;more</error>"#),
            "{x}"
        );
        assert!(!x.contains("\"<x>\""));
    }

    #[test]
    fn json_report_has_the_exit_code() {
        let mut out = Vec::new();
        sample().write_json(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["files"][0]["assertions"][1]["result"], "FAIL");
        assert_eq!(v["totals"]["files_invalid"], 1);
    }
}
