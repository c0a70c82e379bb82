"""Real against poolsim: the figures of one comparison, their tolerances, the verdict.

A comparison holds the rows of a real run (in poolsim's requests.csv shape:
id, source, arrival_s, acquired_s, finished_s, wait_ms, latency_ms, outcome,
times from the comparison's t0) and the connections the sampler saw at the
database, and names the poolsim scenario that models it. `run_sim` runs that
scenario with `sim run --requests --bucket 100ms`; `figures` computes the same
figures from both sides with the same code; `judge` applies the tolerances.

Tolerances (each justified in reality/README.md, "Tolerances"):
  counts (ok, 503, failed)      exact, unless the case states a knife edge
  503 times (first, last)       50 ms + the real burst's arrival spread
  wait and latency percentiles  25 ms + arrival spread + 1 % of the value
                                (+ 50 ms where a burst opens many connections at once)
  queue order (inversions)      exact (both FIFO) unless a known difference
  database connections          peak and end +-1, time of peak +-0.35 s
"""

import json
import os
import subprocess

from common import fnum, inversions, pcts, percentile, read_csv

FIG_ORDER = [
    "requests",
    "ok",
    "timed_out",
    "failed",
    "first_503_s",
    "last_503_s",
    "wait_ms.p50",
    "wait_ms.p95",
    "wait_ms.p99",
    "wait_ms.max",
    "latency_ms.p50",
    "latency_ms.p95",
    "latency_ms.p99",
    "latency_ms.max",
    "order_inversions",
    "db_peak",
    "db_peak_t_s",
    "db_end",
]


def run_sim(sim, scenario, outdir):
    os.makedirs(outdir, exist_ok=True)
    subprocess.run(
        [sim, "run", scenario, "--requests", "--bucket", "100ms", "--no-plots", "-q", "--out", outdir],
        check=True,
    )
    rows = read_csv(os.path.join(outdir, "requests.csv"))
    db = [(float(r["t_s"]), int(r["db_connections_open"])) for r in read_csv(os.path.join(outdir, "timeline.csv"))]
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    return rows, db, summary


def figures(rows, db, t_end=None, order_min_wait_ms=50.0):
    """The compared figures. `db` is [(t_s, open)]: the real samples (every ~100 ms)
    or poolsim's timeline buckets of 100 ms (each the bucket's maximum).
    Queue order counts the requests that waited more than order_min_wait_ms
    (default 50 ms: longer than any connection open, so only requests that
    queued for a busy pool; -1 counts every request)."""
    f = {}
    f["requests"] = len(rows)
    f["ok"] = sum(r["outcome"] == "ok" for r in rows)
    f["timed_out"] = sum(r["outcome"] == "timed_out" for r in rows)
    f["failed"] = sum(r["outcome"] not in ("ok", "timed_out") for r in rows)
    t503 = [float(r["finished_s"]) for r in rows if r["outcome"] == "timed_out"]
    f["first_503_s"] = min(t503) if t503 else None
    f["last_503_s"] = max(t503) if t503 else None
    waits = [fnum(r["wait_ms"]) for r in rows if r["outcome"] in ("ok", "timed_out")]
    lats = [fnum(r["latency_ms"]) for r in rows]
    for k, v in pcts(waits).items():
        f[f"wait_ms.{k}"] = v
    for k, v in pcts(lats).items():
        f[f"latency_ms.{k}"] = v
    f["order_inversions"] = inversions(rows, order_min_wait_ms)[0]
    if db:
        peak = max(n for _, n in db)
        f["db_peak"] = peak
        f["db_peak_t_s"] = min(t for t, n in db if n == peak)
        if t_end is None:
            t_end = max(t for t, _ in db)
        before = [n for t, n in db if t <= t_end]
        f["db_end"] = before[-1] if before else None
    else:
        f["db_peak"] = f["db_peak_t_s"] = f["db_end"] = None
    return f


def arrival_spread_ms(rows):
    a = [float(r.get("app_arrival_s") or r["arrival_s"]) for r in rows]
    return (max(a) - min(a)) * 1000.0 if a else 0.0


# How much a library's overshoot per hold (round trip, pg_sleep's oversleep, the pool's own
# work) moved between two runs on this machine: asyncpg's was 4.5 ms at 06:32 UTC and 2.2 ms
# at 11:08 UTC on 2026-12-06 (asyncpg-order). A wait that is a chain of n holds on a pool of
# one (the -order and -barge cases) can drift by n times that.
HOLD_DRIFT_MS = 2.5


def tolerance(fig, value, spread_ms, overrides, connect_slack_ms=0.0, chain_hold_ms=0.0):
    """Allowed |real - poolsim| for one figure (None: not compared). `chain_hold_ms`: the hold
    of one link when waits are chains of holds (a pool of one), else 0."""
    if fig in overrides:
        return overrides[fig]
    if fig in ("requests", "ok", "timed_out", "failed", "order_inversions"):
        return 0
    if fig in ("first_503_s", "last_503_s"):
        return 0.050 + spread_ms / 1000.0
    if fig.startswith(("wait_ms", "latency_ms")):
        chain = HOLD_DRIFT_MS * abs(value or 0.0) / chain_hold_ms if chain_hold_ms else 0.0
        return 25.0 + spread_ms + connect_slack_ms + 0.01 * abs(value or 0.0) + chain
    if fig in ("db_peak", "db_end"):
        return 1
    if fig == "db_peak_t_s":
        return 0.35
    return None


def judge(real, sim, spread_ms, overrides, skip=(), connect_slack_ms=0.0, chain_hold_ms=0.0):
    """[(figure, real, sim, tol, status)] with status ok / OUT / n/a."""
    out = []
    for fig in FIG_ORDER:
        r, s = real.get(fig), sim.get(fig)
        if fig in skip:
            out.append((fig, r, s, None, "n/a"))
            continue
        tol = tolerance(fig, s if s is not None else r, spread_ms, overrides, connect_slack_ms, chain_hold_ms)
        if r is None and s is None:
            status = "ok"
        elif r is None or s is None or tol is None:
            status = "OUT" if tol is not None else "n/a"
        else:
            status = "ok" if abs(r - s) <= tol + 1e-9 else "OUT"
        out.append((fig, r, s, tol, status))
    return out


def median(xs):
    return percentile(xs, 50)
