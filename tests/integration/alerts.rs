//! Alert rules over a run: firing times counted by hand from the lab's burst,
//! lead times before the first 503 (negative when late), the scraped series
//! held against the timeline of the same run, `sim check` expectations on
//! alerts, and rule files that are broken or outside the PromQL subset.

use poolsim::result::{AlertEpisode, Scrapes};

use crate::common::{repo, run, scenario, sim};

/// Lab 04's exercise 3 (50 at once on a pool of 5, 1 s of work, 100 ms of
/// overhead), run for 30 s, scraped and evaluated every second, with `rules`.
fn lab_burst(hold: &str, rules: &str) -> String {
    format!(
        "name: lab\nduration: 30s\npool: {{max_size: 5, acquire_timeout: 10s}}\nrequest: {{hold: {hold}, overhead: 100ms}}\n\
         workload:\n  - burst: {{count: 50}}\n\
         alerts:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  rules:\n{rules}"
    )
}

fn only_episode(a: &poolsim::result::Alerts, name: &str) -> AlertEpisode {
    let of: Vec<&AlertEpisode> = a.episodes.iter().filter(|e| e.alert == name).collect();
    assert_eq!(of.len(), 1, "{:?}", a.episodes);
    of[0].clone()
}

/// 45 wait at once; 5 are served each second, so in [k, k+1) s 45 - 5k wait, none
/// from 9 s on. A scrape at T sees the state just before T: 45 at 1 s, ..., 5 at
/// 9 s, 0 at 10 s (there is no scrape at 0). `waiting > 0` is true from the
/// evaluation at 1 s to the one at 9 s: pending at 1 s, firing at 4 s (active
/// for 3 s), resolved at 10 s. No 503, so no lead time.
#[test]
fn a_waiting_alert_fires_and_resolves_when_the_lab_burst_says() {
    let s = scenario(&lab_burst(
        "1s",
        "    - alert: PoolWaiting\n      expr: max(db_pool_waiting_requests) > 0\n      for: 3s\n",
    ));
    let r = run(&s, 1);
    let a = r.alerts.as_ref().unwrap();
    let e = only_episode(a, "PoolWaiting");
    assert_eq!((e.pending_s, e.firing_s, e.resolved_s), (1.0, Some(4.0), Some(10.0)));
    assert_eq!(e.value, 5.0, "the value at the last evaluation that returned it (9 s)");
    let f = &a.rules[0];
    assert_eq!((f.episodes, f.fired, f.first_firing_s, f.lead_time_s), (1, 1, Some(4.0), None));
    assert_eq!(f.firing_s, 6.0);
    // The annotations the figures draw.
    let marks: Vec<(f64, &str)> = r.annotations.iter().map(|m| (m.t_s, m.label.as_str())).collect();
    assert_eq!(marks, [(4.0, "PoolWaiting firing"), (10.0, "PoolWaiting resolved")]);
}

/// With 1.2 s of work the last 5 requests give up at exactly 10 s and their 503s
/// leave at 10.1 s. The scrape at 10 s still shows no timeout (it sees what came
/// before 10 s), the one at 11 s shows 5: the alert fires at 11 s, 0.9 s after
/// the first 503. A rule on waiting requests fires at 1 s, 9.1 s before it.
#[test]
fn lead_times_are_negative_for_alerts_that_fire_after_the_first_503() {
    let s = scenario(&lab_burst(
        "1200ms",
        "    - alert: Exhausted\n      expr: increase(db_pool_exhaustion_total[10s]) > 0\n\
         \x20   - alert: Waiting\n      expr: db_pool_waiting_requests > 0\n",
    ));
    let r = run(&s, 1);
    assert_eq!(r.summary.first_503_s, Some(10.1));
    let a = r.alerts.as_ref().unwrap();
    let exhausted = a.rules.iter().find(|f| f.alert == "Exhausted").unwrap();
    assert_eq!(exhausted.first_firing_s, Some(11.0));
    assert!((exhausted.lead_time_s.unwrap() + 0.9).abs() < 1e-9, "{exhausted:?}");
    let waiting = a.rules.iter().find(|f| f.alert == "Waiting").unwrap();
    assert_eq!(waiting.first_firing_s, Some(1.0));
    assert!((waiting.lead_time_s.unwrap() - 9.1).abs() < 1e-9, "{waiting:?}");
}

/// The scraped counters are the timeline's: with 1 s buckets and 1 s scrapes the
/// scrape at T holds what the buckets before T counted.
#[test]
fn scraped_series_agree_with_the_timeline_of_the_same_run() {
    let s = scenario(&lab_burst("1200ms", "    - alert: Any\n      expr: db_pool_used_size > 0\n"));
    let r = run(&s, 1);
    let sc: &Scrapes = r.scrapes.as_ref().unwrap();
    assert_eq!(sc.interval_ms, 1000);
    for (i, &t) in sc.times_ms.iter().enumerate() {
        let before: Vec<_> = r.timeline.iter().filter(|b| b.t_s * 1e3 < t as f64).collect();
        let f = &sc.fleet[i];
        assert_eq!(f.unavailable, before.iter().map(|b| b.timed_out).sum::<u64>(), "503s at {t} ms");
        assert_eq!(f.ok, before.iter().map(|b| b.ok).sum::<u64>(), "200s at {t} ms");
        let c = &sc.copies_at(i)[0];
        assert_eq!(c.timeouts, before.last().map_or(0, |b| b.db_pool_exhaustion_total), "timeouts at {t} ms");
        assert_eq!(c.max_size, 5);
        assert_eq!(c.used + c.idle, 5.min(c.used + c.idle));
    }
    // Waits so far: every served or timed-out request is counted once, in the le bucket of its wait.
    let last = sc.copies_at(sc.times_ms.len() - 1)[0].acquire;
    assert_eq!(last.count, 50);
    assert_eq!(last.buckets[0], 5, "the first 5 waited 0 s");
}

/// Scraping observes the run, never changes it: the same timeline and figures with or without.
#[test]
fn scraping_leaves_the_simulation_unchanged() {
    let plain = scenario(
        "name: t\npool: {max_size: 3, acquire_timeout: 2s}\nrequest: {hold: {dist: exponential, mean: 300ms}}\nworkload:\n  - open: {rate: 9/s, until: 5m}\n",
    );
    let with = scenario(&format!(
        "{}alerts:\n  rules:\n    - alert: A\n      expr: db_pool_waiting_requests > 2\n",
        "name: t\npool: {max_size: 3, acquire_timeout: 2s}\nrequest: {hold: {dist: exponential, mean: 300ms}}\nworkload:\n  - open: {rate: 9/s, until: 5m}\n"
    ));
    let (a, b) = (run(&plain, 3), run(&with, 3));
    assert_eq!(a.timeline, b.timeline);
    assert_eq!(a.summary, b.summary);
    assert!(a.scrapes.is_none() && b.scrapes.is_some());
    assert_eq!(b.scrapes.as_ref().unwrap().times_ms.len(), 20, "every 15 s for 5 minutes");
}

#[test]
fn sim_run_writes_alerts_csv_metrics_om_and_check_asserts_lead_times() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.yaml");
    std::fs::write(
        &file,
        lab_burst(
            "1200ms",
            "    - alert: Waiting\n      expr: db_pool_waiting_requests > 0\n\
             expect:\n  alerts.Waiting.lead_time_s: {min: 9, max: 9.2}\n  alerts.Waiting.fired: {equals: 1}\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    sim()
        .args(["run", "--no-plots", "--openmetrics", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout(predicates::str::contains("alert     Waiting: fired at 1.0 s, 9.1 s before the first 503"));
    let csv = std::fs::read_to_string(out.join("alerts.csv")).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "alert,labels,pending_s,firing_s,resolved_s,value,summary");
    let labels = "\"{instance=\"\"pod-0/worker-0\"\",pod=\"\"0\"\",pool=\"\"pool\"\",worker=\"\"0\"\"}\"";
    assert!(csv.contains(&format!("Waiting,{labels},1.000,1.000,11.000,5,")), "{csv}");
    let om = std::fs::read_to_string(out.join("metrics.om")).unwrap();
    assert!(om.contains("# TYPE db_pool_exhaustion counter\n"));
    let series = "db_pool_exhaustion_total{pool=\"pool\",instance=\"pod-0/worker-0\",pod=\"0\",worker=\"0\"}";
    assert!(om.contains(&format!("{series} 0 10.000\n{series} 5 11.000\n")), "{om}");
    assert!(om.ends_with("# EOF\n"));
    sim().args(["check"]).arg(&file).assert().success();
}

/// A rule file outside the subset or broken is refused before anything runs,
/// each problem at its file:line:col with what is supported.
#[test]
fn broken_rule_files_are_refused_with_located_messages() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: predict_linear(db_pool_used_size[5m], 60) > 5\n\
         \x20     - alert: B\n        expr: db_pool_waitng_requests > 0\n      - alert: C\n        expr: rate(db_pool_used_size > 0\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let assert = sim()
        .args(["run", "--no-plots", "-q", "--rules"])
        .arg(&rules)
        .arg("--out")
        .arg(&out)
        .arg(repo("scenarios/lab04-ex1-baseline.yaml"))
        .assert()
        .code(2);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let name = rules.display().to_string();
    assert!(
        err.contains(&format!("{name}:5:15: groups.0.rules.0.expr: unsupported function `predict_linear`")),
        "{err}"
    );
    assert!(err.contains("did you mean `db_pool_waiting_requests`?"), "{err}");
    assert!(err.contains(&format!("{name}:9:")), "{err}");
    assert!(err.contains("3 problems in"), "{err}");
    assert!(!out.exists(), "nothing ran");
}
