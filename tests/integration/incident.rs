//! The stories of the committed fleet scenarios. The incident (the write-up in
//! `../shared/seeds/002`): errors only after the deploy with two pools, none
//! with the shared-pool fix, recovery after the rollback, and the budget
//! arithmetic of the write-up.

use crate::common::committed;

const DEPLOY_S: f64 = 600.0;
const PEAK_S: f64 = 1200.0;
const ROLLBACK_S: f64 = 2400.0;

fn timeouts_between(r: &poolsim::result::RunResult, from: f64, until: f64) -> u64 {
    r.timeline.iter().filter(|b| b.t_s >= from && b.t_s < until).map(|b| b.timed_out + b.failed).sum()
}

#[test]
fn the_dual_pool_incident_breaks_after_the_deploy_and_recovers_at_the_rollback() {
    let r = committed("incident-dual-pool");
    let db = &r.fleet.database;
    // 20 pods x (4 workers x 10 + 10) = 1000 possible against 500 - 3 reserved.
    assert_eq!((db.possible_connections, db.usable_connections), (1000, Some(497)));
    assert!(db.overcommitted && !r.fleet.warnings.is_empty());
    assert_eq!(timeouts_between(r, 0.0, DEPLOY_S), 0, "no errors before the deploy");
    let first = r.summary.first_503_s.expect("the incident has 503s");
    assert!(first > PEAK_S, "the first 503 comes with the traffic peak, after the deploy: {first}");
    assert!(timeouts_between(r, PEAK_S, ROLLBACK_S) > 100_000, "starvation at the peak");
    assert_eq!(db.peak_connections, 497, "the database is full");
    assert!(r.fleet.leaks.leaked_total > 100, "the job leaks connections");
    // A minute after the rollback the same peak traffic is served without errors.
    assert_eq!(timeouts_between(r, ROLLBACK_S + 60.0, 3600.0), 0);
    assert_eq!(r.fleet.leaks.leaked_at_end, 0, "the restart freed the leaked connections");
}

#[test]
fn the_shared_pool_fix_holds_under_the_same_traffic() {
    let fix = committed("incident-shared-pool");
    let dual = committed("incident-dual-pool");
    // Same arrivals: the determinism contract gives both designs identical traffic.
    assert_eq!(fix.summary.requests.total, dual.summary.requests.total);
    let q = &fix.summary.requests;
    assert_eq!((q.timed_out, q.failed), (0, 0));
    let db = &fix.fleet.database;
    // floor(500 / (20 x 4)) = 6 per pool: 480 possible, within the 497 usable.
    assert_eq!(db.possible_connections, 480);
    assert!(!db.overcommitted && fix.fleet.warnings.is_empty());
    assert!(db.peak_connections <= 480);
    assert_eq!(fix.fleet.leaks.leaked_total, 0);
}

#[test]
fn long_running_queries_starve_the_pools_until_they_are_killed() {
    let r = committed("long-running-query");
    assert_eq!(timeouts_between(r, 0.0, 300.0), 0, "no errors before the analytics burst");
    assert!(timeouts_between(r, 300.0, 900.0) > 10_000, "starvation while 240 of 280 connections are held");
    assert_eq!(r.summary.requests.terminated, 240, "the kill fails exactly the analytics queries");
    assert_eq!(timeouts_between(r, 905.0, 1500.0), 0, "recovered after the kill");
}
