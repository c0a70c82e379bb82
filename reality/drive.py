"""HTTP load driver for the lab's API (asyncio + aiohttp): curl loops and k6, in one process.

    python drive.py PLAN.json OUT.csv

PLAN.json: {"targets": ["http://127.0.0.1:PORT", ...], "phases": [...]}, each phase one of
  {"kind": "burst", "name": N, "count": K}            K requests at once (`for i in {1..K}; do curl & done`)
  {"kind": "sequential", "name": N, "count": K}       one after another (`for i in {1..K}; do curl; done`)
  {"kind": "users", "name": N, "stages": [[secs, target], ...]}
                                                      k6 ramping-vus, closed loop, no think time,
                                                      with poolsim's `users` semantics: going from a to
                                                      b users over d, change k happens at d*k/|b-a|; a
                                                      removed user finishes its request first; every
                                                      user stops after the last stage
  {"kind": "config", "work_time_ms": X}               POST /admin/config on every target
  {"kind": "sleep", "s": X}
Requests go round robin over the targets. Before a burst the driver opens one
keep-alive HTTP connection per request (GET /health), so the burst itself is
not spread by TCP handshakes: k6 keeps connections alive the same way. curl
does not; its handshakes on localhost take well under a millisecond each.

OUT.csv: phase, rid, target, t_send, t_recv, status (monotonic seconds); the
phases' start times go to OUT.csv.phases.json.
"""

import asyncio
import itertools
import json
import sys

import aiohttp

from common import mono, write_csv

ROWS = []
RID = itertools.count()


async def one(session, target, phase):
    rid = f"{phase}-{next(RID)}"
    t_send = mono()
    try:
        async with session.get(f"{target}/api/query", headers={"X-Req-Id": rid}) as r:
            await r.read()
            status = r.status
    except Exception as e:  # connection reset and the like: recorded, not hidden
        status = f"client-error:{type(e).__name__}"
    ROWS.append((phase, rid, target, f"{t_send:.6f}", f"{mono():.6f}", status))


async def warm(session, targets, n):
    async def h(i):
        async with session.get(f"{targets[i % len(targets)]}/health") as r:
            await r.read()

    await asyncio.gather(*(h(i) for i in range(n)))


async def users(session, targets, name, stages):
    """Closed-loop virtual users following k6-style stages (see the module doc)."""
    t0 = mono()
    stop_flags = []
    tasks = []
    rr = itertools.count()

    async def user(flag):
        target = targets[next(rr) % len(targets)]
        while not flag["stop"]:
            await one(session, target, name)

    # The schedule of changes: (time from t0, +1 or -1).
    changes = []
    t, cur = 0.0, 0
    for dur, target in stages:
        delta = target - cur
        if delta != 0:
            for k in range(1, abs(delta) + 1):
                changes.append((t + dur * k / abs(delta), 1 if delta > 0 else -1))
        t += dur
        cur = target
    end = t
    for at, d in changes:
        await asyncio.sleep(max(0.0, t0 + at - mono()))
        if d > 0:
            flag = {"stop": False}
            stop_flags.append(flag)
            tasks.append(asyncio.create_task(user(flag)))
        else:
            for flag in reversed(stop_flags):
                if not flag["stop"]:
                    flag["stop"] = True
                    break
    await asyncio.sleep(max(0.0, t0 + end - mono()))
    for flag in stop_flags:
        flag["stop"] = True
    await asyncio.gather(*tasks)


async def main():
    plan = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    targets = plan["targets"]
    phases = {}
    conn = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        for ph in plan["phases"]:
            kind = ph["kind"]
            if kind == "config":
                for t in targets:
                    async with session.post(f"{t}/admin/config", json={"work_time_ms": ph["work_time_ms"]}) as r:
                        await r.read()
                continue
            if kind == "sleep":
                await asyncio.sleep(ph["s"])
                continue
            name = ph["name"]
            if kind == "burst":
                await warm(session, targets, ph["count"])
                await asyncio.sleep(0.2)
                phases[name] = mono()
                await asyncio.gather(*(one(session, targets[i % len(targets)], name) for i in range(ph["count"])))
            elif kind == "sequential":
                phases[name] = mono()
                for i in range(ph["count"]):
                    await one(session, targets[i % len(targets)], name)
            elif kind == "users":
                phases[name] = mono()
                await users(session, targets, name, ph["stages"])
            else:
                raise SystemExit(f"unknown phase kind {kind}")
            await asyncio.sleep(ph.get("pause", 1.0))
    write_csv(out, ["phase", "rid", "target", "t_send", "t_recv", "status"], ROWS)
    with open(out + ".phases.json", "w") as f:
        json.dump(phases, f)


if __name__ == "__main__":
    asyncio.run(main())
