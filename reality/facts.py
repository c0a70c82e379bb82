"""Library facts that this run observed (the LIBRARIES.md table, confirmed by experiment).

Each cell is read from the real rows of one experiment:
- waiter order: `<lib>-order` (pool of 1, 20 requests 10 ms apart): inversions of the acquire order
  against the arrival order;
- overtaking: `<lib>-barge` (pool of 1, a loop re-acquiring at once, 5 waiters): inversions, and
  how many of the loop's requests got the connection while a waiter that came earlier still waited;
- idle reuse: `<lib>-reuse` (pool of 5, warm: 3 at once, then 6 one after another): how many
  different backends (pg_backend_pid) served the 6; 1 = LIFO (the connection returned last),
  5 = FIFO (the one idle longest);
- timeout: `<lib>-burst`: the waits of the requests that timed out (configured 3000 ms), measured
  from the acquire call;
- refused open: `<lib>-refused` (or `maxconn` for asyncpg): how many requests failed, and when.
"""

from common import inversions


def _order(rows):
    if not rows:
        return "-"
    inv, pairs, tau = inversions(rows, 50.0)
    return f"{'FIFO' if inv == 0 else 'not FIFO'} ({inv} inversions of {pairs} pairs)"


def _barge(rows):
    if not rows:
        return "-"
    inv, pairs, _ = inversions(rows, -1.0)
    waiters = [r for r in rows if "-hog" not in r["rid"]]
    hogs = [r for r in rows if "-hog" in r["rid"]]
    last_waiter = max(float(r["acquired_s"]) for r in waiters if r["acquired_s"] is not None)
    first_waiter_arrival = min(float(r["arrival_s"]) for r in waiters)
    ahead = sum(1 for r in hogs[1:] if r["acquired_s"] is not None and float(r["acquired_s"]) < last_waiter
                and float(r["arrival_s"]) > first_waiter_arrival)
    if inv == 0:
        return "none (0 inversions)"
    return f"yes: {inv} inversions; {ahead} of the loop's re-acquires served while an earlier waiter waited"


def _reuse(rows):
    if not rows:
        return "-"
    seq = [r["pid"] for r in rows if "-seq" in r["rid"]]
    n = len(set(seq))
    kind = "LIFO" if n == 1 else ("FIFO (rotates)" if n >= 3 else "mixed")
    return f"{kind}: {n} backend(s) served 6 sequential requests"


def _timeout(rows):
    w = [float(r["wait_ms"]) for r in rows if r["outcome"] == "timed_out"]
    if not w:
        return "-"
    return f"from the call: {len(w)} timed out after {min(w):,.1f} to {max(w):,.1f} ms (timeout 3,000)"


def _refused(rows):
    if not rows:
        return "-"
    failed = [r for r in rows if r["outcome"] not in ("ok", "timed_out")]
    ok = [r for r in rows if r["outcome"] == "ok"]
    if failed:
        t = max(float(r["latency_ms"]) for r in failed)
        return f"fails at once: {len(failed)} of {len(rows)} failed within {t:,.0f} ms ({failed[0]['error'][:60]})"
    last = max(float(r["acquired_s"]) for r in ok) if ok else 0
    return f"keeps waiting: 0 failed, all {len(ok)} served (the last at {last:.2f} s, released connections)"


def _opens(rows, n=16):
    acq = sorted(float(r["acquired_s"]) for r in rows if r["outcome"] == "ok" and r["acquired_s"] is not None)
    if len(acq) < n:
        return "-"
    first = acq[:n]
    return f"{n} opens done between {first[0] * 1000:.0f} and {first[-1] * 1000:.0f} ms"


def table(comps, facts):
    by = {c.name: c.rows for c in comps}
    by.update(facts)
    libs = [("asyncpg", "maxconn"), ("sqla", "sqla-refused"), ("node", "node-refused"),
            ("psycopg", "psycopg-refused"), ("hikari", "hikari-refused")]
    L = ["## Library facts observed in this run\n",
         "Read from the real rows (see reality/facts.py for how; LIBRARIES.md for the sources).\n",
         "| library | waiter order (`-order`) | overtaken by a re-acquiring loop (`-barge`) | idle reuse (`-reuse`) "
         "| acquire timeout (`-burst`) | database refuses an open (`-refused`) | opens under a burst (`-refused`) |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
    for lib, ref in libs:
        if not any(k.startswith(lib + "-") for k in by):
            continue
        L.append(f"| {lib} | {_order(by.get(lib + '-order'))} | {_barge(by.get(lib + '-barge'))} "
                 f"| {_reuse(by.get(lib + '-reuse'))} | {_timeout(by.get(lib + '-burst', []))} "
                 f"| {_refused(by.get(ref))} | {_opens(by.get(ref, []))} |")
    L.append("")
    return L
