//! Golden tests: every scenario in `scenarios/` has its summary and timeline
//! snapshot-tested (insta). Adding a scenario adds a test; a change in behaviour
//! shows up as a snapshot diff to review (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test` and `git diff`).

use poolsim::output::{csv::write_timeline, json::write_summary};

#[test]
fn committed_scenarios_match_their_snapshots() {
    insta::glob!("../../scenarios", "*.yaml", |path| {
        let name = path.file_stem().and_then(|n| n.to_str()).expect("a scenario file name");
        let r = crate::common::committed(name);
        let mut summary = Vec::new();
        write_summary(&mut summary, r).unwrap();
        let mut timeline = Vec::new();
        write_timeline(&mut timeline, &r.timeline).unwrap();
        insta::assert_snapshot!("summary", String::from_utf8(summary).unwrap());
        insta::assert_snapshot!("timeline", String::from_utf8(timeline).unwrap());
    });
}
