"""Calibration figures, measured in the same run as the comparisons.

- connection open time, per library (cases/connect_probe.py, pg_case.js probe):
  30 opens one after another to the local PostgreSQL over 127.0.0.1;
- per-request overhead outside the pool (the lab's app): the client's latency
  minus the acquire wait minus the hold, i.e. HTTP both ways, aiohttp, the handler;
- pg_sleep overshoot: the query's time in the app (from acquire to the end of
  `SELECT pg_sleep(w)`) minus w, i.e. a round trip plus the server's oversleep;
- hold overshoot: acquire to the end of release() minus w (adds asyncpg's
  reset query on release) -- what poolsim's `hold` is;
- hand-off time: in a burst, the k-th waiter's acquire minus the end of the
  k-th query while waiters remain: asyncpg's reset query on release plus the
  wake-up of the next waiter (poolsim hands over at once);
- event-loop lag (scheduling jitter): the lab app's loop-lag monitor, how late
  `asyncio.sleep(0.01)` wakes up while the app serves the cases.

Each is given as median and p99 (nearest rank), with the poolsim value proposed.
"""

import glob
import json
import os

from common import percentile


def dist(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"n": len(xs), "p50": percentile(xs, 50), "p99": percentile(xs, 99), "min": min(xs), "max": max(xs)}


def handoff_lags(rows):
    rel = sorted(float(r["released_s"]) - float(r["hold_ms"]) / 1000.0 + float(r["query_ms"]) / 1000.0
                 for r in rows if r.get("query_ms") not in (None, ""))
    acq = sorted(float(r["acquired_s"]) for r in rows
                 if r.get("acquired_s") not in (None, "") and float(r["wait_ms"]) > 1.0)
    return [(a - r) * 1000.0 for r, a in zip(rel, acq) if a >= r]


def compute(comps, out):
    lab = [c for c in comps if c.name.startswith("lab-")]
    ok = [r for c in lab for r in c.rows if r["outcome"] == "ok"]
    cal = {}
    cal["overhead_ms"] = dist([r["overhead_ms"] for r in ok])
    cal["pg_sleep_overshoot_ms"] = dist([r["query_ms"] - r["work_ms"] for r in ok if r.get("query_ms") is not None])
    cal["hold_overshoot_ms"] = dist([r["hold_ms"] - r["work_ms"] for r in ok if r.get("hold_ms") is not None])
    cal["handoff_lag_ms"] = dist([x for c in lab if c.burst for x in handoff_lags(c.rows)])
    lag = []
    for p in sorted(glob.glob(os.path.join(out, "_runs", "lab", "*.lag.csv"))):
        lag += [float(x) * 1000.0 for x in open(p).read().split()[1:]]
    cal["event_loop_lag_ms"] = dist(lag)
    libs = {}
    for c in comps:
        if c.name.endswith("-burst") or c.name.endswith("-order"):
            lib = c.name.rsplit("-", 1)[0]
            libs.setdefault(lib, []).extend(
                r["hold_ms"] - r["work_ms"] for r in c.rows if r["outcome"] == "ok" and r.get("hold_ms") is not None
            )
    cal["hold_overshoot_ms_by_library"] = {k: dist(v) for k, v in libs.items()}
    # Cycle overshoot: in a saturated pool of 1 (the *-order cases), the time between consecutive
    # acquires minus the work: hold overshoot plus the hand-off to the next waiter. This is what a
    # poolsim `hold` must add to the work for chains of hand-offs to line up.
    cyc = {}
    for c in comps:
        if c.name.endswith("-order"):
            acq = sorted(float(r["acquired_s"]) for r in c.rows if r.get("acquired_s") is not None
                         and float(r["wait_ms"]) > 50.0)
            work = c.rows[0].get("work_ms") or 0.0
            cyc[c.name.rsplit("-", 1)[0]] = dist([(b - a) * 1000.0 - work for a, b in zip(acq, acq[1:])])
    cal["cycle_overshoot_ms_by_library"] = cyc
    path = os.path.join(out, "connect_times.json")
    if os.path.exists(path):
        ct = json.load(open(path))
        par = {}
        for k in list(ct):
            if k.startswith("parallel"):
                par.update(ct.pop(k))
        cal["connect_ms"] = {k: {"first": v[0] * 1000.0, **dist([x * 1000.0 for x in v[1:]])} for k, v in ct.items()}
        cal["connect_ms_parallel"] = {k: dist([x * 1000.0 for x in v]) for k, v in par.items()}
    return cal


def f(x):
    return "-" if x is None else f"{x:.2f}"


def markdown(cal):
    L = ["## Calibration (measured in this run)\n"]
    L.append("| quantity | how it was measured | n | median ms | p99 ms | max ms | proposed poolsim value |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    rows = [
        ("overhead_ms", "client latency - acquire wait - hold, lab app (HTTP + aiohttp + handler), 200s",
         "`request.overhead: {dist: lognormal, median: M, p99: P}`"),
        ("pg_sleep_overshoot_ms", "acquire -> end of `SELECT pg_sleep(w)`, minus w", "part of `hold`"),
        ("hold_overshoot_ms", "acquire -> end of asyncpg release() (reset query included), minus w",
         "`hold: w + median` (constant)"),
        ("handoff_lag_ms", "k-th waiter's acquire - end of the k-th query, lab bursts (reset query + wake-up)",
         "inside `hold` (the hold overshoot includes it)"),
        ("event_loop_lag_ms", "lateness of asyncio.sleep(10 ms) in the lab app, all lab cases",
         "none (poolsim has no scheduler); sets the tolerance"),
    ]
    for key, how, prop in rows:
        d = cal.get(key)
        if not d:
            continue
        L.append(f"| {key} | {how} | {d['n']} | {f(d['p50'])} | {f(d['p99'])} | {f(d['max'])} | {prop} |")
    for lib, d in (cal.get("hold_overshoot_ms_by_library") or {}).items():
        if d:
            L.append(f"| hold_overshoot_ms ({lib}) | acquire -> release returned, minus w | {d['n']} | {f(d['p50'])} "
                     f"| {f(d['p99'])} | {f(d['max'])} | `hold: w + median` |")
    for lib, d in (cal.get("cycle_overshoot_ms_by_library") or {}).items():
        if d:
            L.append(f"| cycle_overshoot_ms ({lib}) | pool of 1 saturated ({lib}-order): consecutive acquires minus w "
                     f"| {d['n']} | {f(d['p50'])} | {f(d['p99'])} | {f(d['max'])} | `hold: w + median` for chains of hand-offs |")
    for lib, d in (cal.get("connect_ms") or {}).items():
        L.append(f"| connect_ms ({lib}) | 29 opens one after another, 127.0.0.1 (first open apart: {f(d['first'])} ms) "
                 f"| {d['n']} | {f(d['p50'])} | {f(d['p99'])} | {f(d['max'])} "
                 f"| `database.connect_time: {{dist: lognormal, median: {d['p50']:.1f}ms, p99: {max(d['p99'], d['p50'] * 1.01):.1f}ms}}` |")
    for lib, d in (cal.get("connect_ms_parallel") or {}).items():
        L.append(f"| connect_ms ({lib}) | opens started together, each timed from the common start | {d['n']} "
                 f"| {f(d['p50'])} | {f(d['p99'])} | {f(d['max'])} "
                 f"| `connect_time: {{dist: uniform, min: {d['min']:.1f}ms, max: {d['max']:.1f}ms}}` for a burst of that size |")
    L.append("")
    return L
