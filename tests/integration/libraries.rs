//! Library behaviours (`pool.library:` presets and the keys they set) and the
//! pooler, each against a hand count, with the connection accounting audited
//! after every event (`Simulation::with_audit`).

use poolsim::result::{Outcome, RequestRecord, RunResult};
use poolsim::{RunOptions, Simulation};

use crate::common::{Collect, scenario, secs};

/// Runs with the accounting audit on; the requests come back sorted by id.
fn audited(yaml: &str) -> (RunResult, Vec<RequestRecord>) {
    let s = scenario(yaml);
    let mut sink = Collect::default();
    let mut opts = RunOptions::seed(s.seed);
    opts.sink = Some(&mut sink);
    let r = Simulation::new(&s, s.seed).with_audit().run(opts).unwrap_or_else(|e| panic!("{e}"));
    let mut recs = sink.0;
    recs.sort_by_key(|x| x.id);
    (r, recs)
}

fn ms(t: poolsim::engine::SimTime) -> f64 {
    (secs(t) * 1e6).round() / 1e3
}

/// When each request got its connection, in ms, by id (`None`: it never did).
fn acquired_ms(recs: &[RequestRecord]) -> Vec<Option<f64>> {
    recs.iter().map(|x| x.acquired.map(ms)).collect()
}

/// 2 workers, each with a pool of 2, against a database with 3 usable slots;
/// 6 requests of 1 s at once, round robin: worker 0 gets requests 0, 2, 4 and
/// worker 1 gets 1, 3, 5. Opens take 10 ms, and so do refusals.
fn refusals(pool: &str, database: &str) -> String {
    format!(
        "name: t\nduration: 10s\ndatabase: {{max_connections: 3, reserved_connections: 0, connect_time: 10ms{database}}}\n\
         fleet: {{pods: 1, workers_per_pod: 2}}\n\
         pools: [{{name: app, max_size: 2, min_idle: 0, acquire_timeout: 10s, {pool}}}]\n\
         classes: [{{name: r, hold: 1s}}]\nworkload:\n  - burst: {{count: 6}}\n"
    )
}

#[test]
fn node_postgres_fails_every_waiter_while_the_database_is_full() {
    // Requests 0, 2 (worker 0) and 1 (worker 1) take the three slots. Request
    // 3 finds room in worker 1's pool and opens: refused, it fails at 10 ms.
    // Request 5 found that pool full (one open, one refusing) and waited: the
    // refusal makes the pool open for it, refused too, failing at 20 ms.
    // Request 4 waits in worker 0's pool for the release at 1.01 s.
    let (r, recs) = audited(&refusals("library: node-postgres", ", refuse_time: 10ms"));
    let failed: Vec<(u64, f64)> =
        recs.iter().filter(|x| x.outcome == Outcome::Refused).map(|x| (x.id, ms(x.finished))).collect();
    assert_eq!(failed, [(3, 10.0), (5, 20.0)]);
    assert_eq!(acquired_ms(&recs), [Some(10.0), Some(10.0), Some(10.0), None, Some(1010.0), None]);
    assert_eq!(r.fleet.database.refusals, 2);
    // asyncpg puts a refused holder back in its queue, where the next waiter
    // takes it and connects: the same count.
    let (_, asyncpg) = audited(&refusals("library: asyncpg", ", refuse_time: 10ms"));
    assert_eq!(acquired_ms(&asyncpg), acquired_ms(&recs));
}

#[test]
fn sqlalchemy_fails_only_the_checkout_that_opened() {
    // The same, but request 5's waiting thread never opens: only request 3
    // fails; 5 gets the connection request 1 returns at 1.01 s, woken 0.1 ms
    // later (SQLAlchemy's hand-off wakes the waiting thread).
    let (r, recs) = audited(&refusals("library: sqlalchemy, max_overflow: 0", ", refuse_time: 10ms"));
    let failed: Vec<u64> = recs.iter().filter(|x| x.outcome == Outcome::Refused).map(|x| x.id).collect();
    assert_eq!(failed, [3]);
    assert_eq!(acquired_ms(&recs), [Some(10.0), Some(10.0), Some(10.0), None, Some(1010.1), Some(1010.1)]);
    assert_eq!(r.fleet.database.refusals, 1);
    // Refusals at once (refuse_time 0): request 5 finds the pool with room
    // after 3's refusal and opens in turn, as with node-postgres.
    let (_, instant) = audited(&refusals("library: sqlalchemy, max_overflow: 0", ""));
    assert_eq!(instant.iter().filter(|x| x.outcome == Outcome::Refused).count(), 2);
}

#[test]
fn psycopg_keeps_waiters_waiting_and_retries_after_1_then_2_seconds() {
    // One open at a time per pool, so each pool first opens one connection
    // (10 ms). Worker 0's second open (at 10 ms) takes the last slot; worker
    // 1's, just after, is refused: its waiters keep waiting and the pool tries
    // again 1 s later (1.01 s: still full), then 2 s after that (3.01 s: full,
    // and request 5 still waits until 4.01 s), then 4 s later nobody needs one.
    // Holds of 2 s: worker 1 serves 1, 3, 5 one after another.
    let yaml = refusals("library: psycopg, reconnect_jitter: 0", "").replace("hold: 1s", "hold: 2s");
    let (r, recs) = audited(&yaml.replace("name: t\n", "name: t\ntimeline: {bucket: 10ms}\n"));
    assert!(recs.iter().all(|x| x.outcome == Outcome::Ok));
    assert_eq!(acquired_ms(&recs), [Some(10.0), Some(10.0), Some(20.0), Some(2010.0), Some(2010.0), Some(4010.0)]);
    let refused_at: Vec<f64> = r.timeline.iter().filter(|b| b.db_refusals > 0).map(|b| (b.t_s * 1e3).round()).collect();
    assert_eq!(refused_at, [10.0, 1010.0, 3010.0]);
}

#[test]
fn hikaricp_retries_after_250_ms_then_1_5_times_longer() {
    // As psycopg above, with HikariCP's backoff: 250 ms, 375 ms, 562.5 ms,
    // 843.75 ms, 1,265.625 ms after each refusal, while a thread waits; each
    // returned connection reaches its waiter 0.1 ms later (its wake-up).
    let yaml = refusals("library: hikaricp", "").replace("hold: 1s", "hold: 2s");
    let (r, recs) = audited(&yaml.replace("name: t\n", "name: t\ntimeline: {bucket: 1ms}\n"));
    assert!(recs.iter().all(|x| x.outcome == Outcome::Ok));
    assert_eq!(acquired_ms(&recs)[3..], [Some(2010.1), Some(2010.1), Some(4010.2)]);
    let refused_at: Vec<f64> = r.timeline.iter().filter(|b| b.db_refusals > 0).map(|b| (b.t_s * 1e3).round()).collect();
    // 10, 260, 635, 1197.5, 2041.25, 3306.875 ms (bucketed to the ms); the
    // next try, at 5,205 ms, finds nobody waiting.
    assert_eq!(refused_at, [10.0, 260.0, 635.0, 1197.0, 2041.0, 3306.0]);
}

#[test]
fn a_pool_that_opens_one_at_a_time_has_its_k_th_connection_at_k_connect_times() {
    let base = "name: t\ndatabase: {max_connections: 100, connect_time: 10ms}\n\
                pool: {max_size: 5, acquire_timeout: 10s OPEN}\nrequest: {hold: 1s}\nworkload:\n  - burst: {count: 5}\n";
    let (_, one) = audited(&base.replace(" OPEN", ", open_concurrency: 1"));
    assert_eq!(acquired_ms(&one), [Some(10.0), Some(20.0), Some(30.0), Some(40.0), Some(50.0)]);
    let (_, many) = audited(&base.replace(" OPEN", ""));
    assert!(acquired_ms(&many).iter().all(|a| *a == Some(10.0)));
    // min_idle is filled the same way, before any request (psycopg_pool's min_size).
    let filled = "name: t\nduration: 1s\ntimeline: {bucket: 10ms}\ndatabase: {max_connections: 100, connect_time: 10ms}\n\
                  pool: {max_size: 5, min_idle: 4, open_concurrency: 1}\nrequest: {hold: 1s}\n\
                  workload:\n  - burst: {at: 500ms, count: 1}\n";
    let (r, _) = audited(filled);
    let open: Vec<u32> = r.timeline.iter().take(6).map(|b| b.db_connections_open).collect();
    // The open under way counts at the database: 1 during [0, 10) ms, ... 4 from 30 ms on.
    assert_eq!(open, [1, 2, 3, 4, 4, 4]);
}

#[test]
fn lifo_reuse_lets_the_idle_timeout_close_what_fifo_reuse_keeps_warm() {
    // Three connections become idle at 100 ms; then one request every 500 ms
    // (100 ms each). LIFO reuses the same connection and the other two idle
    // past the 1.5 s idle timeout; FIFO rotates through all three, none idle
    // that long.
    let base = "name: t\nduration: 5s\npool: {max_size: 3, idle_timeout: 1500ms REUSE}\nrequest: {hold: 100ms}\n\
                workload:\n  - burst: {count: 3}\n  - open: {rate: 2/s, process: constant, from: 500ms, until: 5s}\n";
    let (lifo, _) = audited(&base.replace(" REUSE", ""));
    let (fifo, _) = audited(&base.replace(" REUSE", ", reuse: fifo"));
    assert_eq!(lifo.fleet.pools[0].connections_closed, 2);
    assert_eq!(fifo.fleet.pools[0].connections_closed, 0);
    assert_eq!(lifo.summary.requests.ok, fifo.summary.requests.ok);
}

#[test]
fn a_woken_waiter_is_overtaken_by_a_request_that_asks_at_once() {
    // Pool of 1: a loop (sequential, 10 x 50 ms) and 5 requests arriving at
    // 10, 12, ..., 18 ms. With a direct hand-off the loop's second request
    // queues behind the five. With `handoff: wake_up` the loop asks again the
    // instant it releases, before the woken waiter runs, and keeps the
    // connection for its 10 rounds; each robbed waiter waits again at the
    // back, so they are served in the order 5th, 1st, 2nd, 3rd, 4th: what the
    // reality suite saw SQLAlchemy do (`sqla-barge`).
    let base = "name: t\npool: {max_size: 1, min_idle: 1, acquire_timeout: 10s HANDOFF}\nrequest: {hold: 50ms}\n\
                workload:\n  - sequential: {name: hog, count: 10}\n  - open: {name: w, rate: 500/s, process: constant, from: 10ms, until: 20ms}\n";
    let order = |yaml: &str| {
        let (_, recs) = audited(yaml);
        let mut by_start: Vec<(f64, u64, u16)> =
            recs.iter().map(|x| (ms(x.acquired.unwrap()), x.id, x.workload)).collect();
        by_start.sort_by(|a, b| a.0.total_cmp(&b.0));
        by_start.iter().map(|&(_, id, w)| if w == 0 { "h".to_string() } else { format!("w{id}") }).collect::<Vec<_>>()
    };
    // The loop's requests get ids 0, 6, 7, ...; the waiters 1 to 5.
    let direct = order(&base.replace(" HANDOFF", ""));
    assert_eq!(direct[..7], ["h", "w1", "w2", "w3", "w4", "w5", "h"]);
    let woken = order(&base.replace(" HANDOFF", ", handoff: wake_up, wake_up_time: 100us"));
    assert!(woken[..10].iter().all(|x| x == "h"), "{woken:?}");
    assert_eq!(woken[10..], ["w5", "w1", "w2", "w3", "w4"]);
}

#[test]
fn sqlalchemy_keeps_overflow_connections_until_pool_size_are_idle() {
    // Pool 1 + overflow 2: a 3 s request and two 1 s ones at 0, then one at
    // 2 s. At 1 s the two short ones come back: poolsim's default closes both
    // overflow connections (more than max_size open, nobody waiting); SQLAlchemy
    // closes only the one that would make max_size + 1 idle. The request at
    // 2 s then finds an idle connection (3 opens in all) or opens one (4).
    let base = "name: t\nduration: 5s\npools: [{name: p, max_size: 1, max_overflow: 2, acquire_timeout: 1s CLOSE}]\n\
                classes: [{name: long, hold: 3s}, {name: short, hold: 1s}]\n\
                workload:\n  - burst: {count: 1, class: long}\n  - burst: {count: 2, class: short}\n  - burst: {at: 2s, count: 1, class: short}\n";
    let (default, _) = audited(&base.replace(" CLOSE", ""));
    let (sqla, _) = audited(&base.replace(" CLOSE", ", overflow_close: when_idle_full"));
    assert_eq!(default.fleet.pools[0].connections_opened, 4);
    assert_eq!(sqla.fleet.pools[0].connections_opened, 3);
}

/// Two app processes with pools of 10 (opened at the start), behind a pooler
/// in transaction mode with 5 server connections; 20 requests of 1 s at once.
fn pgbouncer(pooler: &str, pool: &str) -> String {
    format!(
        "name: t\ndatabase:\n  max_connections: 100\n  pooler: {{pool_mode: transaction, default_pool_size: 5{pooler}}}\n\
         fleet: {{pods: 1, workers_per_pod: 2}}\n\
         pools: [{{name: app, max_size: 10, min_idle: 10, acquire_timeout: 30s{pool}}}]\n\
         classes: [{{name: r, hold: 1s}}]\nworkload:\n  - burst: {{count: 20}}\n"
    )
}

#[test]
fn a_pooler_serves_every_pool_s_transactions_in_batches_of_its_server_pool() {
    // Every request gets its app connection at once, then queues at the
    // pooler, first come first served across both apps: batches at 0, 1, 2, 3 s.
    let (r, recs) = audited(&pgbouncer(", query_wait_timeout: 10s", ""));
    let mut starts: Vec<f64> = recs.iter().map(|x| ms(x.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    let expect: Vec<f64> = (0..20).map(|i| f64::from(i / 5) * 1000.0).collect();
    assert_eq!(starts, expect);
    assert!(recs.iter().all(|x| x.outcome == Outcome::Ok && ms(x.finished) == ms(x.acquired.unwrap()) + 1000.0));
    let p = r.fleet.pooler.as_ref().unwrap();
    assert_eq!((p.peak_server_connections, p.peak_clients_waiting, p.peak_client_connections), (5, 15, 20));
    assert_eq!(r.fleet.database.peak_connections, 5, "only server connections reach the database");
    // summary.json's `pooler` block.
    let v = poolsim::output::json::summary_value(&r);
    assert_eq!(v["pooler"]["pool_mode"], "transaction");
    assert_eq!(v["pooler"]["peak_clients_waiting"], 15);
}

#[test]
fn queries_that_wait_past_query_wait_timeout_fail_at_exactly_that_time() {
    // query_wait_timeout 2.5 s: the batches at 0, 1 and 2 s run; the last five
    // queries, still waiting at 2.5 s, fail then and their clients are
    // disconnected (the app connections close).
    let (r, recs) = audited(&pgbouncer(", query_wait_timeout: 2500ms", ""));
    let failed: Vec<f64> = recs.iter().filter(|x| x.outcome == Outcome::Terminated).map(|x| ms(x.finished)).collect();
    assert_eq!(failed, [2500.0; 5]);
    assert_eq!(r.summary.requests.ok, 15);
    let p = r.fleet.pooler.as_ref().unwrap();
    assert_eq!(p.query_wait_timeouts, 5);
    assert_eq!(r.fleet.pools[0].connections_closed, 5);
}

#[test]
fn a_reset_query_on_release_queues_behind_the_waiting_queries() {
    // asyncpg's reset query is one more transaction: each request that is done
    // at 1, 2 or 3 s queues its reset behind the queries still waiting, so
    // every response leaves after the last query, at 4 s (the reality suite's
    // `pgbouncer` case).
    let (_, recs) = audited(&pgbouncer(", query_wait_timeout: 10s", ", reset_on_release: 0s"));
    let mut starts: Vec<f64> = recs.iter().map(|x| ms(x.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts[19], 3000.0);
    assert!(recs.iter().all(|x| ms(x.finished) == 4000.0), "{recs:?}");
}

#[test]
fn the_reserve_pool_opens_once_a_client_has_waited_reserve_pool_timeout() {
    // Pool 2 + reserve 1 after 500 ms: 4 queries of 1 s at once start at 0, 0,
    // 0.5 (the reserve) and 1 s.
    let yaml = "name: t\ndatabase:\n  max_connections: 100\n  pooler: {pool_mode: transaction, default_pool_size: 2, \
                reserve_pool_size: 1, reserve_pool_timeout: 500ms}\npool: {max_size: 4}\nrequest: {hold: 1s}\n\
                workload:\n  - burst: {count: 4}\n";
    let (r, recs) = audited(yaml);
    let mut starts: Vec<f64> = recs.iter().map(|x| ms(x.acquired.unwrap())).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts, [0.0, 0.0, 500.0, 1000.0]);
    assert_eq!(r.fleet.pooler.as_ref().unwrap().peak_server_connections, 3);
}

#[test]
fn server_connections_open_one_at_a_time_and_clients_beyond_max_client_conn_are_refused() {
    // Connect time 10 ms: the pooler's five servers are ready at 10, 20, ...
    // 50 ms. max_client_conn 8: of the 10 app connections the burst asks
    // for, 2 are refused (node-postgres: those requests fail).
    let yaml = "name: t\ndatabase:\n  max_connections: 100\n  connect_time: 10ms\n  pooler: {pool_mode: transaction, \
                default_pool_size: 5, max_client_conn: 8}\nfleet: {pods: 1, workers_per_pod: 2}\n\
                pools: [{name: app, max_size: 5, acquire_timeout: 30s}]\nclasses: [{name: r, hold: 1s}]\n\
                workload:\n  - burst: {count: 10}\n";
    let (r, recs) = audited(yaml);
    assert_eq!(recs.iter().filter(|x| x.outcome == Outcome::Refused).count(), 2);
    let mut starts: Vec<f64> = recs.iter().filter_map(|x| x.acquired.map(ms)).collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts[..5], [10.0, 20.0, 30.0, 40.0, 50.0]);
    let p = r.fleet.pooler.as_ref().unwrap();
    assert_eq!((p.clients_refused, p.peak_client_connections, p.server_connections_opened), (2, 8, 5));
    assert_eq!(r.fleet.database.refusals, 0, "a pooler's refusal is not the database's");
}

#[test]
fn every_preset_runs_a_loaded_fleet_with_its_accounting_intact() {
    // Poisson traffic over 3 workers against a database that refuses, for
    // each preset, with and without refusal time and a pooler: the audit
    // checks the accounting after every event.
    for lib in ["asyncpg", "sqlalchemy", "node-postgres", "psycopg", "hikaricp"] {
        for db in ["", "\n  refuse_time: {dist: uniform, min: 1ms, max: 20ms}"] {
            for pooler in ["", "\n  pooler: {pool_mode: transaction, default_pool_size: 6, query_wait_timeout: 300ms}"]
            {
                let yaml = format!(
                    "name: t\nduration: 20s\ndatabase:\n  max_connections: 12\n  reserved_connections: 0\n  connect_time: {{dist: exponential, mean: 5ms}}{db}{pooler}\nfleet: {{pods: 1, workers_per_pod: 3}}\n\
                     pools: [{{name: app, library: {lib}, max_size: 6, min_idle: 2, acquire_timeout: 500ms, idle_timeout: 1s}}]\n\
                     classes: [{{name: r, hold: {{dist: exponential, mean: 60ms}}}}]\n\
                     workload:\n  - open: {{rate: 100/s, until: 20s}}\n"
                );
                let (r, _) = audited(&yaml);
                let q = &r.summary.requests;
                assert_eq!(q.total, q.ok + q.timed_out + q.failed + q.unfinished, "{lib}{db}{pooler}");
            }
        }
    }
}

#[test]
fn the_retry_jitter_draws_from_its_own_stream() {
    // psycopg_pool's first wait is jittered (+-10 %): the same seed gives the
    // same run, and the jitter moves no other draw (the arrivals and holds of
    // a Poisson workload are the same with and without it).
    let yaml = |jitter: &str| {
        format!(
            "name: t\nseed: 7\nduration: 30s\ndatabase: {{max_connections: 4, reserved_connections: 0, connect_time: 5ms}}\n\
             fleet: {{pods: 1, workers_per_pod: 2}}\n\
             pools: [{{name: app, library: psycopg, max_size: 3, min_idle: 0, acquire_timeout: 5s, reconnect_jitter: {jitter}}}]\n\
             classes: [{{name: r, hold: {{dist: exponential, mean: 200ms}}}}]\nworkload:\n  - open: {{rate: 15/s, until: 30s}}\n"
        )
    };
    let (a, ra) = audited(&yaml("10%"));
    let (b, rb) = audited(&yaml("10%"));
    assert_eq!(a.summary, b.summary);
    assert_eq!(
        ra.iter().map(|x| (x.id, x.finished)).collect::<Vec<_>>(),
        rb.iter().map(|x| (x.id, x.finished)).collect::<Vec<_>>()
    );
    assert!(a.fleet.database.refusals > 0, "the database refuses, so the pool retries");
    let (_, rc) = audited(&yaml("0"));
    let arrivals = |r: &[RequestRecord]| r.iter().map(|x| x.arrival).collect::<Vec<_>>();
    assert_eq!(arrivals(&ra), arrivals(&rc));
}

/// The lab's asyncpg pool (`min_size = max_size = 5`): its idle timeout (300 s) can
/// never close a connection, so a run without `duration` ends with its last
/// response (10.1 s for 50 at once), not 300 s later; a node-postgres pool (min 0,
/// idle 10 s) does close its 5 connections 10 s after their last use, and the run
/// goes on until then.
#[test]
fn an_idle_timeout_that_can_close_nothing_does_not_hold_the_run_open() {
    let lab = |pool: &str| {
        format!(
            "name: t\npool: {{{pool}, acquire_timeout: 10s}}\nrequest: {{hold: 1s, overhead: 100ms}}\nworkload:\n  - burst: {{count: 50}}\n"
        )
    };
    let (r, _) = audited(&lab("library: asyncpg, max_size: 5, min_idle: 5"));
    assert_eq!(r.summary.duration_s, 10.1);
    assert_eq!(r.fleet.pools[0].connections_closed, 0);
    let (r, _) = audited(&lab("library: node-postgres, max_size: 5"));
    // The last 5 connections come back at 10 s and close at 20 s.
    assert_eq!(r.summary.duration_s, 20.0);
    assert_eq!(r.fleet.pools[0].connections_closed, 5);
}
