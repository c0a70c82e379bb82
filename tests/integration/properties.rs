//! Property tests over random small scenarios: the invariants every run keeps.

use poolsim::result::Outcome;
use proptest::prelude::*;

use crate::common::{run_with_records, scenario};

fn arb_scenario() -> impl Strategy<Value = (String, u64, u64, u32)> {
    (
        1u32..8,                                   // pool size
        prop_oneof![Just(0u64), 1u64..3000],       // acquire timeout, ms
        prop_oneof![
            (1u64..2000).prop_map(|ms| format!("{ms}ms")),
            (1u64..2000).prop_map(|ms| format!("{{dist: exponential, mean: {ms}ms}}")),
            (1u64..500, 1u64..500).prop_map(|(a, b)| format!("{{dist: uniform, min: {}ms, max: {}ms}}", a.min(b), a.max(b))),
        ],
        1u32..60,                                  // rate per second
        0u64..40,                                  // burst size
        1u64..5,                                   // pool size after a change
        any::<u64>(),                              // seed
    )
        .prop_map(|(size, timeout, hold, rate, burst, new_size, seed)| {
            let yaml = format!(
                "name: prop\nduration: 20s\npool: {{max_size: {size}, acquire_timeout: {timeout}ms}}\nrequest: {{hold: {hold}, overhead: 5ms}}\nworkload:\n  - open: {{rate: {rate}/s, until: 15s}}\n  - burst: {{at: 3s, count: {}}}\nevents:\n  - {{at: 8s, set: {{pool.max_size: {new_size}}}}}\n",
                burst.max(1)
            );
            (yaml, timeout, seed, size.max(new_size as u32))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn run_invariants_hold((yaml, timeout_ms, seed, bound) in arb_scenario()) {
        let s = scenario(&yaml);
        let (r, recs) = run_with_records(&s, seed);
        let q = &r.summary.requests;
        // Every request is accounted for exactly once.
        prop_assert_eq!(q.total, q.ok + q.timed_out + q.failed + q.unfinished);
        prop_assert_eq!(recs.len() as u64, q.ok + q.timed_out + q.failed);
        // Connections in use never exceed the largest pool size in force (after a
        // shrink, connections above the new size close as they are released).
        for b in &r.timeline {
            prop_assert!(b.db_pool_used_size_max <= bound, "{:?}", b);
            prop_assert!(b.db_pool_used_size_mean <= b.db_pool_used_size_max as f64 + 1e-9);
        }
        prop_assert!(r.summary.pool_used_max <= bound);
        // A timed-out request waited exactly its timeout; a served one at most that.
        for rec in &recs {
            match rec.outcome {
                Outcome::TimedOut => prop_assert_eq!(rec.wait.as_nanos(), timeout_ms * 1_000_000),
                _ => prop_assert!(rec.wait.as_nanos() <= timeout_ms * 1_000_000),
            }
            prop_assert!(rec.finished >= rec.arrival);
        }
    }

    #[test]
    fn connections_in_use_never_exceed_the_size_in_force(size in 1u32..6, burst in 1u64..50, seed in any::<u64>()) {
        let yaml = format!("name: p\npool: {{max_size: {size}, acquire_timeout: 1m}}\nrequest: {{hold: {{dist: exponential, mean: 1s}}}}\nworkload:\n  - burst: {{count: {burst}}}\n  - open: {{rate: 3/s, until: 30s}}\ntimeline: {{bucket: 100ms}}\n");
        let (r, _) = run_with_records(&scenario(&yaml), seed);
        for b in &r.timeline {
            prop_assert!(b.db_pool_used_size_max <= size);
            prop_assert!(b.db_pool_free_size_min <= size);
            prop_assert!(b.db_pool_waiting_requests_max == 0 || b.db_pool_free_size_min == 0,
                "requests waited while a connection was free: {:?}", b);
        }
    }
}
