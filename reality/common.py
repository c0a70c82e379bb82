"""Shared helpers of the reality suite: the clock, CSV rows, statistics.

Every process of a case (the app, the driver, the sampler, the node script)
stamps events with CLOCK_MONOTONIC in seconds (Python's time.monotonic(),
node's process.hrtime.bigint() / 1e9 read the same clock on Linux), so their
logs line up without any clock exchange. The suite subtracts each case's t0.
"""

import csv
import math
import os
import time

mono = time.monotonic


def env_dsn(app_name, db="labdb", user="app", port=None, host=None):
    """A libpq-style DSN for the throwaway cluster (TCP on 127.0.0.1)."""
    port = port or os.environ["REALITY_PORT"]
    host = host or "127.0.0.1"
    return f"postgresql://{user}@{host}:{port}/{db}?application_name={app_name}"


def write_csv(path, header, rows):
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fnum(x):
    """A CSV cell as a float, or None when empty."""
    if x is None or x == "":
        return None
    return float(x)


def percentile(values, p):
    """Nearest-rank percentile (the value at rank ceil(p/100 * n)), None if empty.

    The same definition is applied to the real rows and to poolsim's
    requests.csv, so the two columns of the report are computed alike.
    """
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = max(1, math.ceil(p / 100.0 * len(v)))
    return v[k - 1]


def pcts(values):
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": percentile(values, 100),
    }


def inversions(rows, min_wait_ms=50.0):
    """Queue order: pairs (a, b) with a arriving before b but b acquiring first.

    Only requests that waited more than min_wait_ms count (those served at
    once, or after opening a connection, were never in a queue). Returns (inversions, pairs, kendall_tau) where tau = 1 means the
    acquire order is exactly the arrival order. O(n^2) is fine for a few
    hundred rows.
    """
    w = [r for r in rows if r.get("acquired_s") not in (None, "") and float(r["wait_ms"]) > min_wait_ms]
    w.sort(key=lambda r: (float(r["arrival_s"]), int(r["id"])))
    acq = [float(r["acquired_s"]) for r in w]
    n = len(acq)
    inv = 0
    pairs = 0
    for i in range(n):
        for j in range(i + 1, n):
            if acq[i] == acq[j]:
                continue
            pairs += 1
            if acq[j] < acq[i]:
                inv += 1
    tau = 1.0 if pairs == 0 else 1.0 - 2.0 * inv / pairs
    return inv, pairs, tau


def fmt(x, nd=1):
    if x is None:
        return "-"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{nd}f}"
