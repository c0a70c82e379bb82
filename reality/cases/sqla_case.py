"""SQLAlchemy QueuePool under threads, as a sync web worker with a thread pool uses it.

    python sqla_case.py PLAN.json OUT.csv

PLAN: {"dsn": ..., "app_name": ..., "pool_size": P, "max_overflow": O, "pool_timeout": T,
       "phases": [{"name": N, "count": K, "hold_s": H, "spacing_s": S, "pause_s": X}]}
Each request is a thread: it checks a connection out of the engine's QueuePool
(engine.raw_connection(), what Session and engine.connect() do underneath), runs
SELECT pg_sleep(H), and returns it (close(), which rolls back: QueuePool's
reset_on_return); it notes its backend's pid. Thread i of a phase starts at t0 + start_s + i*S (S = 0: all
at once, released together by an Event). A phase with "hog": N also runs a hog
thread doing N checkout/query/return cycles back to back from t0 (a loop that
re-acquires at once): does a waiter get the connection the hog returns, or does
the hog take it back (barging)?

OUT.csv: phase, rid, proc, t_call, t_acquired, t_failed, t_released, outcome, error.
"""

import json
import sys
import threading
import time

import sqlalchemy
from sqlalchemy import exc

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from common import mono, write_csv  # noqa: E402

ROWS = []
LOCK = threading.Lock()


def request(engine, phase, rid, start_at, go, hold_s):
    go.wait()
    delay = start_at - mono()
    if delay > 0:
        time.sleep(delay)
    t_call = mono()
    t_acq = t_fail = t_rel = None
    outcome, err, pid = "ok", "", ""
    try:
        conn = engine.raw_connection()
    except exc.TimeoutError as e:
        t_fail, outcome, err = mono(), "timed_out", str(e).split("\n")[0]
    except Exception as e:
        msg = str(e).split("\n")[0]
        t_fail = mono()
        outcome = "refused" if ("too many clients" in msg or "reserved" in msg) else "failed"
        err = f"{type(e).__name__}: {msg}"
    else:
        t_acq = mono()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT pg_backend_pid() FROM pg_sleep({hold_s:.6f})")
            pid = cur.fetchone()[0]
            cur.close()
        finally:
            conn.close()  # back to the pool (rollback on return), or closed if overflow
            t_rel = mono()
    with LOCK:
        ROWS.append([phase, rid, "sqla", t_call, t_acq or "", t_fail or "", t_rel or "", outcome, err, pid])


def hog(engine, phase, n, start_at, go, hold_s):
    for k in range(n):
        request(engine, phase, f"{phase}-hog{k}", start_at, go, hold_s)


def main():
    plan = json.load(open(sys.argv[1]))
    engine = sqlalchemy.create_engine(
        plan["dsn"],
        pool_size=plan["pool_size"],
        max_overflow=plan["max_overflow"],
        pool_timeout=plan["pool_timeout"],
        connect_args={"application_name": plan["app_name"]},
    )
    phases = {}
    for ph in plan["phases"]:
        go = threading.Event()
        t0 = mono() + 0.05
        first = t0 + ph.get("start_s", 0.0)
        threads = [
            threading.Thread(
                target=request,
                args=(engine, ph["name"], f"{ph['name']}-{i}", first + i * ph.get("spacing_s", 0.0), go, ph["hold_s"]),
            )
            for i in range(ph["count"])
        ]
        if ph.get("hog"):
            threads.append(threading.Thread(target=hog, args=(engine, ph["name"], ph["hog"], t0, go, ph["hold_s"])))
        for t in threads:
            t.start()
        phases[ph["name"]] = t0
        go.set()
        for t in threads:
            t.join()
        # Idle reuse order: then N checkouts one after another, each noting its backend's pid.
        done = threading.Event()
        done.set()
        for k in range(ph.get("then_sequential", 0)):
            request(engine, ph["name"], f"{ph['name']}-seq{k}", 0.0, done, ph["hold_s"])
        time.sleep(ph.get("pause_s", 1.0))
    engine.dispose()
    rows = [[r[0], r[1], r[2]] + [f"{x:.6f}" if isinstance(x, float) else x for x in r[3:]] for r in ROWS]
    write_csv(sys.argv[2], ["phase", "rid", "proc", "t_call", "t_acquired", "t_failed", "t_released", "outcome", "error", "pid"], rows)
    with open(sys.argv[2] + ".phases.json", "w") as f:
        json.dump(phases, f)


if __name__ == "__main__":
    main()
