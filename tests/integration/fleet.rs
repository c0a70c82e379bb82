//! The fleet model: hand-computed small fleets, the database limit, pool
//! library behaviours (lazy opening, idle timeout, lifetime, overflow,
//! priorities), jobs and leaks, timed changes, and the connection accounting
//! checked after every event (`Simulation::with_audit`).

use poolsim::result::{Outcome, RunResult};
use poolsim::{RunOptions, Simulation};
use proptest::prelude::*;

use crate::common::{Collect, scenario, secs};

/// Runs with the accounting audit on, returning the result and every request.
fn audited(yaml: &str) -> (RunResult, Vec<poolsim::result::RequestRecord>) {
    let s = scenario(yaml);
    let mut sink = Collect::default();
    let mut opts = RunOptions::seed(s.seed);
    opts.sink = Some(&mut sink);
    let r = Simulation::new(&s, s.seed).with_audit().run(opts).unwrap_or_else(|e| panic!("{e}"));
    (r, sink.0)
}

/// 2 pods x 2 workers x pool 2 against a database of 6: a burst of 16 at once,
/// round robin, so each worker gets 4 and wants 2 connections (8 in all).
fn small_fleet(pool_extra: &str, timeout: &str) -> String {
    format!(
        "name: t\ndatabase: {{max_connections: 6, reserved_connections: 0}}\n\
         fleet: {{pods: 2, workers_per_pod: 2}}\n\
         pools: [{{name: app, scope: worker, max_size: 2, acquire_timeout: {timeout}{pool_extra}}}]\n\
         classes: [{{name: r, hold: 1s}}]\nworkload:\n  - burst: {{count: 16}}\n"
    )
}

#[test]
fn a_full_database_refuses_the_connections_it_has_no_slot_for() {
    // Requests 1-6 open the six connections the database allows (workers 0-3,
    // then 0-1 again). Workers 2 and 3 need a second connection: refused, so
    // their other three requests each fail at once. Workers 0 and 1 queue two
    // requests each, served at 1 s.
    let (r, recs) = audited(&small_fleet(", on_refused: fail", "10s"));
    let q = &r.summary.requests;
    assert_eq!((q.ok, q.refused, q.failed, q.timed_out), (10, 6, 6, 0));
    assert_eq!(r.fleet.database.peak_connections, 6);
    assert_eq!(r.fleet.database.refusals, 6);
    assert!(recs.iter().filter(|x| x.outcome == Outcome::Refused).all(|x| secs(x.finished) == 0.0));
    let mut done: Vec<f64> = recs.iter().filter(|x| x.outcome == Outcome::Ok).map(|x| secs(x.finished)).collect();
    done.sort_by(f64::total_cmp);
    assert_eq!(done, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]);
}

#[test]
fn refusals_in_the_warm_up_are_left_out_of_the_summary_like_the_requests_they_fail() {
    // The fleet above, its burst of 16 at 0 s and again at 12 s, warm-up
    // 10 s. Connections stay open (no idle timeout), so at 12 s workers 0
    // and 1 have two idle ones and workers 2 and 3 one: each of the latter's
    // three other requests is refused again. 6 refusals in the warm-up and
    // 6 after it: the summary has the 6 after, as it has their 6 requests.
    let yaml = small_fleet(", on_refused: fail", "10s")
        .replace("name: t\n", "name: t\nwarmup: 10s\n")
        .replace("  - burst: {count: 16}\n", "  - burst: {count: 16}\n  - burst: {at: 12s, count: 16}\n");
    let (r, _) = audited(&yaml);
    assert_eq!(r.timeline.iter().map(|b| b.db_refusals).sum::<u64>(), 12);
    assert_eq!(r.summary.requests.refused, 6);
    assert_eq!(r.fleet.database.refusals, 6);
}

#[test]
fn with_on_refused_wait_starved_workers_time_out() {
    // Same fleet, HikariCP-style: the requests that found the database full
    // wait. Connections go back to their own pools and are never closed, so
    // workers 2 and 3 live on their single connection: of their three waiting
    // requests one is served at 1 s, the other two time out at 1.5 s.
    let (r, recs) = audited(&small_fleet(", on_refused: wait", "1500ms"));
    let q = &r.summary.requests;
    assert_eq!((q.ok, q.timed_out, q.failed), (12, 4, 0));
    assert!(recs.iter().filter(|x| x.outcome == Outcome::TimedOut).all(|x| secs(x.finished) == 1.5));
}

#[test]
fn an_idle_timeout_frees_slots_for_starved_workers() {
    // Workers 0 and 1 are done at 2 s; their four connections idle 100 ms and
    // close, so workers 2 and 3 (waiting for the database) open a second
    // connection each at 2.1 s for their last request.
    let (r, recs) = audited(&small_fleet(", on_refused: wait, idle_timeout: 100ms", "10s"));
    assert_eq!(r.summary.requests.ok, 16);
    let mut starts: Vec<f64> = recs.iter().map(|x| secs(x.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(&starts[..12], &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!(&starts[12..14], &[2.0, 2.0]);
    assert!(starts[14..].iter().all(|s| (s - 2.1).abs() < 1e-9), "{starts:?}");
    assert!(r.fleet.pools[0].connections_closed >= 4);
}

#[test]
fn connections_opened_before_the_warm_up_count_in_the_database_peak() {
    // min_idle opens 3 connections at 0 s; they stay open (no idle timeout)
    // and the one request, at 6 s, takes one of them: from the 5 s warm-up
    // on, 3 are open at the database the whole time.
    let yaml = "name: t\nduration: 10s\nwarmup: 5s\ndatabase: {max_connections: 10, reserved_connections: 0}\n\
                pool: {max_size: 5, min_idle: 3}\nrequest: {hold: 100ms}\nworkload:\n  - burst: {at: 6s, count: 1}\n";
    let (r, _) = audited(yaml);
    assert!(r.timeline.iter().all(|b| b.db_connections_open == 3));
    assert_eq!(r.fleet.database.peak_connections, 3);
    assert_eq!(r.summary.pool_used_max, 1);
}

#[test]
fn pool_peaks_are_taken_from_the_warm_up_on_like_the_summary_peaks() {
    // Ten requests at 0 s use all 10 connections for 1 s, which then stay
    // open (no idle timeout); two at 6 s, after the 5 s warm-up, use two.
    // From the warm-up on: 2 in use at most, 10 open all the time.
    let yaml = "name: t\nduration: 10s\nwarmup: 5s\npools: [{name: p, max_size: 10}]\nclasses: [{name: r, hold: 1s}]\n\
                workload:\n  - burst: {count: 10}\n  - burst: {at: 6s, count: 2}\n";
    let (r, _) = audited(yaml);
    let p = &r.fleet.pools[0];
    assert_eq!((p.peak_used, p.peak_open), (2, 10));
    assert_eq!(r.summary.pool_used_max, p.peak_used, "one pool: the same peak");
}

#[test]
fn a_run_that_ends_before_its_warm_up_has_no_peaks() {
    // No `duration`: the run ends at 1 s, when the burst is answered, before
    // the 1 min warm-up. Nothing was observed.
    let yaml = "name: t\nwarmup: 1m\npools: [{name: p, max_size: 5}]\nclasses: [{name: r, hold: 1s}]\n\
                workload:\n  - burst: {count: 3}\n";
    let (r, _) = audited(yaml);
    assert_eq!(r.summary.duration_s, 1.0);
    let p = &r.fleet.pools[0];
    assert_eq!((p.peak_used, p.peak_open, r.summary.pool_used_max, r.fleet.database.peak_connections), (0, 0, 0, 0));
    assert_eq!((r.summary.requests.total, r.summary.throughput_ok_per_s), (0, 0.0));
}

#[test]
fn the_leak_peak_is_taken_from_the_warm_up_on() {
    // Runs at 0, 1 and 2 s leak their connection at 0.1, 1.1 and 2.1 s; the
    // kill at 3 s frees the two held longest. From the 5 s warm-up on, one
    // leaked connection is checked out, and the request at 6 s takes another.
    let yaml = "name: t\nduration: 10s\nwarmup: 5s\npools: [{name: p, max_size: 5, acquire_timeout: 1s}]\n\
                classes: [{name: r, hold: 100ms}]\n\
                jobs: [{name: j, pool: p, every: 1s, offset: 0s, stop: 2500ms, hold: 100ms, error_rate: 1, on_error: leak}]\n\
                workload:\n  - burst: {at: 6s, count: 1}\nevents:\n  - {at: 3s, kill_connections: {count: 2}}\n";
    let (r, _) = audited(yaml);
    let l = &r.fleet.leaks;
    assert_eq!((l.leaked_total, l.leaked_at_end, l.leaked_peak), (3, 1, 1));
    assert_eq!((r.fleet.pools[0].peak_used, r.summary.pool_used_max), (2, 2));
}

#[test]
fn the_worker_queue_peak_is_taken_from_the_warm_up_on() {
    // One sync worker, five requests at 0 s holding 1 s each: four queue at
    // the worker and one leaves the queue every second. At the 2.5 s
    // warm-up two are still queued, and the queue only shrinks after.
    let yaml = "name: t\nduration: 10s\nwarmup: 2500ms\nfleet: {worker_concurrency: 1}\npool: {max_size: 5}\n\
                request: {hold: 1s}\nworkload:\n  - burst: {count: 5}\n";
    let (r, _) = audited(yaml);
    assert_eq!(r.fleet.workers.as_ref().unwrap().queue_max, 2);
}

#[test]
fn the_connection_budget_is_reported_and_an_overcommitted_one_is_flagged() {
    let (r, _) = audited(&small_fleet("", "10s"));
    let db = &r.fleet.database;
    assert_eq!((db.possible_connections, db.usable_connections), (8, Some(6)));
    assert!(db.overcommitted);
    assert!(r.fleet.warnings[0].contains("over-committed"), "{:?}", r.fleet.warnings);
}

#[test]
fn reserved_connections_are_not_usable() {
    let yaml = small_fleet(", on_refused: fail", "10s").replace("reserved_connections: 0", "reserved_connections: 2");
    let (r, _) = audited(&yaml.replace("max_connections: 6", "max_connections: 8"));
    assert_eq!(r.fleet.database.peak_connections, 6);
    assert_eq!(r.summary.requests.refused, 6);
}

#[test]
fn connect_time_delays_the_first_use_of_a_connection() {
    let yaml = "name: t\ndatabase: {max_connections: 10, connect_time: 20ms}\npool: {max_size: 2}\n\
                request: {hold: 1s}\nworkload:\n  - burst: {count: 3}\n";
    let (_, recs) = audited(yaml);
    let mut starts: Vec<f64> = recs.iter().map(|x| secs(x.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts, [0.02, 0.02, 1.02]);
}

#[test]
fn requests_go_before_background_jobs_in_a_shared_pool() {
    // One connection held until 1 s; a low-priority job acquisition queues at
    // 0.5 s, a high-priority request at 0.7 s: the request gets it first.
    let yaml = "name: t\npools: [{name: p, max_size: 1, acquire_timeout: 1m}]\n\
                classes: [{name: r, hold: 1s, priority: high}]\n\
                jobs: [{name: j, pool: p, start: never, every: 1h, offset: 0s, hold: 1s, priority: low}]\n\
                workload:\n  - burst: {count: 1}\n  - burst: {at: 700ms, count: 1}\n\
                events:\n  - {at: 500ms, start_job: j}\nduration: 10s\n";
    // The job runs at 0.5 s (offset 0) and waits; the request arriving at 0.7 s
    // acquires at 1 s, before it.
    let (r, recs) = audited(yaml);
    let second = recs.iter().find(|x| secs(x.arrival) == 0.7).unwrap();
    assert_eq!(secs(second.acquired.unwrap()), 1.0);
    assert_eq!(r.fleet.jobs[0].runs, 1);
}

#[test]
fn a_leaking_job_keeps_its_connections_until_they_are_killed() {
    // Every run fails and leaks its connection: the pool of 3 is drained after
    // three runs; later runs cannot get one. Killing the leaked connections at
    // 10 s lets the job take connections again.
    let yaml = "name: t\nduration: 20s\npools: [{name: p, max_size: 3, acquire_timeout: 100ms, leak_detection_threshold: 2s}]\n\
                classes: [{name: r, hold: 1ms}]\n\
                jobs: [{name: j, pool: p, every: 1s, offset: 0s, hold: 100ms, error_rate: 1, on_error: leak}]\n\
                workload:\n  - burst: {at: 19s, count: 1}\n\
                events:\n  - {at: 10s, kill_connections: {count: 3}}\n";
    let (r, _) = audited(yaml);
    let j = &r.fleet.jobs[0];
    assert_eq!(j.runs, 20);
    // Runs at 0-2 s leak; 3-9 s find nothing; the kill frees three; 10-12 s leak again.
    assert_eq!(j.leaked_connections, 6);
    assert_eq!(j.acquire_failures, 14);
    assert_eq!(r.fleet.leaks.leaked_at_end, 3);
    assert!(r.fleet.leaks.leak_warnings >= 3);
    // The request at 19 s finds the pool drained by leaks: 503.
    assert_eq!(r.summary.requests.timed_out, 1);
}

#[test]
fn closing_a_pool_frees_leaked_connections() {
    let yaml = "name: t\nduration: 10s\ndatabase: {max_connections: 4, reserved_connections: 0}\n\
                pools: [{name: app, max_size: 4, acquire_timeout: 1s}, {name: job, max_size: 2}]\n\
                classes: [{name: r, pool: app, hold: 100ms}]\n\
                jobs: [{name: j, pool: job, every: 1s, hold: 10ms, error_rate: 1, on_error: leak}]\n\
                workload:\n  - burst: {at: 5s, count: 4}\n  - burst: {at: 8s, count: 4}\n\
                events:\n  - {at: 6s, stop_job: j, close_pool: job}\n";
    let (r, _) = audited(yaml);
    // At 5 s the job holds 2 leaked connections of the 4 the database allows:
    // two requests are refused. After the rollback all four are served.
    assert_eq!(r.summary.requests.refused, 2);
    assert_eq!(r.summary.requests.ok, 6);
    assert_eq!(r.fleet.leaks.leaked_at_end, 0);
}

#[test]
fn the_statement_timeout_cancels_long_holds() {
    let yaml =
        "name: t\npool: {max_size: 2}\nrequest: {hold: 3s, statement_timeout: 1s}\nworkload:\n  - burst: {count: 1}\n";
    let (r, recs) = audited(yaml);
    assert_eq!(r.summary.requests.statement_timeout, 1);
    assert_eq!(secs(recs[0].finished), 1.0);
}

#[test]
fn overflow_connections_close_when_nobody_waits() {
    let yaml = "name: t\npool: {max_size: 2, max_overflow: 1}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 4}\n";
    let (r, recs) = audited(yaml);
    let mut starts: Vec<f64> = recs.iter().map(|x| secs(x.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts, [0.0, 0.0, 0.0, 1.0]);
    // At 1 s: one connection goes to the waiter, one overflow closes; at 2 s the last one stays.
    assert_eq!(r.fleet.pools[0].peak_open, 3);
    assert_eq!(r.fleet.pools[0].connections_closed, 1);
}

#[test]
fn connections_are_recycled_after_their_lifetime() {
    let yaml = "name: t\npool: {max_size: 1, max_lifetime: 1500ms}\nrequest: {hold: 1s}\nworkload:\n  - sequential: {count: 3}\n";
    let (r, _) = audited(yaml);
    // Created at 0, released at 1 s (young), reused, released at 2 s (past 1.5 s): closed.
    assert_eq!(r.fleet.pools[0].connections_opened, 2);
}

#[test]
fn min_idle_connections_are_open_from_the_start() {
    let yaml = "name: t\nduration: 1s\ndatabase: {max_connections: 100}\nfleet: {pods: 3}\n\
                pools: [{name: p, scope: pod, max_size: 5, min_idle: 2}]\nclasses: [{name: r, hold: 1ms}]\n\
                workload:\n  - burst: {at: 500ms, count: 1}\n";
    let (r, _) = audited(yaml);
    assert_eq!(r.fleet.database.peak_connections, 6);
}

#[test]
fn least_outstanding_routing_avoids_a_busy_worker() {
    // One long request pins worker 0; the next short ones go elsewhere.
    let yaml = "name: t\nfleet: {pods: 1, workers_per_pod: 2, routing: least_outstanding}\n\
                pools: [{name: p, scope: worker, max_size: 1, acquire_timeout: 1m}]\n\
                classes: [{name: long, hold: 10s, share: 1}, {name: short, hold: 1s, share: 1}]\n\
                workload:\n  - burst: {count: 1, class: long}\n  - sequential: {at: 1ms, count: 3, class: short}\n";
    let (_, recs) = audited(yaml);
    // Short requests never wait behind the long one.
    assert!(recs.iter().filter(|x| secs(x.arrival) > 0.0).all(|x| x.wait.0 == 0));
}

#[test]
fn scaling_out_spreads_requests_over_new_pods() {
    let yaml = "name: t\nduration: 4s\nfleet: {pods: 1}\n\
                pools: [{name: p, scope: pod, max_size: 1, acquire_timeout: 500ms}]\n\
                classes: [{name: r, hold: 1s}]\n\
                workload:\n  - open: {rate: 2/s, process: constant, until: 4s}\n\
                events:\n  - {at: 2s, set: {fleet.pods: 2}}\n";
    let (r, _) = audited(yaml);
    // Before: 2 requests/s on one connection held 1 s: every second one times out
    // after 500 ms. After: round robin over two pods, none does.
    assert_eq!(r.summary.requests.timed_out, 2);
    assert_eq!(r.fleet.pools[0].instances, 1);
}

#[test]
fn class_shares_split_the_traffic() {
    // 95% fast and 5% slow requests: the slow ones are those holding 2 s.
    let yaml = "name: t\npools: [{name: p, max_size: 1000}]\n\
                classes: [{name: fast, share: 95%, hold: 1ms}, {name: slow, share: 5%, hold: 2s}]\n\
                workload:\n  - open: {rate: 1000/s, until: 100s}\n";
    let (r, recs) = crate::common::run_with_records(&scenario(yaml), 1);
    let n = recs.len() as f64;
    assert_eq!(n as u64, r.summary.requests.total);
    let slow = recs.iter().filter(|x| (x.finished - x.arrival).as_secs_f64() >= 2.0).count() as f64 / n;
    // 4.5 standard errors of a proportion over ~100 000 draws.
    let tol = 4.5 * (0.05 * 0.95 / n).sqrt();
    assert!((slow - 0.05).abs() < tol, "slow share {slow} of {n}, tolerance {tol}");
}

#[test]
fn switching_a_class_to_another_pool_mid_run() {
    let yaml = "name: t\npools: [{name: a, max_size: 1, acquire_timeout: 1m}, {name: b, max_size: 5}]\n\
                classes: [{name: r, pool: a, hold: 1s}]\nworkload:\n  - burst: {count: 3}\n  - burst: {at: 500ms, count: 2}\n\
                events:\n  - {at: 400ms, set: {classes.r.pool: b}}\n";
    let (r, recs) = audited(yaml);
    let late: Vec<f64> = recs.iter().filter(|x| secs(x.arrival) == 0.5).map(|x| x.wait.as_secs_f64()).collect();
    assert_eq!(late, [0.0, 0.0], "requests after the switch use pool b at once");
    assert_eq!(r.fleet.pools[1].peak_used, 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Random small fleets: open connections never exceed the database's usable
    /// limit and every connection is accounted for after every event.
    #[test]
    fn connections_are_accounted_for_and_within_the_limit(
        pods in 1u32..4, workers in 1u32..3, size in 1u32..5, overflow in 0u32..3, max_conn in 2u32..20,
        reserved in 0u32..2, wait in any::<bool>(), idle_ms in prop::option::of(1u64..500),
        job_every_ms in 100u64..2000, error in 0.0f64..1.0, leak in any::<bool>(), rate in 5u32..200,
        kill_at in prop::option::of(100u64..3000), seed in 0u64..1000, cores in prop::option::of(1u32..4),
    ) {
        let cores = cores.map(|c| format!(", cores: {c}")).unwrap_or_default();
        let idle = idle_ms.map(|m| format!(", idle_timeout: {m}ms")).unwrap_or_default();
        let on_refused = if wait { "wait" } else { "fail" };
        let on_error = if leak { "leak" } else { "release" };
        let kill = kill_at.map(|t| format!("events:\n  - {{at: {t}ms, kill_connections: {{count: 2}}}}\n")).unwrap_or_default();
        let yaml = format!(
            "name: p\nseed: {seed}\nduration: 4s\ndatabase: {{max_connections: {max_conn}, reserved_connections: {reserved}, connect_time: {{dist: uniform, min: 0ms, max: 5ms}}{cores}}}\n\
             fleet: {{pods: {pods}, workers_per_pod: {workers}, routing: random}}\n\
             pools:\n  - {{name: app, scope: worker, max_size: {size}, max_overflow: {overflow}, acquire_timeout: 200ms, on_refused: {on_refused}{idle}}}\n\
             \x20 - {{name: job, scope: pod, max_size: 2, acquire_timeout: 100ms}}\n\
             classes: [{{name: r, pool: app, hold: {{dist: exponential, mean: 50ms}}}}]\n\
             jobs: [{{name: j, pool: job, every: {job_every_ms}ms, hold: 300ms, error_rate: {error}, on_error: {on_error}}}]\n\
             workload:\n  - open: {{rate: {rate}/s, until: 4s}}\n{kill}"
        );
        let (r, _) = audited(&yaml);
        let usable = r.fleet.database.usable_connections.unwrap();
        prop_assert!(r.fleet.database.peak_connections <= usable);
        let q = &r.summary.requests;
        prop_assert_eq!(q.total, q.ok + q.timed_out + q.failed + q.unfinished);
    }
}

#[test]
fn a_503_is_retried_after_its_backoff() {
    // Pool of 1 busy until 1 s: the second request times out at 0.5 s and
    // retries after 1 s of backoff, when the connection is free.
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: 500ms}\nrequest: {hold: 1s}\n\
                client: {retries: 1, backoff: 1s, jitter: none, retry_on: [503]}\n\
                workload:\n  - burst: {count: 2}\n";
    let (r, recs) = audited(yaml);
    let c = r.fleet.client.as_ref().unwrap();
    assert_eq!((c.calls, c.retries, c.succeeded, c.gave_up), (2, 1, 2, 0));
    assert_eq!((r.summary.requests.total, r.summary.requests.timed_out), (3, 1));
    let retry = recs.iter().find(|x| secs(x.arrival) == 1.5).expect("the retry arrives at 1.5 s");
    assert_eq!(secs(retry.finished), 2.5);
    assert_eq!(r.timeline[0].retries, 1);
}

#[test]
fn the_clients_figures_count_the_calls_that_start_from_the_warm_up_on() {
    // Each burst of 10 on a pool of 5 (1 s holds, 500 ms timeout): 5 served at
    // once, 5 time out at +0.5 s and retry at +1.5 s, when the pool is free.
    // The call of the burst at 4 s started before the 5 s warm-up: its retries
    // arrive at 5.5 s and count as requests (by arrival), but not in the client's
    // figures, which count calls by their start as requests count by arrival.
    let yaml = "name: t\nwarmup: 5s\npool: {max_size: 5, acquire_timeout: 500ms}\nrequest: {hold: 1s}\n\
                client: {retries: 1, backoff: 1s, jitter: none}\n\
                workload:\n  - burst: {at: 4s, count: 10}\n  - burst: {at: 10s, count: 10}\n";
    let (r, _) = audited(yaml);
    let c = r.fleet.client.as_ref().unwrap();
    assert_eq!((c.calls, c.retries, c.succeeded, c.gave_up, c.client_timeouts), (10, 5, 10, 0, 0));
    assert_eq!(c.amplification, 1.5);
    // 5 retries at 5.5 s, then 10 + 5 from the burst at 10 s.
    assert_eq!((r.summary.requests.total, r.summary.requests.ok, r.summary.requests.timed_out), (20, 15, 5));
}

#[test]
fn a_client_timeout_abandons_work_the_server_still_does() {
    // The server holds the first attempt 0-2 s; the client gives up at 1.5 s and
    // retries at once; the retry waits for the connection until 2 s and holds it
    // to 4 s, but the client gives up on it at 3 s. The server answered both
    // attempts (200); the client got nothing.
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: 1m}\nrequest: {hold: 2s}\n\
                client: {timeout: 1500ms, retries: 1, backoff: 0s, jitter: none}\n\
                workload:\n  - burst: {count: 1}\n";
    let (r, _) = audited(yaml);
    let c = r.fleet.client.as_ref().unwrap();
    assert_eq!((c.calls, c.retries, c.succeeded, c.gave_up, c.client_timeouts), (1, 1, 0, 1, 2));
    assert_eq!(c.amplification, 2.0);
    assert_eq!(r.summary.requests.ok, 2);
}

#[test]
fn retries_amplify_the_load_of_an_overloaded_pool() {
    // 12/s against a pool serving 10/s: without retries about 1 in 6 fails; with
    // three retries on 503 the pool receives more requests than the clients made.
    let base = "name: t\nduration: 60s\npool: {max_size: 10, acquire_timeout: 200ms}\n\
                request: {hold: {dist: exponential, mean: 1s}}\nworkload:\n  - open: {rate: 12/s, until: 60s}\n";
    let plain = crate::common::run(&scenario(base), 7);
    let storm = crate::common::run(&scenario(&format!("{base}client: {{retries: 3, backoff: 100ms}}\n")), 7);
    let c = storm.fleet.client.as_ref().unwrap();
    assert!(c.amplification > 1.1, "{c:?}");
    assert!(storm.summary.requests.total > plain.summary.requests.total);
    assert!(storm.summary.requests.timed_out > plain.summary.requests.timed_out, "the storm makes more 503s");
}

#[test]
fn a_scaled_in_pod_finishes_its_queue_then_closes_its_connections() {
    // Two pods, one connection each, two requests each; pod 1 is removed at
    // 0.5 s with a request still queued: it is served at 1 s, and the pod's
    // connection closes when it is released at 2 s.
    let yaml = "name: t\nduration: 5s\nfleet: {pods: 2}\n\
                pools: [{name: p, scope: pod, max_size: 1, acquire_timeout: 1m}]\n\
                classes: [{name: r, hold: 1s}]\nworkload:\n  - burst: {count: 4}\n\
                events:\n  - {at: 500ms, set: {fleet.pods: 1}}\n";
    let (r, _) = audited(yaml);
    assert_eq!(r.summary.requests.ok, 4);
    assert_eq!(r.fleet.pools[0].connections_closed, 1);
}

#[test]
fn sync_workers_serve_one_request_at_a_time() {
    // Two sync workers (concurrency 1) in front of a pool with room to spare:
    // four requests at once, two per worker; the second of each waits for its
    // worker, not for a connection.
    let yaml = "name: t\nfleet: {workers_per_pod: 2, worker_concurrency: 1}\n\
                pools: [{name: p, scope: shared, max_size: 10}]\nclasses: [{name: r, hold: 1s}]\n\
                workload:\n  - burst: {count: 4}\n";
    let (r, recs) = audited(yaml);
    let mut done: Vec<f64> = recs.iter().map(|x| secs(x.finished)).collect();
    done.sort_by(f64::total_cmp);
    assert_eq!(done, [1.0, 1.0, 2.0, 2.0]);
    assert!(recs.iter().all(|x| x.wait.0 == 0), "nobody waits for a connection");
    assert_eq!(r.summary.acquire_wait_ms.max, 0.0);
    let w = r.fleet.workers.as_ref().unwrap();
    assert_eq!((w.concurrency, w.queued, w.queue_max), (1, 2, 1));
}

#[test]
fn queries_share_the_database_cores() {
    // One core, two 1 s queries at once: processor sharing runs each at half
    // speed, so both end at 2 s; with two cores both end at 1 s.
    let one = "name: t\ndatabase: {max_connections: 10, cores: 1}\npool: {max_size: 2}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 2}\n";
    let (_, recs) = audited(one);
    assert!(recs.iter().all(|x| secs(x.finished) == 2.0), "{recs:?}");
    let (_, recs) = audited(&one.replace("cores: 1", "cores: 2"));
    assert!(recs.iter().all(|x| secs(x.finished) == 1.0));
}

#[test]
fn past_the_cores_a_bigger_pool_is_slower() {
    // Two cores, constant 100 ms queries at 90% load. A pool of 2 queues requests
    // first come first served and runs each at full speed; a pool of 20 lets them
    // all run at once, sharing the cores: every query slows down and the mean
    // latency grows (M/D/2 against processor sharing).
    let base = "name: t\nduration: 2000s\ndatabase: {max_connections: 100, cores: 2}\n\
                pool: {max_size: POOL, acquire_timeout: never}\nrequest: {hold: 100ms}\n\
                workload:\n  - open: {rate: 18/s, until: 2000s}\n";
    let small = crate::common::run(&scenario(&base.replace("POOL", "2")), 5);
    let big = crate::common::run(&scenario(&base.replace("POOL", "20")), 5);
    let (a, b) = (small.summary.latency_ms.mean, big.summary.latency_ms.mean);
    assert!(b > 1.3 * a, "pool 2: {a} ms, pool 20: {b} ms");
}

/// Pool rows and timeline rows handed to sinks while the run goes on (as
/// `sim run` streams pools.csv and timeline.csv) are exactly the rows a run
/// keeps otherwise, in the same order, across many batches; the result then
/// holds none.
#[test]
fn streamed_pool_rows_are_the_rows_a_run_keeps() {
    #[derive(Default)]
    struct Rows {
        rows: Vec<poolsim::result::PoolRow>,
        batches: usize,
    }
    impl poolsim::result::RowSink<poolsim::result::PoolRow> for Rows {
        fn rows(&mut self, rows: &[poolsim::result::PoolRow]) -> std::io::Result<()> {
            self.rows.extend_from_slice(rows);
            self.batches += 1;
            Ok(())
        }
    }
    #[derive(Default)]
    struct Timeline(Vec<poolsim::result::Bucket>, usize);
    impl poolsim::result::RowSink<poolsim::result::Bucket> for Timeline {
        fn rows(&mut self, rows: &[poolsim::result::Bucket]) -> std::io::Result<()> {
            self.0.extend_from_slice(rows);
            self.1 += 1;
            Ok(())
        }
    }
    let s = scenario(
        "name: t\nseed: 3\nduration: 100m\ntimeline: {bucket: 1s}\n\
         fleet: {pods: 5, workers_per_pod: 4}\n\
         pools: [{name: app, scope: worker, max_size: 3, acquire_timeout: 1s}, {name: side, scope: pod, max_size: 2}]\n\
         classes: [{name: r, pool: app, hold: {dist: exponential, mean: 200ms}}]\n\
         workload:\n  - open: {rate: 60/s, process: poisson}\n",
    );
    let kept = Simulation::new(&s, s.seed).run(RunOptions::seed(s.seed)).unwrap();
    let (mut sink, mut timeline) = (Rows::default(), Timeline::default());
    let mut opts = RunOptions::seed(s.seed);
    opts.pool_sink = Some(&mut sink);
    opts.timeline_sink = Some(&mut timeline);
    let streamed = Simulation::new(&s, s.seed).run(opts).unwrap();
    assert_eq!(kept.pool_rows.len(), 6000 * 25);
    assert!(sink.batches > 2, "{} batches", sink.batches);
    assert_eq!(sink.rows, kept.pool_rows);
    assert!(streamed.pool_rows.is_empty());
    assert_eq!(kept.timeline.len(), 6000);
    assert!(timeline.1 > 1, "{} batches", timeline.1);
    assert_eq!(timeline.0, kept.timeline);
    assert!(streamed.timeline.is_empty());
    assert_eq!(streamed.summary, kept.summary);
}

/// The run behind the pods figure's unit test (`plot::fleet`): 2 pods × 2 workers × a pool of
/// 2 against a database of 6 (1 reserved), 40 requests of 1 s at once. Round robin opens
/// connections for workers 0, 1, 2, 3, then 0 again: the 5 usable slots go 2 + 1 to pod 0
/// and 1 + 1 to pod 1, and both fleet figures draw from the run.
#[test]
fn a_small_fleet_spreads_the_usable_connections_over_its_pods() {
    let s = scenario(
        "name: small-fleet\nseed: 1\nduration: 5s\n\
         database: {max_connections: 6, reserved_connections: 1}\n\
         fleet: {pods: 2, workers_per_pod: 2}\n\
         pools: [{name: app, scope: worker, max_size: 2, acquire_timeout: 3s}]\n\
         request: {hold: 1s}\nworkload: [{burst: {at: 0s, count: 40}}]\n",
    );
    let r = poolsim::simulate(&s, 1).unwrap();
    let first: Vec<u32> = r.pool_rows.iter().filter(|row| row.t_s == 0.0).map(|row| row.used_max).collect();
    assert_eq!(first, [2, 1, 1, 1]);
    assert_eq!(r.fleet.database.peak_connections, 5);
    assert!(poolsim::plot::fleet::database_png(&r).unwrap().starts_with(b"\x89PNG"));
    assert!(poolsim::plot::fleet::pods_png(&r).unwrap().starts_with(b"\x89PNG"));
}
