"""asyncpg's Pool at the library level (the lab's app is the HTTP-level case).

    python asyncpg_case.py PLAN.json OUT.csv

PLAN: {"dsn": ..., "min_size": m, "max_size": M, "timeout": T,
       "phases": [{"name": N, "count": K, "hold_s": H, "spacing_s": S, "pause_s": X}]}
Each request: await pool.acquire(timeout=T), SELECT pg_sleep(H), await pool.release().
Each request notes its connection's backend pid (SELECT pg_backend_pid() FROM pg_sleep(H));
a phase with "then_sequential": N ends with N requests one after another: which
idle connection does the pool hand out next (LIFO or FIFO)? A phase with "hog": N also runs a hog: one task doing N acquire/query/release
cycles back to back from t0 (a loop that re-acquires at once, like a batch job),
while the K requests arrive from t0 + start_s, spacing_s apart: does a waiter
get the connection the hog releases, or does the hog take it back (barging)?
release() runs asyncpg's reset query before the connection is free again.

OUT.csv: phase, rid, proc, t_call, t_acquired, t_failed, t_released, outcome, error.
"""

import asyncio
import json
import sys

import asyncpg

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from common import mono, write_csv  # noqa: E402

ROWS = []


TIMEOUT = [None]


async def request(pool, phase, rid, start_at, hold_s):
    if start_at > mono():  # a hog's next cycle does not yield to the loop first
        await asyncio.sleep(start_at - mono())
    t_call = mono()
    t_acq = t_fail = t_rel = None
    outcome, err, pid = "ok", "", ""
    try:
        conn = await pool.acquire(timeout=TIMEOUT[0])
    except asyncio.TimeoutError as e:
        t_fail, outcome, err = mono(), "timed_out", repr(e)
    except Exception as e:
        err = f"{type(e).__name__}: {e}"
        refused = "too many clients" in err or "reserved" in err
        t_fail, outcome = mono(), "refused" if refused else "failed"
    else:
        t_acq = mono()
        try:
            pid = await conn.fetchval(f"SELECT pg_backend_pid() FROM pg_sleep({hold_s:.6f})")
        finally:
            await pool.release(conn)
            t_rel = mono()
    f = lambda x: f"{x:.6f}" if x else ""  # noqa: E731
    ROWS.append([phase, rid, "asyncpg", f(t_call), f(t_acq), f(t_fail), f(t_rel), outcome, err.split("\n")[0], pid])


async def hog(pool, phase, n, t0, hold_s):
    await asyncio.sleep(max(0.0, t0 - mono()))
    for k in range(n):
        await request(pool, phase, f"{phase}-hog{k}", 0.0, hold_s)


async def main():
    plan = json.load(open(sys.argv[1]))
    TIMEOUT[0] = plan["timeout"]
    pool = await asyncpg.create_pool(plan["dsn"], min_size=plan["min_size"], max_size=plan["max_size"])
    phases = {}
    for ph in plan["phases"]:
        t0 = mono() + 0.05
        phases[ph["name"]] = t0
        first = t0 + ph.get("start_s", 0.0)
        tasks = [
            request(pool, ph["name"], f"{ph['name']}-{i}", first + i * ph.get("spacing_s", 0.0), ph["hold_s"])
            for i in range(ph["count"])
        ]
        if ph.get("hog"):
            tasks.append(hog(pool, ph["name"], ph["hog"], t0, ph["hold_s"]))
        await asyncio.gather(*tasks)
        # Idle reuse order: then N requests one after another, each noting its backend's pid.
        for k in range(ph.get("then_sequential", 0)):
            await request(pool, ph["name"], f"{ph['name']}-seq{k}", 0.0, ph["hold_s"])
        await asyncio.sleep(ph.get("pause_s", 1.0))
    await pool.close()
    write_csv(sys.argv[2], ["phase", "rid", "proc", "t_call", "t_acquired", "t_failed", "t_released", "outcome", "error", "pid"], ROWS)
    with open(sys.argv[2] + ".phases.json", "w") as f:
        json.dump(phases, f)


if __name__ == "__main__":
    asyncio.run(main())
