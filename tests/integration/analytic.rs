//! Hand-computed cases: small scenarios whose every number can be worked out
//! on paper, checked request by request.

use poolsim::result::Outcome;

use crate::common::{run, run_with_records, scenario, secs};

fn pool_scenario(max_size: u32, timeout: &str, hold: &str, workload: &str) -> String {
    format!(
        "name: t\npool: {{max_size: {max_size}, acquire_timeout: {timeout}}}\nrequest: {{hold: {hold}}}\nworkload:\n{workload}\n"
    )
}

#[test]
fn ten_at_once_on_five_connections_finish_at_one_and_two_seconds() {
    let s = scenario(&pool_scenario(5, "10s", "1s", "  - burst: {count: 10}"));
    let (r, recs) = run_with_records(&s, 1);
    let mut finish: Vec<f64> = recs.iter().map(|r| secs(r.finished)).collect();
    finish.sort_by(f64::total_cmp);
    assert_eq!(finish, vec![1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
    assert_eq!(r.summary.queue_depth_max, 5);
    assert_eq!(r.summary.pool_used_max, 5);
    assert_eq!(r.summary.requests.ok, 10);
    assert_eq!(r.timeline[0].db_pool_waiting_requests_max, 5);
    // The run ends with the last response, not when the cancelled 10 s timeouts would have fired.
    assert_eq!(r.summary.duration_s, 2.0);
}

#[test]
fn burst_of_fifty_waits_in_one_second_steps_and_never_times_out() {
    // The lab's Exercise 3: request k (in arrival order) waits floor(k / 5) s.
    let s = scenario(&pool_scenario(5, "10s", "1s", "  - burst: {count: 50}"));
    let (r, recs) = run_with_records(&s, 1);
    assert_eq!(recs.len(), 50);
    for rec in &recs {
        assert_eq!(rec.outcome, Outcome::Ok);
        assert_eq!(rec.wait.as_secs_f64(), (rec.id / 5) as f64, "request {}", rec.id);
        assert_eq!(secs(rec.finished), (rec.id / 5 + 1) as f64);
    }
    assert_eq!(r.summary.requests.timed_out, 0);
    assert_eq!(r.summary.acquire_wait_ms.max, 9000.0);
    assert_eq!(r.summary.queue_depth_max, 45);
    assert_eq!(r.summary.duration_s, 10.0);
}

#[test]
fn a_51st_request_times_out_at_exactly_ten_seconds() {
    // It would get a connection at 10 s, the instant its timeout fires; the timeout
    // was scheduled first (on arrival), so it runs first.
    let s = scenario(&pool_scenario(5, "10s", "1s", "  - burst: {count: 51}"));
    let (r, recs) = run_with_records(&s, 1);
    assert_eq!(r.summary.requests.timed_out, 1);
    let t = recs.iter().find(|r| r.outcome == Outcome::TimedOut).unwrap();
    assert_eq!((t.id, t.wait.as_secs_f64()), (50, 10.0));
}

#[test]
fn with_holds_of_1_2s_the_last_five_of_a_burst_of_fifty_time_out_at_ten_seconds() {
    // Batch k starts at 1.2 k s; batch 9 would start at 10.8 s > 10 s.
    let s = scenario(&pool_scenario(5, "10s", "1200ms", "  - burst: {count: 50}"));
    let (r, recs) = run_with_records(&s, 1);
    let timed_out: Vec<_> = recs.iter().filter(|r| r.outcome == Outcome::TimedOut).collect();
    assert_eq!(timed_out.len(), 5);
    for rec in timed_out {
        assert!(rec.id >= 45);
        assert_eq!(rec.wait.as_secs_f64(), 10.0);
        assert_eq!(secs(rec.finished), 10.0);
        assert_eq!(rec.acquired, None);
    }
    assert_eq!(r.summary.db_pool_exhaustion_total, 5);
    assert_eq!(r.summary.first_503_s, Some(10.0));
}

#[test]
fn overhead_adds_to_latency_but_not_to_the_hold() {
    let yaml = "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s, overhead: 100ms}\nworkload:\n  - burst: {count: 10}\n";
    let (r, recs) = run_with_records(&scenario(yaml), 1);
    let mut lat: Vec<f64> = recs.iter().map(|r| (r.finished - r.arrival).as_millis_f64()).collect();
    lat.sort_by(f64::total_cmp);
    assert_eq!(lat[0], 1100.0);
    assert_eq!(lat[9], 2100.0, "the second five wait 1 s, not 1.1 s");
    // Percentiles come from an HDR histogram with 3 significant digits.
    assert!((r.summary.latency_ms.p50 - 1100.0).abs() <= 1.1, "{}", r.summary.latency_ms.p50);
    assert_eq!(r.summary.latency_ms.max, 2100.0);
}

#[test]
fn sequential_requests_follow_each_other() {
    let yaml = "name: t\npool: {max_size: 5}\nrequest: {hold: 1s, overhead: 100ms}\nworkload:\n  - sequential: {at: 3s, count: 5}\n";
    let (_, recs) = run_with_records(&scenario(yaml), 1);
    let arrivals: Vec<f64> = recs.iter().map(|r| secs(r.arrival)).collect();
    assert_eq!(arrivals, vec![3.0, 4.1, 5.2, 6.3, 7.4]);
    assert!(recs.iter().all(|r| r.wait.as_nanos() == 0));
}

#[test]
fn one_connection_two_requests_and_a_short_timeout_give_one_timeout_at_the_timeout() {
    let s = scenario(&pool_scenario(1, "300ms", "1s", "  - burst: {count: 2}"));
    let (r, recs) = run_with_records(&s, 1);
    assert_eq!(r.summary.requests.timed_out, 1);
    let t = recs.iter().find(|r| r.outcome == Outcome::TimedOut).unwrap();
    assert_eq!((secs(t.finished), t.wait.as_millis_f64()), (0.3, 300.0));
}

#[test]
fn constant_arrivals_below_capacity_never_wait_and_above_it_queue_grows() {
    // Every 10 ms, 25 ms holds: 2.5 connections busy on average, at most 3 at once.
    let w = "  - open: {rate: 100/s, process: constant, until: 10s}";
    let (r, _) = run_with_records(&scenario(&pool_scenario(3, "10s", "25ms", w)), 1);
    assert_eq!(r.summary.queue_depth_max, 0);
    assert_eq!(r.summary.pool_used_max, 3);
    assert_eq!(r.summary.requests.ok, 1000);
    // Pool of 2: capacity 80/s against 100/s: the queue grows by 20 per second.
    let (r2, recs) = run_with_records(&scenario(&pool_scenario(2, "10s", "25ms", w)), 1);
    assert_eq!(r2.summary.requests.timed_out, 0);
    let last = recs.iter().map(|r| r.wait.as_secs_f64()).fold(0.0, f64::max);
    // Each connection works back to back from the start: connection A serves the
    // even requests at 25 ms * k/2, connection B the odd ones 10 ms later. The last
    // arrival (request 999 at 9.99 s) starts at 10 ms + 25 ms * 499 = 12.485 s.
    assert!((last - 2.495).abs() < 1e-9, "{last}");
    assert!(r2.timeline[9].db_pool_waiting_requests_max >= 190);
}

#[test]
fn zero_timeout_refuses_at_once_when_the_pool_is_full() {
    let s = scenario(&pool_scenario(2, "0s", "1s", "  - burst: {count: 5}"));
    let (r, recs) = run_with_records(&s, 1);
    assert_eq!((r.summary.requests.ok, r.summary.requests.timed_out), (2, 3));
    assert_eq!(r.summary.queue_depth_max, 0);
    assert!(recs.iter().filter(|r| r.outcome == Outcome::TimedOut).all(|r| secs(r.finished) == 0.0));
}

#[test]
fn growing_the_pool_mid_run_serves_waiters_at_once() {
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: 1m}\nrequest: {hold: 10s}\nworkload:\n  - burst: {count: 4}\nevents:\n  - {at: 2s, set: {pool.max_size: 4}}\n";
    let (r, recs) = run_with_records(&scenario(yaml), 1);
    let mut starts: Vec<f64> = recs.iter().map(|r| secs(r.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts, vec![0.0, 2.0, 2.0, 2.0]);
    assert_eq!(r.timeline[2].db_pool_max_size, 4);
}

#[test]
fn shrinking_the_pool_takes_effect_as_connections_return() {
    let yaml = "name: t\npool: {max_size: 4, acquire_timeout: 1m}\nrequest: {hold: 10s}\nworkload:\n  - burst: {count: 8}\nevents:\n  - {at: 1s, set: {pool.max_size: 1}}\n";
    let (_, recs) = run_with_records(&scenario(yaml), 1);
    let mut starts: Vec<f64> = recs.iter().map(|r| secs(r.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    // Four start at 0; after the shrink only one connection is in use at a time.
    assert_eq!(starts, vec![0.0, 0.0, 0.0, 0.0, 10.0, 20.0, 30.0, 40.0]);
}

#[test]
fn a_shortened_acquire_timeout_applies_to_later_waiters_first() {
    // One connection held for a minute. Two waiters at 0 s keep their 10 s
    // timeout; after the change to 2 s, a waiter arriving at 1.5 s gives up at
    // 3.5 s, before them (the pool's one timer must find it behind them).
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: 10s}\nrequest: {hold: 1m}\nworkload:\n  - burst: {count: 3}\n  - burst: {at: 1500ms, count: 1}\nevents:\n  - {at: 1s, set: {pool.acquire_timeout: 2s}}\n";
    let (r, recs) = run_with_records(&scenario(yaml), 1);
    // In the order the run answered them (the clock never goes back).
    let gave_up: Vec<(f64, f64)> =
        recs.iter().filter(|r| r.outcome == Outcome::TimedOut).map(|r| (secs(r.arrival), secs(r.finished))).collect();
    assert_eq!(gave_up, vec![(1.5, 3.5), (0.0, 10.0), (0.0, 10.0)]);
    assert_eq!(r.summary.requests.ok, 1);
}

#[test]
fn a_lengthened_acquire_timeout_keeps_earlier_waiters_on_theirs() {
    // The reverse: waiters at 0 s keep 2 s; one at 1.5 s gets the new 10 s.
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: 2s}\nrequest: {hold: 1m}\nworkload:\n  - burst: {count: 3}\n  - burst: {at: 1500ms, count: 1}\nevents:\n  - {at: 1s, set: {pool.acquire_timeout: 10s}}\n";
    let (_, recs) = run_with_records(&scenario(yaml), 1);
    let gave_up: Vec<f64> = recs.iter().filter(|r| r.outcome == Outcome::TimedOut).map(|r| secs(r.finished)).collect();
    assert_eq!(gave_up, vec![2.0, 2.0, 11.5]);
}

#[test]
fn hold_change_applies_to_requests_that_acquire_after_it() {
    // The lab's POST /admin/config: waiting requests use the new work time.
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: 1m}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 3}\nevents:\n  - {at: 500ms, set: {request.hold: 100ms}}\n";
    let (_, recs) = run_with_records(&scenario(yaml), 1);
    let finish: Vec<f64> = recs.iter().map(|r| secs(r.finished)).collect();
    assert_eq!(finish, vec![1.0, 1.1, 1.2]);
}

#[test]
fn closed_loop_users_settle_at_the_littles_law_wait() {
    // 50 users, 5 connections, 1 s hold + 100 ms overhead, no think time:
    // throughput 5/s, so a cycle takes 50 / 5 = 10 s and the wait is 8.9 s.
    let yaml = "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s, overhead: 100ms}\nworkload:\n  - users: {stages: [{duration: 0s, target: 50}, {duration: 2m, target: 50}]}\n";
    let (r, recs) = run_with_records(&scenario(yaml), 1);
    let late: Vec<f64> = recs.iter().filter(|r| secs(r.arrival) > 60.0).map(|r| r.wait.as_secs_f64()).collect();
    assert!(!late.is_empty());
    assert!(late.iter().all(|w| (w - 8.9).abs() < 1e-9), "{:?}", &late[..5]);
    assert_eq!(r.summary.requests.timed_out, 0);
}

#[test]
fn a_pool_that_can_never_catch_up_is_stopped_with_a_clear_error() {
    // 1000/s into one connection that never times out: the queue only grows.
    let yaml = "name: t\npool: {max_size: 1, acquire_timeout: never}\nrequest: {hold: 1s}\nworkload:\n  - open: {rate: 1000/s, until: 1h}\n";
    let s = scenario(yaml);
    let mut opts = poolsim::RunOptions::seed(1);
    opts.max_in_flight = 5_000;
    let err = poolsim::Simulation::new(&s, 1).run(opts).unwrap_err().to_string();
    assert!(err.contains("more than 5000 requests in flight"), "{err}");
}

#[test]
fn rate_ramps_deliver_the_integral_of_the_rate() {
    // 0 -> 100/s over 10 s then 100/s for 10 s: 500 + 1000 arrivals with even spacing.
    let yaml = "name: t\npool: {max_size: 1000}\nrequest: {hold: 1ms}\nworkload:\n  - open: {process: constant, start_rate: 0/s, stages: [{duration: 10s, target: 100/s}, {duration: 10s, target: 100/s}], until: 20s}\n";
    let (r, _) = run_with_records(&scenario(yaml), 1);
    let n = r.summary.requests.total as i64;
    assert!((n - 1500).abs() <= 1, "{n}");
}

#[test]
fn warmup_leaves_early_requests_out_of_the_summary_but_not_the_timeline() {
    // Ten requests at 0 on a pool of 5 (five wait 1 s), one at 5 s; warm-up 3 s.
    let yaml = "name: t\nwarmup: 3s\npool: {max_size: 5}\nrequest: {hold: 1s}\n\
                workload:\n  - burst: {count: 10}\n  - burst: {at: 5s, count: 1}\n";
    let r = run(&scenario(yaml), 1);
    assert_eq!(r.summary.requests.total, 1);
    assert_eq!(r.summary.acquire_wait_ms.max, 0.0);
    assert_eq!(r.summary.queue_depth_max, 0, "peaks start at the warm-up");
    assert_eq!(r.timeline.iter().map(|b| b.arrivals).sum::<u64>(), 11);
    assert_eq!(r.summary.warmup_s, 3.0);
}

#[test]
fn peaks_from_the_warm_up_count_what_is_in_use_and_waiting_at_the_warm_up_instant() {
    // Eight requests at 0 on a pool of 5 holding 30 s: 5 in use and 3 waiting
    // from 0 s to the 20 s end, nothing changing after the 10 s warm-up.
    let yaml = "name: t\nduration: 20s\nwarmup: 10s\npool: {max_size: 5, acquire_timeout: 1m}\n\
                request: {hold: 30s}\nworkload:\n  - burst: {count: 8}\n";
    let r = run(&scenario(yaml), 1);
    assert_eq!((r.summary.pool_used_max, r.summary.queue_depth_max), (5, 3));
    // Without a database limit connections open as they are first needed: 5.
    assert_eq!(r.fleet.database.peak_connections, 5);
    assert!(r.timeline.iter().all(|b| b.db_pool_used_size_max == 5 && b.db_connections_open == 5));
}

#[test]
fn the_first_503_after_a_warm_up_is_the_first_of_a_counted_request() {
    // One connection held from 0 to 10 s. The second request of 0 s gives up
    // at 1 s, in the 5 s warm-up; the two of 6 s give up at 7 s: the 503s
    // the summary counts, and the first of them.
    let yaml = "name: t\nwarmup: 5s\npool: {max_size: 1, acquire_timeout: 1s}\nrequest: {hold: 10s}\n\
                workload:\n  - burst: {count: 2}\n  - burst: {at: 6s, count: 2}\n";
    let r = run(&scenario(yaml), 1);
    assert_eq!((r.summary.requests.timed_out, r.summary.first_503_s), (2, Some(7.0)));
}

#[test]
fn requests_in_flight_at_the_end_are_unfinished_only_if_they_arrived_after_the_warm_up() {
    // Two requests holding 1 min each, one from 0 s (in the 5 s warm-up), one
    // from 6 s: both still hold at the 20 s end; the summary counts one.
    let yaml = "name: t\nduration: 20s\nwarmup: 5s\npool: {max_size: 2}\nrequest: {hold: 1m}\n\
                workload:\n  - burst: {count: 1}\n  - burst: {at: 6s, count: 1}\n";
    let q = run(&scenario(yaml), 1).summary.requests;
    assert_eq!((q.total, q.unfinished), (1, 1));
    assert_eq!(q.total, q.ok + q.timed_out + q.failed + q.unfinished);
}

#[test]
fn closed_loop_throughput_after_a_warm_up_is_per_second_of_the_observed_span() {
    // The lab's 50 users on 5 connections (1 s hold, 100 ms overhead): holds
    // start 5 at a time on every whole second, and a user whose response
    // left at j + 1.1 s sends again at once, waits 8.9 s behind the 45 others,
    // holds from j + 10 s and is answered at j + 11.1 s. Counted (sent from
    // the 60 s warm-up on) and answered before the 120 s end: j = 59 ..= 108,
    // 5 each, 250 responses in the 60 s observed, not in the 120 s run.
    let yaml = "name: t\nduration: 2m\nwarmup: 1m\npool: {max_size: 5, acquire_timeout: 10s}\n\
                request: {hold: 1s, overhead: 100ms}\n\
                workload:\n  - users: {stages: [{duration: 0s, target: 50}, {duration: 3m, target: 50}]}\n";
    let r = run(&scenario(yaml), 1);
    assert_eq!(r.summary.requests.ok, 250);
    assert_eq!(r.summary.throughput_ok_per_s, 250.0 / 60.0);
}

#[test]
fn the_timeline_adds_up_to_the_summary_when_the_run_ends_on_a_bucket_boundary() {
    // The last 503s leave at exactly 10 s, the end of the run and the start of a bucket.
    let yaml =
        "name: t\npool: {max_size: 5, acquire_timeout: 10s}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 100}\n";
    let r = run(&scenario(yaml), 1);
    let q = &r.summary.requests;
    assert_eq!((q.ok, q.timed_out), (50, 50));
    assert_eq!(r.timeline.iter().map(|b| b.ok).sum::<u64>(), q.ok);
    assert_eq!(r.timeline.iter().map(|b| b.timed_out).sum::<u64>(), q.timed_out);
}
